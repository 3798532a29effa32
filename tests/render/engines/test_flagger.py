"""The Flagger engine against the Flagger rules (REFERENCE.md), the upstream CRDs and the core Kubernetes schemas."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import Any

import pytest
import yaml

from generator.render.engines import Manifest, Rendered, renderer_for
from generator.render.engines.flagger import render
from generator.model import (
    ABTestStrategy,
    Analysis,
    Autoscaling,
    BlueGreenStrategy,
    CanaryStrategy,
    EnvState,
    Environment,
    Image,
    Metric,
    Release,
    Step,
)
from tests.factories import HELLO_STEPS, make_environment, make_release
from tests.validators import validate_manifest

OLD = Image.parse("ghcr.io/kmaster8/hello:v1")
NEW = Image.parse("ghcr.io/kmaster8/hello:v2")
EVEN_STEPS = (Step(10, 120), Step(30, 120), Step(60, 120))
FLAGGER_DURATION = re.compile(r"^[0-9]+(m|s)$")
SELECTOR_LABELS = ("app", "name", "app.kubernetes.io/name")

# Queries as users write them for Flagger: its placeholders, quotes, regex braces, a newline, Jinja-looking text.
PLACEHOLDER_QUERY = (
    'sum(rate(http_requests_total{namespace="{{ namespace }}", pod=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)",'
    ' status!~"5.*"}[{{ interval }}]))\n'
    '/ sum(rate(http_requests_total{namespace="{{ namespace }}", pod=~"{{ target }}-.*"}[{{ interval }}]))'
    ' * {{ variables.scale }} {% raw %} ${HOME} \'single\' "double"'
)

HEADER_AB = ABTestStrategy(iterations=10, header="X-Canary", header_value="insider")
COOKIE_AB = ABTestStrategy(iterations=5, cookie="canary")


def flagger_release(**overrides: Any) -> Release:
    fields: dict[str, Any] = {
        "engine": "flagger",
        "progression": "controller",
        "strategy": CanaryStrategy(steps=EVEN_STEPS),
    }
    fields.update(overrides)
    return make_release(**fields)


def rendered(release: Release, env: Environment | None = None, state: EnvState | None = None) -> Rendered:
    env = env if env is not None else release.environments[0]
    return render(release, env, state if state is not None else EnvState.initial(env))


def by_kind(out: Rendered, kind: str) -> list[Manifest]:
    return [m for m in out.manifests if m["kind"] == kind]


def one(out: Rendered, kind: str, name: str | None = None) -> Manifest:
    found = [m for m in by_kind(out, kind) if name is None or m["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def canary_spec(out: Rendered) -> dict[str, Any]:
    spec: dict[str, Any] = one(out, "Canary")["spec"]
    return spec


def analysis(out: Rendered) -> dict[str, Any]:
    spec: dict[str, Any] = canary_spec(out)["analysis"]
    return spec


def hello_analysis(**overrides: Any) -> Analysis:
    base = make_release().analysis
    assert base is not None
    return replace(base, **overrides)


def variants() -> dict[str, Release]:
    """Every shape the engine renders, for the rules that must hold on all of them."""
    scaling = Autoscaling(min_replicas=2, max_replicas=6, cpu_utilization=70)
    return {
        "canary-analysis": flagger_release(),
        "canary-no-analysis": flagger_release(analysis=None),
        "canary-autoscaling": flagger_release(autoscaling=scaling),
        "ab-header": flagger_release(strategy=HEADER_AB),
        "ab-cookie": flagger_release(strategy=COOKIE_AB),
        "ab-both": flagger_release(strategy=ABTestStrategy(iterations=3, header="X-Canary", cookie="canary")),
        "blue-green": flagger_release(
            strategy=BlueGreenStrategy(preview_host="preview.hello.example.com", auto_promotion=600)
        ),
        "blue-green-named": flagger_release(
            strategy=BlueGreenStrategy(
                preview_host="preview.hello.example.com", auto_promotion=600, preview_tls_secret="preview-tls"
            ),
            service_port_name="web",
        ),
        "placeholders": flagger_release(
            analysis=Analysis("http://prometheus.monitoring:9090", 60, 2, (Metric("ratio", PLACEHOLDER_QUERY, min=99),))
        ),
    }


VARIANTS = variants()


# --- the Canary -----------------------------------------------------------------------------------------------


def test_registered_for_the_flagger_engine() -> None:
    assert renderer_for("flagger") is render


def test_canary_points_at_the_objects_we_write() -> None:
    spec = canary_spec(rendered(flagger_release()))
    assert spec["provider"] == "nginx"
    assert spec["targetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "hello"}
    assert spec["ingressRef"] == {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "hello"}
    assert spec["autoscalerRef"] == {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "name": "hello"}
    assert spec["progressDeadlineSeconds"] == 600
    assert spec["service"] == {"port": 5000, "targetPort": "http", "portName": "http"}
    assert spec["metricsServer"] == "http://prometheus.monitoring:9090"


def test_port_name_reaches_the_container_the_ingress_and_the_canary() -> None:
    out = rendered(flagger_release(service_port_name="web"))
    (container,) = one(out, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert [p["name"] for p in container["ports"]] == ["web"]
    backend = one(out, "Ingress")["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "hello", "port": {"name": "web"}}
    assert canary_spec(out)["service"] == {"port": 5000, "targetPort": "web", "portName": "web"}


def test_canary_steps_become_step_weights() -> None:
    got = analysis(rendered(flagger_release()))
    assert got["stepWeights"] == [10, 30, 60]
    assert got["interval"] == "1m"  # the analysis interval
    assert got["threshold"] == 2  # failureLimit 1 tolerated, the second failed check rolls back
    assert "iterations" not in got and "match" not in got


def test_environment_steps_win_over_the_release_steps() -> None:
    release = flagger_release()
    env = make_environment(release, name="prod", steps=(Step(25, 120), Step(75, 120)))
    assert analysis(rendered(release, env))["stepWeights"] == [25, 75]


def test_builtin_metrics_map_to_flagger_builtins() -> None:
    metrics = analysis(rendered(flagger_release()))["metrics"]
    assert metrics[0] == {"name": "request-success-rate", "thresholdRange": {"min": 99}, "interval": "1m"}
    # latency is the request duration ingress-nginx records, as in the gates and Argo: a template, not Flagger's
    # built-in request-duration (which averages the upstream response time)
    assert metrics[1] == {
        "name": "latency",
        "templateRef": {"name": "hello-latency"},
        "thresholdRange": {"max": 500},
        "interval": "1m",
    }
    assert metrics[2] == {
        "name": "p99",
        "templateRef": {"name": "hello-p99"},
        "thresholdRange": {"max": 0.5},
        "interval": "1m",
    }


def test_threshold_values_read_as_written() -> None:
    release = flagger_release(
        analysis=Analysis(
            "http://prom:9090",
            60,
            1,
            (Metric("error-rate", None, max=0.1), Metric("latency", None, min=5.0, max=250.0)),
        )
    )
    metrics = analysis(rendered(release))["metrics"]
    assert metrics[0]["thresholdRange"] == {"min": 99.9}
    assert metrics[1]["thresholdRange"] == {"min": 5, "max": 250}
    assert all(type(v) is int for v in metrics[1]["thresholdRange"].values())


def test_failure_limit_zero_rolls_back_on_the_first_failed_check() -> None:
    release = flagger_release(analysis=hello_analysis(failure_limit=0))
    assert analysis(rendered(release))["threshold"] == 1


def test_without_analysis_the_step_pause_is_the_interval() -> None:
    out = rendered(flagger_release(analysis=None))
    got = analysis(out)
    assert got["interval"] == "2m"
    assert got["threshold"] == 2
    assert "metrics" not in got
    assert "metricsServer" not in canary_spec(out)
    assert not by_kind(out, "MetricTemplate")


def test_without_analysis_or_pauses_the_interval_is_a_minute() -> None:
    release = flagger_release(analysis=None, strategy=COOKIE_AB)
    assert analysis(rendered(release))["interval"] == "1m"


@pytest.mark.parametrize(
    ("seconds", "expected"), [(30, "30s"), (90, "90s"), (300, "5m"), (3600, "60m"), (7200, "120m")]
)
def test_intervals_never_use_hours(seconds: int, expected: str) -> None:
    steps = tuple(Step(w, seconds) for w in (10, 50))
    release = flagger_release(analysis=None, strategy=CanaryStrategy(steps=steps))
    assert analysis(rendered(release))["interval"] == expected


def test_metric_window_is_at_least_a_minute() -> None:
    release = flagger_release(analysis=hello_analysis(interval=30))
    got = analysis(rendered(release))
    assert got["interval"] == "30s"
    assert {m["interval"] for m in got["metrics"]} == {"1m"}


# --- MetricTemplates ------------------------------------------------------------------------------------------


def test_custom_metric_becomes_a_metric_template() -> None:
    template = one(rendered(flagger_release()), "MetricTemplate", "hello-p99")
    assert template["apiVersion"] == "flagger.app/v1beta1"
    assert template["metadata"]["namespace"] == "test"
    assert template["spec"] == {
        "provider": {"type": "prometheus", "address": "http://prometheus.monitoring:9090"},
        "query": "histogram_quantile(0.99, sum(rate(x_bucket[1m])) by (le))",
    }


def test_placeholders_reach_the_cluster_byte_for_byte() -> None:
    out = rendered(VARIANTS["placeholders"])
    template = one(out, "MetricTemplate", "hello-ratio")
    assert template["spec"]["query"] == PLACEHOLDER_QUERY
    # and through a YAML emitter and back, as the files will be read
    for doc in yaml.safe_load_all(yaml.safe_dump_all(out.manifests, sort_keys=False)):
        if doc["kind"] == "MetricTemplate":
            assert doc["spec"]["query"].encode() == PLACEHOLDER_QUERY.encode()
    metric = analysis(out)["metrics"][0]
    assert metric == {
        "name": "ratio",
        "templateRef": {"name": "hello-ratio"},
        "thresholdRange": {"min": 99},
        "interval": "1m",
    }


def test_templates_sync_before_the_canary() -> None:
    out = rendered(flagger_release())
    for template in by_kind(out, "MetricTemplate"):
        wave = template["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
        assert wave == "-1" and isinstance(wave, str)
    canary_wave = one(out, "Canary")["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", "0")
    assert int(canary_wave) > -1


# --- A/B testing ----------------------------------------------------------------------------------------------


def test_ab_by_header_with_a_value() -> None:
    got = analysis(rendered(VARIANTS["ab-header"]))
    assert got["iterations"] == 10
    assert got["match"] == [{"headers": {"X-Canary": {"exact": "insider"}}}]
    assert "stepWeights" not in got and "stepWeight" not in got


def test_ab_by_header_without_a_value_routes_on_always() -> None:
    release = flagger_release(strategy=ABTestStrategy(iterations=4, header="X-Canary"))
    assert analysis(rendered(release))["match"] == [{"headers": {"X-Canary": {"exact": "always"}}}]


def test_ab_by_cookie_names_the_cookie() -> None:
    got = analysis(rendered(VARIANTS["ab-cookie"]))
    assert got["iterations"] == 5
    # Flagger turns the `cookie` key into canary-by-cookie: <name>; clients send <name>=always
    assert got["match"] == [{"headers": {"cookie": {"exact": "canary"}}}]


def test_ab_by_header_and_cookie_uses_one_condition_each() -> None:
    match = analysis(rendered(VARIANTS["ab-both"]))["match"]
    assert match == [
        {"headers": {"X-Canary": {"exact": "always"}}},
        {"headers": {"cookie": {"exact": "canary"}}},
    ]
    headers = [key for condition in match for key in condition["headers"]]
    assert sum(key != "cookie" for key in headers) == 1 and headers.count("cookie") == 1


# --- blue-green -----------------------------------------------------------------------------------------------


def test_blue_green_runs_iterations_for_the_preview_time() -> None:
    out = rendered(VARIANTS["blue-green"])
    got = analysis(out)
    assert got["iterations"] == 10  # 10m of preview at 1m an iteration
    assert "match" not in got and "stepWeights" not in got
    preview = one(out, "Ingress", "hello-preview")
    rule = preview["spec"]["rules"][0]
    assert rule["host"] == "preview.hello.example.com"
    assert rule["http"]["paths"][0]["backend"]["service"]["name"] == "hello-canary"


@pytest.mark.parametrize(("secret", "expected"), [(None, "hello-tls"), ("preview-tls", "preview-tls")])
def test_blue_green_preview_tls_secret(secret: str | None, expected: str) -> None:
    strategy = BlueGreenStrategy(
        preview_host="preview.hello.example.com", auto_promotion=600, preview_tls_secret=secret
    )
    out = rendered(flagger_release(strategy=strategy))
    assert one(out, "Ingress", "hello")["spec"]["tls"] == [{"hosts": ["hello.example.com"], "secretName": "hello-tls"}]
    preview = one(out, "Ingress", "hello-preview")
    assert preview["spec"]["tls"] == [{"hosts": ["preview.hello.example.com"], "secretName": expected}]


def test_blue_green_iterations_round_up() -> None:
    release = flagger_release(strategy=BlueGreenStrategy(auto_promotion=150))
    assert analysis(rendered(release))["iterations"] == math.ceil(150 / 60)


def test_blue_green_without_a_preview_host_writes_one_ingress() -> None:
    release = flagger_release(strategy=BlueGreenStrategy(auto_promotion=60))
    env = replace(release.environments[0], preview_host=None)
    assert [i["metadata"]["name"] for i in by_kind(rendered(release, env), "Ingress")] == ["hello"]


def test_blue_green_waiting_for_a_person_is_not_renderable() -> None:
    with pytest.raises(ValueError, match="autoPromotion"):
        rendered(flagger_release(strategy=BlueGreenStrategy()))


# --- replicas and autoscaling ---------------------------------------------------------------------------------


def test_without_autoscaling_an_hpa_pins_the_replicas() -> None:
    release = flagger_release()
    env = make_environment(release, name="prod", replicas=4)
    out = rendered(release, env)
    hpa = one(out, "HorizontalPodAutoscaler", "hello")
    assert hpa["spec"]["minReplicas"] == hpa["spec"]["maxReplicas"] == 4
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "hello"}
    assert "replicas" not in one(out, "Deployment")["spec"]


def test_with_autoscaling_the_hpa_scales_on_cpu() -> None:
    out = rendered(VARIANTS["canary-autoscaling"])
    spec = one(out, "HorizontalPodAutoscaler", "hello")["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 6)
    assert spec["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    assert canary_spec(out)["autoscalerRef"]["name"] == "hello"
    assert "replicas" not in one(out, "Deployment")["spec"]


def test_environment_autoscaling_wins() -> None:
    release = flagger_release()
    env = make_environment(release, name="prod", autoscaling=Autoscaling(3, 9, 60))
    spec = one(rendered(release, env), "HorizontalPodAutoscaler")["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (3, 9)


# --- images and state -----------------------------------------------------------------------------------------


def test_one_image_slot_for_the_environment_image() -> None:
    release = flagger_release()
    env = make_environment(release, name="prod", image=OLD)
    out = rendered(release, env)
    assert [c["image"] for c in one(out, "Deployment")["spec"]["template"]["spec"]["containers"]] == ["hello"]
    assert [(s.name, s.image) for s in out.images] == [("hello", OLD)]


def test_controller_progression_ignores_step_and_weight() -> None:
    release = flagger_release()
    env = release.environments[0]
    stable = rendered(release, env, EnvState(phase="stable", stable_image=NEW))
    progressing = EnvState(phase="progressing", stable_image=NEW, canary_image=NEW, step=2, weight=30)
    moving = rendered(release, env, progressing)
    assert stable == moving


def test_objects_land_in_the_environment_namespace() -> None:
    release = flagger_release()
    env = make_environment(release, name="prod", namespace="hello-prod", labels=(("tier", "gold"),))
    out = rendered(release, env)
    assert {m["metadata"]["namespace"] for m in out.manifests} == {"hello-prod"}
    assert all(m["metadata"]["labels"]["tier"] == "gold" for m in out.manifests)


# --- REFERENCE.md rules on every variant ----------------------------------------------------------------------


@pytest.fixture(params=sorted(VARIANTS))
def output(request: pytest.FixtureRequest) -> tuple[Release, Rendered]:
    release = VARIANTS[request.param]
    return release, rendered(release)


def test_valid_against_crds_and_core_schemas(output: tuple[Release, Rendered]) -> None:
    _, out = output
    problems = [line for manifest in out.manifests for line in validate_manifest(manifest)]
    assert problems == []


def test_never_writes_what_flagger_creates(output: tuple[Release, Rendered]) -> None:
    release, out = output
    names = {(m["kind"], m["metadata"]["name"]) for m in out.manifests}
    n = release.name
    forbidden = {
        ("Deployment", f"{n}-primary"),
        ("Deployment", f"{n}-canary"),
        ("HorizontalPodAutoscaler", f"{n}-primary"),
        ("Service", n),
        ("Service", f"{n}-primary"),
        ("Service", f"{n}-canary"),
        ("Ingress", f"{n}-canary"),
    }
    assert not names & forbidden
    assert not by_kind(out, "Service")
    assert not any(name.endswith("-primary") for _, name in names)


def test_ingress_routes_to_the_apex_service(output: tuple[Release, Rendered]) -> None:
    release, out = output
    ingress = one(out, "Ingress", release.name)
    backends = [p["backend"]["service"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]]
    assert backends == [{"name": release.name, "port": {"name": release.service_port_name}}]
    annotations = ingress["metadata"].get("annotations", {})
    assert not any(key.startswith("nginx.ingress.kubernetes.io/canary") for key in annotations)


def test_deployment_selector_uses_a_label_flagger_knows(output: tuple[Release, Rendered]) -> None:
    release, out = output
    deployment = one(out, "Deployment", release.name)
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector == {"app.kubernetes.io/name": release.name}
    assert any(label in selector for label in SELECTOR_LABELS)
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= pod_labels.items()


def test_no_replicas_in_git_and_no_reconcile_switch(output: tuple[Release, Rendered]) -> None:
    _, out = output
    deployment = one(out, "Deployment")
    assert "replicas" not in deployment["spec"]
    annotations = deployment["metadata"].get("annotations", {})
    assert "kustomize.toolkit.fluxcd.io/reconcile" not in annotations
    assert canary_spec(out)["autoscalerRef"]["name"] == one(out, "HorizontalPodAutoscaler")["metadata"]["name"]


def test_durations_match_flaggers_pattern(output: tuple[Release, Rendered]) -> None:
    _, out = output
    got = analysis(out)
    assert FLAGGER_DURATION.match(got["interval"])
    assert all(FLAGGER_DURATION.match(m["interval"]) for m in got.get("metrics", ()))


def test_exactly_one_way_to_progress(output: tuple[Release, Rendered]) -> None:
    _, out = output
    got = analysis(out)
    assert sum(key in got for key in ("iterations", "stepWeight", "stepWeights")) == 1
    if "match" in got:
        assert "iterations" in got  # match and weights cannot be combined


def test_every_template_reference_resolves(output: tuple[Release, Rendered]) -> None:
    _, out = output
    templates = {m["metadata"]["name"] for m in by_kind(out, "MetricTemplate")}
    refs = {m["templateRef"]["name"] for m in analysis(out).get("metrics", ()) if "templateRef" in m}
    assert refs == templates


def test_deterministic(output: tuple[Release, Rendered]) -> None:
    release, first = output
    again = rendered(release)
    assert first == again
    dump = yaml.safe_dump_all(first.manifests, sort_keys=False)
    assert dump == yaml.safe_dump_all(again.manifests, sort_keys=False)


def test_render_does_not_share_mutable_state() -> None:
    release = flagger_release()
    first = rendered(release)
    analysis(first)["stepWeights"].append(99)
    one(first, "Deployment")["metadata"]["labels"]["x"] = "y"
    assert rendered(release) == rendered(flagger_release())
    assert make_release().strategy == CanaryStrategy(steps=HELLO_STEPS, header="X-Canary")


# --- load test (issue 17 item 3) ----------------------------------------------------------------------------


def test_a_load_test_is_a_rollout_webhook_sending_the_ab_header_through_the_public_host() -> None:
    from generator.model import LoadTest

    release = flagger_release(strategy=HEADER_AB, analysis=hello_analysis(load_test=LoadTest(rate=7)))
    (hook,) = analysis(rendered(release))["webhooks"]
    assert hook == {
        "name": "load-test",
        "type": "rollout",
        "url": "http://flagger-loadtester.test/",
        "timeout": "15s",
        "metadata": {"type": "cmd", "cmd": "hey -z 1m -q 7 -c 1 -H 'X-Canary: insider' https://hello.example.com/"},
    }


def test_a_cookie_ab_test_sends_the_cookie_and_a_weighted_canary_no_header() -> None:
    from generator.model import LoadTest

    target = LoadTest(target="http://hello.test.svc/x")
    cookie = flagger_release(strategy=COOKIE_AB, analysis=hello_analysis(load_test=target))
    assert analysis(rendered(cookie))["webhooks"][0]["metadata"]["cmd"].endswith(
        "-H 'Cookie: canary=always' http://hello.test.svc/x")
    weighted = flagger_release(analysis=hello_analysis(load_test=LoadTest()))
    assert "-H" not in analysis(rendered(weighted))["webhooks"][0]["metadata"]["cmd"]
    assert "webhooks" not in analysis(rendered(flagger_release()))
