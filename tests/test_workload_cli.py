"""The workload rules end to end, through `rollgen validate` and `rollgen render`: each refusal is exit 1 and one
line `FILE:LINE:COL: $.path: message` at the field that makes it, and nothing is written. Also what the rules
must let through (two different Secrets, a patch where its target is, a sidecar) and config values that must
arrive in the built ConfigMap byte for byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generator.cli import main
from tests.validators import kustomize_build

# An Argo Rollouts canary from git whose dev environment is a plain rolling update: dev has a Deployment where
# prod has a Rollout, so which objects there are differs by environment.
BASE = """\
apiVersion: rollgen.io/v1alpha1
kind: Release
metadata:
  name: orders-api
  namespace: shop
spec:
  engine: argo-rollouts
  progression: git
  image: ghcr.io/example/orders-api:1.4.2
  containerPort: 8080
  service: {port: 80}
  ingress: {host: orders.example.com}
  container:
    resources: {requests: {cpu: 100m, memory: 128Mi}}
{release}\
  strategy:
    canary:
      steps: [{weight: 10, pause: 2m}, {weight: 50}]
  environments:
    - name: dev
      namespace: shop-dev
      host: orders.dev.example.com
      strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
{dev}\
    - name: prod
{prod}\
"""


def spec_text(release: str = "", dev: str = "", prod: str = "") -> str:
    return BASE.replace("{release}", release).replace("{dev}", dev).replace("{prod}", prod)


def position(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column of the one occurrence of `needle` (where the problem must point)."""
    assert text.count(needle) == 1, f"{needle!r} must occur exactly once"
    before = text[: text.index(needle)]
    return before.count("\n") + 1, len(before) - before.rfind("\n")


def refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, path: str, needle: str, fragment: str
) -> str:
    """Both commands refuse the spec with exactly one located line, and render writes nothing."""
    spec = tmp_path / "orders-api.yaml"
    spec.write_text(text, encoding="utf-8")
    line, column = position(text, needle)
    for command in (["validate", str(spec)], ["render", str(spec), "--out", str(tmp_path / "out")]):
        assert main(command) == 1
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        lines = out.splitlines()
        assert len(lines) == 1, out
        assert lines[0].startswith(f"{spec}:{line}:{column}: {path}: "), lines[0]
        assert fragment in lines[0], lines[0]
    assert not (tmp_path / "out").exists()
    return lines[0]


def accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> Path:
    """validate says 0 problems, render writes; returns the app folder."""
    spec = tmp_path / "orders-api.yaml"
    spec.write_text(text, encoding="utf-8")
    assert main(["validate", str(spec)]) == 0, capsys.readouterr().out
    assert main(["render", str(spec), "--out", str(tmp_path / "out")]) == 0, capsys.readouterr().out
    capsys.readouterr()
    return tmp_path / "out" / "apps" / "orders-api"


def built(app: Path, env: str, kind: str) -> list[dict[str, Any]]:
    return [doc for doc in kustomize_build(app / "overlays" / env) if doc["kind"] == kind]


# -- patch targets, per environment ----------------------------------------------------------------------------

ROLLOUT_PATCH = """\
  patches:
    - target: {kind: Rollout}
      patch: |-
        - {op: add, path: /metadata/annotations/example.com~1team, value: payments}
"""
HPA_PATCH = """\
      - target: {kind: HorizontalPodAutoscaler}
        patch: |-
          - {op: add, path: /spec/behavior, value: {scaleDown: {stabilizationWindowSeconds: 600}}}
"""
PROD_AUTOSCALING = "      autoscaling: {minReplicas: 2, maxReplicas: 6, cpu: 70}\n"


def test_a_release_patch_whose_target_one_environment_lacks_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # dev is a plain Deployment: kustomize would skip the Rollout patch there without a word.
    refused(tmp_path, capsys, spec_text(release=ROLLOUT_PATCH), "$.spec.patches[0].target", "{kind: Rollout}",
            "generated in 'prod' only, not in 'dev', where kustomize would skip it silently: move the patch to "
            "environments[].patches of 'prod'")


