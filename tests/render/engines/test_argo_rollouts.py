"""The Argo Rollouts engine against every state, both progressions, the Rollouts rules of REFERENCE.md, the
upstream CRD schemas, Kubernetes' own schemas, and a real `kubectl kustomize` of a user's overlay."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator import durations
from generator.plan import gates
from generator.render.routers import ingress_nginx as nginx
from generator.render.engines import Manifest, Rendered, renderer_for
from generator.render.engines.argo_rollouts import (
    CONFIG_FILE,
    conditions,
    git_steps,
    kustomize_config,
    measurements,
    render,
)
from generator.model import (
    ABTestStrategy,
    Analysis,
    Autoscaling,
    BlueGreenStrategy,
    Environment,
    EnvState,
    Image,
    Metric,
    Release,
    Step,
)
from tests import rules
from tests.render.engines import assert_ports_named
from tests.factories import CANARY_STRATEGIES, make_environment, make_release
from tests.validators import kustomize_build, validate_manifest

OLD = Image.parse("ghcr.io/kmaster8/hello:v1")
NEW = Image.parse("ghcr.io/kmaster8/hello:v2")
NGINX = "nginx.ingress.kubernetes.io/"

CANARY_STATES = {
    "stable": EnvState(phase="stable", stable_image=OLD),
    "step1": EnvState(phase="progressing", stable_image=OLD, canary_image=NEW, step=1, weight=5),
    "step2": EnvState(phase="progressing", stable_image=OLD, canary_image=NEW, step=2, weight=20),
    "step3": EnvState(phase="progressing", stable_image=OLD, canary_image=NEW, step=3, weight=50),
    "promoting": EnvState(phase="promoting", stable_image=NEW, canary_image=NEW, step=3, weight=50),
    "promoted": EnvState(phase="stable", stable_image=NEW),
    "aborted": EnvState(phase="aborted", stable_image=OLD, canary_image=NEW),
}
BLUE_GREEN_STATES = {
    "stable": EnvState(phase="stable", stable_image=OLD),
    "preview": EnvState(phase="progressing", stable_image=OLD, canary_image=NEW, step=1),
    "promoted": EnvState(phase="stable", stable_image=NEW, active_colour="green"),
    "aborted": EnvState(phase="aborted", stable_image=OLD, canary_image=NEW),
}
PREVIEW_HOST = "preview.hello.example.com"
SCALING = Autoscaling(min_replicas=2, max_replicas=6, cpu_utilization=70)
CUSTOM_ONLY = Analysis(
    prometheus="http://prometheus.monitoring:9090",
    interval=30,
    failure_limit=0,
    metrics=(Metric("success-ratio", 'sum(rate(x{status!~"5.."}[1m])) / sum(rate(x[1m]))', min=0.99),),
)


# Flagger's placeholders, spaced and not, beside text that only looks like them and stays as written
# (generator.plan.gates; Argo itself would refuse to resolve `{{ other }}`)
PLACEHOLDER_QUERY = (
    'sum(rate(nginx_ingress_controller_requests{namespace="{{ namespace }}",ingress="{{ingress}}",'
    'service="{{ service }}-canary",pod=~"{{target}}-.*",status=~"5.."}[{{ interval }}])) '
    '/ sum(rate(nginx_ingress_controller_requests{namespace="{{namespace}}",ingress="{{ ingress }}"}'
    '[{{interval}}])) # {{ namespace | upper }} {{ other }}'
)
PLACEHOLDERS_ONLY = replace(CUSTOM_ONLY, metrics=(Metric("ingress-5xx", PLACEHOLDER_QUERY, max=0.01),))
POD_ONLY = replace(
    CUSTOM_ONLY, metrics=(Metric("pod-5xx", 'sum(rate(x{pod=~"{{ target }}-.*"}[{{interval}}]))', max=1),)
)


def canary(progression: str = "git", strategy: str = "header", **overrides: Any) -> Release:
    return make_release(progression=progression, strategy=CANARY_STRATEGIES[strategy], **overrides)


def blue_green(progression: str = "git", preview: bool = True, auto_promotion: int | None = None,
               preview_tls_secret: str | None = None, **overrides: Any) -> Release:
    strategy = BlueGreenStrategy(preview_host=PREVIEW_HOST if preview else None, auto_promotion=auto_promotion,
                                 scale_down_delay=45, preview_tls_secret=preview_tls_secret)
    return make_release(progression=progression, strategy=strategy, **overrides)


def env_of(release: Release) -> Environment:
    return release.environments[0]


def out(release: Release, state: EnvState | None = None, env: Environment | None = None) -> Rendered:
    env = env if env is not None else env_of(release)
    return render(release, env, state if state is not None else EnvState(phase="stable", stable_image=OLD))


def docs(rendered: Rendered) -> list[Manifest]:
    return list(rendered.manifests)


def one(rendered: Rendered, kind: str, name: str | None = None) -> Manifest:
    found = [m for m in rendered.manifests if m["kind"] == kind and name in (None, m["metadata"]["name"])]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def kinds_and_names(rendered: Rendered) -> list[tuple[str, str]]:
    return [(m["kind"], m["metadata"]["name"]) for m in rendered.manifests]


def strategy_of(rendered: Rendered) -> dict[str, Any]:
    strategy: dict[str, Any] = one(rendered, "Rollout")["spec"]["strategy"]
    return strategy


def steps_of(rendered: Rendered) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = strategy_of(rendered)["canary"]["steps"]
    return steps


def slot_image(rendered: Rendered) -> Image:
    (slot,) = rendered.images
    return slot.image


def every_output() -> list[Any]:
    cases: list[Any] = []
    for progression in ("git", "controller"):
        for strategy in CANARY_STRATEGIES:
            for state_name, state in CANARY_STATES.items():
                cases.append(pytest.param(canary(progression, strategy), state,
                                          id=f"canary-{progression}-{strategy}-{state_name}"))
        for state_name, state in BLUE_GREEN_STATES.items():
            for preview in (True, False):
                cases.append(pytest.param(blue_green(progression, preview, 600), state,
                                          id=f"bluegreen-{progression}-preview{preview}-{state_name}"))
        cases.append(pytest.param(canary(progression, autoscaling=SCALING), CANARY_STATES["step2"],
                                  id=f"canary-{progression}-autoscaling"))
        cases.append(pytest.param(canary(progression, analysis=None), CANARY_STATES["step2"],
                                  id=f"canary-{progression}-no-analysis"))
        cases.append(pytest.param(canary(progression, analysis=CUSTOM_ONLY), CANARY_STATES["step2"],
                                  id=f"canary-{progression}-custom-metric"))
        cases.append(pytest.param(blue_green(progression, autoscaling=SCALING, analysis=CUSTOM_ONLY),
                                  BLUE_GREEN_STATES["preview"], id=f"bluegreen-{progression}-custom-autoscaling"))
        cases.append(pytest.param(canary(progression, analysis=PLACEHOLDERS_ONLY), CANARY_STATES["step2"],
                                  id=f"canary-{progression}-placeholders"))
        cases.append(pytest.param(blue_green(progression, analysis=PLACEHOLDERS_ONLY), BLUE_GREEN_STATES["preview"],
                                  id=f"bluegreen-{progression}-placeholders"))
        cases.append(pytest.param(blue_green(progression, analysis=None), BLUE_GREEN_STATES["preview"],
                                  id=f"bluegreen-{progression}-no-analysis"))
        cases.append(pytest.param(canary(progression, service_port_name="web"), CANARY_STATES["step2"],
                                  id=f"canary-{progression}-port-name"))
        cases.append(pytest.param(blue_green(progression, preview_tls_secret="preview-tls", service_port_name="web"),
                                  BLUE_GREEN_STATES["preview"], id=f"bluegreen-{progression}-port-name-preview-tls"))
    return cases


EVERY_OUTPUT = every_output()


# -- every output: schemas, REFERENCE.md rules, determinism ---------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("release", "state"), EVERY_OUTPUT)
def test_objects_are_valid_against_crds_and_kubernetes(release: Release, state: EnvState) -> None:
    problems = [line for doc in out(release, state).manifests for line in validate_manifest(doc)]
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(("release", "state"), EVERY_OUTPUT)
def test_reference_rules_hold(release: Release, state: EnvState) -> None:
    """canaryService != stableService, stableIngress -> stableService, no canary Ingress or canary annotations,
    no rollouts-pod-template-hash, selectors within pod labels, one action a step, finite counts..."""
    violations = rules.check_all(docs(out(release, state)), "argo-rollouts")
    assert violations == [], "\n".join(violations)


@pytest.mark.parametrize(("release", "state"), EVERY_OUTPUT)
def test_render_is_deterministic_and_shares_no_objects(release: Release, state: EnvState) -> None:
    first, second = out(release, state), out(release, state)
    assert first == second
    text = yaml.safe_dump_all(first.manifests, sort_keys=False)
    assert text == yaml.safe_dump_all(second.manifests, sort_keys=False)
    assert "&id" not in text and "*id" not in text, "a shared dict would be emitted as a YAML anchor"


@pytest.mark.parametrize(("release", "state"), EVERY_OUTPUT)
def test_every_object_is_labelled_and_namespaced(release: Release, state: EnvState) -> None:
    for manifest in out(release, state).manifests:
        meta = manifest["metadata"]
        assert meta["namespace"] == "test"
        assert meta["labels"]["app.kubernetes.io/name"] == "hello"
        assert meta["labels"]["app.kubernetes.io/managed-by"] == "rollgen"
        assert meta["labels"]["team"] == "web"


@pytest.mark.parametrize(("release", "state"), EVERY_OUTPUT)
def test_services_select_the_rollout_pods_by_name_only(release: Release, state: EnvState) -> None:
    rendered = out(release, state)
    pod_labels = one(rendered, "Rollout")["spec"]["template"]["metadata"]["labels"]
    for service in (m for m in rendered.manifests if m["kind"] == "Service"):
        assert service["spec"]["selector"] == {"app.kubernetes.io/name": "hello"}
        assert rules.is_subset(service["spec"]["selector"], pod_labels)


@pytest.mark.parametrize(("release", "state"), EVERY_OUTPUT)
def test_image_slot_names_the_placeholder(release: Release, state: EnvState) -> None:
    rendered = out(release, state)
    containers = one(rendered, "Rollout")["spec"]["template"]["spec"]["containers"]
    assert [c["image"] for c in containers] == ["hello"]
    assert [slot.name for slot in rendered.images] == ["hello"]
    assert rendered.kustomize_configurations == ((CONFIG_FILE, kustomize_config()),)


@pytest.mark.parametrize(("release", "state"), EVERY_OUTPUT)
def test_analysis_arguments_match_the_template(release: Release, state: EnvState) -> None:
    rendered = out(release, state)
    rollout = one(rendered, "Rollout")
    refs = list(rules.analysis_refs(rollout))
    templates = [m for m in rendered.manifests if m["kind"] == "AnalysisTemplate"]
    assert bool(refs) == bool(templates), "an AnalysisTemplate is written exactly when the Rollout uses it"
    for template in templates:
        declared = [arg["name"] for arg in template["spec"].get("args", [])]
        for where, ref, _ in refs:
            assert ref == {"templateName": "hello"}
            analysis = _analysis_at(rollout, where)
            assert [arg["name"] for arg in analysis.get("args", [])] == declared, where


def _analysis_at(rollout: Manifest, where: str) -> dict[str, Any]:
    strategy = rollout["spec"]["strategy"]
    if where.startswith("steps["):
        index = int(where[len("steps["):where.index("]")])
        step: dict[str, Any] = strategy["canary"]["steps"][index]["analysis"]
        return step
    field: dict[str, Any] = strategy["blueGreen"][where.split(".")[1]]
    return field


def test_registered_under_argo_rollouts() -> None:
    assert renderer_for("argo-rollouts") is render


def test_ab_test_is_refused() -> None:
    release = make_release(strategy=ABTestStrategy(iterations=5, header="X-Canary"))
    with pytest.raises(ValueError, match="Flagger"):
        out(release)


# -- canary objects -------------------------------------------------------------------------------------------


def test_canary_objects_and_names() -> None:
    assert kinds_and_names(out(canary("controller"))) == [
        ("Rollout", "hello"),
        ("Service", "hello-stable"),
        ("Service", "hello-canary"),
        ("Ingress", "hello"),
        ("AnalysisTemplate", "hello"),
    ]


def test_git_canary_writes_no_analysis() -> None:
    """With git progression `rollgen advance` gates each commit; the Rollout runs none and needs no template."""
    rendered = out(canary("git"), CANARY_STATES["step2"])
    assert ("AnalysisTemplate", "hello") not in kinds_and_names(rendered)
    assert not any("analysis" in step for step in steps_of(rendered))


def test_canary_strategy_wiring() -> None:
    spec = strategy_of(out(canary("git", "plain")))["canary"]
    assert spec["canaryService"] == "hello-canary"
    assert spec["stableService"] == "hello-stable"
    assert spec["trafficRouting"] == {"nginx": {"stableIngress": "hello"}}
    # ignored by the controller with trafficRouting (REFERENCE.md, Live-cluster semantics): not written
    assert "maxSurge" not in spec and "maxUnavailable" not in spec


def test_stable_ingress_routes_to_the_stable_service() -> None:
    ingress = one(out(canary()), "Ingress", "hello")
    assert list(rules.ingress_paths(ingress)) == [("hello.example.com", "/", "Prefix", "hello-stable")]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"hosts": ["hello.example.com"], "secretName": "hello-tls"}]


def test_environment_host_is_used() -> None:
    release = canary()
    env = make_environment(release, name="prod", host="hello.prod.example.com")
    ingress = one(out(release, env=env), "Ingress", "hello")
    assert ingress["spec"]["rules"][0]["host"] == "hello.prod.example.com"


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("plain", None),
        ("header", {"canary-by-header": "X-Canary"}),
        ("header-value", {"canary-by-header": "X-Canary", "canary-by-header-value": "beta-users"}),
        ("cookie", {"canary-by-cookie": "canary"}),
        ("all", {"canary-by-cookie": "canary", "canary-by-header": "X-Canary", "canary-by-header-value": "on"}),
    ],
)
def test_header_and_cookie_routing_go_through_annotations(strategy: str, expected: dict[str, str] | None) -> None:
    for progression in ("git", "controller"):
        rendered = out(canary(progression, strategy), CANARY_STATES["step1"])
        nginx = strategy_of(rendered)["canary"]["trafficRouting"]["nginx"]
        assert nginx.get("additionalIngressAnnotations") == expected
        assert not any(key in step for step in steps_of(rendered) for key in ("setHeaderRoute", "setMirrorRoute"))


def test_sticky_puts_cookie_affinity_on_the_stable_ingress_only() -> None:
    stable = one(out(canary("git", "sticky")), "Ingress", "hello")
    assert stable["metadata"]["annotations"] == {NGINX + "affinity": "cookie"}
    plain = one(out(canary("git", "header")), "Ingress", "hello")
    assert "annotations" not in plain["metadata"]


# -- canary, git progression: one weight per commit -------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "steps", "image"),
    [
        ("stable", [{"setWeight": 100}], OLD),
        ("step1", [{"setWeight": 5}, {"pause": {}}], NEW),
        # the previous step's weight first: the canary keeps it while it scales to the new one
        ("step2", [{"setWeight": 5}, {"setWeight": 20}, {"pause": {}}], NEW),
        ("step3", [{"setWeight": 20}, {"setWeight": 50}, {"pause": {}}], NEW),
        ("promoting", [{"setWeight": 100}], NEW),
        ("promoted", [{"setWeight": 100}], NEW),
        ("aborted", [{"setWeight": 0}, {"pause": {}}], OLD),
    ],
)
def test_git_progression_by_state(state: str, steps: list[dict[str, Any]], image: Image) -> None:
    rendered = out(canary("git"), CANARY_STATES[state])
    assert steps_of(rendered) == steps
    assert slot_image(rendered) == image


def test_last_set_weight_is_the_live_weight() -> None:
    """CONTRACT section 3: the live weight is readable from the Rollout's last setWeight step."""
    for state in CANARY_STATES.values():
        first = [step["setWeight"] for step in steps_of(out(canary("git"), state)) if "setWeight" in step][-1]
        expected = state.weight if state.phase == "progressing" else (0 if state.phase == "aborted" else 100)
        assert first == expected


