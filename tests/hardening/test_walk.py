"""Issue 23 walked as a user (QA): what the messages said that was not true, through the CLI on real git."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import git
from tests.hardening.test_brake import _commit_spec, _spec, canary, cli, head  # noqa: F401 - canary: a fixture
from tests.hardening.test_faults import at


def test_a_spec_never_committed_is_called_that(canary: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # was: "releases/new.yaml: has uncommitted changes", for a file git has never held
    new = canary / "releases" / "new.yaml"
    new.write_text(_spec(canary).replace("name: hello,", "name: new,"))
    for command in ("release", "plan"):
        code, out, err = cli(capsys, command, new, "--repo", canary, "--now", at(1, 1))
        assert code == 1, out + err
        assert err.startswith("rollgen: releases/new.yaml: is not committed yet; commit the spec first "
                              "(git add releases/new.yaml && git commit)"), err
    assert not (canary / "apps" / "new").exists()


def test_the_advice_for_a_committed_corrupt_state_restores_it(
    canary: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: "git checkout -- FILE", which does nothing once the bad state is committed; and a second line
    state = "apps/hello/overlays/prod/rollgen-state.yaml"
    good = git(canary, "log", "-1", "--format=%H", "--", state).strip()
    _commit_spec(canary, "phase: [\n", "a bad merge", state)
    code, out, err = cli(capsys, "advance", "hello", "--env", "prod", "--repo", canary, "--now", at(1, 6))
    assert code == 1, out + err
    assert len(err.splitlines()) == 1, err  # one problem, one line
    assert f"git log -p -- {canary / state} shows the versions rollgen committed, git checkout COMMIT -- " in err
    assert f"git checkout COMMIT -- {canary / state} and a commit restore one" in err
    git(canary, "checkout", good, "--", state)  # what it says works
    git(canary, "commit", "-q", "-m", "the state restored")
    code, out, err = cli(capsys, "advance", "hello", "--env", "prod", "--repo", canary, "--now", at(1, 6))
    assert code == 0, out + err


def test_status_of_a_release_whose_spec_is_gone_does_not_call_it_removed_from_the_spec(
    canary: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: "hello/prod is no longer in releases/hello.yaml ... until retire": the file is gone, not the entry
    _commit_spec(canary, None, "remove the spec")
    before = head(canary)
    code, out, err = cli(capsys, "status", "--repo", canary)
    assert code == 0, out + err
    assert "rollgen: hello/prod: its spec releases/hello.yaml is gone (deleted or moved): restore it; its files " \
           "stay deployed as they are (`rollgen abort hello --env prod` acts without it)" in err, err
    assert "is no longer in" not in err
    assert head(canary) == before


def test_the_hold_message_after_the_steps_are_cut_to_one_says_step(
    canary: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: "past the 1 steps the spec now has"
    import re

    assert cli(capsys, "promote", "hello", "--env", "prod", "--repo", canary, "--now", at(1, 1))[0] == 0
    text = _spec(canary)
    one = re.sub(r"steps:\n(?:\s+- \{weight: .*\}\n)+", "steps:\n        - {weight: 30, pause: 5m}\n", text)
    assert one != text
    _commit_spec(canary, one, "one step")
    code, out, err = cli(capsys, "advance", "hello", "--env", "prod", "--repo", canary, "--now", at(1, 2))
    assert code == 0, out + err
    assert "past the 1 step the spec now has, so planned as step 1/1" in out, out
