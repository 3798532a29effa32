"""Argo CD: an Application per released environment (argocd.mode: applications), or one ApplicationSet reading a
params file in each overlay (applicationset); the app of apps; the ignoreDifferences rules both carry."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from generator.model import Environment, EnvState, Release, engine_label
from generator.render.engines import Manifest, engine_for, renderer_for
from generator.wiring.settings import ARGOCD_DIR, IN_CLUSTER, MANAGED_BY, PARAMS_FILE, ArgoCD
from generator.wiring.settings import app_name, overlay_path, wiring_labels

ARGOCD_FINALIZER = "resources-finalizer.argocd.argoproj.io"
RESPECT_IGNORES = "RespectIgnoreDifferences=true"


# -- ignoreDifferences: exactly the fields a controller changes after git declared them ------------------------

# The Rollouts controller adds this key to the selector of every Service a Rollout routes through.
POD_TEMPLATE_HASH = "/spec/selector/rollouts-pod-template-hash"
_ROLLOUT_SERVICES = ("stableService", "canaryService", "activeService", "previewService")


def ignore_differences(release: Release, env: Environment,
                       manifests: Iterable[Manifest] | None = None) -> list[dict[str, Any]]:
    """The ignoreDifferences rules for one environment, derived from what rollgen writes there.

    A rule is emitted only where git declares the field a controller then changes; Argo CD would otherwise
    report the environment OutOfSync forever and, with self-heal, undo the controller:
    - Argo Rollouts adds `rollouts-pod-template-hash` to the selectors of the Services its Rollout names;
    - Flagger scales its target Deployment to 0: a conflict only if git set `spec.replicas`. The Flagger
      renderer never does (an HPA sizes the target), so a Flagger release normally gets no rule at all;
    - an HPA changes `spec.replicas` of its target, again only a conflict if git set them (no renderer does).
    """
    if manifests is None:
        from generator.render.workload_render import render_environment  # a rolling-update environment has no Rollout

        manifests = render_environment(renderer_for(release.engine), release, env, EnvState.initial(env)).manifests
    objects = list(manifests)
    # and the router's: the route weights (and header routes) a controller edits, e.g. Argo Rollouts in an
    # HTTPRoute or a VirtualService (generator/routers); none where rollgen itself writes the weights.
    from generator.render.routers import router_for

    router_rules = router_for(release.router).ignore_rules(objects)
    rules = [*_rollout_service_rules(objects), *_scaled_replica_rules(release, objects), *router_rules]
    unique = {json.dumps(rule, sort_keys=True): rule for rule in rules}
    return [unique[key] for key in sorted(unique)]


def _rollout_service_rules(objects: Sequence[Manifest]) -> Iterator[dict[str, Any]]:
    services = {o["metadata"]["name"] for o in objects if o.get("kind") == "Service"}
    for rollout in (o for o in objects if o.get("kind") == "Rollout"):
        strategy = rollout.get("spec", {}).get("strategy", {})
        for spec in strategy.values():
            for field in _ROLLOUT_SERVICES:
                name = spec.get(field) if isinstance(spec, Mapping) else None
                if name in services:
                    yield {"group": "", "kind": "Service", "name": name, "jsonPointers": [POD_TEMPLATE_HASH]}


def _scaled_replica_rules(release: Release, objects: Sequence[Manifest]) -> Iterator[dict[str, Any]]:
    scaled = {(o["spec"]["scaleTargetRef"]["kind"], o["spec"]["scaleTargetRef"]["name"])
              for o in objects if o.get("kind") == "HorizontalPodAutoscaler"}
    for obj in objects:
        key = (obj.get("kind"), obj["metadata"]["name"])
        if "replicas" not in obj.get("spec", {}):
            continue
        controller_scaled = key[0] == "Deployment" and engine_for(release.engine).scales_its_deployments
        if controller_scaled or key in scaled:
            group = str(obj["apiVersion"]).rpartition("/")[0]
            yield {"group": group, "kind": key[0], "name": key[1], "jsonPointers": ["/spec/replicas"]}


# -- Argo CD --------------------------------------------------------------------------------------------------


def _sync_policy(argo: ArgoCD, respect_ignores: bool) -> dict[str, Any]:
    policy: dict[str, Any] = {}
    if argo.automated:
        policy["automated"] = {"prune": argo.prune, "selfHeal": argo.self_heal}
    options = list(argo.sync_options)
    if respect_ignores and RESPECT_IGNORES not in options:
        options.append(RESPECT_IGNORES)  # without it a sync still writes the ignored fields back
    if options:
        policy["syncOptions"] = options
    return policy


def repo_destination(argo: ArgoCD, namespace: str) -> dict[str, str]:
    return {**dict(argo.destination), "namespace": namespace}


def env_destination(argo: ArgoCD, env: Environment) -> dict[str, str]:
    """Where an environment's Application deploys: its own cluster (environments[].cluster, an Argo CD cluster
    name), else the repo's default destination."""
    if env.cluster:
        return {"name": env.cluster, "namespace": env.namespace}
    return repo_destination(argo, env.namespace)


