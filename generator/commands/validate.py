"""`rollgen validate PATH...`: every problem in every spec, located; writes nothing.

This is the pre-commit hook's path, run on every commit: it imports the loader, the schema check and the
reporter, and nothing that renders or touches git (`python -X importtime -m generator validate ...`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator import spec
from generator.discovery import find_specs
from generator.errors import EXIT_OK, EXIT_USER, InvalidInput, Problem
from generator.loader import load_single
from generator.report import format_json, format_text, summary


def run(args: argparse.Namespace) -> int:
    paths, problems = find_specs(list(args.paths))
    for path in paths:
        problems.extend(check_file(path))
    if args.format == "json":
        sys.stdout.write(format_json(problems, len(paths)))
    else:
        sys.stdout.write(format_text(problems))
    print(summary(len(paths), len(set(problems))), file=sys.stderr)
    return EXIT_USER if problems else EXIT_OK


def check_file(path: Path) -> list[Problem]:
    try:
        return spec.check_document(load_single(path))
    except InvalidInput as exc:
        return exc.problems
