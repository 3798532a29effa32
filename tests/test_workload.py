"""spec.container/pod/security/config/disruptionBudget/patches, environments' overrides and rolling updates:
validated, merged, and rendered into every engine's pod templates, held to the scanner's rules on built output."""

from __future__ import annotations

import json

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.render import loading
from generator.spec import release as spec
from generator.spec.loader import load_text
from tests import rules
from tests.conftest import ROOT
from tests.spec.test_checks import found, only, release
from tests.validators import kustomize_build, render_example, validate_manifest

ORDERS = sorted((ROOT / "examples").glob("orders-api*.yaml"))
CPU = {"resources": {"requests": {"cpu": "100m"}}}
WORKLOAD_KINDS = ("Deployment", "Rollout")


def schema_problems(data: dict[str, Any]) -> list[tuple[str, str, int, int]]:
    doc = load_text(yaml.safe_dump(data, sort_keys=False), "release.yaml")[0]
    return [(p.path, p.message, p.line, p.column) for p in spec.schema_problems(doc)]


# -- the schema ------------------------------------------------------------------------------------------------


def test_generated_schema_is_up_to_date() -> None:
    pytest.importorskip("kubernetes_validate")
    script = ROOT / "schemas" / "gen" / "k8s_workload.py"
    proc = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_container_typo_is_refused_with_a_suggestion() -> None:
    data = release(container={"readinessProbe": {"httpGet": {"pth": "/healthz"}}})
    ((path, message, _, _),) = schema_problems(data)
    assert path == "$.spec.container.readinessProbe.httpGet.pth"
    assert "unknown field 'pth'; did you mean 'path'?" in message


def test_rollgen_owned_container_fields_are_refused() -> None:
    problems = schema_problems(release(container={"image": "nginx:1", "name": "x"}))
    assert [p[0] for p in problems] == ["$.spec.container.image", "$.spec.container.name"]


def test_quantity_syntax_is_checked_at_the_field() -> None:
    ((path, message, _, _),) = schema_problems(release(container={"resources": {"limits": {"memory": "256MB"}}}))
    assert path == "$.spec.container.resources.limits.memory" and "a Kubernetes quantity" in message


def test_pod_fields_and_environment_overrides_validate() -> None:
    data = release(
        pod={"serviceAccountName": "x", "tolerations": [{"key": "k", "operator": "Exists"}],
             "annotations": {"a/b": "c"}},
        environments=[{"name": "prod", "container": {"env": [{"name": "A", "value": None}]},
                       "pod": {"nodeSelector": {"disk": "ssd"}}, "strategy": {"rollingUpdate": {"maxSurge": "25%"}}}],
    )
    assert schema_problems(data) == []


# -- merging ---------------------------------------------------------------------------------------------------


def build(data: dict[str, Any]) -> Any:
    doc = load_text(yaml.safe_dump(data, sort_keys=False), "release.yaml")[0]
    assert loading.check_document(doc) == []
    return spec.build_release(doc)


def test_environment_env_merges_by_name_and_null_removes() -> None:
    data = release(
        container={"env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "DEBUG", "value": "1"},
                           {"name": "DB", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}],
                   "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}}},
        environments=[
            {"name": "staging", "namespace": "test-staging", "container": {"env": [{"name": "LOG_LEVEL", "value": "debug"}]}},
            {"name": "prod", "container": {
                "resources": {"limits": {"memory": "512Mi"}},
                "env": [{"name": "DEBUG", "value": None},
                        {"name": "DB", "valueFrom": {"secretKeyRef": {"name": "db-prod", "key": "pw"}}}]}},
        ],
    )
    staging, prod = build(data).environments
    assert staging.workload.container["env"] == [
        {"name": "LOG_LEVEL", "value": "debug"}, {"name": "DEBUG", "value": "1"},
        {"name": "DB", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}},
    ]
    assert prod.workload.container["env"] == [
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "DB", "valueFrom": {"secretKeyRef": {"name": "db-prod", "key": "pw"}}},
    ]
    assert prod.workload.container["resources"] == {"requests": {"cpu": "100m", "memory": "64Mi"},
                                                    "limits": {"memory": "512Mi"}}


# -- the rules -------------------------------------------------------------------------------------------------


