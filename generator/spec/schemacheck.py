"""A yes/no JSON Schema check compiled into closures, so that a valid document never imports jsonschema.

Importing jsonschema (with referencing, rpds, attrs, jsonschema_specifications and its format checkers) costs
55-85 ms of a pre-commit hook's run. Most documents a hook sees are valid, and for those a yes is all that is
needed; spec/schema.py asks jsonschema only about a document this rejects, for the errors it explains and locates.

The answers must be jsonschema's: `Draft202012Validator(schema).is_valid(data)` without a format checker, on
the data generator.spec.loader builds (dict, list, str, int, float, bool, None). So the same type rules (1.0 is an
integer, True is not a number), Python's `re.search` for `pattern`, code points for lengths, and jsonschema's
equality for `const` and `enum` (1 == 1.0, True != 1). Only the keywords our schemas use are implemented: a
schema with any other keyword, a `$ref` outside the document, or a recursive `$ref` raises Unsupported, and the
caller then uses jsonschema for everything. tests/spec/test_schemacheck.py holds the answers equal to jsonschema's
on mutations of every example, invalid example and profile.

Why not a library (measured in bench/README.md): fastjsonschema 2.22 implements drafts 4 to 7, so it ignores
`dependentRequired` (a canary with headerValue and no header passes), and takes ~150 ms to import and compile
our schema; jsonschema-rs knows 2020-12 but takes ~50 ms to import and ~20 ms to build the validator.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Check = Callable[[Any], bool]
TYPED_GROUPS = ("object", "string", "array", "number")

# Keywords that never change the answer (errorMessage is ours; jsonschema ignores keywords it does not know).
ANNOTATIONS = frozenset(
    ("$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples", "errorMessage",
     "deprecated", "readOnly", "writeOnly")
)  # fmt: skip


class Unsupported(Exception):
    """The schema uses something this checker does not implement: validate with jsonschema instead."""


def compile_schema(schema: Mapping[str, Any], lazy_refs: bool = False) -> Check:
    """A function telling whether a document is valid against `schema`; raises Unsupported (see above).

    With lazy_refs, each `$ref` target is compiled when a document first reaches it: the Kubernetes container
    and pod definitions are most of the release schema, and most specs never reach most of them. The check may
    then raise Unsupported when it first reaches a part it cannot compile; the caller falls back to jsonschema.
    """
    return _Compiler(schema, lazy_refs).compile(schema, "#")


# --- types and equality, as jsonschema's Draft 2020-12 type checker and _utils.equal define them --------------


def is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def is_integer(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    return isinstance(x, int) or (isinstance(x, float) and x.is_integer())


TYPES: dict[str, Check] = {
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "string": lambda x: isinstance(x, str),
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
    "number": is_number,
    "integer": is_integer,
}


def equal(one: Any, two: Any) -> bool:
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(equal(a, b) for a, b in zip(one, two))
    if isinstance(one, dict) and isinstance(two, dict):
        return len(one) == len(two) and all(key in two and equal(value, two[key]) for key, value in one.items())
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one == two
    return bool(one == two)


# --- the compiler -----------------------------------------------------------------------------------------------


class _Compiler:
    def __init__(self, root: Mapping[str, Any], lazy_refs: bool = False) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}
        self.compiling: set[str] = set()
        self.lazy_refs = lazy_refs

    def compile(self, schema: Any, where: str) -> Check:
        if schema is True or schema is False:
            return _always(schema)
        if not isinstance(schema, Mapping):
            raise Unsupported(f"{where}: a schema must be a mapping or a boolean")
        unknown = sorted(set(schema) - ANNOTATIONS - KEYWORDS)
        if unknown:
            raise Unsupported(f"{where}: keyword {unknown[0]!r}")
        if "$id" in schema and where != "#":
            raise Unsupported(f"{where}: $id below the root changes what $ref means")
        groups: dict[str, list[Check]] = {"object": [], "string": [], "array": [], "number": [], "any": []}
        for build in BUILDERS:
            for group, check in build(self, schema, where):
                groups[group].append(check)
        type_ok = _type(schema["type"], where) if "type" in schema else None
        if type_ok is None and len(groups["any"]) == 1 and not any(groups[g] for g in TYPED_GROUPS):
            return groups["any"][0]  # a bare $ref (titles beside it) is its target's check
        return _combine(type_ok, groups)

    def ref(self, ref: str, where: str) -> Check:
        if ref in self.refs:
            return self.refs[ref]
        if self.lazy_refs:
            return self._lazy(ref, where)
        if ref in self.compiling:
            raise Unsupported(f"{where}: recursive $ref {ref}")
        self.compiling.add(ref)
        self.refs[ref] = check = self.compile(self.resolve(ref, where), ref)
        self.compiling.discard(ref)
        return check

    def _lazy(self, ref: str, where: str) -> Check:
        """A check that compiles its target on first use (a recursive reference works: it is compiled once)."""
        target = self.resolve(ref, where)  # a missing target is refused now, as eagerly
        compiled: list[Check] = []

        def check(x: Any) -> bool:
            if not compiled:
                compiled.append(self.compile(target, ref))
            return compiled[0](x)

        self.refs[ref] = check
        return check

    def resolve(self, ref: str, where: str) -> Any:
        if not ref.startswith("#/") or "%" in ref:
            raise Unsupported(f"{where}: $ref {ref!r} (only local JSON pointers are supported)")
        node: Any = self.root
        for part in ref[2:].split("/"):
            key = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or key not in node:
                raise Unsupported(f"{where}: $ref {ref!r} points at nothing")
            node = node[key]
        return node


def _always(answer: bool) -> Check:
    return lambda x: answer


def _type(value: str | Sequence[str], where: str) -> Check:
    names = [value] if isinstance(value, str) else list(value)
    if any(name not in TYPES for name in names):
        raise Unsupported(f"{where}: type {value!r}")
    if len(names) == 1:
        return TYPES[names[0]]
    checks = [TYPES[name] for name in names]
    return lambda x: any(check(x) for check in checks)


def _combine(type_ok: Check | None, groups: dict[str, list[Check]]) -> Check:
    """One check for one schema object: the type, then only the keywords that apply to the value's type."""
    objects, strings, arrays = tuple(groups["object"]), tuple(groups["string"]), tuple(groups["array"])
    numbers, general = tuple(groups["number"]), tuple(groups["any"])

    def check(x: Any) -> bool:
        if type_ok is not None and not type_ok(x):
            return False
        if isinstance(x, dict):
            applicable = objects
        elif isinstance(x, str):
            applicable = strings
        elif isinstance(x, list):
            applicable = arrays
        elif is_number(x):
            applicable = numbers
        else:
            applicable = ()
        for each in applicable:
            if not each(x):
                return False
        for each in general:
            if not each(x):
                return False
        return True

    return check


