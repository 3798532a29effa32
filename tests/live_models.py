"""What the cluster's own controllers do with built objects (issue 22, round 3), as tests/balancer.py does for
ingress-nginx: the HPA controller's metric computation and Pod Security Admission's `restricted` level. Each
function returns the problems the controller would report (empty: it accepts), so a test can hold every built
object of every golden overlay to it."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from tests.validators import kustomize_build

GOLDEN = Path(__file__).resolve().parent / "golden"
Manifest = dict[str, Any]


@functools.cache
def golden_overlays() -> tuple[tuple[str, list[Manifest]], ...]:
    """(label, built objects) of every golden overlay (`kubectl kustomize`), built once a test session."""
    return tuple(
        (str(overlay.relative_to(GOLDEN)), kustomize_build(overlay))
        for overlay in sorted(GOLDEN.glob("*/apps/*/overlays/*"))
        if (overlay / "kustomization.yaml").is_file()
    )


# -- the HPA controller (pkg/controller/podautoscaler) ----------------------------------------------------------

DEFAULT_HPA_METRICS = [
    {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}
]  # autoscaling/v2 defaulting of an HPA without metrics


def hpa_problems(hpa: Manifest, template: Manifest) -> list[str]:
    """What the HPA controller reports when it computes the metrics for pods of `template` (it does on every sync
    while the replicas are within min and max, min = max included). A Utilization target divides the pods'
    usage by their containers' requests: a container without that request is FailedGetResourceMetric ("missing
    request for cpu"). An AverageValue target reads the usage only."""
    out = []
    containers = template["spec"]["containers"]
    for metric in hpa["spec"].get("metrics") or DEFAULT_HPA_METRICS:
        if metric["type"] not in ("Resource", "ContainerResource"):
            continue
        source = metric["resource" if metric["type"] == "Resource" else "containerResource"]
        if source["target"]["type"] != "Utilization":
            continue
        name = source["name"]
        for container in containers:
            if metric["type"] == "ContainerResource" and container["name"] != source["container"]:
                continue
            if name not in (container.get("resources") or {}).get("requests", {}):
                out.append(f"FailedGetResourceMetric: missing request for {name} in container {container['name']}")
    return out


def scale_target_template(objects: list[Manifest], hpa: Manifest) -> Manifest:
    ref = hpa["spec"]["scaleTargetRef"]
    target = next(o for o in objects if o["kind"] == ref["kind"] and o["metadata"]["name"] == ref["name"])
    return dict(target["spec"]["template"])
