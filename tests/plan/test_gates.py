"""Metric gates without a Prometheus: the queries (built-in and custom with Flagger's placeholders), judging,
the window, how advance plans each outcome, the state and trailer that record them, the HTTP client's retries
and redaction against a scripted local server, and that Argo Rollouts' AnalysisTemplate and Flagger's
MetricTemplate carry the very queries and thresholds the gates use (so a team can move between engines)."""

from __future__ import annotations

import base64
import json
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from generator import durations
from generator.plan import gates
from generator.plan import progression
from generator.render.routers import promql
from generator.render import state
from generator.render.engines import argo_rollouts, flagger
from generator.render.routers import ingress_nginx
from generator.plan.gates import GateResult, GateOutcome, Measurement, Traffic
from generator.gitops.messages import Record, compose, parse_trailers
from generator.model import (
    Analysis,
    BlueGreenStrategy,
    Environment,
    EnvState,
    Image,
    Metric,
    Release,
)
from generator.plan.progression import Hold, Refusal, Transition
from generator.plan.prometheus import (
    Client,
    PrometheusError,
    QueryError,
    Server,
    single_value,
)
from tests.conftest import REFUSED_PORT, ROOT
from tests.factories import make_release
from tests.imports import imported

OLD = Image.parse("ghcr.io/kmaster8/hello:v1")
NEW = Image.parse("ghcr.io/kmaster8/hello:v2")
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
T0S = "2024-05-01T12:00:00Z"
ERROR_RATE = Metric("error-rate", None, max=1)
LATENCY = Metric("latency", None, max=500)
CUSTOM = Metric(
    "pod-5xx",
    'sum(rate(http_requests_total{namespace="{{ namespace }}",pod=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)",'
    'status=~"5.."}[{{ interval }}])) or on() vector(0)',
    max=0.5,
)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def release_of(engine: str = "deployments", metrics: tuple[Metric, ...] = (ERROR_RATE, LATENCY), limit: int = 1,
               **overrides: Any) -> tuple[Release, Environment]:
    analysis = Analysis("http://prometheus.monitoring:9090", interval=60, failure_limit=limit, metrics=metrics)
    release = make_release(engine=engine, analysis=analysis, **overrides)
    return release, release.environments[0]


def progressing(step: int = 1, weight: int = 5, **overrides: Any) -> EnvState:
    return replace(
        EnvState(phase="progressing", stable_image=OLD, canary_image=NEW, step=step, weight=weight, since=T0S),
        **overrides,
    )


# -- queries and placeholders ---------------------------------------------------------------------------------


def test_substitute_replaces_exactly_the_flagger_tokens() -> None:
    text = "{{ namespace }} {{namespace}} {{  namespace }} {{ name }} {{ variables.x }} {{args.namespace}} {{ ns }}"
    assert promql.substitute(text, {"namespace": "prod", "ns": "x"}) == (
        "prod prod {{  namespace }} {{ name }} {{ variables.x }} {{args.namespace}} x"
    )


def test_substitute_is_plain_replacement_not_a_template_engine() -> None:
    text = '{% for x in y %}{{ namespace | upper }}{{ namespace.__class__ }}{% endfor %}{{ "{{ target }}" }}'
    assert promql.substitute(text, {"namespace": "n", "target": "t"}) == (
        '{% for x in y %}{{ namespace | upper }}{{ namespace.__class__ }}{% endfor %}{{ "t" }}'
    )


@pytest.mark.parametrize("engine", ["deployments", "argo-rollouts"])
@pytest.mark.parametrize("metric", [ERROR_RATE, LATENCY])
def test_builtins_measure_the_canary_backend_of_the_main_ingress(engine: str, metric: Metric) -> None:
    release, env = release_of(engine)
    where = gates.traffic(release, env, progressing())
    assert (where.subject, where.canary_only, where.namespace) == ("hello", True, env.namespace)
    assert gates.query(metric, where, "5m") == ingress_nginx.builtin_query(metric.name, env.namespace, "hello", "5m")


