"""The dry run behind `rollgen plan` and `--dry-run` on release/advance/promote/abort: what the next commit would
hold, and nothing written.

The committing pipeline of workflow.py runs as far as the commit message and the rendered files, then stops:
no lock file, no repair of a crashed run's leftovers (a dirty tree is refused instead), no file written, no
commit, no fetch or push, so HEAD, the index and the work tree stay exactly as they were. (Only rollgen's own
caches inside the git dir may be refreshed, as for every read.) For each environment it shows the subject and
trailers, the live canary weight before and after, the images, and a unified diff of the objects the overlays
build to (generator/kustomize/build.py, what `kubectl kustomize` gives), as `kubectl diff` shows them.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from generator.gitops.clean import dirty_paths, owned_paths
from generator.gitops.tree import files_to_commit, owned_roots, pinned_for
from generator.gitops.workflow import (
    Outcome,
    Request,
    colours,
    commit_message,
    decide,
    environments_of,
    deployed_states,
)
from generator.spec.config import Config
from generator.errors import EXIT_OK, EXIT_USER, RollgenError
from generator.gitops.repo import Repo
from generator.gitops.writer import pruned_tree
from generator.model import Environment, EnvState, Release
from generator.plan.progression import Hold
from generator.records import replace


def dry_run(repo: Repo, config: Config, request: Request, fmt: str) -> int:
    release = request.load(repo, config)
    _refuse_dirty(repo, config, release)
    states = deployed_states(config, release)
    tree = committed_tree(config.output_dir, owned_roots(release))
    outcomes = []
    for env_name in environments_of(release, request):
        outcome, states, tree = _preview(repo, config, release, env_name, states, tree, request)
        outcomes.append(outcome)
    report_planned(outcomes, fmt, request.push)
    return EXIT_USER if any(o.result == "refused" for o in outcomes) else EXIT_OK


def _refuse_dirty(repo: Repo, config: Config, release: Release) -> None:
    """A plan of uncommitted generated files would not be the plan of the commit; never repaired here."""
    # As ensure_clean: an untracked file rollgen did not generate is the user's, and no business of the plan.
    dirty = dirty_paths(repo, repo.changes(owned_paths(config, release.name)))
    if dirty:
        shown = "\n".join(f"  {p}" for p in dirty[:20])
        raise RollgenError(
            f"uncommitted changes to {release.name}'s generated files:\n{shown}\n"
            "a plan shows what the next commit would change from HEAD; commit or discard them first "
            "(a run of the command itself repairs what an interrupted run left)"
        )


def committed_tree(out_dir: Path, roots: Sequence[str]) -> dict[str, bytes]:
    """The release's files as they are (HEAD's, the tree being clean), relative to the output folder; never
    through a symlink."""
    files: dict[str, bytes] = {}
    for root in roots:
        top = out_dir / root
        if not top.is_dir() or top.is_symlink():
            continue
        for folder, dirs, names in os.walk(top, followlinks=False):
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
            for name in names:
                path = os.path.join(folder, name)
                if stat.S_ISREG(os.lstat(path).st_mode):
                    with open(path, "rb") as fh:
                        files[Path(path).relative_to(out_dir).as_posix()] = fh.read()
    return files


def _preview(
    repo: Repo,
    config: Config,
    release: Release,
    env_name: str,
    states: dict[str, EnvState],
    tree: dict[str, bytes],
    request: Request,
) -> tuple[Outcome, dict[str, EnvState], dict[str, bytes]]:
    """One environment as workflow.commit_environment decides it, up to the files; the next environment plans on top."""
    current = states.get(env_name)
    decided = decide(release, env_name, states, request)
    if isinstance(decided, Outcome):
        return decided, states, tree
    plan, transition = decided
    env = release.environment(env_name)
    from generator.gitops.pinned import recorded, spec_blob

    blob = spec_blob(repo.root, release)  # as write_one: this environment takes the spec as it is now
    blob = recorded(repo, blob, states[env_name].spec_blob if env_name in states else "")
    transition = replace(transition, state=replace(transition.state, spec_blob=blob))
    new_states = {**states, env_name: transition.state}
    message = commit_message(config, release, env_name, transition)
    pins = pinned_for(repo, config, release, new_states, env_name, blob)
    files = files_to_commit(config, release, new_states, pins)
    new_tree = pruned_tree(tree, files, owned_roots(release))
    changed = sorted(path for path in {*tree, *new_tree} if tree.get(path) != new_tree.get(path))
    if not changed:
        reason = plan.reason if isinstance(plan, Hold) else "nothing to do: the generated files are unchanged"
        return Outcome(release.name, env_name, "nothing-to-do", reason, state=current, colours=colours(release)), states, tree
    preview = {
        "message": message,
        "trailers": _trailers(message),
        "weight": {"before": weight_of(current, env), "after": weight_of(transition.state, env)},
        "images": {"before": _images(current), "after": _images(transition.state)},
        "files": [config.output_prefix() + path for path in changed],
        "diff": _diffs(release, tree, new_tree),
    }
    subject = message.split("\n", 1)[0]
    outcome = Outcome(release.name, env_name, "planned", subject, transition.action, None, transition.state, preview,
                      colours(release))
    return outcome, new_states, new_tree


def weight_of(state: EnvState | None, env: Environment) -> int | None:
    """The canary's share of traffic the overlay routes (EnvState.live_weight); None before the first deploy."""
    return None if state is None else state.live_weight(env)


