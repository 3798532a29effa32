"""Kustomize layout: the release rendered once for its defaults (the base), and per environment the JSON6902
patches, images and extra objects that turn the base into what the environment's renderer produced.

Pure: (release, states) -> {relative path: document}. Every document is one YAML document (a patch file is one
document holding a list of operations).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from generator.render.engines import ImageSlot, Manifest, Rendered, renderer_for
from generator.render.engines.common import SYNC_WAVE as SYNC_WAVE
from generator.model import Environment, EnvState, Release
from generator.render.workload_render import base_kustomization, overlay_kustomization, render_environment

KUSTOMIZE_API = "kustomize.config.k8s.io/v1beta1"

# The fixed order of objects in `resources` and `patches`: what others refer to comes first.
KIND_ORDER = (
    "AnalysisTemplate",
    "MetricTemplate",
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "Service",
    "Deployment",
    "Rollout",
    "Canary",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "Ingress",
)
_KIND_RANK = {kind: rank for rank, kind in enumerate(KIND_ORDER)}

# Argo CD applies lower waves first: a Rollout or Canary must find its templates already there.
SYNC_WAVES = {
    "AnalysisTemplate": "-1",
    "MetricTemplate": "-1",
    "Deployment": "0",
    "Rollout": "0",
    "Canary": "0",
}

Key = tuple[str, str]  # (kind, name)
Files = dict[str, Any]


def layout(release: Release, states: Mapping[str, EnvState], pinned: Mapping[str, Release] | None = None) -> Files:
    """`pinned`: environment -> the release as the spec it was last acted on reads (gitops/pinned.py). Such an
    environment is rendered from it, as a patch against the base of the current spec: its build stays what its
    own last commit made it, whatever this commit changes in the base."""
    render = renderer_for(release.engine)
    base_env = release.base_environment()
    base = render_environment(render, release, base_env, EnvState.initial(base_env))
    base_objects = _index(base.manifests)
    app = f"apps/{release.name}"
    files: Files = _base_files(f"{app}/base", base, base_objects)
    files[f"{app}/base/kustomization.yaml"] = base_kustomization(release, files[f"{app}/base/kustomization.yaml"])
    for env in release.environments:
        own, own_env = _own(release, env, pinned)
        state = states.get(env.name) or EnvState.initial(env)
        rendered = render_environment(renderer_for(own.engine) if own is not release else render, own, own_env, state)
        overlay = _overlay_files(base_env.namespace, base_objects, own_env, rendered)
        overlay["kustomization.yaml"] = overlay_kustomization(own, own_env, overlay["kustomization.yaml"], state, release)
        files.update({f"{app}/overlays/{env.name}/{name}": doc for name, doc in overlay.items()})
    return files


def _own(release: Release, env: Environment, pinned: Mapping[str, Release] | None) -> tuple[Release, Environment]:
    """The release and environment `env` is rendered from: its pinned spec's, when it has one that still names it."""
    own = (pinned or {}).get(env.name)
    if own is None or own.name != release.name or env.name not in {e.name for e in own.environments}:
        return release, env
    return own, own.environment(env.name)


# -- objects ------------------------------------------------------------------------------------------------


def _index(manifests: Iterable[Manifest]) -> dict[Key, Manifest]:
    """Objects by (kind, name) in the fixed kind order, each a copy carrying its sync wave."""
    out: dict[Key, Manifest] = {}
    for manifest in manifests:
        key = (manifest["kind"], manifest["metadata"]["name"])
        if key in out:
            raise ValueError(f"the renderer produced {key[0]} {key[1]} twice")
        out[key] = with_sync_wave(manifest)
    return {key: out[key] for key in sorted(out, key=_order)}


def _order(key: Key) -> tuple[int, str, str]:
    kind, name = key
    return _KIND_RANK.get(kind, len(KIND_ORDER)), kind, name


def with_sync_wave(manifest: Manifest) -> Manifest:
    """A copy with the Argo CD sync wave of its kind, unless the renderer chose one."""
    wave = SYNC_WAVES.get(manifest["kind"])
    if wave is None or SYNC_WAVE in manifest["metadata"].get("annotations", {}):
        return manifest
    out = dict(manifest)
    meta = out["metadata"] = dict(manifest["metadata"])
    annotations = {**meta.get("annotations", {}), SYNC_WAVE: wave}
    meta["annotations"] = dict(sorted(annotations.items()))
    return out


def file_name(kind: str, name: str, prefix: str = "") -> str:
    return f"{prefix}{kind.lower()}_{name}.yaml"


# -- base ---------------------------------------------------------------------------------------------------


def _base_files(root: str, rendered: Rendered, objects: Mapping[Key, Manifest]) -> Files:
    resources = [file_name(*key) for key in objects]
    configurations = [name for name, _ in rendered.kustomize_configurations]
    kustomization: dict[str, Any] = {"apiVersion": KUSTOMIZE_API, "kind": "Kustomization", "resources": resources}
    if configurations:
        kustomization["configurations"] = configurations
    files: Files = {f"{root}/kustomization.yaml": kustomization}
    files.update({f"{root}/{file_name(*key)}": obj for key, obj in objects.items()})
    files.update({f"{root}/{name}": doc for name, doc in rendered.kustomize_configurations})
    return files


