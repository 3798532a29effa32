"""The in-process Kustomize build (generator/kustomize/build.py) against `kubectl kustomize`, case by case: the
configMapGenerator (hash suffix, options, behaviors, references) and inline patches (JSON6902, strategic merge)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.kustomize.build import BuildError, build, key_of
from generator.kustomize.config_generator import name_suffix
from tests.conftest import require_tool

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {
                        "name": "app",
                        "image": "web:1",
                        "env": [{"name": "A", "value": "1"}, {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "web-env", "key": "B"}}}],
                        "envFrom": [{"configMapRef": {"name": "web-env"}}, {"configMapRef": {"name": "other"}}],
                        "ports": [{"containerPort": 8080, "name": "http"}],
                        "volumeMounts": [{"name": "files", "mountPath": "/etc/web"}],
                    },
                    {"name": "side", "image": "side:1"},
                ],
                "volumes": [
                    {"name": "files", "configMap": {"name": "web-files"}},
                    {"name": "both", "projected": {"sources": [{"configMap": {"name": "web-env"}}]}},
                ],
            },
        },
    },
}
SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080, "name": "http"}]},
}
ROLLOUT = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Rollout",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {
        "strategy": {"canary": {"steps": [{"setWeight": 10}, {"pause": {}}]}},
        "template": DEPLOYMENT["spec"]["template"],  # type: ignore[index]
    },
}
ROLLOUT_CONFIG = {
    "nameReference": [
        {
            "kind": "ConfigMap",
            "version": "v1",
            "fieldSpecs": [
                {"path": "spec/template/spec/volumes/configMap/name", "kind": "Rollout"},
                {"path": "spec/template/spec/containers/envFrom/configMapRef/name", "kind": "Rollout"},
            ],
        }
    ]
}
GENERATORS = {
    "configMapGenerator": [
        {"name": "web-env", "namespace": "shop", "literals": ["FEATURE=on", "QUOTED=\"kept?\"", "HTML=<a&b>"]},
        {"name": "web-files", "namespace": "shop", "literals": ["app.yaml=currency: EUR\nlimits:\n  x: 1\n"]},
    ],
    "generatorOptions": {"annotations": {"argocd.argoproj.io/sync-options": "Prune=false"}, "labels": {"gen": "yes"}},
}


def write(root: Path, files: dict[str, Any]) -> dict[str, bytes]:
    """Each document (a list means several) as YAML at its path under root; the same files as build() reads."""
    out = {}
    for rel, docs in files.items():
        text = yaml.safe_dump_all(docs if isinstance(docs, list) else [docs], sort_keys=False).encode()
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(text)
        out[rel] = text
    return out


def kubectl_build(root: Path, folder: str) -> dict[Any, Any]:
    out = subprocess.run(
        [require_tool("kubectl"), "kustomize", str(root / folder)], capture_output=True, text=True, check=True
    ).stdout
    return {key_of(doc): doc for doc in yaml.safe_load_all(out) if doc}


def same_as_kubectl(root: Path, files: dict[str, Any], folder: str) -> dict[Any, Any]:
    built = build(write(root, files), folder)
    assert built == kubectl_build(root, folder)
    return built


def base(extra: dict[str, Any] | None = None, objects: tuple[dict[str, Any], ...] = (DEPLOYMENT, SERVICE)) -> dict[str, Any]:
    return {
        "base/objects.yaml": list(objects),
        "base/kustomization.yaml": {"resources": ["objects.yaml"], **GENERATORS, **(extra or {})},
    }


@pytest.mark.parametrize(
    "literals",
    [
        [],
        ["K=v"],
        ["x="],
        ["Q=\"quoted\"", "S='single'", "M=\"mis'", "E==x"],
        ["H=<a&b>", "U=é✓ 日本", "L=line\u2028sep\u2029para"],
        ["N=multi\nline\n", "T=tab\there", "J={\"json\": [1, 2]}"],
    ],
)
def test_config_map_hash_suffix_equals_kubectl(tmp_path: Path, literals: list[str]) -> None:
    built = same_as_kubectl(tmp_path, {"k/kustomization.yaml": {"configMapGenerator": [{"name": "c", "literals": literals}]}}, "k")
    (obj,) = built.values()
    assert obj["metadata"]["name"] == f"c-{name_suffix(obj)}"


def test_suffix_depends_on_data_only_as_in_kubectl(tmp_path: Path) -> None:
    # kustomize's hasher looks the name up under a key no object has: two names with the same data share it
    files = {"k/kustomization.yaml": {"configMapGenerator": [{"name": "a", "literals": ["K=v"]}, {"name": "b", "literals": ["K=v"]}]}}
    names = sorted(key[3] for key in same_as_kubectl(tmp_path, files, "k"))
    assert names[0].rpartition("-")[2] == names[1].rpartition("-")[2]


def test_generated_names_rewritten_in_pod_templates(tmp_path: Path) -> None:
    built = same_as_kubectl(tmp_path, base(), "base")
    deployment = built[("apps/v1", "Deployment", "shop", "web")]
    env_name = next(key[3] for key in built if key[3].startswith("web-env-"))
    pod = deployment["spec"]["template"]["spec"]
    assert pod["containers"][0]["envFrom"] == [{"configMapRef": {"name": env_name}}, {"configMapRef": {"name": "other"}}]
    assert pod["containers"][0]["env"][1]["valueFrom"]["configMapKeyRef"]["name"] == env_name
    assert pod["volumes"][1]["projected"]["sources"][0]["configMap"]["name"] == env_name
    assert pod["volumes"][0]["configMap"]["name"].startswith("web-files-")


def test_overlay_replace_merge_and_namespace(tmp_path: Path) -> None:
    files = base()
    files["overlays/prod/kustomization.yaml"] = {
        "resources": ["../../base"],
        "namespace": "shop-prod",
        "configMapGenerator": [
            {"name": "web-env", "namespace": "shop", "behavior": "replace", "literals": ["FEATURE=off"]},
            {"name": "web-files", "namespace": "shop", "behavior": "merge", "literals": ["extra.txt=1"]},
            {"name": "web-new", "namespace": "shop", "literals": ["NEW=1"]},
        ],
        "generatorOptions": {"annotations": {"kustomize.toolkit.fluxcd.io/prune": "disabled"}},
    }
    built = same_as_kubectl(tmp_path, files, "overlays/prod")
    env = next(obj for key, obj in built.items() if key[3].startswith("web-env-"))
    assert env["data"] == {"FEATURE": "off"} and env["metadata"]["namespace"] == "shop-prod"


def test_reference_across_namespaces_left_alone(tmp_path: Path) -> None:
    elsewhere = {**DEPLOYMENT, "metadata": {"name": "web", "namespace": "elsewhere"}}
    built = same_as_kubectl(tmp_path, base(objects=(elsewhere,)), "base")
    pod = built[("apps/v1", "Deployment", "elsewhere", "web")]["spec"]["template"]["spec"]
    assert pod["volumes"][0]["configMap"]["name"] == "web-files"


def test_rollout_references_through_configurations(tmp_path: Path) -> None:
    files = base({"configurations": ["rollout-config.yaml"]}, objects=(ROLLOUT,))
    files["base/rollout-config.yaml"] = ROLLOUT_CONFIG
    built = same_as_kubectl(tmp_path, files, "base")
    pod = built[("argoproj.io/v1alpha1", "Rollout", "shop", "web")]["spec"]["template"]["spec"]
    assert pod["volumes"][0]["configMap"]["name"].startswith("web-files-")
    # not in the configurations file: left as written, as kubectl does
    assert pod["containers"][0]["env"][1]["valueFrom"]["configMapKeyRef"]["name"] == "web-env"


STRATEGIC = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: whatever, namespace: ignored, annotations: {a: b}}
spec:
  template:
    metadata:
      annotations: {cluster-autoscaler.kubernetes.io/safe-to-evict: "true"}
    spec:
      containers:
      - name: app
        env:
        - {name: A, value: changed}
        - {name: C, value: added}
        ports:
        - {containerPort: 9090, name: metrics}
        volumeMounts:
        - {name: tmp, mountPath: /tmp}
        - {name: files, mountPath: /etc/web, readOnly: true}
        envFrom: null
      - name: new
        image: new:1
      volumes:
      - {name: tmp, emptyDir: {}}
      tolerations:
      - {key: k, operator: Exists, value: null}
      hostAliases:
      - {ip: 10.0.0.1, hostnames: [a]}
      dnsConfig:
        nameservers: [1.1.1.1]
        options: [{name: ndots, value: null}]
        searches: null
"""

