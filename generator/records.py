"""`dataclass`, `field` and `replace` for rollgen's records, without the dataclasses module's start-up cost.

The standard decorator writes each class's methods as source text and compiles it (about 1 ms a class), and
importing dataclasses pulls in inspect, ast, dis and tokenize (about 5 ms): together more than half of what
`rollgen validate` may spend above Python's own start (issue 16 item 4). This module gives the same classes for
the subset rollgen uses (`frozen`, `eq`, `repr`, `__post_init__`; `field(default=, default_factory=, compare=,
repr=)`; fields inherited from a record base) with methods that are closures over the field list, built in
microseconds.

Type checkers see the standard module (the names are re-exported from it under TYPE_CHECKING), so mypy checks
records exactly as dataclasses: frozen fields, constructor arguments, `replace`'s keywords. At run time the
records behave as the dataclasses they replace: same constructor signatures and defaults, same equality (same
class, fields with compare=True, in order), same hash (frozen ones: the tuple of compared fields), same repr,
and assigning to or deleting a field of a frozen record raises FrozenInstanceError (an AttributeError).
`replace` also accepts standard dataclass instances, so either kind can be passed to it; and the standard
module's own functions (dataclasses.replace, fields, asdict, is_dataclass) accept records: a record class
answers `__dataclass_fields__` with the standard Field objects, made (and dataclasses imported) on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dataclasses import FrozenInstanceError as FrozenInstanceError
    from dataclasses import dataclass as dataclass
    from dataclasses import field as field
    from dataclasses import replace as replace
else:
    import operator

    _FIELDS = "__record_fields__"

    class FrozenInstanceError(AttributeError):
        """Assigning to or deleting a field of a frozen record (as dataclasses.FrozenInstanceError)."""

    class _Missing:
        def __repr__(self) -> str:
            return "MISSING"

    MISSING = _Missing()

    class Field:
        __slots__ = ("name", "default", "default_factory", "compare", "repr")

        def __init__(self, default: Any, default_factory: Any, compare: bool, repr: bool) -> None:
            if default is not MISSING and default_factory is not MISSING:
                raise ValueError("cannot specify both default and default_factory")
            self.name = ""
            self.default = default
            self.default_factory = default_factory
            self.compare = compare
            self.repr = repr

    def field(*, default: Any = MISSING, default_factory: Any = MISSING, compare: bool = True,
              repr: bool = True) -> Any:
        return Field(default, default_factory, compare, repr)

    def dataclass(cls: Any = None, /, *, frozen: bool = False, eq: bool = True, repr: bool = True) -> Any:
        def wrap(klass: Any) -> Any:
            return _process(klass, frozen, eq, repr)

        return wrap if cls is None else wrap(cls)

    def replace(obj: Any, /, **changes: Any) -> Any:
        fields = getattr(type(obj), _FIELDS, None)
        if fields is None:
            import dataclasses  # a standard dataclass: its own replace

            return dataclasses.replace(obj, **changes)
        for f in fields:
            if f.name not in changes:
                changes[f.name] = obj.__dict__[f.name]
        return type(obj)(**changes)

    class _StandardFields:
        """A record class's `__dataclass_fields__`, for the dataclasses module's functions: built on first use.

        The standard Fields come from a standard dataclass made with the same fields (make_dataclass: public,
        and the decorator marks each Field as a field); nothing in rollgen asks for them, only code that applies
        dataclasses' own functions."""

        def __get__(self, instance: Any, owner: Any) -> dict[str, Any]:
            import dataclasses

            annotations: dict[str, Any] = {}
            for klass in reversed(owner.__mro__):
                annotations.update(klass.__dict__.get("__annotations__", {}))
            specs = []
            for f in getattr(owner, _FIELDS):
                kwargs: dict[str, Any] = {"compare": f.compare, "repr": f.repr}
                if f.default is not MISSING:
                    kwargs["default"] = f.default
                if f.default_factory is not MISSING:
                    kwargs["default_factory"] = f.default_factory
                specs.append((f.name, annotations.get(f.name, Any), dataclasses.field(**kwargs)))
            made = dataclasses.make_dataclass(owner.__name__, specs)
            return {f.name: f for f in dataclasses.fields(made)}

    def _is_classvar(annotation: Any) -> bool:
        text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
        return text.startswith(("ClassVar", "typing.ClassVar"))

    def _own_fields(cls: Any) -> list[Field]:
        out = []
        for name, annotation in cls.__dict__.get("__annotations__", {}).items():
            if _is_classvar(annotation):
                continue
            value = cls.__dict__.get(name, MISSING)
            f = value if isinstance(value, Field) else Field(value, MISSING, True, True)
            f.name = name
            if isinstance(f.default, (list, dict, set)):
                raise ValueError(f"mutable default {type(f.default)} for field {name} is not allowed: "
                                 "use default_factory")
            if isinstance(value, Field):
                if f.default is MISSING:
                    delattr(cls, name)
                else:
                    setattr(cls, name, f.default)  # as dataclasses: the class attribute is the default
            out.append(f)
        return out

    def _process(cls: Any, frozen: bool, eq: bool, repr_: bool) -> Any:
        fields: dict[str, Field] = {}
        for base in reversed(cls.__mro__[1:]):
            for f in getattr(base, _FIELDS, ()):
                fields[f.name] = f
        for f in _own_fields(cls):
            fields[f.name] = f
        ordered = tuple(fields.values())
        seen_default = False
        for f in ordered:
            has_default = f.default is not MISSING or f.default_factory is not MISSING
            if seen_default and not has_default:
                raise TypeError(f"non-default argument {f.name!r} follows default argument")
            seen_default = seen_default or has_default
        setattr(cls, _FIELDS, ordered)
        cls.__dataclass_fields__ = _StandardFields()
        cls.__match_args__ = tuple(f.name for f in ordered)
        _set(cls, "__init__", _init(cls.__qualname__, ordered, hasattr(cls, "__post_init__")))
        if repr_:
            _set(cls, "__repr__", _repr(tuple(f.name for f in ordered if f.repr)))
        if eq:
            compared = tuple(f.name for f in ordered if f.compare)
            _set(cls, "__eq__", _eq(compared))
            if "__hash__" not in cls.__dict__:
                cls.__hash__ = _hash(compared) if frozen else None
        if frozen:
            names = frozenset(fields)
            _set(cls, "__setattr__", _frozen_setattr(cls, names))
            _set(cls, "__delattr__", _frozen_delattr(cls, names))
        return cls

    def _set(cls: Any, name: str, function: Any) -> None:
        if name in cls.__dict__:
            if name in ("__setattr__", "__delattr__"):
                raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}")
            return  # as dataclasses: a method the class defines itself is kept
        function.__qualname__ = f"{cls.__qualname__}.{name}"
        setattr(cls, name, function)

    def _init(owner: str, fields: tuple[Field, ...], post_init: bool) -> Any:
        names = tuple(f.name for f in fields)
        defaults = {f.name: f.default for f in fields if f.default is not MISSING}
        factories = {f.name: f.default_factory for f in fields if f.default_factory is not MISSING}
        count = len(names)

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            if len(args) > count:
                raise TypeError(f"{owner}.__init__() takes {count + 1} positional arguments but "
                                f"{len(args) + 1} were given")
            values = self.__dict__
            for name, value in zip(names, args):
                values[name] = value
            for name in names[len(args):]:
                if name in kwargs:
                    values[name] = kwargs.pop(name)
                elif name in defaults:
                    values[name] = defaults[name]
                elif name in factories:
                    values[name] = factories[name]()
                else:
                    raise TypeError(f"{owner}.__init__() missing 1 required positional argument: {name!r}")
            for name in kwargs:
                if name in names:
                    raise TypeError(f"{owner}.__init__() got multiple values for argument {name!r}")
                raise TypeError(f"{owner}.__init__() got an unexpected keyword argument {name!r}")
            if post_init:
                self.__post_init__()

        return __init__

    def _repr(names: tuple[str, ...]) -> Any:
        active: set[int] = set()  # as dataclasses (reprlib.recursive_repr): a record inside itself is "..."

        def __repr__(self: Any) -> str:
            key = id(self)
            if key in active:
                return "..."
            active.add(key)
            try:
                values = self.__dict__
                shown = ", ".join(f"{name}={values[name]!r}" for name in names)
            finally:
                active.discard(key)
            return f"{type(self).__qualname__}({shown})"

        return __repr__

    def _values(names: tuple[str, ...]) -> Any:
        """The tuple of the named fields of an instance, built in C (attrgetter) as equality and hashing need."""
        if len(names) == 1:
            one = operator.attrgetter(names[0])
            return lambda self: (one(self),)
        return operator.attrgetter(*names) if names else lambda self: ()

    def _eq(names: tuple[str, ...]) -> Any:
        values = _values(names)

        def __eq__(self: Any, other: Any) -> Any:
            if other.__class__ is not self.__class__:
                return NotImplemented
            return values(self) == values(other)

        return __eq__

    def _hash(names: tuple[str, ...]) -> Any:
        values = _values(names)

        def __hash__(self: Any) -> int:
            return hash(values(self))

        return __hash__

    def _frozen_setattr(cls: Any, names: frozenset[str]) -> Any:
        def __setattr__(self: Any, name: str, value: Any) -> None:
            if type(self) is cls or name in names:
                raise FrozenInstanceError(f"cannot assign to field {name!r}")
            object.__setattr__(self, name, value)

        return __setattr__

    def _frozen_delattr(cls: Any, names: frozenset[str]) -> Any:
        def __delattr__(self: Any, name: str) -> None:
            if type(self) is cls or name in names:
                raise FrozenInstanceError(f"cannot delete field {name!r}")
            object.__delattr__(self, name)

        return __delattr__
