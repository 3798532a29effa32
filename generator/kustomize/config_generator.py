"""configMapGenerator for the in-process build (generator/kustomize/build.py): what `kubectl kustomize` makes of the
generators rollgen writes (literals, an explicit namespace, generatorOptions labels/annotations, behavior
create/replace/merge), the content-hash name suffix and the rewritten name references in pod templates.

Kustomize's suffix: sha256 of the JSON object {"data": ..., "kind": "ConfigMap", "name": ""} (Go's
json.Marshal: sorted keys, compact, `<`, `>`, `&`, U+2028 and U+2029 escaped), its first 10 hex digits with
0 1 3 a e turned into g h k m t. The name is empty because kustomize looks the name up under the single key
"metadata/name", which no ConfigMap has; a ConfigMap with no data hashes "data": "". Checked against kubectl
in tests/render/test_build.py.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

Manifest = dict[str, Any]
FieldSpec = tuple[str, str]  # referrer kind, slash-separated path to a ConfigMap name

# Marks a generated object until the top-level build gives it its hashed name; never left in an output.
NEEDS_HASH = "\0rollgen-build-needs-hash"

_GENERATOR_FIELDS = frozenset({"name", "namespace", "literals", "behavior", "options"})
_OPTION_FIELDS = frozenset({"labels", "annotations", "disableNameSuffixHash"})

_POD_PATHS = (
    "volumes/configMap/name",
    "volumes/projected/sources/configMap/name",
    "containers/env/valueFrom/configMapKeyRef/name",
    "containers/envFrom/configMapRef/name",
    "initContainers/env/valueFrom/configMapKeyRef/name",
    "initContainers/envFrom/configMapRef/name",
)
_TEMPLATE_PREFIX = {
    "Pod": "spec/",
    "Deployment": "spec/template/spec/",
    "ReplicaSet": "spec/template/spec/",
    "DaemonSet": "spec/template/spec/",
    "StatefulSet": "spec/template/spec/",
    "Job": "spec/template/spec/",
    "CronJob": "spec/jobTemplate/spec/template/spec/",
}
# Kustomize's built-in name references to a ConfigMap (its nameReference configuration, the part that can
# point at what rollgen generates); `configurations` files add their own (a Rollout's, for one).
BUILTIN_REFERENCES: tuple[FieldSpec, ...] = tuple(
    (kind, prefix + path) for kind, prefix in _TEMPLATE_PREFIX.items() for path in _POD_PATHS
)


class GeneratorError(ValueError):
    """A generator or option the in-process build does not implement."""


def generate(entries: Iterable[Any], options: Any, objects: list[Manifest]) -> list[Manifest]:
    """`objects` with each configMapGenerator entry applied: a new ConfigMap (create) or one merged into /
    replacing the existing ConfigMap of that name and namespace."""
    opts = _options(options)
    out = list(objects)
    for entry in entries:
        made = _config_map(entry, opts)
        behavior = entry.get("behavior", "create")
        if behavior == "create":
            if _find(out, made) is not None:
                raise GeneratorError(f"configMapGenerator {made['metadata']['name']}: already exists")
            out.append(made)
            continue
        index = _find(out, made)
        if index is None:
            raise GeneratorError(f"configMapGenerator {made['metadata']['name']}: behavior {behavior} finds nothing")
        if behavior not in ("replace", "merge"):
            raise GeneratorError(f"configMapGenerator behavior {behavior!r}")
        out[index] = _combined(out[index], made, merge=behavior == "merge")
    return out


def _options(options: Any) -> Mapping[str, Any]:
    if options is None:
        return {}
    if not isinstance(options, dict) or set(options) - _OPTION_FIELDS:
        raise GeneratorError(f"generatorOptions {sorted(options) if isinstance(options, dict) else options}")
    return options


def _config_map(entry: Any, options: Mapping[str, Any]) -> Manifest:
    if not isinstance(entry, dict) or set(entry) - _GENERATOR_FIELDS or not isinstance(entry.get("name"), str):
        raise GeneratorError(f"configMapGenerator entry {entry!r}: only name, namespace, literals and behavior")
    if entry.get("options") is not None:
        raise GeneratorError(f"configMapGenerator {entry['name']}: per-generator options")
    meta: dict[str, Any] = {"name": entry["name"]}
    if entry.get("namespace"):
        meta["namespace"] = entry["namespace"]
    for field in ("labels", "annotations"):
        if options.get(field):
            meta[field] = {str(k): str(v) for k, v in options[field].items()}
    obj: Manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}
    data = dict(_literal(item) for item in entry.get("literals") or [])
    if data:
        obj["data"] = data
    if not options.get("disableNameSuffixHash"):
        obj[NEEDS_HASH] = True
    return obj


def _literal(item: Any) -> tuple[str, str]:
    """`key=value`, split at the first `=`; kustomize drops one pair of matching outer quotes."""
    if not isinstance(item, str) or "=" not in item:
        raise GeneratorError(f"configMapGenerator literal {item!r} is not key=value")
    key, _, value = item.partition("=")
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return key, value


def _find(objects: list[Manifest], made: Manifest) -> int | None:
    meta = made["metadata"]
    for index, obj in enumerate(objects):
        other = obj.get("metadata") or {}
        if (
            obj.get("kind") == "ConfigMap"
            and obj.get("apiVersion") == "v1"
            and other.get("name") == meta["name"]
            and _same_namespace(other.get("namespace"), meta.get("namespace"))
        ):
            return index
    return None


def _same_namespace(a: Any, b: Any) -> bool:
    # kustomize holds an empty namespace equal to "default"
    return (a or "default") == (b or "default")


def _combined(old: Manifest, new: Manifest, merge: bool) -> Manifest:
    """behavior replace/merge: the new data (merged over the old for merge); labels and annotations of both,
    the new winning; name and namespace of the old."""
    out = dict(new)
    meta = dict(new["metadata"])
    old_meta = old.get("metadata") or {}
    for field in ("labels", "annotations"):
        both = {**(old_meta.get(field) or {}), **(meta.get(field) or {})}
        if both:
            meta[field] = both
    meta["name"] = old_meta.get("name")
    if old_meta.get("namespace"):
        meta["namespace"] = old_meta["namespace"]
    else:
        meta.pop("namespace", None)
    out["metadata"] = meta
    if merge:
        data = {**(old.get("data") or {}), **(new.get("data") or {})}
        if data:
            out["data"] = data
    if old.get(NEEDS_HASH) or new.get(NEEDS_HASH):
        out[NEEDS_HASH] = True
    return out


# -- the hash suffix and the references --------------------------------------------------------------------


def name_suffix(obj: Manifest) -> str:
    data = obj.get("data")
    encoded: dict[str, Any] = {"data": data if data else "", "kind": "ConfigMap", "name": ""}
    binary = obj.get("binaryData")
    if isinstance(binary, dict) and binary:
        encoded["binaryData"] = binary
    text = json.dumps(encoded, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]
    return digest.translate(str.maketrans("013ae", "ghkmt"))


def add_hashes(objects: list[Manifest], references: Iterable[FieldSpec]) -> None:
    """Give every generated ConfigMap its hashed name (after all transformations, as kustomize does at the
    top level only) and point the references in the same namespace at it."""
    specs = [*BUILTIN_REFERENCES, *references]
    for obj in objects:
        if not obj.pop(NEEDS_HASH, False):
            continue
        meta = obj["metadata"]
        old = meta["name"]
        meta["name"] = f"{old}-{name_suffix(obj)}"
        for referrer in objects:
            referrer_meta = referrer.get("metadata") or {}
            if not _same_namespace(referrer_meta.get("namespace"), meta.get("namespace")):
                continue
            for kind, path in specs:
                if referrer.get("kind") == kind:
                    _rename(referrer, path.split("/"), old, meta["name"])


def _rename(node: Any, path: list[str], old: str, new: str) -> None:
    """Every string at `path` equal to `old` becomes `new`; a list on the way means each of its items."""
    if isinstance(node, list):
        for item in node:
            _rename(item, path, old, new)
        return
    if not isinstance(node, dict) or path[0] not in node:
        return
    if len(path) == 1:
        if node[path[0]] == old:
            node[path[0]] = new
        return
    _rename(node[path[0]], path[1:], old, new)


def references_in(configuration: Any) -> list[FieldSpec]:
    """The ConfigMap name references a `configurations` file declares."""
    out: list[FieldSpec] = []
    if not isinstance(configuration, dict):
        return out
    for entry in configuration.get("nameReference") or []:
        if isinstance(entry, dict) and entry.get("kind") == "ConfigMap":
            for spec in entry.get("fieldSpecs") or []:
                if isinstance(spec, dict) and isinstance(spec.get("kind"), str) and isinstance(spec.get("path"), str):
                    out.append((spec["kind"], spec["path"]))
    return out
