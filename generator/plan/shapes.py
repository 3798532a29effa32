"""The shapes of a progression: what a release's engine, strategy and router make of its steps (mode, how many
commits a promotion takes, whether pods come before weight), read by the planner (plan/progression.py) and the
commands that show or undo what it planned.
"""

from __future__ import annotations

from generator.records import replace
from typing import Literal

from generator.model import BlueGreenStrategy, CanaryStrategy, Environment, EnvState, Release
from generator.render.engines import engine_for
from generator.router_facts import facts

Mode = Literal["canary", "blue-green", "controller", "unsupported"]


def mode(release: Release) -> Mode:
    if release.progression == "controller":
        return "controller"
    if isinstance(release.strategy, CanaryStrategy):
        return "canary"
    if isinstance(release.strategy, BlueGreenStrategy):
        return "blue-green"
    return "unsupported"


def two_commit_promotion(release: Release) -> bool:
    """The nginx engine holds traffic (canary) or the old colour (blue-green) while the new stable pods roll
    out; Argo Rollouts does both itself (its own scale-down delay), so one commit promotes."""
    return engine_for(release.engine).two_commit_promotion


def ready_first(release: Release) -> bool:
    """Plain Deployments behind an Envoy router (gateway-api, istio) move pods and weight in separate commits.

    Envoy's weighted clusters are not health-aware: a weight on a Service with no Ready pod answers 503 for that
    share (ingress-nginx drops an empty backend instead). So a canary starts at step 0 (its pods, no weight),
    and the weight comes off before the pods go: a promotion drains the canary to 0% a commit before it scales
    down, and an abort takes the weight off at once and the pods on the next `advance`. Each such commit waits
    the settle delay after the one before, so that Argo CD or Flux has applied it (Flux `wait: true` then
    applies the next only once the pods are Ready)."""
    return (
        engine_for(release.engine).two_commit_promotion
        and isinstance(release.strategy, CanaryStrategy)
        and facts(release.router).ready_first
    )


def step_count(release: Release, env: Environment) -> int:
    """The denominator of Rollgen-Step: the canary steps, or the one preview stage of a blue-green release."""
    if isinstance(release.strategy, BlueGreenStrategy):
        return 1
    return len(env.steps)


def normalise(env: Environment, state: EnvState) -> EnvState:
    """A canary whose spec lost steps since it started stands at the last step that still exists."""
    if state.phase == "progressing" and env.steps and state.step > len(env.steps):
        last = len(env.steps)
        return replace(state, step=last, weight=env.steps[last - 1].weight)
    return state