PATCHES: list[dict[str, Any]] = [
    {"patch": STRATEGIC, "target": {"kind": "Deployment", "name": "web"}},
    {"patch": "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports:\n  - {port: 443, name: https}\n  - {port: 80, targetPort: 9999}\n", "target": {"kind": "Service"}},
    {"patch": "- {op: add, path: /metadata/labels, value: {lx: lv}}\n- {op: replace, path: /spec/selector/app, value: z}", "target": {"version": "v1", "kind": "Service"}},
    {"patch": '[{"op": "remove", "path": "/spec/template/spec/containers/1"}]', "target": {"group": "apps", "kind": "Deployment", "name": "w.b"}},
    {"patch": "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: any\n  annotations: {nginx.ingress.kubernetes.io/proxy-body-size: 8m}", "target": {"kind": "Ingress"}},
]
INGRESS = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "Ingress",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"rules": [{"host": "web.example", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]},
}


@pytest.mark.parametrize("index", range(len(PATCHES)))
def test_inline_patch_equals_kubectl(tmp_path: Path, index: int) -> None:
    files = base(objects=(DEPLOYMENT, SERVICE, INGRESS))
    files["overlays/prod/kustomization.yaml"] = {"resources": ["../../base"], "patches": [PATCHES[index]]}
    built = same_as_kubectl(tmp_path, files, "overlays/prod")
    assert built != build(write(tmp_path, files), "base")  # the patch changed something


