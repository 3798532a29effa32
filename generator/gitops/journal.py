"""The crash journal: what a run is about to write, kept in the git dir (`.git/rollgen/pending-<release>.json`)
until its commit lands, so that the next run can tell a crash's leftovers (files exactly as the run meant to
write them) from a person's edits (anything else)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from generator.fingerprint import fingerprint


class Journal:
    """One release's journal file at `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, files: Mapping[str, bytes | None]) -> None:
        """files: repo-relative path -> the bytes about to be written, or None for a file about to go."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {rel: (_digest(body) if body is not None else None) for rel, body in sorted(files.items())}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=0))
        os.replace(tmp, self.path)

    def load(self) -> dict[str, str | None] | None:
        try:
            data: dict[str, str | None] = json.loads(self.path.read_text())
            return data
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)

    def explains(self, root: Path, rel: str) -> bool:
        """Whether the file at rel is exactly what the journalled run meant to leave there."""
        entries = self.load() or {}
        if rel not in entries:
            return False
        expected = entries[rel]
        try:
            data = (root / rel).read_bytes()
        except FileNotFoundError:
            return expected is None
        return expected is not None and expected in (_digest(data), _sha256(data))


def _digest(data: bytes) -> str:
    return fingerprint(data).hexdigest()


def _sha256(data: bytes) -> str:
    """How journals were written before generator/fingerprint.py: one a crashed older rollgen left still counts."""
    import hashlib

    return hashlib.sha256(data).hexdigest()
