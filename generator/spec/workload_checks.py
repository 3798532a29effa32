"""Meaning checks of the workload fields (spec.container, spec.pod, spec.security, spec.patches, ...): the real
mistakes a schema cannot see, located at the field that makes them. Run on schema-valid data only.

Each container rule runs on the release's container, and on every environment's merged container; a problem the
release-level container already has is reported once, at the release.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from generator import workload
from generator.spec.findings import Finding, Generated, closest

if TYPE_CHECKING:
    from generator.spec.profiles import Profile

JsonPath = tuple[str | int, ...]
Data = dict[str, Any]
Objects = Mapping[str, Sequence[Mapping[str, Any]]]  # environment name -> what its overlay generates

_SUFFIXES: dict[str, Decimal | int] = {
    "": 1, "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "k": 10**3, "M": 10**6, "G": 10**9,
    "T": 10**12, "P": 10**15, "E": 10**18, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50,
    "Ei": 2**60,
}  # fmt: skip
_QUANTITY = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))((?:[KMGTPE]i)|[numkMGTPE]|[eE][+-]?[0-9]+)?$")
# Fields a patch must not change: rollgen owns them (weights and steps, the image, replicas during a canary).
# rollgen's container is the first (a sidecar a patch adds comes after it, and its image is the patch's own).
OWNED_PATHS = (
    re.compile(r"^/spec/replicas$"),
    re.compile(r"^/spec/strategy(/|$)"),
    re.compile(r"^/spec/analysis(/|$)"),
    re.compile(r"^/spec/template/spec/containers/0/image$"),
    re.compile(r"^/metadata/annotations/nginx\.ingress\.kubernetes\.io~1canary"),
    re.compile(r"^/spec/rules/[^/]+/backendRefs(/|$)"),  # an HTTPRoute's weighted backends
    re.compile(r"^/spec/http/[^/]+/route(/|$)"),  # a VirtualService's weighted destinations
)
CANARY_ANNOTATION = "nginx.ingress.kubernetes.io/canary"
OWNED_NOTE = "rollgen owns traffic weights and steps, the image and replicas (see docs/workloads.md, Patches)"


def check_workload(data: Data, profiles: Mapping[str, Profile], generated: Generated | None = None) -> list[Finding]:
    spec = data["spec"]
    out: list[Finding] = []
    release_container = workload.drop_removed_env(dict(spec.get("container", {})))
    release_findings = container_findings(spec, release_container, spec.get("pod", {}), spec.get("security"))
    out += [Finding(("spec", *path), message) for path, message in release_findings]
    already = {(by_name(path, release_container), message) for path, message in release_findings}
    out += replicas_with_autoscaling(spec, ("spec",), spec.get("autoscaling"))
    for index, entry in enumerate(spec.get("environments", [])):
        out += environment_findings(spec, entry, ("spec", "environments", index), already)
    out += uncarried_findings(spec)
    out += api_server_findings(spec)
    out += patch_findings(data, profiles, generated)
    return out


def api_server_findings(spec: Data) -> Iterator[Finding]:
    """What the API server would refuse in the fields as written (release and environments), though the schema
    lets it pass: ConfigMap keys `.`, `..` and `..x` (a volume's files would sit beside its `..data` link), and an
    env entry with both a non-empty `value` and `valueFrom`."""
    for at, entry in (((("spec",), spec)), *((("spec", "environments", i), e)
                                             for i, e in enumerate(spec.get("environments", [])))):
        config = entry.get("config") or {}
        for field in ("files", "literals"):
            for key in config.get(field) or {}:
                if key in (".", "..") or str(key).startswith(".."):
                    yield Finding((*at, "config", field, key), (
                        f"config key {key!r}: Kubernetes refuses '.', '..' and keys that start with '..' "
                        "(the mounted folder keeps its own ..data there); rename it"
                    ), at_key=True)  # fmt: skip
        for index, variable in enumerate((entry.get("container") or {}).get("env") or []):
            if isinstance(variable, dict) and variable.get("value") and "valueFrom" in variable:
                yield Finding((*at, "container", "env", index, "valueFrom"), (
                    f"env {variable.get('name')!r} has both `value` and `valueFrom`; Kubernetes refuses that: "
                    "keep one of them"
                ))  # fmt: skip


def environment_findings(spec: Data, entry: Data, at: JsonPath, already: set[tuple[JsonPath, str]]) -> list[Finding]:
    if not any(key in entry for key in ("container", "pod", "security", "autoscaling")):
        return list(replicas_with_autoscaling(entry, at, entry.get("autoscaling") or spec.get("autoscaling")))
    container = workload.merge_container(spec.get("container", {}), entry.get("container", {}))
    pod = workload.deep_merge(spec.get("pod", {}), entry.get("pod", {}))
    scaling = entry.get("autoscaling") or spec.get("autoscaling")
    merged_spec = {**spec, "autoscaling": scaling}
    out: list[Finding] = []
    for path, message in container_findings(merged_spec, container, pod, entry.get("security", spec.get("security"))):
        if (by_name(path, container), message) in already:
            continue
        out.append(Finding(env_path(entry, at, by_name(path, container)), message))
    out += replicas_with_autoscaling(entry, at, scaling)
    return out


def by_name(path: JsonPath, container: Data) -> JsonPath:
    """A path into the container's `env` with the variable's name in place of its index: env merges by name, so
    the same variable sits at different indices in the release's, an environment's and the merged list."""
    if path[:2] == ("container", "env") and isinstance(path[2], int):
        return (*path[:2], container["env"][path[2]]["name"], *path[3:])
    return path


def env_path(entry: Data, at: JsonPath, path: JsonPath) -> JsonPath:
    """Where an environment's merged-container problem shows: at the entry's own field when it wrote one.

    A Secret slip the entry did not write the reference of comes from the Secret volumes the entry mounts."""
    path = own_env_index(entry, path)
    node: Any = entry
    for part in path:
        node = child(node, part)
        if node is not ABSENT:
            continue
        if path[-2:] in SECRET_NAME_TAILS and "volumes" in entry.get("pod", {}):
            return (*at, "pod", "volumes")
        return (*at, *path[:1]) if path and path[0] in entry else at
    return (*at, *path)


SECRET_NAME_TAILS = (("secretRef", "name"), ("secretKeyRef", "name"))


def own_env_index(entry: Data, path: JsonPath) -> JsonPath:
    """A by-name path (see by_name) with the entry's own index of that variable; unchanged if it has none."""
    if path[:2] != ("container", "env") or not isinstance(path[2], str):
        return path
    names = [variable["name"] for variable in entry.get("container", {}).get("env", [])]
    return (*path[:2], names.index(path[2]), *path[3:]) if path[2] in names else path


ABSENT = object()


def child(node: Any, part: str | int) -> Any:
    """node[part] of JSON data, or ABSENT."""
    if isinstance(node, dict):
        return node.get(part, ABSENT)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return ABSENT


# -- container rules: each yields (path relative to spec, message) ---------------------------------------------

Rule = Callable[[Data, Data, Data, Any], Iterator[tuple[JsonPath, str]]]


def container_findings(spec: Data, container: Data, pod: Data, security: Any) -> list[tuple[JsonPath, str]]:
    return [finding for rule in CONTAINER_RULES for finding in rule(spec, container, pod, security)]


def cpu_request_for_autoscaling(spec: Data, container: Data, pod: Data, security: Any) -> Iterator[tuple[JsonPath, str]]:
    scaling = spec.get("autoscaling")
    if spec["engine"] == "deployments":
        return  # autoscaling is refused on that engine anyway (checks.check_nginx_autoscaling)
    if scaling and "cpu" not in container.get("resources", {}).get("requests", {}):
        yield (
            ("autoscaling", "cpu"),
            f"autoscaling.cpu targets {scaling['cpu']}% of the CPU request, but the container requests no CPU, "
            "so the HPA can never compute a utilisation: set container.resources.requests.cpu (e.g. 100m)",
        )


def probe_ports(spec: Data, container: Data, pod: Data, security: Any) -> Iterator[tuple[JsonPath, str]]:
    name = spec["service"].get("portName", "http")
    number = spec["containerPort"]
    for probe in workload.PROBES:
        for action in ("httpGet", "tcpSocket", "grpc"):
            port = container.get(probe, {}).get(action, {}).get("port")
            if port is None or port in (name, number):
                continue
            yield (
                ("container", probe, action, "port"),
                f"{probe} probes port {port!r}, which the container does not expose: it exposes {number} "
                f"(named {name!r}); leave port out to probe it, or change containerPort",
            )


def secret_name_mismatch(spec: Data, container: Data, pod: Data, security: Any) -> Iterator[tuple[JsonPath, str]]:
    """A Secret read (envFrom, env secretKeyRef) under a name one slip away from a Secret the pod mounts: one of
    them is a typo. A name the pod mounts exactly, or one no mounted name is close to, is a Secret of its own."""
    mounted_names = sorted(mounted_secrets(pod))
    if not mounted_names:
        return
    for path, what, name in secret_references(container):
        match = closest(name, mounted_names) if name not in mounted_names else None
        if match and looks_like_a_slip(name, match):
            yield (
                path,
                f"{what} reads Secret {name!r}, but the pod mounts Secret {match!r}: one name has a typo "
                "(two Secrets this alike are almost always meant to be one)",
            )


def looks_like_a_slip(a: str, b: str) -> bool:
    """Of two names a few letters apart, whether one is a slip of the other: a slip stays within one part of the
    name (`orders-secret`/`orders-secrets`, `orders-db`/`orders-bd`) or a separator (`ordersdb`, `orders.db`). A whole
    part added or swapped is a naming convention (`orders-db` and `orders-db-ro`, `orders-db-ro` and
    `orders-db-prod`, `orders-db` and `orders-mq`): two Secrets, however few letters apart."""
    parts_a, parts_b = re.split(r"[-.]", a), re.split(r"[-.]", b)
    if len(parts_a) != len(parts_b):
        return "".join(parts_a) == "".join(parts_b)
    differing = [(x, y) for x, y in zip(parts_a, parts_b) if x != y]
    if not differing:
        return True  # only a separator differs: orders.db, orders-db
    return len(differing) == 1 and closest(differing[0][0], [differing[0][1]]) is not None


def mounted_secrets(pod: Data) -> set[str]:
    """The Secrets the pod's volumes mount, projected volumes' sources included."""
    names: set[str] = set()
    for volume in pod.get("volumes", []):
        names.add(volume.get("secret", {}).get("secretName") or "")
        for source in volume.get("projected", {}).get("sources", []):
            names.add(source.get("secret", {}).get("name") or "")
    return names - {""}


def secret_references(container: Data) -> Iterator[tuple[JsonPath, str, str]]:
    """(path, what reads it, Secret name) of every Secret the container reads into its environment."""
    for index, source in enumerate(container.get("envFrom", [])):
        name = source.get("secretRef", {}).get("name")
        if name:
            yield ("container", "envFrom", index, "secretRef", "name"), "envFrom", name
    for index, entry in enumerate(container.get("env", [])):
        name = (entry.get("valueFrom") or {}).get("secretKeyRef", {}).get("name")
        if name:
            path: JsonPath = ("container", "env", index, "valueFrom", "secretKeyRef", "name")
            yield path, f"env {entry['name']} (secretKeyRef)", name


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


def limits_below_requests(spec: Data, container: Data, pod: Data, security: Any) -> Iterator[tuple[JsonPath, str]]:
    resources = container.get("resources", {})
    requests, limits = resources.get("requests", {}), resources.get("limits", {})
    for name, limit in limits.items():
        if name not in requests:
            continue
        low, high = quantity(requests[name]), quantity(limit)
        if low is not None and high is not None and high < low:
            yield (
                ("container", "resources", "limits", name),
                f"the {name} limit {limit} is below the request {requests[name]}: Kubernetes refuses the pod; "
                f"raise the limit to at least {requests[name]}",
            )


CONTAINER_RULES: tuple[Rule, ...] = (
    cpu_request_for_autoscaling,
    probe_ports,
    secret_name_mismatch,
    restricted_root,
    limits_below_requests,
)


def quantity(value: Any) -> Decimal | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Decimal(str(value))
    match = _QUANTITY.match(str(value))
    if not match:
        return None
    try:
        number, suffix = Decimal(match[1]), match[2] or ""
        if suffix[:1] in ("e", "E"):
            return number * Decimal(10) ** int(suffix[1:])
        return number * Decimal(_SUFFIXES[suffix])
    except (InvalidOperation, KeyError):
        return None


def replicas_with_autoscaling(entry: Data, at: JsonPath, scaling: Data | None) -> Iterator[Finding]:
    if scaling and "replicas" in entry:
        yield Finding(
            (*at, "replicas"),
            f"replicas: {entry['replicas']} would not be used: with autoscaling the HPA keeps between "
            f"{scaling['minReplicas']} and {scaling['maxReplicas']} pods; remove replicas (or autoscaling)",
        )


# -- characters kustomize cannot carry -------------------------------------------------------------------------

# Characters kustomize cannot carry into a built manifest, measured with kubectl kustomize (Kustomize v5.5): U+0085
# comes out as a space; DEL, the other C1 controls and the noncharacters U+FFFE/U+FFFF fail the build ("control
# characters are not allowed"). Other controls, tabs, newlines, leading and trailing spaces, `=` and quotes arrive
# exactly (a config literal's quotes: workload.kustomize_literal). The free-text fields are the workload's.
UNCARRIED = r"[\x7f-\x9f\ufffe\uffff]"  # compiled by re on first use (~0.2 ms): nearly no spec needs it
FREE_TEXT_FIELDS = ("container", "pod", "config", "patches")


def uncarried_findings(spec: Data) -> Iterator[Finding]:
    entries: list[tuple[JsonPath, Data]] = [(("spec",), spec)]
    entries += [(("spec", "environments", i), entry) for i, entry in enumerate(spec.get("environments", []))]
    for at, entry in entries:
        for key in FREE_TEXT_FIELDS:
            if key in entry and may_hold_uncarried(entry[key]):
                yield from uncarried_in((*at, key), entry[key])


def may_hold_uncarried(value: Any) -> bool:
    """A quick gate before the walk (which costs several times more): repr escapes every character UNCARRIED
    matches as \\xNN or \\uffNN, so text without those escapes cannot hold one."""
    text = repr(value)
    return "\\x" in text or "\\uff" in text


def uncarried_in(at: JsonPath, value: Any) -> Iterator[Finding]:
    if isinstance(value, str):
        bad = first_uncarried(value)
        if bad:
            yield Finding(at, uncarried(bad))
    elif isinstance(value, dict):
        for key, item in value.items():
            bad = first_uncarried(str(key))
            if bad:
                yield Finding((*at, key), uncarried(bad, "key"), at_key=True)
            yield from uncarried_in((*at, key), item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from uncarried_in((*at, index), item)


def first_uncarried(text: str) -> str | None:
    if text.isascii() and "\x7f" not in text:  # nearly every string: two scans in C, no regex
        return None
    match = re.search(UNCARRIED, text)
    return match.group() if match else None


def uncarried(char: str, holder: str = "value") -> str:
    what = "turns it into a space" if char == "\x85" else "fails the build on it"
    return (
        f"the {holder} holds U+{ord(char):04X}, a control character kustomize cannot carry into a manifest "
        f"(it {what}): remove it, or encode the {holder} (base64, an escape sequence) and decode it in the "
        "application"
    )


# -- patches -------------------------------------------------------------------------------------------------


def patch_findings(data: Data, profiles: Mapping[str, Profile], generated: Generated | None = None) -> list[Finding]:
    """Every patch's own problems; with `generated` (what each environment's overlay would hold: only the render
    layer can say, generator.render.loading), also a target that matches no generated object: a release-level
    patch in any environment (it applies to all of them), an environment's patch in its own."""
    spec = data["spec"]
    located: list[tuple[JsonPath, Data, str | None]] = [
        (("spec", "patches", i), p, None) for i, p in enumerate(spec.get("patches", []))
    ]
    for e, entry in enumerate(spec.get("environments", [])):
        at: JsonPath = ("spec", "environments", e, "patches")
        located += [((*at, i), p, entry["name"]) for i, p in enumerate(entry.get("patches", []))]
    if not located:
        return []
    try:
        objects = None if generated is None else generated(data, profiles)
    except (KeyError, ValueError):
        return []  # the spec has a problem another check reports (an unknown profile, ...): nothing to match
    out: list[Finding] = []
    for where, patch, env_name in located:
        scope = objects if objects is None or env_name is None else {env_name: objects.get(env_name, ())}
        out += one_patch(where, patch, scope, data["metadata"]["name"])
        if "restricted" in patch_securities(spec, env_name):
            out += restricted_patch(where, patch, data["metadata"]["name"])
    return out


def patch_securities(spec: Data, env_name: str | None) -> set[str]:
    """The security profiles of the environments a patch applies to (a release-level patch: all of them)."""
    default = spec.get("security", workload.DEFAULT_SECURITY)
    entries = [e for e in spec.get("environments", []) if env_name is None or e["name"] == env_name]
    return {e.get("security", default) for e in entries} or {default}


CONTAINER_PATH = re.compile(r"^/spec/template/spec/(?:init)?[cC]ontainers(?:/-|/[0-9]+)?$")


def restricted_patch(at: JsonPath, patch: Data, container_name: str) -> Iterator[Finding]:
    """A container a patch adds runs in a pod admission checks as `restricted`, but rollgen's profile never
    reaches it (the patch applies after): it must comply as written."""
    from generator.yaml_import import yaml

    try:
        body = yaml.load(patch["patch"], Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return  # one_patch reports it
    for container in added_containers(body, container_name):
        missing = [problem for _, problem in restricted_container((), container)] + sidecar_gaps(container)
        if missing:
            name = container.get("name", "?")
            yield Finding((*at, "patch"), (
                f"the patch adds container {name!r}, which Pod Security Admission's restricted level refuses "
                f"({missing[0].split(';')[0]}): give it securityContext {{allowPrivilegeEscalation: false, "
                "capabilities: {drop: [ALL]}} (rollgen's profile does not reach what a patch adds), or set "
                "security: baseline"
            ))  # fmt: skip


def added_containers(body: Any, container_name: str) -> Iterator[Data]:
    """The containers a patch adds: JSON 6902 add/replace at a containers path, or a strategic merge's
    containers (initContainers) other than rollgen's own."""
    if isinstance(body, list):
        for op in body:
            if not isinstance(op, dict) or op.get("op") not in ("add", "replace"):
                continue
            if CONTAINER_PATH.match(str(op.get("path", ""))):
                value = op.get("value")
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, dict) and item.get("name") != container_name:
                        yield item
        return
    pod: Any = body
    for key in ("spec", "template", "spec"):
        pod = pod.get(key) if isinstance(pod, dict) else None
    if not isinstance(pod, dict):
        return
    for key in ("containers", "initContainers"):
        items = pod.get(key)
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("name") != container_name:
                yield item


def sidecar_gaps(container: Data) -> list[str]:
    """What the restricted level requires of a container that nothing will add for it."""
    context = container.get("securityContext") or {}
    out = []
    if context.get("allowPrivilegeEscalation") is not False:
        out.append("allowPrivilegeEscalation is not false")
    if "ALL" not in ((context.get("capabilities") or {}).get("drop") or []):
        out.append("its capabilities do not drop ALL")
    return out


def one_patch(at: JsonPath, patch: Data, objects: Objects | None, container_name: str) -> Iterator[Finding]:
    from generator.yaml_import import yaml

    try:
        body = yaml.load(patch["patch"], Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        yield Finding((*at, "patch"), f"the patch is not YAML: {str(exc).splitlines()[0]}")
        return
    if isinstance(body, list):
        if "target" not in patch:
            yield Finding(at, "a JSON 6902 patch (a list of operations) needs a target: add target: {kind: ..., name: ...}")
            return
        yield from owned_operations(at, body)
        target: Mapping[str, Any] = patch["target"]
    elif isinstance(body, dict):
        metadata = body.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        if not isinstance(body.get("kind"), str) or not isinstance(name, str):
            yield Finding((*at, "patch"), (
                "kustomize reads a strategic-merge patch as an object and cannot build one without kind and "
                "metadata.name: add both (with a target, the target selects the objects and any name will do)"
            ))
            return
        target = patch.get("target") or {"kind": body["kind"], "name": name}
        yield from owned_fields(at, body, container_name, target.get("kind") or body["kind"])
    else:
        yield Finding((*at, "patch"), "a patch is a partial object (strategic merge) or a list of JSON 6902 operations")
        return
    if objects is not None:
        where = (*at, "target") if "target" in patch else (*at, "patch")
        yield from unmatched(where, target, objects)


def unmatched(where: JsonPath, target: Mapping[str, Any], objects: Objects) -> Iterator[Finding]:
    """A target that some environment the patch applies to does not generate. kustomize skips a patch whose
    target matches nothing without a word, so the patch would silently not be there: refused, naming where."""
    missing = [env for env, generated in objects.items() if not any(matches(target, obj) for obj in generated)]
    if not missing:
        return
    shown = ", ".join(f"{k}={v}" for k, v in target.items() if v is not None)
    if len(missing) < len(objects):
        present = [env for env in objects if env not in missing]
        yield Finding(where, (
            f"a release-level patch applies to every environment, but its target ({shown}) is generated in "
            f"{quoted(present)} only, not in {quoted(missing)}, where kustomize would skip it silently: move the "
            f"patch to environments[].patches of {quoted(present)}"
        ))
        return
    everything = [obj for env in missing for obj in objects[env]]
    kinds = ", ".join(sorted({f"{o['kind']}/{o['metadata']['name']}" for o in everything}))
    scope = f" in environment {missing[0]!r}" if len(missing) == 1 else ""
    yield Finding(where, f"the patch targets no generated object{scope} ({shown}); generated here: {kinds}")


def quoted(names: Sequence[str]) -> str:
    return ", ".join(repr(name) for name in names)


def owned_operations(at: JsonPath, ops: list[Any]) -> Iterator[Finding]:
    for op in ops:
        path = op.get("path", "") if isinstance(op, dict) else ""
        if any(pattern.search(str(path)) for pattern in OWNED_PATHS):
            yield Finding((*at, "patch"), f"the patch changes {path}: {OWNED_NOTE}")


def owned_fields(at: JsonPath, body: Mapping[str, Any], container_name: str, kind: str) -> Iterator[Finding]:
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    if isinstance(annotations, dict) and any(str(key).startswith(CANARY_ANNOTATION) for key in annotations):
        yield Finding((*at, "patch"), f"the patch sets an ingress-nginx canary annotation: {OWNED_NOTE}")
    spec = body.get("spec") or {}
    if not isinstance(spec, dict):
        return
    for key in ("replicas", "strategy", "analysis"):
        if key in spec:
            yield Finding((*at, "patch"), f"the patch sets spec.{key}: {OWNED_NOTE}")
    containers = (((spec.get("template") or {}).get("spec") or {}).get("containers")) or []
    if isinstance(containers, list) and containers and not kind == body.get("kind") == "Deployment":
        # Only a built-in kind's containers merge by name; a custom resource's (a Rollout's) list is replaced.
        yield Finding((*at, "patch"), (
            f"a strategic merge replaces the whole containers list of a {kind} (kustomize knows no merge key for "
            "it), dropping rollgen's container: add a container with a JSON 6902 patch instead "
            "(op: add, path: /spec/template/spec/containers/-)"
        ))
    elif isinstance(containers, list) and any(
        isinstance(c, dict) and "image" in c and c.get("name") == container_name for c in containers
    ):
        yield Finding((*at, "patch"), f"the patch sets the image of container {container_name!r}: {OWNED_NOTE}")
    if any(routes(spec, key, inner) for key, inner in (("rules", "backendRefs"), ("http", "route"))):
        yield Finding((*at, "patch"), f"the patch sets the weighted routes: {OWNED_NOTE}")


def routes(spec: Mapping[str, Any], key: str, inner: str) -> bool:
    """Whether spec.<key>[] (HTTPRoute rules, VirtualService http) sets <inner>: a CRD's lists are replaced whole
    by a strategic merge, weights included."""
    entries = spec.get(key)
    return isinstance(entries, list) and any(isinstance(entry, dict) and inner in entry for entry in entries)


def matches(target: Mapping[str, Any], obj: Mapping[str, Any]) -> bool:
    group, _, version = str(obj["apiVersion"]).rpartition("/")
    for key, actual in (("kind", obj["kind"]), ("group", group), ("version", version)):
        if target.get(key) is not None and target[key] != actual:
            return False
    name = target.get("name")
    if name is not None:
        try:
            if re.fullmatch(str(name), obj["metadata"]["name"]) is None:  # kustomize reads it as a regex
                return False
        except re.error:
            return bool(name == obj["metadata"]["name"])
    metadata = obj["metadata"]
    for field, values in (("labelSelector", "labels"), ("annotationSelector", "annotations")):
        selector = target.get(field)
        if selector and not selected(str(selector), metadata.get(values) or {}):
            return False
    return True


# One requirement of a Kubernetes label selector: `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`.
# Compiled by re on first use (~0.6 ms): only a patch with a selector needs it, and validate imports this module
# for every spec with a container or pod.
_REQUIREMENT = (
    r"\s*(?:(?P<absent>!)\s*(?P<key1>[^\s,!=()]+)"
    r"|(?P<key2>[^\s,!=()]+)\s*(?:(?P<op>==|!=|=)\s*(?P<value>[^\s,!=()]*)"
    r"|\s(?P<set>in|notin)\s*\((?P<values>[^()]*)\))?)\s*(?:,|$)"
)


def selected(selector: str, labels: Mapping[str, Any]) -> bool:
    """Whether `labels` satisfy the selector, as kustomize's labelSelector/annotationSelector read it. A selector
    this cannot read counts as matching: the check must never refuse a patch kustomize would apply."""
    position, verdict, requirement = 0, True, re.compile(_REQUIREMENT)
    while position < len(selector):
        found = requirement.match(selector, position)
        if not found or found.end() == position:
            return True
        position = found.end()
        verdict = verdict and requirement_holds(found, labels)
    return verdict


def requirement_holds(found: re.Match[str], labels: Mapping[str, Any]) -> bool:
    if found["absent"]:
        return found["key1"] not in labels
    key, actual = found["key2"], labels.get(found["key2"])
    if found["op"]:
        equal = actual is not None and str(actual) == found["value"]
        return not equal if found["op"] == "!=" else equal
    if found["set"]:
        values = {value.strip() for value in found["values"].split(",")}
        inside = actual is not None and str(actual) in values
        return inside if found["set"] == "in" else not inside
    return key in labels