@pytest.mark.parametrize("engine", ["deployments", "argo-rollouts"])
def test_blue_green_builtins_measure_everything_at_the_preview_ingress(engine: str) -> None:
    release, env = release_of(engine, strategy=BlueGreenStrategy(preview_host="p.example.com"))
    where = gates.traffic(release, env, progressing())
    assert (where.subject, where.canary_only) == ("hello-preview", False)
    expected = ingress_nginx.builtin_query("latency", env.namespace, "hello-preview", "2m", canary_only=False)
    assert gates.query(LATENCY, where, "2m") == expected


@pytest.mark.parametrize(
    ("engine", "strategy", "colour", "target"),
    [
        ("deployments", None, "blue", "hello-canary"),  # the canary Deployment's pods: hello-canary-<hash>-<id>
        ("deployments", BlueGreenStrategy(), "blue", "hello-green"),  # the idle colour runs the new version
        ("deployments", BlueGreenStrategy(), "green", "hello-blue"),
        ("argo-rollouts", None, "blue", "hello"),  # the Rollout
        ("argo-rollouts", BlueGreenStrategy(), "blue", "hello"),
    ],
)
def test_custom_query_placeholders_name_the_new_version(
    engine: str, strategy: BlueGreenStrategy | None, colour: str, target: str
) -> None:
    overrides: dict[str, Any] = {"strategy": strategy} if strategy else {}
    release, env = release_of(engine, metrics=(CUSTOM,), **overrides)
    where = gates.traffic(release, env, progressing(active_colour=colour))
    query = gates.query(CUSTOM, where, "90s")
    assert query == (
        f'sum(rate(http_requests_total{{namespace="{env.namespace}",pod=~"{target}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)",'
        'status=~"5.."}[90s])) or on() vector(0)'
    )
    assert where.service == "hello"  # Flagger's apex name: `{{ service }}-canary` is the canary Service


# -- judging ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "value", "within", "text"),
    [
        (ERROR_RATE, 7.3, False, "error-rate=7.3 > 1"),
        (ERROR_RATE, 1.0, True, "error-rate=1 <= 1"),
        (ERROR_RATE, 0.0, True, "error-rate=0 <= 1"),
        (LATENCY, 812.3456, False, "latency=812.3 > 500"),
        (Metric("ratio", "q", min=0.99), 0.95, False, "ratio=0.95 < 0.99"),
        (Metric("ratio", "q", min=0.99, max=1), 0.995, True, "ratio=0.995 >= 0.99 and <= 1"),
        (Metric("tiny", "q", max=0.001), 0.0012, False, "tiny=0.0012 > 0.001"),
        (LATENCY, math.inf, False, "latency=+Inf > 500"),
        (LATENCY, None, False, "latency: no data"),
    ],
)
def test_measurements_judge_and_describe(metric: Metric, value: float | None, within: bool, text: str) -> None:
    measurement = Measurement(metric, value)
    assert (measurement.within, measurement.describe()) == (within, text)


def test_a_failure_outweighs_missing_data() -> None:
    result = gates.verdict([Measurement(ERROR_RATE, None), Measurement(LATENCY, 900)], T0S)
    assert (result.outcome, result.failed) == (GateOutcome.FAIL, ("latency=900 > 500",))
    assert result.reason == f"error-rate: no data, latency=900 > 500 since {T0S}"


def test_missing_data_holds() -> None:
    result = gates.verdict([Measurement(ERROR_RATE, None), Measurement(LATENCY, 20)], T0S)
    assert (result.outcome, result.failed) == (GateOutcome.NO_DATA, ())
    assert result.reason == f"no data for metric error-rate since {T0S}"


# -- evaluating ---------------------------------------------------------------------------------------------------


