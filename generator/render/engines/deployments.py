"""The deployments engine: plain Deployments, whose traffic weights git moves one step a commit through the router.

Canary: a stable and a canary track, each a Deployment and a Service; the router writes the split (ingress-nginx:
a canary Ingress repeating the stable Ingress's host, path, pathType, class and TLS carries the weight). Blue-green: two colour Deployments, a live
Service and a preview Service; promotion flips the live Service's selector.
"""

from __future__ import annotations

import math
from typing import Any

from generator import names, workload
from generator.records import replace
from generator.render.engines import ImageSlot, Manifest, Rendered, Renderer, common, sides
from generator.model import BlueGreenStrategy, CanaryStrategy, Colour, EnvState, Environment, Image, Release
from generator.model import other_colour
from generator.render.routers import Split, Switch, router_for

TRACK = "rollgen.io/track"
COLOUR = "rollgen.io/colour"
COLOURS: tuple[Colour, ...] = ("blue", "green")


def render(release: Release, env: Environment, state: EnvState) -> Rendered:
    strategy = release.strategy
    if isinstance(strategy, CanaryStrategy):
        return _render_canary(release, env, state, strategy)
    if isinstance(strategy, BlueGreenStrategy):
        return _render_blue_green(release, env, state, strategy)
    raise ValueError(f"the deployments engine has no {strategy.kind} strategy (use engine: flagger for A/B tests)")


# -- canary -------------------------------------------------------------------------------------------------


def canary_replicas(env: Environment, weight: int) -> int:
    """Enough canary pods for its share of traffic, at least one while it takes any."""
    if weight <= 0:
        return 0
    return max(1, math.ceil(env.replicas * weight / 100))


def capacity_weight(env: Environment, state: EnvState) -> int:
    """The share the canary Deployment is sized for: the live weight, or the next step's when it is larger.

    Scale first, then shift. ingress-nginx splits traffic over ready endpoints only, and a commit that raised
    replicas and `canary-weight` together would put the whole new share on the pods already up until the new
    ones are Ready. So each step's commit already runs the pods the next step needs, and the next commit only
    moves the weight onto pods that are up (DESIGN.md "Scale first, then shift"). The last step's next share is
    its own: promotion keeps the weight while the stable Deployment takes the new image.
    """
    weight = state.live_weight(env)
    if state.phase == "progressing" and state.step < len(env.steps):
        return max(weight, env.steps[state.step].weight)
    if state.phase in ("promoting", "aborted") and weight == 0 and 1 <= state.step <= len(env.steps):
        # plan.shapes.ready_first: the weight is off, the pods stay a commit longer (Envoy routers)
        return env.steps[state.step - 1].weight
    return weight


def canary_image(state: EnvState) -> Image:
    """What the canary Deployment runs: the canary image, else the stable one (so it is ready to scale)."""
    return state.canary_image or state.stable_image


def _render_canary(release: Release, env: Environment, state: EnvState, strategy: CanaryStrategy) -> Rendered:
    name, canary = release.name, names.canary(release.name)
    weight = state.live_weight(env)
    pods = canary_replicas(env, capacity_weight(env, state))
    manifests: tuple[Manifest, ...] = (
        common.deployment(name, release, env, env.replicas, name, **{TRACK: "stable"}),
        common.deployment(canary, release, env, pods, canary, **{TRACK: "canary"}),
        common.service(name, release, env, common.selector(release, **{TRACK: "stable"})),
        common.service(canary, release, env, common.selector(release, **{TRACK: "canary"})),
        # the router writes the split: canary Ingresses, an HTTPRoute or a VirtualService. Only while a canary is
        # in flight does it route to the canary (an idle canary backend with no endpoints makes ingress-nginx log
        # "no alternative balancer" at ERROR for every request).
        *router_for(release.router).weighted(release, env, strategy, Split(name, canary, weight, state.in_flight)),
    )
    images = (ImageSlot(name, state.stable_image), ImageSlot(canary, canary_image(state)))
    configurations = router_for(release.router).kustomize_configurations
    return Rendered(manifests=manifests, images=images, kustomize_configurations=configurations)


# -- blue-green ---------------------------------------------------------------------------------------------


def colour_image(state: EnvState, colour: str) -> Image:
    """The live colour serves the stable image; the idle one holds the new (or aborted) image, if any."""
    return state.stable_image if colour == state.active_colour else canary_image(state)


def colour_replicas(env: Environment, state: EnvState, colour: str) -> int:
    """The idle colour runs at full size while it is previewed, and while a promotion's old colour drains."""
    if colour == state.active_colour or state.in_flight:
        return env.replicas
    return 0


