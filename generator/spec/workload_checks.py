"""Meaning checks of the workload fields (spec.container, spec.pod, spec.security, spec.patches, ...): the real
mistakes a schema cannot see, located at the field that makes them. Run on schema-valid data only.

Pod Security Admission's `restricted` level is spec/security_checks.py's, the patches' rules spec/patch_checks.py's.
Each container rule runs on the release's container, and on every environment's merged container; a problem the
release-level container already has is reported once, at the release.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from generator import workload
from generator.facts import has
from generator.spec.findings import Finding, Generated, closest
from generator.spec.security_checks import restricted_root

if TYPE_CHECKING:
    from generator.spec.profiles import Profile

JsonPath = tuple[str | int, ...]
Data = dict[str, Any]

_SUFFIXES: dict[str, Decimal | int] = {
    "": 1, "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "k": 10**3, "M": 10**6, "G": 10**9,
    "T": 10**12, "P": 10**15, "E": 10**18, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50,
    "Ei": 2**60,
}  # fmt: skip
_QUANTITY = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))((?:[KMGTPE]i)|[numkMGTPE]|[eE][+-]?[0-9]+)?$")


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
    if any("patches" in entry for entry in (spec, *spec.get("environments", []))):
        from generator.spec.patch_checks import patch_findings  # only a spec with patches needs the patch rules

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
    if has(spec["engine"], "git-replicas"):
        return  # git writes that engine's replicas: its autoscaling is refused (enginechecks.check_nginx_autoscaling)
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
