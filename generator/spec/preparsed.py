"""The shipped JSON schemas parsed ahead of time, so that a cold `rollgen validate` neither imports json nor parses
release.schema.json (~100 KB) on every start: ~8 M of the ~120 M instructions it spent above `python -c pass`
(bench/README.md, "Validate cold start, second pass").

preparsed.marshal holds, for each schema below, the file's exact bytes and what json.loads made of them, in
marshal's format (read by the interpreter itself, nothing to import). A schema is taken from it only when the
file's bytes now are exactly the bytes it was parsed from, compared in full: an edited schema (a checkout, an
installed wheel, a hand edit) is never answered by a stale copy, it is parsed from JSON as before. A copy this
interpreter cannot read (another marshal version, a damaged file) is ignored the same way.

After editing a schema, `python -m generator.spec.preparsed` writes the file again (only a developer runs it;
rollgen never writes it); tests/test_schema.py fails until then, since the copy would never be used.
"""

from __future__ import annotations

import functools
import marshal
from pathlib import Path

from typing import Any

DATA = Path(__file__).with_name("preparsed.marshal")
SCHEMAS = ("release.schema.json", "profile.schema.json", "config.schema.json")


def parsed(name: str, source: bytes) -> dict[str, Any] | None:
    """json.loads of the schema `name` whose file holds `source`, if the copy was parsed from exactly these
    bytes; None otherwise (the caller parses the file)."""
    entry = _entries().get(name)
    if not isinstance(entry, tuple) or len(entry) != 2 or entry[0] != source or not isinstance(entry[1], dict):
        return None
    schema: dict[str, Any] = entry[1]
    return schema


@functools.cache
def _entries() -> dict[str, Any]:
    try:
        entries = marshal.loads(DATA.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    return entries if isinstance(entries, dict) else {}


def build() -> bytes:
    """What preparsed.marshal must hold for the schemas as they are now."""
    import json

    from generator import resources

    entries = {}
    for name in SCHEMAS:
        source = resources.schema_path(name).read_bytes()
        entries[name] = (source, json.loads(source.decode("utf-8")))
    return marshal.dumps(entries)


if __name__ == "__main__":
    DATA.write_bytes(build())
    print(f"wrote {DATA}")
