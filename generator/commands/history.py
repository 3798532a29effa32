"""`rollgen history NAME [--env E] [--repo DIR] [--format json]`: what rollgen did, from the commit trailers.

Times are those of `rollgen status`: the action's time (the `since` its commit wrote into the environment's
state file, which is `--now` when one was given), RFC 3339 UTC with a `Z`. A commit without a state file
(an older or hand-made one) shows its commit time, in the same format.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Sequence
from typing import Any

from generator.errors import EXIT_OK
from generator.gitops.repo import LogEntry, Repo
from generator.gitops.messages import parse_trailers


def run(args: argparse.Namespace) -> int:
    repo = Repo.discover(args.repo)
    greps = [f"^Rollgen-Release: {re.escape(args.name)}$"]
    if args.env:
        greps.append(f"^Rollgen-Environment: {re.escape(args.env)}$")
    entries = [_entry(e) for e in repo.log(greps)]
    entries = [e for e in entries if _matches(e, args.name, args.env)]
    _action_times(repo, entries)
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


def _action_times(repo: Repo, entries: list[dict[str, Any]]) -> None:
    """Each entry's date becomes its action's time, read from the state files of all commits at once."""
    from generator.spec.config import load
    from generator.render.state import parse_state, relpath

    prefix = load(repo.root).output_prefix()
    wanted = [(e, f"{e['commit']}:{prefix}{relpath(e['release'], e['environment'])}") for e in entries
              if e["environment"] and "\n" not in e["environment"]]
    blobs = repo.read_blobs([spec for _, spec in wanted]) if wanted else []
    for (entry, _), blob in zip(wanted, blobs):
        try:
            since = parse_state(blob).since if blob is not None else ""
        except ValueError:
            since = ""
        entry["date"] = since or _utc(entry["date"])
    for entry in entries:
        if not entry["date"].endswith("Z"):
            entry["date"] = _utc(entry["date"])


def _utc(iso: str) -> str:
    from datetime import datetime, timezone

    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    print(_line(HEADER))
    for e in entries:
        print(_line(e))


# The column titles, as an entry: WEIGHT is the traffic share of the version the action ships (as in status).
HEADER: dict[str, Any] = {"commit": "COMMIT", "date": "TIME", "environment": "ENV", "action": "ACTION",
                          "step": "STEP", "weight": "WEIGHT", "image": "IMAGE", "gate": None}


def _line(e: dict[str, Any]) -> str:
    """One commit a line; a failed gate's metrics at the end, where a commit without them has nothing."""
    weight = "-" if e["weight"] is None else e["weight"] if isinstance(e["weight"], str) else f"{e['weight']}%"
    line = (
        f"{e['commit'][:12]:<12}  {e['date']:<20}  {e['environment'] or '-':<10} {e['action'] or '-':<8} "
        f"{e['step'] or '-':>5} {weight:>6}  {e['image'] or '-'}"
    )
    return f"{line}  gate: {e['gate']}" if e["gate"] else line
