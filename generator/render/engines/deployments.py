"""The deployments engine: plain Deployments, whose traffic weights git moves one step a commit through the router.

Canary: a stable and a canary track, each a Deployment and a Service; the router writes the split (ingress-nginx:
a canary Ingress repeating the stable Ingress's host, path, pathType, class and TLS carries the weight). Blue-green: two colour Deployments, a live
Service and a preview Service; promotion flips the live Service's selector.
"""

from __future__ import annotations

import math

from generator import names
from generator.render.engines import ImageSlot, Manifest, Rendered, common
from generator.model import BlueGreenStrategy, CanaryStrategy, Colour, EnvState, Environment, Image, Release
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
        # plan.progression.ready_first: the weight is off, the pods stay a commit longer (Envoy routers)
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
