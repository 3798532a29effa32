"""Gates: what must hold before `rollgen advance` moves traffic further.

This is the one place `advance` asks "may the canary go on?". Only `advance` consults gates: `promote` is a
person's decision and overrides them.

Metric gates. Every metric of the release's `analysis` is queried once, as an instant query at `now` over the
window since the step began (the state's `since`; after a failed check, since that check, so each check is a
fresh measurement), and held to its `max`/`min`:
- the built-ins are the router's PromQL (generator/render/routers), exactly as the Argo Rollouts AnalysisTemplate carries it, with
  the window as the range: the canary's requests as ingress-nginx counts them, under the *main* Ingress `N` with
  a non-empty `canary` label (nginx and argo-rollouts engines alike); a blue-green release's preview Ingress
  `N-preview`, all of whose requests reach the new version.
- a custom query goes to Prometheus as written, except for Flagger's placeholders, so one query serves a
  Flagger MetricTemplate and a git gate. Exactly the tokens `{{ namespace }}`, `{{ target }}`,
  `{{ ingress }}`, `{{ service }}` and `{{ interval }}` (also without the inner spaces) are replaced by plain
  string replacement; nothing else is interpreted, no template engine ever sees a user's query. They keep the
  meaning Flagger gives them: `namespace` the environment's, `service` the apex name `N` (so `{{ service }}-canary`
  is the canary Service), `ingress` the Ingress the built-ins measure, `target` the workload running the new
  version (nginx: `N-canary`, or the idle colour `N-blue`/`N-green`; Argo Rollouts: the Rollout `N`, whose
  canary pods a pod-name pattern cannot tell from the stable ones), `interval` the window, e.g. `5m`.

The verdict: every metric within bounds -> pass. Any metric beyond its bound -> fail. Otherwise a metric
without data (no series, or NaN from 0/0: no request reached the canary) -> no data, and the canary holds.
Prometheus unreachable, erroring, or refusing a query -> the gate cannot judge: the canary holds and `advance`
exits 1 with nothing committed, never aborting on our own failure.

Failures are counted where every runner of `advance` sees them, in the environment's state file (`failures`,
`lastFailure`), by a `check` commit that changes nothing else; the next check waits one `analysis.interval`.
The failure that makes the count exceed `failureLimit` commits the abort instead (the same meaning as Argo's
`failureLimit`, and Flagger's `threshold` = failureLimit + 1). The count is per step: the next step starts at 0.
Both commits name the failing metrics, values and thresholds in a `Rollgen-Gate: error-rate=7.3 > 1` trailer.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from generator.records import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from generator import durations
from generator.render.routers import Traffic as Traffic
from generator.render.routers import query as query
from generator.model import BlueGreenStrategy, Environment, EnvState, Metric, Release

if TYPE_CHECKING:
    from os import PathLike

    from generator.plan.prometheus import Client
    from generator.spec.config import PrometheusAccess


class GateOutcome(enum.Enum):
    """What a gate says; each leads `advance` a different way (progression.plan_advance)."""

    PASS = "pass"  # every metric within bounds: traffic moves on
    FAIL = "fail"  # a metric beyond its threshold: a counted failure (a `check` commit, or the abort)
    NO_DATA = "no-data"  # nothing to judge yet: hold without counting
    CANNOT_JUDGE = "cannot-judge"  # Prometheus down, a bad query: hold, exit 1, never abort on our own failure


@dataclass(frozen=True)
class GateResult:
    outcome: GateOutcome
    reason: str  # one line: why it passed or failed, shown to the user and written into the commit body
    failed: tuple[str, ...] = ()  # with FAIL: the metrics beyond their thresholds ("error-rate=7.3 > 1")


def traffic(release: Release, env: Environment, state: EnvState) -> Traffic:
    """What the gate measures (`query` sends it): the environment's namespace and the real object names."""
    from generator.render.engines import engine_for
    from generator.render.routers import router_for

    name, router, engine = release.name, router_for(release.router), engine_for(release.engine)
    blue_green = isinstance(release.strategy, BlueGreenStrategy)
    measured = router.measured(release, blue_green)
    target = engine.new_version(name, blue_green, state.active_colour)
    stable = engine.stable_service(name)
    return Traffic(env.namespace, measured.subject, measured.canary_only, target, name, router.name, stable)


