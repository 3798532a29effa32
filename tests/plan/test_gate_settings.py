"""Issue 25 items 1-3 without a Prometheus: what the controllers get (AnalysisTemplate headers and secret
arguments, MetricTemplate secretRef and headers), environments[].analysis merged over the release's (in the
overlays and in the git gate), maxIncrease's one query on every engine, and the refusals, located."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from generator.cli import main
from generator.errors import InvalidInput
from generator.model import EnvState, Image
from generator.plan import gates
from generator.render.loading import load_release
from generator.spec import config
from tests.conftest import ROOT
from tests.plan.test_gates import FakePrometheus
from tests.validators import kustomize_build, render_example, validate_manifest

ROLLOUTS = ROOT / "examples" / "hello-rollouts-gates.yaml"
FLAGGER = ROOT / "examples" / "hello-flagger-gates.yaml"


def built(example: Path, env: str, tmp_path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    app = render_example(example, tmp_path)
    objects = kustomize_build(app / "overlays" / env)
    for obj in objects:
        assert validate_manifest(obj) == [], obj["kind"]  # the upstream CRDs accept every field written
    return {(obj["kind"], obj["metadata"]["name"]): obj for obj in objects}


def by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in items}


def test_analysis_template_carries_headers_and_the_secret_as_an_argument(tmp_path: Path) -> None:
    template = built(ROLLOUTS, "staging", tmp_path)[("AnalysisTemplate", "hello")]["spec"]
    assert by_name(template["args"])["prometheus-basic"] == {
        "name": "prometheus-basic", "valueFrom": {"secretKeyRef": {"name": "prometheus-auth", "key": "basic"}}}
    metrics = by_name(template["metrics"])
    assert list(metrics) == ["error-rate", "error-rate-increase", "latency-increase"]
    for metric in metrics.values():
        prometheus = metric["provider"]["prometheus"]
        assert prometheus["address"] == "https://mimir.monitoring:8080/prometheus"
        assert prometheus["headers"] == [
            {"key": "X-Scope-OrgID", "value": "web"}, {"key": "Authorization", "value": "Basic {{args.prometheus-basic}}"}]
    assert metrics["error-rate"]["successCondition"].endswith("result[0] <= 2")
    assert metrics["latency-increase"]["successCondition"].endswith("result[0] <= 0")


def test_prod_gets_its_own_prometheus_secret_and_bounds(tmp_path: Path) -> None:
    template = built(ROLLOUTS, "prod", tmp_path)[("AnalysisTemplate", "hello")]["spec"]
    assert by_name(template["args"])["prometheus-token"]["valueFrom"] == {
        "secretKeyRef": {"name": "prometheus-prod", "key": "token"}}
    assert "prometheus-basic" not in by_name(template["args"])
    metrics = by_name(template["metrics"])
    assert list(metrics) == ["error-rate", "error-rate-increase", "latency-increase"]  # the release's kept
    assert metrics["error-rate"]["successCondition"].endswith("result[0] <= 1")  # prod's stricter bound
    for metric in metrics.values():
        prometheus = metric["provider"]["prometheus"]
        assert prometheus["address"] == "https://prometheus.prod.internal:9090"
        assert {"key": "Authorization", "value": "Bearer {{args.prometheus-token}}"} in prometheus["headers"]


def test_flagger_templates_carry_the_secret_ref_and_every_metric_goes_through_one(tmp_path: Path) -> None:
    objects = built(FLAGGER, "prod", tmp_path)
    canary = objects[("Canary", "hello")]["spec"]["analysis"]["metrics"]
    # Flagger's own request-success-rate queries metricsServer, which takes no credentials: not used here
    assert [(m["name"], m["templateRef"]["name"], m["thresholdRange"]) for m in canary] == [
        ("error-rate", "hello-error-rate", {"max": 1}), ("latency-increase", "hello-latency-increase", {"max": 0})]
    for name in ("hello-error-rate", "hello-latency-increase"):
        provider = objects[("MetricTemplate", name)]["spec"]["provider"]
        assert provider["secretRef"] == {"name": "prometheus-auth"}
        assert provider["headers"] == {"X-Scope-OrgID": ["web"]}
    query = objects[("MetricTemplate", "hello-latency-increase")]["spec"]["query"]
    assert ") - 1.1 * (" in query  # prod's ratio merged over the release's 1.5


def test_the_git_gate_queries_each_environments_prometheus_with_its_headers() -> None:
    release = load_release(ROLLOUTS)
    now = datetime(2024, 5, 1, 12, 10, tzinfo=timezone.utc)
    for env_name, url, bound in (("staging", "https://mimir.monitoring:8080/prometheus", 2),
                                 ("prod", "https://prometheus.prod.internal:9090", 1)):
        env = release.environment(env_name)
        state = replace(EnvState.initial(env), phase="progressing", step=1, weight=10, since="2024-05-01T12:00:00Z",
                        canary_image=Image.parse("ghcr.io/kmaster8/hello:v3"))
        # the comparisons (they read stable's requests, canary="") pass; the plain error-rate measures 1.5
        fake = FakePrometheus({'canary=""': 0.0, "status=~": 1.5, "duration": 0.0})
        result = gates.evaluate(release, env, state, now, client=fake)  # type: ignore[arg-type]
        assert fake.url == url and fake.headers == (("X-Scope-OrgID", "web"),)
        assert [q for q, _ in fake.asked][1].count('canary=""') == 3  # stable's errors, requests and traffic
        expected = "error-rate=1.5 <= 2" if bound == 2 else "error-rate=1.5 > 1"
        assert expected in result.reason


def test_the_comparison_is_the_same_query_on_every_engine(tmp_path: Path) -> None:
    """The git gate, Argo's AnalysisTemplate and Flagger's MetricTemplate send one query, placeholders aside."""
    from generator.plan.gates import traffic
    from generator.render.routers import query

    release = load_release(FLAGGER)
    env = release.environment("staging")
    metric = next(m for m in release.analysis_for(env).metrics if m.max_increase)  # type: ignore[union-attr]
    gate = query(metric, traffic(release, env, EnvState.initial(env)), "1m")
    flagger = built(FLAGGER, "staging", tmp_path / "f")[("MetricTemplate", "hello-latency-increase")]["spec"]["query"]
    # the examples' own namespace (web-staging), not a copy of it that goes stale when the examples move
    filled = flagger.replace("{{ namespace }}", env.namespace).replace("{{ ingress }}", "hello").replace("{{ interval }}", "1m")
    assert filled == gate
    argo_release = load_release(ROLLOUTS)
    argo_metric = next(m for m in argo_release.analysis_for(argo_release.environment("staging")).metrics  # type: ignore[union-attr]
                       if m.key == "latency-increase")
    argo = by_name(built(ROLLOUTS, "staging", tmp_path / "a")[("AnalysisTemplate", "hello")]["spec"]["metrics"])
    argo_query = argo["latency-increase"]["provider"]["prometheus"]["query"]
    gate_argo = query(argo_metric, traffic(argo_release, argo_release.environment("staging"), EnvState.initial(
        argo_release.environment("staging"))), "1m")
    argo_namespace = argo_release.environment("staging").namespace
    assert argo_query.replace("{{args.namespace}}", argo_namespace).replace("{{args.ingress}}", "hello") == gate_argo


# -- refusals --------------------------------------------------------------------------------------------------


SPEC = """\
apiVersion: rollgen.io/v1alpha1
kind: Release
metadata: {name: hello, namespace: test}
spec:
  engine: nginx
  image: ghcr.io/kmaster8/hello:v2
  containerPort: 5050
  service: {port: 5000}
  ingress: {host: hello.example.com}
  strategy:
    canary:
      steps: [{weight: 10, pause: 1m}]
