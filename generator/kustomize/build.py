"""The objects an overlay builds to, computed in-process from rendered files: what `kubectl kustomize` gives.

`rollgen plan` diffs the built objects before and after an action, like `kubectl diff`, without kubectl. Only
the Kustomize features rollgen itself writes are implemented (resources, namespace, images, configMapGenerator
with literals and generatorOptions (generator/kustomize/config_generator.py: the hashed names and the references to
them), patches from files or inline: JSON6902 with a target, strategic merge (generator/kustomize/strategic_merge.py),
`$patch: delete`; of `configurations` only the ConfigMap name references, the rest only matter for name
prefixes, which rollgen never uses); anything else is refused with BuildError rather than built wrongly.
tests/commands/test_plan.py holds the result equal to `kubectl kustomize` on every golden tree, tests/render/test_build.py on
the generator and patch cases one by one.
"""

from __future__ import annotations

import copy
import posixpath
import re
from collections.abc import Mapping
from typing import Any

from generator.yaml_import import SafeLoader as _Loader, yaml

from generator.errors import RollgenError
from generator.kustomize import config_generator, strategic_merge

Manifest = dict[str, Any]
ObjectKey = tuple[str, str, str, str]  # apiVersion, kind, namespace, name

_KNOWN = frozenset({
    "apiVersion", "kind", "resources", "namespace", "images", "patches", "configurations", "configMapGenerator",
    "generatorOptions",
})  # fmt: skip
_TARGET_FIELDS = frozenset({"group", "version", "kind", "name"})


class BuildError(RollgenError):
    """The files use a Kustomize feature the in-process build does not implement."""


def build(files: Mapping[str, bytes], folder: str) -> dict[ObjectKey, Manifest]:
    """The objects of the kustomization in `folder` (a key prefix of `files`), by identity, in build order."""
    references: list[config_generator.FieldSpec] = []
    objects = _build(files, folder.rstrip("/"), depth=0, references=references)
    # kustomize hashes generated names once, at the top, after every transformation
    config_generator.add_hashes(objects, references)
    return {key_of(obj): obj for obj in objects}


def key_of(obj: Manifest) -> ObjectKey:
    meta = obj.get("metadata") or {}
    return (str(obj.get("apiVersion", "")), str(obj.get("kind", "")), str(meta.get("namespace", "")), str(meta.get("name", "")))


def _build(
    files: Mapping[str, bytes], folder: str, depth: int, references: list[config_generator.FieldSpec]
) -> list[Manifest]:
    if depth > 5:
        raise BuildError(f"{folder}: kustomizations nested too deep")
    kustomization = _load_one(files, f"{folder}/kustomization.yaml")
    unknown = sorted(set(kustomization) - _KNOWN)
    if unknown:
        raise BuildError(f"{folder}/kustomization.yaml: cannot build {', '.join(unknown)} in-process")
    objects: list[Manifest] = []
    for resource in kustomization.get("resources", []):
        path = posixpath.normpath(posixpath.join(folder, resource))
        if f"{path}/kustomization.yaml" in files:
            objects.extend(_build(files, path, depth + 1, references))
        else:
            objects.extend(copy.deepcopy(doc) for doc in _load_all(files, path))
    for configuration in kustomization.get("configurations", []):
        for doc in _load_all(files, posixpath.normpath(posixpath.join(folder, configuration))):
            references.extend(config_generator.references_in(doc))
    objects = _generate(folder, kustomization, objects)
    for patch in kustomization.get("patches", []):
        objects = _apply_patch(files, folder, patch, objects)
    namespace = kustomization.get("namespace")
    if namespace:
        for obj in objects:
            obj.setdefault("metadata", {})["namespace"] = namespace
    for image in kustomization.get("images", []):
        for obj in objects:
            _set_images(obj, image)
    return objects


def _generate(folder: str, kustomization: Manifest, objects: list[Manifest]) -> list[Manifest]:
    generators = kustomization.get("configMapGenerator") or []
    if not generators:
        return objects
    try:
        return config_generator.generate(generators, kustomization.get("generatorOptions"), objects)
    except config_generator.GeneratorError as exc:
        raise BuildError(f"{folder}/kustomization.yaml: {exc}: only literals are built in-process") from None


