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

_SUFFIXES: dict[str, Decimal | int] = {
    "": 1, "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "k": 10**3, "M": 10**6, "G": 10**9,
    "T": 10**12, "P": 10**15, "E": 10**18, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50,
    "Ei": 2**60,
}  # fmt: skip
_QUANTITY = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))((?:[KMGTPE]i)|[numkMGTPE]|[eE][+-]?[0-9]+)?$")
# Fields a patch must not change: rollgen owns them (weights and steps, the image, replicas during a canary).
OWNED_PATHS = (
    re.compile(r"^/spec/replicas$"),
    re.compile(r"^/spec/strategy(/|$)"),
    re.compile(r"^/spec/analysis(/|$)"),
    re.compile(r"^/spec/template/spec/containers/[^/]+/image$"),
    re.compile(r"^/metadata/annotations/nginx\.ingress\.kubernetes\.io~1canary"),
)
OWNED_NOTE = "rollgen owns traffic weights and steps, the image and replicas (see README, spec.patches)"


def check(data: Data, profiles: Mapping[str, Profile], generated: Generated | None = None) -> list[Finding]:
    spec = data["spec"]
    out: list[Finding] = []
    release_container = workload.drop_removed_env(dict(spec.get("container", {})))
    release_findings = container_findings(spec, release_container, spec.get("pod", {}), spec.get("security"))
    out += [Finding(("spec", *path), message) for path, message in release_findings]
    out += replicas_with_autoscaling(spec, ("spec",), spec.get("autoscaling"))
    for index, entry in enumerate(spec.get("environments", [])):
        out += environment_findings(spec, entry, ("spec", "environments", index), release_findings)
    out += patch_findings(data, profiles, generated)
    return out


def environment_findings(spec: Data, entry: Data, at: JsonPath, already: list[tuple[JsonPath, str]]) -> list[Finding]:
    if not any(key in entry for key in ("container", "pod", "security", "autoscaling")):
        return list(replicas_with_autoscaling(entry, at, entry.get("autoscaling") or spec.get("autoscaling")))
    container = workload.merge_container(spec.get("container", {}), entry.get("container", {}))
    pod = workload.merge(spec.get("pod", {}), entry.get("pod", {}))
    scaling = entry.get("autoscaling") or spec.get("autoscaling")
    merged_spec = {**spec, "autoscaling": scaling}
    out: list[Finding] = []
    for path, message in container_findings(merged_spec, container, pod, entry.get("security", spec.get("security"))):
        if (path, message) in already:
            continue
        out.append(Finding(env_path(entry, at, path), message))
    out += replicas_with_autoscaling(entry, at, scaling)
    return out


def env_path(entry: Data, at: JsonPath, path: JsonPath) -> JsonPath:
    """Where an environment's merged-container problem shows: at the entry's own field when it wrote one."""
    node: Any = entry
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return (*at, *path[:1]) if path and path[0] in entry else at
    return (*at, *path)


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
    """envFrom/env of a Secret whose name is one slip away from a Secret the pod mounts: one of them is a typo."""
    mounted = [v.get("secret", {}).get("secretName") for v in pod.get("volumes", [])]
    mounted_names = sorted({name for name in mounted if name})
    for index, source in enumerate(container.get("envFrom", [])):
        name = source.get("secretRef", {}).get("name")
        match = closest(name, mounted_names) if name and name not in mounted_names else None
        if match:
            yield (
                ("container", "envFrom", index, "secretRef", "name"),
                f"envFrom reads Secret {name!r}, but the pod mounts Secret {match!r}: one name has a typo "
                "(two Secrets this alike are almost always meant to be one)",
            )


