"""Progression planning: what `release`, `advance`, `promote` and `abort` do to one environment's state.

Pure: (release, environment, current state, now) -> a Plan. No disk, no git, no clock; gates are passed in.

A Plan is one of
- Transition: a new state and what the commit records (action, step, weight, image, summary);
- Hold: nothing to do, with the reason (exit 0: a scheduled tick that finds nothing to do is not a failure);
- Refusal: the request cannot be honoured in this situation (exit 1).

Who steps what:
- canary with git progression: one step a commit; the nginx engine promotes in two commits (`promoting`:
  the stable Deployment takes the new image, the canary keeps its weight until the settle delay has passed).
- blue-green with git progression: release puts the new image on the idle colour; promotion flips the live
  colour. The nginx engine does it in two commits (`promoting`: the old colour keeps running the old image
  for the scale-down delay, then goes down); Argo Rollouts in one (its controller delays the scale-down).
- controller progression: `release` hands the image to the controller; advance/promote/abort belong to it.
"""

from __future__ import annotations

from collections.abc import Callable
from generator.records import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from generator.clock import format_time, parse_time
from generator.plan.gates import GateResult, GateOutcome
from generator.plan.shapes import mode, normalise, ready_first, step_count, two_commit_promotion
from generator.render.engines import engine_for
from generator.model import (
    BlueGreenStrategy,
    Environment,
    EnvState,
    Image,
    Release,
)

# check: a failed gate, counted; rollback: `rollgen rollback` (commands/rollback.py), straight to an older version
Action = Literal["deploy", "start", "step", "promote", "abort", "check", "rollback"]
Gate = Callable[[Release, Environment, EnvState, datetime], GateResult]


@dataclass(frozen=True)
class Transition:
    action: Action
    state: EnvState  # the environment's state after the commit
    summary: str  # what happened, the subject after "<name>/<env>: "
    step: int  # trailer Rollgen-Step: step/steps after the commit
    steps: int
    weight: int  # trailer Rollgen-Weight: percent of traffic on `image` after the commit
    image: Image  # trailer Rollgen-Image: the image this action is about
    details: str = ""  # the commit body: why, in a sentence or two
    gate: str = ""  # trailer Rollgen-Gate: the metrics beyond their thresholds, "error-rate=7.3 > 1"
    change: str = ""  # trailer Rollgen-Change, on a start: what the new version changes ("image", "config, env")
    override: str = ""  # trailer Rollgen-Override: what a person overrode ("order": environments[].after)

    def __post_init__(self) -> None:
        """While a step is live the state file keeps the step count too, for `rollgen status` (k/n)."""
        if self.state.in_flight and self.state.steps != self.steps:
            object.__setattr__(self, "state", replace(self.state, steps=self.steps))


@dataclass(frozen=True)
class Hold:
    reason: str


@dataclass(frozen=True)
class Refusal:
    reason: str


Plan = Transition | Hold | Refusal


# -- time ---------------------------------------------------------------------------------------------------


def format_duration(seconds: int) -> str:
    """Compact and exact, for messages: 90 -> 1m30s, 3600 -> 1h."""
    if seconds <= 0:
        return "0s"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n]
    return "".join(parts)


def _due(state: EnvState, wait: int) -> datetime | None:
    """When a wait of `wait` seconds started at state.since ends; None when `since` is unknown."""
    if not state.since:
        return None
    try:
        return parse_time(state.since) + timedelta(seconds=wait)
    except ValueError:
        return None


def _wait_hold(what: str, state: EnvState, wait: int, now: datetime) -> Hold | None:
    """A Hold while the wait has not elapsed, None once it has."""
    due = _due(state, wait)
    if due is None:
        return Hold(f"{what}: the state has no valid 'since' to time the {format_duration(wait)} wait from; "
                    "`rollgen promote` moves it on")
    if now >= due:
        return None
    left = int((due - now).total_seconds() + 0.999)
    return Hold(f"{what} until {format_time(due)} ({format_duration(left)} left)")


def _unsupported(release: Release) -> Refusal:
    return Refusal(
        f"{release.name}: a {release.strategy.kind} strategy cannot progress through git; "
        "use progression: controller (A/B tests run on Flagger)"
    )


# -- release ------------------------------------------------------------------------------------------------


