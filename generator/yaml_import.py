"""PyYAML, imported with its regular expressions compiled when first used instead of at import.

Importing yaml compiles ten patterns for its pure-Python reader, resolver and constructor. One of them, the
reader's NON_PRINTABLE class (every code point up to U+10FFFF), costs Python's regex compiler about 57 million
instructions, a quarter of what a cold `rollgen validate` of one spec spent above `python -c pass` (issue 16
item 4; bench/README.md). rollgen parses with LibYAML and resolves plain scalars itself (spec/scalars.py), so
most runs never use those patterns at all.

This is the one module that imports yaml (ruff's banned-api, pyproject.toml, refuses `import yaml` anywhere else
in the package): the others take `yaml`, and the names below, from here. The first import of this module imports
yaml with each pattern its own modules compile replaced by a stand-in that compiles it, exactly as written, on
first use and then answers from the compiled pattern. Only patterns compiled from yaml's own modules during that
import are deferred; when yaml was already imported (by a caller of rollgen's, a test) nothing is. What PyYAML
does is unchanged, only when it compiles.

SafeLoader and SafeDumper are LibYAML's (yaml.CSafeLoader, yaml.CSafeDumper) where PyYAML was built with it, else
the pure-Python ones: slower, same results (tests/test_without_libyaml.py).
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
    # sys._getframe is CPython's (underscored, documented); the public way, inspect.currentframe, is the same
    # call behind an import of inspect that costs more than this module saves.
    caller = sys._getframe(1).f_globals.get("__name__", "")
    if caller == "yaml" or caller.startswith("yaml."):
        return DeferredPattern(pattern, flags)
    return _compile(pattern, flags)


if "yaml" not in sys.modules:
    re.compile = _deferring
try:
    import yaml
    from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
finally:
    re.compile = _compile

try:
    from yaml import CSafeDumper as SafeDumper
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # PyYAML built without LibYAML
    from yaml import SafeDumper, SafeLoader  # type: ignore[assignment]

__all__ = ["MappingNode", "Node", "SafeDumper", "SafeLoader", "ScalarNode", "SequenceNode", "yaml"]