def test_promotion_commit_changes_only_the_steps() -> None:
    """The promotion keeps the template (same image): the controller sees a steps change and completes."""
    progressing = out(canary("git"), CANARY_STATES["step3"])
    promoted = out(canary("git"), CANARY_STATES["promoted"])
    assert slot_image(progressing) == slot_image(promoted) == NEW
    rollout_a, rollout_b = one(progressing, "Rollout"), one(promoted, "Rollout")
    assert rollout_a["spec"]["template"] == rollout_b["spec"]["template"]
    assert steps_of(progressing) != steps_of(promoted)
    assert [m for m in progressing.manifests if m["kind"] != "Rollout"] == \
        [m for m in promoted.manifests if m["kind"] != "Rollout"]


def test_weight_falls_back_to_the_environment_steps() -> None:
    release = canary("git")
    env = make_environment(release, steps=(Step(7, 60), Step(40, None)))
    state = EnvState(phase="progressing", stable_image=OLD, canary_image=NEW, step=2)
    assert git_steps(env, state) == [{"setWeight": 7}, {"setWeight": 40}, {"pause": {}}]


@pytest.mark.parametrize("step", [4])  # step 0 is the canary's pods at no weight (plan.shapes.ready_first)
def test_progressing_without_a_weight_outside_the_steps_is_a_bug(step: int) -> None:
    release = canary("git")
    state = EnvState(phase="progressing", stable_image=OLD, canary_image=NEW, step=step)
    with pytest.raises(ValueError, match="step"):
        out(release, state)


