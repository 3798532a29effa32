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
from collections.abc import Sequence
from generator.records import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.errors import EXIT_OK, EXIT_USER, Problem, RollgenError
from generator.model import EnvState, Release

if TYPE_CHECKING:
    import argparse

    from generator.wiring import RenderWiring


def run(args: argparse.Namespace) -> int:
    _check_out(args.out)
    from generator.render import cache

    # The cache (generator/render/cache.py) answers only when every input and the whole output tree are as a
    # run that found the tree up to date left them; the snapshot is taken before anything is read.
    key = cache.run_key(args.paths, args.out) if cache.cache_file(args.out) else None
    taken = cache.now_ns()
    try:
        before = cache.snapshot(args.out) if key else {}
    except OSError:  # an unreadable corner of the tree: the full run reports it
        key, before = None, {}
    if key:
        hit = cache.lookup_snapshot(args.out, key, before)
        if hit is not None:
            return _replay(args, hit)
    releases, problems = load_releases(args.paths)
    if problems:
        _report(problems, args.format)
        return EXIT_USER
    from generator.wiring import for_render

    tree = render_all(releases, args.out, for_render(args.out, args.paths))
    if args.check:
        code = _check(args.out, tree.files, tree.roots, args.format)
        if key and code == EXIT_OK and cache.run_key(args.paths, args.out) == key:  # no input changed meanwhile
            cache.store(args.out, key, before, taken, tree.files, tree.roots, tree.unreleased)
        return code
    code, changed = _write_tree(args.out, tree, args.format)
    if key and code == EXIT_OK and not changed and cache.run_key(args.paths, args.out) == key:
        cache.store(args.out, key, before, taken, tree.files, tree.roots, tree.unreleased)
    return code


def _replay(args: argparse.Namespace, hit: Any) -> int:
    """What a full run prints over a tree it finds up to date, from the cache."""
    if args.check:
        return _check(args.out, dict.fromkeys(hit.files, b""), hit.roots, args.format, diffs=[])
    return _print_write(args.out, Tree({}, hit.roots, hit.unreleased), [], hit.files, [], args.format)


# -- load ---------------------------------------------------------------------------------------------------


def load_releases(paths: Sequence[Path]) -> tuple[list[Release], list[Problem]]:
    """Every release, or every problem in every file (the problems win: nothing is rendered)."""
    from generator.spec.config import config_root, profile_dirs
    from generator.spec.discovery import find_specs
    from generator.errors import InvalidInput
    from generator.render.loading import load_release

    specs, problems = find_specs(list(paths))
    loaded: list[tuple[Path, Release]] = []
    dirs_by_root: dict[Path | None, list[Path]] = {}  # each config repo's rollgen.yaml read once, not once a spec
    for spec in specs:
        root = config_root(spec.resolve().parent)
        try:
            if root not in dirs_by_root:
                dirs_by_root[root] = profile_dirs(root)
            loaded.append((spec, load_release(spec, dirs_by_root[root], display=spec_display(spec))))
        except InvalidInput as exc:
            problems.extend(exc.problems)
    problems.extend(duplicate_names(loaded))
    return [release for _, release in loaded], problems


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
    from generator.spec.loader import load_single

    first: dict[str, Release] = {}
    problems = []
    for spec, release in loaded:
        other = first.setdefault(release.name, release)
        if other is release:
            continue
        line, column = load_single(spec, release.source).locate(("metadata", "name"))
        message = (
            f"release {release.name!r} is also defined in {other.source}: both would write apps/{release.name}/; "
            "rename one of them (metadata.name)"
        )
        problems.append(Problem(release.source, line, column, "$.metadata.name", message))
    return problems


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
    from generator.render.pipeline import app_root, render_files
    from generator.gitops.retire import kept_files

    tree = Tree({}, [])
    for release in releases:
        tree.roots.append(app_root(release))  # owned either way: what is no longer rendered is pruned
        if wired is not None:
            wired.check(release)
            tree.roots.extend(wired.release_roots(release.name))
        rendered, states = with_states(out_dir, release, released_only=wired is not None)
        kept = {env.name for env in rendered.environments}
        left_out = [env.name for env in release.environments if env.name not in kept]
        if left_out:
            tree.unreleased[app_root(release)] = left_out
        if wired is not None:  # environments gone from the spec stay as they are until `rollgen retire`
            names = [env.name for env in release.environments]
            tree.files.update(kept_files(out_dir, release.name, names, base=not rendered.environments))
        if not rendered.environments:
            continue
        tree.files.update(render_files(rendered, states))
        if wired is not None:
            tree.files.update(wired.release_files(rendered))
    if wired is not None:
        tree.files.update(wired.repo_files())
        gone = wired.repo_roots(release.name for release in releases)
        tree.roots.extend(gone)
        for root in gone:  # a release whose spec is gone still runs: its deployed files stay until retired
            if root.startswith("apps/"):
                tree.files.update(kept_files(out_dir, root.removeprefix("apps/"), (), base=True))
    return tree


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