"""


def problems(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> str:
    path = tmp_path / "hello.yaml"
    path.write_text(SPEC + text)
    capsys.readouterr()
    assert main(["validate", str(path)]) == 1
    return capsys.readouterr().out


def test_max_increase_on_a_custom_query_is_refused_at_its_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = problems(tmp_path, (
        "  analysis:\n"
        "    prometheus: http://prometheus:9090\n"
        "    metrics:\n"
        "      - {name: p99, query: 'sum(x)', maxIncrease: {ratio: 2}}\n"), capsys)
    assert "hello.yaml:16:38: $.spec.analysis.metrics[0].maxIncrease: maxIncrease compares the canary with stable" in out


def test_max_and_max_increase_in_one_entry_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = problems(tmp_path, (
        "  analysis:\n"
        "    prometheus: http://prometheus:9090\n"
        "    metrics:\n"
        "      - {name: latency, max: 500, maxIncrease: {ratio: 2}}\n"), capsys)
    assert "$.spec.analysis.metrics[0].maxIncrease: maxIncrease goes in a metric entry of its own" in out


def test_an_environment_analysis_without_the_releases_needs_a_prometheus(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = problems(tmp_path, (
        "  environments:\n"
        "    - name: prod\n"
        "      analysis:\n"
        "        metrics: [{name: error-rate, max: 1}]\n"), capsys)
    assert "hello.yaml:16:9: $.spec.environments[0].analysis: without spec.analysis, an environment's analysis needs prometheus" in out


def test_an_environment_metric_is_checked_as_merged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = problems(tmp_path, (
        "  analysis:\n"
        "    prometheus: http://prometheus:9090\n"
        "    metrics: [{name: error-rate, max: 1}]\n"
        "  environments:\n"
        "    - name: prod\n"
        "      analysis:\n"
        "        metrics: [{name: error-rate, max: 101}]\n"), capsys)
    assert "$.spec.environments[0].analysis.metrics[0].max: error-rate is a percent" in out


def test_an_environment_without_analysis_keeps_the_releases() -> None:
    release = load_release(ROLLOUTS)
    staging = release.environment("staging")
    assert staging.analysis is None and release.analysis_for(staging) is release.analysis


def test_rollgen_yaml_prometheus_refusals_are_located(tmp_path: Path) -> None:
    (tmp_path / "rollgen.yaml").write_text(
        "prometheus:\n"
        "  bearerTokenFile: token\n"
        "  headers: {Authorization: Bearer abc}\n")
    with pytest.raises(InvalidInput) as caught:
        config.load(tmp_path)
    text = "\n".join(p.format() for p in caught.value.problems)
    assert "rollgen.yaml:2:20: $.prometheus.bearerTokenFile: an absolute path such as" in text
    assert "$.prometheus.headers" in text
    (tmp_path / "rollgen.yaml").write_text(
        "prometheus:\n"
        "  bearerTokenFile: /run/token\n"
        "  basicAuth: {usernameFile: /run/user, passwordFile: /run/password}\n")
    with pytest.raises(InvalidInput) as caught:
        config.load(tmp_path)
    assert "$.prometheus: give bearerTokenFile or basicAuth, not both" in caught.value.problems[0].format()


def test_rollgen_yaml_prometheus_is_read_as_file_names_only(tmp_path: Path) -> None:
    (tmp_path / "rollgen.yaml").write_text(
        "prometheus:\n"
        "  basicAuth: {usernameFile: /run/user, passwordFile: /run/password}\n"
        "  caFile: /etc/ca.crt\n"
        "  headers: {X-Scope-OrgID: platform}\n")
    access = config.load(tmp_path).prometheus
    assert access == config.PrometheusAccess(
        username_file="/run/user", password_file="/run/password", ca_file="/etc/ca.crt",
        headers=(("X-Scope-OrgID", "platform"),))


# -- advance --all: the gates' queries sent ahead, concurrently, a bounded number at a time ------------------------


class SlowServer:
    """A client factory whose queries take a while and count how many run at once."""

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()
        self.running = self.most = self.calls = 0

    def __call__(self, url: str, headers: tuple[tuple[str, str], ...] = ()) -> SlowServer:
        return self

    def credentials(self) -> None:
        pass

    def query(self, promql: str, at: datetime) -> float | None:
        import time

        with self.lock:
            self.running += 1
            self.calls += 1
            self.most = max(self.most, self.running)
        time.sleep(0.05)
        with self.lock:
            self.running -= 1
        return float(len(promql))


def test_prefetched_answers_are_bounded_and_used_by_the_gate() -> None:
    server = SlowServer()
    answers = gates.Answers(server)  # type: ignore[arg-type]
    now = datetime(2024, 5, 1, 12, 10, tzinfo=timezone.utc)
    asks = [("http://p:9090", (), f"query_{i}", now) for i in range(24)] * 2  # the same query twice: sent once
    started = __import__("time").perf_counter()
    answers.prefetch(asks, limit=4)
    elapsed = __import__("time").perf_counter() - started
    assert server.calls == 24 and server.most == 4
    assert elapsed < 24 * 0.05 / 2  # concurrent: about 6 rounds of 50 ms, not 24
    assert answers("http://p:9090").query("query_3", now) == float(len("query_3"))
    assert server.calls == 24  # answered from what was fetched
    answers("http://p:9090").query("not asked ahead", now)
    assert server.calls == 25  # a query not asked ahead still reaches Prometheus


def test_a_prefetched_error_is_raised_where_the_gate_asks() -> None:
    from generator.plan.prometheus import PrometheusError

    class Down(SlowServer):
        def query(self, promql: str, at: datetime) -> float | None:
            raise PrometheusError("Prometheus at http://p:9090 did not answer")

    answers = gates.Answers(Down())  # type: ignore[arg-type]
    now = datetime(2024, 5, 1, 12, 10, tzinfo=timezone.utc)
    answers.prefetch([("http://p:9090", (), "up", now)])
    with pytest.raises(PrometheusError):
        answers("http://p:9090").query("up", now)


def test_the_recorder_notes_exactly_what_the_gate_asks() -> None:
    release = load_release(ROLLOUTS)
    env = release.environment("prod")
    state = replace(EnvState.initial(env), phase="progressing", step=1, weight=10, since="2024-05-01T12:00:00Z",
                    canary_image=Image.parse("ghcr.io/kmaster8/hello:v3"))
    now = datetime(2024, 5, 1, 12, 10, tzinfo=timezone.utc)
    recorder = gates.Recorder()
    gates.evaluate(release, env, state, now, client=recorder)
    fake = FakePrometheus({"": 0.0})
    gates.evaluate(release, env, state, now, client=fake)  # type: ignore[arg-type]
    assert [ask[2] for ask in recorder.asks] == [q for q, _ in fake.asked]
    assert {ask[0] for ask in recorder.asks} == {"https://prometheus.prod.internal:9090"}


ISTIO = """\
apiVersion: rollgen.io/v1alpha1
kind: Release
metadata: {{name: hello, namespace: test}}
spec:
  engine: {engine}
  progression: controller
  image: ghcr.io/kmaster8/hello:v2
  container: {{resources: {{requests: {{cpu: 100m}}}}}}
  containerPort: 5050
  service: {{port: 5000}}
  ingress: {{host: hello.example.com}}
  router: istio
  istio: {{gateways: [istio-system/public-gateway]}}
  strategy:
    canary:
      steps: [{{weight: 10, pause: 1m}}, {{weight: 50, pause: 1m}}]
  analysis:
    prometheus: http://prometheus:9090
    metrics:
      - {{name: latency, maxIncrease: {{ratio: 1.25}}}}
