"""The workload's part of a render that is not a pod template: the PodDisruptionBudget, an environment's plain
rolling update instead of the engine's objects, and the kustomization entries (config generators, patches). Which
pod inputs each side runs is the engine's (`Engine.render_sides`, `Engine.config_readers`; engines/sides.py).

generator/render/layout.py calls these around each engine's renderer, so no engine needs to know about them.
"""

from __future__ import annotations

from generator.records import replace
from typing import Any

from generator import workload
from generator.render.routers import Switch, router_for
from generator.render.engines import ImageSlot, Manifest, Rendered, Renderer, common, engine_for
from generator.render.engines.sides import template_environment
from generator.model import EnvState, Environment, Image, Release

JSON = dict[str, Any]


def render_environment(render: Renderer, release: Release, env: Environment, state: EnvState) -> Rendered:
    """The engine's objects (or a plain rolling Deployment), plus the PDB. Each side runs the pod inputs the
    state records for it (workload_progression.py). The engines read `release.analysis`: here it is the one in
    force in `env` (environments[].analysis merged over the release's)."""
    if env.analysis is not None and env.analysis != release.analysis:
        release = replace(release, analysis=env.analysis)
    if env.workload.rolling_update is not None:
        rendered = render_rolling(release, template_environment(release, env, state), state)
    else:
        rendered = engine_for(release.engine).render_sides(render, release, env, state)
    budget = common.disruption_budget(release, env)
    if budget is None:
        return rendered
    return replace(rendered, manifests=(*rendered.manifests, budget))


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
    config: the engine's (engines/deployments.py: each track or colour its own), a rolling environment's one
    Deployment `N`."""
    if env.workload.rolling_update is not None:
        return [(release.name, template_environment(release, env, state))]
    return engine_for(release.engine).config_readers(release, env, state)


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