# -- judging ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    metric: Metric
    value: float | None  # None: no data

    @property
    def within(self) -> bool:
        return self.value is not None and within(self.metric, self.value)

    def describe(self) -> str:
        if self.value is None:
            return f"{self.metric.key}: no data"
        value = number(self.value)
        if self.metric.max_increase is not None:  # the trailer's shape: name=value > bound
            return f"{self.metric.key}={value} {'<=' if self.value <= 0 else '>'} 0"
        if self.metric.max is not None and self.value > self.metric.max:
            return f"{self.metric.name}={value} > {number(self.metric.max)}"
        if self.metric.min is not None and self.value < self.metric.min:
            return f"{self.metric.name}={value} < {number(self.metric.min)}"
        bounds = [f">= {number(self.metric.min)}"] if self.metric.min is not None else []
        bounds += [f"<= {number(self.metric.max)}"] if self.metric.max is not None else []
        return f"{self.metric.name}={value} {' and '.join(bounds)}".rstrip()


    def explain(self) -> str:
        """describe(), and for maxIncrease what the value measures (the commit body, the hold message)."""
        if self.metric.max_increase is None or self.value is None:
            return self.describe()
        return f"{self.describe()} ({increase_terms(self.metric)})"


def _thin(metric: Metric) -> str:
    """Why a comparison with stable has no value: too little traffic on one side, which never passes."""
    if metric.max_increase is None:
        return ""
    return f" (fewer than {metric.max_increase.min_requests} requests on the canary or on stable: cannot compare yet)"


def within(metric: Metric, value: float) -> bool:
    """The metric's bounds, inclusive: the same test as Argo's successCondition and Flagger's thresholdRange.
    maxIncrease: the query measures the canary's excess over what stable allows, so at most 0."""
    if metric.max_increase is not None:
        return value <= 0
    if metric.max is not None and not value <= metric.max:
        return False
    return metric.min is None or value >= metric.min


def increase_terms(metric: Metric) -> str:
    """What a maxIncrease value measures, for messages: `canary - 1.25 x stable`, `canary - stable - 0.5`."""
    more = metric.max_increase
    assert more is not None
    if more.ratio is not None:
        return f"canary - {number(more.ratio)} x stable"
    return f"canary - stable - {number(more.delta or 0)}"


def number(value: float) -> str:
    """Short and exact enough for a message or a trailer: 7.3, 812, 0.0012."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    if abs(value) >= 100:
        return f"{value:.1f}"
    return f"{value:.3g}" if abs(value) < 0.01 else f"{value:.3f}".rstrip("0").rstrip(".")


def verdict(measurements: list[Measurement], since: str) -> GateResult:
    failed = tuple(m.describe() for m in measurements if m.value is not None and not m.within)
    summary = ", ".join(m.explain() for m in measurements)
    if failed:
        return GateResult(GateOutcome.FAIL, f"{summary} since {since}", failed=failed)
    missing = [m.metric.key + _thin(m.metric) for m in measurements if m.value is None]
    if missing:
        names = ", ".join(missing)
        return GateResult(GateOutcome.NO_DATA, f"no data for metric {names} since {since}")
    return GateResult(GateOutcome.PASS, f"{summary} since {since}")


# -- evaluating ---------------------------------------------------------------------------------------------


def window_start(state: EnvState) -> datetime:
    """Where the measurement begins: the step's start, or the last failed check. ValueError without a time."""
    from generator.clock import parse_time

    start = parse_time(state.since)
    return max(start, parse_time(state.last_failure)) if state.last_failure else start


Headers = tuple[tuple[str, str], ...]


class Querier(Protocol):
    def query(self, promql: str, at: datetime) -> float | None: ...


ClientFactory = Callable[[str, Headers], Querier]  # (URL, the analysis' headers)
Clients = Callable[[str, Headers], "Client"]  # real ones (prometheus.Client)


def _client(url: str, headers: Headers = ()) -> Client:
    from generator.plan.prometheus import Client

    return Client(url, headers=headers)


def clients(access: PrometheusAccess | None) -> Clients:
    """Clients that reach Prometheus as rollgen.yaml's `prometheus:` says (credentials read on the first query)."""

    def make(url: str, headers: Headers = ()) -> Client:
        from generator.plan.prometheus import Client

        return Client(url, access=access, headers=headers)

    return make


def repo_clients(folder: str | PathLike[str] | None) -> ClientFactory:
    """clients() of the rollgen.yaml of the config repo at `folder` (None: the working directory), read when the
    first gate asks: a tick whose releases have no analysis never reads it again."""
    found: list[Clients] = []

    def make(url: str, headers: Headers = ()) -> Client:
        if not found:
            from pathlib import Path

            from generator.spec import config

            root = config.config_root(Path(folder or ".").resolve())
            found.append(clients(config.load(root).prometheus if root is not None else None))
        return found[0](url, headers)

    return make