def _load_one(files: Mapping[str, bytes], path: str) -> Manifest:
    docs = _load_all(files, path)
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise BuildError(f"{path}: expected one mapping")
    return docs[0]


def _load_all(files: Mapping[str, bytes], path: str) -> list[Any]:
    if path not in files:
        raise BuildError(f"{path}: named by a kustomization but not there")
    return [doc for doc in yaml.load_all(files[path], Loader=_Loader) if doc is not None]


# -- patches ------------------------------------------------------------------------------------------------


def _apply_patch(files: Mapping[str, bytes], folder: str, patch: Any, objects: list[Manifest]) -> list[Manifest]:
    where = f"{folder}/kustomization.yaml"
    if not isinstance(patch, dict) or set(patch) - {"path", "patch", "target"} or len({"path", "patch"} & set(patch)) != 1:
        raise BuildError(f"{where}: only `patches` entries with a path or an inline patch (and a target) are built")
    if "path" in patch:
        where = posixpath.normpath(posixpath.join(folder, patch["path"]))
        body = _load_all(files, where)
    elif isinstance(patch["patch"], str):
        body = [doc for doc in yaml.load_all(patch["patch"], Loader=_Loader) if doc is not None]
    else:
        raise BuildError(f"{where}: an inline patch is a string")
    target = patch.get("target")
    if target is not None and (not isinstance(target, dict) or set(target) - _TARGET_FIELDS):
        raise BuildError(f"{where}: only targets by group, version, kind and name are built in-process")
    if len(body) != 1:
        raise BuildError(f"{where}: a patch of {len(body)} documents is not built in-process")
    if isinstance(body[0], list):
        if target is None:
            raise BuildError(f"{where}: a JSON6902 patch needs a target")
        for obj in objects:
            if _matches(obj, target):
                for op in body[0]:
                    _json_op_checked(where, obj, op)
        return objects
    if not isinstance(body[0], dict):
        raise BuildError(f"{where}: a patch is a list of JSON6902 operations or a strategic-merge mapping")
    if body[0].get("$patch") == "delete":
        gone = body[0]
        if target is not None:
            return [obj for obj in objects if not _matches(obj, target)]
        return [obj for obj in objects if not _same_object(obj, gone)]
    if target is None:
        raise BuildError(f"{where}: only strategic-merge patches with a target are built in-process")
    if not isinstance(body[0].get("kind"), str):
        # kustomize reads a strategic-merge patch as a resource and fails on one without a kind
        raise BuildError(f"{where}: a strategic-merge patch without a kind")
    return [_strategic(where, obj, body[0]) if _matches(obj, target) else obj for obj in objects]


def _strategic(where: str, obj: Manifest, patch: Manifest) -> Manifest:
    """kustomize gives a targeted patch the target's identity before merging, so its own never renames."""
    patch = dict(patch)
    for field in ("apiVersion", "kind"):
        patch.pop(field, None)
    meta = patch.get("metadata")
    if isinstance(meta, dict):
        patch["metadata"] = {k: v for k, v in meta.items() if k not in ("name", "namespace")}
    try:
        return strategic_merge.merge(obj, patch)
    except strategic_merge.MergeError as exc:
        raise BuildError(f"{where}: {exc} is not built in-process") from None


def _json_op_checked(where: str, obj: Manifest, op: Any) -> None:
    if not isinstance(op, dict):
        raise BuildError(f"{where}: a JSON6902 operation is a mapping")
    try:
        _json_op(obj, op)
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        # kubectl fails on these too; say where rather than crash
        raise BuildError(f"{where}: JSON6902 {op.get('op')} {op.get('path')}: {exc!r}") from None


