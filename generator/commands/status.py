"""`rollgen status [--repo DIR] [--format json]`: phase, step, weight, images and since of every release and
environment, read from the state files only (one small file per environment, never the history)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from generator.errors import EXIT_OK, EXIT_USER, RollgenError
from generator.model import EnvState
from generator.state import Found, scan, to_dict

COLUMNS = ("RELEASE", "ENV", "PHASE", "STEP", "WEIGHT", "STABLE", "CANARY", "SINCE")


def run(args: argparse.Namespace) -> int:
    out_dir = _output_dir(args.repo)
    found = list(scan(out_dir))
    orphans = _orphans(args.repo, out_dir, found)
    if args.format == "json":
        rows = [{**_as_json(f), **({"orphaned": orphans[key]} if (key := (f.release, f.env)) in orphans else {})}
                for f in found]
        print(json.dumps({"environments": rows}, indent=2))
    else:
        _print_table(found)
        for note in orphans.values():
            print(f"rollgen: {note}", file=sys.stderr)
    return EXIT_USER if any(f.state is None for f in found) else EXIT_OK


def _output_dir(repo: Path) -> Path:
    """Where apps/ lives: rollgen.yaml's `output`, relative to the folder given (git is not needed)."""
    from generator.config import load

    if not repo.is_dir():
        raise RollgenError(f"{repo} is not a folder; --repo names the config repository")
    root = repo if (repo / "rollgen.yaml").is_file() else _toplevel(repo)
    return load(root).output_dir


def _orphans(repo: Path, out_dir: Path, found: Sequence[Found]) -> dict[tuple[str, str], str]:
    """Deployed environments their spec no longer lists (generator/retire.py), flagged, never hidden."""
    from generator.retire import orphan_notes

    root = repo if (repo / "rollgen.yaml").is_file() else _toplevel(repo)
    return orphan_notes(root, out_dir, {f.release for f in found})


def _toplevel(path: Path) -> Path:
    for folder in (path.resolve(), *path.resolve().parents):
        if (folder / "rollgen.yaml").is_file() or (folder / ".git").exists():
            return folder
    return path


def _as_json(found: Found) -> dict[str, Any]:
    out: dict[str, Any] = {"release": found.release, "environment": found.env}
    if found.state is None:
        out["error"] = found.error
    else:
        out.update(to_dict(found.state))
    return out


def _row(found: Found) -> tuple[str, ...]:
    state = found.state
    if state is None:
        return (found.release, found.env, "unreadable", "-", "-", found.error, "-", "-")
    canary = state.canary_image.ref if state.canary_image else "-"
    step = _step(state) if state.phase in ("progressing", "promoting") else "-"
    weight = f"{state.weight}%" if state.phase in ("progressing", "promoting") else "0%"
    return (found.release, found.env, state.phase, step, weight, state.stable_image.ref, canary, state.since or "-")


def _step(state: EnvState) -> str:
    """`k/n`; plain `k` for a state file written before the step count was kept."""
    return f"{state.step}/{state.steps}" if state.steps else str(state.step)


def _print_table(found: Sequence[Found]) -> None:
    if not found:
        print("no releases with progression state here (apps/*/overlays/*/rollgen-state.yaml)", file=sys.stderr)
        return
    rows = [COLUMNS, *(_row(f) for f in found)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