def test_autoscaling_cpu_needs_a_cpu_request() -> None:
    only(release(autoscaling={"minReplicas": 1, "maxReplicas": 3, "cpu": 80}), "$.spec.autoscaling.cpu",
         "requests no CPU")
    assert found(release(autoscaling={"minReplicas": 1, "maxReplicas": 3, "cpu": 80}, container=CPU)) == []


def test_replicas_beside_autoscaling_says_what_happens() -> None:
    only(release(replicas=3, autoscaling={"minReplicas": 1, "maxReplicas": 3, "cpu": 80}, container=CPU),
         "$.spec.replicas", "would not be used: with autoscaling the HPA keeps between 1 and 3 pods")


def test_probe_on_a_port_the_container_does_not_expose() -> None:
    only(release(container={"livenessProbe": {"httpGet": {"path": "/", "port": 9090}}}),
         "$.spec.container.livenessProbe.httpGet.port", "does not expose")
    assert found(release(container={"livenessProbe": {"httpGet": {"path": "/", "port": "http"}}})) == []


def test_env_from_a_secret_one_slip_from_the_mounted_one() -> None:
    only(release(container={"envFrom": [{"secretRef": {"name": "orders-secret"}}]},
                 pod={"volumes": [{"name": "s", "secret": {"secretName": "orders-secrets"}}]}),
         "$.spec.container.envFrom[0].secretRef.name", "one name has a typo")


@pytest.mark.parametrize(
    "read, mounted, slip",
    [("orders-secret", "orders-secrets", True), ("orders-bd", "orders-db", True), ("ordersdb", "orders-db", True),
     ("orders.db", "orders-db", True), ("orderz-db", "orders-db", True), ("orders-db-ro", "orders-db", False),
     ("orders-db-ro", "orders-db-prod", False), ("orders-mq", "orders-db", False), ("db-orders", "orders", False)],
)
def test_a_slip_stays_within_one_part_of_the_name(read: str, mounted: str, slip: bool) -> None:
    volumes = {"volumes": [{"name": "s", "secret": {"secretName": mounted}}]}
    for container in ({"envFrom": [{"secretRef": {"name": read}}]},
                      {"env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": read, "key": "k"}}}]}):
        assert bool(found(release(container=container, pod=volumes))) is slip


def test_restricted_refuses_root() -> None:
    only(release(pod={"securityContext": {"runAsUser": 0}}), "$.spec.pod.securityContext.runAsUser", "root")
    assert found(release(security="baseline", pod={"securityContext": {"runAsUser": 0}})) == []


def test_limits_below_requests() -> None:
    only(release(container={"resources": {"requests": {"memory": "1Gi"}, "limits": {"memory": "512Mi"}}}),
         "$.spec.container.resources.limits.memory", "below the request")
    assert found(release(container={"resources": {"requests": {"cpu": "0.5"}, "limits": {"cpu": "500m"}}})) == []


def test_environment_problem_is_located_in_the_environment() -> None:
    data = release(container={"resources": {"requests": {"memory": "256Mi"}}},
                   environments=[{"name": "prod", "container": {"resources": {"limits": {"memory": "128Mi"}}}}])
    only(data, "$.spec.environments[0].container.resources.limits.memory", "below the request")


def test_patch_that_targets_nothing_is_refused() -> None:
    patch = {"target": {"kind": "StatefulSet"}, "patch": "- {op: add, path: /metadata/labels/x, value: y}"}
    only(release(patches=[patch]), "$.spec.patches[0].target", "targets no generated object")


def test_patch_of_an_owned_field_is_refused() -> None:
    patch = {"target": {"kind": "Rollout"}, "patch": "- {op: replace, path: /spec/replicas, value: 9}"}
    only(release(patches=[patch]), "$.spec.patches[0].patch", "rollgen owns")


@pytest.mark.parametrize(
    "selector, expected",
    [("a=1", True), ("a==1", True), ("a=2", False), ("a!=2", True), ("a!=1", False), ("c!=1", True),
     ("a in (1, 2)", True), ("a in (2,3)", False), ("a notin (2,3)", True), ("a notin (1)", False),
     ("c notin (1)", True), ("a", True), ("c", False), ("!c", True), ("!a", False), ("a=1,b=x", True),
     ("a=1,b=y", False), ("a in (1,2), !b", False), ("(unreadable", True)],
)
def test_patch_target_selectors_read_as_kubernetes_does(selector: str, expected: bool) -> None:
    from generator.spec.patch_checks import selected

    assert selected(selector, {"a": "1", "b": "x"}) is expected