# -- canary, controller progression -----------------------------------------------------------------------------


def test_controller_steps_without_analysis() -> None:
    rendered = out(canary("controller", analysis=None), CANARY_STATES["step1"])
    assert steps_of(rendered) == [
        {"setWeight": 5},
        {"pause": {"duration": "5m"}},
        {"setWeight": 20},
        {"pause": {"duration": "10m"}},
        {"setWeight": 50},
        {"pause": {}},
    ]


def test_controller_steps_with_analysis_measure_first_then_hold_the_rest() -> None:
    # interval 60s, failureLimit 1, shortest pause 300s: count = max(2, ceil(300 / 60)) = 5, covering 5m.
    rendered = out(canary("controller"), CANARY_STATES["step1"])
    analysis = {"analysis": {
        "templates": [{"templateName": "hello"}],
        "args": [
            {"name": "namespace", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "ingress",
             "valueFrom": {"fieldRef": {"fieldPath": "spec.strategy.canary.trafficRouting.nginx.stableIngress"}}},
        ],
    }}
    assert steps_of(rendered) == [
        {"setWeight": 5},
        analysis,
        {"setWeight": 20},
        analysis,
        {"pause": {"duration": "5m"}},
        {"setWeight": 50},
        analysis,
        {"pause": {}},
    ]
    assert one(rendered, "AnalysisTemplate")["spec"]["metrics"][0]["count"] == 5


