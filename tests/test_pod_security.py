"""Issue 22 item 7: `security: restricted` makes every container Pod Security Admission `restricted` compliant
(init containers too; an added NET_BIND_SERVICE keeps `drop: [ALL]`), and refuses, located, what cannot comply.
tests/live_models.psa_restricted is the admission check; every pod of every golden overlay is held to it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.cli import main
from tests.live_models import golden_overlays, pod_templates, psa_restricted
from tests.render.routers.test_routers import CANARY, spec_text
from tests.validators import EXAMPLES, kustomize_build, validate_manifest


def _security(label: str) -> str:
    folder, _, _, _, env = label.split("/")
    stem = folder.removesuffix("-progressing")
    spec = yaml.safe_load((EXAMPLES / f"{stem}.yaml").read_text())["spec"]
    entry = next((e for e in spec.get("environments", []) if e["name"] == env), {})
    return str(entry.get("security", spec.get("security", "restricted")))


@pytest.mark.slow
def test_every_restricted_golden_pod_is_admitted() -> None:
    checked = 0
    for label, objects in golden_overlays():
        if _security(label) != "restricted":
            continue
        for ident, template in pod_templates(objects):
            assert psa_restricted(template["spec"]) == [], f"{label} {ident}"
            checked += 1
    assert checked >= 40


INIT = """\
  container:
    securityContext: {capabilities: {add: [NET_BIND_SERVICE]}}
  pod:
    initContainers:
      - {name: migrate, image: ghcr.io/kmaster8/migrate:v1, command: [/migrate]}
"""


@pytest.mark.parametrize("engine", ["deployments", "argo-rollouts", "flagger"])
def test_init_containers_and_net_bind_service_are_admitted(tmp_path: Path, engine: str) -> None:
    # was: the init container got nothing, and the added NET_BIND_SERVICE kept `drop: [ALL]` out
    spec = tmp_path / "hello.yaml"
    spec.write_text(spec_text(engine, "ingress-nginx", CANARY, extra=INIT))
    assert main(["render", str(spec), "--out", str(tmp_path / "out")]) == 0
    objects = kustomize_build(tmp_path / "out" / "apps" / "hello" / "overlays" / "prod")
    templates = list(pod_templates(objects))
    assert templates
    for ident, template in templates:
        assert psa_restricted(template["spec"]) == [], ident
        main_caps = template["spec"]["containers"][0]["securityContext"]["capabilities"]
        assert main_caps == {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}
    for obj in objects:
        assert validate_manifest(obj) == [], obj["kind"]


REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("pod", {"hostNetwork": True}, "$.spec.pod.hostNetwork: hostNetwork: true shares the node's namespace"),
    ("pod", {"hostPID": True}, "$.spec.pod.hostPID: hostPID: true"),
    ("pod", {"volumes": [{"name": "logs", "hostPath": {"path": "/var/log"}}]},
     "$.spec.pod.volumes[0].hostPath: a hostPath volume mounts the node's files"),
    ("pod", {"volumes": [{"name": "n", "nfs": {"server": "nfs", "path": "/x"}}]},
     "$.spec.pod.volumes[0].nfs: a nfs volume is not among the types"),
    ("pod", {"initContainers": [{"name": "i", "image": "busybox", "securityContext": {"privileged": True}}]},
     "$.spec.pod.initContainers[0].securityContext.privileged: privileged: true"),
    ("pod", {"initContainers": [{"name": "i", "image": "busybox", "ports": [{"containerPort": 80, "hostPort": 80}]}]},
     "$.spec.pod.initContainers[0].ports[0].hostPort: hostPort 80 binds the node's port"),
    ("container", {"securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE", "SYS_ADMIN"]}}},
     "$.spec.container.securityContext.capabilities.add[1]: capability SYS_ADMIN"),
    ("pod", {"securityContext": {"seccompProfile": {"type": "Unconfined"}}},
     "$.spec.pod.securityContext.seccompProfile.type: seccomp Unconfined"),
]


@pytest.mark.parametrize(("field", "value", "expected"), REFUSED)
def test_what_restricted_cannot_admit_is_refused_located(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str, value: dict[str, Any], expected: str
) -> None:
    spec = tmp_path / "hello.yaml"
    spec.write_text(spec_text("flagger", "ingress-nginx", CANARY, extra=f"  {field}: {yaml.safe_dump(value, default_flow_style=True).strip()}\n"))
    assert main(["validate", str(spec)]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith(f"{spec}:") and f": {expected}" in line, line
    assert "remove it" in line or "set security: baseline" in line  # what to do instead


SIDECAR_6902 = """\
  patches:
    - target: {kind: Deployment}
      patch: |-
        - op: add
          path: /spec/template/spec/containers/-
          value: {name: proxy, image: envoyproxy/envoy:v1.30.0%s}
"""
SIDECAR_SMP = """\
  patches:
    - patch: |-
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: hello}
        spec:
          template:
            spec:
              initContainers:
                - {name: setup, image: busybox%s}
"""
SECURE = ", securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}"


@pytest.mark.parametrize("patch", [SIDECAR_6902, SIDECAR_SMP])
def test_a_container_a_patch_adds_must_comply_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], patch: str
) -> None:
    spec = tmp_path / "hello.yaml"
    spec.write_text(spec_text("deployments", "ingress-nginx", CANARY, extra=patch % ""))
    assert main(["validate", str(spec)]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert ": $.spec.patches[0].patch: the patch adds container " in line, line
    assert "which Pod Security Admission's restricted level refuses" in line and "security: baseline" in line
    spec.write_text(spec_text("deployments", "ingress-nginx", CANARY, extra=patch % SECURE))
    assert main(["validate", str(spec)]) == 0, capsys.readouterr().out
    out = tmp_path / "out"
    assert main(["render", str(spec), "--out", str(out)]) == 0
    for ident, template in pod_templates(kustomize_build(out / "apps" / "hello" / "overlays" / "prod")):
        assert psa_restricted(template["spec"]) == [], ident
    baseline = spec_text("deployments", "ingress-nginx", CANARY, extra=patch % "" + "  security: baseline\n")
    spec.write_text(baseline)
    assert main(["validate", str(spec)]) == 0
