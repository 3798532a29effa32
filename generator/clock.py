"""`--now`: the one parser of the time a command runs at.

Exactly RFC 3339's date-time (`2024-05-01T12:00:00Z`, `2024-05-01T14:00:00.5+02:00`): a date alone or a time
without an offset is ambiguous, and a scheduled job that meant local time would step at the wrong hour, so
both are refused rather than read as UTC. The year must lie in YEARS: a time near datetime's limits
(0001, 9999) passes parsing but overflows the first time a pause is added to it, and once committed as a
step's start it would break every later `advance`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

YEARS = (1970, 2999)
_RFC3339 = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt](?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d{1,9}))?"
    r"(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<hours>\d{2}):(?P<minutes>\d{2}))",
    re.ASCII,  # \d is 0-9 only: RFC 3339 has no other digits
)
EXAMPLE = "2024-05-01T12:00:00Z"


def parse_rfc3339(text: str) -> datetime:
    """The moment in UTC; ValueError saying what is wrong otherwise."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError(f"{_short(text)} is not an RFC 3339 date-time with an offset, such as {EXAMPLE}")
    fraction = (match["fraction"] or "").ljust(6, "0")[:6]
    try:
        local = datetime.fromisoformat(f"{match['date']}T{match['time']}.{fraction}")
    except ValueError as exc:
        raise ValueError(f"{_short(text)} is not a valid date-time: {exc}") from None
    offset = timedelta(0)
    if not match["utc"]:
        hours, minutes = int(match["hours"]), int(match["minutes"])
        if hours > 23 or minutes > 59:
            raise ValueError(f"{_short(text)} has an offset out of range (at most ±23:59)")
        offset = timedelta(hours=hours, minutes=minutes) * (-1 if match["sign"] == "-" else 1)
    if not YEARS[0] <= local.year <= YEARS[1]:
        raise ValueError(f"{_short(text)} is outside the years {YEARS[0]} to {YEARS[1]} rollgen accepts")
    return local.replace(tzinfo=timezone(offset)).astimezone(timezone.utc)


def _short(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC to the second: what `since` holds in the state file."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """RFC 3339 (`2024-05-01T12:00:00Z`, offsets allowed); a time without an offset is UTC."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)
