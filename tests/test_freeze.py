"""Change freezes (rollgen.yaml `freeze:`, issue 24): windows crossing midnight, the week's end and a DST change,
to the second; through the CLI with real git: nothing starts or steps inside a window (exit 0, no commit, which
window and until when), abort and rollback still work, status shows the freeze, a bad zone is refused located."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from generator.clock import parse_rfc3339
from generator.freeze import Window, active_freeze, parse_windows
from tests.factories import CONFIG, V1, V2, ConfigRepo, make_config_repo
from tests.plan.test_order import FAN_OUT, spec


def utc(text: str) -> datetime:
    return parse_rfc3339(text)


def until(windows: tuple[Window, ...], now: str) -> str | None:
    found = active_freeze(windows, utc(now))
    return None if found is None else found.until.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_weekly_window_over_midnight() -> None:
    windows = parse_windows([{"weekly": {"from": "Fri 22:00", "to": "Sat 02:00"}, "reason": "batch"}])
    # 2026-12-04 is a Friday
    assert until(windows, "2026-12-04T21:59:59Z") is None
    assert until(windows, "2026-12-04T22:00:00Z") == "2026-12-05T02:00:00Z"
    assert until(windows, "2026-12-04T23:59:59Z") == "2026-12-05T02:00:00Z"
    assert until(windows, "2026-12-05T00:00:00Z") == "2026-12-05T02:00:00Z"
    assert until(windows, "2026-12-05T01:59:59Z") == "2026-12-05T02:00:00Z"
    assert until(windows, "2026-12-05T02:00:00Z") is None


def test_a_weekly_window_over_the_weeks_end_in_a_time_zone() -> None:
    windows = parse_windows([{"weekly": {"from": "Fri 16:00", "to": "Mon 08:00"}, "timeZone": "Europe/Berlin"}])
    # December: CET, UTC+1
    assert until(windows, "2026-12-04T14:59:59Z") is None
    assert until(windows, "2026-12-04T15:00:00Z") == "2026-12-07T07:00:00Z"
    assert until(windows, "2026-12-06T23:00:00Z") == "2026-12-07T07:00:00Z"  # Monday 00:00 local
    assert until(windows, "2026-12-07T06:59:59Z") == "2026-12-07T07:00:00Z"
    assert until(windows, "2026-12-07T07:00:00Z") is None


def test_a_weekly_window_across_a_dst_change_ends_at_its_local_time() -> None:
    """Berlin moves from CET (UTC+1) to CEST (UTC+2) at 2026-03-29 02:00 local: a window from Saturday 22:00 to
    Sunday 04:00 local starts at 21:00Z and ends at 02:00Z (not 03:00Z, as a fixed offset would have it)."""
    windows = parse_windows([{"weekly": {"from": "Sat 22:00", "to": "Sun 04:00"}, "timeZone": "Europe/Berlin"}])
    assert until(windows, "2026-03-28T20:59:59Z") is None
    assert until(windows, "2026-03-28T21:00:00Z") == "2026-03-29T02:00:00Z"
    assert until(windows, "2026-03-29T01:59:59Z") == "2026-03-29T02:00:00Z"
    assert until(windows, "2026-03-29T02:00:00Z") is None
    # and back in autumn (2026-10-25 03:00 CEST -> 02:00 CET): the window ends at 04:00 CET = 03:00Z
    assert until(windows, "2026-10-24T19:59:59Z") is None
    assert until(windows, "2026-10-24T20:00:00Z") == "2026-10-25T03:00:00Z"
    assert until(windows, "2026-10-25T02:59:59Z") == "2026-10-25T03:00:00Z"
    assert until(windows, "2026-10-25T03:00:00Z") is None


def test_an_absolute_window_and_the_later_end_of_two() -> None:
    windows = parse_windows([
        {"from": "2026-12-24T00:00:00Z", "to": "2026-12-27T00:00:00Z", "reason": "holidays"},
        {"weekly": {"from": "Sat 00:00", "to": "Tue 00:00"}},
    ])
    assert until(windows, "2026-12-23T23:59:59Z") is None
    assert until(windows, "2026-12-24T00:00:00Z") == "2026-12-27T00:00:00Z"
    assert until(windows, "2026-12-26T12:00:00Z") == "2026-12-29T00:00:00Z"  # Saturday: the weekly one ends later
    assert until(windows, "2026-12-29T00:00:00Z") is None


# -- through the CLI --------------------------------------------------------------------------------------------

FREEZE = """\
freeze:
  - {weekly: {from: "Fri 22:00", to: "Sat 02:00"}, timeZone: Europe/Berlin, reason: nightly batch}
