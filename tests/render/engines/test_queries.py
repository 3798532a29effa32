"""The built-in metric queries: what they select, that placeholders survive, and that PromQL parses them."""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from generator.render.routers import ingress_nginx as nginx
from generator.model import BUILTIN_METRICS

Builder = Callable[..., str]
BUILDERS: dict[str, Builder] = {"error-rate": nginx.error_rate_query, "latency": nginx.latency_query}
SELECTOR = re.compile(r"\{([^{}]*(?:\{\{[^{}]*\}\}[^{}]*)*)\}\[")  # a series selector followed by its range


def promql() -> ModuleType:
    """The promql-parser package (Rust bindings of the parser GreptimeDB uses); skipped where not installed."""
    if os.environ.get("CI"):  # `.[test]` installs it: under CI its absence is a broken install, not a skip
        return importlib.import_module("promql_parser")
    module: ModuleType = pytest.importorskip("promql_parser", reason="pip install promql-parser to parse the queries")
    return module


def selectors(query: str) -> list[str]:
    return SELECTOR.findall(query)


def test_every_builtin_metric_has_a_query() -> None:
    assert set(nginx.BUILTIN_QUERIES) == {*BUILTIN_METRICS, "requests"}  # requests: maxIncrease's evidence


def test_error_rate_is_percent_of_5xx_of_the_canary() -> None:
    query = nginx.error_rate_query("test", "hello", "1m")
    assert query == (
        '100 * (sum(rate(nginx_ingress_controller_requests{namespace="test",ingress="hello",canary!="",'
        'status=~"5.."}[1m])) or vector(0)) / sum(rate(nginx_ingress_controller_requests{namespace="test",'
        'ingress="hello",canary!=""}[1m]))'
    )


def test_latency_is_average_milliseconds_of_the_canary() -> None:
    query = nginx.latency_query("test", "hello", "5m")
    assert query == (
        '1000 * sum(rate(nginx_ingress_controller_request_duration_seconds_sum{namespace="test",ingress="hello",'
        'canary!=""}[5m])) / sum(rate(nginx_ingress_controller_request_duration_seconds_count{namespace="test",'
        'ingress="hello",canary!=""}[5m]))'
    )


@pytest.mark.parametrize("metric", BUILTIN_METRICS)
def test_canary_only_selects_the_canary_backend_in_every_series(metric: str) -> None:
    """ingress-nginx counts canary requests under the main Ingress, marked by a non-empty `canary` label."""
    canary = selectors(nginx.builtin_query(metric, "ns", "hello", "1m"))
    everything = selectors(nginx.builtin_query(metric, "ns", "hello-preview", "1m", canary_only=False))
    assert len(canary) == len(everything) == 2
    assert all('canary!=""' in s for s in canary)
    assert not any("canary" in s for s in everything)
    assert all('ingress="hello-preview"' in s for s in everything)


@pytest.mark.parametrize("metric", BUILTIN_METRICS)
def test_numerator_and_denominator_select_the_same_traffic(metric: str) -> None:
    numerator, denominator = selectors(BUILDERS[metric]("ns", "hello", "2m"))
    assert numerator.replace(',status=~"5.."', "") == denominator


@pytest.mark.parametrize("metric", BUILTIN_METRICS)
@pytest.mark.parametrize(
    ("namespace", "ingress", "window"),
    [
        ("{{args.namespace}}", "{{args.ingress}}", "1m"),  # Argo Rollouts arguments
        ("{{ namespace }}", "{{ ingress }}", "{{ interval }}"),  # Flagger MetricTemplate placeholders
    ],
)
def test_engine_placeholders_pass_through_intact(metric: str, namespace: str, ingress: str, window: str) -> None:
    query = BUILDERS[metric](namespace, ingress, window)
    assert query.count(f'namespace="{namespace}"') == 2
    assert query.count(f'ingress="{ingress}"') == 2
    assert query.count(f"[{window}]") == 2


def test_values_cannot_break_out_of_their_string() -> None:
    namespace, ingress = 'ns"} or vector(1) #', "a\\b"
    query = nginx.error_rate_query(namespace, ingress, "1m")
    expr = promql().parse(query)
    assert _shape(expr) == (100.0, "*", "/")  # 100 * errors / total, and nothing was injected
    for side in (_numerator(expr), expr.rhs):
        matchers = _matchers(side)
        assert matchers["namespace"] == ("Equal", namespace)
        assert matchers["ingress"] == ("Equal", ingress)


def _shape(expr: Any) -> tuple[float, str, str]:
    return expr.lhs.lhs.val, str(expr.lhs.op), str(expr.op)


def _numerator(expr: Any) -> Any:
    """`100 * a / b` parses as `(100 * a) / b`; the error rate's `a` is `(errors or vector(0))`."""
    side = expr.lhs.rhs
    if type(side).__name__ == "ParenExpr":
        assert str(side.expr.op).endswith("or") and side.expr.rhs.func.name == "vector"
        return side.expr.lhs
    return side


def _matchers(aggregate: Any) -> dict[str, tuple[str, str]]:
    """label -> (operator, value) of the one series selector inside `sum(rate(...))`."""
    selector = aggregate.expr.args[0].vector_selector
    return {m.name: (str(m.op).rsplit(".", 1)[-1], m.value) for m in selector.matchers.matchers}


def test_unknown_metric_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        nginx.builtin_query("p99", "ns", "hello", "1m")


@pytest.mark.parametrize("metric", BUILTIN_METRICS)
@pytest.mark.parametrize("canary_only", [True, False])
@pytest.mark.parametrize("window", ["30s", "1m", "90s", "1h"])
def test_queries_parse_as_promql(metric: str, canary_only: bool, window: str) -> None:
    expr = promql().parse(nginx.builtin_query(metric, "test", "hello", window, canary_only=canary_only))
    assert _shape(expr) == ((100.0 if metric == "error-rate" else 1000.0), "*", "/")
    expected = {"namespace": ("Equal", "test"), "ingress": ("Equal", "hello")}
    if canary_only:
        expected["canary"] = ("NotEqual", "")
    denominator = _matchers(expr.rhs)
    assert denominator == expected
    numerator = _matchers(_numerator(expr))
    if metric == "error-rate":
        expected["status"] = ("Re", "5..")
    assert numerator == expected


def test_argo_placeholders_parse_as_promql() -> None:
    """Argo substitutes `{{args.x}}` inside string literals, so the template's query is already valid PromQL."""
    parser = promql()
    for metric in BUILTIN_METRICS:
        parser.parse(nginx.builtin_query(metric, "{{args.namespace}}", "{{args.ingress}}", "1m"))
