"""Argo CD and Flux objects that point the GitOps controller at the generated overlays. Pure: data in, data out."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from generator.engines import Manifest
from generator.model import Engine, Environment, Release

IN_CLUSTER = "https://kubernetes.default.svc"

# Where a controller changes what git declares, so Argo CD must neither report nor undo it.
# Flagger scales its target Deployment to zero; the Rollouts controller adds the pod-template hash to the
# selectors of the stable/canary (active/preview) Services.
_IGNORE: Mapping[Engine, tuple[dict[str, Any], ...]] = {
    "flagger": ({"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]},),
    "argo-rollouts": (
        {"group": "", "kind": "Service", "jqPathExpressions": ['.spec.selector["rollouts-pod-template-hash"]']},
    ),
    "nginx": (),
}

# Flux's default health checks need a Ready condition, which Rollouts and Canaries lack.
# A git-driven Rollout holding at a weight is Paused on purpose: that is its desired state.
HEALTH_CHECK_EXPRS: tuple[dict[str, str], ...] = (
    {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "current": "status.phase in ['Healthy', 'Paused']",
        "inProgress": "status.phase == 'Progressing'",
        "failed": "status.phase == 'Degraded'",
    },
    {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "current": "status.phase in ['Initialized', 'Succeeded']",
        "failed": "status.phase == 'Failed'",
    },
)


def overlay_path(release: Release, env: Environment) -> str:
    return f"apps/{release.name}/overlays/{env.name}"


def app_name(release: Release, env: Environment) -> str:
    return release.name if env.name == "default" else f"{release.name}-{env.name}"


def ignore_differences(engine: Engine) -> list[dict[str, Any]]:
    return [dict(rule) for rule in _IGNORE[engine]]


def _sync_policy(settings: Mapping[str, Any], respect_ignores: bool) -> dict[str, Any]:
    policy: dict[str, Any] = {}
    if settings.get("automated", True):
        policy["automated"] = {
            "prune": bool(settings.get("prune", True)),
            "selfHeal": bool(settings.get("selfHeal", True)),
        }
    options = list(settings.get("syncOptions", ["CreateNamespace=true", "ApplyOutOfSyncOnly=true"]))
    if respect_ignores and "RespectIgnoreDifferences=true" not in options:
        options.append("RespectIgnoreDifferences=true")
    if options:
        policy["syncOptions"] = options
    return policy


def _destination(settings: Mapping[str, Any], namespace: str) -> dict[str, str]:
    if settings.get("destinationName"):
        return {"name": str(settings["destinationName"]), "namespace": namespace}
    return {"server": str(settings.get("destinationServer", IN_CLUSTER)), "namespace": namespace}


def argocd_application(release: Release, env: Environment, settings: Mapping[str, Any], repo_url: str,
                       revision: str) -> Manifest:
    ignores = ignore_differences(release.engine)
    spec: dict[str, Any] = {
        "project": str(settings.get("project", "default")),
        "source": {"repoURL": repo_url, "path": overlay_path(release, env), "targetRevision": revision},
        "destination": _destination(settings, env.namespace),
        "syncPolicy": _sync_policy(settings, bool(ignores)),
    }
    if ignores:
        spec["ignoreDifferences"] = ignores
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": app_name(release, env),
            "namespace": str(settings.get("namespace", "argocd")),
            "labels": {"app.kubernetes.io/managed-by": "rollgen", "rollgen.io/release": release.name},
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
        },
        "spec": spec,
    }


def overlay_params(release: Release, env: Environment) -> dict[str, str]:
    """What the ApplicationSet's git files generator reads from each overlay (apps/N/overlays/E/argocd.json)."""
    return {
        "app": app_name(release, env),
        "release": release.name,
        "environment": env.name,
        "namespace": env.namespace,
        "engine": release.engine,
        "path": overlay_path(release, env),
    }


PARAMS_FILE = "argocd-params.json"


def argocd_applicationset(settings: Mapping[str, Any], repo_url: str, revision: str) -> Manifest:
    """One ApplicationSet for every release and environment, driven by the params file in each overlay."""
    template = {
        "metadata": {
            "name": "{{ .app }}",
            "labels": {"app.kubernetes.io/managed-by": "rollgen", "rollgen.io/release": "{{ .release }}"},
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
        },
        "spec": {
            "project": str(settings.get("project", "default")),
            "source": {"repoURL": repo_url, "path": "{{ .path }}", "targetRevision": revision},
            "destination": _destination(settings, "{{ .namespace }}"),
            "syncPolicy": _sync_policy(settings, True),
        },
    }
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {
            "name": str(settings.get("applicationSetName", "rollgen")),
            "namespace": str(settings.get("namespace", "argocd")),
            "labels": {"app.kubernetes.io/managed-by": "rollgen"},
        },
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [
                {
                    "git": {
                        "repoURL": repo_url,
                        "revision": revision,
                        "files": [{"path": f"apps/*/overlays/*/{PARAMS_FILE}"}],
                    }
                }
            ],
            "template": template,
            "templatePatch": _ignore_patch(),
        },
    }


def _ignore_patch() -> str:
    """Go-template text for the per-engine ignoreDifferences: Argo CD's own templating, not ours."""
    lines = ["{{- if eq .engine \"flagger\" }}", "spec:", "  ignoreDifferences:"]
    lines += _yaml_rules(_IGNORE["flagger"])
    lines += ["{{- else if eq .engine \"argo-rollouts\" }}", "spec:", "  ignoreDifferences:"]
    lines += _yaml_rules(_IGNORE["argo-rollouts"])
    lines += ["{{- end }}", ""]
    return "\n".join(lines)


def _yaml_rules(rules: Sequence[Mapping[str, Any]]) -> list[str]:
    # JSON is YAML: each rule on one flow line, escaped by the JSON encoder, never by hand.
    return [f"  - {json.dumps(dict(rule), sort_keys=True)}" for rule in rules]


def flux_git_repository(settings: Mapping[str, Any], repo_url: str, revision: str) -> Manifest:
    spec: dict[str, Any] = {
        "interval": str(settings.get("sourceInterval", "1m")),
        "url": repo_url,
        "ref": {"branch": revision},
    }
    if settings.get("secretRef"):
        spec["secretRef"] = {"name": str(settings["secretRef"])}
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": str(settings.get("sourceName", "rollgen")), "namespace": _flux_ns(settings)},
        "spec": spec,
    }


def _flux_ns(settings: Mapping[str, Any]) -> str:
    return str(settings.get("namespace", "flux-system"))


def flux_kustomization(release: Release, env: Environment, settings: Mapping[str, Any]) -> Manifest:
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {
            "name": app_name(release, env),
            "namespace": _flux_ns(settings),
            "labels": {"app.kubernetes.io/managed-by": "rollgen", "rollgen.io/release": release.name},
        },
        "spec": {
            "interval": str(settings.get("interval", "1m")),
            "path": f"./{overlay_path(release, env)}",
            "prune": bool(settings.get("prune", True)),
            "sourceRef": {"kind": "GitRepository", "name": str(settings.get("sourceName", "rollgen"))},
            "targetNamespace": env.namespace,
            "wait": True,
            "timeout": str(settings.get("timeout", "5m")),
            "healthCheckExprs": [dict(expr) for expr in HEALTH_CHECK_EXPRS],
        },
    }
