"""Files rollgen wrote, told apart on disk by the header emit.py puts first: only those may be overwritten,
pruned or reported as rollgen's (the writer, the wiring's mode switch, clash and dirty-tree checks)."""

from __future__ import annotations

from pathlib import Path

from generator.render.emit import HEADER_PREFIX, is_generated

HEADER_LEN = len(HEADER_PREFIX.encode())  # the bytes to read to tell: is_generated needs no more


def starts_generated(path: Path) -> bool:
    """True when the file at path begins with rollgen's header (an unreadable file does not)."""
    try:
        with path.open("rb") as fh:
            return is_generated(fh.read(HEADER_LEN))
    except OSError:
        return False