def test_patch_target_selectors_are_matched() -> None:
    none = {"target": {"kind": "Service", "labelSelector": "app.kubernetes.io/name notin (hello)"},
            "patch": "- {op: add, path: /metadata/labels/x, value: y}"}
    only(release(patches=[none]), "$.spec.patches[0].target", "targets no generated object")
    some = {**none, "target": {"kind": "Service", "labelSelector": "rollgen.io/release in (hello), !nothing"}}
    assert found(release(patches=[some])) == []
    annotated = {**none, "target": {"kind": "Service", "annotationSelector": "example.com/x=y"}}
    only(release(patches=[annotated]), "$.spec.patches[0].target", "targets no generated object")


def test_json6902_patch_needs_a_target() -> None:
    only(release(environments=[{"name": "prod", "patches": [{"patch": "- {op: remove, path: /spec/x}"}]}]),
         "$.spec.environments[0].patches[0]", "needs a target")


# -- built output ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(example stem, environment) -> the built overlay of every orders-api example."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for example in ORDERS:
        app = render_example(example, tmp_path_factory.mktemp(example.stem))
        for overlay in sorted((app / "overlays").iterdir()):
            out[(example.stem, overlay.name)] = kustomize_build(overlay)
    return out


def pod_templates(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [(rules.ident(d), d["spec"]["template"]) for d in docs if d["kind"] in WORKLOAD_KINDS]


def test_orders_examples_exist_for_every_engine() -> None:
    engines = {yaml.safe_load(p.read_text())["spec"]["engine"] for p in ORDERS}
    assert engines == {"nginx", "argo-rollouts", "flagger"}


@pytest.mark.slow
def test_every_pod_template_is_a_valid_kubernetes_pod_template(orders: dict[Any, list[dict[str, Any]]]) -> None:
    """The Rollout's template and the Canary's target too, checked as a core/v1 PodTemplate (strict)."""
    problems = []
    for key, docs in orders.items():
        for ident, template in pod_templates(docs):
            doc = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t", "namespace": "shop"},
                   "template": template}
            problems += [f"{key} {ident}: {line}" for line in validate_manifest(doc)]
    assert problems == [], "\n".join(problems)


# The checkov CKV_K8S rules a pod must pass, as checks on a pod template (NetworkPolicy, CKV2_K8S_6, is exempt).
def scanner_findings(template: dict[str, Any]) -> list[str]:
    pod = template["spec"]
    context = pod.get("securityContext", {})
    out = []
    if pod.get("automountServiceAccountToken") is not False:
        out.append("CKV_K8S_38 service account token mounted")
    if context.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        out.append("CKV_K8S_31 seccomp")
    for c in pod["containers"]:
        sc = c.get("securityContext", {})
        res = c.get("resources", {})
        checks = {
            "CKV_K8S_8 liveness probe": "livenessProbe" in c,
            "CKV_K8S_9 readiness probe": "readinessProbe" in c,
            "CKV_K8S_10 cpu request": "cpu" in res.get("requests", {}),
            "CKV_K8S_11 cpu limit": "cpu" in res.get("limits", {}),
            "CKV_K8S_12 memory request": "memory" in res.get("requests", {}),
            "CKV_K8S_13 memory limit": "memory" in res.get("limits", {}),
            "CKV_K8S_14/43 image pinned by digest": "@sha256:" in c["image"],
            "CKV_K8S_15 imagePullPolicy Always": c.get("imagePullPolicy") == "Always",
            "CKV_K8S_20 allowPrivilegeEscalation false": sc.get("allowPrivilegeEscalation") is False,
            "CKV_K8S_22 read-only root filesystem": sc.get("readOnlyRootFilesystem") is True,
            "CKV_K8S_23 non-root": context.get("runAsNonRoot") is True or sc.get("runAsNonRoot") is True,
            "CKV_K8S_28/37 capabilities drop ALL": "ALL" in sc.get("capabilities", {}).get("drop", []),
            "CKV_K8S_40 high uid": (sc.get("runAsUser") or context.get("runAsUser") or 0) >= 10000,
            "CKV_K8S_35 secrets as files": not any(
                "secretKeyRef" in e.get("valueFrom", {}) for e in c.get("env", [])
            ) and not any("secretRef" in e for e in c.get("envFrom", [])),
        }
        out += [f"{c['name']}: {name}" for name, ok in checks.items() if not ok]
    return out


