"""Pod Security Admission's `restricted` level, checked on the workload fields as written (spec.pod, spec.container,
init containers): what the level refuses, located at the field that asks for it. rollgen adds the rest of the
level itself (generator.workload.apply_security); a container a patch adds is checked with `restricted_container`
and `sidecar_gaps` (spec/patch_checks.py), since rollgen's profile never reaches it. Run by spec/workload_checks.py
on schema-valid data only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from generator import workload

JsonPath = tuple[str | int, ...]
Data = dict[str, Any]


def restricted_root(spec: Data, container: Data, pod: Data, security: Any) -> Iterator[tuple[JsonPath, str]]:
    """What Pod Security Admission's `restricted` level refuses (every container, init containers included), at
    the field that asks for it; rollgen adds the rest of the level (generator.workload.apply_security)."""
    if (security or workload.DEFAULT_SECURITY) != "restricted":
        return
    yield from restricted_pod(pod)
    containers: list[tuple[JsonPath, Data]] = [(("container",), container)]
    containers += [(("pod", "initContainers", i), c) for i, c in enumerate(pod.get("initContainers", []))]
    for at, each in containers:
        yield from restricted_container(at, each)


RESTRICTED_FIX = "Pod Security Admission's restricted level refuses it: remove it, or set security: baseline"
HOST_FIX = (
    "Pod Security Admission refuses it at the restricted and baseline levels alike: remove it (security: none, in "
    "a namespace that allows privileged pods, is the only way to keep it)"
)
# The volume types `restricted` allows (and the baseline level's hostPath is among the others).
RESTRICTED_VOLUMES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                      "projected", "secret")  # fmt: skip
SAFE_SYSCTLS = (
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
)  # fmt: skip
SELINUX_TYPES = ("", "container_t", "container_init_t", "container_kvm_t", "container_engine_t")


def restricted_pod(pod: Data) -> Iterator[tuple[JsonPath, str]]:
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(key) is True:
            yield (("pod", key), f"{key}: true shares the node's namespace; {HOST_FIX}")
    for index, volume in enumerate(pod.get("volumes", [])):
        kind = next((key for key in volume if key != "name"), None)
        if kind == "hostPath":
            yield (("pod", "volumes", index, kind), f"a hostPath volume mounts the node's files; {HOST_FIX}")
        elif kind is not None and kind not in RESTRICTED_VOLUMES:
            yield (("pod", "volumes", index, kind), (
                f"a {kind} volume is not among the types Pod Security Admission's restricted level allows "
                f"({', '.join(RESTRICTED_VOLUMES)}): use a persistentVolumeClaim or csi volume, or set "
                "security: baseline"
            ))  # fmt: skip
    context = pod.get("securityContext", {})
    yield from restricted_context(("pod", "securityContext"), context)
    for index, sysctl in enumerate(context.get("sysctls", [])):
        if sysctl.get("name") not in SAFE_SYSCTLS:
            yield (("pod", "securityContext", "sysctls", index, "name"),
                   f"sysctl {sysctl.get('name')} is not a namespaced safe sysctl; {HOST_FIX}")


def restricted_context(at: JsonPath, context: Data) -> Iterator[tuple[JsonPath, str]]:
    """The security-context fields that pods and containers share."""
    if context.get("runAsUser") == 0:
        yield ((*at, "runAsUser"), f"runAsUser: 0 is root; {RESTRICTED_FIX}")
    if context.get("runAsNonRoot") is False:
        yield ((*at, "runAsNonRoot"), f"runAsNonRoot: false allows root; {RESTRICTED_FIX}")
    if (context.get("seccompProfile") or {}).get("type") == "Unconfined":
        yield ((*at, "seccompProfile", "type"), f"seccomp Unconfined; {RESTRICTED_FIX}")
    if (context.get("appArmorProfile") or {}).get("type") == "Unconfined":
        yield ((*at, "appArmorProfile", "type"), f"AppArmor Unconfined; {HOST_FIX}")
    if (context.get("windowsOptions") or {}).get("hostProcess") is True:
        yield ((*at, "windowsOptions", "hostProcess"), f"a Windows host process; {HOST_FIX}")
    selinux = context.get("seLinuxOptions") or {}
    for key in ("user", "role"):
        if selinux.get(key):
            yield ((*at, "seLinuxOptions", key), f"an SELinux {key}; {HOST_FIX}")
    if selinux.get("type", "") not in SELINUX_TYPES:
        yield ((*at, "seLinuxOptions", "type"), f"SELinux type {selinux['type']}; {HOST_FIX}")


def restricted_container(at: JsonPath, container: Data) -> Iterator[tuple[JsonPath, str]]:
    context = container.get("securityContext", {})
    where = (*at, "securityContext")
    yield from restricted_context(where, context)
    if context.get("privileged") is True:
        yield ((*where, "privileged"), f"privileged: true; {HOST_FIX}")
    if context.get("allowPrivilegeEscalation") is True:
        yield ((*where, "allowPrivilegeEscalation"), f"allowPrivilegeEscalation: true; {RESTRICTED_FIX}")
    if context.get("procMount") not in (None, "Default"):
        yield ((*where, "procMount"), f"procMount: {context['procMount']}; {HOST_FIX}")
    for index, capability in enumerate((context.get("capabilities") or {}).get("add", [])):
        if capability != "NET_BIND_SERVICE":
            yield ((*where, "capabilities", "add", index), (
                f"capability {capability}: Pod Security Admission's restricted level allows only NET_BIND_SERVICE "
                "to be added (rollgen drops ALL): remove it, or set security: baseline"
            ))  # fmt: skip
    for index, port in enumerate(container.get("ports", [])):
        if port.get("hostPort"):
            yield ((*at, "ports", index, "hostPort"), f"hostPort {port['hostPort']} binds the node's port; {HOST_FIX}")


def sidecar_gaps(container: Data) -> list[str]:
    """What the restricted level requires of a container that nothing will add for it."""
    context = container.get("securityContext") or {}
    out = []
    if context.get("allowPrivilegeEscalation") is not False:
        out.append("allowPrivilegeEscalation is not false")
    if "ALL" not in ((context.get("capabilities") or {}).get("drop") or []):
        out.append("its capabilities do not drop ALL")
    return out