@pytest.mark.parametrize("state", list(CANARY_STATES))
def test_controller_progression_ignores_step_and_weight(state: str) -> None:
    baseline = steps_of(out(canary("controller"), CANARY_STATES["stable"]))
    assert steps_of(out(canary("controller"), CANARY_STATES[state])) == baseline


@pytest.mark.parametrize(("state", "image"), [("stable", OLD), ("step2", NEW), ("promoted", NEW), ("aborted", OLD)])
def test_controller_progression_image_follows_the_state(state: str, image: Image) -> None:
    assert slot_image(out(canary("controller"), CANARY_STATES[state])) == image


def test_steps_come_from_the_environment() -> None:
    release = canary("controller", analysis=None)
    env = make_environment(release, name="prod", steps=(Step(10, 90), Step(60, 3600)))
    assert steps_of(out(release, env=env)) == [
        {"setWeight": 10},
        {"pause": {"duration": "90s"}},
        {"setWeight": 60},
        {"pause": {"duration": "1h"}},
    ]


def test_pause_durations_are_go_duration_strings() -> None:
    for release in (canary("controller"), canary("controller", analysis=None)):
        for step in steps_of(out(release)):
            if step.get("pause"):
                duration = step["pause"]["duration"]
                assert isinstance(duration, str)
                assert durations.format_go(durations.parse(duration)) == duration


@pytest.mark.parametrize(
    ("pauses", "interval", "failure_limit", "expected"),
    [
        ((), 60, 0, 1),
        ((), 60, 3, 4),  # fewer than failureLimit + 1 measurements could never fail
        ((300, 600), 60, 1, 5),  # the shortest pause, in whole intervals
        ((90,), 60, 0, 2),  # rounded up
        ((30,), 60, 0, 1),
        ((600,), 30, 2, 20),
    ],
)
def test_measurement_count(pauses: tuple[int, ...], interval: int, failure_limit: int, expected: int) -> None:
    analysis = Analysis("http://prom:9090", interval, failure_limit, ())
    assert measurements(analysis, pauses) == expected


def test_every_step_holds_at_least_its_pause() -> None:
    release = canary("controller")
    assert release.analysis is not None
    env = make_environment(release, steps=(Step(5, 90), Step(20, 200), Step(40, 1000), Step(60, None)))
    steps = steps_of(out(release, env=env))
    count = measurements(release.analysis, (90, 200, 1000))
    measured = count * release.analysis.interval
    held: list[int] = []
    for step in steps:
        if "setWeight" in step:
            held.append(0)
        elif "analysis" in step:
            held[-1] += measured
        elif step["pause"]:
            held[-1] += durations.parse(step["pause"]["duration"])
    assert held[:3] == [max(90, measured), max(200, measured), max(1000, measured)]
    assert steps[-1] == {"pause": {}}


# -- the AnalysisTemplate ---------------------------------------------------------------------------------------


def test_analysis_template_metrics() -> None:
    template = one(out(canary("controller")), "AnalysisTemplate", "hello")
    assert template["metadata"]["annotations"] == {"argocd.argoproj.io/sync-wave": "-1"}
    assert template["spec"]["args"] == [{"name": "namespace"}, {"name": "ingress"}]
    metrics = {m["name"]: m for m in template["spec"]["metrics"]}
    assert list(metrics) == ["error-rate", "latency", "p99"]
    for metric in metrics.values():
        assert metric["interval"] == metric["initialDelay"] == "1m"
        assert metric["count"] == 5
        assert metric["failureLimit"] == 1
        assert metric["inconclusiveLimit"] == 4
        assert metric["provider"]["prometheus"]["address"] == "http://prometheus.monitoring:9090"
    assert metrics["error-rate"]["successCondition"] == "len(result) > 0 && !isNaN(result[0]) && result[0] <= 1"
    assert metrics["error-rate"]["failureCondition"] == "len(result) > 0 && !isNaN(result[0]) && !(result[0] <= 1)"
    assert metrics["latency"]["successCondition"].endswith("result[0] <= 500")
    assert metrics["p99"]["successCondition"].endswith("result[0] <= 0.5")


def test_builtin_queries_measure_the_canary_behind_the_stable_ingress() -> None:
    metrics = {m["name"]: m for m in one(out(canary("controller")), "AnalysisTemplate")["spec"]["metrics"]}
    for name in ("error-rate", "latency"):
        query = metrics[name]["provider"]["prometheus"]["query"]
        assert query == nginx.builtin_query(name, "{{args.namespace}}", "{{args.ingress}}", "1m")
        assert 'canary!=""' in query