def test_restricted_pods_pass_the_scanner_rules(orders: dict[Any, list[dict[str, Any]]]) -> None:
    failures = [f"{key} {ident}: {finding}" for key, docs in orders.items()
                for ident, template in pod_templates(docs) for finding in scanner_findings(template)]
    assert failures == [], "\n".join(failures)


def test_environment_overrides_reach_the_built_pods(orders: dict[Any, list[dict[str, Any]]]) -> None:
    for stem in ("orders-api", "orders-api-rollouts", "orders-api-flagger"):
        for ident, template in pod_templates(orders[(stem, "prod")]):
            (container,) = template["spec"]["containers"]
            names = [e["name"] for e in container["env"]]
            assert "DEBUG_SQL" not in names and "LOG_LEVEL" in names, ident
            assert container["resources"]["limits"]["memory"] == "1Gi", ident
            secrets = [v["secret"]["secretName"] for v in template["spec"]["volumes"] if "secret" in v]
            assert secrets == ["orders-db-prod"], ident
            assert template["metadata"]["annotations"]["cluster-autoscaler.kubernetes.io/safe-to-evict"] == "true"
        staging = pod_templates(orders[(stem, "staging")])
        assert all({"name": "LOG_LEVEL", "value": "debug"} in t["spec"]["containers"][0]["env"] for _, t in staging)


def test_config_is_a_hashed_config_map_the_pods_use(orders: dict[Any, list[dict[str, Any]]]) -> None:
    for (stem, env), docs in orders.items():
        maps = {d["metadata"]["name"] for d in docs if d["kind"] == "ConfigMap"}
        # plain Deployments: each reads a pair generated under its own name (the canary's too, which a rolling
        # environment does not run); the other engines' one template reads `N-config-*`
        readers = 2 if stem == "orders-api" else 1
        assert len(maps) == 2 * readers and all(name.rsplit("-", 1)[0].endswith(("-config-env", "-config-files"))
                                                for name in maps), (stem, env, maps)
        for ident, template in pod_templates(docs):
            (container,) = template["spec"]["containers"]
            used = {e["configMapRef"]["name"] for e in container["envFrom"] if "configMapRef" in e}
            used |= {v["configMap"]["name"] for v in template["spec"]["volumes"] if "configMap" in v}
            own = template["metadata"]["labels"].get("rollgen.io/track") == "canary"
            mine = {m for m in maps if ("-canary-config-" in m) == own}
            assert len(used & maps) == 2 and mine <= used, (stem, env, ident, maps, used)
    # staging turns a flag on: its env ConfigMap (so its pod template) differs from prod's
    for stem in ("orders-api", "orders-api-rollouts"):
        names = [{d["metadata"]["name"] for d in orders[(stem, env)] if d["kind"] == "ConfigMap"} for env in
                 ("staging", "prod")]
        assert names[0] != names[1]


def test_disruption_budget_selects_every_pod_of_the_release(orders: dict[Any, list[dict[str, Any]]]) -> None:
    for (stem, env), docs in orders.items():
        (pdb,) = [d for d in docs if d["kind"] == "PodDisruptionBudget"]
        assert pdb["spec"]["selector"] == {"matchLabels": {"rollgen.io/release": "orders-api"}}
        assert pdb["spec"] == ({"minAvailable": 2} if env == "prod" else {"maxUnavailable": 1}) | {
            "selector": pdb["spec"]["selector"]}
        for ident, template in pod_templates(docs):
            assert template["metadata"]["labels"]["rollgen.io/release"] == "orders-api", ident