def evaluate(
    release: Release, env: Environment, state: EnvState, now: datetime, client: ClientFactory = _client
) -> GateResult:
    analysis = release.analysis_for(env)
    if analysis is None:
        return GateResult(GateOutcome.PASS, "no analysis configured")
    from generator.clock import format_time
    from generator.plan.prometheus import PrometheusError, QueryError

    try:
        start = window_start(state)
    except ValueError:
        why = f"the state has no valid 'since' to measure from ({state.since!r}); `rollgen promote` moves on"
        return GateResult(GateOutcome.CANNOT_JUDGE, why)
    seconds = int((now - start).total_seconds())
    if seconds < 1:
        return GateResult(GateOutcome.NO_DATA, f"no data for any metric since {format_time(start)} yet")
    window = durations.format_go(seconds)
    where = traffic(release, env, state)
    prometheus = client(analysis.prometheus, analysis.headers)
    measured = []
    for metric in analysis.metrics:
        try:
            value = prometheus.query(query(metric, where, window), now)
        except PrometheusError as exc:
            fix = "check analysis.prometheus and the server; the next `rollgen advance` asks again"
            return _cannot(metric, exc, fix)
        except QueryError as exc:
            return _cannot(metric, exc, "fix its query" if metric.query is not None else "check the Prometheus version")
        if value is not None and not judgeable(metric, value):
            why = f"it is {number(value)}, which says nothing about the canary against its bounds"
            return _cannot(metric, why, "fix its query" if metric.query is not None else "check the Prometheus version")
        measured.append(Measurement(metric, value))
    return verdict(measured, format_time(start))


def judgeable(metric: Metric, value: float) -> bool:
    """An infinity is a measurement only where it is beyond a bound (+Inf over a max: a latency quantile in the
    top bucket). -Inf under a max, or +Inf over a min, would pass a gate on a value that measured nothing."""
    if not math.isinf(value):
        return True
    upper = metric.max is not None or metric.max_increase is not None
    return (value > 0 and upper) or (value < 0 and metric.min is not None)


def _cannot(metric: Metric, error: Exception | str, fix: str) -> GateResult:
    why = f"cannot evaluate metric {metric.key}: {error}; nothing changes until it can ({fix})"
    return GateResult(GateOutcome.CANNOT_JUDGE, why)


# -- many gates at once (advance --all) ---------------------------------------------------------------------

# At most this many queries in flight at once (ROLLGEN_PROMETHEUS_CONCURRENCY overrides): enough to hide the
# round trips of a fleet's tick, few enough not to load a Prometheus that also serves dashboards and alerts.
CONCURRENCY = 8

Ask = tuple[str, Headers, str, datetime]  # (URL, headers, PromQL, at): one instant query


class Recorder:
    """A client factory whose clients answer nothing and note what they were asked: planning with it (pure)
    tells which queries the real planning will send."""

    def __init__(self) -> None:
        self.asks: list[Ask] = []

    def __call__(self, url: str, headers: Headers = ()) -> Recorder:
        self._where = (url, headers)
        return self

    def query(self, promql: str, at: datetime) -> float | None:
        self.asks.append((*self._where, promql, at))
        return None


class Answers:
    """A client factory answering from queries sent ahead, concurrently and at most `limit` at a time; a query
    not asked ahead goes to Prometheus as ever. An error is kept as the answer, so the gate that needs it reports
    it as if it had asked itself."""

    def __init__(self, factory: Clients) -> None:
        self.factory = factory
        self.known: dict[Ask, float | None | Exception] = {}

    def __call__(self, url: str, headers: Headers = ()) -> _Answering:
        return _Answering(self, url, headers)

    def prefetch(self, asks: list[Ask], limit: int | None = None) -> None:
        from concurrent.futures import ThreadPoolExecutor

        todo = sorted(set(asks) - set(self.known), key=lambda ask: (ask[0], ask[1], ask[2], ask[3].timestamp()))
        if not todo:
            return
        servers = {(url, headers): self.factory(url, headers) for url, headers, _, _ in todo}
        failed: dict[tuple[str, Headers], Exception] = {}
        for where, client in servers.items():
            try:
                client.credentials()  # once, before the threads: the files are read and redactions set up
            except Exception as exc:  # noqa: BLE001 - a PrometheusError, kept for every query of that server
                failed[where] = exc

        def ask(one: Ask) -> float | None | Exception:
            url, headers, promql, at = one
            if (url, headers) in failed:
                return failed[(url, headers)]
            try:
                return servers[(url, headers)].query(promql, at)
            except Exception as exc:  # noqa: BLE001 - handed to the gate that asks, as its own query would raise
                return exc

        with ThreadPoolExecutor(max_workers=max(1, min(limit or concurrency(), len(todo)))) as pool:
            self.known.update(zip(todo, pool.map(ask, todo)))


class _Answering:
    def __init__(self, answers: Answers, url: str, headers: Headers) -> None:
        self.answers, self.url, self.headers = answers, url, headers

    def query(self, promql: str, at: datetime) -> float | None:
        key = (self.url, self.headers, promql, at)
        if key not in self.answers.known:
            return self.answers.factory(self.url, self.headers).query(promql, at)
        known = self.answers.known[key]
        if isinstance(known, Exception):
            raise known
        return known


def concurrency() -> int:
    import os

    try:
        value = int(os.environ.get("ROLLGEN_PROMETHEUS_CONCURRENCY", ""))
    except ValueError:
        return CONCURRENCY
    return value if 1 <= value <= 256 else CONCURRENCY