def plan_release(
    release: Release, env: Environment, current: EnvState | None, now: datetime, retry: bool = False
) -> Plan:
    kind = mode(release)
    if kind == "unsupported":
        return _unsupported(release)
    if current is None:
        return _deploy(release, env, now)
    if kind == "controller":
        return _release_controller(release, env, current, now)
    if env.workload.rolling_update is not None:
        return _release_rolling(release, env, current, now)
    current = normalise(env, current)
    image = env.image
    if current.phase == "stable":
        if image == current.stable_image:
            return Hold(f"nothing to do: {image.ref} is already stable")
        return start_new(release, env, current, image, now, f"start {what_starts(release)} of {image.ref}")
    if current.phase == "progressing":
        return _release_progressing(release, env, current, image, now)
    if current.phase == "promoting":
        if image == current.stable_image:
            return Hold(f"nothing to do: the promotion of {image.ref} is under way; `rollgen advance` completes it")
        return start_new(release, env, current, image, now, f"start {what_starts(release)} of {image.ref}")
    return _release_aborted(release, env, current, image, now, retry)


def what_starts(release: Release) -> str:
    """What a new version starts as, in messages: a canary, or a blue-green preview."""
    return "preview" if isinstance(release.strategy, BlueGreenStrategy) else "canary"


def _deploy(release: Release, env: Environment, now: datetime) -> Transition:
    details = f"First deploy of {release.name} to {env.name}: straight to stable, nothing to compare against."
    return _straight_to_stable(release, env, now, "deploy", f"deploy {env.image.ref}", 100, details)


def _release_controller(release: Release, env: Environment, current: EnvState, now: datetime) -> Plan:
    if env.image == current.stable_image:
        return Hold(f"nothing to do: {env.image.ref} is already released")
    summary = f"release {env.image.ref} ({release.engine} runs the {release.strategy.kind})"
    details = f"Replaces {current.stable_image.ref}. The {release.engine} controller drives the progression."
    return _straight_to_stable(release, env, now, "start", summary, 0, details)


def _release_rolling(release: Release, env: Environment, current: EnvState, now: datetime) -> Plan:
    """environments[].strategy.rollingUpdate: Kubernetes rolls the Deployment itself; there is no canary."""
    if env.image == current.stable_image:
        return Hold(f"nothing to do: {env.image.ref} is already released")
    summary = f"release {env.image.ref} (a rolling update, no canary)"
    details = f"Replaces {current.stable_image.ref}. Kubernetes rolls the Deployment out by itself."
    return _straight_to_stable(release, env, now, "deploy", summary, 100, details)


def _straight_to_stable(
    release: Release, env: Environment, now: datetime, action: Action, summary: str, weight: int, details: str
) -> Transition:
    """The spec's image becomes the stable state at once: a first deploy, or an image handed to a controller."""
    state = EnvState(phase="stable", stable_image=env.image, since=format_time(now))
    return Transition(action, state, summary, 0, step_count(release, env), weight, env.image, details)


def _release_progressing(
    release: Release, env: Environment, current: EnvState, image: Image, now: datetime
) -> Plan:
    assert current.canary_image is not None
    if image == current.canary_image:
        return Hold(f"nothing to do: {image.ref} is already {_stage(release, env, current)}")
    if image == current.stable_image:
        return _abort(release, env, current, now, f"the spec is back on {image.ref}")
    summary = f"restart {what_starts(release)} with {image.ref}"
    return start_new(release, env, current, image, now, summary, replaced=current.canary_image)


def _release_aborted(
    release: Release, env: Environment, current: EnvState, image: Image, now: datetime, retry: bool
) -> Plan:
    if image == current.stable_image:
        return Hold(f"nothing to do: {image.ref} is stable (the {what_starts(release)} was aborted)")
    if image == current.canary_image and not retry:
        return Hold(
            f"nothing to do: the {what_starts(release)} of {image.ref} was aborted; "
            "`rollgen release --retry` starts it again"
        )
    verb = "retry" if image == current.canary_image else "start"
    return start_new(release, env, current, image, now, f"{verb} {what_starts(release)} of {image.ref}")


