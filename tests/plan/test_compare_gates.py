"""maxIncrease against a real Prometheus (issue 25 item 3): the canary's and stable's requests of one Ingress,
as ingress-nginx labels them, scraped from synthetic series; the same query and window for both tracks, through
rollgen's CLI on real git config repos. Too little traffic on either side holds, never passes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import git, require_tool
from tests.promstack import Backend, Exporter, Prometheus, scraping
from tests.factories import ConfigRepo
from tests.plan.test_prometheus_gates import V1, V2, Clock, gate_value, spec, start_canary

LATENCY = "      - {name: latency, maxIncrease: {ratio: 1.25, minRequests: 10}}\n"
ERRORS = "      - {name: error-rate, maxIncrease: {delta: 5, minRequests: 10}}\n"
SCENARIOS = {  # namespace -> the canary backend (stable: 20 requests a second, 50 ms, no errors)
    "same": {"rps": 10, "latency": 0.05},
    "slower": {"rps": 10, "latency": 0.2},
    "thin": {"rps": 0.5, "latency": 0.05},
    "erroring": {"rps": 10, "latency": 0.05, "error_ratio": 0.2},
}


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    binary = require_tool("prometheus")
    exporter = Exporter()
    for namespace, canary in SCENARIOS.items():
        exporter.release(namespace, "hello", canary)
    # a stable track with no traffic at all: the canary alone cannot be compared
    exporter.add(Backend("lonely", "hello", "hello-canary", "lonely-hello-canary-5000", rps=10))
    with scraping(binary, exporter, tmp_path_factory.mktemp("prometheus")) as server:
        yield server


# slow: a real Prometheus scraping a stub exporter
pytestmark = [pytest.mark.usefixtures("loopback_without_proxy"), pytest.mark.slow]


def started(repo: ConfigRepo, namespace: str, url: str, metrics: str, engine: str = "nginx") -> Clock:
    clock = Clock()
    start_canary(repo, spec(namespace, V1, url, engine, metrics, failure_limit=0),
                 spec(namespace, V2, url, engine, metrics, failure_limit=0), clock, -4)
    return clock


@pytest.mark.parametrize("engine", ["nginx", "argo-rollouts"])
def test_a_canary_as_fast_as_stable_passes(prometheus: Prometheus, repo: ConfigRepo, engine: str) -> None:
    clock = started(repo, "same", prometheus.url, LATENCY + ERRORS, engine)
    code, out, err = repo.act("advance", now=clock(-2))
    assert code == 0, out + err
    assert repo.trailers()["Rollgen-Action"] == "step"
    body = git(repo.path, "log", "-1", "--format=%b")
    assert "latency-increase=" in body and "<= 0 (canary - 1.25 x stable)" in body, body
    assert "error-rate-increase=-5 <= 0 (canary - stable - 5)" in body, body  # no errors on either side


def test_a_canary_slower_than_stable_by_more_than_the_ratio_fails(prometheus: Prometheus, repo: ConfigRepo) -> None:
    clock = started(repo, "slower", prometheus.url, LATENCY)
    assert repo.act("advance", now=clock(-2))[0] == 0
    trailers = repo.trailers()
    assert trailers["Rollgen-Action"] == "abort"
    # 200 ms against 1.25 x 50 ms: 137.5 ms beyond what stable allows
    assert gate_value(trailers["Rollgen-Gate"], "latency-increase", "0") == pytest.approx(137.5, abs=3)


def test_more_errors_than_stable_plus_delta_fail(prometheus: Prometheus, repo: ConfigRepo) -> None:
    clock = started(repo, "erroring", prometheus.url, ERRORS)
    assert repo.act("advance", now=clock(-2))[0] == 0
    trailers = repo.trailers()
    assert trailers["Rollgen-Action"] == "abort"
    assert gate_value(trailers["Rollgen-Gate"], "error-rate-increase", "0") == pytest.approx(15, abs=1)  # 20 - 0 - 5


@pytest.mark.parametrize("namespace", ["thin", "lonely"])
def test_too_little_traffic_on_either_side_holds(prometheus: Prometheus, repo: ConfigRepo, namespace: str) -> None:
    clock = started(repo, namespace, prometheus.url, LATENCY)
    before = repo.count()
    code, out, err = repo.act("advance", now=clock(-2))
    assert (code, repo.count(), err) == (0, before, "")
    assert ("nothing to do yet: no data for metric latency-increase (fewer than 10 requests on the canary or on "
            "stable: cannot compare yet)") in out


def test_advance_all_judges_from_the_queries_it_sent_ahead(prometheus: Prometheus, repo: ConfigRepo) -> None:
    clock = started(repo, "slower", prometheus.url, LATENCY + ERRORS)
    code, out, err = repo.rollgen("advance", "--all", "--now", clock(-2))
    assert code == 0, out + err
    trailers = repo.trailers()
    assert trailers["Rollgen-Action"] == "abort"
    assert gate_value(trailers["Rollgen-Gate"], "latency-increase", "0") == pytest.approx(137.5, abs=3)


# -- Service-based routers: the canary's and stable's Services as Istio's proxies report them --------------------


ISTIO_SPEC_ROUTER = "  router: istio\n  istio: {gateways: [istio-system/public-gateway]}\n"


def istio_spec(image: str, url: str) -> str:
    text = spec("istio-slow", image, url, "deployments", LATENCY, failure_limit=0)
    return text.replace("  strategy:\n", ISTIO_SPEC_ROUTER + "  strategy:\n", 1)


@pytest.fixture(scope="module")
def istio_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    from tests.promstack import IstioBackend

    binary = require_tool("prometheus")
    exporter = Exporter()
    exporter.add(IstioBackend("istio-slow", "", "hello", "", rps=20, latency=0.05))  # stable: Service hello
    exporter.add(IstioBackend("istio-slow", "", "hello-canary", "", rps=10, latency=0.2))
    with scraping(binary, exporter, tmp_path_factory.mktemp("prometheus-istio")) as server:
        yield server


def test_istio_compares_the_canary_service_with_the_stable_one(istio_prometheus: Prometheus, repo: ConfigRepo) -> None:
    clock = Clock()
    start_canary(repo, istio_spec(V1, istio_prometheus.url), istio_spec(V2, istio_prometheus.url), clock, -5)
    # plain Deployments on an Envoy router start at 0% (the pods Ready first): the weight is the next commit
    assert repo.act("advance", now=clock(-4))[0] == 0
    assert (repo.trailers()["Rollgen-Action"], repo.trailers()["Rollgen-Weight"]) == ("step", "10")
    assert repo.act("advance", now=clock(-2))[0] == 0
    trailers = repo.trailers()
    assert trailers["Rollgen-Action"] == "abort"
    assert gate_value(trailers["Rollgen-Gate"], "latency-increase", "0") == pytest.approx(137.5, abs=3)
