"""typing's names for the modules on `rollgen validate`'s path, without importing typing when the program runs.

`import typing` costs ~12 M instructions of a cold `rollgen validate` (about a tenth of what it spends above
`python -c pass`; bench/README.md, "Validate cold start, second pass"). Under `from __future__ import annotations`
no annotation is evaluated at run time, so those modules need typing's names only for the type checker, plus in
a few module-level aliases (`Data = dict[str, Any]`), NamedTuple bases and `cast` calls.

Type checkers see typing's own objects: the names are re-exported from typing under TYPE_CHECKING (mypy and
pyright treat any `if TYPE_CHECKING:` as true, whatever module the name comes from). At run time:
- `Any`, `Literal`, `Union` are one inert stand-in, subscriptable (`Literal["a", "b"]` gives it back), so the
  aliases built from them still exist as names to import; nothing in rollgen inspects an alias at run time;
- `Protocol` is `object`: a protocol class is then a plain base class nothing instantiates;
- `cast` returns its value, as typing's does;
- `NamedTuple("Name", [(field, type), ...])` is `collections.namedtuple("Name", fields)`, which is what typing
  builds too (typing adds only `__annotations__`).
tests/test_schemacheck.py holds that a valid `rollgen validate` imports no typing; tests/test_records.py that
these stand-ins behave so. Other paths (render, advance) still import typing through their own modules.
"""

from __future__ import annotations

import sys
from collections import namedtuple

__all__ = ["TYPE_CHECKING", "Any", "Literal", "NamedTuple", "Protocol", "Union", "cast"]

TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Any, Literal, NamedTuple, Protocol, Union, cast
else:

    class _Hint:
        """What Any, Literal and Union are at run time: only ever subscripted in aliases, never inspected."""

        __slots__ = ()

        def __getitem__(self, _args):
            return self

        def __repr__(self):
            return "generator.hints.<stand-in for typing>"

    Any = Literal = Union = _Hint()
    Protocol = object

    def cast(_type, value):
        return value

    def NamedTuple(typename, fields):  # typing's name
        module = sys._getframe(1).f_globals.get("__name__", "__main__")
        return namedtuple(typename, [name for name, _type in fields], module=module)