def _stage(release: Release, env: Environment, state: EnvState, raw: EnvState | None = None) -> str:
    """Where the canary stands; `raw`: the state as recorded, when the spec has lost steps since (normalise):
    what runs is that step and weight, planned as the last step the spec still has."""
    if isinstance(release.strategy, BlueGreenStrategy):
        return f"in preview on {state.idle_colour}"
    n = len(env.steps)
    if raw is not None and raw.step != state.step:
        steps = f"{n} step" if n == 1 else f"{n} steps"
        return (f"the canary at step {raw.step} ({raw.weight}%), past the {steps} the spec now has, so planned as "
                f"step {state.step}/{n}")
    return f"the canary at step {state.step}/{n} ({state.weight}%)"


def start_new(
    release: Release,
    env: Environment,
    current: EnvState,
    image: Image,
    now: datetime,
    summary: str,
    replaced: Image | None = None,
) -> Plan:
    """The canary (or preview) of `image` starts at its first step (step 0 for ready_first); `replaced`: the
    version in flight it takes over from (a restart). Also plan/workload_progression.py's start of a pod change."""
    blue_green = isinstance(release.strategy, BlueGreenStrategy)
    if not blue_green and not env.steps:
        return Refusal(f"{release.name}/{env.name}: a canary needs at least one step")
    warm = ready_first(release)
    weight = 0 if blue_green or warm else env.steps[0].weight
    step = 0 if warm else 1
    state = EnvState(
        phase="progressing",
        stable_image=current.stable_image,
        canary_image=image,
        step=step,
        weight=weight,
        since=format_time(now),
        active_colour=current.active_colour,
    )
    if blue_green:
        where = f"{current.idle_colour} runs it behind the preview; {current.active_colour} stays live"
    elif warm:
        where = (
            f"step 0/{len(env.steps)}: the canary pods start with no traffic; step 1 gives them "
            f"{env.steps[0].weight}% once they are Ready"
        )
    else:
        where = f"step 1/{len(env.steps)}: {weight}% of traffic"
    details = f"Stable stays on {current.stable_image.ref}; {where}."
    if replaced is not None:
        details = f"Replaces the canary of {replaced.ref}. " + details
    if not blue_green:
        summary += f" at step {step}/{len(env.steps)} ({weight}%)"
    return Transition("start", state, summary, step, step_count(release, env), weight, image, details)


# -- advance ------------------------------------------------------------------------------------------------


def plan_advance(
    release: Release, env: Environment, current: EnvState | None, now: datetime, gate: Gate
) -> Plan:
    if current is not None and current.phase == "aborted" and current.step > 0 and mode(release) == "canary":
        return _advance_aborted(release, env, current, now)
    stop = _nothing_in_flight(release, env, current, "advance")
    if stop is not None:
        return stop
    assert current is not None
    raw, current = current, normalise(env, current)
    if current.phase == "promoting":
        return _advance_promoting(release, env, current, now)
    if current.phase == "progressing" and current.step == 0:
        return _advance_warm_up(release, env, current, now)
    wait = _pause(release, env, current)
    stage = _stage(release, env, current, raw)
    if wait is None:
        return Hold(f"nothing to do: {stage} waits for `rollgen promote`")
    hold = _wait_hold(f"nothing to do yet: {stage} holds", current, wait, now)
    if hold is not None:
        return hold
    recheck = _recheck_hold(release, env, current, now)
    if recheck is not None:
        return recheck
    verdict = gate(release, env, current, now)
    if verdict.outcome is GateOutcome.NO_DATA:
        return Hold(f"nothing to do yet: {verdict.reason} ({_holder(release, env, current)} holds)")
    if verdict.outcome is GateOutcome.FAIL:
        return _gate_failed(release, env, current, now, verdict)
    if verdict.outcome is GateOutcome.CANNOT_JUDGE:
        return Refusal(f"{_holder(release, env, current)} holds: {verdict.reason}")
    if isinstance(release.strategy, BlueGreenStrategy) or current.step >= len(env.steps):
        moved = _promote(release, env, current, now, "the pause ended")
    else:
        moved = _step(release, env, current, now, by_hand=False)
    return replace(moved, details=f"{moved.details} Gates: {verdict.reason}.")


