"""Meaning checks of spec.patches and environments[].patches (kustomize's escape hatch): a patch that is not YAML
or not a patch, one that changes what rollgen owns (weights and steps, the image, replicas), a strategic merge that
would replace rollgen's container, a sidecar the `restricted` level refuses, and (with what each overlay generates:
only the render layer can say) a target that matches nothing, which kustomize would skip without a word.
Imported by spec/workload_checks.py only for a spec with patches.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from generator import workload
from generator.router_facts import ROUTERS
from generator.spec.findings import Finding, Generated
from generator.spec.security_checks import restricted_container, sidecar_gaps

if TYPE_CHECKING:
    from generator.spec.profiles import Profile

JsonPath = tuple[str | int, ...]
Data = dict[str, Any]
Objects = Mapping[str, Sequence[Mapping[str, Any]]]  # environment name -> what its overlay generates

# Fields a patch must not change: rollgen owns them (weights and steps, the image, replicas during a canary).
# rollgen's container is the first (a sidecar a patch adds comes after it, and its image is the patch's own).
# Every router's weights count, whichever the spec names: a patch may target any object (router_facts).
OWNED_PATHS = tuple(re.compile(pattern) for pattern in (
    r"^/spec/replicas$",
    r"^/spec/strategy(/|$)",
    r"^/spec/analysis(/|$)",
    r"^/spec/template/spec/containers/0/image$",
    *(path for facts in ROUTERS.values() for path in facts.owned_paths),
))
OWNED_ANNOTATIONS = {facts.owned_annotation: name for name, facts in ROUTERS.items() if facts.owned_annotation}
OWNED_LISTS = tuple(pair for facts in ROUTERS.values() for pair in facts.owned_lists)
OWNED_NOTE = "rollgen owns traffic weights and steps, the image and replicas (see docs/workloads.md, Patches)"


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
    for prefix, router in OWNED_ANNOTATIONS.items():
        if isinstance(annotations, dict) and any(str(key).startswith(prefix) for key in annotations):
            yield Finding((*at, "patch"), f"the patch sets an {router} canary annotation: {OWNED_NOTE}")
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
    if any(routes(spec, key, inner) for key, inner in OWNED_LISTS):
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
# for every spec with patches.
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