@dataclass
class FakePrometheus:
    values: dict[str, float | None]  # a substring of the query -> its value
    error: Exception | None = None
    asked: list[tuple[str, datetime]] = field(default_factory=list)
    url: str = ""
    headers: tuple[tuple[str, str], ...] = ()

    def __call__(self, url: str, headers: tuple[tuple[str, str], ...] = ()) -> FakePrometheus:
        self.url = url
        self.headers = headers
        return self

    def query(self, promql: str, at: datetime) -> float | None:
        self.asked.append((promql, at))
        if self.error is not None:
            raise self.error
        return next(value for key, value in self.values.items() if key in promql)


HEALTHY: dict[str, float | None] = {"status=~": 0.0, "duration": 42.0}


def evaluate(release: Release, env: Environment, current: EnvState, now: datetime, fake: FakePrometheus) -> GateResult:
    return gates.evaluate(release, env, current, now, client=fake)  # type: ignore[arg-type]


def test_every_metric_is_queried_at_now_over_the_window_since_the_step_began() -> None:
    release, env = release_of()
    fake = FakePrometheus(HEALTHY)
    result = evaluate(release, env, progressing(), at(300), fake)
    assert result == GateResult(GateOutcome.PASS, f"error-rate=0 <= 1, latency=42 <= 500 since {T0S}")
    assert fake.url == "http://prometheus.monitoring:9090"
    assert [q for q, _ in fake.asked] == [gates.query(m, gates.traffic(release, env, progressing()), "5m")
                                         for m in (ERROR_RATE, LATENCY)]
    assert {when for _, when in fake.asked} == {at(300)}


def test_after_a_failed_check_the_window_starts_at_that_check() -> None:
    release, env = release_of()
    fake = FakePrometheus(HEALTHY)
    current = progressing(failures=1, last_failure="2024-05-01T12:05:00Z")
    assert evaluate(release, env, current, at(390), fake).reason.endswith("since 2024-05-01T12:05:00Z")
    assert all("[90s]" in q for q, _ in fake.asked)


def test_no_analysis_passes_without_asking_anyone() -> None:
    release = make_release(engine="deployments", analysis=None)
    env = release.environments[0]
    assert gates.evaluate(release, env, progressing(), at(300)) == GateResult(GateOutcome.PASS, "no analysis configured")


def test_an_empty_window_is_no_data_and_asks_nothing() -> None:
    release, env = release_of()
    fake = FakePrometheus(HEALTHY)
    result = evaluate(release, env, progressing(), at(0), fake)
    assert result.outcome is GateOutcome.NO_DATA and not fake.asked


def test_prometheus_trouble_cannot_judge_and_says_which_metric_and_server() -> None:
    release, env = release_of()
    fake = FakePrometheus({}, error=PrometheusError("Prometheus at http://p:9090 did not answer (3 attempts): x"))
    result = evaluate(release, env, progressing(), at(300), fake)
    assert (result.outcome, result.failed) == (GateOutcome.CANNOT_JUDGE, ())
    assert result.reason.startswith("cannot evaluate metric error-rate: Prometheus at http://p:9090 did not answer")
    assert len(fake.asked) == 1  # the first failure ends the evaluation: no retries per metric


def test_a_state_without_since_cannot_be_measured() -> None:
    release, env = release_of()
    result = evaluate(release, env, progressing(since=""), at(300), FakePrometheus(HEALTHY))
    assert result.outcome is GateOutcome.CANNOT_JUDGE and "rollgen promote" in result.reason


# -- what advance does with each outcome --------------------------------------------------------------------------


def fixed(result: GateResult) -> progression.Gate:
    return lambda *_: result


FAILED = GateResult(GateOutcome.FAIL, f"error-rate=7.3 > 1, latency=20 <= 500 since {T0S}", failed=("error-rate=7.3 > 1",))


