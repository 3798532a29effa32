"""The built-in metrics of the Istio and Gateway API routers against a real Prometheus scraping synthetic Istio
series (tests/promstack.py): the same PromQL the git gates send, the Argo AnalysisTemplates carry (with
`{{args.*}}` filled in) and the Flagger MetricTemplates carry (with Flagger's placeholders filled in)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from generator.render.routers.promql import substitute
from generator.plan.prometheus import Client
from generator.render.routers import router_for
from tests.conftest import require_tool
from tests.promstack import Exporter, IstioBackend, Prometheus, scraping

WINDOW = "2s"
SCENARIOS = {  # namespace -> the new version's behaviour
    "healthy": {"rps": 10.0, "error_ratio": 0.0, "latency": 0.06},
    "erroring": {"rps": 10.0, "error_ratio": 0.5, "latency": 0.06},
    "slow": {"rps": 10.0, "error_ratio": 0.0, "latency": 0.9},
}


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    binary = require_tool("prometheus")
    exporter = Exporter()
    for namespace, canary in SCENARIOS.items():
        for reporter in ("destination", "source"):
            # stable traffic that must not count, and the new version's Service
            exporter.add(IstioBackend(namespace, "", "hello", "", rps=20, reporter=reporter))
            exporter.add(IstioBackend(namespace, "", "hello-canary", "", reporter=reporter, **canary))
    with scraping(binary, exporter, tmp_path_factory.mktemp("prometheus")) as server:
        yield server


# slow: a real Prometheus scraping synthetic series
pytestmark = [pytest.mark.usefixtures("loopback_without_proxy"), pytest.mark.slow]


def measure(prometheus: Prometheus, promql: str) -> float | None:
    return Client(prometheus.url).query(promql, datetime.now(timezone.utc))


@pytest.mark.parametrize("router", ["istio", "gateway-api"])
@pytest.mark.parametrize(
    ("namespace", "error_rate", "latency"),
    [("healthy", (0, 0), (55, 65)), ("erroring", (45, 55), (55, 65)), ("slow", (0, 0), (850, 950))],
)
def test_builtins_measure_the_new_version(
    prometheus: Prometheus, router: str, namespace: str, error_rate: tuple[float, float], latency: tuple[float, float]
) -> None:
    query = router_for(router).metrics.query
    errors = measure(prometheus, query("error-rate", namespace, "hello-canary", WINDOW))
    millis = measure(prometheus, query("latency", namespace, "hello-canary", WINDOW))
    assert errors is not None and error_rate[0] <= errors <= error_rate[1], errors
    assert millis is not None and latency[0] <= millis <= latency[1], millis


def test_no_traffic_is_no_data(prometheus: Prometheus) -> None:
    query = router_for("istio").metrics.query
    assert measure(prometheus, query("error-rate", "healthy", "hello-nobody", WINDOW)) is None
    assert measure(prometheus, query("latency", "healthy", "hello-nobody", WINDOW)) is None


def test_templates_carry_the_same_queries(prometheus: Prometheus) -> None:
    """Argo's `{{args.namespace}}`/`{{args.service}}` and Flagger's `{{ namespace }}`/`{{ target }}-canary`,
    filled in as the controllers do, give the gate's numbers."""
    query = router_for("istio").metrics.query
    argo = query("error-rate", "{{args.namespace}}", "{{args.service}}", WINDOW)
    argo = argo.replace("{{args.namespace}}", "erroring").replace("{{args.service}}", "hello-canary")
    flagger = query("error-rate", "{{ namespace }}", "{{ target }}-canary", "{{ interval }}")
    flagger = substitute(flagger, {"namespace": "erroring", "target": "hello", "interval": WINDOW})
    gate = query("error-rate", "erroring", "hello-canary", WINDOW)
    assert argo == flagger == gate
    value = measure(prometheus, gate)
    assert value is not None and 45 <= value <= 55