def application(release: Release, env: Environment, argo: ArgoCD, prefix: str = "") -> Manifest:
    ignores = ignore_differences(release, env)
    spec: dict[str, Any] = {
        "project": argo.project,
        "source": {"repoURL": argo.repo_url, "path": overlay_path(release, env, prefix),
                   "targetRevision": argo.revision},
        "destination": env_destination(argo, env),
        "syncPolicy": _sync_policy(argo, bool(ignores)),
    }
    if ignores:
        spec["ignoreDifferences"] = ignores
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": app_name(release, env),
            "namespace": argo.namespace,
            "labels": wiring_labels(release, env),
            "finalizers": [ARGOCD_FINALIZER],
        },
        "spec": spec,
    }


def overlay_params(release: Release, env: Environment, argo: ArgoCD) -> dict[str, Any]:
    """What the ApplicationSet's git files generator reads from apps/N/overlays/E/argocd-params.yaml.

    No `path` key: the generator sets `.path` itself (the folder holding the file: the overlay). The destination
    is per environment (environments[].cluster): both keys are always there, one empty, because the template
    names both and an empty string is an unset field once Argo CD reads the Application."""
    destination = env_destination(argo, env)
    return {
        "app": app_name(release, env),
        "release": release.name,
        "environment": env.name,
        "namespace": env.namespace,
        "destinationServer": destination.get("server", ""),
        "destinationName": destination.get("name", ""),
        "engine": engine_label(release.engine),
        "ignoreDifferences": ignore_differences(release, env),
    }


# Argo CD's own Go template (not ours): the environment's ignoreDifferences, as JSON, when it has any.
_IGNORE_PATCH = "{{- if .ignoreDifferences }}\nspec:\n  ignoreDifferences: {{ toJson .ignoreDifferences }}\n{{- end }}\n"


def applicationset(argo: ArgoCD, prefix: str = "") -> Manifest:
    """One ApplicationSet for every release and environment, driven by the params file in each overlay."""
    template = {
        "metadata": {
            "name": "{{ .app }}",
            "labels": {**MANAGED_BY, "rollgen.io/release": "{{ .release }}",
                       "rollgen.io/environment": "{{ .environment }}"},
            "finalizers": [ARGOCD_FINALIZER],
        },
        "spec": {
            "project": argo.project,
            "source": {"repoURL": argo.repo_url, "path": "{{ .path.path }}", "targetRevision": argo.revision},
            # Each overlay's params file says where it goes (overlay_params): the repo default or its cluster.
            "destination": {"server": "{{ .destinationServer }}", "name": "{{ .destinationName }}",
                            "namespace": "{{ .namespace }}"},
            "syncPolicy": _sync_policy(argo, True),
        },
    }
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": argo.appset_name, "namespace": argo.namespace, "labels": wiring_labels()},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"git": {
                "repoURL": argo.repo_url,
                "revision": argo.revision,
                "files": [{"path": f"{prefix}apps/*/overlays/*/{PARAMS_FILE}"}],
            }}],
            "template": template,
            "templatePatch": _IGNORE_PATCH,
        },
    }


def root_application(argo: ArgoCD, root_name: str, prefix: str = "") -> Manifest:
    """App of apps: Argo CD applies argocd/ itself, so adding or removing a release's Application is a commit.

    Applied once by hand (`kubectl apply -f argocd/application_<root>.yaml`); it then manages itself too."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": root_name, "namespace": argo.namespace, "labels": wiring_labels(),
                     "finalizers": [ARGOCD_FINALIZER]},
        "spec": {
            "project": argo.project,
            "source": {"repoURL": argo.repo_url, "path": f"{prefix}{ARGOCD_DIR}", "targetRevision": argo.revision,
                       "directory": {"recurse": True}},
            "destination": {"server": IN_CLUSTER, "namespace": argo.namespace},
            "syncPolicy": root_sync_policy(argo),
        },
    }


def root_sync_policy(argo: ArgoCD) -> dict[str, Any]:
    # Applications live in Argo CD's own namespace: nothing to create, nothing to ignore.
    return {"automated": {"prune": argo.prune, "selfHeal": argo.self_heal}} if argo.automated else {}