def test_a_failure_within_the_limit_is_counted_in_a_check_commit() -> None:
    release, env = release_of(limit=1)
    plan = progression.plan_advance(release, env, progressing(), at(300), fixed(FAILED))
    assert isinstance(plan, Transition)
    assert (plan.action, plan.step, plan.steps, plan.weight, plan.image, plan.gate) == (
        "check", 1, 3, 5, NEW, "error-rate=7.3 > 1")
    assert plan.state == progressing(failures=1, last_failure="2024-05-01T12:05:00Z")
    assert plan.summary == "gate failed, the canary at step 1/3 (5%) holds: error-rate=7.3 > 1"
    assert "failed check 1, 1 tolerated" in plan.details


def test_a_failure_beyond_the_limit_aborts_naming_metric_value_and_threshold() -> None:
    release, env = release_of(limit=1)
    current = progressing(failures=1, last_failure="2024-05-01T12:05:00Z")
    plan = progression.plan_advance(release, env, current, at(400), fixed(FAILED))
    assert isinstance(plan, Transition)
    assert (plan.action, plan.weight, plan.gate) == ("abort", 0, "error-rate=7.3 > 1")
    assert plan.state == EnvState(phase="aborted", stable_image=OLD, canary_image=NEW, since="2024-05-01T12:06:40Z")
    assert plan.summary.endswith("(error-rate=7.3 > 1)") and "failed check 2, 1 tolerated" in plan.details


def test_failure_limit_zero_aborts_at_the_first_failure() -> None:
    release, env = release_of(limit=0)
    plan = progression.plan_advance(release, env, progressing(), at(300), fixed(FAILED))
    assert isinstance(plan, Transition) and plan.action == "abort"


def test_the_next_check_waits_one_interval_after_a_failed_one() -> None:
    release, env = release_of()
    current = progressing(failures=1, last_failure="2024-05-01T12:05:00Z")

    def explode(*_: Any) -> GateResult:
        raise AssertionError("checked again too early")

    plan = progression.plan_advance(release, env, current, at(359), explode)
    assert isinstance(plan, Hold)
    assert plan.reason == (
        "nothing to do yet: the canary at step 1/3 (5%) holds after 1 failed check(s), the next one waits until "
        "2024-05-01T12:06:00Z (1s left)"
    )
    assert isinstance(progression.plan_advance(release, env, current, at(360), fixed(GateResult(GateOutcome.PASS, "ok"))),
                      Transition)


def test_no_data_holds_and_says_so() -> None:
    release, env = release_of()
    result = GateResult(GateOutcome.NO_DATA, f"no data for metric error-rate since {T0S}")
    plan = progression.plan_advance(release, env, progressing(), at(300), fixed(result))
    assert plan == Hold(f"nothing to do yet: no data for metric error-rate since {T0S} "
                        "(the canary at step 1/3 (5%) holds)")


def test_a_gate_that_cannot_judge_refuses_without_a_commit() -> None:
    release, env = release_of()
    result = GateResult(GateOutcome.CANNOT_JUDGE, "cannot evaluate metric error-rate: Prometheus at http://p:9090 did not answer")
    plan = progression.plan_advance(release, env, progressing(), at(300), fixed(result))
    assert plan == Refusal(f"the canary at step 1/3 (5%) holds: {result.reason}")


def test_a_blue_green_preview_holds_in_its_own_words() -> None:
    release, env = release_of(strategy=BlueGreenStrategy(preview_host="p.example.com", auto_promotion=60))
    env = replace(env, steps=())
    plan = progression.plan_advance(release, env, progressing(weight=0), at(60), fixed(FAILED))
    assert isinstance(plan, Transition) and plan.summary.startswith("gate failed, the preview on green holds")


def test_passing_the_next_step_and_promotion_clear_the_count() -> None:
    release, env = release_of()
    current = progressing(failures=1, last_failure="2024-05-01T12:05:00Z")
    moved = progression.plan_advance(release, env, current, at(400), fixed(GateResult(GateOutcome.PASS, "ok")))
    assert isinstance(moved, Transition) and moved.action == "step"
    assert (moved.state.failures, moved.state.last_failure) == (0, "")
    by_hand = progression.plan_promote(release, env, current, at(310))
    assert isinstance(by_hand, Transition) and (by_hand.state.failures, by_hand.state.last_failure) == (0, "")


