"""PyYAML, imported with its regular expressions compiled when first used instead of at import.

Importing yaml compiles ten patterns for its pure-Python reader, resolver and constructor. One of them, the
reader's NON_PRINTABLE class (every code point up to U+10FFFF), costs Python's regex compiler about 57 million
instructions, a quarter of what a cold `rollgen validate` of one spec spent above `python -c pass` (issue 16
item 4; bench/README.md). rollgen parses with LibYAML and resolves plain scalars itself (spec/loader.py), so
most runs never use those patterns at all.

Importing this module before yaml (spec/loader.py and the render modules import it first) imports yaml with each
pattern its own modules compile replaced by a stand-in that compiles it, exactly as written, on first use and
then answers from the compiled pattern. Only patterns compiled from yaml's own modules during that import are
deferred; when yaml is already imported this does nothing. What PyYAML does is unchanged, only when it compiles.
"""

from __future__ import annotations

import re
import sys
from typing import Any

_compile = re.compile


class DeferredPattern:
    """Stands in for `re.compile(pattern, flags)` until an attribute (search, match, pattern...) is asked for."""

    def __init__(self, pattern: Any, flags: int) -> None:
        self._source = (pattern, flags)

    def __getattr__(self, name: str) -> Any:
        value = getattr(_compile(*self._source), name)
        setattr(self, name, value)  # the next call goes straight to the compiled pattern's method
        return value


def _deferring(pattern: Any, flags: int = 0) -> Any:
    caller = sys._getframe(1).f_globals.get("__name__", "")
    if caller == "yaml" or caller.startswith("yaml."):
        return DeferredPattern(pattern, flags)
    return _compile(pattern, flags)


if "yaml" not in sys.modules:
    re.compile = _deferring
    try:
        import yaml  # noqa: F401 - imported here, with the patterns deferred
    finally:
        re.compile = _compile
