"""`rollgen render PATH... --out DIR [--check]`: the generated tree for every spec, written or compared.

Every spec is loaded before anything is rendered: one invalid spec means nothing is written. States come from
the output tree itself, so rendering a config repo mid-canary reproduces the committed weights.

Into a config repo's output folder (rollgen.yaml names DIR as its output: what `rollgen init` makes and the
render-check hook runs) only released environments are rendered, exactly as the committing commands write them;
a release nobody has released yet has no files. Anywhere else every environment is rendered
(render/pipeline.py states the rule; gitops/tree.py renders the releases one at a time).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.errors import EXIT_OK, EXIT_USER, Problem, RollgenError

if TYPE_CHECKING:
    import argparse


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
    from generator.gitops.tree import render_stream
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


def _check_out(out: Path) -> None:
    """--out is a folder, or does not exist yet (it is created): a file there is a mistake in the command."""
    for folder in (out, *out.parents):
        if folder.exists():
            if not folder.is_dir():
                raise RollgenError(f"--out {out}: {folder} is a file, not a folder; name the folder apps/<name>/ "
                                   "is written under")
            return


def _report(problems: list[Problem], fmt: str) -> None:
    from generator.spec.report import print_problems

    print_problems(problems, fmt)


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
