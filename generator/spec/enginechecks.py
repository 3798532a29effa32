"""What an engine cannot do, refused in the spec: the meaning checks that depend on the engine, read from
generator/facts.py (its progressions, strategies and traits), never from a renderer. Run by spec/checks.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple

from generator import durations
from generator.facts import BUILTIN_METRICS, PROGRESSIONS, STRATEGIES, engine_label, has
from generator.facts import flagger_interval as flagger_clock
from generator.spec.findings import INGRESS_PLACEHOLDERS, Data, Finding, JsonPath, chosen_progression, strategy_kind

if TYPE_CHECKING:
    from generator.spec.profiles import Profile


def check_progression(data: Data) -> Iterator[Finding]:
    spec = data["spec"]
    engine, chosen = spec["engine"], chosen_progression(data)
    if chosen not in PROGRESSIONS[engine]:
        yield Finding(("spec", "progression"), PROGRESSION_REFUSED[chosen])


# Why a progression is refused: only one engine lacks each (facts.PROGRESSIONS).
PROGRESSION_REFUSED = {
    "controller": "the nginx engine has no controller to step the canary: use progression: git (or remove the field)",
    "git": "Flagger steps the canary by itself: use progression: controller (or remove the field), "
    "or engine: argo-rollouts to step from git",
}


def check_strategy_engine(data: Data) -> Iterator[Finding]:
    engine, kind = data["spec"]["engine"], strategy_kind(data)
    strategy = data["spec"]["strategy"][kind]
    if kind not in STRATEGIES[engine]:
        yield Finding(
            ("spec", "strategy", "abTest"),
            f"A/B tests need engine: flagger; with {engine_label(engine)}, use strategy.canary with header or cookie "
            "(matching requests reach the canary at every step)",
            at_key=True,
        )
    if kind == "canary" and has(engine, "match-or-weight"):
        yield from flagger_canary_routing(strategy)
    if kind == "blueGreen" and has(engine, "switches-itself") and "autoPromotion" not in strategy:
        yield Finding(
            ("spec", "strategy", "blueGreen"),
            "Flagger switches by itself once its analysis iterations pass and cannot wait for a person: "
            "set autoPromotion (e.g. 10m), or use engine argo-rollouts or nginx for a manual switch",
            at_key=True,
        )


def flagger_canary_routing(canary: Data) -> Iterator[Finding]:
    for key in ("header", "cookie"):
        if key in canary:
            yield Finding(
                ("spec", "strategy", "canary", key),
                f"Flagger cannot combine {key} routing with weight steps: use strategy.abTest "
                f"(iterations plus {key}) to route by {key}, or remove {key} to shift traffic by weight",
                at_key=True,
            )
    if "sticky" in canary:
        yield Finding(
            ("spec", "strategy", "canary", "sticky"),
            "Flagger with ingress-nginx has no sticky canary sessions: remove sticky, "
            "or use engine argo-rollouts or nginx",
            at_key=True,
        )


def check_cookie_header(data: Data) -> Iterator[Finding]:
    """A header named Cookie (any case) never routes as meant; Flagger even turns `cookie` into a cookie match."""
    kind = strategy_kind(data)
    header = data["spec"]["strategy"][kind].get("header")
    if header is None or header.lower() != "cookie":
        return
    if has(data["spec"]["engine"], "cookie-header-as-cookie") and header == "cookie":
        why = (
            "Flagger's nginx router reads a match on the header 'cookie' as the cookie condition "
            "(canary-by-cookie: <header value>), so requests would be routed by a cookie named after the header "
            "value, not by this header"
        )
    else:
        why = "the Cookie header carries every cookie of a request, so it would have to equal the value exactly"
    yield Finding(
        ("spec", "strategy", kind, "header"),
        f"{why}: to route by a cookie use cookie: <cookie name>, or route by another header",
    )


NGINX_AUTOSCALING = (
    "the nginx engine writes every Deployment's replicas from git (the canary's follow its traffic weight, an idle "
    "colour is scaled to 0), and an HPA would fight those replicas"
)


NGINX_AUTOSCALING_FIX = "remove autoscaling and set replicas, or use engine argo-rollouts or flagger"


def check_nginx_autoscaling(data: Data) -> Iterator[Finding]:
    """The nginx engine renders no HPA (it would fight the replicas git writes): autoscaling is refused."""
    if has(data["spec"]["engine"], "git-replicas") and "autoscaling" in data["spec"]:
        yield Finding(("spec", "autoscaling"), f"{NGINX_AUTOSCALING}: {NGINX_AUTOSCALING_FIX}", at_key=True)


def nginx_environment_autoscaling(entry: Data, at: JsonPath, profile: Profile | None) -> Iterator[Finding]:
    if "autoscaling" in entry:
        yield Finding((*at, "autoscaling"), f"{NGINX_AUTOSCALING}: {NGINX_AUTOSCALING_FIX}", at_key=True)
    elif profile is not None and profile.autoscaling is not None:
        yield Finding(
            (*at, "profile"),
            f"profile {profile.name!r} brings autoscaling, but {NGINX_AUTOSCALING}: use a profile without "
            "autoscaling, or engine argo-rollouts or flagger",
        )


def explicit_interval(data: Data) -> int | None:
    analysis = data["spec"].get("analysis")
    if analysis is None or "interval" not in analysis:
        return None
    return durations.parse(analysis["interval"])


def release_flagger_interval(data: Data) -> int | None:
    """The interval every Flagger environment runs at when the release has analysis (facts.flagger_interval
    over the release's steps, as spec.build_release chooses it); None lets each environment's pause decide."""
    if "analysis" not in data["spec"]:
        return None
    steps = data["spec"]["strategy"]["canary"]["steps"]
    return flagger_clock(explicit_interval(data), (durations.parse(s["pause"]) for s in steps if "pause" in s))


def flagger_steps(steps: Sequence[Data], at: JsonPath, interval: int | None) -> Iterator[Finding]:
    """Flagger moves one step per analysis interval: every step needs the same, finite pause."""
    first: str | None = None
    for index, step in enumerate(steps):
        pause = step.get("pause")
        if pause is None:
            yield Finding(
                (*at, index),
                "Flagger cannot wait for a person between steps: give this step a pause equal to the others "
                "(use engine argo-rollouts or nginx for manual gates)",
            )
        elif durations.parse(pause) == 0:
            yield Finding(
                (*at, index, "pause"), "Flagger needs a pause of at least 1s (it becomes the analysis interval)"
            )
        elif first is None:
            first = pause
            yield from interval_agrees(pause, (*at, index, "pause"), interval)
        elif durations.parse(pause) != durations.parse(first):
            yield Finding(
                (*at, index, "pause"),
                f"Flagger holds every step for one analysis interval: all pauses must be equal "
                f"(the first is {first}, this one {pause})",
            )


def interval_agrees(pause: str, at: JsonPath, interval: int | None) -> Iterator[Finding]:
    if interval is not None and durations.parse(pause) != interval:
        yield Finding(
            at,
            f"Flagger advances one step per analysis interval, {durations.format_go(interval)} for this release: "
            "make every pause equal to it, or change analysis.interval",
        )


def flagger_environment_steps(data: Data, entry: Data, at: JsonPath, profile: Profile | None) -> Iterator[Finding]:
    """Steps an environment brings (its own, or its profile's) follow Flagger's one-interval-per-step rule."""
    interval = release_flagger_interval(data)
    if "steps" in entry:
        yield from flagger_steps(entry["steps"], (*at, "steps"), interval)
    elif profile is not None and profile.steps:
        pauses = {step.pause for step in profile.steps}
        agreed = interval is None or pauses == {interval}
        if None in pauses or 0 in pauses or len(pauses) > 1 or not agreed:
            shown = ", ".join("none" if p is None else durations.format_go(p) for p in sorted(pauses, key=str))
            wanted = f" of {durations.format_go(interval)}, the analysis interval" if interval else ""
            yield Finding(
                (*at, "profile"),
                f"profile {profile.name!r} brings steps paused {shown}, but Flagger needs every step paused for "
                f"exactly one analysis interval: set steps on this environment with equal pauses{wanted}",
            )


def check_load_test_engine(data: Data) -> Iterator[Finding]:
    engine = data["spec"]["engine"]
    if not has(engine, "load-test") and "loadTest" in data["spec"].get("analysis", {}):
        yield Finding(
            ("spec", "analysis", "loadTest"),
            f"loadTest is Flagger's rollout webhook; with {engine_label(engine)} a check without data holds the canary (the git "
            "gate) or ends Inconclusive (Argo Rollouts) instead of failing it: remove loadTest",
            at_key=True,
        )


def starving_analysis(data: Data) -> Iterator[Finding]:
    """A warning: a Flagger A/B test reaches the canary only with its header or cookie. Flagger counts a
    built-in metric with no data ("no values found") as a failed check, so quiet intervals roll back a healthy
    release once failed checks reach `threshold`."""
    spec = data["spec"]
    analysis = spec.get("analysis", {})
    if not has(spec["engine"], "load-test") or strategy_kind(data) != "abTest" or "loadTest" in analysis:
        return
    for index, name in builtin_metrics(data)[:1]:
        yield Finding(
            ("spec", "analysis", "metrics", index, "name"),
            f"warning: the built-in {name!r} sees only requests that carry the A/B header or cookie, and Flagger "
            "counts an interval without any as a failed check: with too few such clients it rolls back a healthy "
            "release. Add analysis.loadTest (flagger-loadtester sends them), or make sure real clients do",
        )


def builtin_metrics(data: Data) -> list[tuple[int, str]]:
    """(index, name) of every built-in metric of the release's analysis."""
    metrics = data["spec"].get("analysis", {}).get("metrics", [])
    return [(index, m["name"]) for index, m in enumerate(metrics) if m["name"] in BUILTIN_METRICS]


def check_flagger_blue_green_metrics(data: Data) -> Iterator[Finding]:
    if has(data["spec"]["engine"], "preview-traffic") or strategy_kind(data) != "blueGreen":
        return
    for index, name in builtin_metrics(data):
        yield Finding(
            ("spec", "analysis", "metrics", index, "name"),
            f"the built-in {name!r} measures the requests ingress-nginx routes to the canary, and during a Flagger "
            "blue-green analysis the canary gets none: Flagger counts the missing data as failed checks and always "
            "rolls back. Measure with a custom metric (a query on the new pods' own metrics), or use engine "
            "argo-rollouts with a previewHost",
        )


# Declared by a call, the field types as objects (see generator.errors.Problem).
class PreviewReader(NamedTuple("PreviewReader", [("who", str), ("without", str)])):
    """Who measures a blue-green preview with the release's metrics, and what happens when it sees nothing."""

    __slots__ = ()


PREVIEW_READERS = {
    "argo-rollouts": PreviewReader(
        "of the prePromotionAnalysis",
        "the analysis sees no requests and cannot judge the new version (it ends Inconclusive)",
    ),
    "deployments": PreviewReader(
        "of the `rollgen advance` gate",
        "the gate sees no requests and holds the preview for ever (no data)",
    ),
}


def preview_metrics(data: Data) -> list[tuple[str, bool]]:
    """(description, built in) of each metric that measures a blue-green preview Ingress: the built-ins, and
    custom queries reading Flagger's `{{ ingress }}` placeholder (generator.plan.gates)."""
    out = []
    for metric in data["spec"].get("analysis", {}).get("metrics", []):
        if metric["name"] in BUILTIN_METRICS:
            out.append((f"the built-in {metric['name']!r}", True))
        elif any(token in metric.get("query", "") for token in INGRESS_PLACEHOLDERS):
            out.append((f"the metric {metric['name']!r} (its query reads {{{{ ingress }}}})", False))
    return out


def check_preview_metrics(data: Data) -> Iterator[Finding]:
    """Blue-green on Argo Rollouts (its prePromotionAnalysis) or nginx (the git gate): the metrics measure the
    preview Ingress, which exists only where a preview host does. One problem for the release when no
    environment has a preview host, else one for each environment without one."""
    spec = data["spec"]
    strategy = spec["strategy"].get("blueGreen")
    reader = PREVIEW_READERS.get(spec["engine"])
    measured = preview_metrics(data)
    if reader is None or strategy is None or "previewHost" in strategy or not measured:
        return
    metric, builtin = measured[0]
    entries = spec.get("environments", [])
    missing = [index for index, entry in enumerate(entries) if "previewHost" not in entry]
    if not entries or len(missing) == len(entries):
        yield release_without_preview(metric, builtin, reader)
    else:
        for index in missing:
            yield environment_without_preview(metric, builtin, reader, entries[index]["name"], index)


def preview_alternative(builtin: bool) -> str:
    return "measure with a custom query" if builtin else "remove {{ ingress }} from its query"


def release_without_preview(metric: str, builtin: bool, reader: PreviewReader) -> Finding:
    return Finding(
        ("spec", "strategy", "blueGreen", "previewHost"),
        f"{metric} {reader.who} measures the preview Ingress, which only a previewHost creates: without one "
        f"{reader.without}. Set previewHost (here or on every environment), or {preview_alternative(builtin)}",
    )


def environment_without_preview(metric: str, builtin: bool, reader: PreviewReader, env: str, index: int) -> Finding:
    return Finding(
        ("spec", "environments", index, "previewHost"),
        f"environment {env!r} has no previewHost, and {metric} {reader.who} measures the preview Ingress, which "
        f"only a previewHost creates: without one {reader.without}. Set previewHost here (or "
        f"strategy.blueGreen.previewHost), or {preview_alternative(builtin)}",
    )
