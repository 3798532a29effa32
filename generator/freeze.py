"""Change freezes: rollgen.yaml's `freeze:` windows (CONTRACT §1c).

Inside a window no release starts and no step is taken (gitops/workflow.decide: the command exits 0, commits
nothing and says which window and until when); abort, a failed gate's check and its abort, and rollback always
work. Two kinds of window:

- absolute: `{from: RFC 3339, to: RFC 3339}`, from inclusive, to exclusive;
- weekly: `{weekly: {from: "Fri 16:00", to: "Mon 08:00"}, timeZone: Europe/Berlin}`: wall-clock times in the IANA
  zone (default UTC), so a window that says 08:00 ends at 08:00 local time on both sides of a DST change. `to`
  before `from` in the week wraps over the week's end (Fri 16:00 to Mon 08:00); over midnight within the week
  is the same rule (Fri 22:00 to Sat 02:00).

Zone data comes from the standard library's zoneinfo (the system's, else the `tzdata` package). Base layer: the
config loader parses and checks the windows, the workflow and `rollgen status` ask `active`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from generator.records import dataclass

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WEEK = 7 * 24 * 60  # minutes


@dataclass(frozen=True)
class Window:
    index: int  # its place in rollgen.yaml's freeze list
    reason: str
    start: datetime | None = None  # absolute windows: UTC
    end: datetime | None = None
    weekly: tuple[int, int] | None = None  # minutes into the week (Mon 00:00 = 0), wall-clock, from and to
    zone: str = "UTC"
    text: str = ""  # how rollgen.yaml says it, for messages

    def describe(self) -> str:
        why = f"{self.reason}: " if self.reason else ""
        return f"{why}freeze[{self.index}] ({self.text})"


@dataclass(frozen=True)
class Freeze:
    """A window in force at a moment, and when it ends (UTC)."""

    window: Window
    until: datetime

    def message(self) -> str:
        from generator.clock import format_time

        return f"frozen: {self.window.describe()} until {format_time(self.until)}"

    def as_json(self) -> dict[str, Any]:
        from generator.clock import format_time

        return {"window": self.window.index, "reason": self.window.reason, "text": self.window.text,
                "until": format_time(self.until)}


def parse_windows(entries: Sequence[Mapping[str, Any]]) -> tuple[Window, ...]:
    """rollgen.yaml's schema-valid, `problems`-free `freeze:` list as windows."""
    return tuple(_window(index, entry) for index, entry in enumerate(entries))


def _window(index: int, entry: Mapping[str, Any]) -> Window:
    from generator.clock import parse_rfc3339

    reason = str(entry.get("reason", ""))
    if "weekly" in entry:
        weekly = entry["weekly"]
        zone = str(entry.get("timeZone", "UTC"))
        text = f"weekly {weekly['from']} to {weekly['to']} {zone}"
        return Window(index, reason, weekly=(_minute(weekly["from"]), _minute(weekly["to"])), zone=zone, text=text)
    start, end = parse_rfc3339(str(entry["from"])), parse_rfc3339(str(entry["to"]))
    return Window(index, reason, start=start, end=end, text=f"{entry['from']} to {entry['to']}")


def _minute(text: str) -> int:
    """'Fri 16:00' -> minutes since Monday 00:00."""
    day, clock = text.split()
    hours, minutes = clock.split(":")
    return DAYS.index(day) * 1440 + int(hours) * 60 + int(minutes)


def problems(entries: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """What the schema cannot say about the `freeze:` list: ((path), message) each."""
    from generator.clock import parse_rfc3339

    found: list[tuple[tuple[str | int, ...], str]] = []
    for index, entry in enumerate(entries if isinstance(entries, list) else ()):
        if not isinstance(entry, Mapping):
            continue
        at: tuple[str | int, ...] = ("freeze", index)
        if "timeZone" in entry and _zone(str(entry["timeZone"])) is None:
            found.append(((*at, "timeZone"), f"{entry['timeZone']!r} is not an IANA time zone this system knows "
                          "(such as Europe/Berlin or UTC; zone data comes from the system or the tzdata package)"))
        if "weekly" in entry and isinstance(entry["weekly"], Mapping):
            weekly = entry["weekly"]
            if weekly.get("from") == weekly.get("to"):
                found.append(((*at, "weekly"), "from and to are the same moment of the week: the window would be "
                              "empty (or the whole week); say when it ends"))
        elif "from" in entry and "to" in entry:
            try:
                start, end = parse_rfc3339(str(entry["from"])), parse_rfc3339(str(entry["to"]))
            except ValueError as exc:
                found.append((at, f"{exc}"))
                continue
            if end <= start:
                found.append(((*at, "to"), "ends before it starts: `to` must be later than `from`"))
    return found


def _zone(name: str) -> Any:
    """The ZoneInfo for an IANA name, None when unknown (or not a name: no paths)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if name == "UTC":
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def active_freeze(windows: Iterable[Window], now: datetime) -> Freeze | None:
    """The window in force at `now` (the first in rollgen.yaml's order; when several are, the one that ends
    last is named, so its `until` is when rollgen acts again), or None."""
    found = [f for f in (_in_force(w, now) for w in windows) if f is not None]
    if not found:
        return None
    return max(found, key=lambda f: (f.until, -f.window.index))


def _in_force(window: Window, now: datetime) -> Freeze | None:
    if window.start is not None and window.end is not None:
        return Freeze(window, window.end) if window.start <= now < window.end else None
    assert window.weekly is not None
    zone = _zone(window.zone) or timezone.utc
    local = now.astimezone(zone).replace(tzinfo=None)  # wall-clock time there
    minute = local.weekday() * 1440 + local.hour * 60 + local.minute
    start, end = window.weekly
    inside = start <= minute < end if start < end else (minute >= start or minute < end)
    if not inside:
        return None
    # The end as wall-clock time, then made aware: DST between now and then moves it in UTC, not locally.
    floor = local.replace(second=0, microsecond=0)
    ends = floor + timedelta(minutes=(end - minute) % WEEK or WEEK)
    return Freeze(window, ends.replace(tzinfo=zone).astimezone(timezone.utc))
