"""Flux: the GitRepository, a Kustomization per released environment (with health checks for Rollouts and
Canaries, and a timeout that outlasts the engine's own wait), the root Kustomization."""

from __future__ import annotations

import math
import re
from typing import Any

from generator import durations
from generator.model import Environment, Release
from generator.render.engines import Manifest, engine_for
from generator.wiring.settings import FLUX_DIR, Flux, app_name, overlay_path, wiring_labels

_GO_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_GO_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def health_timeout(release: Release, env: Environment, flux: Flux) -> str:
    """The Kustomization timeout: flux.timeout for the objects to become ready, plus the longest time the
    engine stays InProgress on its own (a step's pause and analysis, Flagger's whole run). A shorter timeout
    turns the Kustomization Ready=False while the step is still healthy."""
    longest = engine_for(release.engine).longest_wait(release, env)
    if not longest:
        return flux.timeout
    configured = math.ceil(sum(float(n) * _GO_UNIT[u] for n, u in _GO_PART.findall(flux.timeout)))
    return durations.format_go(configured + longest)


def git_repository(flux: Flux) -> Manifest:
    spec: dict[str, Any] = {"interval": flux.source_interval, "url": flux.url, "ref": {"branch": flux.branch}}
    if flux.secret_ref:
        spec["secretRef"] = {"name": flux.secret_ref}
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": flux.source_name, "namespace": flux.namespace, "labels": wiring_labels()},
        "spec": spec,
    }


def kustomization(release: Release, env: Environment, flux: Flux, prefix: str = "") -> Manifest:
    spec: dict[str, Any] = {
        "interval": flux.interval,
        "path": f"./{overlay_path(release, env, prefix)}",
        "prune": flux.prune,
        "sourceRef": {"kind": "GitRepository", "name": flux.source_name},
        "targetNamespace": env.namespace,
        "timeout": health_timeout(release, env, flux) if flux.wait else flux.timeout,
    }
    if env.cluster:
        # A remote cluster: the kubeconfig in Secret `<cluster>-kubeconfig` (Cluster API's name for it).
        spec["kubeConfig"] = {"secretRef": {"name": kubeconfig_secret(env.cluster)}}
    if flux.wait:
        spec["wait"] = True
        # Rollouts and Canaries lack the Ready condition Flux's default check reads: the engine's own expressions,
        # evaluated only when the Kustomization waits, so written only together with `wait`
        expr = engine_for(release.engine).health_check
        if expr is not None:
            spec["healthCheckExprs"] = [dict(expr)]
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": app_name(release, env), "namespace": flux.namespace, "labels": wiring_labels(release, env)},
        "spec": spec,
    }


def kubeconfig_secret(cluster: str) -> str:
    return f"{cluster}-kubeconfig"


def root_kustomization(flux: Flux, root_name: str, prefix: str = "") -> Manifest:
    """Applies flux/ (Flux generates the kustomization.yaml for a plain folder): releases come and go by commit.

    Applied once by hand together with the GitRepository; it then manages both, and itself."""
    return folder_kustomization(flux, root_name, f"{prefix}{FLUX_DIR}")


def folder_kustomization(flux: Flux, name: str, path: str) -> Manifest:
    """A Flux Kustomization applying one folder of the repo from the GitRepository, with the config's settings."""
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": flux.namespace, "labels": wiring_labels()},
        "spec": {
            "interval": flux.interval,
            "path": f"./{path}",
            "prune": flux.prune,
            "sourceRef": {"kind": "GitRepository", "name": flux.source_name},
            "timeout": flux.timeout,
        },
    }