def restricted_root(spec: Data, container: Data, pod: Data, security: Any) -> Iterator[tuple[JsonPath, str]]:
    if (security or workload.DEFAULT_SECURITY) != "restricted":
        return
    fix = "the restricted profile runs no root process: remove it, or set security: baseline"
    for where, context in (("pod", pod.get("securityContext", {})), ("container", container.get("securityContext", {}))):
        if context.get("runAsUser") == 0:
            yield ((where, "securityContext", "runAsUser"), f"runAsUser: 0 is root; {fix}")
        if context.get("runAsNonRoot") is False:
            yield ((where, "securityContext", "runAsNonRoot"), f"runAsNonRoot: false allows root; {fix}")
    context = container.get("securityContext", {})
    if context.get("privileged") is True:
        yield (("container", "securityContext", "privileged"), f"privileged: true is refused by restricted; {fix}")
    if context.get("allowPrivilegeEscalation") is True:
        yield (("container", "securityContext", "allowPrivilegeEscalation"),
               f"allowPrivilegeEscalation: true is refused by restricted; {fix}")


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


# -- patches -------------------------------------------------------------------------------------------------


def patch_findings(data: Data, profiles: Mapping[str, Profile], generated: Generated | None = None) -> list[Finding]:
    """Every patch's own problems; with `generated` (what the overlays would hold: only the render layer can
    say, generator.render.loading), also a target that matches no generated object."""
    spec = data["spec"]
    located: list[tuple[JsonPath, Data]] = [(("spec", "patches", i), p) for i, p in enumerate(spec.get("patches", []))]
    for e, entry in enumerate(spec.get("environments", [])):
        located += [(("spec", "environments", e, "patches", i), p) for i, p in enumerate(entry.get("patches", []))]
    if not located:
        return []
    try:
        objects = None if generated is None else generated(data, profiles)
    except (KeyError, ValueError):
        return []  # the spec has a problem another check reports (an unknown profile, ...): nothing to match
    out: list[Finding] = []
    for at, patch in located:
        out += one_patch(at, patch, objects)
    return out


def one_patch(at: JsonPath, patch: Data, objects: Sequence[Mapping[str, Any]] | None) -> Iterator[Finding]:
    import yaml

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
        target = patch.get("target") or {
            "kind": body.get("kind"),
            "name": (body.get("metadata") or {}).get("name"),
        }
        yield from owned_fields(at, body)
    else:
        yield Finding((*at, "patch"), "a patch is a partial object (strategic merge) or a list of JSON 6902 operations")
        return
    if objects is not None and not any(matches(target, obj) for obj in objects):
        shown = ", ".join(f"{k}={v}" for k, v in target.items() if v is not None)
        kinds = ", ".join(sorted({f"{o['kind']}/{o['metadata']['name']}" for o in objects}))
        where = (*at, "target") if "target" in patch else (*at, "patch")
        yield Finding(where, f"the patch targets no generated object ({shown}); generated here: {kinds}")


def owned_operations(at: JsonPath, ops: list[Any]) -> Iterator[Finding]:
    for op in ops:
        path = op.get("path", "") if isinstance(op, dict) else ""
        if any(pattern.search(str(path)) for pattern in OWNED_PATHS):
            yield Finding((*at, "patch"), f"the patch changes {path}: {OWNED_NOTE}")


def owned_fields(at: JsonPath, body: Mapping[str, Any]) -> Iterator[Finding]:
    spec = body.get("spec") or {}
    if not isinstance(spec, dict):
        return
    for key in ("replicas", "strategy", "analysis"):
        if key in spec:
            yield Finding((*at, "patch"), f"the patch sets spec.{key}: {OWNED_NOTE}")
    containers = (((spec.get("template") or {}).get("spec") or {}).get("containers")) or []
    if isinstance(containers, list) and any(isinstance(c, dict) and "image" in c for c in containers):
        yield Finding((*at, "patch"), f"the patch sets a container image: {OWNED_NOTE}")


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
    selector = target.get("labelSelector")
    labels = obj["metadata"].get("labels", {})
    if selector and all("=" in term and "!" not in term for term in str(selector).split(",")):
        pairs = [term.split("=", 1) for term in str(selector).replace("==", "=").split(",")]
        return all(labels.get(k.strip()) == v.strip() for k, v in pairs)
    return True


