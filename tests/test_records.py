"""generator.records against the standard dataclasses: the same classes declared with each behave alike.

Each case declares one class twice, once with dataclasses and once with generator.records, and holds what rollgen
relies on equal: constructor (positional, keyword, defaults, factories, missing and extra arguments), equality
(compare=False fields, another class), hash, repr, frozen assignment and deletion, __post_init__, inheritance,
explicit methods kept, `replace`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from generator import records
from tests.imports import imported

ROOT = Path(__file__).resolve().parents[1]


def _declare(module: Any, body: str) -> Any:
    """The class `C` of `body`, declared with `module`'s dataclass and field."""
    namespace: dict[str, Any] = {"dataclass": module.dataclass, "field": module.field}
    exec(f"from __future__ import annotations\n{body}", namespace)  # noqa: S102 - the test's own source
    return namespace["C"]


def _both(body: str) -> tuple[Any, Any]:
    """`C` declared with dataclasses and with generator.records."""
    return _declare(dataclasses, body), _declare(records, body)


FROZEN = """
@dataclass(frozen=True)
class C:
    a: int
    b: str | None
    c: tuple[int, ...] = ()
    d: list[int] = field(default_factory=list)
    e: int = field(default=0, compare=False)
    f: str = field(default="x", repr=False)
"""


def _outcome(call: Any) -> Any:
    try:
        return ("ok", call())
    except Exception as exc:  # noqa: BLE001 - the kind of failure is what is compared
        return ("raised", type(exc).__mro__[1] if type(exc).__name__ == "FrozenInstanceError" else type(exc))