"""


def test_with_istio_argo_reads_the_stable_service_from_the_rollout(tmp_path: Path) -> None:
    spec = tmp_path / "hello.yaml"
    spec.write_text(ISTIO.format(engine="argo-rollouts"))
    app = render_example_at(spec, tmp_path / "out")
    objects = {(o["kind"], o["metadata"]["name"]): o for o in kustomize_build(app / "overlays" / "default")}
    for obj in objects.values():
        assert validate_manifest(obj) == [], obj["kind"]
    template = objects[("AnalysisTemplate", "hello")]["spec"]
    assert [arg["name"] for arg in template["args"]] == ["namespace", "service", "stable-service"]
    query = template["metrics"][0]["provider"]["prometheus"]["query"]
    assert 'destination_service_name="{{args.stable-service}}"' in query
    assert 'destination_service_name="{{args.service}}"' in query
    steps = objects[("Rollout", "hello")]["spec"]["strategy"]["canary"]["steps"]
    args = next(s["analysis"]["args"] for s in steps if "analysis" in s)
    assert {"name": "stable-service", "valueFrom": {"fieldRef": {"fieldPath": "spec.strategy.canary.stableService"}}} in args


def test_with_istio_flagger_compares_canary_and_primary(tmp_path: Path) -> None:
    spec = tmp_path / "hello.yaml"
    spec.write_text(ISTIO.format(engine="flagger").replace("progression: controller\n", "progression: controller\n"
                                                           "  autoscaling: {minReplicas: 1, maxReplicas: 2, cpu: 80}\n"))
    app = render_example_at(spec, tmp_path / "out")
    objects = {(o["kind"], o["metadata"]["name"]): o for o in kustomize_build(app / "overlays" / "default")}
    query = objects[("MetricTemplate", "hello-latency-increase")]["spec"]["query"]
    assert 'destination_service_name="{{ target }}-primary"' in query
    assert 'destination_service_name="{{ target }}-canary"' in query


def render_example_at(spec: Path, out: Path) -> Path:
    assert main(["render", str(spec), "--out", str(out)]) == 0
    return out / "apps" / "hello"


def test_an_environments_own_metrics_meet_the_routers_and_the_builds_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = problems(tmp_path, (
        "  environments:\n"
        "    - name: prod\n"
        "      analysis:\n"
        "        prometheus: http://p:9090\n"
        "        metrics:\n"
        "          - {name: p99, query: \"sum(x)\\x7f\", max: 1}\n"), capsys)
    assert "$.spec.environments[0].analysis.metrics[0].query: character U+007F" in out
    gateway = SPEC.replace("  strategy:\n", "  router: gateway-api\n  gateway: {name: public, namespace: gw}\n  strategy:\n")
    path = tmp_path / "gw.yaml"
    path.write_text(gateway + (
        "  environments:\n"
        "    - name: prod\n"
        "      analysis:\n"
        "        prometheus: http://p:9090\n"
        "        metrics: [{name: error-rate, max: 1}]\n"))
    capsys.readouterr()
    assert main(["validate", str(path)]) == 1
    assert "$.spec.environments[0].analysis.metrics[0].name: the Gateway API defines no metrics" in capsys.readouterr().out
