"""Any change to what runs is a canary: the pod inputs (container, pod, security, config) in the progression.

The state records the pod inputs that stable runs (`stable_pod`) and, while one is in flight, the canary's
(`canary_pod`), as canonical JSON text. A render draws each side from them, so the stable side keeps the previous
template exactly and an abort restores it. `with_pods` wraps each command's planner:

- a `release` whose spec changed only the pod inputs (same image) starts a canary, as a new image would;
- every transition carries the pod inputs forward (deploy and promotion make the canary's the stable's).

"" stands for the default inputs (no container or pod fields, no config, security restricted), so state files
of releases that use none of these fields stay as they were, and state files written before this existed read
as the default: the first `release` of a spec that adds container fields starts a canary.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from generator.records import replace
from datetime import datetime

from generator import workload
from generator.model import BlueGreenStrategy, EnvState, Environment, Image, Release, engine_label
from generator.plan.progression import Hold, Plan, Transition
from generator.plan.shapes import mode

Planner = Callable[[Release, Environment, EnvState | None, datetime], Plan]


pod_inputs = workload.pod_inputs


def what_changed(old: str, new: str) -> list[str]:
    """The names of what differs, for the commit subject: env, resources, config, security, pod, ..."""
    from generator.workload import DEFAULT_POD_INPUTS

    before, after = json.loads(old or DEFAULT_POD_INPUTS), json.loads(new or DEFAULT_POD_INPUTS)
    out = [key for key in ("security", "config", "pod") if before.get(key) != after.get(key)]
    old_c, new_c = before.get("container", {}), after.get("container", {})
    out += sorted(key for key in old_c.keys() | new_c.keys() if old_c.get(key) != new_c.get(key))
    return out


# -- planning ------------------------------------------------------------------------------------------------


def with_pods(planner: Planner, starts: bool = False, retry: bool = False) -> Planner:
    """The planner, with the pod inputs recorded in every state it plans; with `starts`, a change of the pod
    inputs alone (the `release` command) starts a canary (`retry`: `release --retry`, one that was aborted)."""

    def plan(release: Release, env: Environment, current: EnvState | None, now: datetime) -> Plan:
        result = planner(release, env, current, now)
        inputs = pod_inputs(env.workload)
        if starts and isinstance(result, Hold) and current is not None:
            started = start_for_pod_change(release, env, current, inputs, now, retry)
            if started is not None:
                return with_change(current, started)
        if isinstance(result, Hold) and current is not None and current.stable_pod != inputs:
            if mode(release) == "controller" or env.workload.rolling_update is not None:
                return with_change(current, direct(release, env, current, inputs, now))
        if isinstance(result, Transition):
            result = replace(result, state=carry(current, result, inputs, isinstance(release.strategy, BlueGreenStrategy)))
        return with_change(current, result)

    return plan


def with_change(current: EnvState | None, plan: Plan) -> Plan:
    """A start that names what it changes (trailer Rollgen-Change)."""
    if not isinstance(plan, Transition) or plan.action != "start" or current is None or plan.change:
        return plan
    return replace(plan, change=", ".join(changes(current, plan.state)))


def changes(before: EnvState, after: EnvState) -> list[str]:
    """What the version `after` runs differs in from the stable one of `before`: "image", then the pod inputs
    that differ (env, resources, config, security, pod, ...)."""
    new_image = after.canary_image or after.stable_image
    out = ["image"] if new_image != before.stable_image else []
    new_pod = after.canary_pod if after.in_flight else after.stable_pod
    return out + what_changed(before.stable_pod, new_pod)


def in_flight_changes(state: EnvState) -> list[str]:
    """What the canary in flight changes against stable (for `rollgen status`); [] when nothing is in flight."""
    if not state.in_flight:
        return []
    out = ["image"] if state.canary_image and state.canary_image != state.stable_image else []
    return out + what_changed(state.stable_pod, state.canary_pod)


def start_for_pod_change(
    release: Release, env: Environment, current: EnvState, inputs: str, now: datetime, retry: bool = False
) -> Plan | None:
    from generator.plan.progression import what_starts

    if mode(release) not in ("canary", "blue-green") or env.workload.rolling_update is not None:
        return None
    if current.phase == "stable" and env.image == current.stable_image and current.stable_pod != inputs:
        changed = ", ".join(what_changed(current.stable_pod, inputs))
        summary = f"start {what_starts(release)} of {changed} (image {env.image.ref} unchanged)"
        return _start_pods(release, env, current, inputs, now, summary)
    if current.phase == "aborted" and env.image == current.stable_image and current.stable_pod != inputs:
        return _after_abort(release, env, current, inputs, now, retry)
    if current.phase == "progressing" and current.canary_pod != inputs and (
        current.canary_image == env.image
    ):
        changed = ", ".join(what_changed(current.canary_pod, inputs))
        summary = f"restart {what_starts(release)} with new {changed}"
        return _start_pods(release, env, current, inputs, now, summary, replaced=current.canary_image)
    return None


def _after_abort(
    release: Release, env: Environment, current: EnvState, inputs: str, now: datetime, retry: bool
) -> Plan:
    """A pod change after an abort, the image unchanged: as for a new image there (progression._release_aborted),
    the aborted change again waits for `--retry`, and any other starts a canary."""
    from generator.plan.progression import what_starts

    changed, what = ", ".join(what_changed(current.stable_pod, inputs)), what_starts(release)
    if inputs == current.canary_pod and not retry:
        return Hold(f"nothing to do: the {what} of {changed} was aborted; `rollgen release --retry` starts it again")
    verb = "retry" if inputs == current.canary_pod else "start"
    summary = f"{verb} {what} of {changed} (image {env.image.ref} unchanged)"
    return _start_pods(release, env, current, inputs, now, summary)


def _start_pods(
    release: Release, env: Environment, current: EnvState, inputs: str, now: datetime, summary: str,
    replaced: Image | None = None,
) -> Plan:
    """progression.start_new of the environment's image for a pod change: stable keeps its pod inputs, the canary
    takes `inputs`."""
    from generator.plan.progression import start_new

    started = start_new(release, env, current, env.image, now, summary, replaced=replaced)
    if isinstance(started, Transition):
        state = replace(started.state, stable_pod=current.stable_pod, canary_pod=inputs)
        return replace(started, state=state)
    return started


def direct(release: Release, env: Environment, current: EnvState, inputs: str, now: datetime) -> Transition:
    """A controller (Flagger, Argo Rollouts' own steps) or a rolling update runs the change itself: the new
    pod inputs go straight into the template, at `now` (the time `status` and `history` show)."""
    from generator.clock import format_time
    from generator.plan.shapes import step_count

    changed = ", ".join(what_changed(current.stable_pod, inputs))
    state = replace(current, stable_pod=inputs, since=format_time(now))
    # A rolling update, as for a new image there (progression._release_rolling): a deploy, all traffic on the new
    # template, its Rollgen-Change given here (with_change fills in only a start's).
    rolling = env.workload.rolling_update is not None
    how = "; a rolling update, no canary" if rolling else ""
    who = "Kubernetes rolls the Deployment out by itself" if rolling else (
        f"the {engine_label(release.engine)} controller rolls it out"
    )
    return Transition(
        action="deploy" if rolling else "start",
        state=state,
        summary=f"release new {changed} (image {current.stable_image.ref} unchanged{how})",
        step=0,
        steps=step_count(release, env),
        weight=100 if rolling else 0,
        image=current.stable_image,
        details=f"The pod template changes ({changed}); {who}.",
        change=changed if rolling else "",
    )


def carry(current: EnvState | None, transition: Transition, inputs: str, blue_green: bool = False) -> EnvState:
    """The pod inputs of the state after `transition`. A blue-green promotion's first commit makes the new
    colour's inputs stable and leaves the old colour (the "canary" side until it scales down) its own, so the
    draining pods do not restart; an abort during it swaps them back."""
    state = transition.state
    if state.stable_pod or state.canary_pod or current is None and state.phase != "stable":
        return state  # set by start_for_pod_change or direct
    before_stable = current.stable_pod if current else inputs
    in_flight = current is not None and current.phase in ("progressing", "promoting", "aborted")
    before_canary = current.canary_pod if current and in_flight else inputs
    if state.phase == "stable":
        if current is not None and current.phase == "promoting":  # its second commit: stable is already set
            return replace(state, stable_pod=current.stable_pod, canary_pod="")
        promoted = current is not None and current.in_flight
        return replace(state, stable_pod=before_canary if promoted else inputs, canary_pod="")
    if state.phase == "promoting":
        return replace(state, stable_pod=before_canary, canary_pod=before_stable if blue_green else before_canary)
    if current is not None and current.phase == "promoting":  # blue-green: the abort switches back
        return replace(state, stable_pod=current.canary_pod, canary_pod=current.stable_pod)
    if state.phase == "progressing":
        fresh = transition.action == "start"
        return replace(state, stable_pod=before_stable, canary_pod=inputs if fresh else before_canary)
    return replace(state, stable_pod=before_stable, canary_pod=before_canary)  # aborted
