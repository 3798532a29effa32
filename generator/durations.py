"""Durations as users write them (`30s`, `5m`, `1h`, `1h30m`) and as each engine wants them."""

from __future__ import annotations

_UNIT = {"h": 3600, "m": 60, "s": 1}


def parse(text: str) -> int:
    """Seconds in `text`; ValueError when it is not a duration such as 30s, 5m, 1h or 1h30m."""
    parts = _parts(text) if text else None
    if parts is None:
        raise ValueError(f"not a duration (use 30s, 5m, 1h or 1h30m): {text!r}")
    return sum(int(n) * _UNIT[unit] for n, unit in parts)


def _parts(text: str) -> list[tuple[str, str]] | None:
    r"""The (digits, unit) parts of `text` as `re.match(r"^(?:\d+h)?(?:\d+m)?(?:\d+s)?$", text)` reads it (then
    `re.findall(r"(\d+)(h|m|s)", text)`), None where that does not match: written out, as compiling those two
    patterns cost ~1 M instructions of every cold `rollgen validate`. `\d` is any Unicode decimal digit, as
    str.isdecimal; `$` also matches before a final newline. tests/spec/test_schema.py holds it to the patterns."""
    rest = text.removesuffix("\n")
    parts = []
    for unit in "hms":
        number, found, after = rest.partition(unit)
        if found and number.isdecimal():
            parts.append((number, unit))
            rest = after
    return parts if not rest else None


def format_go(seconds: int) -> str:
    """Shortest exact form in whole units, as Argo Rollouts writes it: 90 -> "90s", 300 -> "5m", 3600 -> "1h"."""
    if seconds and seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds and seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def format_flagger(seconds: int) -> str:
    """Flagger accepts only `^[0-9]+(m|s)`: no hours."""
    if seconds and seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"