def test_all_inline_patches_in_order_with_namespace(tmp_path: Path) -> None:
    files = base(objects=(DEPLOYMENT, SERVICE, INGRESS))
    files["overlays/prod/kustomization.yaml"] = {"resources": ["../../base"], "namespace": "p", "patches": PATCHES}
    same_as_kubectl(tmp_path, files, "overlays/prod")


def test_strategic_patch_on_a_rollout_replaces_lists_as_kubectl_does(tmp_path: Path) -> None:
    files = base({"configurations": ["rollout-config.yaml"]}, objects=(ROLLOUT,))
    files["base/rollout-config.yaml"] = ROLLOUT_CONFIG
    rollout_patch = STRATEGIC.replace("apps/v1", "argoproj.io/v1alpha1").replace("kind: Deployment", "kind: Rollout")
    files["overlays/prod/kustomization.yaml"] = {
        "resources": ["../../base"],
        "patches": [
            {"patch": rollout_patch, "target": {"kind": "Rollout"}},
            {"patch": "kind: Rollout\nmetadata: {name: web}\nspec:\n  strategy:\n    canary:\n      steps:\n      - setWeight: 50\n", "target": {"kind": "Rollout"}},
        ],
    }
    built = same_as_kubectl(tmp_path, files, "overlays/prod")
    rollout = built[("argoproj.io/v1alpha1", "Rollout", "shop", "web")]
    # no schema for a Rollout in kustomize: its lists are taken whole from the patch, nulls and all
    containers = rollout["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["app", "new"] and containers[0]["envFrom"] is None


def test_inline_delete_patch_with_target(tmp_path: Path) -> None:
    files = base(objects=(DEPLOYMENT, SERVICE))
    files["overlays/prod/kustomization.yaml"] = {
        "resources": ["../../base"],
        "patches": [{"patch": "$patch: delete\napiVersion: v1\nkind: Service\nmetadata: {name: web}\n", "target": {"kind": "Service"}}],
    }
    assert not any(key[1] == "Service" for key in same_as_kubectl(tmp_path, files, "overlays/prod"))


@pytest.mark.parametrize(
    ("kustomization", "message"),
    [
        ({"configMapGenerator": [{"name": "c", "files": ["a.txt"]}]}, "only literals"),
        ({"configMapGenerator": [{"name": "c", "envs": ["a.env"]}]}, "only literals"),
        ({"configMapGenerator": [{"name": "c", "literals": ["K=v"]}], "generatorOptions": {"immutable": True}}, "generatorOptions"),
        ({"resources": ["objects.yaml"], "patches": [{"patch": "kind: Service\nmetadata: {name: web}\nspec:\n  $retainKeys: [x]\n", "target": {"kind": "Service"}}]}, "$retainKeys"),
        # kubectl refuses a strategic-merge patch that is not a resource (no kind); so does the build
        ({"resources": ["objects.yaml"], "patches": [{"patch": "spec: {}", "target": {"kind": "Service"}}]}, "kind"),
        ({"resources": ["objects.yaml"], "patches": [{"patch": "kind: Service\nmetadata: {name: web}\n", "target": {"labelSelector": "a=b"}}]}, "targets"),
        ({"resources": ["objects.yaml"], "patches": [{"patch": "kind: Service\nmetadata: {name: web}\nspec: {}"}]}, "with a target"),
        # kustomize writes the string "null" for these
        ({"resources": ["objects.yaml"], "patches": [{"patch": "kind: Service\nmetadata: {name: web, labels: {a: null}}\n", "target": {"kind": "Service"}}]}, "null"),
        ({"secretGenerator": [{"name": "s", "literals": ["K=v"]}]}, "secretGenerator"),
    ],
)
def test_what_is_not_built_is_refused(tmp_path: Path, kustomization: dict[str, Any], message: str) -> None:
    files = {"k/objects.yaml": [SERVICE], "k/kustomization.yaml": kustomization}
    with pytest.raises(BuildError, match=message.replace("$", r"\$")):
        build(write(tmp_path, files), "k")
