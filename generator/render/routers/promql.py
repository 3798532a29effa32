"""PromQL pieces every router's built-in queries share: string literals, rates, the maxIncrease comparison, the
rate window, and Flagger's placeholders in a custom query. Each router's own metrics live in its module.

Arguments are inserted as PromQL string literals, escaped, so placeholders such as Argo's `{{args.namespace}}` or
Flagger's `{{ namespace }}` pass through intact for the engine to fill in; `window` is a PromQL range such as
`1m` (or a placeholder) and must cover at least two scrapes for `rate` to see anything.
"""

from __future__ import annotations

from collections.abc import Mapping

# The shortest `rate()` range an analysis writes: it must hold two scrapes, and with the common 30 s scrape
# interval anything under a minute often holds one, so `rate` returns nothing. Argo Rollouts then counts the
# measurement Inconclusive and pauses the Rollout at every step; Flagger counts it as a failed check.
MIN_RATE_WINDOW = 60


def rate_window(interval: int) -> int:
    """The range in seconds of the `rate()` an engine's analysis evaluates every `interval` seconds."""
    return max(interval, MIN_RATE_WINDOW)


def rate(metric: str, selector: str, window: str) -> str:
    return f"sum(rate({metric}{selector}[{window}]))"


def increase(metric: str, selector: str, window: str) -> str:
    """How many requests over the window (maxIncrease's evidence: compare)."""
    return f"sum(increase({metric}{selector}[{window}]))"


def series_selector(matchers: list[tuple[str, str, str]]) -> str:
    """`{label op "value",...}`, every value a string literal."""
    return "{" + ",".join(f"{label}{op}{string(value)}" for label, op, value in matchers) + "}"


def string(value: str) -> str:
    """A PromQL double-quoted string literal: a quote or backslash in a value cannot end it early."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def literal(value: float) -> str:
    """A PromQL number literal: 1.25, 0.5, 2."""
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


def compare(
    canary: str, stable: str, canary_requests: str, stable_requests: str, *, ratio: float | None,
    delta: float | None, min_requests: int,
) -> str:
    """maxIncrease, for any router: how far the canary is beyond what stable allows, the same built-in query over
    the same window for both tracks. `ratio`: canary - ratio x stable; `delta`: canary - stable - delta. A value
    <= 0 passes, on every engine.

    Either track with fewer than `min_requests` requests in the window makes the result empty (`and on()`), which
    every engine reads as no data: the git gate and Argo Rollouts hold (Inconclusive), Flagger counts a failed
    check. Never a pass on too little evidence. With ratio, a stable track at 0 (no errors) allows only 0."""
    excess = f"({canary}) - {literal(ratio)} * ({stable})" if ratio is not None else f"({canary}) - ({stable}) - {literal(delta or 0)}"
    return f"({excess}) and on() ({canary_requests} >= {min_requests}) and on() ({stable_requests} >= {min_requests})"


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Replace `{{ key }}` and `{{key}}` for exactly the given keys; everything else stays as written."""
    for key, value in values.items():
        text = text.replace("{{ " + key + " }}", value).replace("{{" + key + "}}", value)
    return text