@pytest.mark.parametrize(
    "args, kwargs",
    [
        ((1, "b"), {}),
        ((1,), {"b": None}),
        ((), {"a": 1, "b": "b", "c": (1, 2), "d": [3], "e": 5, "f": "y"}),
        ((1, "b", (1,), [2], 3, "z"), {}),
        ((1,), {}),  # missing b
        ((1, "b", (), [], 0, "x", "extra"), {}),  # one too many
        ((1, "b"), {"g": 1}),  # unknown keyword
        ((1, "b"), {"a": 2}),  # a twice
    ],
)
def test_constructor(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    std, ours = _both(FROZEN)
    a, b = _outcome(lambda: std(*args, **kwargs)), _outcome(lambda: ours(*args, **kwargs))
    assert a[0] == b[0]
    if a[0] == "ok":
        assert repr(a[1]) == repr(b[1])
        assert vars(a[1]) == vars(b[1])
    else:
        assert a[1] is b[1]


def test_equality_hash_repr_and_frozen() -> None:
    std, ours = _both(FROZEN)
    for cls in (std, ours):
        one, same, other_e, other_a = cls(1, "b", e=1), cls(1, "b", e=2), cls(1, "b", e=9), cls(2, "b")
        assert one == same == other_e and one != other_a
        assert one != (1, "b") and (one == object()) is False
        assert one.d is not cls(1, "b").d  # a new list each time
    s, o = std(1, "b", (2,)), ours(1, "b", (2,))
    assert repr(s) == repr(o) == "C(a=1, b='b', c=(2,), d=[], e=0)"
    assert std.__match_args__ == ours.__match_args__
    hashable_s, hashable_o = std(1, "b", (2,), d=None), ours(1, "b", (2,), d=None)  # type: ignore[arg-type]
    assert hash(hashable_s) == hash(hashable_o) == hash((1, "b", (2,), None, "x"))
    with pytest.raises(TypeError):
        hash(o)  # a list field: unhashable, as the dataclass
    for obj in (s, o):
        with pytest.raises(AttributeError) as assigned:
            obj.a = 2
        assert type(assigned.value).__name__ == "FrozenInstanceError"
        with pytest.raises(AttributeError):
            del obj.a
        with pytest.raises(AttributeError):
            obj.new = 1
    assert ours(1, "b") != std(1, "b")  # another class


def test_mutable_class_defaults_and_methods() -> None:
    body = """
@dataclass
class C:
    a: int
    b: int = 2

    def __repr__(self) -> str:
        return "mine"
"""
    std, ours = _both(body)
    for cls in (std, ours):
        obj = cls(1)
        obj.a = 5
        assert obj.a == 5 and repr(obj) == "mine" and cls.b == 2
        assert cls.__hash__ is None
    for module in (dataclasses, records):
        with pytest.raises(ValueError):
            _declare(module, "@dataclass\nclass C:\n    a: list = []\n")
        with pytest.raises(TypeError):
            _declare(module, "@dataclass\nclass C:\n    a: int = 1\n    b: int\n")


def test_post_init_inheritance_and_replace() -> None:
    body = """
@dataclass(frozen=True)
class Base:
    a: int
    b: int = 0

@dataclass(frozen=True)
class C(Base):
    c: str = "c"
    twice: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "twice", self.a * 2)
"""
    std, ours = _both(body)
    for cls, replace in ((std, dataclasses.replace), (ours, records.replace)):
        obj = cls(3, c="z")
        assert (obj.a, obj.b, obj.c, obj.twice) == (3, 0, "z", 6)
        moved = replace(obj, a=4)
        assert (moved.a, moved.b, moved.c, moved.twice) == (4, 0, "z", 8) and type(moved) is cls
        assert repr(obj).startswith("C(a=3, b=0, c='z'")
    assert records.replace(std(1), b=2) == std(1, b=2)  # a standard dataclass goes to dataclasses.replace


def test_a_record_inside_itself_repr() -> None:
    _, ours = _both("@dataclass\nclass C:\n    a: object = None\n")
    obj = ours()
    obj.a = obj
    assert repr(obj) == "C(a=...)"


def test_the_validate_and_render_paths_do_not_import_dataclasses(tmp_path: Path) -> None:
    """Nor make a typing.ForwardRef: each compiles its string, and the first compile() of a process costs ~5% of a
    cold validate (a NamedTuple in the class syntax under `from __future__ import annotations` makes one a field)."""
    script = (
        "import typing\n"
        "made = []\n"
        "init = typing.ForwardRef.__init__\n"
        "typing.ForwardRef.__init__ = lambda self, arg, *a, **k: (made.append(arg), init(self, arg, *a, **k))[1]\n"
        "from generator.cli import main\n"
        "main(['validate', 'examples/hello-rollouts-canary.yaml'])\n"
        f"main(['render', 'examples/hello-rollouts-canary.yaml', '--out', {str(tmp_path / 'out')!r}])\n"
        "print(made)\n"
    )
    out, loaded = imported(script)  # beyond the interpreter's own start-up (tests/imports.py)
    assert (sorted({'dataclasses', 'inspect'} & loaded), out.splitlines()[-1]) == ([], "[]")


def test_the_standard_functions_accept_records() -> None:
    """Code written for dataclasses (tests, a caller's `dataclasses.replace`) works on records unchanged."""
    std, ours = _both(FROZEN)
    s, o = std(1, "b", (2,), e=4), ours(1, "b", (2,), e=4)
    assert dataclasses.is_dataclass(o) and dataclasses.is_dataclass(ours)
    assert [(f.name, f.compare, f.repr) for f in dataclasses.fields(o)] == [
        (f.name, f.compare, f.repr) for f in dataclasses.fields(s)]
    assert dataclasses.asdict(o) == dataclasses.asdict(s)
    moved = dataclasses.replace(o, a=5)
    assert type(moved) is ours and repr(moved) == repr(dataclasses.replace(s, a=5))


def test_the_render_path_imports_yaml_with_deferred_patterns_and_check_writes_nothing_heavy(tmp_path: Path) -> None:
    """`rollgen render` reaches yaml through the emitter, not the loader: it too must import it through
    generator.yaml_import (a render that imported yaml first paid its reader's regular expressions, ~70 M
    instructions), and `render --check` of an up-to-date folder outside a git repository (the hook's case)
    loads none of what only writing or the render cache needs (tempfile, hashlib; shutil comes with argparse)."""
    out = tmp_path / "out"
    probe = (
        "import sys\n"
        "from generator.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "import yaml.reader\n"
        "print(code, type(yaml.reader.Reader.NON_PRINTABLE).__name__)\n"
    )
    spec = "examples/hello-rollouts-canary.yaml"
    first, _ = imported(probe, "render", spec, "--out", str(out))
    assert first.splitlines()[-1] == "0 DeferredPattern"
    check, loaded = imported(probe, "render", spec, "--out", str(out), "--check")  # beyond start-up (tests/imports.py)
    assert (check.splitlines()[-1], sorted({'tempfile', 'hashlib'} & loaded)) == ("0 DeferredPattern", [])
