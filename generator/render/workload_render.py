"""The workload's part of a render that is not a pod template: the PodDisruptionBudget, an environment's plain
rolling update instead of the engine's objects, and the kustomization entries (config generators, patches).

generator/layout.py calls these around each engine's renderer, so no engine needs to know about them.
"""

from __future__ import annotations

from generator.records import replace
from typing import Any

from generator import names, workload
from generator.render.routers import Switch, router_for
from generator.render.engines import ImageSlot, Manifest, Rendered, Renderer, common
from generator.model import BlueGreenStrategy, EnvState, Environment, Image, Release
from generator.render.engines.deployments import COLOURS

JSON = dict[str, Any]


def render_environment(render: Renderer, release: Release, env: Environment, state: EnvState) -> Rendered:
    """The engine's objects (or a plain rolling Deployment), plus the PDB. Each side runs the pod inputs the
    state records for it (workload_progression.py). The engines read `release.analysis`: here it is the one in
    force in `env` (environments[].analysis merged over the release's)."""
    if env.analysis is not None and env.analysis != release.analysis:
        release = replace(release, analysis=env.analysis)
    template_env = template_environment(release, env, state)
    if env.workload.rolling_update is not None:
        rendered = render_rolling(release, template_env, state)
    elif release.engine == "deployments":
        rendered = render_two_tracks(render, release, env, state)
    else:
        rendered = render(release, template_env, state)
    budget = common.disruption_budget(release, env)
    if budget is None:
        return rendered
    return replace(rendered, manifests=(*rendered.manifests, budget))


def render_two_tracks(render: Renderer, release: Release, env: Environment, state: EnvState) -> Rendered:
    """The nginx engine runs stable and canary side by side: the canary Deployment (or the idle colour) from the
    canary's pod inputs, the stable one (or the live colour) from the stable's. Each Deployment reads config
    generated under its own name (`own_config`)."""
    canary_env = canary_environment(env, state)
    rendered = render(release, canary_env, state)
    stable_env = stable_environment(env, state)
    stable: dict[tuple[str, str], Manifest] = {}
    if stable_env.workload != canary_env.workload:
        stable = {(m["kind"], m["metadata"]["name"]): m for m in render(release, stable_env, state).manifests}
    names = stable_workload_names(release, state)
    manifests = tuple(
        own_config(release, stable.get((m["kind"], name), m) if name in names else m)
        if m["kind"] == "Deployment" and (name := m["metadata"]["name"]) else m
        for m in rendered.manifests
    )
    return replace(rendered, manifests=manifests)


def stable_workload_names(release: Release, state: EnvState) -> set[str]:
    """The deployments engine's Deployments that serve stable: `N` (canary), the live colour (blue-green)."""
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


def _renamed(node: Any, names: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "name" and isinstance(value, str) and value in names:
                out[key] = names[value]
            else:
                out[key] = _renamed(value, names)
        return out
    if isinstance(node, list):
        return [_renamed(item, names) for item in node]
    return node


def running_image(state: EnvState) -> Image:
    """A rolling update has no canary: whatever was released last runs."""
    if state.phase == "progressing" and state.canary_image is not None:
        return state.canary_image
    return state.stable_image


def render_rolling(release: Release, env: Environment, state: EnvState) -> Rendered:
    """environments[].strategy.rollingUpdate: one Deployment `N` that Kubernetes rolls by itself, its Service
    and Ingress; no canary objects, whatever the engine."""
    name = release.name
    deployment = common.deployment(name, release, env, None if env.autoscaling else env.replicas, name)
    deployment["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": dict(env.workload.rolling_update or {})}
    manifests: list[Manifest] = [
        deployment,
        common.service(name, release, env, common.selector(release)),
        # the host's route to the one Service, through the release's router (Ingress, HTTPRoute, VirtualService)
        *router_for(release.router).switched(release, env, Switch(name, name, None, name)),
    ]
    hpa = common.hpa(name, "Deployment", "apps/v1", release, env)
    if hpa is not None:
        manifests.append(hpa)
    return Rendered(manifests=tuple(manifests), images=(ImageSlot(name, running_image(state)),))


def config_readers(release: Release, env: Environment, state: EnvState) -> list[tuple[str, Environment]]:
    """(the name its config generators take, the environment whose config they hold) per Deployment that reads
    config: the nginx engine's two tracks or two colours each their own (own_config), the other engines' one
    template (and a rolling environment's one Deployment) `N`."""
    if release.engine != "deployments" or env.workload.rolling_update is not None:
        return [(release.name, template_environment(release, env, state))]
    stable_names = stable_workload_names(release, state)
    if isinstance(release.strategy, BlueGreenStrategy):
        readers = [names.colour(release.name, colour) for colour in COLOURS]
    else:
        readers = [release.name, names.canary(release.name)]
    stable_env, canary_env = stable_environment(env, state), canary_environment(env, state)
    return [(reader, stable_env if reader in stable_names else canary_env) for reader in readers]


def base_kustomization(release: Release, kustomization: JSON) -> JSON:
    """The base's kustomization with the release-level config generators, one set per config reader."""
    base_env = release.base_environment()
    return {**kustomization, **_generators(release, config_readers(release, base_env, EnvState.initial(base_env)))}


def _generators(release: Release, readers: list[tuple[str, Environment]]) -> JSON:
    out: JSON = {}
    for reader, _ in readers:
        entries = workload.kustomize_entries(reader, release.namespace, release.workload)
        if entries:
            out["configMapGenerator"] = [*out.get("configMapGenerator", []), *entries["configMapGenerator"]]
            out["generatorOptions"] = entries["generatorOptions"]
    return out


def overlay_kustomization(
    release: Release, env: Environment, kustomization: JSON, state: EnvState, base: Release | None = None
) -> JSON:
    """An overlay's kustomization with each reader's own config (replacing the base's where it differs) and the
    spec's patches after rollgen's own, so a patch sees the environment's final objects. `base`: the release the
    base was rendered from, when the environment is rendered from another version of the spec (gitops/pinned.py)."""
    out = dict(kustomization)
    base = base or release
    base_env = base.base_environment()
    base_generators = _generators(base, config_readers(base, base_env, EnvState.initial(base_env)))
    base_names = {generator["name"] for generator in base_generators.get("configMapGenerator", [])}
    generators: list[JSON] = []
    options: JSON | None = None
    for reader, reader_env in config_readers(release, env, state):
        if reader_env.workload.config == base.workload.config:
            continue
        entries = workload.kustomize_entries(reader, release.namespace, reader_env.workload)
        generators += [
            {**generator, "behavior": "replace" if generator["name"] in base_names else "create"}
            for generator in entries.get("configMapGenerator", [])
        ]
        options = entries.get("generatorOptions", options)
    if generators:
        out["configMapGenerator"] = generators
        out["generatorOptions"] = options
    patches = workload.kustomize_patches(env.workload)
    if patches:
        out["patches"] = [*out.get("patches", []), *patches]
    return out


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
