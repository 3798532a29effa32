"""PromQL for the built-in metrics, as ingress-nginx reports them. Shared by every engine and by git-progression gates.

Where ingress-nginx puts canary traffic (checked in its source, rootfs/etc/nginx/lua/monitor.lua and
internal/ingress/metric/collectors/socket.go): a canary Ingress gets no nginx location of its own; it is merged
into the main Ingress's location as an alternative backend. Every request at that host and path is therefore
counted under the *main* Ingress name (`ingress="hello"`), and the ones the balancer sent to the canary carry
the canary upstream in the `canary` label (`canary="test-hello-canary-5000"`; empty for the others). There is no
series with `ingress="<canary ingress name>"` (ingress-nginx issue 4026). So "the canary's error rate" is
`ingress="<main Ingress>", canary!=""`, whatever the canary Ingress is called (`N-canary`, Argo's `N-N-canary`,
Flagger's `N-canary`).

Arguments are inserted as PromQL string literals, escaped, so placeholders such as Argo's `{{args.namespace}}` or
Flagger's `{{ namespace }}` pass through intact for the engine to fill in; `window` is a PromQL range such as
`1m` (or a placeholder) and must cover at least two scrapes for `rate` to see anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

REQUESTS = "nginx_ingress_controller_requests"
# The shortest `rate()` range an analysis writes: it must hold two scrapes, and with the common 30 s scrape
# interval anything under a minute often holds one, so `rate` returns nothing. Argo Rollouts then counts the
# measurement Inconclusive and pauses the Rollout at every step; Flagger counts it as a failed check.
MIN_RATE_WINDOW = 60
DURATION = "nginx_ingress_controller_request_duration_seconds"

QueryBuilder = Callable[..., str]


def error_rate_query(
    namespace: str, ingress: str, window: str, *, canary_only: bool = True, stable_only: bool = False
) -> str:
    """Percent (0-100) of answers with a 5xx status.

    canary_only: count only requests routed to the canary backend of `ingress` (the main Ingress); False counts
    every request of `ingress`, e.g. a blue-green preview Ingress, whose requests all reach the new version.

    ingress-nginx, like every Prometheus client, creates a `status` series with the first request that has that
    status: a canary that never failed has no 5xx series, and `sum` over no series is no value, not 0. So the
    errors are `or vector(0)`: a healthy canary measures 0, while no traffic at all still gives no data (an
    empty denominator, or 0/0 = NaN), which the gates and Argo's conditions treat as inconclusive.
    """
    errors = _rate(REQUESTS, _selector(namespace, ingress, canary_only, ("=~", "5.."), stable_only), window)
    total = _rate(REQUESTS, _selector(namespace, ingress, canary_only, None, stable_only), window)
    return f"100 * ({errors} or vector(0)) / {total}"


def latency_query(
    namespace: str, ingress: str, window: str, *, canary_only: bool = True, stable_only: bool = False
) -> str:
    """Average request duration in milliseconds, as measured by ingress-nginx (upstream time included)."""
    selector = _selector(namespace, ingress, canary_only, None, stable_only)
    seconds = _rate(f"{DURATION}_sum", selector, window)
    count = _rate(f"{DURATION}_count", selector, window)
    return f"1000 * {seconds} / {count}"


def rate_window(interval: int) -> int:
    """The range in seconds of the `rate()` an engine's analysis evaluates every `interval` seconds."""
    return max(interval, MIN_RATE_WINDOW)


BUILTIN_QUERIES: dict[str, QueryBuilder] = {
    "error-rate": error_rate_query,
    "latency": latency_query,
}


def builtin_query(metric: str, namespace: str, ingress: str, window: str, *, canary_only: bool = True) -> str:
    """The query of a built-in metric by its spec name (model.BUILTIN_METRICS); KeyError for any other name."""
    return BUILTIN_QUERIES[metric](namespace, ingress, window, canary_only=canary_only)


def _rate(metric: str, selector: str, window: str) -> str:
    return f"sum(rate({metric}{selector}[{window}]))"


def increase_query(
    metric: str, namespace: str, ingress: str, window: str, *, ratio: float | None, delta: float | None,
    min_requests: int,
) -> str:
    """maxIncrease: how far the canary is beyond what stable allows, the same built-in query over the same window
    for both tracks of the Ingress (canary!="" and canary=""). `ratio`: canary - ratio x stable; `delta`:
    canary - stable - delta. A value <= 0 passes, on every engine.

    Either track with fewer than `min_requests` requests in the window makes the result empty (`and on()`), which
    every engine reads as no data: the git gate and Argo Rollouts hold (Inconclusive), Flagger counts a failed
    check. Never a pass on too little evidence. With ratio, a stable track at 0 (no errors) allows only 0."""
    builder = BUILTIN_QUERIES[metric]
    canary = builder(namespace, ingress, window, canary_only=True)
    stable = builder(namespace, ingress, window, canary_only=False, stable_only=True)
    counts = [
        f"sum(increase({REQUESTS}{_selector(namespace, ingress, canary_only, None, not canary_only)}[{window}]))"
        for canary_only in (True, False)
    ]
    return compare(canary, stable, counts[0], counts[1], ratio=ratio, delta=delta, min_requests=min_requests)


def compare(
    canary: str, stable: str, canary_requests: str, stable_requests: str, *, ratio: float | None,
    delta: float | None, min_requests: int,
) -> str:
    """increase_query's shape for any router: the canary's excess over what stable allows, where both tracks'
    request counts over the window reach `min_requests`."""
    excess = f"({canary}) - {_literal(ratio)} * ({stable})" if ratio is not None else f"({canary}) - ({stable}) - {_literal(delta or 0)}"
    return f"({excess}) and on() ({canary_requests} >= {min_requests}) and on() ({stable_requests} >= {min_requests})"


def _literal(value: float) -> str:
    """A PromQL number literal: 1.25, 0.5, 2."""
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


def _selector(
    namespace: str, ingress: str, canary_only: bool, status: tuple[str, str] | None = None, stable_only: bool = False
) -> str:
    matchers = [("namespace", "=", namespace), ("ingress", "=", ingress)]
    if canary_only:
        matchers.append(("canary", "!=", ""))
    elif stable_only:  # the requests the balancer kept on the main backend: stable's
        matchers.append(("canary", "=", ""))
    if status is not None:
        matchers.append(("status", *status))
    return "{" + ",".join(f"{label}{op}{_string(value)}" for label, op, value in matchers) + "}"


def _string(value: str) -> str:
    """A PromQL double-quoted string literal: a quote or backslash in a value cannot end it early."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Replace `{{ key }}` and `{{key}}` for exactly the given keys; everything else stays as written."""
    for key, value in values.items():
        text = text.replace("{{ " + key + " }}", value).replace("{{" + key + "}}", value)
    return text