def _images(state: EnvState | None) -> dict[str, str | None] | None:
    if state is None:
        return None
    return {"stable": state.stable_image.ref, "canary": state.canary_image.ref if state.canary_image else None}


def _trailers(message: str) -> dict[str, str]:
    from generator.gitops.messages import parse_trailers

    return parse_trailers(message)


def _diffs(release: Release, before: Mapping[str, bytes], after: Mapping[str, bytes]) -> list[dict[str, str]]:
    """The built objects that change, per overlay: unified diffs like `kubectl diff` prints."""
    from generator.kustomize.build import BuildError, build, diff_objects

    out = []
    for env in release.environments:
        folder = f"apps/{release.name}/overlays/{env.name}"
        present = [f"{folder}/kustomization.yaml" in files for files in (before, after)]
        if not any(present):
            continue
        try:
            old = build(before, folder) if present[0] else {}
            new = build(after, folder) if present[1] else {}
        except BuildError as exc:
            out.append({"environment": env.name, "diff": f"(the built objects cannot be shown: {exc})\n"})
            continue
        out.extend({"environment": env.name, "diff": text} for text in diff_objects(old, new))
    return out


# -- output -------------------------------------------------------------------------------------------------


def report_planned(outcomes: Sequence[Outcome], fmt: str, push: bool) -> None:
    import sys

    if fmt == "json":
        results = [o.as_json() for o in outcomes]
        print(json.dumps({"results": results, "pushed": False, "dryRun": True}, indent=2, ensure_ascii=False))
        return
    for outcome in outcomes:
        where = f"{outcome.release}/{outcome.environment}"
        if outcome.result == "refused":
            print(f"rollgen: {where}: {outcome.text}", file=sys.stderr)
        elif outcome.result == "nothing-to-do" or outcome.preview is None:
            print(f"{where}: {outcome.text}")
        else:
            _print_preview(where, outcome.preview)
    tail = ", committed or pushed" if push else " or committed"
    print(f"plan only: nothing was written{tail}")


def _print_preview(where: str, preview: Mapping[str, Any]) -> None:
    message: str = preview["message"]
    subject, _, rest = message.partition("\n")
    print(f"would commit: {subject}")
    for line in rest.strip("\n").splitlines():
        print(f"    {line}".rstrip())
    weight = preview["weight"]
    before = "not deployed" if weight["before"] is None else f"{weight['before']}%"
    print(f"  {where}: canary weight {before} → {weight['after']}%")
    images = preview["images"]
    print(f"  {where}: images {_shown(images['before'])} → {_shown(images['after'])}")
    print("  files: " + ", ".join(preview["files"]))
    for entry in preview["diff"]:
        print(entry["diff"], end="" if entry["diff"].endswith("\n") else "\n")


def _shown(images: Mapping[str, str | None] | None) -> str:
    if images is None:
        return "(none)"
    canary = images["canary"]
    return f"stable {images['stable']}" + (f", canary {canary}" if canary else "")
