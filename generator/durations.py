"""Durations as users write them (`30s`, `5m`, `1h`, `1h30m`) and as each engine wants them."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+)(h|m|s)")
_WHOLE = re.compile(r"^(?:\d+h)?(?:\d+m)?(?:\d+s)?$")
_UNIT = {"h": 3600, "m": 60, "s": 1}


def parse(text: str) -> int:
    """Seconds in `text`; ValueError when it is not a duration such as 30s, 5m, 1h or 1h30m."""
    if not text or not _WHOLE.match(text):
        raise ValueError(f"not a duration (use 30s, 5m, 1h or 1h30m): {text!r}")
    return sum(int(n) * _UNIT[unit] for n, unit in _PART.findall(text))


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