def test_a_release_patch_of_an_hpa_only_prod_has_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = spec_text(release="  patches:\n" + HPA_PATCH.replace("      -", "    -", 1).replace("\n      ", "\n    "),
                     prod=PROD_AUTOSCALING)
    refused(tmp_path, capsys, text, "$.spec.patches[0].target", "{kind: HorizontalPodAutoscaler}",
            "(kind=HorizontalPodAutoscaler) is generated in 'prod' only, not in 'dev'")


def test_an_environment_patch_is_matched_against_that_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # prod has the HPA, dev does not: the same patch is refused in dev and lands in prod.
    text = spec_text(dev="      patches:\n" + HPA_PATCH, prod=PROD_AUTOSCALING)
    refused(tmp_path, capsys, text, "$.spec.environments[0].patches[0].target", "{kind: HorizontalPodAutoscaler}",
            "the patch targets no generated object in environment 'dev' (kind=HorizontalPodAutoscaler); "
            "generated here: ")
    app = accepted(tmp_path, capsys, spec_text(prod=PROD_AUTOSCALING + "      patches:\n" + HPA_PATCH))
    (hpa,) = built(app, "prod", "HorizontalPodAutoscaler")
    assert hpa["spec"]["behavior"] == {"scaleDown": {"stabilizationWindowSeconds": 600}}


def test_a_release_patch_every_environment_has_a_target_for_lands_in_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Services under different names (dev: N; prod: N-stable and N-canary), but Services in both.
    patch = ROLLOUT_PATCH.replace("kind: Rollout", "kind: Service").replace(
        "/metadata/annotations/example.com~1team", "/metadata/labels/team")
    app = accepted(tmp_path, capsys, spec_text(release=patch))
    for env in ("dev", "prod"):
        services = built(app, env, "Service")
        assert services and all(service["metadata"]["labels"]["team"] == "payments" for service in services)


# -- a Secret read under one name and mounted under another ---------------------------------------------------

MOUNT = "  pod:\n    volumes: [{name: db, secret: {secretName: orders-db}}]\n"


def env_secret(name: str, indent: str = "    ", variable: str = "DB_PASSWORD") -> str:
    reference = f"valueFrom: {{secretKeyRef: {{name: {name}, key: pw}}}}"
    return f"{indent}env:\n{indent}  - name: {variable}\n{indent}    {reference}\n"


def test_env_secret_key_ref_one_slip_from_the_mounted_secret_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = spec_text(release=env_secret("orders-bd") + MOUNT)
    refused(tmp_path, capsys, text, "$.spec.container.env[0].valueFrom.secretKeyRef.name", "orders-bd,",
            "env DB_PASSWORD (secretKeyRef) reads Secret 'orders-bd', but the pod mounts Secret 'orders-db': "
            "one name has a typo")


def test_env_from_one_slip_from_the_mounted_secret_is_still_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = spec_text(release="    envFrom: [{secretRef: {name: orders-dbb}}]\n" + MOUNT)
    refused(tmp_path, capsys, text, "$.spec.container.envFrom[0].secretRef.name", "orders-dbb}",
            "envFrom reads Secret 'orders-dbb', but the pod mounts Secret 'orders-db'")


def test_an_environment_slip_is_checked_after_merging_and_located_at_its_own_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The release reads and mounts orders-db; prod mounts its own Secret and reads it with a typo. prod's
    # variable is the first of its own list but the second of the merged one.
    release = "    env:\n      - {name: LOG_LEVEL, value: info}\n" + env_secret("orders-db")[9:] + MOUNT
    prod = ("      container:\n" + env_secret("orders-db-prdo", indent="        ")
            + "      pod: {volumes: [{name: db, secret: {secretName: orders-db-prod}}]}\n")
    refused(tmp_path, capsys, spec_text(release=release, prod=prod),
            "$.spec.environments[1].container.env[0].valueFrom.secretKeyRef.name", "orders-db-prdo,",
            "reads Secret 'orders-db-prdo', but the pod mounts Secret 'orders-db-prod'")