def _recheck_hold(release: Release, env: Environment, current: EnvState, now: datetime) -> Hold | None:
    """After a failed check, the next one waits one analysis interval: failureLimit counts measurements."""
    analysis = release.analysis_for(env)
    if not current.last_failure or analysis is None:
        return None
    what = f"nothing to do yet: {_holder(release, env, current)} holds after {current.failures} failed check(s)"
    since = replace(current, since=current.last_failure)
    return _wait_hold(f"{what}, the next one waits", since, analysis.interval, now)


def _gate_failed(release: Release, env: Environment, current: EnvState, now: datetime, verdict: GateResult) -> Plan:
    """A counted failure holds the canary (a commit records the count); one beyond failureLimit aborts."""
    analysis = release.analysis_for(env)
    limit = analysis.failure_limit if analysis is not None else 0
    failures = current.failures + 1
    gate = "; ".join(verdict.failed)
    count = f"failed check {failures}, {limit} tolerated"
    if failures > limit:
        aborted = _abort(release, env, current, now, f"failed gates ({count}: {verdict.reason})")
        return replace(aborted, summary=f"{aborted.summary} ({gate})", gate=gate)
    assert current.canary_image is not None
    holder = _holder(release, env, current)
    state = replace(current, failures=failures, last_failure=format_time(now))
    details = f"Gate {count}: {verdict.reason}. The next check measures from now; until then nothing moves."
    return Transition(
        "check", state, f"gate failed, {holder} holds: {gate}", current.step, step_count(release, env),
        current.weight, current.canary_image, details, gate,
    )


def _holder(release: Release, env: Environment, state: EnvState) -> str:
    if isinstance(release.strategy, BlueGreenStrategy):
        return f"the preview on {state.idle_colour}"
    return _stage(release, env, state)


def _nothing_in_flight(
    release: Release, env: Environment, current: EnvState | None, verb: Literal["advance", "promote", "abort"]
) -> Plan | None:
    """Why `verb` has nothing to act on (a strategy git cannot step, a controller's release, nothing in
    flight), else None."""
    kind = mode(release)
    if kind == "unsupported":
        return _unsupported(release)
    if kind == "controller":
        if verb == "advance":
            return Hold(f"nothing to do: the {release.engine} controller drives {release.name} (progression: controller)")
        return Refusal(_controller_hint(release, env, verb))
    nothing = "nothing to do" if verb == "advance" else f"nothing to {verb}"
    if current is None:
        return Hold(f"{nothing}: {release.name} is not released to {env.name} yet (`rollgen release`)")
    if current.phase == "stable":
        return Hold(f"{nothing}: {current.stable_image.ref} is stable, nothing in flight")
    if current.phase == "aborted":
        image = current.canary_image.ref if current.canary_image else "the canary"
        return Hold(f"{nothing}: {image} was aborted (`rollgen release --retry` starts it again)")
    return None


def _pause(release: Release, env: Environment, state: EnvState) -> int | None:
    """Seconds the current stage holds before advancing by itself; None waits for a person."""
    if isinstance(release.strategy, BlueGreenStrategy):
        return release.strategy.auto_promotion
    return env.steps[state.step - 1].pause


def _advance_promoting(release: Release, env: Environment, current: EnvState, now: datetime) -> Plan:
    wait = _settle(release, env)
    hold = _wait_hold(f"nothing to do yet: the promotion of {current.stable_image.ref} settles", current, wait, now)
    if hold is not None:
        return hold
    return _next_promotion(release, env, current, now)


def _next_promotion(release: Release, env: Environment, current: EnvState, now: datetime) -> Transition:
    """The promotion's next commit: the canary's weight off (ready_first), else the canary down."""
    if ready_first(release) and current.weight > 0:
        return _drain(release, env, current, now)
    return _finish_promotion(release, env, current, now)


def _drain(release: Release, env: Environment, current: EnvState, now: datetime) -> Transition:
    n = step_count(release, env)
    image = current.stable_image
    state = replace(current, weight=0, since=format_time(now))
    summary = f"promote {image.ref}: canary to 0%, its pods stay for the settle delay"
    details = (
        f"All traffic on the stable Deployment ({image.ref}); the canary pods go only in the next commit, after "
        f"the settle delay ({format_duration(_settle(release, env))}), so no request is routed to a pod going away."
    )
    return Transition("promote", state, summary, n, n, 100, image, details)


