"""Files rollgen wrote, told apart on disk by the header emit.py puts first: only those may be overwritten,
pruned or reported as rollgen's (the writer, the wiring's mode switch, clash and dirty-tree checks)."""

from __future__ import annotations

from pathlib import Path

from generator.render.emit import HEADER_PREFIX, HEADER_SUFFIX, is_generated

HEADER_LEN = len(HEADER_PREFIX.encode())  # the bytes to read to tell: is_generated needs no more


def starts_generated(path: Path) -> bool:
    """True when the file at path begins with rollgen's header (an unreadable file does not)."""
    try:
        with path.open("rb") as fh:
            return is_generated(fh.read(HEADER_LEN))
    except OSError:
        return False


def header_source(path: Path) -> str | None:
    """The spec path the header of the file at `path` names (emit.header), as written; None when the file is
    unreadable or does not start with the header. The one reader of that path (find_spec, retire)."""
    try:
        with path.open(encoding="utf-8") as fh:
            first = fh.readline().rstrip("\n")
    except (OSError, UnicodeDecodeError):
        return None
    if not (first.startswith(HEADER_PREFIX) and first.endswith(HEADER_SUFFIX)):
        return None
    return first[len(HEADER_PREFIX) : -len(HEADER_SUFFIX)]
