"""Which pod inputs each side of a release runs: stable the ones its state records, the canary its own while one
is in flight (plan/workload_progression.py records both). An engine with one pod template (a Rollout, Flagger's
target) renders it from `template_environment`; the deployments engine renders each track from its own side
(engines/deployments.py `render_sides`).
"""

from __future__ import annotations

from generator.records import replace

from generator import workload
from generator.facts import Colour
from generator.model import EnvState, Environment, Release
from generator.render.engines import Rendered, Renderer


def stable_environment(env: Environment, state: EnvState) -> Environment:
    """The environment as stable runs it."""
    return replace(env, workload=workload.workload_from(state.stable_pod, env.workload))


def canary_environment(env: Environment, state: EnvState) -> Environment:
    """The environment as the canary runs it (the stable's when no canary is recorded)."""
    if state.phase in ("progressing", "promoting", "aborted"):
        return replace(env, workload=workload.workload_from(state.canary_pod, env.workload))
    return stable_environment(env, state)


def template_environment(release: Release, env: Environment, state: EnvState) -> Environment:
    """The environment whose pod inputs the engine's one template runs (Rollout, Flagger's target, a rolling
    Deployment): the canary's while one progresses, the stable's otherwise (an abort restores it)."""
    if state.phase == "progressing":
        return canary_environment(env, state)
    return stable_environment(env, state)


# -- what an engine with one pod template gives its Engine record ------------------------------------------------


def one_template(render: Renderer, release: Release, env: Environment, state: EnvState) -> Rendered:
    """Every object from the one template's environment."""
    return render(release, template_environment(release, env, state), state)


def one_reader(release: Release, env: Environment, state: EnvState) -> list[tuple[str, Environment]]:
    """The one template `N` reads config generated under its own name."""
    return [(release.name, template_environment(release, env, state))]


def same_name(name: str, blue_green: bool, active_colour: Colour) -> str:
    """The new version runs in the workload `N` itself (a Rollout's, or Flagger's target's, canary pods)."""
    return name
