"""layout: the base, the overlays' JSON6902 patches, images, namespace, extra and deleted objects, sync waves.

The unit tests use a small fake renderer so that they pin the layout's own rules; the kustomize tests run the
real renderers and prove with `kubectl kustomize` that every overlay builds back exactly what the renderer
produced for that environment.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from generator.render import layout as layout_module
from generator.render.engines import ImageSlot, Manifest, Rendered
from generator.render.layout import SYNC_WAVE, json_patch, layout, pointer_token
from generator.model import Environment, EnvState, Image, Release
from generator.render.pipeline import render_files
from generator.gitops.writer import write_tree
from tests.factories import make_environment, make_release

IMAGE_V2 = Image.parse("ghcr.io/kmaster8/hello:v2")
IMAGE_V3 = Image.parse("ghcr.io/kmaster8/hello:v3")


# -- a fake renderer: just enough shape to exercise every layout rule ---------------------------------------


def fake_render(release: Release, env: Environment, state: EnvState) -> Rendered:
    labels = {"app.kubernetes.io/name": release.name, **dict(env.labels)}
    meta = {"name": release.name, "namespace": env.namespace, "labels": labels}
    objects: list[Manifest] = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": copy.deepcopy(meta),
            "spec": {
                "replicas": env.replicas,
                "template": {"spec": {"containers": [{"name": "app", "image": release.name, "args": ["--a"]}]}},
            },
        },
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AnalysisTemplate",
            "metadata": copy.deepcopy(meta),
            "spec": {"metrics": [{"name": "m"}]},
        },
        {"apiVersion": "v1", "kind": "Service", "metadata": copy.deepcopy(meta), "spec": {"ports": [{"port": 80}]}},
    ]
    if env.name == "lean":
        objects = [o for o in objects if o["kind"] != "Service"]
    if env.name == "extra":
        objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": copy.deepcopy(meta), "data": {"a": "b"}})
    if env.name == "args":
        objects[0]["spec"]["template"]["spec"]["containers"][0]["args"] = ["--a", "--b"]
    image = state.canary_image or state.stable_image
    return Rendered(manifests=tuple(objects), images=(ImageSlot(release.name, image),))


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layout_module, "renderer_for", lambda engine: fake_render)


def release_with(*envs: dict[str, Any]) -> Release:
    release = make_release()
    return replace(release, environments=tuple(make_environment(release, **env) for env in envs))


# -- base ---------------------------------------------------------------------------------------------------


def test_base_has_one_object_a_file_and_a_sorted_kustomization(fake: None) -> None:
    files = layout(release_with({"name": "default"}), {})
    base = {path: doc for path, doc in files.items() if path.startswith("apps/hello/base/")}
    assert list(base) == [
        "apps/hello/base/kustomization.yaml",
        "apps/hello/base/analysistemplate_hello.yaml",
        "apps/hello/base/service_hello.yaml",
        "apps/hello/base/deployment_hello.yaml",
    ]
    kustomization = base["apps/hello/base/kustomization.yaml"]
    assert kustomization == {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["analysistemplate_hello.yaml", "service_hello.yaml", "deployment_hello.yaml"],
    }
    # placeholders stay in the base: the overlay's `images:` names the real image
    deployment = base["apps/hello/base/deployment_hello.yaml"]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "hello"


def test_configurations_are_files_in_the_base(monkeypatch: pytest.MonkeyPatch) -> None:
    config = {"nameReference": [{"kind": "Service", "fieldSpecs": [{"path": "spec/x", "kind": "Rollout"}]}]}

    def render(release: Release, env: Environment, state: EnvState) -> Rendered:
        return replace(fake_render(release, env, state), kustomize_configurations=(("kustomizeconfig-rollout.yaml", config),))

    monkeypatch.setattr(layout_module, "renderer_for", lambda engine: render)
    files = layout(release_with({"name": "default"}), {})
    assert files["apps/hello/base/kustomization.yaml"]["configurations"] == ["kustomizeconfig-rollout.yaml"]
    assert files["apps/hello/base/kustomizeconfig-rollout.yaml"] == config


def test_sync_waves_put_templates_before_workloads_and_keep_a_renderers_choice(fake: None) -> None:
    files = layout(release_with({"name": "default"}), {})
    template = files["apps/hello/base/analysistemplate_hello.yaml"]
    assert template["metadata"]["annotations"] == {SYNC_WAVE: "-1"}
    assert files["apps/hello/base/deployment_hello.yaml"]["metadata"]["annotations"] == {SYNC_WAVE: "0"}
    assert "annotations" not in files["apps/hello/base/service_hello.yaml"]["metadata"]
    chosen = {"kind": "Deployment", "metadata": {"name": "x", "annotations": {SYNC_WAVE: "5"}}}
    assert layout_module.with_sync_wave(chosen)["metadata"]["annotations"] == {SYNC_WAVE: "5"}


def test_layout_does_not_mutate_the_renderers_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    produced: list[Rendered] = []

    def render(release: Release, env: Environment, state: EnvState) -> Rendered:
        produced.append(fake_render(release, env, state))
        return produced[-1]

    monkeypatch.setattr(layout_module, "renderer_for", lambda engine: render)
    layout(release_with({"name": "default"}), {})
    assert all("annotations" not in m["metadata"] for r in produced for m in r.manifests)


# -- overlays -----------------------------------------------------------------------------------------------


def test_identical_environment_has_no_patches(fake: None) -> None:
    files = layout(release_with({"name": "default"}), {})
    overlay = {p: d for p, d in files.items() if "/overlays/" in p}
    assert list(overlay) == ["apps/hello/overlays/default/kustomization.yaml"]
    assert overlay["apps/hello/overlays/default/kustomization.yaml"] == {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["../../base"],
        "images": [{"name": "hello", "newName": "ghcr.io/kmaster8/hello", "newTag": "v2"}],
    }


def test_patches_escape_pointers_and_leave_the_namespace_to_kustomize(fake: None) -> None:
    release = release_with({"name": "prod", "namespace": "prod", "replicas": 5, "labels": (("a/b~c", "x"),)})
    files = layout(release, {})
    kustomization = files["apps/hello/overlays/prod/kustomization.yaml"]
    assert kustomization["namespace"] == "prod"
    assert [patch["path"] for patch in kustomization["patches"]] == [
        "patch_analysistemplate_hello.yaml",
        "patch_service_hello.yaml",
        "patch_deployment_hello.yaml",
    ]
    assert kustomization["patches"][2] == {
        "path": "patch_deployment_hello.yaml",
        "target": {"group": "apps", "version": "v1", "kind": "Deployment", "name": "hello"},
    }
    assert kustomization["patches"][0]["target"] == {
        "group": "argoproj.io",
        "version": "v1alpha1",
        "kind": "AnalysisTemplate",
        "name": "hello",
    }
    assert files["apps/hello/overlays/prod/patch_deployment_hello.yaml"] == [
        {"op": "add", "path": "/metadata/labels/a~1b~0c", "value": "x"},
        {"op": "replace", "path": "/spec/replicas", "value": 5},
    ]
    assert files["apps/hello/overlays/prod/patch_service_hello.yaml"] == [
        {"op": "add", "path": "/metadata/labels/a~1b~0c", "value": "x"},
    ]


def test_core_group_target_has_no_group(fake: None) -> None:
    files = layout(release_with({"name": "prod", "labels": (("tier", "gold"),)}), {})
    patches = files["apps/hello/overlays/prod/kustomization.yaml"]["patches"]
    assert patches[1]["target"] == {"version": "v1", "kind": "Service", "name": "hello"}
    assert "namespace" not in files["apps/hello/overlays/prod/kustomization.yaml"]


def test_lists_are_replaced_whole(fake: None) -> None:
    files = layout(release_with({"name": "args"}), {})
    assert files["apps/hello/overlays/args/patch_deployment_hello.yaml"] == [
        {"op": "replace", "path": "/spec/template/spec/containers", "value": [
            {"name": "app", "image": "hello", "args": ["--a", "--b"]}
        ]},
    ]


def test_images_come_from_the_state(fake: None) -> None:
    release = release_with({"name": "prod"})
    state = EnvState(phase="progressing", stable_image=IMAGE_V2, canary_image=Image.parse("r.io/x@sha256:" + "a" * 64), step=1)
    files = layout(release, {"prod": state})
    assert files["apps/hello/overlays/prod/kustomization.yaml"]["images"] == [
        {"name": "hello", "newName": "r.io/x", "digest": "sha256:" + "a" * 64}
    ]
    both = Image.parse("r.io/x:v1@sha256:" + "b" * 64)
    assert layout_module.image_entry(ImageSlot("p", both)) == {
        "name": "p", "newName": "r.io/x", "newTag": "v1", "digest": "sha256:" + "b" * 64
    }


def test_object_only_in_the_environment_is_an_extra_resource(fake: None) -> None:
    files = layout(release_with({"name": "extra"}), {})
    kustomization = files["apps/hello/overlays/extra/kustomization.yaml"]
    assert kustomization["resources"] == ["../../base", "configmap_hello.yaml"]
    assert files["apps/hello/overlays/extra/configmap_hello.yaml"]["data"] == {"a": "b"}


def test_object_only_in_the_base_is_deleted_by_a_strategic_merge_patch(fake: None) -> None:
    files = layout(release_with({"name": "lean"}), {})
    kustomization = files["apps/hello/overlays/lean/kustomization.yaml"]
    assert kustomization["patches"] == [{"path": "delete_service_hello.yaml"}]
    assert files["apps/hello/overlays/lean/delete_service_hello.yaml"] == {
        "$patch": "delete",
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "hello", "namespace": "test"},
    }


def test_layout_is_deterministic(fake: None) -> None:
    release = release_with({"name": "prod", "namespace": "prod", "replicas": 2}, {"name": "lean"}, {"name": "extra"})
    assert render_files(release, {}) == render_files(release, {})


# -- JSON6902 diff ------------------------------------------------------------------------------------------


def apply_patch(doc: Any, ops: list[dict[str, Any]]) -> Any:
    """A tiny RFC 6902 applier (add/remove/replace on mappings) to check that the ops reach the target."""
    doc = copy.deepcopy(doc)
    for op in ops:
        *parents, last = [t.replace("~1", "/").replace("~0", "~") for t in op["path"].split("/")[1:]]
        node = doc
        for token in parents:
            node = node[token]
        if op["op"] == "remove":
            del node[last]
        else:
            assert (last in node) == (op["op"] == "replace"), op
            node[last] = op["value"]
    return doc


@pytest.mark.parametrize(
    ("base", "target"),
    [
        ({"a": 1}, {"a": 1}),
        ({"a": 1}, {"a": 2}),
        ({"a": 1}, {"a": True}),
        ({"a": 1}, {"a": 1.0}),
        ({"a": {"b": [1, 2]}}, {"a": {"b": [1, 3]}}),
        ({"a": {"b": 1, "c": 2}}, {"a": {"c": 2, "d": {"e": "f"}}}),
        ({"a/b": {"~": 1}}, {"a/b": {"~": 2, "~/": 3}}),
        ({"a": {"b": 1}}, {"a": [1]}),
        ({"a": [{"x": 1}]}, {"a": [{"x": True}]}),
    ],
)
def test_json_patch_reaches_the_target(base: Any, target: Any) -> None:
    ops = json_patch(base, target)
    assert apply_patch(base, ops) == target
    assert all(type(a) is type(b) for a, b in zip(_leaves(apply_patch(base, ops)), _leaves(target)))
    if base == target and type(base) is type(target):
        assert ops == [] or any(op["op"] == "replace" for op in ops)


def _leaves(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [leaf for key in sorted(node) for leaf in _leaves(node[key])]
    if isinstance(node, list):
        return [leaf for item in node for leaf in _leaves(item)]
    return [node]


def test_json_patch_is_minimal_and_ordered() -> None:
    base = {"keep": 1, "drop": 2, "deep": {"x": 1, "y": 2}}
    target = {"new": 0, "deep": {"x": 1, "y": 3}, "keep": 1}
    assert json_patch(base, target) == [
        {"op": "remove", "path": "/drop"},
        {"op": "replace", "path": "/deep/y", "value": 3},
        {"op": "add", "path": "/new", "value": 0},
    ]


def test_pointer_escaping_order() -> None:
    assert pointer_token("a~1/b") == "a~01~1b"


# -- the real renderers through kubectl kustomize -----------------------------------------------------------

ENGINES = ("deployments", "argo-rollouts", "flagger")


def _expected(release: Release, env: Environment, state: EnvState) -> dict[tuple[str, str], Any]:
    """What kubectl kustomize must build: the renderer's objects, with real images and sync waves."""
    from generator.render.engines import renderer_for

    rendered = renderer_for(release.engine)(release, env, state)
    images = {slot.name: slot.image.ref for slot in rendered.images}
    out = {}
    for manifest in rendered.manifests:
        obj = copy.deepcopy(layout_module.with_sync_wave(manifest))
        pod = obj.get("spec", {}).get("template", {}).get("spec", {})
        for container in pod.get("containers", []) + pod.get("initContainers", []):
            container["image"] = images.get(container["image"], container["image"])
        out[(obj["kind"], obj["metadata"]["name"])] = obj
    return out