def test_an_environment_mount_one_slip_from_the_release_variable_is_located_at_its_volumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prod = "      pod: {volumes: [{name: db, secret: {secretName: orders-dbs}}]}\n"
    refused(tmp_path, capsys, spec_text(release=env_secret("orders-db") + MOUNT, prod=prod),
            "$.spec.environments[1].pod.volumes", "[{name: db, secret: {secretName: orders-dbs}}]",
            "env DB_PASSWORD (secretKeyRef) reads Secret 'orders-db', but the pod mounts Secret 'orders-dbs'")


def test_different_secrets_stay_allowed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The same name mounted and read, a Secret nothing mounts (no mounted name is close), one whose name adds a
    # whole part to the mounted one's (orders-db-ro: three letters, but a convention, not a slip), one with
    # another part in its place (orders-mq beside orders-db), and prod's own Secret, read and mounted under one
    # name, beside the release's (and beside orders-db-ro: orders-db-prod swaps a whole part).
    release = (env_secret("orders-db") + "      - name: API_KEY\n        valueFrom: {secretKeyRef: {name: payments-api,"
               " key: k}}\n      - name: DB_READER\n        valueFrom: {secretKeyRef: {name: orders-db-ro, key: pw}}\n"
               "    envFrom: [{secretRef: {name: feature-flags}}, {secretRef: {name: orders-mq}}]\n" + MOUNT)
    prod = ("      container:\n" + env_secret("orders-db-prod", indent="        ")
            + "      pod: {volumes: [{name: db, secret: {secretName: orders-db-prod}}]}\n")
    app = accepted(tmp_path, capsys, spec_text(release=release, prod=prod))
    (rollout,) = built(app, "prod", "Rollout")
    env = rollout["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[0]["valueFrom"]["secretKeyRef"]["name"] == "orders-db-prod"


# -- config values kustomize would change -----------------------------------------------------------------------

EXACT = {
    "SINGLE": "'quoted'",
    "DOUBLE": '"x"',
    "NESTED": "\"'q'\"",
    "EMPTY_QUOTES": "''",
    "ONE_QUOTE": "'",
    "INNER": "'a' and 'b'",
    "SPACES": "  padded  ",
    "EQUALS": "=a=b",
    "LINES": '"first\nsecond"',
    "TAB": "\ta\tb",
}


def yaml_string(value: str) -> str:
    """A double-quoted YAML scalar of `value` (every character escaped that needs it)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def test_config_values_with_quotes_and_spaces_arrive_exactly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    literals = "".join(f"      {key}: {yaml_string(value)}\n" for key, value in EXACT.items())
    files = "".join(f"      {key.lower()}.txt: {yaml_string(value)}\n" for key, value in EXACT.items())
    release = f"  config:\n    literals:\n{literals}    files:\n{files}"
    prod = f"      config: {{literals: {{OVERRIDE: {yaml_string(chr(34) + 'prod' + chr(34))}}}}}\n"
    app = accepted(tmp_path, capsys, spec_text(release=release, prod=prod))
    for env in ("dev", "prod"):
        maps = {m["metadata"]["name"].rsplit("-", 1)[0]: m["data"] for m in built(app, env, "ConfigMap")}
        expected_literals = {**EXACT, **({"OVERRIDE": '"prod"'} if env == "prod" else {})}
        assert maps["orders-api-config-env"] == expected_literals
        assert maps["orders-api-config-files"] == {f"{k.lower()}.txt": v for k, v in EXACT.items()}


def test_quoted_values_round_trip_in_the_in_process_build_too(tmp_path: Path) -> None:
    # `rollgen plan` builds overlays in process (generator/kustomize/build.py): it must read them back as kubectl does.
    from generator import workload
    from tests.render.test_build import same_as_kubectl

    literals = [workload.kustomize_literal(key, value) for key, value in EXACT.items()]
    kustomization = {"configMapGenerator": [{"name": "c", "literals": literals}]}
    (obj,) = same_as_kubectl(tmp_path, {"k/kustomization.yaml": kustomization}, "k").values()
    assert obj["data"] == EXACT


@pytest.mark.parametrize(
    "char, fragment",
    [("\\x85", "U+0085, a control character kustomize cannot carry into a manifest (it turns it into a space)"),
     ("\\x80", "U+0080, a control character kustomize cannot carry into a manifest (it fails the build on it)"),
     ("\\x7f", "U+007F, a control character"), ("\\uffff", "U+FFFF, a control character")],
)
def test_config_values_kustomize_cannot_carry_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], char: str, fragment: str
) -> None:
    release = f'  config: {{literals: {{GREETING: "hi{char}there"}}}}\n'
    refused(tmp_path, capsys, spec_text(release=release), "$.spec.config.literals.GREETING", f'"hi{char}there"',
            fragment)
    prod = f'      config: {{files: {{motd.txt: "hi{char}"}}}}\n'
    refused(tmp_path, capsys, spec_text(prod=prod), "$.spec.environments[1].config.files['motd.txt']",
            f'"hi{char}"', fragment)


def test_the_same_characters_elsewhere_in_the_workload_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Not only config: kustomize fails the build on any manifest string holding them (an env value here).
    release = '    env: [{name: GREETING, value: "hi\\x80"}]\n'
    refused(tmp_path, capsys, spec_text(release=release), "$.spec.container.env[0].value", '"hi\\x80"',
            "the value holds U+0080, a control character kustomize cannot carry into a manifest")
    prod = '      pod: {annotations: {"note\\x85": x}}\n'
    refused(tmp_path, capsys, spec_text(prod=prod), "$.spec.environments[1].pod.annotations['note\\x85']",
            '"note\\x85"', "the key holds U+0085, a control character kustomize cannot carry into a manifest (it "
            "turns it into a space): remove it, or encode the key")


# -- the five container rules and replicas beside autoscaling (issue 13, item 6) ---------------------------------

RULES = {
    "cpu request": (
        "  autoscaling: {minReplicas: 2, maxReplicas: 6, cpu: 70}\n",
        "$.spec.autoscaling.cpu", "70}", "the container requests no CPU",
    ),
    "probe port": (
        "    readinessProbe: {httpGet: {path: /ready, port: 9090}}\n",
        "$.spec.container.readinessProbe.httpGet.port", "9090}", "which the container does not expose",
    ),
    "envFrom secret": (
        "    envFrom: [{secretRef: {name: orders-secret}}]\n"
        "  pod: {volumes: [{name: s, secret: {secretName: orders-secrets}}]}\n",
        "$.spec.container.envFrom[0].secretRef.name", "orders-secret}", "one name has a typo",
    ),
    "restricted root": (
        "  pod: {securityContext: {runAsUser: 0, fsGroup: 2000}}\n",
        "$.spec.pod.securityContext.runAsUser", "0, fsGroup", "runAsUser: 0 is root",
    ),
    "limits below requests": (
        "    resources: {requests: {memory: 1Gi}, limits: {memory: 512Mi}}\n",
        "$.spec.container.resources.limits.memory", "512Mi", "below the request 1Gi",
    ),
}


@pytest.mark.parametrize("case", RULES, ids=list(RULES))
def test_each_container_rule_is_refused_and_located(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    fields, path, needle, fragment = RULES[case]
    text = spec_text(release=fields)
    if case in ("cpu request", "limits below requests"):
        text = text.replace("    resources: {requests: {cpu: 100m, memory: 128Mi}}\n", "    args: [--serve]\n" if
                            case == "cpu request" else "")
    refused(tmp_path, capsys, text, path, needle, fragment)


def test_replicas_beside_autoscaling_says_what_happens(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = spec_text(release="  replicas: 3\n  autoscaling: {minReplicas: 2, maxReplicas: 6, cpu: 70}\n")
    refused(tmp_path, capsys, text, "$.spec.replicas", "3\n",
            "replicas: 3 would not be used: with autoscaling the HPA keeps between 2 and 6 pods; remove replicas")


# -- patches of what rollgen owns (issue 13, item 8) --------------------------------------------------------------

OWNED = {
    "replicas": ("{kind: Rollout}", "- {op: replace, path: /spec/replicas, value: 9}",
                 "the patch changes /spec/replicas: rollgen owns"),
    "steps": ("{kind: Rollout}", "- {op: replace, path: /spec/strategy/canary/steps/0/setWeight, value: 90}",
              "the patch changes /spec/strategy/canary/steps/0/setWeight: rollgen owns traffic weights"),
    "image": ("{kind: Deployment}", "{kind: Deployment, metadata: {name: any}, spec: {template: {spec: "
              "{containers: [{name: orders-api, image: evil:1}]}}}}",
              "the patch sets the image of container 'orders-api': rollgen owns"),
    "canary annotation": ("{kind: Ingress}", "{kind: Ingress, metadata: {name: any, annotations: "
                          "{nginx.ingress.kubernetes.io/canary-weight: '50'}}}",
                          "the patch sets an ingress-nginx canary annotation: rollgen owns"),
    "containers of a Rollout": (
        "{kind: Rollout}", "{kind: Rollout, metadata: {name: any}, spec: {template: {spec: {containers: "
        "[{name: log-shipper, image: 'fluent/fluent-bit:3.0', securityContext: {allowPrivilegeEscalation: false, "
        "capabilities: {drop: [ALL]}}}]}}}}",
        "a strategic merge replaces the whole containers list of a Rollout (kustomize knows no merge key for it), "
        "dropping rollgen's container: add a container with a JSON 6902 patch instead"),
    "no kind": ("{kind: Deployment}", "{spec: {template: {metadata: {labels: {tier: web}}}}}",
                "kustomize reads a strategic-merge patch as an object and cannot build one without kind and "
                "metadata.name"),
}


@pytest.mark.parametrize("case", OWNED, ids=list(OWNED))
def test_a_patch_of_a_field_rollgen_owns_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    target, body, fragment = OWNED[case]
    # dev runs a Deployment, prod a Rollout (and both an Ingress)
    env, index = ("dev", 0) if "Deployment" in target else ("prod", 1)
    entry = f"      patches:\n        - target: {target}\n          patch: '{body.replace(chr(39), chr(39) * 2)}'\n"
    refused(tmp_path, capsys, spec_text(**{env: entry}), f"$.spec.environments[{index}].patches[0].patch",
            "'" + body[:12], fragment)


# restricted (the default): a container a patch adds must carry its own security context (PSA checks it too)
SIDECAR = ("{name: log-shipper, image: 'fluent/fluent-bit:3.0', resources: {requests: {cpu: 10m}}, "
           "securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}}")


def test_a_sidecar_added_by_a_patch_keeps_its_own_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A Deployment's containers merge by name (strategic merge); a Rollout's list takes a JSON 6902 add.
    dev = ("      patches:\n        - target: {kind: Deployment}\n          patch: |-\n"
           f"            {{kind: Deployment, metadata: {{name: any}}, spec: {{template: {{spec: {{containers: "
           f"[{SIDECAR}]}}}}}}}}\n")
    prod = ("      patches:\n        - target: {kind: Rollout}\n          patch: |-\n"
            f"            - {{op: add, path: /spec/template/spec/containers/-, value: {SIDECAR}}}\n")
    app = accepted(tmp_path, capsys, spec_text(dev=dev, prod=prod))
    for env, kind in (("dev", "Deployment"), ("prod", "Rollout")):
        (workload,) = built(app, env, kind)
        containers = workload["spec"]["template"]["spec"]["containers"]
        assert {c["name"]: c["image"] for c in containers} == {
            "orders-api": "ghcr.io/example/orders-api:1.4.2", "log-shipper": "fluent/fluent-bit:3.0"}