# -- the record: state file and trailer ---------------------------------------------------------------------------


def test_state_files_carry_failures_only_while_there_are_some() -> None:
    quiet = progressing()
    assert "failures" not in state.to_dict(quiet) and "lastFailure" not in state.to_dict(quiet)
    counted = progressing(failures=2, last_failure="2024-05-01T12:05:00Z")
    assert state.to_dict(counted).items() >= {"failures": 2, "lastFailure": "2024-05-01T12:05:00Z"}.items()
    assert state.parse_state(state.dump(counted, "releases/hello.yaml")) == counted
    assert state.parse_state(state.dump(quiet, "releases/hello.yaml")) == quiet


def test_old_state_files_read_as_no_failures() -> None:
    data = {"phase": "progressing", "stableImage": OLD.ref, "canaryImage": NEW.ref, "step": 1, "weight": 5,
            "since": T0S, "activeColour": "blue"}
    assert state.state_from_dict(data) == progressing()


def test_the_gate_trailer_is_one_line_after_the_others() -> None:
    record = Record("hello", "prod", "abort", 0, 3, 0, NEW.ref, "abort", gate="error-rate=7.3 > 1;\nlatency=9 > 5")
    message = compose(record)
    assert message.rstrip().splitlines()[-1] == "Rollgen-Gate: error-rate=7.3 > 1; latency=9 > 5"
    assert parse_trailers(message)["Rollgen-Gate"] == "error-rate=7.3 > 1; latency=9 > 5"
    assert "Rollgen-Gate" not in compose(replace(record, gate=""))


# -- the same analysis in the controllers' own objects ------------------------------------------------------------


def argo_condition(condition: str, value: float) -> bool:
    """Argo's expr conditions as rendered (`len(result) > 0 && !isNaN(result[0]) && result[0] <= 1`), in Python."""
    python = condition.replace("&&", " and ").replace("!isNaN(", "not isNaN(").replace("!(", "not (")
    verdict: bool = eval(python, {"len": len, "isNaN": math.isnan, "result": [value]})
    return verdict


def by_kind(manifests: tuple[dict[str, Any], ...], kind: str) -> dict[str, Any]:
    return next(m for m in manifests if m["kind"] == kind)


SAMPLES = (0.0, 0.5, 0.99, 1.0, 1.0001, 7.3, 499.0, 500.0, 500.5, 5000.0, math.inf)
P99 = Metric("p99", 'histogram_quantile(0.99, sum(rate(x_bucket{namespace="test"}[1m])) by (le))', min=0.001, max=0.5)


@pytest.mark.parametrize("strategy", [None, BlueGreenStrategy(preview_host="p.example.com")])
def test_argo_analysis_template_has_the_gates_queries_and_thresholds(strategy: BlueGreenStrategy | None) -> None:
    overrides: dict[str, Any] = {"strategy": strategy} if strategy else {"progression": "controller"}
    release, env = release_of("argo-rollouts", metrics=(ERROR_RATE, LATENCY, P99), **overrides)
    current = progressing()
    rendered = argo_rollouts.render(release, env, current).manifests
    template, rollout = by_kind(rendered, "AnalysisTemplate"), by_kind(rendered, "Rollout")
    where = gates.traffic(release, env, current)
    assert resolve_ingress_arg(rollout) == where.subject  # the Rollout hands the template the gate's Ingress
    window = durations.format_go(promql.rate_window(release.analysis.interval))  # type: ignore[union-attr]
    args = {"{{args.namespace}}": env.namespace, "{{args.ingress}}": where.subject}
    metrics = {m["name"]: m for m in template["spec"]["metrics"]}
    for metric in (ERROR_RATE, LATENCY, P99):
        rendered_query = metrics[metric.name]["provider"]["prometheus"]["query"]
        for placeholder, filled in args.items():
            rendered_query = rendered_query.replace(placeholder, filled)
        assert rendered_query == gates.query(metric, where, window)
        success, failure = metrics[metric.name]["successCondition"], metrics[metric.name]["failureCondition"]
        for value in SAMPLES:
            assert argo_condition(success, value) is gates.within(metric, value), (metric.name, value)
            assert argo_condition(failure, value) is not gates.within(metric, value), (metric.name, value)
        assert argo_condition(success, math.nan) is argo_condition(failure, math.nan) is False  # no data: neither
        assert metrics[metric.name]["failureLimit"] == release.analysis.failure_limit  # type: ignore[union-attr]