def _advance_warm_up(release: Release, env: Environment, current: EnvState, now: datetime) -> Plan:
    """Step 0 (ready_first): the canary pods had the settle delay to become Ready; step 1 gives them weight."""
    hold = _wait_hold(
        f"nothing to do yet: the canary pods of {current.canary_image.ref if current.canary_image else 'the canary'}"
        " start with no traffic", current, env.settle_delay, now,
    )
    if hold is not None:
        return hold
    moved = _step(release, env, current, now, by_hand=False)
    return replace(moved, details=f"The canary pods had the settle delay ({format_duration(env.settle_delay)}) "
                                  "to become Ready; now they take their first weight.")


def _advance_aborted(release: Release, env: Environment, current: EnvState, now: datetime) -> Plan:
    """After an abort took the canary's weight off (ready_first), its pods go once the settle delay has passed."""
    image = current.canary_image
    assert image is not None
    hold = _wait_hold(f"nothing to do yet: the aborted canary of {image.ref} has no traffic; its pods stay", current,
                      env.settle_delay, now)
    if hold is not None:
        return hold
    state = replace(current, step=0, since=format_time(now))
    summary = f"abort {image.ref}: canary pods down"
    details = "The abort took the canary's weight off one commit before; now its pods go."
    return Transition("abort", state, summary, 0, step_count(release, env), 0, image, details)


def _settle(release: Release, env: Environment) -> int:
    if isinstance(release.strategy, BlueGreenStrategy):
        return release.strategy.scale_down_delay
    return env.settle_delay


def _step(release: Release, env: Environment, current: EnvState, now: datetime, by_hand: bool) -> Transition:
    assert current.canary_image is not None
    step = current.step + 1
    weight = env.steps[step - 1].weight
    state = replace(current, step=step, weight=weight, since=format_time(now), failures=0, last_failure="")
    n = len(env.steps)
    summary = f"step {step}/{n}: {weight}% to {current.canary_image.ref}"
    if by_hand:
        summary += " (promoted by hand)"
        details = f"`rollgen promote` passed the pause of step {current.step}/{n}."
    else:
        details = f"The pause of step {current.step}/{n} has elapsed."
    return Transition("step", state, summary, step, n, weight, current.canary_image, details)


# -- promote ------------------------------------------------------------------------------------------------


def plan_promote(
    release: Release, env: Environment, current: EnvState | None, now: datetime, full: bool = False
) -> Plan:
    stop = _nothing_in_flight(release, env, current, "promote")
    if stop is not None:
        return stop
    assert current is not None
    current = normalise(env, current)
    if current.phase == "promoting":
        # --full asks for what the first promotion commit already did: again (a re-run after a killed run that
        # had landed, say), it waits out the settle delay like `advance` instead of cutting it short
        if full:
            return _advance_promoting(release, env, current, now)
        return _next_promotion(release, env, current, now)
    if full or isinstance(release.strategy, BlueGreenStrategy) or current.step >= len(env.steps):
        reason = "`rollgen promote --full`" if full else "`rollgen promote`"
        return _promote(release, env, current, now, reason)
    return _step(release, env, current, now, by_hand=True)


def _promote(release: Release, env: Environment, current: EnvState, now: datetime, why: str) -> Transition:
    """The new image becomes stable: in one commit (Argo Rollouts), or the first of two (nginx, blue-green)."""
    image = current.canary_image
    assert image is not None
    n = step_count(release, env)
    since = format_time(now)
    blue_green, two_commits = isinstance(release.strategy, BlueGreenStrategy), two_commit_promotion(release)
    if blue_green and not two_commits:
        state = EnvState(phase="stable", stable_image=image, since=since, active_colour=current.idle_colour)
        summary = f"promote {image.ref}"
        details = f"After {why}, the {release.engine} controller switches live traffic to {image.ref}."
    elif blue_green:
        live = current.idle_colour
        state = EnvState(
            phase="promoting", stable_image=image, canary_image=current.stable_image, step=n, weight=100, since=since,
            active_colour=live,
        )
        summary = f"switch live traffic to {live} ({image.ref})"
        details = (
            f"After {why}, {live} serves {image.ref}; {current.active_colour} "
            f"keeps {current.stable_image.ref} for {format_duration(_settle(release, env))}, then scales down."
        )
    elif two_commits:
        state = EnvState(
            phase="promoting", stable_image=image, canary_image=image, step=current.step, weight=current.weight,
            since=since, active_colour=current.active_colour,
        )
        summary = f"promote {image.ref}: stable takes it, canary holds {current.weight}%"
        details = (
            f"After {why}, the stable Deployment takes {image.ref}; the canary keeps {current.weight}% for "
            f"the settle delay ({format_duration(env.settle_delay)}), then goes to 0 and scales down."
        )
    else:
        # Argo Rollouts: the step and weight promoted from stay in the state, so the promotion commit can hold that
        # weight while the controller scales the canary to 100% (engines/argo_rollouts.py git_steps)
        state = EnvState(phase="stable", stable_image=image, step=current.step, weight=current.weight, since=since,
                         active_colour=current.active_colour)
        summary = f"promote {image.ref} to 100%"
        details = f"After {why}, {image.ref} replaces {current.stable_image.ref} as stable."
    return Transition("promote", state, summary, n, n, 100, image, details)


