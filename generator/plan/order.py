"""Environments in order: `environments[].after` and `soak` (CONTRACT §1c).

A version is the pod's whole input: the image and what else runs in the pod (container, pod, security, config: the
pod-input fingerprint the state files record, generator/workload.py `pod_inputs`), not a tag. An environment E with
`after: U` takes the version the spec gives it only once U's state is stable on E's image with the pod inputs the
same spec gives U, and has been for `soak`, counted from the `since` of U's state, the time of the commit that made
it stable (as `rollgen history` shows it and as every pause is timed). Environment-specific overrides (prod's own
memory limit, say) are not part of what is compared: U's pod inputs are compared with U's own entry of the spec,
so prod waits for what staging was given. A U rolled back (its entry pinned to the old image, or running older pod
inputs than its entry gives it) never passes the newer version on.

Pure, like progression.py: the spec, the states, `now` -> a Wait or None. gitops/workflow.py asks it before any
commit that would put a new version into an environment (a start, a deploy); advance carries a waiting environment
on (`carrying`), and `rollgen status` shows the wait.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from generator.clock import format_time, parse_time
from generator.model import Environment, EnvState, Image, Release
from generator.plan.progression import Gate, Plan, Transition, format_duration
from generator.records import dataclass

Planner = Callable[[Release, Environment, "EnvState | None", datetime], Plan]


@dataclass(frozen=True)
class Wait:
    """Why an environment does not take its version yet."""

    upstream: str  # the environment it follows
    image: Image  # the version waited for: the upstream's image (its pod inputs too, not shown)
    reason: str  # one line: what it waits for
    until: str = ""  # RFC 3339: when the soak ends; "" while the upstream has not promoted the version

    def as_json(self) -> dict[str, Any]:
        return {"for": self.upstream, "image": self.image.ref, "reason": self.reason, "until": self.until or None}


def version(env: Environment) -> tuple[Image, str]:
    """What the spec gives `env` to run: its image and its pod inputs ("" for the defaults)."""
    from generator.workload import pod_inputs

    return env.image, pod_inputs(env.workload)


def runs(state: EnvState | None) -> tuple[Image, str] | None:
    """The version an environment runs as stable, None without a state."""
    return None if state is None else (state.stable_image, state.stable_pod)


def starts_version(plan: Plan) -> bool:
    """Whether the plan puts a version into the environment (what `after` holds back): a start or a deploy.
    Aborts, steps, promotions, checks and rollbacks move what is already there."""
    return isinstance(plan, Transition) and plan.action in ("start", "deploy")


def wait_for(release: Release, env: Environment, states: Mapping[str, EnvState], now: datetime) -> Wait | None:
    """Why `env` cannot take its version at `now`, or None when it can (or follows nobody)."""
    if env.after is None:
        return None
    upstream = release.environment(env.after)
    image, pod = env.image, version(upstream)[1]  # this environment's image, as the spec gives the upstream
    state = states.get(upstream.name)
    what = f"{upstream.name} to promote {image.ref}" + (" (with this spec's pod inputs)" if pod else "")
    if state is None:
        return Wait(upstream.name, image, f"waits for {what}: {upstream.name} is not released yet")
    if runs(state) != (image, pod) or state.phase != "stable":
        return Wait(upstream.name, image, f"waits for {what}: {upstream.name} {_stands(state, image, pod)}")
    try:
        since = parse_time(state.since)
    except (ValueError, OverflowError):
        return Wait(upstream.name, image, f"waits for {upstream.name}: its state has no valid 'since' to count "
                    f"the soak from")
    due = since + timedelta(seconds=env.soak)
    if now < due:
        left = int((due - now).total_seconds() + 0.999)
        reason = (f"waits for {image.ref} to soak in {upstream.name} until {format_time(due)} "
                  f"({format_duration(left)} left of {format_duration(env.soak)}, promoted there at {state.since})")
        return Wait(upstream.name, image, reason, format_time(due))
    return None


def _stands(state: EnvState, image: Image, pod: str) -> str:
    """Where the upstream stands instead, for the reason."""
    if state.phase == "aborted" and state.canary_image == image and state.canary_pod == pod:
        return "aborted it"
    if state.phase == "progressing" and state.canary_image == image and state.canary_pod == pod:
        return f"runs it as a canary (step {state.step}{'/' + str(state.steps) if state.steps else ''})"
    if state.phase == "promoting":
        return f"is promoting {state.stable_image.ref}"
    return f"is {state.phase} on {state.stable_image.ref}" + (" with other pod inputs" if (
        state.stable_image == image) else "")


def carrying(advance: Planner, release: Planner) -> Planner:
    """`rollgen advance`: an environment that follows another and has nothing in flight is planned as `release`
    plans it, so the tick starts it once its upstream has promoted and soaked (workflow.decide holds it until
    then); anything in flight steps as before."""

    def plan(rel: Release, env: Environment, current: EnvState | None, now: datetime) -> Plan:
        if env.after is not None and (current is None or not current.in_flight):
            return release(rel, env, current, now)
        return advance(rel, env, current, now)

    return plan


def advance_planner(gate: Gate) -> Planner:
    """The tick's planner (`advance`, `advance --all`): what is in flight steps on; an environment that follows
    another is planned as `release` plans it, so it starts by itself once its upstream has promoted and soaked."""
    from generator.plan.progression import plan_advance, plan_release
    from generator.plan.workload_progression import with_pods

    return carrying(with_pods(partial(plan_advance, gate=gate)), with_pods(plan_release, starts=True))


def in_order(release: Release, names: Sequence[str]) -> list[str]:
    """The environments asked for, each after the one it follows (otherwise in the spec's order): `release`
    without --env deploys an upstream before judging what follows it."""
    done: list[str] = []
    pending = list(names)
    while pending:
        for name in pending:
            after = release.environment(name).after
            if after is None or after not in pending:
                done.append(name)
                pending.remove(name)
                break
        else:  # a cycle: the spec checks refuse it; never loop on one
            done += pending
            break
    return done


def waits(release: Release, states: Mapping[str, EnvState], now: datetime) -> dict[str, Wait]:
    """The environments of `release` that wait at `now`, for `rollgen status`: those that follow another and
    whose next `release` (or tick) would put a new version into them that their upstream has not promoted and
    soaked. An environment whose version already runs (or whose canary of it was aborted) does not wait."""
    from generator.plan.progression import plan_release
    from generator.plan.workload_progression import with_pods

    planner = with_pods(plan_release, starts=True)
    out = {}
    for env in release.environments:
        if env.after is None:
            continue
        current = states.get(env.name)
        if current is not None and current.in_flight:
            continue
        wait = wait_for(release, env, states, now) if starts_version(planner(release, env, current, now)) else None
        if wait is not None:
            out[env.name] = wait
    return out