def resolve_ingress_arg(rollout: dict[str, Any]) -> str:
    strategy = rollout["spec"]["strategy"]
    if "canary" in strategy:
        steps = strategy["canary"]["steps"]
        args = next(s["analysis"]["args"] for s in steps if "analysis" in s)
        arg = next(a for a in args if a["name"] == "ingress")
        assert arg["valueFrom"]["fieldRef"]["fieldPath"] == ingress_nginx.STABLE_INGRESS_FIELD
        ingress: str = strategy["canary"]["trafficRouting"]["nginx"]["stableIngress"]
        return ingress
    arg = next(a for a in strategy["blueGreen"]["prePromotionAnalysis"]["args"] if a["name"] == "ingress")
    value: str = arg["value"]
    return value


def test_flagger_metric_templates_and_thresholds_match_the_gates() -> None:
    custom = Metric("pod-5xx", CUSTOM.query, min=0.0, max=0.5)
    release, env = release_of("flagger", metrics=(ERROR_RATE, LATENCY, custom), progression="controller")
    rendered = flagger.render(release, env, EnvState.initial(env)).manifests
    template = next(m for m in rendered if m["kind"] == "MetricTemplate" and m["metadata"]["name"] == "hello-pod-5xx")
    assert template["spec"]["query"] == CUSTOM.query  # Flagger's placeholders reach Flagger intact
    canary_metrics = {m["name"]: m for m in by_kind(rendered, "Canary")["spec"]["analysis"]["metrics"]}

    # The same query under git progression (here the deployments engine): only Flagger's tokens are filled in, with
    # the values Flagger would give them for the same release.
    nginx, nginx_env = release_of("deployments", metrics=(custom,))
    where = gates.traffic(nginx, nginx_env, progressing())
    assert where == Traffic(nginx_env.namespace, "hello", True, "hello-canary", "hello", stable="hello")
    values = {"namespace": where.namespace, "target": where.target, "interval": "1m"}
    assert gates.query(custom, where, "1m") == promql.substitute(template["spec"]["query"], values)

    # thresholds: the custom metric's range as is; error-rate <= max is request-success-rate >= 100 - max
    assert canary_metrics["pod-5xx"]["thresholdRange"] == {"min": 0, "max": 0.5}
    assert canary_metrics["latency"]["thresholdRange"] == {"max": 500}
    assert "request-duration" not in canary_metrics  # Flagger's built-in means the response time (issue 17 item 8)
    success = canary_metrics["request-success-rate"]["thresholdRange"]
    for value in SAMPLES[:-1]:
        assert (100 - value >= success["min"]) is gates.within(ERROR_RATE, value), value


