"""A release's tree as the output folder and git make it: the recipe (render/pipeline.py release_tree) given what
only this layer knows: the Argo CD / Flux wiring, the files kept for environments gone from the spec
(gitops/retire.py), the pinned specs read back from git (gitops/pinned.py), and the refusals that read the
committed tree (a strategy switch, a route the Argo Rollouts controller owns).

Every command that writes or shows a release's files goes through `tree_of`: the committing commands and the
dry run through `files_to_commit`, `rollgen render` and `rollgen init` through `render_stream` / `render_all`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.errors import InvalidInput, Problem, RollgenError
from generator.model import EnvState, Release
from generator.records import dataclass, field

if TYPE_CHECKING:
    from generator.gitops.repo import Repo
    from generator.gitops.writer import StreamedTree
    from generator.spec.config import Config
    from generator.wiring import RenderWiring, Wiring


def tree_of(
    out_dir: Path, release: Release, states: Mapping[str, EnvState], wiring: Wiring | None,
    pinned: Mapping[str, Release] | None = None, *, root: Path | None = None, state_files: bool = False,
    route_as_specified: bool = False,
) -> dict[str, bytes]:
    """The release's files for the environments in `states`, relative to out_dir. `wiring` None: out_dir is no
    config repo's output folder (no wiring, no kept files, no route check). `root`: where the spec's path is
    relative to (refusals are located in it). `route_as_specified`: a controller-owned route is checked as the
    spec now asks for it, also in the environments rendered from their pinned specs (`rollgen render`, so the
    render-check hook refuses what a later release of each environment would)."""
    from generator.gitops.retire import kept_files  # environments gone from the spec stay until `rollgen retire`
    from generator.gitops.strategy_switch import refuse_strategy_switch
    from generator.render.pipeline import release_tree, released

    deployed = released(release, states)
    # to or from a rolling update, in the environments rendered from this spec (not those pinned to their own)
    current = [env for env in deployed.environments if not pinned or env.name not in pinned]
    refuse_strategy_switch(out_dir, release, current, root)
    if wiring is None:
        return release_tree(release, states, pinned)
    from generator.wiring import wiring_files

    wires: Wiring = wiring

    def check(rendered: Release, files: Mapping[str, bytes]) -> None:
        from generator.render.route_changes import owned_route, refuse_route_changes

        if owned_route(rendered):  # what Argo CD and Flux would never apply
            if route_as_specified and pinned:
                from generator.render.pipeline import render_files

                files = render_files(rendered, states)
            refuse_route_changes(out_dir, rendered, files)

    names = [env.name for env in release.environments]
    kept = kept_files(out_dir, release.name, names, base=not deployed.environments)
    return release_tree(release, states, pinned, wiring=lambda r: wiring_files(r, wires), kept=kept,
                        state_files=state_files, check=check)


def files_to_commit(
    config: Config, release: Release, states: Mapping[str, EnvState], pinned: Mapping[str, Release] | None = None
) -> dict[str, bytes]:
    """Every file a commit of the release holds (its deployed environments, their state files included),
    relative to the output folder; `pinned`: the environments rendered from the spec they were last acted on."""
    from generator.wiring import for_config, refuse_mode_switch, refuse_root_clashes

    wiring = for_config(config)
    refuse_root_clashes(release, wiring)  # every environment's name, as `rollgen render` checks them
    refuse_mode_switch(config.output_dir, wiring)  # argocd.mode changed under released environments
    return tree_of(config.output_dir, release, states, wiring, pinned, root=config.root, state_files=True)


def owned_roots(release: Release) -> list[str]:
    """What a command writing this release owns in the output folder: apps/<name> and its wiring folders."""
    return owned_roots_of(release.name)


def owned_roots_of(name: str) -> list[str]:
    from generator.render.pipeline import app_root_of
    from generator.wiring import release_roots

    return [app_root_of(name), *release_roots(name)]


def pinned_for(
    repo: Repo, config: Config, release: Release, states: Mapping[str, EnvState], acting: str | None,
    current: str = "", strict: bool = True,
) -> dict[str, Release]:
    """The environments (but `acting`) to render from the spec they were last acted on (gitops/pinned.py);
    `strict`: one whose spec git does not have is refused (what is rendered is about to be committed)."""
    from generator.gitops.pinned import pinned, spec_blob

    return pinned(repo, release, dict(states), current or spec_blob(repo.root, release), config.profiles_dir,
                  acting, strict=strict)


# -- `rollgen render`: every release of the paths, into an output folder ------------------------------------


@dataclass(frozen=True)
class Tree:
    """What a render produces: the files, the roots the writer owns, and by release root (apps/<name>) the
    environments left out because they are not released yet (config repos only)."""

    files: dict[str, bytes]
    roots: list[str]
    unreleased: dict[str, list[str]] = field(default_factory=dict)

    def add(self, files: Mapping[str, bytes], roots: Sequence[str]) -> None:
        """One release's part, as render_one gives it to a StreamedTree."""
        self.files.update(files)
        self.roots.extend(roots)


def render_all(releases: Sequence[Release], out_dir: Path, wired: RenderWiring | None = None) -> Tree:
    """Every release's files and the roots the writer owns.

    `wired` says out_dir is a config repo's output folder (generator/wiring `for_render`): then only the
    environments `rollgen release` has deployed are rendered, with the Argo CD / Flux wiring rollgen.yaml asks
    for, so the tree is byte for byte what the committing commands wrote; a release not deployed anywhere yet
    has no files at all. Otherwise every environment is rendered (see render/pipeline.py).
    """
    tree = Tree({}, [])
    for release in releases:
        render_one(release, out_dir, wired, tree, tree.unreleased)
    if wired is not None:
        tree.files.update(wired.repo_files())
        gone = wired.repo_roots(release.name for release in releases)
        tree.roots.extend(gone)
        for root in gone:  # a release whose spec is gone still runs: its deployed files stay until retired
            if root.startswith("apps/"):
                tree.add(_gone(out_dir, root), [])
    return tree