"""
FRIDAY_LATE = "2026-12-04T22:30:00Z"  # Friday 23:30 in Berlin: inside
SATURDAY_END = "2026-12-05T01:00:00Z"  # Saturday 02:00 in Berlin: the window's end


@pytest.fixture
def repo(git_remote: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> ConfigRepo:
    return make_config_repo(git_remote[1], capsys, CONFIG + FREEZE)


def test_inside_a_freeze_nothing_starts_or_steps_but_abort_and_rollback_work(repo: ConfigRepo) -> None:
    repo.write_spec(spec(V1, FAN_OUT.replace(", after: staging, soak: 30m", "").replace(
        ", after: staging, soak: 1h", "")))
    before = repo.count()
    code, out, err = repo.release(now=FRIDAY_LATE)
    assert code == 0 and repo.count() == before, err
    assert ("hello/staging: frozen: nightly batch: freeze[0] (weekly Fri 22:00 to Sat 02:00 Europe/Berlin) until "
            "2026-12-05T01:00:00Z") in out
    code, out, _ = repo.release(now="2026-12-05T00:59:59Z")
    assert repo.count() == before and "frozen" in out
    code, out, err = repo.release(now=SATURDAY_END)
    assert code == 0 and repo.count() == before + 3, out + err
    # a canary in flight: no step in the next window, but abort works
    repo.write_spec(spec(V2, FAN_OUT.replace(", after: staging, soak: 30m", "").replace(
        ", after: staging, soak: 1h", "")), "v2")
    assert repo.release("--env", "staging", now="2026-12-05T02:00:00Z")[0] == 0
    friday = "2026-12-11T22:00:00Z"
    before = repo.count()
    code, out, _ = repo.act("advance", env="staging", now=friday)
    assert code == 0 and repo.count() == before and "frozen" in out
    code, out, _ = repo.rollgen("advance", "--all", "--now", friday)
    assert code == 0 and repo.count() == before and "hello/staging: holds: frozen" in out, out
    code, out, _ = repo.act("promote", env="staging", now=friday)
    assert code == 0 and repo.count() == before and "frozen" in out
    code, out, err = repo.act("abort", env="staging", now=friday)
    assert code == 0 and repo.count() == before + 1, err
    assert repo.trailers()["Rollgen-Action"] == "abort"
    # status shows the freeze, in text and JSON
    code, out, _ = repo.rollgen("status", "--now", friday)
    assert out.startswith("frozen: nightly batch: freeze[0]") and "until 2026-12-12T01:00:00Z" in out
    code, out, _ = repo.rollgen("status", "--format", "json", "--now", friday)
    assert json.loads(out)["freeze"] == {"window": 0, "reason": "nightly batch", "until": "2026-12-12T01:00:00Z",
                                         "text": "weekly Fri 22:00 to Sat 02:00 Europe/Berlin"}
    code, out, _ = repo.rollgen("status", "--format", "json", "--now", SATURDAY_END)
    assert "freeze" not in json.loads(out)


def test_rollback_works_inside_a_freeze(repo: ConfigRepo) -> None:
    envs = "    - {name: prod, namespace: prod}\n"
    repo.write_spec(spec(V1, envs))
    repo.release(now="2026-12-01T10:00:00Z")
    repo.write_spec(spec(V2, envs), "v2")
    repo.release(now="2026-12-01T11:00:00Z")
    repo.act("promote", "--full", now="2026-12-01T11:10:00Z")
    code, out, err = repo.act("rollback", now=FRIDAY_LATE)
    assert code == 0 and repo.trailers()["Rollgen-Action"] == "rollback", out + err
    assert repo.state()["stableImage"] == V1


def test_a_freeze_with_an_unknown_zone_or_no_end_is_refused_located(repo: ConfigRepo) -> None:
    (repo.path / "rollgen.yaml").write_text(CONFIG + """\
freeze:
  - {weekly: {from: "Fri 22:00", to: "Sat 02:00"}, timeZone: Europe/Berln}
  - {from: "2026-12-27T00:00:00Z", to: "2026-12-24T00:00:00Z"}
  - {weekly: {from: "Friday 22:00", to: "Sat 02:00"}}
""")
    code, out, err = repo.rollgen("status")
    assert code == 1
    assert "rollgen.yaml:9:21: $.freeze[2].weekly.from: 'Friday 22:00' is not a day and a 24-hour time such as Fri 16:00" in err
    (repo.path / "rollgen.yaml").write_text(CONFIG + """\
freeze:
  - {weekly: {from: "Fri 22:00", to: "Sat 02:00"}, timeZone: Europe/Berln}
  - {from: "2026-12-27T00:00:00Z", to: "2026-12-24T00:00:00Z"}
""")
    code, out, err = repo.rollgen("status")
    assert code == 1
    assert "rollgen.yaml:7:" in err and "$.freeze[0].timeZone: 'Europe/Berln' is not an IANA time zone" in err, err
    assert "$.freeze[1].to: ends before it starts" in err, err


def test_a_window_that_is_both_kinds_is_refused(repo: ConfigRepo) -> None:
    (repo.path / "rollgen.yaml").write_text(CONFIG + """\
freeze:
  - {from: "2026-12-24T00:00:00Z", to: "2026-12-27T00:00:00Z", weekly: {from: "Fri 22:00", to: "Sat 02:00"}}
""")
    code, out, err = repo.rollgen("status")
    assert code == 1 and "$.freeze[0]: a freeze window is either from and to (RFC 3339 times), or weekly" in err, err
