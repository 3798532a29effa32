"""Flux: the GitRepository, a Kustomization per released environment (with health checks for Rollouts and
Canaries, and a timeout that outlasts the engine's own wait), the root Kustomization."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from generator import durations
from generator.model import Environment, Release
from generator.render.engines import Manifest
from generator.wiring.settings import FLUX_DIR, Flux, app_name, labels, overlay_path

# Flux's default health checks need a Ready condition, which Rollouts and Canaries lack. The expressions are
# evaluated only when the Kustomization waits (`wait: true`) or lists healthChecks; without that they would be
# dead text, so they are written only together with `wait`. A git-driven Rollout holding at a weight is Paused
# on purpose: that is its desired state.
#
# Neither status may be read before its controller has seen the commit, or Flux reports Ready from the phase
# the previous commit left (a stale Paused or Succeeded):
# - a Rollout's `status.observedGeneration` is a string, so Flux skips its own generation check; the
#   expressions compare it with `string(metadata.generation)`, as Argo CD and Argo Rollouts' GetRolloutPhase do;
# - a Canary has no observedGeneration, and git changes the Deployment, not the Canary. The Flagger renderer
#   stamps the Canary with the time of the commit's action (engines/flagger.py APPLIED_AT); Flagger's
#   `status.lastTransitionTime` moves past it only once Flagger has acted on that revision. Without the stamp
#   (a plain `rollgen render`) the phase alone decides.
# `has()` guards every status field: Flux waits out the whole timeout on a field that does not exist yet.
_ROLLOUT_SEEN = "has(status.observedGeneration) && status.observedGeneration == string(metadata.generation)"
_CANARY_SEEN = (
    "!has(metadata.annotations) || !('rollgen.io/applied-at' in metadata.annotations) || "
    "(has(status.lastTransitionTime) && "
    "timestamp(status.lastTransitionTime) > timestamp(metadata.annotations['rollgen.io/applied-at']))"
)
HEALTH_CHECK_EXPRS: Mapping[str, dict[str, str]] = {
    "argo-rollouts": {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "current": f"{_ROLLOUT_SEEN} && has(status.phase) && status.phase in ['Healthy', 'Paused']",
        "inProgress": f"!({_ROLLOUT_SEEN}) || !has(status.phase) || status.phase == 'Progressing'",
        "failed": f"{_ROLLOUT_SEEN} && has(status.phase) && status.phase == 'Degraded'",
    },
    "flagger": {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "current": f"({_CANARY_SEEN}) && has(status.phase) && status.phase in ['Initialized', 'Succeeded']",
        "inProgress": f"!({_CANARY_SEEN}) || !has(status.phase)",
        "failed": f"({_CANARY_SEEN}) && has(status.phase) && status.phase == 'Failed'",
    },
}
_GO_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_GO_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def health_timeout(release: Release, env: Environment, flux: Flux) -> str:
    """The Kustomization timeout: flux.timeout for the objects to become ready, plus the longest time the
    engine stays InProgress on its own (a step's pause and analysis, Flagger's whole run). A shorter timeout
    turns the Kustomization Ready=False while the step is still healthy."""
    longest = longest_wait(release, env)
    if not longest:
        return flux.timeout
    configured = math.ceil(sum(float(n) * _GO_UNIT[u] for n, u in _GO_PART.findall(flux.timeout)))
    return durations.format_go(configured + longest)


def longest_wait(release: Release, env: Environment) -> int:
    """Seconds the engine may report InProgress after a commit without anything being wrong."""
    if release.engine == "flagger":
        from generator.render.engines import flagger

        return flagger.run_seconds(release, env)
    if release.engine == "argo-rollouts":
        from generator.render.engines import argo_rollouts

        return argo_rollouts.longest_step_seconds(release, env)
    return 0


def git_repository(flux: Flux) -> Manifest:
    spec: dict[str, Any] = {"interval": flux.source_interval, "url": flux.url, "ref": {"branch": flux.branch}}
    if flux.secret_ref:
        spec["secretRef"] = {"name": flux.secret_ref}
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": flux.source_name, "namespace": flux.namespace, "labels": labels()},
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
        expr = HEALTH_CHECK_EXPRS.get(release.engine)
        if expr is not None:
            spec["healthCheckExprs"] = [dict(expr)]
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": app_name(release, env), "namespace": flux.namespace, "labels": labels(release, env)},
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
        "metadata": {"name": name, "namespace": flux.namespace, "labels": labels()},
        "spec": {
            "interval": flux.interval,
            "path": f"./{path}",
            "prune": flux.prune,
            "sourceRef": {"kind": "GitRepository", "name": flux.source_name},
            "timeout": flux.timeout,
        },
    }