def _finish_promotion(release: Release, env: Environment, current: EnvState, now: datetime) -> Transition:
    n = step_count(release, env)
    image = current.stable_image
    state = EnvState(phase="stable", stable_image=image, since=format_time(now), active_colour=current.active_colour)
    if isinstance(release.strategy, BlueGreenStrategy):
        old = current.idle_colour
        summary = f"promoted {image.ref}: {old} scaled down"
        details = f"The scale-down delay has passed; {current.active_colour} serves {image.ref}."
    else:
        summary = f"promoted {image.ref}: canary down"
        details = f"The settle delay has passed; all traffic on {image.ref}, the canary at 0 replicas."
    return Transition("promote", state, summary, n, n, 100, image, details)


# -- abort --------------------------------------------------------------------------------------------------


def plan_abort(release: Release, env: Environment, current: EnvState | None, now: datetime) -> Plan:
    stop = _nothing_in_flight(release, env, current, "abort")
    if stop is not None:
        return stop
    assert current is not None
    if current.phase == "promoting":
        if isinstance(release.strategy, BlueGreenStrategy):
            return _abort_switch(release, env, current, now)
        return Refusal(
            f"{release.name}/{env.name}: the promotion of {current.stable_image.ref} is under way and the stable "
            "Deployment already runs it; to roll back, release the previous image"
        )
    return _abort(release, env, normalise(env, current), now, "`rollgen abort`")


def _abort(release: Release, env: Environment, current: EnvState, now: datetime, why: str) -> Transition:
    image = current.canary_image
    assert image is not None
    # ready_first: the weight comes off now, the pods (still sized for the step) on the next `advance`
    pods_step = max(1, current.step) if ready_first(release) else 0
    state = EnvState(
        phase="aborted", stable_image=current.stable_image, canary_image=image, step=pods_step,
        since=format_time(now), active_colour=current.active_colour,
    )
    summary = f"abort {what_starts(release)} of {image.ref}: all traffic on {current.stable_image.ref}"
    details = f"Aborted by {why} at {_stage(release, env, current)}; stable is untouched."
    if pods_step:
        details += " The canary pods go on the next `rollgen advance`, once the weight is off everywhere."
    return Transition("abort", state, summary, 0, step_count(release, env), 0, image, details)


def _abort_switch(release: Release, env: Environment, current: EnvState, now: datetime) -> Transition:
    """Blue-green between its two promotion commits: the old colour still runs, so switch back to it."""
    new, old = current.stable_image, current.canary_image
    assert old is not None
    back = current.idle_colour
    state = EnvState(phase="aborted", stable_image=old, canary_image=new, since=format_time(now), active_colour=back)
    summary = f"abort {new.ref}: live traffic back to {back} ({old.ref})"
    details = f"Aborted by `rollgen abort` during the switch; {back} still ran {old.ref}."
    return Transition("abort", state, summary, 0, step_count(release, env), 0, new, details)


def _controller_hint(release: Release, env: Environment, verb: str) -> str:
    how = engine_for(release.engine).by_hand(release, env, verb)
    return (
        f"{release.name} uses progression: controller, so the {release.engine} controller steps it, not git; "
        f"to {verb}, use {how}"
    )
