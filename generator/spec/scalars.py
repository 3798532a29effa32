"""YAML 1.2 scalars, resolved as ruamel.yaml resolves them: the types of the plain (untagged) scalars LibYAML
hands the loader (spec/loader.py), and explicitly tagged ones (`!!int 3`) checked against their tag.

PyYAML's own resolver follows YAML 1.1 (`on: yes` is {True: True}, `012` is ten); ruamel.yaml's 1.2 rules keep
`yes`/`on` strings and read `012` as twelve, and tests/spec/test_loader.py holds the data to ruamel.yaml's on every
example. Timestamps stay strings. Most of a spec's numbers are plain digits, answered without the patterns.
"""

from __future__ import annotations

import math
import re
from typing import Any

_TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = (_TAG + t for t in ("str", "int", "float", "bool", "null"))
MAP, SEQ = _TAG + "map", _TAG + "seq"
PLAIN = "rollgen:plain"  # an untagged plain scalar: resolved by resolve_plain below

# ruamel.yaml's YAML 1.2 implicit types (ruamel/yaml/resolver.py), timestamps left as strings. Kept as text and
# matched through re's own cache: compiled on first use only, as most specs' numbers are plain digits (below).
INT_RE = r"[-+]?(?:0b[01_]+|0o?[0-7_]+|[0-9_]+|0x[0-9a-fA-F_]+)\Z"
FLOAT_RE = (
    r"[-+]?(?:[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[0-9][0-9_]*[eE][-+]?[0-9]+|\.[0-9_]+(?:[eE][-+][0-9]+)?)\Z"
)
# Every character either pattern can match: a scalar with any other (`30s`, `.inf`, `1.2.3-rc`) is neither; nor is
# one without a digit or `_` (`.`, `-`), as every branch of both needs one.
_NUMBER_CHARS = frozenset("-+0123456789_.boxabcdefABCDEF")
_NUMBER_NEEDS = frozenset("0123456789_")
SPECIAL_FLOATS = {
    ".inf": math.inf, ".Inf": math.inf, ".INF": math.inf,
    "+.inf": math.inf, "+.Inf": math.inf, "+.INF": math.inf,
    "-.inf": -math.inf, "-.Inf": -math.inf, "-.INF": -math.inf,
    ".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan,
}  # fmt: skip
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_NUMERIC_START = frozenset("-+.0123456789")


def resolve_plain(value: str) -> Any:
    first = value[:1]
    if first in _NUMERIC_START:
        return resolve_number(value)
    if value in NULLS:
        return None
    return _BOOLS.get(value, value)


def resolve_number(value: str) -> Any:
    # The shapes almost every spec's numbers and durations have, answered without the patterns (each costs
    # ~1 M instructions to compile): ASCII digits alone are what INT_RE's `[0-9_]+` matches; digits, a point
    # and maybe more digits (`0.5`) what FLOAT_RE's first branch matches and INT_RE cannot; a character no
    # pattern can match leaves a special float or the text. tests/spec/test_loader.py holds this equal to the patterns.
    if value.isdigit() and value.isascii():
        return to_int(value)
    whole, point, fraction = value.partition(".")
    if point and whole.isdigit() and whole.isascii() and (fraction.isdigit() or not fraction) and fraction.isascii():
        return float(value)
    if not _NUMBER_CHARS.issuperset(value) or _NUMBER_NEEDS.isdisjoint(value):
        return SPECIAL_FLOATS.get(value, value)
    if re.match(INT_RE, value) and value.strip("-+_"):
        return to_int(value)
    if value in SPECIAL_FLOATS:
        return SPECIAL_FLOATS[value]
    if re.match(FLOAT_RE, value):
        try:
            return float(value.replace("_", ""))
        except ValueError:  # `._`, `-._`: the pattern's shape, but no digit: text, as YAML 1.2 reads it
            return value
    return value


def to_int(value: str) -> int | str:
    digits = value.replace("_", "")
    sign = -1 if digits.startswith("-") else 1
    digits = digits.lstrip("-+")
    if not digits:
        return value
    base = {"0b": 2, "0x": 16, "0o": 8}.get(digits[:2], 10)
    if base != 10:
        digits = digits[2:]
    try:  # base 10 reads `012` as twelve: YAML 1.2 has no C-style octal
        return sign * int(digits, base)
    except ValueError:
        return value


BAD = object()  # an explicitly tagged scalar whose text does not fit its tag
TAGGED_TYPES: dict[str, type] = {INT: int, FLOAT: float, BOOL: bool}


def explicit(tag: str, value: str) -> Any:
    if tag == STR:
        return value
    if tag == NULL:
        return None if value in NULLS else BAD
    parsed = resolve_plain(value)
    if tag == FLOAT and type(parsed) is int:
        return float(parsed)
    return parsed if type(parsed) is TAGGED_TYPES.get(tag) else BAD


def short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


def describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {int: "an integer", float: "a number"}.get(type(value), "a " + type(value).__name__)