def test_custom_queries_go_through_unchanged() -> None:
    release = canary("controller")
    assert release.analysis is not None
    custom = release.analysis.metrics[2]
    metrics = {m["name"]: m for m in one(out(release), "AnalysisTemplate")["spec"]["metrics"]}
    assert metrics["p99"]["provider"]["prometheus"]["query"] == custom.query


def test_custom_metrics_alone_need_no_arguments() -> None:
    rendered = out(canary("controller", analysis=CUSTOM_ONLY))
    template = one(rendered, "AnalysisTemplate")
    assert "args" not in template["spec"]
    (metric,) = template["spec"]["metrics"]
    assert metric["successCondition"] == "len(result) > 0 && !isNaN(result[0]) && result[0] >= 0.99"
    assert metric["interval"] == "30s"
    assert metric["count"] == math.ceil(300 / 30)
    for step in steps_of(rendered):
        if "analysis" in step:
            assert step["analysis"] == {"templates": [{"templateName": "hello"}]}


@pytest.mark.parametrize(("interval", "window"), [(10, "[1m]"), (30, "[1m]"), (60, "[1m]"), (90, "[90s]"), (300, "[5m]")])
def test_rate_window_is_at_least_a_minute_as_for_flagger(interval: int, window: str) -> None:
    """A 30s rate() holds fewer than two samples with the usual 30s scrape: every measurement would be
    Inconclusive and the Rollout would pause at every step (issue 17 item 2). The rule is promql.rate_window."""
    analysis = Analysis("http://prom:9090", interval, 1, (Metric("error-rate", None, max=1),))
    template = one(out(canary("controller", analysis=analysis)), "AnalysisTemplate")
    (metric,) = template["spec"]["metrics"]
    assert metric["interval"] == durations.format_go(interval)  # measured as often as asked
    assert window in metric["provider"]["prometheus"]["query"]
    assert "[30s]" not in metric["provider"]["prometheus"]["query"] and "[10s]" not in metric["provider"]["prometheus"]["query"]


@pytest.mark.parametrize("release", [canary("controller", analysis=PLACEHOLDERS_ONLY),
                                     blue_green("controller", analysis=PLACEHOLDERS_ONLY),
                                     blue_green("git", analysis=PLACEHOLDERS_ONLY)])
def test_flagger_placeholders_become_the_gates_values_through_arguments(release: Release) -> None:
    """The query Argo runs, once it has resolved the Rollout's arguments, is the query the gate sends."""
    env = env_of(release)
    state = BLUE_GREEN_STATES["preview"] if isinstance(release.strategy, BlueGreenStrategy) else CANARY_STATES["step2"]
    rendered = out(release, state)
    template = one(rendered, "AnalysisTemplate")
    assert template["spec"]["args"] == [{"name": "namespace"}, {"name": "ingress"}]
    (ref,) = [ref for _, ref in analysis_refs(one(rendered, "Rollout"))]
    args = resolve_args(one(rendered, "Rollout"), ref["args"])
    (metric,) = template["spec"]["metrics"]
    query = metric["provider"]["prometheus"]["query"]
    for name, value in args.items():
        query = query.replace("{{args." + name + "}}", value)
    where = gates.traffic(release, env, state)
    assert query == gates.query(PLACEHOLDERS_ONLY.metrics[0], where, "1m")  # the window: at least a minute
    assert query.endswith("# {{ namespace | upper }} {{ other }}")  # nothing else is touched


def test_placeholders_reach_argo_as_literals_or_arguments_only() -> None:
    template = one(out(canary("controller", analysis=PLACEHOLDERS_ONLY)), "AnalysisTemplate")
    query = template["spec"]["metrics"][0]["provider"]["prometheus"]["query"]
    assert query.startswith(
        'sum(rate(nginx_ingress_controller_requests{namespace="{{args.namespace}}",ingress="{{args.ingress}}",'
        'service="hello-canary",pod=~"hello-.*",status=~"5.."}[1m]))'
    )


def test_a_custom_query_without_namespace_or_ingress_needs_no_arguments() -> None:
    rendered = out(canary("controller", analysis=POD_ONLY))
    template = one(rendered, "AnalysisTemplate")
    assert "args" not in template["spec"]
    assert template["spec"]["metrics"][0]["provider"]["prometheus"]["query"] == 'sum(rate(x{pod=~"hello-.*"}[1m]))'
    assert all(step["analysis"] == {"templates": [{"templateName": "hello"}]}
               for step in steps_of(rendered) if "analysis" in step)


def analysis_refs(rollout: Manifest) -> list[tuple[str, dict[str, Any]]]:
    strategy = rollout["spec"]["strategy"]
    if "canary" in strategy:
        return [("step", step["analysis"]) for step in strategy["canary"]["steps"] if "analysis" in step][:1]
    return [("prePromotionAnalysis", strategy["blueGreen"]["prePromotionAnalysis"])]


def resolve_args(rollout: Manifest, args: list[dict[str, Any]]) -> dict[str, str]:
    """Argument values as the controller resolves them: a literal, or a field of the live Rollout."""
    out_: dict[str, str] = {}
    for arg in args:
        if "value" in arg:
            out_[arg["name"]] = arg["value"]
        else:
            node: Any = rollout
            for part in arg["valueFrom"]["fieldRef"]["fieldPath"].split("."):
                node = node[part]
            out_[arg["name"]] = node
    return out_


@pytest.mark.parametrize(
    ("bounds", "success", "failure"),
    [
        ({"max": 1}, "result[0] <= 1", "!(result[0] <= 1)"),
        ({"min": 99.5}, "result[0] >= 99.5", "!(result[0] >= 99.5)"),
        ({"min": 0.00001, "max": 2.0}, "result[0] <= 2 && result[0] >= 0.00001",
         "!(result[0] <= 2 && result[0] >= 0.00001)"),
        ({}, "true", "!(true)"),
    ],
)
def test_conditions(bounds: dict[str, float], success: str, failure: str) -> None:
    guard = "len(result) > 0 && !isNaN(result[0]) && "
    assert conditions(Metric("m", "q", **bounds)) == (guard + success, guard + failure)