# -- overlays -----------------------------------------------------------------------------------------------


def _overlay_files(
    base_namespace: str, base: Mapping[Key, Manifest], env: Environment, rendered: Rendered
) -> Files:
    objects = _index(rendered.manifests)
    set_namespace = env.namespace != base_namespace
    files: Files = {}
    resources = ["../../base"]
    patches: list[dict[str, Any]] = []
    for key, obj in objects.items():
        if key not in base:
            resources.append(file_name(*key))
            files[file_name(*key)] = obj
            continue
        ops = object_patch(base[key], obj, set_namespace)
        if ops:
            files[file_name(*key, prefix="patch_")] = ops
            patches.append({"path": file_name(*key, prefix="patch_"), "target": patch_target(base[key])})
    for key, obj in base.items():
        if key not in objects:
            files[file_name(*key, prefix="delete_")] = delete_patch(obj)
            patches.append({"path": file_name(*key, prefix="delete_")})
    kustomization = _overlay_kustomization(resources, env.namespace if set_namespace else None, rendered.images, patches)
    return {"kustomization.yaml": kustomization, **files}


def _overlay_kustomization(
    resources: list[str], namespace: str | None, images: Iterable[ImageSlot], patches: list[dict[str, Any]]
) -> dict[str, Any]:
    out: dict[str, Any] = {"apiVersion": KUSTOMIZE_API, "kind": "Kustomization", "resources": resources}
    if namespace is not None:
        out["namespace"] = namespace
    entries = [image_entry(slot) for slot in sorted(images, key=lambda slot: slot.name)]
    if entries:
        out["images"] = entries
    if patches:
        out["patches"] = patches
    return out


def image_entry(slot: ImageSlot) -> dict[str, str]:
    entry = {"name": slot.name, "newName": slot.image.repository}
    if slot.image.tag:
        entry["newTag"] = slot.image.tag
    if slot.image.digest:
        entry["digest"] = slot.image.digest
    return entry


def patch_target(obj: Manifest) -> dict[str, str]:
    group, _, version = obj["apiVersion"].rpartition("/")
    target = {"group": group} if group else {}
    target.update(version=version, kind=obj["kind"], name=obj["metadata"]["name"])
    return target


def delete_patch(obj: Manifest) -> dict[str, Any]:
    """A strategic-merge patch removing a base object; patches apply before the overlay's namespace."""
    meta = {"name": obj["metadata"]["name"]}
    if "namespace" in obj["metadata"]:
        meta["namespace"] = obj["metadata"]["namespace"]
    return {"$patch": "delete", "apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": meta}


def object_patch(base: Manifest, target: Manifest, namespace_handled: bool) -> list[dict[str, Any]]:
    """JSON6902 ops from base to target; the namespace is left to kustomize `namespace:` when it sets one."""
    if namespace_handled:
        base, target = _without_namespace(base), _without_namespace(target)
    return json_patch(base, target)


def _without_namespace(obj: Manifest) -> Manifest:
    meta = {k: v for k, v in obj["metadata"].items() if k != "namespace"}
    return {**obj, "metadata": meta}


# -- JSON6902 -----------------------------------------------------------------------------------------------


def json_patch(base: Any, target: Any) -> list[dict[str, Any]]:
    """Minimal ops: recurse into mappings, replace anything else (whole lists included) that differs.

    Order: removals and changes in the base's key order, then additions in the target's key order. Values are
    shared with the target, not copied: nothing downstream mutates documents.
    """
    ops: list[dict[str, Any]] = []
    _diff(base, target, "", ops)
    return ops


def pointer_token(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _diff(old: Any, new: Any, path: str, ops: list[dict[str, Any]]) -> None:
    if type(old) is dict and type(new) is dict:
        _diff_mapping(old, new, path, ops)
    elif not same(old, new):
        ops.append({"op": "replace", "path": path, "value": new})


def _diff_mapping(old: dict[str, Any], new: dict[str, Any], path: str, ops: list[dict[str, Any]]) -> None:
    for key, value in old.items():
        child = f"{path}/{pointer_token(key)}"
        if key in new:
            _diff(value, new[key], child, ops)
        else:
            ops.append({"op": "remove", "path": child})
    for key, value in new.items():
        if key not in old:
            ops.append({"op": "add", "path": f"{path}/{pointer_token(key)}", "value": value})


def same(a: Any, b: Any) -> bool:
    """Equality that tells 1 from True and 1 from 1.0: they are written differently."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return a.keys() == b.keys() and all(same(value, b[key]) for key, value in a.items())
    if type(a) is list:
        return len(a) == len(b) and all(map(same, a, b))
    return bool(a == b)