def test_latency_means_the_same_request_duration_on_flagger_argo_and_the_gate() -> None:
    """One bound, one meaning (issue 17 item 8): Flagger's MetricTemplate, once Flagger fills in its placeholders,
    and Argo's AnalysisTemplate, once the Rollout's arguments are resolved, send the gate's own latency query."""
    release, env = release_of("flagger", metrics=(LATENCY,), progression="controller")
    rendered = flagger.render(release, env, EnvState.initial(env)).manifests
    template = next(m for m in rendered if m["kind"] == "MetricTemplate" and m["metadata"]["name"] == "hello-latency")
    values = {"namespace": env.namespace, "ingress": "hello", "interval": "1m"}
    nginx, nginx_env = release_of("deployments", metrics=(LATENCY,))
    where = gates.traffic(nginx, nginx_env, progressing())
    assert promql.substitute(template["spec"]["query"], values) == gates.query(LATENCY, where, "1m")
    assert ingress_nginx.DURATION in template["spec"]["query"]  # nginx_ingress_controller_request_duration_seconds


# -- the HTTP client ----------------------------------------------------------------------------------------------


@dataclass
class Scripted:
    """A local HTTP server answering each request with the next scripted (status, body, delay)."""

    answers: list[tuple[int, bytes, float]]
    requests: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0


@pytest.fixture
def scripted(loopback_without_proxy: None) -> Iterator[Scripted]:
    script = Scripted([])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            script.requests.append({"path": self.path, "headers": dict(self.headers),
                                    "body": self.rfile.read(length).decode()})
            status, body, delay = script.answers.pop(0) if script.answers else (500, b"", 0.0)
            threading.Event().wait(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client gave up waiting

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    script.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield script
    server.shutdown()
    server.server_close()


def vector(*values: str) -> bytes:
    result = [{"metric": {"i": str(i)}, "value": [1714564800, v]} for i, v in enumerate(values)]
    return json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}}).encode()


def client(script: Scripted, userinfo: str = "", **kwargs: Any) -> tuple[Client, list[float]]:
    sleeps: list[float] = []
    url = f"http://{userinfo}127.0.0.1:{script.port}/prom/"
    return Client(url, sleep=sleeps.append, **kwargs), sleeps


def test_a_query_is_a_post_to_the_instant_query_api_at_the_given_time(scripted: Scripted) -> None:
    scripted.answers = [(200, vector("7.25"), 0)]
    prometheus, _ = client(scripted)
    assert prometheus.query('sum(rate(x{a="b"}[5m]))', T0) == 7.25
    (request,) = scripted.requests
    assert request["path"] == "/prom/api/v1/query"
    assert "query=sum%28rate%28x%7Ba%3D%22b%22%7D%5B5m%5D%29%29" in request["body"]
    assert f"time={T0.timestamp():.3f}" in request["body"]
    assert "Authorization" not in request["headers"]


def test_server_errors_are_retried_with_jittered_backoff(scripted: Scripted) -> None:
    scripted.answers = [(503, b'{"status":"error","errorType":"timeout","error":"query timed out"}', 0),
                        (502, b"", 0), (200, vector("1"), 0)]
    prometheus, sleeps = client(scripted)
    assert prometheus.query("up", T0) == 1
    assert len(scripted.requests) == 3
    assert 0.25 <= sleeps[0] <= 0.75 and 0.5 <= sleeps[1] <= 1.5  # 0.5s then 1s, each x0.5..1.5


def test_retries_are_bounded_and_the_message_names_the_server_without_credentials(scripted: Scripted) -> None:
    scripted.answers = [(503, b"", 0)] * 3
    prometheus, sleeps = client(scripted, "admin:s3cret@")
    with pytest.raises(PrometheusError) as caught:
        prometheus.query("up", T0)
    message = str(caught.value)
    assert message.startswith(f"Prometheus at http://127.0.0.1:{scripted.port}/prom did not answer (3 attempts): HTTP 503")
    assert "s3cret" not in message and "admin" not in message and "s3cret" not in repr(prometheus)
    assert len(scripted.requests) == 3 and len(sleeps) == 2
    token = base64.b64encode(b"admin:s3cret").decode()
    assert all(r["headers"]["Authorization"] == f"Basic {token}" for r in scripted.requests)


