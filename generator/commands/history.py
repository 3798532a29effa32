"""`rollgen history NAME [--env E] [--repo DIR] [--format json]`: what rollgen did, from the commit trailers."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Sequence
from typing import Any

from generator.errors import EXIT_OK
from generator.gitops import LogEntry, Repo
from generator.messages import parse_trailers


def run(args: argparse.Namespace) -> int:
    repo = Repo.discover(args.repo)
    greps = [f"^Rollgen-Release: {re.escape(args.name)}$"]
    if args.env:
        greps.append(f"^Rollgen-Environment: {re.escape(args.env)}$")
    entries = [_entry(e) for e in repo.log(greps)]
    entries = [e for e in entries if _matches(e, args.name, args.env)]
    if args.format == "json":
        print(json.dumps({"release": args.name, "environment": args.env, "commits": entries}, indent=2))
    else:
        _print(entries, args.name, args.env)
    return EXIT_OK


def _entry(log: LogEntry) -> dict[str, Any]:
    trailers = parse_trailers(log.message)
    return {
        "commit": log.commit,
        "date": log.date,
        "author": log.author,
        "subject": log.subject,
        "release": trailers.get("Rollgen-Release"),
        "environment": trailers.get("Rollgen-Environment"),
        "action": trailers.get("Rollgen-Action"),
        "step": trailers.get("Rollgen-Step"),
        "weight": _int(trailers.get("Rollgen-Weight")),
        "image": trailers.get("Rollgen-Image"),
        "gate": trailers.get("Rollgen-Gate"),  # only on check and gate-abort commits
    }


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _matches(entry: dict[str, Any], name: str, env: str | None) -> bool:
    """git's grep looks at every line; the trailers must say it (a body quoting them does not count)."""
    return bool(entry["release"] == name and (env is None or entry["environment"] == env))


def _print(entries: Sequence[dict[str, Any]], name: str, env: str | None) -> None:
    if not entries:
        print(f"no rollgen commits for {name}{'/' + env if env else ''}")
        return
    for e in entries:
        print(_line(e))


def _line(e: dict[str, Any]) -> str:
    """One commit a line; a failed gate's metrics at the end, where a commit without them has nothing."""
    weight = "-" if e["weight"] is None else f"{e['weight']}%"
    line = (
        f"{e['commit'][:12]}  {e['date']}  {e['environment'] or '-':<10} {e['action'] or '-':<8} "
        f"{e['step'] or '-':>5} {weight:>5}  {e['image'] or '-'}"
    )
    return f"{line}  gate: {e['gate']}" if e["gate"] else line
