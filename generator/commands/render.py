"""`rollgen render PATH... --out DIR [--check]`: the generated tree for every spec, written or compared.

Every spec is loaded before anything is rendered: one invalid spec means nothing is written. States come from
the output tree itself, so rendering a config repo mid-canary reproduces the committed weights.

Into a config repo's output folder (rollgen.yaml names DIR as its output: what `rollgen init` makes and the
render-check hook runs) only released environments are rendered, exactly as the committing commands write them;
a release nobody has released yet has no files. Anywhere else every environment is rendered
(generator/pipeline.py states the rule).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from generator.records import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.errors import EXIT_OK, EXIT_USER, Problem, RollgenError
from generator.model import EnvState, Release

if TYPE_CHECKING:
    import argparse

    from generator.gitops.writer import StreamedTree
    from generator.wiring import RenderWiring


def run(args: argparse.Namespace) -> int:
    _check_out(args.out)
    try:
        return _run(args)
    except OSError as exc:
        if exc.filename is None or isinstance(exc, BrokenPipeError):
            raise
        raise RollgenError(f"--out {args.out}: cannot write {exc.filename}: {exc.strerror or exc}; "
                           "name a folder rollgen can create and write") from None


def _run(args: argparse.Namespace) -> int:
    from generator.gitops.writer import StreamedTree
    from generator.render import cache

    # The cache (generator/render/cache.py) answers only when every input and the whole output tree are as a
    # run that found the tree up to date left them; the snapshot is taken before anything is read.
    key = cache.run_key(args.paths, args.out) if cache.cache_file(args.out) else None
    before = None
    if key:
        try:
            before = cache.snapshot(args.out, cache.now_ns())
        except OSError:  # an unreadable corner of the tree: the full run reports it
            key = None
    if key and before is not None:
        hit = cache.lookup_snapshot(args.out, key, before)
        if hit is not None:
            return _replay(args, hit)
    # Release by release (render_stream): one release's files in memory at a time, whatever the fleet's size.
    watch = before.recent if before is not None else ()
    with StreamedTree(args.out, check=args.check, keep_paths=args.format == "json", watch=watch) as sink:
        problems, unreleased = render_stream(args.paths, args.out, sink)
        if problems:
            _report(problems, args.format)
            return EXIT_USER
        if args.check:
            code = _check(args.out, sink.files, sink.check_lines(), args.format)
            up_to_date = code == EXIT_OK
        else:
            sink.finish()
            code = _print_summary(args.out, sink.summary(), unreleased, args.format)
            up_to_date = not sink.changed
    if key and before is not None and up_to_date and cache.run_key(args.paths, args.out) == key:  # no input changed meanwhile
        counts = sink.summary()
        cache.store(args.out, key, before, sink.hashes, sink.files, [app["root"] for app in counts],
                    [app["unchanged"] for app in counts], unreleased)
    return code


def _replay(args: argparse.Namespace, hit: Any) -> int:
    """What a full run prints over a tree it finds up to date, from the cache."""
    if args.check:
        return _check(args.out, hit.files, [], args.format)
    empty: list[str] | int = [] if args.format == "json" else 0
    summary = [{"root": root, "written": empty, "unchanged": unchanged, "removed": empty}
               for root, unchanged in zip(hit.roots, hit.unchanged)]
    return _print_summary(args.out, summary, hit.unreleased, args.format)


# -- load ---------------------------------------------------------------------------------------------------


def load_releases(paths: Sequence[Path]) -> tuple[list[Release], list[Problem]]:
    """Every release, or every problem in every file (the problems win: nothing is rendered)."""
    from generator.spec.discovery import find_specs
    from generator.errors import InvalidInput

    specs, problems = find_specs(list(paths))
    loaded: list[tuple[Path, Release]] = []
    dirs_by_root: dict[Path | None, list[Path]] = {}  # each config repo's rollgen.yaml read once, not once a spec
    for spec in specs:
        try:
            loaded.append((spec, _load_one(spec, dirs_by_root)))
        except InvalidInput as exc:
            problems.extend(exc.problems)
    problems.extend(duplicate_names(loaded))
    return [release for _, release in loaded], problems


def _load_one(spec: Path, dirs_by_root: dict[Path | None, list[Path]]) -> Release:
    """One spec, with the profiles of its config repo (`dirs_by_root` caches them by repo); InvalidInput."""
    from generator.spec.config import config_root, profile_dirs
    from generator.render.loading import load_release

    root = config_root(spec.resolve().parent)
    if root not in dirs_by_root:
        dirs_by_root[root] = profile_dirs(root)
    return load_release(spec, dirs_by_root[root], display=spec_display(spec))


def spec_display(spec: Path) -> str:
    """How generated headers name the spec: relative to its git repository, as `rollgen release` names it,
    so both commands write the same bytes; as given outside a repository."""
    resolved = spec.resolve()
    for folder in resolved.parents:
        if (folder / ".git").exists():
            return resolved.relative_to(folder).as_posix()
    return spec.as_posix()


def duplicate_names(loaded: Sequence[tuple[Path, Release]]) -> list[Problem]:
    """Two specs naming the same release would write the same apps/<name>/: one problem per later spec."""
    first: dict[str, Release] = {}
    problems = []
    for spec, release in loaded:
        other = first.setdefault(release.name, release)
        if other is not release:
            problems.append(_duplicate(spec, release, other.source))
    return problems


def _duplicate(spec: Path, release: Release, other: str) -> Problem:
    from generator.spec.loader import load_single

    line, column = load_single(spec, release.source).locate(("metadata", "name"))
    message = (
        f"release {release.name!r} is also defined in {other}: both would write apps/{release.name}/; "
        "rename one of them (metadata.name)"
    )
    return Problem(release.source, line, column, "$.metadata.name", message)


def _report(problems: list[Problem], fmt: str) -> None:
    from generator.spec.report import print_problems

    print_problems(problems, fmt)


# -- render -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tree:
    """What a render produces: the files, the roots the writer owns, and by release root (apps/<name>) the
    environments left out because they are not released yet (config repos only)."""

    files: dict[str, bytes]
    roots: list[str]
    unreleased: dict[str, list[str]] = field(default_factory=dict)

    def add(self, files: Mapping[str, bytes], roots: Sequence[str]) -> None:
        """One release's part, as _render_one gives it to a StreamedTree."""
        self.files.update(files)
        self.roots.extend(roots)


