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
from generator.model import EnvState, Environment, Image, Release

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
    canary's pod inputs, the stable one (or the live colour) from the stable's."""
    canary_env = canary_environment(env, state)
    rendered = render(release, canary_env, state)
    stable_env = stable_environment(env, state)
    if stable_env.workload == canary_env.workload:
        return rendered
    stable = {(m["kind"], m["metadata"]["name"]): m for m in render(release, stable_env, state).manifests}
    names = stable_workload_names(release, state)
    rename = stable_env.workload.config != canary_env.workload.config
    manifests = tuple(
        with_stable_config(release, stable[(m["kind"], name)], rename) if m["kind"] == "Deployment"
        and (name := m["metadata"]["name"]) in names else m
        for m in rendered.manifests
    )
    return replace(rendered, manifests=manifests)


def stable_workload_names(release: Release, state: EnvState) -> set[str]:
    """The deployments engine's Deployments that serve stable: `N` (canary), the live colour (blue-green)."""
    return {release.name, names.colour(release.name, state.active_colour)}


def with_stable_config(release: Release, deployment: Manifest, rename: bool) -> Manifest:
    """The stable Deployment reading `N-stable-config-*` (the stable's config) instead of `N-config-*`."""
    if not rename:
        return deployment
    old = {workload.config_env_name(release.name), workload.config_files_name(release.name)}
    renamed: Manifest = _renamed(deployment, {name: stable_config_name(release.name, name) for name in old})
    return renamed


def stable_config_name(release_name: str, name: str) -> str:
    return name.replace(f"{release_name}-config-", f"{release_name}-stable-config-", 1)


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


def with_stable_generators(release: Release, env: Environment, state: EnvState, kustomization: JSON) -> JSON:
    """The nginx engine mid-canary with a changed config: the stable track's own generators."""
    if release.engine != "deployments" or env.workload.rolling_update is not None:
        return kustomization
    stable_env, canary_env = stable_environment(env, state), canary_environment(env, state)
    if stable_env.workload.config == canary_env.workload.config:
        return kustomization
    entries = workload.kustomize_entries(release.name, release.namespace, stable_env.workload)
    extra = [
        {**generator, "name": stable_config_name(release.name, generator["name"]), "behavior": "create"}
        for generator in entries.get("configMapGenerator", [])
    ]
    if not extra:
        return kustomization
    out = dict(kustomization)
    out["configMapGenerator"] = [*out.get("configMapGenerator", []), *extra]
    out["generatorOptions"] = entries["generatorOptions"]
    return out


def base_kustomization(release: Release, kustomization: JSON) -> JSON:
    """The base's kustomization with the release-level config generators."""
    return {**kustomization, **workload.kustomize_entries(release.name, release.namespace, release.workload)}


def overlay_kustomization(
    release: Release, env: Environment, kustomization: JSON, state: EnvState, base: Release | None = None
) -> JSON:
    """An overlay's kustomization with its own config (replacing the base's when it differs) and the spec's
    patches after rollgen's own, so a patch sees the environment's final objects. `base`: the release the base
    was rendered from, when the environment is rendered from another version of the spec (gitops/pinned.py)."""
    out = dict(kustomization)
    base = base or release
    config_env = config_environment(release, env, state)
    if config_env.workload.config != base.workload.config:
        entries = workload.kustomize_entries(release.name, release.namespace, config_env.workload)
        base_entries = workload.kustomize_entries(base.name, base.namespace, base.workload)
        base_names = {generator["name"] for generator in base_entries.get("configMapGenerator", [])}
        generators = [
            {**generator, "behavior": "replace" if generator["name"] in base_names else "create"}
            for generator in entries.get("configMapGenerator", [])
        ]
        if generators:
            out["configMapGenerator"] = generators
            out["generatorOptions"] = entries["generatorOptions"]
    out = with_stable_generators(release, env, state, out)
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


def config_environment(release: Release, env: Environment, state: EnvState) -> Environment:
    """The environment whose config the `N-config-*` generators hold: the nginx engine's canary track, or the
    one template of the other engines. The nginx stable track reads `N-stable-config-*` when its config differs."""
    if release.engine == "deployments" and env.workload.rolling_update is None:
        return canary_environment(env, state)
    return template_environment(release, env, state)