# -- blue-green -------------------------------------------------------------------------------------------------


def test_blue_green_objects_and_names() -> None:
    assert kinds_and_names(out(blue_green())) == [
        ("Rollout", "hello"),
        ("Service", "hello-active"),
        ("Service", "hello-preview"),
        ("Ingress", "hello"),
        ("Ingress", "hello-preview"),
        ("AnalysisTemplate", "hello"),
    ]


def test_blue_green_ingresses() -> None:
    rendered = out(blue_green())
    assert list(rules.ingress_paths(one(rendered, "Ingress", "hello"))) == \
        [("hello.example.com", "/", "Prefix", "hello-active")]
    assert list(rules.ingress_paths(one(rendered, "Ingress", "hello-preview"))) == \
        [(PREVIEW_HOST, "/", "Prefix", "hello-preview")]


def test_blue_green_preview_host_of_the_environment_wins() -> None:
    release = blue_green()
    env = make_environment(release, preview_host="preview.staging.example.com")
    ingress = one(out(release, env=env), "Ingress", "hello-preview")
    assert ingress["spec"]["rules"][0]["host"] == "preview.staging.example.com"


@pytest.mark.parametrize(("secret", "expected"), [(None, "hello-tls"), ("preview-tls", "preview-tls")])
def test_blue_green_preview_tls_secret(secret: str | None, expected: str) -> None:
    rendered = out(blue_green(preview_tls_secret=secret))
    assert one(rendered, "Ingress", "hello")["spec"]["tls"] == \
        [{"hosts": ["hello.example.com"], "secretName": "hello-tls"}]
    assert one(rendered, "Ingress", "hello-preview")["spec"]["tls"] == \
        [{"hosts": [PREVIEW_HOST], "secretName": expected}]


@pytest.mark.parametrize("release", [canary(), blue_green()], ids=["canary", "blue-green"])
def test_port_name_names_the_container_service_and_backend_ports(release: Release) -> None:
    rendered = out(replace(release, service_port_name="web"))
    one(rendered, "Rollout")
    assert_ports_named(rendered.manifests, "web", "Rollout")


def test_blue_green_without_preview_host_has_no_preview_ingress() -> None:
    release = blue_green(preview=False)
    assert ("Ingress", "hello-preview") not in kinds_and_names(out(release))
    assert ("Service", "hello-preview") in kinds_and_names(out(release))


@pytest.mark.parametrize(
    ("state", "image", "auto_promotion"),
    [
        ("stable", OLD, True),
        ("preview", NEW, False),  # the new version waits behind the preview
        ("promoted", NEW, True),  # same image as the preview: the flag alone promotes
        ("aborted", OLD, False),  # the stable image back: a rollback
    ],
)
def test_blue_green_git_progression(state: str, image: Image, auto_promotion: bool) -> None:
    rendered = out(blue_green("git", auto_promotion=600), BLUE_GREEN_STATES[state])
    spec = strategy_of(rendered)["blueGreen"]
    assert slot_image(rendered) == image
    assert spec["autoPromotionEnabled"] is auto_promotion
    assert "autoPromotionSeconds" not in spec, "git progression times the promotion itself"
    assert spec["scaleDownDelaySeconds"] == 45


def test_blue_green_git_promotion_changes_only_the_flag() -> None:
    preview = out(blue_green("git"), BLUE_GREEN_STATES["preview"])
    promoted = out(blue_green("git"), BLUE_GREEN_STATES["promoted"])
    assert slot_image(preview) == slot_image(promoted)
    a, b = one(preview, "Rollout"), one(promoted, "Rollout")
    b_spec = dict(b["spec"]["strategy"]["blueGreen"], autoPromotionEnabled=False)
    assert a["spec"]["strategy"]["blueGreen"] == b_spec
    assert a["spec"]["template"] == b["spec"]["template"]


@pytest.mark.parametrize("auto_promotion", [None, 600])
@pytest.mark.parametrize("state", list(BLUE_GREEN_STATES))
def test_blue_green_controller_progression(auto_promotion: int | None, state: str) -> None:
    spec = strategy_of(out(blue_green("controller", auto_promotion=auto_promotion), BLUE_GREEN_STATES[state]))
    blue_green_spec = spec["blueGreen"]
    assert blue_green_spec["activeService"] == "hello-active"
    assert blue_green_spec["previewService"] == "hello-preview"
    if auto_promotion is None:
        assert blue_green_spec["autoPromotionEnabled"] is False
        assert "autoPromotionSeconds" not in blue_green_spec
    else:
        # autoPromotionSeconds works only with autoPromotionEnabled true (argo-rollouts issue 2000)
        assert blue_green_spec["autoPromotionEnabled"] is True
        assert blue_green_spec["autoPromotionSeconds"] == auto_promotion


def test_blue_green_pre_promotion_analysis_measures_the_preview_ingress() -> None:
    rendered = out(blue_green())
    analysis = strategy_of(rendered)["blueGreen"]["prePromotionAnalysis"]
    assert analysis == {
        "templates": [{"templateName": "hello"}],
        "args": [
            {"name": "namespace", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "ingress", "value": "hello-preview"},
        ],
    }
    metrics = {m["name"]: m for m in one(rendered, "AnalysisTemplate")["spec"]["metrics"]}
    query = metrics["error-rate"]["provider"]["prometheus"]["query"]
    assert query == nginx.builtin_query("error-rate", "{{args.namespace}}", "{{args.ingress}}", "1m",
                                          canary_only=False)
    assert metrics["error-rate"]["count"] == 2  # failureLimit 1 + 1


def test_blue_green_without_analysis() -> None:
    rendered = out(blue_green(analysis=None))
    assert "prePromotionAnalysis" not in strategy_of(rendered)["blueGreen"]
    assert ("AnalysisTemplate", "hello") not in kinds_and_names(rendered)


