"""Progression planning without disk or git: every action from every phase, timing, gates."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from generator import clock
from generator.plan import progression
from generator.plan.gates import GateResult, GateOutcome
from generator.model import BlueGreenStrategy, Environment, EnvState, Image, Release
from generator.plan.progression import Hold, Plan, Refusal, Transition
from tests.factories import make_release

OLD = Image.parse("ghcr.io/kmaster8/hello:v1")
NEW = Image.parse("ghcr.io/kmaster8/hello:v2")
NEWER = Image.parse("ghcr.io/kmaster8/hello:v3")
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
T0S = "2024-05-01T12:00:00Z"


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def passing(*_: Any) -> GateResult:
    return GateResult(GateOutcome.PASS, "fine")


def failing(*_: Any) -> GateResult:
    return GateResult(GateOutcome.FAIL, "error-rate=3.2 > 1 since 2024-05-01T12:00:00Z", failed=("error-rate=3.2 > 1",))


def cannot_judge(*_: Any) -> GateResult:
    return GateResult(GateOutcome.CANNOT_JUDGE, "cannot evaluate metric error-rate: Prometheus did not answer")


def release_of(engine: str = "deployments", image: Image = NEW, **overrides: Any) -> tuple[Release, Environment]:
    release = make_release(engine=engine, progression="git", image=image, **overrides)
    release = replace(release, environments=(replace(release.environments[0], image=image),))
    return release, release.environments[0]


def blue_green(image: Image = NEW, auto: int | None = None) -> tuple[Release, Environment]:
    release, _ = release_of(strategy=BlueGreenStrategy(preview_host="p.example.com", auto_promotion=auto))
    release = replace(release, environments=(replace(release.environments[0], image=image, steps=()),))
    return release, release.environments[0]


def stable(image: Image = OLD, colour: str = "blue") -> EnvState:
    return EnvState(phase="stable", stable_image=image, since=T0S, active_colour=colour)  # type: ignore[arg-type]


def progressing(step: int, weight: int, canary: Image = NEW) -> EnvState:
    return EnvState(phase="progressing", stable_image=OLD, canary_image=canary, step=step, weight=weight, since=T0S)


def moved(plan: Plan) -> Transition:
    assert isinstance(plan, Transition), plan
    return plan


# -- release ------------------------------------------------------------------------------------------------


def test_first_deploy_goes_straight_to_stable() -> None:
    release, env = release_of()
    plan = moved(progression.plan_release(release, env, None, T0))
    assert plan.action == "deploy"
    assert plan.state == EnvState(phase="stable", stable_image=NEW, since=T0S)
    assert (plan.step, plan.steps, plan.weight, plan.image) == (0, 3, 100, NEW)
    assert plan.summary == f"deploy {NEW.ref}"


def test_same_image_is_nothing_to_do() -> None:
    release, env = release_of(image=OLD)
    plan = progression.plan_release(release, env, stable(OLD), at(10))
    assert isinstance(plan, Hold) and "already stable" in plan.reason


def test_new_image_starts_canary_at_step_one() -> None:
    release, env = release_of()
    plan = moved(progression.plan_release(release, env, stable(OLD), at(10)))
    assert plan.action == "start"
    assert plan.state == EnvState(
        phase="progressing", stable_image=OLD, canary_image=NEW, step=1, weight=5, since="2024-05-01T12:00:10Z"
    )
    assert (plan.step, plan.steps, plan.weight) == (1, 3, 5)
    assert plan.summary == f"start canary of {NEW.ref} at step 1/3 (5%)"


def test_same_canary_image_is_nothing_to_do() -> None:
    release, env = release_of()
    plan = progression.plan_release(release, env, progressing(2, 20), at(10))
    assert isinstance(plan, Hold) and "step 2/3" in plan.reason


def test_new_image_mid_canary_restarts_at_step_one() -> None:
    release, env = release_of(image=NEWER)
    plan = moved(progression.plan_release(release, env, progressing(2, 20), at(10)))
    assert plan.action == "start"
    assert plan.state.canary_image == NEWER and plan.state.stable_image == OLD
    assert (plan.state.step, plan.state.weight) == (1, 5)
    assert plan.summary.startswith(f"restart canary with {NEWER.ref}")
    assert NEW.ref in plan.details


def test_spec_back_on_stable_mid_canary_aborts() -> None:
    release, env = release_of(image=OLD)
    plan = moved(progression.plan_release(release, env, progressing(2, 20), at(10)))
    assert plan.action == "abort"
    assert plan.state.phase == "aborted" and plan.state.canary_image == NEW and plan.state.weight == 0


def test_aborted_image_needs_retry() -> None:
    release, env = release_of()
    aborted = EnvState(phase="aborted", stable_image=OLD, canary_image=NEW, since=T0S)
    plan = progression.plan_release(release, env, aborted, at(10))
    assert isinstance(plan, Hold) and "--retry" in plan.reason
    retried = moved(progression.plan_release(release, env, aborted, at(10), retry=True))
    assert retried.action == "start" and retried.summary.startswith("retry canary")
    assert (retried.state.phase, retried.state.step) == ("progressing", 1)


def test_new_image_after_abort_starts_without_retry() -> None:
    release, env = release_of(image=NEWER)
    aborted = EnvState(phase="aborted", stable_image=OLD, canary_image=NEW, since=T0S)
    assert moved(progression.plan_release(release, env, aborted, at(10))).state.canary_image == NEWER


def test_release_during_nginx_promotion() -> None:
    release, env = release_of()
    promoting = EnvState(phase="promoting", stable_image=NEW, canary_image=NEW, step=3, weight=50, since=T0S)
    assert isinstance(progression.plan_release(release, env, promoting, at(1)), Hold)
    release, env = release_of(image=NEWER)
    plan = moved(progression.plan_release(release, env, promoting, at(1)))
    assert plan.state.stable_image == NEW and plan.state.canary_image == NEWER


def test_controller_release_hands_the_image_over() -> None:
    release, env = release_of(engine="argo-rollouts")
    release = replace(release, progression="controller")
    assert moved(progression.plan_release(release, env, None, T0)).action == "deploy"
    plan = moved(progression.plan_release(release, env, stable(OLD), at(5)))
    assert plan.action == "start" and plan.state == EnvState(phase="stable", stable_image=NEW, since=plan.state.since)
    assert isinstance(progression.plan_release(release, env, stable(NEW), at(5)), Hold)


def test_controller_release_refuses_git_steps() -> None:
    release, env = release_of(engine="argo-rollouts")
    release = replace(release, progression="controller")
    assert isinstance(progression.plan_advance(release, env, stable(OLD), T0, passing), Hold)
    for plan in (
        progression.plan_promote(release, env, stable(OLD), T0),
        progression.plan_abort(release, env, stable(OLD), T0),
    ):
        assert isinstance(plan, Refusal) and "kubectl argo rollouts" in plan.reason


# -- advance ------------------------------------------------------------------------------------------------


def test_advance_waits_for_the_pause() -> None:
    release, env = release_of()
    plan = progression.plan_advance(release, env, progressing(1, 5), at(299), passing)
    assert isinstance(plan, Hold)
    assert "until 2024-05-01T12:05:00Z (1s left)" in plan.reason


def test_advance_steps_once_the_pause_elapsed() -> None:
    release, env = release_of()
    plan = moved(progression.plan_advance(release, env, progressing(1, 5), at(300), passing))
    assert plan.action == "step"
    assert (plan.state.step, plan.state.weight, plan.state.since) == (2, 20, "2024-05-01T12:05:00Z")
    assert (plan.step, plan.steps, plan.weight, plan.image) == (2, 3, 20, NEW)
    assert plan.summary == f"step 2/3: 20% to {NEW.ref}"
    assert "Gates: fine." in plan.details


def test_indefinite_pause_never_advances() -> None:
    release, env = release_of()
    plan = progression.plan_advance(release, env, progressing(3, 50), at(10**8), passing)
    assert isinstance(plan, Hold) and "rollgen promote" in plan.reason


def test_failed_gate_counts_a_failure_and_holds() -> None:
    # A metric beyond its threshold is a counted failure: a `check` commit, the weight where it was.
    release, env = release_of()
    plan = moved(progression.plan_advance(release, env, progressing(1, 5), at(300), failing))
    assert (plan.action, plan.weight, plan.state.failures) == ("check", 5, 1)
    assert plan.gate == "error-rate=3.2 > 1"


def test_a_gate_that_cannot_judge_refuses() -> None:
    # Prometheus down or a bad query: nothing moves and nothing is counted; `advance` exits 1.
    release, env = release_of()
    plan = progression.plan_advance(release, env, progressing(1, 5), at(300), cannot_judge)
    assert isinstance(plan, Refusal) and "cannot evaluate metric error-rate" in plan.reason


def test_gates_are_not_consulted_before_the_pause_ends() -> None:
    release, env = release_of()

    def explode(*_: Any) -> GateResult:
        raise AssertionError("gate called too early")

    assert isinstance(progression.plan_advance(release, env, progressing(1, 5), at(1), explode), Hold)


def test_advance_after_last_timed_step_promotes() -> None:
    release, env = release_of(engine="argo-rollouts")
    steps = (env.steps[0], env.steps[1], replace(env.steps[2], pause=60))
    env = replace(env, steps=steps)
    plan = moved(progression.plan_advance(release, env, progressing(3, 50), at(60), passing))
    assert plan.action == "promote"
    # the step and weight promoted from stay: the promotion commit holds that weight while the canary scales
    assert plan.state == EnvState(phase="stable", stable_image=NEW, step=3, weight=50, since="2024-05-01T12:01:00Z")
    assert (plan.step, plan.steps, plan.weight) == (3, 3, 100)


def test_advance_idle_states_hold() -> None:
    release, env = release_of()
    for state in (None, stable(), EnvState(phase="aborted", stable_image=OLD, canary_image=NEW)):
        assert isinstance(progression.plan_advance(release, env, state, T0, passing), Hold)


def test_missing_since_holds_instead_of_guessing() -> None:
    release, env = release_of()
    state = replace(progressing(1, 5), since="")
    plan = progression.plan_advance(release, env, state, at(10**6), passing)
    assert isinstance(plan, Hold) and "since" in plan.reason


def test_steps_removed_from_the_spec_clamp_to_the_last() -> None:
    release, env = release_of()
    env = replace(env, steps=env.steps[:2])
    plan = moved(progression.plan_advance(release, env, progressing(3, 50), at(600), passing))
    assert plan.action == "promote"


# -- nginx two-commit promotion -----------------------------------------------------------------------------


def test_nginx_promotion_takes_two_commits() -> None:
    release, env = release_of()
    first = moved(progression.plan_promote(release, env, progressing(3, 50), at(10)))
    assert first.action == "promote"
    assert first.state == EnvState(
        phase="promoting", stable_image=NEW, canary_image=NEW, step=3, weight=50, since="2024-05-01T12:00:10Z"
    )
    early = progression.plan_advance(release, env, first.state, at(69), passing)
    assert isinstance(early, Hold) and "settles" in early.reason
    second = moved(progression.plan_advance(release, env, first.state, at(70), passing))
    assert second.action == "promote" and second.summary == f"promoted {NEW.ref}: canary down"
    assert second.state == EnvState(phase="stable", stable_image=NEW, since="2024-05-01T12:01:10Z")


def test_promote_passes_the_settle_delay() -> None:
    release, env = release_of()
    promoting = EnvState(phase="promoting", stable_image=NEW, canary_image=NEW, step=3, weight=50, since=T0S)
    assert moved(progression.plan_promote(release, env, promoting, at(1))).state.phase == "stable"


def test_abort_during_nginx_promotion_is_refused() -> None:
    release, env = release_of()
    promoting = EnvState(phase="promoting", stable_image=NEW, canary_image=NEW, step=3, weight=50, since=T0S)
    plan = progression.plan_abort(release, env, promoting, at(1))
    assert isinstance(plan, Refusal) and "release the previous image" in plan.reason


# -- promote ------------------------------------------------------------------------------------------------


def test_promote_passes_one_pause() -> None:
    release, env = release_of()
    plan = moved(progression.plan_promote(release, env, progressing(1, 5), at(1)))
    assert plan.action == "step" and plan.state.step == 2 and "by hand" in plan.summary


def test_promote_full_goes_straight_to_promotion() -> None:
    release, env = release_of(engine="argo-rollouts")
    plan = moved(progression.plan_promote(release, env, progressing(1, 5), at(1), full=True))
    assert plan.action == "promote" and plan.state.phase == "stable" and plan.state.stable_image == NEW
    release, env = release_of()
    plan = moved(progression.plan_promote(release, env, progressing(1, 5), at(1), full=True))
    assert plan.state.phase == "promoting" and plan.state.weight == 5


def test_promote_with_nothing_in_flight() -> None:
    release, env = release_of()
    plan = progression.plan_promote(release, env, stable(), T0)
    assert isinstance(plan, Hold) and plan.reason.startswith("nothing to promote")


# -- abort --------------------------------------------------------------------------------------------------


def test_abort_drops_the_canary_and_keeps_stable() -> None:
    release, env = release_of()
    plan = moved(progression.plan_abort(release, env, progressing(2, 20), at(5)))
    assert plan.action == "abort"
    assert plan.state == EnvState(
        phase="aborted", stable_image=OLD, canary_image=NEW, step=0, weight=0, since="2024-05-01T12:00:05Z"
    )
    assert (plan.step, plan.weight, plan.image) == (0, 0, NEW)
    assert "step 2/3" in plan.details


def test_abort_with_nothing_in_flight() -> None:
    release, env = release_of()
    for state in (None, stable(), EnvState(phase="aborted", stable_image=OLD, canary_image=NEW)):
        plan = progression.plan_abort(release, env, state, T0)
        assert isinstance(plan, Hold) and plan.reason.startswith("nothing to abort")


# -- blue-green ---------------------------------------------------------------------------------------------


def test_blue_green_lifecycle() -> None:
    release, env = blue_green()
    start = moved(progression.plan_release(release, env, stable(OLD), T0))
    assert start.action == "start" and start.summary == f"start preview of {NEW.ref}"
    assert (start.state.phase, start.state.canary_image, start.state.active_colour) == ("progressing", NEW, "blue")
    assert (start.step, start.steps, start.weight) == (1, 1, 0)
    hold = progression.plan_advance(release, env, start.state, at(10**6), passing)
    assert isinstance(hold, Hold) and "rollgen promote" in hold.reason
    switch = moved(progression.plan_promote(release, env, start.state, at(10)))
    assert switch.state == EnvState(
        phase="promoting", stable_image=NEW, canary_image=OLD, step=1, weight=100,
        since="2024-05-01T12:00:10Z", active_colour="green",
    )
    assert isinstance(progression.plan_advance(release, env, switch.state, at(39), passing), Hold)
    done = moved(progression.plan_advance(release, env, switch.state, at(40), passing))
    assert done.state == EnvState(phase="stable", stable_image=NEW, since="2024-05-01T12:00:40Z", active_colour="green")


def test_blue_green_auto_promotion() -> None:
    release, env = blue_green(auto=600)
    start = moved(progression.plan_release(release, env, stable(OLD), T0))
    assert isinstance(progression.plan_advance(release, env, start.state, at(599), passing), Hold)
    assert moved(progression.plan_advance(release, env, start.state, at(600), passing)).state.active_colour == "green"


def test_blue_green_abort_during_switch_switches_back() -> None:
    release, env = blue_green()
    switching = EnvState(phase="promoting", stable_image=NEW, canary_image=OLD, step=1, weight=100, since=T0S,
                         active_colour="green")
    plan = moved(progression.plan_abort(release, env, switching, at(5)))
    assert plan.state == EnvState(phase="aborted", stable_image=OLD, canary_image=NEW, since="2024-05-01T12:00:05Z",
                                  active_colour="blue")


# -- time ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["2024-05-01T12:00:00Z", "2024-05-01T12:00:00+00:00", "2024-05-01T14:00:00+02:00", "2024-05-01T12:00:00"],
)
def test_parse_time(text: str) -> None:
    assert clock.parse_time(text) == T0


def test_format_duration() -> None:
    assert [progression.format_duration(s) for s in (0, 5, 90, 3600, 3661)] == ["0s", "5s", "1m30s", "1h", "1h1m1s"]


def test_argo_blue_green_promotes_in_one_commit() -> None:
    release, env = blue_green()
    release = replace(release, engine="argo-rollouts")
    start = moved(progression.plan_release(release, env, stable(OLD), T0))
    done = moved(progression.plan_promote(release, env, start.state, at(10)))
    assert done.state == EnvState(phase="stable", stable_image=NEW, since="2024-05-01T12:00:10Z", active_colour="green")
