"""What the cluster's own controllers do with built objects (issue 22, round 3), as tests/balancer.py does for
ingress-nginx: the HPA controller's metric computation and Pod Security Admission's `restricted` level. Each
function returns the problems the controller would report (empty: it accepts), so a test can hold every built
object of every golden overlay to it."""

from __future__ import annotations

import functools
from collections.abc import Iterator
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


# -- Pod Security Admission, level restricted (k8s.io/pod-security-admission/policy, latest) --------------------

PSA_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected",
               "secret"}  # fmt: skip
PSA_SYSCTLS = {
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}  # fmt: skip
PSA_SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
WORKLOAD_KINDS = ("Deployment", "Rollout", "StatefulSet", "DaemonSet", "Job")


def psa_restricted(pod: Manifest) -> list[str]:
    """Every check of the restricted level (its baseline checks included) on a pod spec: what the API server's
    admission would name when the namespace enforces `restricted`. Empty: admitted."""
    out: list[str] = []
    context = pod.get("securityContext") or {}
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(key):
            out.append(f"host namespaces: {key}=true")
    for volume in pod.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if kinds - PSA_VOLUMES:
            out.append(f"restricted volume types: {volume['name']} uses {sorted(kinds - PSA_VOLUMES)}")
    for sysctl in context.get("sysctls") or []:
        if sysctl["name"] not in PSA_SYSCTLS:
            out.append(f"forbidden sysctls: {sysctl['name']}")
    containers = [*pod.get("initContainers", []), *pod["containers"], *pod.get("ephemeralContainers", [])]
    pod_seccomp = (context.get("seccompProfile") or {}).get("type")
    pod_non_root = context.get("runAsNonRoot") is True
    out += _context_problems("pod", context)
    for container in containers:
        name = container["name"]
        sc = container.get("securityContext") or {}
        out += _context_problems(f"container {name}", sc)
        if sc.get("privileged"):
            out.append(f"privileged: container {name}")
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(f"allowPrivilegeEscalation != false: container {name}")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            out.append(f"unrestricted capabilities: container {name} must drop ALL")
        if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            out.append(f"unrestricted capabilities: container {name} adds {sorted(set(caps['add']) - {'NET_BIND_SERVICE'})}")
        if sc.get("runAsNonRoot") is False or (not pod_non_root and sc.get("runAsNonRoot") is not True):
            out.append(f"runAsNonRoot != true: container {name}")
        seccomp = (sc.get("seccompProfile") or {}).get("type") or pod_seccomp
        if seccomp not in ("RuntimeDefault", "Localhost"):
            out.append(f"seccompProfile: container {name} has {seccomp}")
        if sc.get("procMount") not in (None, "Default"):
            out.append(f"procMount: container {name}")
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                out.append(f"hostPort: container {name} uses {port['hostPort']}")
    return out


def _context_problems(who: str, context: Manifest) -> list[str]:
    out = []
    if context.get("runAsUser") == 0:
        out.append(f"runAsUser=0: {who}")
    if (context.get("windowsOptions") or {}).get("hostProcess"):
        out.append(f"hostProcess: {who}")
    if (context.get("appArmorProfile") or {}).get("type") == "Unconfined":
        out.append(f"appArmorProfile Unconfined: {who}")
    selinux = context.get("seLinuxOptions") or {}
    if selinux.get("user") or selinux.get("role") or selinux.get("type", "") not in PSA_SELINUX_TYPES:
        out.append(f"seLinuxOptions: {who}")
    if (context.get("seccompProfile") or {}).get("type") == "Unconfined":
        out.append(f"seccompProfile Unconfined: {who}")
    return out


def pod_templates(objects: list[Manifest]) -> Iterator[tuple[str, Manifest]]:
    for obj in objects:
        if obj["kind"] in WORKLOAD_KINDS:
            yield f"{obj['kind']}/{obj['metadata']['name']}", obj["spec"]["template"]


# -- Envoy weighted clusters (Gateway API implementations, Istio): not health-aware -----------------------------


def _weighted_services(objects: list[Manifest]) -> dict[str, int]:
    """Service name -> the largest weight any route of the built objects gives it (HTTPRoute backendRefs,
    VirtualService destinations; a backendRef without weight weighs 1)."""
    out: dict[str, int] = {}
    for obj in objects:
        if obj["kind"] == "HTTPRoute":
            refs = [(r["name"], int(r.get("weight", 1))) for rule in obj["spec"]["rules"] for r in rule["backendRefs"]]
        elif obj["kind"] == "VirtualService":
            refs = [(d["destination"]["host"], int(d.get("weight", 100 if len(route["route"]) == 1 else 0)))
                    for route in obj["spec"]["http"] for d in route["route"]]
        else:
            continue
        for name, weight in refs:
            out[name] = max(out.get(name, 0), weight)
    return out


def _replicas_behind(objects: list[Manifest], service: str) -> int:
    svc = next((o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == service), None)
    if svc is None:
        return 0
    selector = svc["spec"].get("selector") or {}
    return sum(
        int(o["spec"].get("replicas", 1)) for o in objects
        if o["kind"] == "Deployment" and selector.items() <= o["spec"]["template"]["metadata"]["labels"].items()
    )


def envoy_503s(before: list[Manifest], after: list[Manifest]) -> list[str]:
    """The Services a commit from `before` to `after` sends traffic to while none of their pods is Ready.

    Neither Argo CD (routes after Deployments within a wave, no health wait) nor Flux (one apply, no waves) orders
    a route's weight after the pods it needs, or before the pods go: while the commit applies, a Service may
    carry either commit's weight, and it has only the pods both commits keep (new pods are not Ready yet,
    removed ones are gone at once). A weight on a Service with no Ready pod is 503s for that share."""
    weights_before, weights_after = _weighted_services(before), _weighted_services(after)
    out = []
    for service in sorted(weights_before.keys() | weights_after.keys()):
        weight = max(weights_before.get(service, 0), weights_after.get(service, 0))
        ready = min(_replicas_behind(before, service), _replicas_behind(after, service))
        if weight > 0 and ready == 0:
            out.append(f"{service}: weight {weight} with no Ready pod")
    return out
