"""The workload's part of a render that is not a pod template: the PodDisruptionBudget, an environment's plain
rolling update instead of the engine's objects, and the kustomization entries (config generators, patches).

generator/layout.py calls these around each engine's renderer, so no engine needs to know about them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from generator import workload
from generator.engines import ImageSlot, Manifest, Rendered, Renderer, common
from generator.model import EnvState, Environment, Image, Release

JSON = dict[str, Any]


def render_environment(render: Renderer, release: Release, env: Environment, state: EnvState) -> Rendered:
    """The engine's objects (or a plain rolling Deployment), plus the PDB."""
    if env.workload.rolling_update is not None:
        rendered = render_rolling(release, env, state)
    else:
        rendered = render(release, env, state)
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
        common.ingress(name, release, env, name, env.host),
    ]
    hpa = common.hpa(name, "Deployment", "apps/v1", release, env)
    if hpa is not None:
        manifests.append(hpa)
    return Rendered(manifests=tuple(manifests), images=(ImageSlot(name, running_image(state)),))


def base_kustomization(release: Release, kustomization: JSON) -> JSON:
    """The base's kustomization with the release-level config generators."""
    return {**kustomization, **workload.kustomize_entries(release.name, release.namespace, release.workload)}


def overlay_kustomization(release: Release, env: Environment, kustomization: JSON) -> JSON:
    """An overlay's kustomization with its own config (replacing the base's when it differs) and the spec's
    patches after rollgen's own, so a patch sees the environment's final objects."""
    out = dict(kustomization)
    if env.workload.config != release.workload.config:
        entries = workload.kustomize_entries(release.name, release.namespace, env.workload)
        base_entries = workload.kustomize_entries(release.name, release.namespace, release.workload)
        base_names = {generator["name"] for generator in base_entries.get("configMapGenerator", [])}
        generators = [
            {**generator, "behavior": "replace" if generator["name"] in base_names else "create"}
            for generator in entries.get("configMapGenerator", [])
        ]
        if generators:
            out["configMapGenerator"] = generators
            out["generatorOptions"] = entries["generatorOptions"]
    patches = workload.kustomize_patches(env.workload)
    if patches:
        out["patches"] = [*out.get("patches", []), *patches]
    return out
