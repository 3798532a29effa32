"""`rollgen report --out FILE [--repo DIR] [--now T]`: one self-contained HTML page of every release and
environment (generator/report: what it shows; report/html.py: the page)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator.errors import EXIT_OK, RollgenError


def run(args: argparse.Namespace) -> int:
    from generator.report import collect
    from generator.report.html import html_page

    report = collect(args.repo, _now(args.now))
    text = html_page(report).encode("utf-8")
    _write(args.out, text)
    releases = len({view.release for view in report.environments})
    envs = len(report.environments)
    print(f"wrote {args.out}: {releases} release{'' if releases == 1 else 's'}, "
          f"{envs} environment{'' if envs == 1 else 's'}, "
          f"{len(text) // 1024} KiB", file=sys.stderr)
    return EXIT_OK


def _now(text: str | None) -> str:
    from datetime import datetime, timezone

    from generator.clock import format_time, parse_rfc3339
    from generator.errors import UsageError

    try:
        return format_time(parse_rfc3339(text) if text else datetime.now(timezone.utc))
    except ValueError as exc:
        raise UsageError(f"--now: {exc}") from None


def _write(path: Path, data: bytes) -> None:
    from generator.atomic import replace_file

    try:
        replace_file(path, data)
    except OSError as exc:
        raise RollgenError(f"--out {path}: cannot write it: {exc.strerror or exc}") from None