# -- autoscaling ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("release", [canary("git", autoscaling=SCALING), blue_green("controller", autoscaling=SCALING)])
def test_autoscaling_leaves_replicas_to_the_hpa(release: Release) -> None:
    rendered = out(release)
    assert "replicas" not in one(rendered, "Rollout")["spec"]
    hpa = one(rendered, "HorizontalPodAutoscaler", "hello")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "hello"}
    assert hpa["spec"]["minReplicas"] == 2 and hpa["spec"]["maxReplicas"] == 6


def test_fixed_replicas_without_autoscaling() -> None:
    release = canary()
    env = make_environment(release, replicas=5)
    rendered = out(release, env=env)
    assert one(rendered, "Rollout")["spec"]["replicas"] == 5
    assert not any(m["kind"] == "HorizontalPodAutoscaler" for m in rendered.manifests)


def test_environment_autoscaling_wins() -> None:
    release = canary()
    env = replace(env_of(release), autoscaling=SCALING)
    assert "replicas" not in one(out(release, env=env), "Rollout")["spec"]


# -- kustomize: our configuration under a user's overlay ---------------------------------------------------------


def write_base(base: Path, rendered: Rendered) -> None:
    """The base as layout.py writes it: one object a file, resources and configurations in kustomization.yaml."""
    base.mkdir(parents=True)
    resources = []
    for manifest in rendered.manifests:
        name = f"{manifest['kind'].lower()}_{manifest['metadata']['name']}.yaml"
        (base / name).write_text(yaml.safe_dump(manifest, sort_keys=False))
        resources.append(name)
    for name, config in rendered.kustomize_configurations:
        (base / name).write_text(yaml.safe_dump(config, sort_keys=False))
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": sorted(resources),
        "configurations": [name for name, _ in rendered.kustomize_configurations],
    }
    (base / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))


def write_overlay(overlay: Path, **fields: Any) -> None:
    overlay.mkdir(parents=True)
    kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                     "resources": ["../base"], **fields}
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))


USER_OVERLAY: dict[str, Any] = {
    "namePrefix": "team-",
    "nameSuffix": "-eu",
    "namespace": "prod",
    "commonLabels": {"tier": "web"},
    "images": [{"name": "hello", "newName": "ghcr.io/kmaster8/hello", "newTag": "v3"}],
}
LABELS_OVERLAY: dict[str, Any] = {
    "namePrefix": "team-",
    "labels": [{"pairs": {"tier": "web"}, "includeSelectors": True, "includeTemplates": True}],
}
RENAMED = "team-hello-eu"


def build(tmp_path: Path, rendered: Rendered, overlay: dict[str, Any]) -> list[Manifest]:
    write_base(tmp_path / "base", rendered)
    write_overlay(tmp_path / "overlay", **overlay)
    return kustomize_build(tmp_path / "overlay")


def built(docs_: list[Manifest], kind: str, name: str) -> Manifest:
    found = rules.find(docs_, kind, name)
    assert found is not None, f"{kind}/{name} missing from {[rules.ident(d) for d in docs_]}"
    return found


def assert_valid(docs_: list[Manifest]) -> None:
    violations = rules.check_all(docs_, "argo-rollouts")
    assert violations == [], "\n".join(violations)
    problems = [line for doc in docs_ for line in validate_manifest(doc)]
    assert problems == [], "\n".join(problems)