def test_rolling_environment_is_a_plain_deployment(orders: dict[Any, list[dict[str, Any]]]) -> None:
    for stem in ("orders-api", "orders-api-rollouts", "orders-api-flagger"):
        docs = orders[(stem, "dev")]
        kinds = sorted(rules.ident(d) for d in docs if d["kind"] not in ("ConfigMap",))
        assert not any(k.startswith(("Rollout/", "Canary/")) or "canary" in k for k in kinds), kinds
        (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
        assert deployment["spec"]["strategy"] == {"type": "RollingUpdate",
                                                  "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}


def test_session_affinity_and_patches_land(orders: dict[Any, list[dict[str, Any]]]) -> None:
    for (stem, env), docs in orders.items():
        for service in (d for d in docs if d["kind"] == "Service"):
            assert service["spec"]["sessionAffinity"] == "ClientIP"
            assert service["spec"]["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 1800}}
        for ingress in (d for d in docs if d["kind"] == "Ingress"):
            assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"] == "8m", (stem, env)


def test_security_none_and_baseline(tmp_path: Path) -> None:
    from generator.render.engines import common
    from generator.workload import Workload

    data = release(security="baseline")
    rel = build(data)
    env = rel.environments[0]
    template = common.pod_template(rel, env, "hello")
    (container,) = template["spec"]["containers"]
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["NET_RAW"]}}
    assert "runAsNonRoot" not in template["spec"]["securityContext"]
    from dataclasses import replace

    bare = replace(env, workload=Workload(security="none"))
    template = common.pod_template(rel, bare, "hello")
    assert template["spec"] == {"containers": [common.container(rel, "hello")]}


def test_release_to_a_rolling_environment_deploys_directly() -> None:
    from datetime import datetime, timezone

    from generator.plan import progression
    from generator.model import EnvState, Image

    data = release(environments=[{"name": "dev", "strategy": {"rollingUpdate": {"maxSurge": 1}}}])
    rel = build(copy.deepcopy(data))
    env = rel.environments[0]
    current = EnvState(phase="stable", stable_image=Image.parse("ghcr.io/kmaster8/hello:v1"))
    plan = progression.plan_release(rel, env, current, datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert isinstance(plan, progression.Transition) and plan.state.phase == "stable"
    assert plan.state.stable_image == env.image


# -- any change to what runs is a canary (git progression, real repo and CLI) --------------------------------

from tests.factories import V1, V2, ConfigRepo, at, find, spec_text  # noqa: E402

WORKLOAD_V1 = "  container: {env: [{name: LOG_LEVEL, value: info}]}\n  config: {literals: {FLAG: 'off'}}\n"
WORKLOAD_V2 = "  container: {env: [{name: LOG_LEVEL, value: warn}]}\n  config: {literals: {FLAG: 'on'}}\n"


def with_workload(text: str, workload_text: str) -> str:
    return text.replace("  environments:\n", workload_text + "  environments:\n")


def env_of(obj: dict[str, Any]) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = obj["spec"]["template"]["spec"]["containers"][0]["env"]
    return env


def config_map_data(objects: list[dict[str, Any]], obj: dict[str, Any]) -> dict[str, str]:
    (ref,) = [e["configMapRef"]["name"] for e in obj["spec"]["template"]["spec"]["containers"][0]["envFrom"]]
    data: dict[str, str] = find(objects, "ConfigMap", ref)["data"]
    return data


@pytest.mark.parametrize("engine", ["nginx", "argo-rollouts"])
def test_env_and_config_change_starts_a_canary_and_abort_restores_it(repo: ConfigRepo, engine: str) -> None:
    repo.write_spec(with_workload(spec_text(V1, engine=engine), WORKLOAD_V1))
    assert repo.release()[0] == 0
    assert repo.state()["stablePod"]["container"]["env"] == [{"name": "LOG_LEVEL", "value": "info"}]

    repo.write_spec(with_workload(spec_text(V1, engine=engine), WORKLOAD_V2), "env and config")
    assert repo.release(now=at(1))[0] == 0
    trailers = repo.trailers()
    assert trailers["Rollgen-Action"] == "start" and trailers["Rollgen-Weight"] == "10", trailers
    subject = git_subject(repo)
    assert "config" in subject and "env" in subject and "image" in subject, subject
    assert trailers["Rollgen-Change"] == "config, env", trailers  # what the new version changes: not the image
    code, out, _ = repo.rollgen("status", "--format", "json")
    assert code == 0 and json.loads(out)["environments"][-1]["change"] == ["config", "env"], out
    objects = repo.build()
    if engine == "nginx":
        stable, canary = find(objects, "Deployment", "hello"), find(objects, "Deployment", "hello-canary")
        assert env_of(stable) == [{"name": "LOG_LEVEL", "value": "info"}]
        assert env_of(canary) == [{"name": "LOG_LEVEL", "value": "warn"}]
        assert config_map_data(objects, stable) == {"FLAG": "off"}
        assert config_map_data(objects, canary) == {"FLAG": "on"}
        assert canary["spec"]["replicas"] == 1
    else:
        rollout = find(objects, "Rollout", "hello")
        assert env_of(rollout) == [{"name": "LOG_LEVEL", "value": "warn"}]
        assert config_map_data(objects, rollout) == {"FLAG": "on"}
        assert rollout["spec"]["strategy"]["canary"]["steps"][0] == {"setWeight": 10}
    assert repo.render_check() == 0  # the tree is what the spec and the state say

    assert repo.act("abort", now=at(2))[0] == 0
    objects = repo.build()
    restored = find(objects, "Deployment" if engine == "nginx" else "Rollout", "hello")
    assert env_of(restored) == [{"name": "LOG_LEVEL", "value": "info"}]
    assert config_map_data(objects, restored) == {"FLAG": "off"}
    assert repo.state()["stablePod"]["container"]["env"] == [{"name": "LOG_LEVEL", "value": "info"}]


def test_promotion_makes_the_new_pod_stable(repo: ConfigRepo) -> None:
    repo.write_spec(with_workload(spec_text(V1, engine="argo-rollouts"), WORKLOAD_V1))
    assert repo.release()[0] == 0
    repo.write_spec(with_workload(spec_text(V1, engine="argo-rollouts"), WORKLOAD_V2), "env")
    assert repo.release(now=at(1))[0] == 0
    assert repo.act("promote", "--full", now=at(2))[0] == 0
    assert repo.state()["phase"] == "stable"
    assert repo.state()["stablePod"]["container"]["env"] == [{"name": "LOG_LEVEL", "value": "warn"}]
    assert "canaryPod" not in repo.state()
    assert env_of(find(repo.build(), "Rollout", "hello")) == [{"name": "LOG_LEVEL", "value": "warn"}]


@pytest.mark.parametrize("engine", ["nginx", "argo-rollouts"])
def test_advance_all_carries_the_new_pod_to_stable(repo: ConfigRepo, engine: str) -> None:
    """`advance --all` plans as `advance` does: the canary's pod inputs become stable's when it is promoted
    (was: --all dropped them, and stable went back to the old env after promotion)."""
    repo.write_spec(with_workload(spec_text(V1, engine=engine), WORKLOAD_V1))
    assert repo.release()[0] == 0
    repo.write_spec(with_workload(spec_text(V1, engine=engine), WORKLOAD_V2), "env and config")
    assert repo.release(now=at(1))[0] == 0
    minute = 1
    while repo.state()["phase"] != "stable" and minute < 600:
        minute += 30
        before = repo.state()
        assert repo.rollgen("advance", "--all", "--now", at(minute))[0] == 0
        if repo.state() == before:  # the last step waits for a person
            assert repo.act("promote", now=at(minute))[0] == 0
    assert repo.state()["phase"] == "stable"
    assert repo.state()["stablePod"]["container"]["env"] == [{"name": "LOG_LEVEL", "value": "warn"}]
    stable = find(repo.build(), "Deployment" if engine == "nginx" else "Rollout", "hello")
    assert env_of(stable) == [{"name": "LOG_LEVEL", "value": "warn"}]
    assert repo.render_check() == 0


def test_an_image_change_says_image(repo: ConfigRepo) -> None:
    repo.write_spec(with_workload(spec_text(V1), WORKLOAD_V1))
    assert repo.release()[0] == 0
    repo.write_spec(with_workload(spec_text(V2), WORKLOAD_V1), "v2")
    assert repo.release(now=at(1))[0] == 0
    assert repo.trailers()["Rollgen-Change"] == "image"
    code, out, _ = repo.rollgen("status")
    assert code == 0 and "CHANGE" in out.splitlines()[0], out
    assert any(line.split()[1] == "prod" and " image " in f" {line} " for line in out.splitlines()[1:]), out


def test_changes_outside_the_pod_still_deploy_directly(repo: ConfigRepo) -> None:
    repo.write_spec(with_workload(spec_text(V1), WORKLOAD_V1))
    assert repo.release()[0] == 0
    repo.write_spec(with_workload(spec_text(V1, replicas=6), WORKLOAD_V1), "replicas")
    assert repo.release(now=at(1))[0] == 0
    assert repo.trailers()["Rollgen-Action"] == "deploy"
    assert repo.state()["phase"] == "stable"


def git_subject(repo: ConfigRepo) -> str:
    from tests.conftest import git

    return git(repo.path, "log", "-1", "--format=%s").strip()
