"""Strategic-merge patches for the in-process build (generator/kustomize/build.py), the subset rollgen's spec.patches
need: maps merge key by key (null deletes), lists of objects that Kubernetes merges by a key merge item by item
(containers, env, volumes, ... by name; volumeMounts by mountPath; ports by containerPort, a Service's by port),
every other list and scalar is replaced. A merged list is ordered as Kubernetes orders it: the patch's items,
then the target's others. Kinds without a built-in schema (Rollout, Canary, ...) have every list replaced whole,
as kubectl does for them (checked in tests/render/test_build.py). Patch directives (`$patch`, `$setElementOrder`,
`$retainKeys`, ...) and nulls in labels or annotations (which kustomize turns into the string "null" on some
kinds) are refused.
"""

from __future__ import annotations

import copy
from typing import Any

Manifest = dict[str, Any]


class MergeError(ValueError):
    """A strategic-merge patch the in-process build does not implement."""


# Kinds whose fields kustomize knows from the Kubernetes OpenAPI schema: lists merge only where the schema says.
SCHEMA_KINDS = frozenset({
    "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod", "Service", "Ingress",
    "ConfigMap", "Secret", "PodDisruptionBudget", "HorizontalPodAutoscaler", "ServiceAccount", "NetworkPolicy",
})  # fmt: skip

# field name -> merge key, from the Kubernetes API's patchMergeKey (the fields rollgen's objects carry)
_SCHEMA_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
    "ownerReferences": "uid",
}



def merge(target: Manifest, patch: Manifest) -> Manifest:
    """`target` with the strategic-merge `patch` applied (neither is changed)."""
    meta = patch.get("metadata")
    for field in ("labels", "annotations"):
        values = meta.get(field) if isinstance(meta, dict) else None
        if isinstance(values, dict) and any(value is None for value in values.values()):
            raise MergeError(f"a null in /metadata/{field}")
    out = copy.deepcopy(target)
    _merge_map(out, patch, schema=target.get("kind") in SCHEMA_KINDS, path=(), kind=str(target.get("kind")))
    return out


def _merge_map(dest: dict[str, Any], patch: dict[str, Any], schema: bool, path: tuple[str, ...], kind: str) -> None:
    for key, value in patch.items():
        if key.startswith("$"):
            raise MergeError(f"strategic-merge directive {key} at /{'/'.join(path)}")
        if value is None:
            dest.pop(key, None)
        elif isinstance(value, dict) and isinstance(dest.get(key), dict):
            _merge_map(dest[key], value, schema, (*path, key), kind)
        elif isinstance(value, list) and isinstance(dest.get(key), list):
            dest[key] = _merge_list(dest[key], value, schema, (*path, key), kind)
        else:
            dest[key] = _added(value, (*path, key))


def _added(value: Any, path: tuple[str, ...]) -> Any:
    """A patch value where the target has none (or one of another type): its maps without null entries, its
    lists as they are (kubectl keeps the nulls inside a list it takes whole)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key.startswith("$"):
                raise MergeError(f"strategic-merge directive {key} at /{'/'.join(path)}")
            if item is not None:
                out[key] = _added(item, (*path, key))
        return out
    return copy.deepcopy(value)


def _merge_list(dest: list[Any], patch: list[Any], schema: bool, path: tuple[str, ...], kind: str) -> list[Any]:
    key = _merge_key(path, kind) if schema else None
    if key is None:
        # replaced whole, as kubectl does: nulls inside stay (they are the list's new value)
        return copy.deepcopy(patch)
    merged: list[Any] = []
    taken: set[int] = set()
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise MergeError(f"/{'/'.join(path)}: an item without its merge key {key}")
        found = next((i for i, old in enumerate(dest) if isinstance(old, dict) and old.get(key) == item[key]), None)
        if found is None:
            merged.append(_added(item, path))
        else:
            taken.add(found)
            _merge_map(dest[found], item, schema, path, kind)
            merged.append(dest[found])
    # as Kubernetes orders a merged list: the patch's items in its order, then the target's others in theirs
    return [*merged, *(old for i, old in enumerate(dest) if i not in taken)]


def _merge_key(path: tuple[str, ...], kind: str) -> str | None:
    field = path[-1]
    if field == "ports":
        # a Service's ports merge by port, a container's by containerPort
        return "port" if kind == "Service" and path == ("spec", "ports") else "containerPort"
    return _SCHEMA_KEYS.get(field)
