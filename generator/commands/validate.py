"""`rollgen validate PATH...`: every problem in every spec, located; writes nothing.

This is the pre-commit hook's path, run on every commit: it imports the loader, the schema check and the
reporter, and nothing that renders or touches git (`python -X importtime -m generator validate ...`).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.spec import checks
from generator.spec import release as spec
from generator.spec.discovery import find_specs
from generator.spec.findings import Data, Located
from generator.errors import EXIT_OK, EXIT_USER, InvalidInput, Problem
from generator.spec.loader import load_single
from generator.spec.config import config_root
from generator.spec.report import print_problems

if TYPE_CHECKING:
    import argparse

    from generator.spec.profiles import Profile



def run(args: argparse.Namespace) -> int:
    repo_profiles.cache_clear()  # the cache lives for one run: a long-lived caller (tests, a hook) sees edits
    paths, problems = find_specs(list(args.paths))
    import gc

    # The comparison across files holds every spec's nodes to the end, and each automatic collection walked all
    # of them again: 4x the specs took 6.4x the time. Checking makes no reference cycles worth collecting (the
    # peak memory is the same without the collector), so it sleeps through the checks and wakes for the report.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        valid = []
        for path in paths:
            found = check_file(path)
            problems.extend(found)
            if not found:
                valid.append(path)
        problems.extend(across_files(valid))
    finally:
        if was_enabled:
            gc.enable()
    problems.extend(across_folders(args.paths, valid))
    print_problems(problems, args.format, files=len(paths))
    return EXIT_USER if problems else EXIT_OK


def check_file(path: Path) -> list[Problem]:
    try:
        doc = load_single(path)
        problems = spec.check_schema_and_meaning(doc, repo_profiles(path.resolve().parent), lazy_generated_objects)
    except InvalidInput as exc:
        return exc.problems
    if not problems:
        print_warnings(doc)
    return problems


def lazy_generated_objects(data: Data, profiles: Mapping[str, Profile]) -> Mapping[str, Sequence[Mapping[str, Any]]]:
    """generator.render.loading's, imported only for a spec with patches: a spec without any never imports a
    renderer (loading.check_document does the same check with it imported up front)."""
    from generator.render import loading

    return loading.generated_objects(data, profiles)


def print_warnings(doc: Located) -> None:
    """Risks in a valid spec (checks.WARNINGS), on stderr: they never change the exit code or the JSON report."""
    for warning in checks.warnings(doc.data, doc):
        print(warning.format(), file=sys.stderr)


def across_files(paths: list[Path]) -> list[Problem]:
    """What no file shows alone: two specs of one name, two releases routing one host and path, among the
    specs of one config repository (the folder of a rollgen.yaml). Specs outside any, such as a folder of
    alternative examples of one release, are alternatives rather than neighbours, and are not compared."""
    repos: dict[Path, list[Path]] = {}
    for path in paths:
        root = config_root(path.resolve().parent)
        if root is not None:
            repos.setdefault(root, []).append(path)
    problems: list[Problem] = []
    for group in repos.values():
        if len(group) > 1:
            problems.extend(_across(group))
    return problems


def across_folders(arguments: Sequence[Path], paths: list[Path]) -> list[Problem]:
    """Two specs of one name in a folder given on the command line, outside any config repository (inside one,
    across_files compares them): `rollgen render` of that folder would refuse them, so validate says so too.
    Files named one by one outside a repository stay alternatives, not compared."""
    folders = [folder.resolve() for folder in arguments if folder.is_dir()]
    if not folders:
        return []
    problems: list[Problem] = []
    for folder in folders:
        group = [p for p in paths if folder in p.resolve().parents and config_root(p.resolve().parent) is None]
        if len(group) > 1:
            from generator.render.loading import duplicate_names

            loaded = [(p, spec.build_release(load_single(p), repo_profiles(p.resolve().parent))) for p in group]
            problems.extend(duplicate_names(loaded))
    return list(dict.fromkeys(problems))  # a folder given twice, or inside another, reports once


def _across(paths: list[Path]) -> list[Problem]:
    from generator.gitops.clashes import Loaded, cross_problems

    loaded = []
    for path in paths:
        doc = load_single(path)
        loaded.append(Loaded(doc, spec.build_release(doc, repo_profiles(path.resolve().parent))))
    return cross_problems(loaded)


@functools.cache
def repo_profiles(folder: Path) -> Mapping[str, Profile] | None:
    """The profiles of the config repo holding `folder` when its rollgen.yaml adds some; None: built-ins.

    Cached by folder so that 500 specs in one folder read its profiles once; `run` clears it first, so the
    cache never outlives the command that filled it (nothing a run does writes profiles or rollgen.yaml)."""
    root = config_root(folder)
    if root is None:
        return None
    from generator.spec import config
    from generator.spec.profiles import load_profiles

    settings = config.load(root)
    if settings.profiles_dir is None:
        return None

    return load_profiles([settings.profiles_dir])


