"""The spec that describes what runs: for `abort`, the emergency brake, which must act on what the overlays and
state files say is deployed even when the spec in the work tree cannot say it any more.

The spec is read as usual. When it is invalid (pushed past the hooks), gone (deleted or renamed elsewhere), names
another release, no longer has the environment being aborted, or changes a released route the Argo Rollouts
controller owns (render/route_changes.py refuses that in every other command: the spec change is for a person to
resolve, the brake goes back to what ran meanwhile), the release is loaded from git history instead:
the spec as it was in the newest commit that wrote the release's generated files and that still describes the
environment. That spec was valid when rollgen committed with it, and it is what the files were rendered from.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from generator.errors import InvalidInput, RollgenError
from generator.gitops.repo import Repo
from generator.gitops.specs import NamedRelease, release_name_of, find_spec, spec_display
from generator.model import Release
from generator.spec.config import Config

SEARCHED = 50  # commits of the release's files looked at, newest first: the brake's fallback, not an archive


class RunningRelease(NamedRelease):
    """NamedRelease, or the release as the commit that produced the current files described it."""

    def __init__(self, name: str, environments: Sequence[str]) -> None:
        super().__init__(name)
        self.environments = list(environments)

    def __call__(self, repo: Repo, config: Config) -> Release:
        failure, why, release = self._current(repo, config)
        if failure is None and release is not None:
            missing = [env for env in self.environments if env not in {e.name for e in release.environments}]
            refused = None if missing else _route_refusal(config, release)
            if not missing and refused is None:
                return release
            why = (
                f"{release.source} no longer has environment {', '.join(missing)}" if missing
                else f"its spec changes a route the Argo Rollouts controller owns ({refused})"
            )
        if not all(_state_exists(config, self.name, env) for env in self.environments):
            if failure is not None:  # nothing runs there: the spec's own error, as it always was
                raise failure
            assert release is not None
            return release  # the usual "has no environment" follows, listing the spec's environments
        found = committed_release(repo, config, self.name, self.environments)
        if found is None:
            raise RollgenError(
                f"{self.name}: {why}; and no commit of apps/{self.name}/ holds a valid spec that describes "
                f"{', '.join(self.environments)}: restore the spec (git log -- apps/{self.name})"
            )
        release, commit = found
        print(f"rollgen: {self.name}: {why}; acting on what runs, with {release.source} as of commit {commit[:12]} "
              "(the commit that wrote the current files)", file=sys.stderr)
        return release

    def _current(self, repo: Repo, config: Config) -> tuple[RollgenError | None, str, Release | None]:
        """(why the current spec cannot say what runs, with its error; or None, "", the release). Only a spec that
        is gone, another release's or invalid falls back to history; any other refusal (an uncommitted edit of
        the spec, say) stands, as for every command."""
        try:
            path = find_spec(repo, config, self.name)
        except RollgenError as exc:
            return exc, str(exc), None
        named = release_name_of(path)
        if named is not None and named != self.name:
            failure = RollgenError(f"{spec_display(repo, path)} is release {named!r} now, not {self.name!r}")
            return failure, str(failure), None
        try:
            return None, "", super().__call__(repo, config)
        except InvalidInput as exc:
            return exc, f"its spec is invalid ({exc.problems[0].format()})", None


def _route_refusal(config: Config, release: Release) -> str | None:
    """The refusal (its first problem, located) that render/route_changes.py would give the release's deployed
    environments as they are; None when there is none. The route's port, path, host and gateway do not depend on
    the progression, so the committed states tell what the abort's own render would meet."""
    from generator.render.route_changes import DOC, owned_route, refuse_route_changes

    if not owned_route(release):
        return None  # no render for the releases it cannot concern
    from generator.render.pipeline import committed_states, released, render_files

    states = committed_states(config.output_dir, release)
    deployed = released(release, states)
    files = render_files(deployed, states)  # its own errors are the spec's, reported as for every command
    try:
        refuse_route_changes(config.output_dir, deployed, files)
    except InvalidInput as exc:
        first = exc.problems[0]  # the whole refusal is for the commands that go forward: here, where and why
        return f"{first.file}:{first.line}:{first.column}: {first.path}, refused by the other commands, see {DOC}"
    return None


def committed_release(
    repo: Repo, config: Config, name: str, environments: Sequence[str]
) -> tuple[Release, str] | None:
    """(release, commit): the newest commit touching apps/NAME/ whose spec (named by its generated headers) is
    a valid release NAME with every one of `environments`; None when there is none."""
    app = f"{config.output_prefix()}apps/{name}"
    out = repo.run("log", f"-{SEARCHED}", "--format=%H", "--", app, check=False)
    seen: dict[tuple[str, bytes], Release | None] = {}  # most commits of a canary share one spec: loaded once
    for commit in out.stdout.decode().split():
        release = _release_at(repo, config, name, commit, app, seen)
        if release is not None and all(env in {e.name for e in release.environments} for env in environments):
            return release, commit
    return None


def _state_exists(config: Config, name: str, env: str) -> bool:
    from generator.render.state import state_path

    return state_path(config.output_dir / "apps" / name, env).is_file()


def _release_at(
    repo: Repo, config: Config, name: str, commit: str, app: str, seen: dict[tuple[str, bytes], Release | None]
) -> Release | None:
    from generator.render.emit import HEADER_PREFIX, HEADER_SUFFIX

    base, = repo.read_blobs([f"{commit}:{app}/base/kustomization.yaml"])
    first = (base or b"").split(b"\n", 1)[0].decode("utf-8", "replace")
    if not (first.startswith(HEADER_PREFIX) and first.endswith(HEADER_SUFFIX)):
        return None
    source = first[len(HEADER_PREFIX) : -len(HEADER_SUFFIX)]
    if source.startswith(("/", "../")) or "/../" in source:
        return None  # a header naming something outside the repository: not a spec of it
    text, = repo.read_blobs([f"{commit}:{source}"])
    if text is None:
        return None
    if (source, text) not in seen:
        seen[(source, text)] = _load(config, text, source, name)
    return seen[(source, text)]


def _load(config: Config, text: bytes, source: str, name: str) -> Release | None:
    """The release in `text`, validated, its headers naming `source`; None when it is not a valid release NAME."""
    from generator.gitops.pinned import release_of_text

    release = release_of_text(text, source, config.profiles_dir)
    return release if release is not None and release.name == name else None