def _render_blue_green(
    release: Release, env: Environment, state: EnvState, strategy: BlueGreenStrategy
) -> Rendered:
    name, preview = release.name, names.preview(release.name)
    deployments = tuple(
        common.deployment(
            names.colour(name, colour),
            release,
            env,
            colour_replicas(env, state, colour),
            names.colour(name, colour),
            **{COLOUR: colour},
        )
        for colour in COLOURS
    )
    services = (
        common.service(name, release, env, common.selector(release, **{COLOUR: state.active_colour})),
        common.service(preview, release, env, common.selector(release, **{COLOUR: state.idle_colour})),
    )
    switch = Switch(name, preview, env.preview_host, preview)
    routes = router_for(release.router).switched(release, env, switch)
    manifests: tuple[Manifest, ...] = (*deployments, *services, *routes)
    images = tuple(ImageSlot(names.colour(name, c), colour_image(state, c)) for c in COLOURS)
    configurations = router_for(release.router).kustomize_configurations
    return Rendered(manifests=manifests, images=images, kustomize_configurations=configurations)


# -- two tracks: each side its own pod inputs (the Engine record's hooks, render/engines/__init__.py) -------------


def render_sides(render: Renderer, release: Release, env: Environment, state: EnvState) -> Rendered:
    """Stable and canary run side by side: the canary Deployment (or the idle colour) from the canary's pod
    inputs, the stable one (or the live colour) from the stable's. Each Deployment reads config generated under
    its own name (`own_config`)."""
    canary_env = sides.canary_environment(env, state)
    rendered = render(release, canary_env, state)
    stable_env = sides.stable_environment(env, state)
    stable: dict[tuple[str, str], Manifest] = {}
    if stable_env.workload != canary_env.workload:
        stable = {(m["kind"], m["metadata"]["name"]): m for m in render(release, stable_env, state).manifests}
    serving = stable_workload_names(release, state)
    manifests = tuple(
        own_config(release, stable.get((m["kind"], name), m) if name in serving else m)
        if m["kind"] == "Deployment" and (name := m["metadata"]["name"]) else m
        for m in rendered.manifests
    )
    return replace(rendered, manifests=manifests)


def config_readers(release: Release, env: Environment, state: EnvState) -> list[tuple[str, Environment]]:
    """The two tracks or two colours each read their own config (own_config), from their own side."""
    stable_names = stable_workload_names(release, state)
    if isinstance(release.strategy, BlueGreenStrategy):
        readers = [names.colour(release.name, colour) for colour in COLOURS]
    else:
        readers = [release.name, names.canary(release.name)]
    stable_env, canary_env = sides.stable_environment(env, state), sides.canary_environment(env, state)
    return [(reader, stable_env if reader in stable_names else canary_env) for reader in readers]


def stable_workload_names(release: Release, state: EnvState) -> set[str]:
    """The Deployments that serve stable: `N` (canary), the live colour (blue-green)."""
    return {release.name, names.colour(release.name, state.active_colour)}


def own_config(release: Release, deployment: Manifest) -> Manifest:
    """A Deployment `D` reading `D-config-*` instead of `N-config-*` (`N` itself keeps its names).

    Kustomize's hash suffix depends on a ConfigMap's data only, so a Deployment whose own config is unchanged
    keeps referring to the same ConfigMap name, and its pod template does not change: a config-only canary never
    restarts the stable track (or the live colour), and a promotion never restarts the canary pods that still
    hold their weight."""
    name = deployment["metadata"]["name"]
    if name == release.name:
        return deployment
    old = (workload.config_env_name(release.name), workload.config_files_name(release.name))
    new = (workload.config_env_name(name), workload.config_files_name(name))
    renamed: Manifest = _renamed(deployment, dict(zip(old, new)))
    return renamed


def _renamed(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "name" and isinstance(value, str) and value in renames:
                out[key] = renames[value]
            else:
                out[key] = _renamed(value, renames)
        return out
    if isinstance(node, list):
        return [_renamed(item, renames) for item in node]
    return node


def new_version(name: str, blue_green: bool, active_colour: Colour) -> str:
    """The workload running the new version: the canary track, or the idle colour."""
    return names.colour(name, other_colour(active_colour)) if blue_green else names.canary(name)


def longest_wait(release: Release, env: Environment) -> int:
    """Plain Deployments are never InProgress on their own beyond Flux's own wait."""
    return 0


HEALTH_CHECK = None  # Flux knows a Deployment's health


def by_hand(release: Release, env: Environment, verb: str) -> str:
    """Never asked: plain Deployments have no controller to step them (the checks refuse progression: controller)."""
    return f"`rollgen {verb}`"


def rolling_marker(release: Release) -> tuple[str, str]:
    """(kind, name) of the object a rolling overlay deletes from the base: the canary track, or the blue colour."""
    if isinstance(release.strategy, BlueGreenStrategy):
        return "deployment", names.colour(release.name, "blue")
    return "deployment", names.canary(release.name)


def rolling_outage(release: Release, to_rolling: bool) -> str:
    """What switching a released environment to (or from) a rolling update in one commit breaks."""
    if isinstance(release.strategy, BlueGreenStrategy):
        if to_rolling:
            return "the pruned colour Deployments take every serving pod with them"
        return f"the pruned Deployment {release.name} takes every serving pod with it"
    return f"the Deployment {release.name} would change its selector, which Kubernetes refuses (it is immutable)"