# --- keywords: each builder yields (the type it applies to, a check of a value of that type) -------------------

Built = list[tuple[str, Check]]


def _object_keywords(c: _Compiler, schema: Mapping[str, Any], where: str) -> Built:
    out: Built = []
    if "properties" in schema or "additionalProperties" in schema:
        out.append(("object", _properties(c, schema, where)))
    if "required" in schema:
        required = tuple(schema["required"])
        out.append(("object", lambda x: all(key in x for key in required)))
    out += _sizes(schema, "object", "minProperties", "maxProperties")
    if "dependentRequired" in schema:
        dependent = tuple((key, tuple(needed)) for key, needed in schema["dependentRequired"].items())
        out.append(("object", lambda x: all(n in x for key, needed in dependent if key in x for n in needed)))
    if "propertyNames" in schema:
        name_ok = c.compile(schema["propertyNames"], f"{where}/propertyNames")
        out.append(("object", lambda x: all(name_ok(key) for key in x)))
    return out


def _properties(c: _Compiler, schema: Mapping[str, Any], where: str) -> Check:
    """properties and additionalProperties together: one pass over the document's keys."""
    if c.lazy_refs:
        return _lazy_properties(c, schema, where)
    known = {key: c.compile(sub, f"{where}/properties/{key}") for key, sub in schema.get("properties", {}).items()}
    extra = c.compile(schema["additionalProperties"], f"{where}/additionalProperties") if (
        "additionalProperties" in schema
    ) else None

    def check(x: dict[str, Any]) -> bool:
        for key, value in x.items():
            sub = known.get(key, extra)
            if sub is not None and not sub(value):
                return False
        return True

    return check