def _matches(obj: Manifest, target: Mapping[str, str]) -> bool:
    group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
    wanted = {"group": group, "version": version, "kind": obj.get("kind")}
    name = str((obj.get("metadata") or {}).get("name", ""))
    # kustomize reads a target's name as a regular expression anchored at both ends
    if "name" in target and re.fullmatch(str(target["name"]), name) is None:
        return False
    return all(wanted.get(field) == value for field, value in target.items() if field != "name")


def _same_object(obj: Manifest, other: Manifest) -> bool:
    meta, other_meta = obj.get("metadata") or {}, other.get("metadata") or {}
    return (
        obj.get("kind") == other.get("kind")
        and obj.get("apiVersion") == other.get("apiVersion")
        and meta.get("name") == other_meta.get("name")
    )


def _json_op(doc: Manifest, op: Mapping[str, Any]) -> None:
    kind, tokens = op.get("op"), _pointer(str(op.get("path", "")))
    if not tokens:
        raise BuildError(f"JSON6902 op on the whole document: {op}")
    parent: Any = doc
    for token in tokens[:-1]:
        parent = parent[int(token)] if isinstance(parent, list) else parent[token]
    last = tokens[-1]
    if kind in ("add", "replace"):
        value = copy.deepcopy(op.get("value"))
        if isinstance(parent, list):
            index = len(parent) if last == "-" else int(last)
            if kind == "add":
                parent.insert(index, value)
            else:
                parent[index] = value
        else:
            if kind == "replace" and last not in parent:
                raise BuildError(f"JSON6902 replace of a missing path {op.get('path')}")
            parent[last] = value
    elif kind == "remove":
        del parent[int(last) if isinstance(parent, list) else last]
    else:
        raise BuildError(f"JSON6902 op {kind!r} is not built in-process")


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        return []
    return [token.replace("~1", "/").replace("~0", "~") for token in path[1:].split("/")]


# -- images -------------------------------------------------------------------------------------------------


def _set_images(node: Any, entry: Mapping[str, str]) -> None:
    """Kustomize's images transformer: every containers[]/initContainers[] image named entry['name']."""
    if isinstance(node, list):
        for item in node:
            _set_images(item, entry)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in ("containers", "initContainers") and isinstance(value, list):
            for container in value:
                if isinstance(container, dict) and isinstance(container.get("image"), str):
                    container["image"] = _new_image(container["image"], entry)
        _set_images(value, entry)


def _new_image(current: str, entry: Mapping[str, str]) -> str:
    name, tag, digest = _split(current)
    if name != entry.get("name"):
        return current
    name = entry.get("newName", name)
    if "newTag" in entry:
        tag = entry["newTag"]
    if "digest" in entry:
        digest = entry["digest"]
    out = name
    if tag:
        out += f":{tag}"
    if digest:
        out += f"@{digest}"
    return out


def _split(image: str) -> tuple[str, str, str]:
    rest, _, digest = image.partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        return rest[:colon], rest[colon + 1 :], digest
    return rest, "", digest


# -- the diff -----------------------------------------------------------------------------------------------


def object_label(key: ObjectKey) -> str:
    """kubectl diff's file name for an object: group.version.Kind.namespace.name."""
    api, kind, namespace, name = key
    group, _, version = api.rpartition("/")
    return ".".join(part for part in (group, version, kind, namespace, name) if part)


def diff_objects(before: Mapping[ObjectKey, Manifest], after: Mapping[ObjectKey, Manifest]) -> list[str]:
    """One unified diff per object that changes, appears or goes, in the after build's order then the gone."""
    import difflib

    out = []
    keys = [*after, *(key for key in before if key not in after)]
    for key in keys:
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        label = object_label(key)
        lines = difflib.unified_diff(
            _dump(old), _dump(new), fromfile=f"before/{label}" if old is not None else "/dev/null",
            tofile=f"after/{label}" if new is not None else "/dev/null",
        )  # fmt: skip
        out.append("".join(lines))
    return out


def _dump(obj: Manifest | None) -> list[str]:
    if obj is None:
        return []
    text = yaml.safe_dump(obj, sort_keys=True, default_flow_style=False, allow_unicode=True, width=1 << 16)
    return text.splitlines(keepends=True)