def _strategy_releases(engine: str) -> list[Release]:
    from generator.model import ABTestStrategy, BlueGreenStrategy

    canary = make_release(engine=engine, progression="controller" if engine == "flagger" else "git")
    out = [canary]
    if engine != "flagger":
        out.append(replace(canary, strategy=BlueGreenStrategy(preview_host="preview.hello.example.com")))
    else:
        out.append(replace(canary, strategy=ABTestStrategy(iterations=5, header="X-Canary")))
    return out


def _environments(release: Release) -> Release:
    prod = make_environment(
        release, name="prod", namespace="prod", replicas=5, labels=(("tier", "gold"),), image=IMAGE_V3,
        host="hello.prod.example.com",
    )
    staging = make_environment(release, name="staging", replicas=1)
    return replace(release, environments=(prod, staging))


def _states(release: Release) -> dict[str, EnvState]:
    from generator.model import CanaryStrategy

    if isinstance(release.strategy, CanaryStrategy) and release.progression == "git":
        return {"prod": EnvState(phase="progressing", stable_image=IMAGE_V2, canary_image=IMAGE_V3, step=2, weight=20)}
    if release.engine == "deployments":
        return {"prod": EnvState(phase="progressing", stable_image=IMAGE_V2, canary_image=IMAGE_V3, step=1)}
    return {}


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_every_overlay_builds_back_the_environments_objects(engine: str, tmp_path: Path) -> None:
    from tests.validators import kustomize_build

    for index, release in enumerate(_strategy_releases(engine)):
        release = _environments(release)
        states = _states(release)
        out = tmp_path / str(index)
        write_tree(out, render_files(release, states), ["apps/hello"])
        kustomize_build(out / "apps/hello/base")
        for env in release.environments:
            state = states.get(env.name) or EnvState.initial(env)
            built = {(d["kind"], d["metadata"]["name"]): d for d in kustomize_build(out / f"apps/hello/overlays/{env.name}")}
            expected = _expected(release, env, state)
            assert sorted(built) == sorted(expected), (engine, release.strategy.kind, env.name)
            for key, obj in expected.items():
                assert built[key] == obj, (engine, release.strategy.kind, env.name, key)
