"""Metric gates against a real Prometheus (the Debian package) scraping an ingress-nginx look-alike, driven
through rollgen's real CLI on real git config repos: a healthy canary advances to promotion, an erroring or
slow one aborts with the metric in its trailers, a silent one holds, and a Prometheus that cannot answer holds
the canary with exit 1 and nothing committed.

Every scenario has its own namespace in one Prometheus. Times are passed with `--now`, as offsets from the real
clock, so no test sleeps: the fixture waits once until Prometheus holds a few seconds of samples, and every
gate window (from the step's `since` to `--now`) lies inside them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from generator.plan.prometheus import Client, QueryError
from tests import factories
from tests.conftest import REFUSED_PORT, git, require_tool
from tests.promstack import Exporter, Prometheus, scraping
from tests.factories import ConfigRepo

V1 = "ghcr.io/kmaster8/hello:v1"
V2 = "ghcr.io/kmaster8/hello:v2"
BUILTINS = "      - {name: error-rate, max: 1}\n      - {name: latency, max: 500}\n"
# Flagger's placeholders, filled in by the gate: the canary's requests per second at its Service.
CANARY_RPS = (
    "      - name: canary-rps\n"
    "        query: 'sum(rate(nginx_ingress_controller_requests{namespace=\"{{ namespace }}\",ingress=\"{{ ingress }}\","
    "service=\"{{ service }}-canary\"}[{{ interval }}]))'\n"
    "        min: 1\n"
)
SCENARIOS = {  # namespace -> the canary backend's behaviour (None: no canary traffic at all)
    "healthy": {"rps": 10, "error_ratio": 0.0, "latency": 0.06},
    "erroring": {"rps": 10, "error_ratio": 0.5, "latency": 0.06},
    "slow": {"rps": 10, "error_ratio": 0.0, "latency": 0.9},
    "silent": None,
}


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    binary = require_tool("prometheus")
    exporter = Exporter()
    for namespace, canary in SCENARIOS.items():
        exporter.release(namespace, "hello", canary)
    with scraping(binary, exporter, tmp_path_factory.mktemp("prometheus")) as server:
        yield server


# slow: a real Prometheus scraping a stub exporter
pytestmark = [pytest.mark.usefixtures("loopback_without_proxy"), pytest.mark.slow]


def spec(
    namespace: str,
    image: str,
    prometheus: str,
    engine: str = "nginx",
    metrics: str = BUILTINS,
    failure_limit: int = 1,
    interval: str = "2s",
) -> str:
    strategy = "    canary:\n      steps:\n        - {weight: 10, pause: 1s}\n        - {weight: 50, pause: 1s}\n"
    analysis = (f"  analysis:\n    prometheus: {prometheus}\n    interval: {interval}\n"
                f"    failureLimit: {failure_limit}\n    metrics:\n{metrics}")
    return factories.spec_text(image, engine, strategy, replicas=2, namespace=namespace, settle="1s", extra=analysis)


class Clock:
    """`--now` values as offsets in whole seconds from the moment the test began."""

    def __init__(self) -> None:
        self.zero = datetime.now(timezone.utc).replace(microsecond=0)

    def __call__(self, seconds: int) -> str:
        return (self.zero + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def start_canary(repo: ConfigRepo, text_v1: str, text_v2: str, clock: Clock, at: int) -> None:
    repo.write_spec(text_v1)
    assert repo.release(now=clock(at - 10))[0] == 0
    repo.write_spec(text_v2, "v2")
    assert repo.release(now=clock(at))[0] == 0
    assert repo.trailers()["Rollgen-Action"] == "start"


@pytest.mark.parametrize("engine", ["nginx", "argo-rollouts"])
def test_healthy_canary_advances_to_promotion(prometheus: Prometheus, repo: ConfigRepo, engine: str) -> None:
    clock = Clock()
    metrics = BUILTINS + CANARY_RPS
    start_canary(repo, spec("healthy", V1, prometheus.url, engine, metrics),
                 spec("healthy", V2, prometheus.url, engine, metrics), clock, -4)

    code, out, err = repo.act("advance", now=clock(-2))
    assert code == 0, err
    assert repo.trailers()["Rollgen-Action"] == "step", out
    assert repo.state()["weight"] == 50
    body = git(repo.path, "log", "-1", "--format=%b")
    found = re.search(rf"Gates: error-rate=0 <= 1, latency=(\S+) <= 500, canary-rps=(\S+) >= 1 since {clock(-4)}\.", body)
    assert found, body
    assert float(found[1]) == pytest.approx(60, abs=1)  # the canary's 60ms, in ms
    assert float(found[2]) == pytest.approx(10, abs=0.5)  # its 10 requests a second, at its Service
    assert "Rollgen-Gate" not in repo.trailers()

    assert repo.act("advance", now=clock(0))[0] == 0
    assert repo.trailers()["Rollgen-Action"] == "promote"
    if engine == "nginx":  # the second promotion commit, after the settle delay, needs no gate
        assert repo.act("advance", now=clock(1))[0] == 0
    assert repo.state()["phase"] == "stable" and repo.state()["stableImage"] == V2
    assert git(repo.path, "status", "--porcelain") == ""


def test_erroring_canary_is_counted_then_aborted(prometheus: Prometheus, repo: ConfigRepo) -> None:
    clock = Clock()
    start_canary(repo, spec("erroring", V1, prometheus.url), spec("erroring", V2, prometheus.url), clock, -5)

    # failure 1 of the 1 tolerated: counted in the state, in a commit of its own; the canary keeps its 10%
    code, out, _ = repo.act("advance", now=clock(-3))
    assert code == 0
    trailers = repo.trailers()
    assert (trailers["Rollgen-Action"], trailers["Rollgen-Step"], trailers["Rollgen-Weight"]) == ("check", "1/2", "10")
    assert gate_value(trailers["Rollgen-Gate"], "error-rate", "1") == pytest.approx(50, abs=1)
    assert repo.files_of() == ["apps/hello/overlays/prod/rollgen-state.yaml"]
    state = repo.state()
    assert (state["phase"], state["weight"], state["failures"], state["lastFailure"]) == (
        "progressing", 10, 1, clock(-3))

    # the next check waits one analysis interval (2s) after the failed one
    before = repo.count()
    code, out, _ = repo.act("advance", now=clock(-2))
    assert (code, repo.count()) == (0, before)
    assert f"the next one waits until {clock(-1)}" in out

    # failure 2 > failureLimit 1: abort, and the commit says which metric, its value and its threshold
    assert repo.act("advance", now=clock(-1))[0] == 0
    trailers = repo.trailers()
    assert trailers["Rollgen-Action"] == "abort" and trailers["Rollgen-Weight"] == "0"
    assert gate_value(trailers["Rollgen-Gate"], "error-rate", "1") == pytest.approx(50, abs=1)
    subject = git(repo.path, "log", "-1", "--format=%s")
    assert subject.startswith(f"hello/prod: abort canary of {V2}") and "error-rate=" in subject
    assert repo.state()["phase"] == "aborted" and "failures" not in repo.state()


def test_slow_canary_aborts_at_once_without_tolerance(prometheus: Prometheus, repo: ConfigRepo) -> None:
    clock = Clock()
    start_canary(repo, spec("slow", V1, prometheus.url, "argo-rollouts", failure_limit=0),
                 spec("slow", V2, prometheus.url, "argo-rollouts", failure_limit=0), clock, -3)
    assert repo.act("advance", now=clock(-1))[0] == 0
    trailers = repo.trailers()
    assert trailers["Rollgen-Action"] == "abort"
    assert gate_value(trailers["Rollgen-Gate"], "latency", "500") == pytest.approx(900, abs=5)
    assert "error-rate" not in trailers["Rollgen-Gate"]  # only the metrics beyond their thresholds


def test_silent_canary_holds_and_says_so(prometheus: Prometheus, repo: ConfigRepo) -> None:
    clock = Clock()
    start_canary(repo, spec("silent", V1, prometheus.url), spec("silent", V2, prometheus.url), clock, -3)
    before = repo.count()
    code, out, err = repo.act("advance", now=clock(0))
    assert (code, repo.count(), err) == (0, before, "")
    assert f"nothing to do yet: no data for metric error-rate, latency since {clock(-3)}" in out
    assert git(repo.path, "status", "--porcelain") == ""


def test_unreachable_prometheus_holds_with_exit_1_and_commits_nothing(repo: ConfigRepo) -> None:
    clock = Clock()
    down = f"http://127.0.0.1:{REFUSED_PORT}"
    start_canary(repo, spec("healthy", V1, down), spec("healthy", V2, down), clock, -3)
    before, state = repo.count(), repo.state()
    code, out, err = repo.act("advance", now=clock(0))
    assert (code, repo.count(), repo.state()) == (1, before, state)
    assert f"Prometheus at {down} did not answer (3 attempts)" in err
    assert "holds" in err and out == ""
    assert git(repo.path, "status", "--porcelain") == ""


def test_query_prometheus_refuses_holds_with_exit_1(prometheus: Prometheus, repo: ConfigRepo) -> None:
    clock = Clock()
    broken = "      - {name: broken, query: 'sum(rate(nginx_ingress_controller_requests[{{ interval }}]', max: 1}\n"
    start_canary(repo, spec("healthy", V1, prometheus.url, metrics=broken),
                 spec("healthy", V2, prometheus.url, metrics=broken), clock, -3)
    before = repo.count()
    code, _, err = repo.act("advance", now=clock(0))
    assert (code, repo.count()) == (1, before)
    assert f"cannot evaluate metric broken: Prometheus at {prometheus.url} refused the query" in err


def gate_value(trailer: str, metric: str, threshold: str) -> float:
    match = re.fullmatch(rf"{re.escape(metric)}=([0-9.]+) [<>] {re.escape(threshold)}", trailer)
    assert match, trailer
    return float(match[1])


def test_client_against_the_real_server(prometheus: Prometheus) -> None:
    now = datetime.now(timezone.utc)
    with_credentials = prometheus.url.replace("http://", "http://reader:pw-xyz@")  # sent as basic auth, ignored
    client = Client(with_credentials, timeout=0.5)  # a fractional timeout, as Prometheus' own parameter
    assert client.query("scalar(vector(2.5))", now) == 2.5
    assert client.query('sum(nginx_ingress_controller_requests{namespace="nowhere"})', now) is None
    assert client.query("0/0", now) is None
    assert client.query('sum(rate(nginx_ingress_controller_requests{namespace="silent"}[2s]))', now) == (
        pytest.approx(20, abs=1))
    with pytest.raises(QueryError, match="gives 2 series"):
        client.query('nginx_ingress_controller_requests{namespace="erroring",canary!=""}', now)
    with pytest.raises(QueryError, match="refused the query: bad_data") as caught:
        client.query("sum(", now)
    assert "pw-xyz" not in str(caught.value)