def _check_out(out: Path) -> None:
    """--out is a folder, or does not exist yet (it is created): a file there is a mistake in the command."""
    for folder in (out, *out.parents):
        if folder.exists():
            if not folder.is_dir():
                raise RollgenError(f"--out {out}: {folder} is a file, not a folder; name the folder apps/<name>/ "
                                   "is written under")
            return


def render_all(releases: Sequence[Release], out_dir: Path, wired: RenderWiring | None = None) -> Tree:
    """Every release's files and the roots the writer owns.

    `wired` says out_dir is a config repo's output folder (generator/wiring.py `for_render`): then only the
    environments `rollgen release` has deployed are rendered, with the Argo CD / Flux wiring rollgen.yaml asks
    for, so the tree is byte for byte what the committing commands wrote; a release not deployed anywhere yet
    has no files at all. Otherwise every environment is rendered (see generator/pipeline.py).
    """
    from generator.gitops.retire import kept_files

    tree = Tree({}, [])
    for release in releases:
        _render_one(release, out_dir, wired, tree, tree.unreleased)
    if wired is not None:
        tree.files.update(wired.repo_files())
        gone = wired.repo_roots(release.name for release in releases)
        tree.roots.extend(gone)
        for root in gone:  # a release whose spec is gone still runs: its deployed files stay until retired
            if root.startswith("apps/"):
                tree.files.update(kept_files(out_dir, root.removeprefix("apps/"), (), base=True))
    return tree