def assert_labelled(rollout: Manifest, docs_: list[Manifest]) -> None:
    assert rollout["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "hello", "tier": "web"}
    assert rollout["spec"]["template"]["metadata"]["labels"]["tier"] == "web"
    for service in rules.of_kind(docs_, "Service"):
        assert service["spec"]["selector"] == {"app.kubernetes.io/name": "hello", "tier": "web"}


def test_canary_survives_a_renaming_overlay(tmp_path: Path) -> None:
    docs_ = build(tmp_path, out(canary("controller", autoscaling=SCALING), CANARY_STATES["step2"]), USER_OVERLAY)
    rollout = built(docs_, "Rollout", RENAMED)
    spec = rollout["spec"]["strategy"]["canary"]
    assert spec["canaryService"] == "team-hello-canary-eu"
    assert spec["stableService"] == "team-hello-stable-eu"
    assert spec["trafficRouting"]["nginx"]["stableIngress"] == RENAMED
    for _, ref, _ in rules.analysis_refs(rollout):
        assert ref["templateName"] == RENAMED
    built(docs_, "AnalysisTemplate", RENAMED)
    built(docs_, "Service", "team-hello-canary-eu")
    stable_ingress = built(docs_, "Ingress", RENAMED)
    assert [backend for *_, backend in rules.ingress_paths(stable_ingress)] == ["team-hello-stable-eu"]
    assert built(docs_, "HorizontalPodAutoscaler", RENAMED)["spec"]["scaleTargetRef"]["name"] == RENAMED
    assert rollout["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/kmaster8/hello:v3"
    assert {d["metadata"]["namespace"] for d in docs_} == {"prod"}
    assert_labelled(rollout, docs_)
    assert_valid(docs_)


def test_canary_analysis_arguments_follow_the_renamed_objects(tmp_path: Path) -> None:
    """The built-in queries read the namespace and the stable Ingress from the live Rollout, so the overlay's
    `namespace` and `namePrefix` reach them; the controller's canary Ingress name needs no argument at all."""
    docs_ = build(tmp_path, out(canary("controller")), USER_OVERLAY)
    rollout = built(docs_, "Rollout", RENAMED)
    args = next(step["analysis"]["args"] for step in rollout["spec"]["strategy"]["canary"]["steps"]
                if "analysis" in step)
    paths = {arg["name"]: arg["valueFrom"]["fieldRef"]["fieldPath"] for arg in args}
    assert rules.dig(rollout, "metadata", "namespace") == "prod"
    assert rules.dig(rollout, *paths["ingress"].split(".")) == RENAMED


def test_blue_green_survives_a_renaming_overlay(tmp_path: Path) -> None:
    docs_ = build(tmp_path, out(blue_green("git"), BLUE_GREEN_STATES["preview"]), USER_OVERLAY)
    rollout = built(docs_, "Rollout", RENAMED)
    spec = rollout["spec"]["strategy"]["blueGreen"]
    assert spec["activeService"] == "team-hello-active-eu"
    assert spec["previewService"] == "team-hello-preview-eu"
    analysis = spec["prePromotionAnalysis"]
    assert analysis["templates"] == [{"templateName": RENAMED}]
    # the literal preview Ingress argument is renamed by our nameReference entry
    assert {"name": "ingress", "value": "team-hello-preview-eu"} in analysis["args"]
    preview = built(docs_, "Ingress", "team-hello-preview-eu")
    assert [backend for *_, backend in rules.ingress_paths(preview)] == ["team-hello-preview-eu"]
    active = built(docs_, "Ingress", RENAMED)
    assert [backend for *_, backend in rules.ingress_paths(active)] == ["team-hello-active-eu"]
    assert_labelled(rollout, docs_)
    assert_valid(docs_)


@pytest.mark.parametrize("release", [canary("controller"), blue_green("controller")], ids=["canary", "bluegreen"])
def test_labels_with_selectors_and_templates(tmp_path: Path, release: Release) -> None:
    """The current form of commonLabels: `labels` with includeSelectors and includeTemplates."""
    docs_ = build(tmp_path, out(release), LABELS_OVERLAY)
    rollout = built(docs_, "Rollout", "team-hello")
    assert_labelled(rollout, docs_)
    assert_valid(docs_)


def test_template_labels_without_selectors(tmp_path: Path) -> None:
    """includeTemplates alone labels the pods but leaves the (immutable) selectors alone."""
    overlay = {"labels": [{"pairs": {"tier": "web"}, "includeTemplates": True}]}
    docs_ = build(tmp_path, out(canary("git")), overlay)
    rollout = built(docs_, "Rollout", "hello")
    assert rollout["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "hello"}
    assert rollout["spec"]["template"]["metadata"]["labels"]["tier"] == "web"


def test_config_map_and_secret_references_in_the_pod_template(tmp_path: Path) -> None:
    """A user's patch adding env from a generated ConfigMap and a Secret volume: both follow the renames.

    (kustomize only resolves a reference within one namespace: the overlay's `namespace` puts the generated
    objects next to ours, as every rollgen overlay does.)
    """
    write_base(tmp_path / "base", out(canary("git")))
    write_overlay(
        tmp_path / "overlay",
        namePrefix="team-",
        namespace="prod",
        configMapGenerator=[{"name": "hello-env", "literals": ["MODE=prod"]}],
        secretGenerator=[{"name": "hello-tls-client", "literals": ["key=value"]}],
        patches=[{"target": {"kind": "Rollout", "name": "hello"}, "patch": yaml.safe_dump([
            {"op": "add", "path": "/spec/template/spec/containers/0/envFrom",
             "value": [{"configMapRef": {"name": "hello-env"}}]},
            {"op": "add", "path": "/spec/template/spec/volumes",
             "value": [{"name": "tls", "secret": {"secretName": "hello-tls-client"}}]},
        ])}],
    )
    docs_ = kustomize_build(tmp_path / "overlay")
    config_map = rules.of_kind(docs_, "ConfigMap")[0]["metadata"]["name"]
    secret = rules.of_kind(docs_, "Secret")[0]["metadata"]["name"]
    assert config_map.startswith("team-hello-env-") and secret.startswith("team-hello-tls-client-")
    pod = built(docs_, "Rollout", "team-hello")["spec"]["template"]["spec"]
    assert pod["containers"][0]["envFrom"] == [{"configMapRef": {"name": config_map}}]
    assert pod["volumes"] == [{"name": "tls", "secret": {"secretName": secret}}]


def test_base_configurations_reach_the_overlay_and_are_needed(tmp_path: Path) -> None:
    """Finding: kustomize carries a base's `configurations:` up into every overlay built on it, so an overlay
    needs no `configurations:` of its own. Without our file the same overlay leaves the Rollout dangling."""
    rendered = out(canary("controller"))
    without = replace(rendered, kustomize_configurations=())
    docs_ = build(tmp_path / "without", without, USER_OVERLAY)
    rollout = built(docs_, "Rollout", RENAMED)
    spec = rollout["spec"]["strategy"]["canary"]
    assert spec["canaryService"] == "hello-canary"  # no Service of that name is left
    assert spec["trafficRouting"]["nginx"]["stableIngress"] == "hello"
    assert rollout["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "hello"}
    assert rules.check_all(docs_, "argo-rollouts"), "the rules must notice the broken references"


def test_kustomize_config_covers_every_rollout_reference() -> None:
    config = kustomize_config()
    paths = {(ref["kind"], spec["path"]) for ref in config["nameReference"] for spec in ref["fieldSpecs"]}
    for expected in [
        ("Service", "spec/strategy/canary/canaryService"),
        ("Service", "spec/strategy/canary/stableService"),
        ("Service", "spec/strategy/blueGreen/activeService"),
        ("Service", "spec/strategy/blueGreen/previewService"),
        ("Ingress", "spec/strategy/canary/trafficRouting/nginx/stableIngress"),
        ("Ingress", "spec/strategy/canary/trafficRouting/nginx/stableIngresses"),
        ("AnalysisTemplate", "spec/strategy/canary/steps/analysis/templates/templateName"),
        ("AnalysisTemplate", "spec/strategy/canary/analysis/templates/templateName"),
        ("AnalysisTemplate", "spec/strategy/blueGreen/prePromotionAnalysis/templates/templateName"),
        ("AnalysisTemplate", "spec/strategy/blueGreen/postPromotionAnalysis/templates/templateName"),
        ("ConfigMap", "spec/template/spec/containers/envFrom/configMapRef/name"),
        ("Secret", "spec/template/spec/volumes/secret/secretName"),
        ("Rollout", "spec/scaleTargetRef/name"),
    ]:
        assert expected in paths
    label_paths = {spec["path"] for spec in config["commonLabels"]}
    assert {"spec/selector/matchLabels", "spec/template/metadata/labels"} <= label_paths
    assert [spec["path"] for spec in config["templateLabels"]] == ["spec/template/metadata/labels"]
