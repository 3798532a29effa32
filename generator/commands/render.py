"""`rollgen render PATH... --out DIR [--check]`: the generated tree for every spec, written or compared.

Every spec is loaded before anything is rendered: one invalid spec means nothing is written. States come from
the output tree itself, so rendering a config repo mid-canary reproduces the committed weights.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.errors import EXIT_OK, EXIT_USER, Problem
from generator.model import EnvState, Release

if TYPE_CHECKING:
    from generator.wiring import RenderWiring


def run(args: argparse.Namespace) -> int:
    releases, problems = load_releases(args.paths)
    if problems:
        _report(problems, args.format)
        return EXIT_USER
    from generator.wiring import for_render

    files, roots = render_all(releases, args.out, for_render(args.out, args.paths))
    if args.check:
        return _check(args.out, files, roots, args.format)
    return _write(args.out, files, roots, args.format)


# -- load ---------------------------------------------------------------------------------------------------


def load_releases(paths: Sequence[Path]) -> tuple[list[Release], list[Problem]]:
    """Every release, or every problem in every file (the problems win: nothing is rendered)."""
    from generator.discovery import find_specs
    from generator.errors import InvalidInput
    from generator.spec import load_release

    specs, problems = find_specs(list(paths))
    loaded: list[tuple[Path, Release]] = []
    for spec in specs:
        try:
            loaded.append((spec, load_release(spec, profile_dirs(spec), display=spec_display(spec))))
        except InvalidInput as exc:
            problems.extend(exc.problems)
    problems.extend(duplicate_names(loaded))
    return [release for _, release in loaded], problems


def profile_dirs(spec: Path) -> list[Path]:
    """The profiles folder that the spec's config repo (its rollgen.yaml) adds to the built-in ones."""
    from generator import config
    from generator.commands.validate import config_root

    root = config_root(spec.resolve().parent)
    if root is None:
        return []
    folder = config.load(root).profiles_dir
    return [folder] if folder else []


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
    from generator.loader import load_single

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
    from generator.report import print_problems

    print_problems(problems, fmt)


# -- render -------------------------------------------------------------------------------------------------


def render_all(
    releases: Sequence[Release], out_dir: Path, wired: RenderWiring | None = None
) -> tuple[dict[str, bytes], list[str]]:
    """Every release's files and the roots the writer owns; with `wired` (out_dir is a config repo's output
    folder), the Argo CD / Flux wiring rollgen.yaml asks for too (generator/wiring.py)."""
    from generator.pipeline import app_root, render_files

    files: dict[str, bytes] = {}
    roots = []
    for release in releases:
        deployed, states = with_states(out_dir, release)
        files.update(render_files(deployed, states))
        roots.append(app_root(release))
        if wired is not None:
            files.update(wired.release_files(deployed))
            roots.extend(wired.release_roots(release.name))
    if wired is not None:
        files.update(wired.repo_files())
        roots.extend(wired.repo_roots(release.name for release in releases))
    return files, roots


def with_states(out_dir: Path, release: Release) -> tuple[Release, dict[str, EnvState]]:
    """The release and the states to render it with.

    Without any state file, every environment at its initial state (the spec's image, fully promoted).
    Once `rollgen release` has deployed some environments, exactly those, at their committed states: the
    tree is then byte for byte what the progression commands wrote, so `render --check` agrees with them.
    """
    from generator.pipeline import committed_states, read_states

    committed = committed_states(out_dir, release)
    if not committed:
        return release, read_states(out_dir, release)
    deployed = tuple(env for env in release.environments if env.name in committed)
    return replace(release, environments=deployed), committed


# -- write or check -----------------------------------------------------------------------------------------


def _write(out_dir: Path, files: dict[str, bytes], roots: list[str], fmt: str) -> int:
    from generator.writer import write_tree

    result = write_tree(out_dir, files, roots)
    summary = _summary(roots, result.written, result.unchanged, result.removed)
    if fmt == "json":
        print(json.dumps({"out": str(out_dir), "apps": summary}, indent=2))
    else:
        for app in summary:
            print(
                f"{app['root']}: {len(app['written'])} written, {app['unchanged']} unchanged, "
                f"{len(app['removed'])} removed"
            )
    return EXIT_OK


def _summary(
    roots: Sequence[str], written: Sequence[str], unchanged: Sequence[str], removed: Sequence[str]
) -> list[dict[str, Any]]:
    from generator.writer import owning_root

    apps: dict[str, dict[str, Any]] = {root: {"root": root, "written": [], "unchanged": 0, "removed": []} for root in roots}
    for kind, paths in (("written", written), ("removed", removed)):
        for path in paths:
            apps[owning_root(path, apps) or ""][kind].append(path)
    for path in unchanged:
        apps[owning_root(path, apps) or ""]["unchanged"] += 1
    return list(apps.values())


def _check(out_dir: Path, files: dict[str, bytes], roots: list[str], fmt: str) -> int:
    from generator.writer import check_tree

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