def _lazy_properties(c: _Compiler, schema: Mapping[str, Any], where: str) -> Check:
    """The same, each property's schema compiled when a document first holds the property, as with lazy_refs a
    `$ref` is: a spec sets a few of the dozens of fields the release schema allows, and compiling the others cost
    a cold `rollgen validate` ~2 M instructions. The same answers; Unsupported may come at that first use."""
    properties: Mapping[str, Any] = schema.get("properties", {})
    known: dict[str, Check] = {}
    extra = c.compile(schema["additionalProperties"], f"{where}/additionalProperties") if (
        "additionalProperties" in schema
    ) else None

    def check(x: dict[str, Any]) -> bool:
        for key, value in x.items():
            sub = known.get(key)
            if sub is None:
                if key in properties:
                    sub = known[key] = c.compile(properties[key], f"{where}/properties/{key}")
                elif extra is None:
                    continue
                else:
                    sub = extra
            if not sub(value):
                return False
        return True

    return check


def _string_keywords(c: _Compiler, schema: Mapping[str, Any], where: str) -> Built:
    out = _sizes(schema, "string", "minLength", "maxLength")
    if "pattern" in schema:
        out.append(("string", _pattern(schema["pattern"])))
    return out


def _pattern(text: str) -> Check:
    compiled: list[re.Pattern[str]] = []  # on first use: most specs never reach most of the patterns

    def check(x: str) -> bool:
        if not compiled:
            compiled.append(re.compile(text))
        return compiled[0].search(x) is not None

    return check


def _array_keywords(c: _Compiler, schema: Mapping[str, Any], where: str) -> Built:
    out: Built = []
    if "items" in schema:
        item_ok = c.compile(schema["items"], f"{where}/items")
        out.append(("array", lambda x: all(item_ok(item) for item in x)))
    out += _sizes(schema, "array", "minItems", "maxItems")
    return out


def _sizes(schema: Mapping[str, Any], group: str, least: str, most: str) -> Built:
    """minProperties/maxProperties, minLength/maxLength, minItems/maxItems: bounds on len() (code points)."""
    out: Built = []
    if least in schema:
        low = schema[least]
        out.append((group, lambda x: len(x) >= low))
    if most in schema:
        high = schema[most]
        out.append((group, lambda x: len(x) <= high))
    return out


def _number_keywords(c: _Compiler, schema: Mapping[str, Any], where: str) -> Built:
    # Written as jsonschema does (`instance < minimum` is the error), which also decides NaN the same way.
    out: Built = []
    if "minimum" in schema:
        low = schema["minimum"]
        out.append(("number", lambda x: not x < low))
    if "maximum" in schema:
        high = schema["maximum"]
        out.append(("number", lambda x: not x > high))
    return out


def _general_keywords(c: _Compiler, schema: Mapping[str, Any], where: str) -> Built:
    out: Built = []
    if "const" in schema:
        const = schema["const"]
        out.append(("any", lambda x: equal(x, const)))
    if "enum" in schema:
        out.append(("any", _enum(schema["enum"])))
    if "$ref" in schema:
        out.append(("any", c.ref(str(schema["$ref"]), where)))
    for keyword, combine in (("allOf", all), ("anyOf", any)):
        if keyword in schema:
            subs = [c.compile(sub, f"{where}/{keyword}/{i}") for i, sub in enumerate(schema[keyword])]
            out.append(("any", _combined(combine, subs)))
    if "not" in schema:
        negated = c.compile(schema["not"], f"{where}/not")
        out.append(("any", lambda x: not negated(x)))
    return out


def _enum(options: Sequence[Any]) -> Check:
    if all(isinstance(option, str) for option in options):
        strings = frozenset(options)  # a string equals only an equal string
        return lambda x: isinstance(x, str) and x in strings
    return lambda x: any(equal(x, option) for option in options)


def _combined(combine: Callable[[Any], bool], subs: Sequence[Check]) -> Check:
    return lambda x: combine(sub(x) for sub in subs)


BUILDERS: tuple[Callable[[_Compiler, Mapping[str, Any], str], Built], ...] = (
    _object_keywords,
    _string_keywords,
    _array_keywords,
    _number_keywords,
    _general_keywords,
)
KEYWORDS = frozenset(
    ("type", "properties", "additionalProperties", "required", "minProperties", "maxProperties",
     "dependentRequired", "propertyNames", "minLength", "maxLength", "pattern", "items", "minItems", "maxItems",
     "minimum", "maximum", "const", "enum", "$ref", "allOf", "anyOf", "not")
)  # fmt: skip