def _gone(out_dir: Path, root: str) -> dict[str, bytes]:
    from generator.gitops.retire import kept_files

    return kept_files(out_dir, root.removeprefix("apps/"), (), base=True)


def render_stream(paths: Sequence[Path], out_dir: Path, sink: StreamedTree) -> tuple[list[Problem],
                                                                                   dict[str, list[str]]]:
    """load_releases and render_all, one release at a time into `sink`: what `rollgen render` writes or checks.

    Nothing is held from one release to the next but its name, so memory stays flat with the fleet. The rules
    are the whole-tree ones: every spec is loaded and checked, and the problems of all of them win (the caller
    writes nothing); without problems, the first error met rendering is raised, as render_all raises it.
    """
    from generator.render.loading import duplicate, load_one
    from generator.spec.discovery import find_specs
    from generator.wiring import for_render

    specs, problems = find_specs(list(paths))
    first: dict[str, str] = {}  # release name -> the spec that defines it
    duplicates: list[Problem] = []
    dirs_by_root: dict[Path | None, list[Path]] = {}
    unreleased: dict[str, list[str]] = {}
    failed: RollgenError | None = None  # raised once every spec has been checked, if none has a problem
    wired: RenderWiring | None = None
    started = False
    for spec in specs:
        try:
            release = load_one(spec, dirs_by_root)
        except InvalidInput as exc:
            problems.extend(exc.problems)
            continue
        if release.name in first:
            duplicates.append(duplicate(spec, release, first[release.name]))
            continue
        first[release.name] = release.source
        if problems or duplicates or failed is not None:
            continue  # nothing will be written: only the checking goes on
        try:
            if not started:
                started = True
                wired = for_render(out_dir, paths)
                sink.share(wired.shared_roots() if wired is not None else [])
            render_one(release, out_dir, wired, sink, unreleased)
        except InvalidInput as exc:  # located in the spec (a strategy switch): reported as its problems
            problems.extend(exc.problems)
        except RollgenError as exc:
            failed = exc
    if problems or duplicates:
        return problems + duplicates, unreleased
    if failed is not None:
        raise failed
    if not started:
        wired = for_render(out_dir, paths)
    if wired is not None:
        shared = wired.shared_roots()
        sink.add(wired.repo_files(), shared)
        for gone in wired.repo_roots(first):
            if gone not in shared:  # a release whose spec is gone still runs: its deployed files stay until retired
                sink.add(_gone(out_dir, gone), [gone])
    sink.shared_done()
    return [], unreleased


def render_one(release: Release, out_dir: Path, wired: RenderWiring | None, sink: StreamedTree | Tree,
               unreleased: dict[str, list[str]]) -> None:
    """One release's files and the roots it owns, into the sink (render_all's Tree, render_stream's StreamedTree)."""
    from generator.render.pipeline import app_root

    roots = [app_root(release)]  # owned either way: what is no longer rendered is pruned
    if wired is not None:
        wired.check(release)
        roots.extend(wired.release_roots(release.name))
    rendered, states = with_states(out_dir, release, released_only=wired is not None)
    kept = {env.name for env in rendered.environments}
    left_out = [env.name for env in release.environments if env.name not in kept]
    if left_out:
        unreleased[app_root(release)] = left_out
    pins = _pinned(out_dir, rendered, states) if wired is not None and rendered.environments else None
    files = tree_of(out_dir, release, states, wired.wiring if wired is not None else None, pins,
                    route_as_specified=True)
    sink.add(files, roots)


def _pinned(out_dir: Path, release: Release, states: dict[str, EnvState]) -> dict[str, Release] | None:
    """In a config repo, the environments rendered from the spec they were last acted on, as the committing
    commands render them (gitops/pinned.py): so the render-check hook agrees with a commit that left them be."""
    from generator.gitops.pinned import pinned, spec_blob

    if not any(state.spec_blob for state in states.values()):
        return None  # nothing recorded (older state files): the current spec, without a git process
    current = spec_blob(Path.cwd(), release)
    if all(state.spec_blob in ("", current) for state in states.values()):
        return None
    repo = _repo(out_dir)
    if repo is None:
        return None
    from generator.spec.config import config_root, load

    root = config_root(out_dir)
    profiles = load(root).profiles_dir if root is not None else None
    return pinned(repo, release, states, current, profiles)


_REPOS: dict[str, Any] = {}  # out_dir -> its Repo (or None outside git): one `git rev-parse` per render


def _repo(out_dir: Path) -> Any:
    from generator.gitops.repo import GitError, Repo

    key = str(out_dir.resolve())  # resolved: "." is another repository after a chdir
    if key not in _REPOS:
        try:
            _REPOS[key] = Repo.discover(out_dir)
        except GitError:
            _REPOS[key] = None
    return _REPOS[key]


def with_states(out_dir: Path, release: Release, released_only: bool) -> tuple[Release, dict[str, EnvState]]:
    """The release, narrowed to the environments to render, and their states.

    `released_only` (a config repo): the environments with a state file, at their committed states.
    Otherwise every environment, at its committed state where out_dir holds one, else its initial state.
    """
    from generator.render.pipeline import committed_states, released, states_or_initial

    if released_only:
        committed = committed_states(out_dir, release)
        return released(release, committed), committed
    return release, states_or_initial(out_dir, release)