def _write(out_dir: Path, tree: Tree, fmt: str) -> int:
    return _write_tree(out_dir, tree, fmt)[0]


def _write_tree(out_dir: Path, tree: Tree, fmt: str) -> tuple[int, bool]:
    """Write the tree and print the summary; also whether anything was written or removed."""
    from generator.gitops.writer import write_tree

    result = write_tree(out_dir, tree.files, tree.roots)
    code = _print_write(out_dir, tree, result.written, result.unchanged, result.removed, fmt)
    return code, bool(result.written or result.removed)


def _print_write(out_dir: Path, tree: Tree, written: Sequence[str], unchanged: Sequence[str],
                 removed: Sequence[str], fmt: str) -> int:
    summary = _summary(tree.roots, written, unchanged, removed)
    for app in summary:
        if app["root"] in tree.unreleased:
            app["unreleased"] = tree.unreleased[app["root"]]
    if fmt == "json":
        print(json.dumps({"out": str(out_dir), "apps": summary}, indent=2))
        return EXIT_OK
    for app in summary:
        print(
            f"{app['root']}: {len(app['written'])} written, {app['unchanged']} unchanged, "
            f"{len(app['removed'])} removed"
        )
        if app.get("unreleased"):
            print(f"{app['root']}: not released yet, so not rendered: {', '.join(app['unreleased'])} "
                  "(rollgen release renders and commits each environment)")
    return EXIT_OK


def _summary(
    roots: Sequence[str], written: Sequence[str], unchanged: Sequence[str], removed: Sequence[str]
) -> list[dict[str, Any]]:
    from generator.gitops.writer import owning_root

    apps: dict[str, dict[str, Any]] = {root: {"root": root, "written": [], "unchanged": 0, "removed": []} for root in roots}
    for kind, paths in (("written", written), ("removed", removed)):
        for path in paths:
            apps[owning_root(path, apps) or ""][kind].append(path)
    for path in unchanged:
        apps[owning_root(path, apps) or ""]["unchanged"] += 1
    return list(apps.values())


def _check(out_dir: Path, files: dict[str, bytes], roots: list[str], fmt: str, diffs: list[str] | None = None) -> int:
    from generator.gitops.writer import check_tree

    if diffs is None:
        diffs = check_tree(out_dir, files, roots)
    if fmt == "json":
        print(json.dumps({"out": str(out_dir), "upToDate": not diffs, "differences": diffs}, indent=2))
    elif diffs:
        for line in diffs:
            print(line)
        print(f"rollgen: {out_dir} is out of date ({len(diffs)} file(s)); run rollgen render without --check")
    else:
        print(f"{out_dir}: up to date ({len(files)} files)")
    return EXIT_USER if diffs else EXIT_OK
