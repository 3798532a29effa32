"""Object builders shared by the engine renderers. Objects are plain data; key order is the emitted order."""

from __future__ import annotations

from typing import Any

from generator import workload
from generator.render.engines import Manifest
from generator.model import Environment, Release

NAME_LABEL = "app.kubernetes.io/name"
SYNC_WAVE = "argocd.argoproj.io/sync-wave"  # Argo CD applies lower waves first (layout.SYNC_WAVES)


def labels(release: Release, env: Environment, **extra: str) -> dict[str, str]:
    """Labels for every object: ours, then the release's, then the environment's (sorted for stability)."""
    out = {
        NAME_LABEL: release.name,
        "app.kubernetes.io/managed-by": "rollgen",
        "rollgen.io/release": release.name,
    }
    out.update(sorted(release.labels))
    out.update(sorted(env.labels))
    out.update(extra)
    return out


def selector(release: Release, **extra: str) -> dict[str, str]:
    """The pod selector: always a subset of the pod template's labels."""
    return {NAME_LABEL: release.name, **extra}


def metadata(
    name: str,
    release: Release,
    env: Environment,
    annotations: dict[str, str] | None = None,
    **extra_labels: str,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": env.namespace, "labels": labels(release, env, **extra_labels)}
    if annotations:
        meta["annotations"] = dict(sorted(annotations.items()))
    return meta


def port_name(release: Release) -> str:
    """spec.service.portName: the name of the container port, of the Service port that targets it, and of the
    port every Ingress backend and Flagger's Canary refer to (the schema keeps it a valid container port name)."""
    return release.service_port_name


def container(release: Release, image_name: str) -> dict[str, Any]:
    return {
        "name": release.name,
        "image": image_name,
        "ports": [{"name": port_name(release), "containerPort": release.container_port, "protocol": "TCP"}],
    }


def pod_template(release: Release, env: Environment, image_name: str, **extra_labels: str) -> dict[str, Any]:
    pod_labels = {**selector(release, **extra_labels), **labels(release, env, **extra_labels)}
    template = {
        "metadata": {"labels": pod_labels},
        "spec": {"containers": [container(release, image_name)]},
    }
    return workload.complete_pod_template(release, env, template)


def deployment(
    name: str,
    release: Release,
    env: Environment,
    replicas: int | None,
    image_name: str,
    **extra_labels: str,
) -> Manifest:
    """A Deployment; replicas None leaves the field out (Flagger owns the scale of its target)."""
    spec: dict[str, Any] = {}
    if replicas is not None:
        spec["replicas"] = replicas
    spec["selector"] = {"matchLabels": selector(release, **extra_labels)}
    spec["template"] = pod_template(release, env, image_name, **extra_labels)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(name, release, env, None, **extra_labels),
        "spec": spec,
    }


def service(name: str, release: Release, env: Environment, pod_selector: dict[str, str]) -> Manifest:
    port = port_name(release)
    spec = {
        "type": "ClusterIP",
        "selector": dict(pod_selector),
        "ports": [{"name": port, "port": release.service_port, "targetPort": port, "protocol": "TCP"}],
    }
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(name, release, env),
        "spec": workload.service_affinity(env, spec),
    }


def hpa(name: str, target_kind: str, target_api: str, release: Release, env: Environment) -> Manifest | None:
    scaling = env.autoscaling
    if scaling is None:
        return None
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(name, release, env),
        "spec": {
            "scaleTargetRef": {"apiVersion": target_api, "kind": target_kind, "name": release.name},
            "minReplicas": scaling.min_replicas,
            "maxReplicas": scaling.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": scaling.cpu_utilization},
                    },
                }
            ],
        },
    }


def disruption_budget(release: Release, env: Environment) -> Manifest | None:
    """spec.disruptionBudget as a PodDisruptionBudget `N` (generator/workload.py says which pods it covers)."""
    return workload.pod_disruption_budget(release, env, metadata(release.name, release, env))