def test_an_unreachable_server_is_retried_then_reported() -> None:
    sleeps: list[float] = []
    prometheus = Client(f"http://user:hunter22@127.0.0.1:{REFUSED_PORT}/", sleep=sleeps.append, timeout=1)
    with pytest.raises(PrometheusError) as caught:
        prometheus.query("up", T0)
    assert str(caught.value).startswith(f"Prometheus at http://127.0.0.1:{REFUSED_PORT} did not answer (3 attempts): ")
    assert "hunter22" not in str(caught.value) and len(sleeps) == 2


def test_a_slow_server_times_out_and_is_retried(scripted: Scripted) -> None:
    scripted.answers = [(200, vector("1"), 1.0), (200, vector("2"), 0)]
    prometheus, sleeps = client(scripted, timeout=0.2)
    assert prometheus.query("up", T0) == 2 and len(sleeps) == 1


@pytest.mark.parametrize(
    ("status", "body", "error", "text"),
    [
        (400, b'{"status":"error","errorType":"bad_data","error":"parse error at char 5"}', QueryError,
         "refused the query: bad_data: parse error at char 5"),
        (422, b'{"status":"error","errorType":"execution","error":"many-to-many matching"}', QueryError,
         "refused the query: execution: many-to-many matching"),
        (404, b"404 page not found", PrometheusError, "answered HTTP 404"),
        (401, b"", PrometheusError, "answered HTTP 401"),
        (200, b"<html>Grafana</html>", PrometheusError, "answered, but not as the Prometheus API does"),
    ],
)
def test_answers_that_asking_again_would_not_change_are_not_retried(
    scripted: Scripted, status: int, body: bytes, error: type[Exception], text: str
) -> None:
    scripted.answers = [(status, body, 0)]
    prometheus, sleeps = client(scripted)
    with pytest.raises(error, match=text):
        prometheus.query("up", T0)
    assert len(scripted.requests) == 1 and sleeps == []


@pytest.mark.parametrize(
    ("data", "value"),
    [
        ({"resultType": "vector", "result": []}, None),
        ({"resultType": "vector", "result": [{"metric": {}, "value": [1, "NaN"]}]}, None),
        ({"resultType": "vector", "result": [{"metric": {}, "value": [1, "+Inf"]}]}, math.inf),
        ({"resultType": "vector", "result": [{"metric": {}, "value": [1, "0.25"]}]}, 0.25),
        ({"resultType": "scalar", "result": [1, "3"]}, 3.0),
    ],
)
def test_single_value(data: dict[str, Any], value: float | None) -> None:
    assert single_value(data, "q") == value


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ({"resultType": "vector", "result": [{"value": [1, "1"]}, {"value": [1, "2"]}]}, "gives 2 series"),
        ({"resultType": "matrix", "result": []}, "gives a matrix"),
        ({"resultType": "string", "result": [1, "x"]}, "gives a string"),
    ],
)
def test_answers_that_are_not_one_number(data: dict[str, Any], text: str) -> None:
    with pytest.raises(QueryError, match=text):
        single_value(data, "q")


def test_server_parse_keeps_credentials_out_of_the_base() -> None:
    server = Server.parse("https://user:p%40ss@prom.example.com:9443/sub/path/?token=abc#x")
    assert server.base == "https://prom.example.com:9443/sub/path"
    assert server.authorization == "Basic " + base64.b64encode(b"user:p@ss").decode()
    assert server.redact("failed for user:p%40ss and p@ss") == "failed for *** and ***"
    assert Server.parse("http://prometheus.monitoring:9090").authorization is None


def test_validate_never_imports_the_client() -> None:
    code = (
        "from generator.cli import main\n"
        f"main(['validate', {str(ROOT / 'examples' / 'hello-rollouts-controller.yaml')!r}])\n"
        "import generator.commands.advance, generator.plan.gates, generator.plan.progression\n"
    )
    loaded = imported(code)[1]  # beyond the interpreter's own start-up (tests/imports.py)
    assert sorted(m for m in ('generator.plan.prometheus', 'urllib.request') if m in loaded) == []