def render_stream(paths: Sequence[Path], out_dir: Path, sink: StreamedTree) -> tuple[list[Problem],
                                                                                   dict[str, list[str]]]:
    """load_releases and render_all, one release at a time into `sink`: what `rollgen render` writes or checks.

    Nothing is held from one release to the next but its name, so memory stays flat with the fleet. The rules
    are the whole-tree ones: every spec is loaded and checked, and the problems of all of them win (the caller
    writes nothing); without problems, the first error met rendering is raised, as render_all raises it.
    """
    from generator.errors import InvalidInput
    from generator.gitops.retire import kept_files
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
            release = _load_one(spec, dirs_by_root)
        except InvalidInput as exc:
            problems.extend(exc.problems)
            continue
        if release.name in first:
            duplicates.append(_duplicate(spec, release, first[release.name]))
            continue
        first[release.name] = release.source
        if problems or duplicates or failed is not None:
            continue  # nothing will be written: only the checking goes on
        try:
            if not started:
                started = True
                wired = for_render(out_dir, paths)
                sink.share(wired.shared_roots() if wired is not None else [])
            _render_one(release, out_dir, wired, sink, unreleased)
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
                sink.add(kept_files(out_dir, gone.removeprefix("apps/"), (), base=True), [gone])
    sink.shared_done()
    return [], unreleased


def _render_one(release: Release, out_dir: Path, wired: RenderWiring | None, sink: StreamedTree | Tree,
                unreleased: dict[str, list[str]]) -> None:
    """One release's files and the roots it owns, into the sink (render_all's Tree, render_stream's StreamedTree)."""
    from generator.gitops.retire import kept_files
    from generator.render.pipeline import app_root, render_files
    from generator.gitops.strategy_switch import refuse_strategy_switch

    roots = [app_root(release)]  # owned either way: what is no longer rendered is pruned
    if wired is not None:
        wired.check(release)
        roots.extend(wired.release_roots(release.name))
    rendered, states = with_states(out_dir, release, released_only=wired is not None)
    kept = {env.name for env in rendered.environments}
    left_out = [env.name for env in release.environments if env.name not in kept]
    if left_out:
        unreleased[app_root(release)] = left_out
    files: dict[str, bytes] = {}
    if wired is not None:  # environments gone from the spec stay as they are until `rollgen retire`
        names = [env.name for env in release.environments]
        files.update(kept_files(out_dir, release.name, names, base=not rendered.environments))
    if rendered.environments:
        pins = _pinned(out_dir, rendered, states) if wired is not None else None
        # to or from a rolling update, in the environments rendered from this spec (not those pinned to their own)
        refuse_strategy_switch(out_dir, release, [e for e in rendered.environments if not pins or e.name not in pins])
        files.update(render_files(rendered, states, pins))
        if wired is not None:
            from generator.render.route_changes import owned_route, refuse_route_changes

            if owned_route(rendered):  # what Argo CD and Flux would never apply, as the spec now asks for it
                refuse_route_changes(out_dir, rendered, files if pins is None else render_files(rendered, states))
            files.update(wired.release_files(rendered))
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
    from generator.render.pipeline import committed_states, read_states, released

    if released_only:
        committed = committed_states(out_dir, release)
        return released(release, committed), committed
    return release, read_states(out_dir, release)


# -- write or check -----------------------------------------------------------------------------------------


def _print_summary(out_dir: Path, summary: list[dict[str, Any]], unreleased: Mapping[str, list[str]],
                   fmt: str) -> int:
    """What a write prints: per owned root, written and removed (paths in JSON, counts in text) and unchanged."""
    for app in summary:
        if app["root"] in unreleased:
            app["unreleased"] = unreleased[app["root"]]
    if fmt == "json":
        print(json.dumps({"out": str(out_dir), "apps": summary}, indent=2))
        return EXIT_OK
    for app in summary:
        print(f"{app['root']}: {_count(app['written'])} written, {app['unchanged']} unchanged, "
              f"{_count(app['removed'])} removed")
        if app.get("unreleased"):
            print(f"{app['root']}: not released yet, so not rendered: {', '.join(app['unreleased'])} "
                  "(rollgen release renders and commits each environment)")
    return EXIT_OK


def _count(paths: Sequence[str] | int) -> int:
    return paths if isinstance(paths, int) else len(paths)


def _check(out_dir: Path, files: int, diffs: list[str], fmt: str) -> int:
    if fmt == "json":
        print(json.dumps({"out": str(out_dir), "upToDate": not diffs, "differences": diffs}, indent=2))
    elif diffs:
        for line in diffs:
            print(line)
        print(f"rollgen: {out_dir} is out of date ({len(diffs)} file(s)); run rollgen render without --check")
    else:
        print(f"{out_dir}: up to date ({files} files)")
    return EXIT_USER if diffs else EXIT_OK
