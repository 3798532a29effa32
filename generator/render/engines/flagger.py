"""Flagger with ingress-nginx: a Deployment, an HPA, an Ingress and a Canary that Flagger drives by itself.

Flagger creates `N-primary` (Deployment and HPA), the Services `N`, `N-primary`, `N-canary` and the Ingress
`N-canary`; none of them is written here. Progression is always the controller's: the Canary carries every
step and git only changes the image.

Replicas: Flagger scales the target Deployment to 0, so `spec.replicas` in git would make Argo CD or Flux
fight it. The Deployment never carries `replicas`; an HPA `N` (the Canary's `autoscalerRef`) always does the
sizing. Without autoscaling it is pinned (minReplicas = maxReplicas = the environment's replicas): the HPA
controller moves any count below min or above max to that bound without reading a metric, and Flagger copies
the HPA to `N-primary`, so the primary gets the same fixed size. A Deployment without replicas and without an
HPA would run a single pod whatever the spec says (Flagger sizes the primary from the target's replicas).
"""

from __future__ import annotations

import math
import shlex
from typing import Any

from generator import durations, names
from generator.render.engines import ImageSlot, Manifest, Rendered
from generator.render.engines import common, sides
from generator.model import (
    DEFAULT_FAILURE_LIMIT,
    DEFAULT_INTERVAL,
    ABTestStrategy,
    Analysis,
    BlueGreenStrategy,
    CanaryStrategy,
    EnvState,
    Environment,
    LoadTest,
    Metric,
    Release,
    flagger_interval,
)
from generator.render.routers import HEADER_ALWAYS, JSON, FlaggerRouting, router_for
from generator.render.routers.promql import rate_window

API = "flagger.app/v1beta1"
HPA_API = "autoscaling/v2"
PROGRESS_DEADLINE = 600  # seconds; Flagger's own default, written out so the output says what happens
TEMPLATE_WAVE = "-1"  # MetricTemplates before the Canary that references them (Argo CD sync waves)

# Flagger's built-in nginx success rate, in percent, measured at the ingress. Its built-in `request-duration`
# is not used: it averages the *response* (upstream) time, while `latency` means the request duration that
# ingress-nginx records (upstream time included) in the git gates and the Argo template. `latency` is therefore a
# MetricTemplate carrying the router's own query, so one bound means the same on every engine.
SUCCESS_RATE = "request-success-rate"


# The time of the action whose commit this is, on the Canary: Flux's health check reads the Canary's phase only
# once Flagger's status.lastTransitionTime has passed it (HEALTH_CHECK).
APPLIED_AT = "rollgen.io/applied-at"


def render(release: Release, env: Environment, state: EnvState) -> Rendered:
    routing = router_for(release.router).flagger(release, env)
    manifests: list[Manifest] = [
        common.deployment(release.name, release, env, None, release.name),
        autoscaler(release, env),
        *routing.objects,  # ingress-nginx: the Ingress Flagger copies; other routers: Flagger writes the routes
        *metric_templates(release, env),
        canary_object(release, env, routing, state.since),
    ]
    return Rendered(manifests=tuple(manifests), images=(ImageSlot(release.name, state.stable_image),))


def autoscaler(release: Release, env: Environment) -> Manifest:
    scaling = common.hpa(release.name, "Deployment", "apps/v1", release, env)
    return scaling if scaling is not None else pinned_hpa(release, env)


# The pinned HPA's metric. The HPA controller computes its metrics on every sync even with min = max, and an HPA
# without `metrics` is defaulted to CPU at 80% utilisation, which needs a CPU request on every container: without
# one, FailedGetResourceMetric (Argo CD: Degraded). An average value in cores reads the pods' usage only (the
# resource metrics API, metrics-server), no request; its value never matters, since min = max bounds the result.
def pinned_metric() -> Manifest:
    return {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "AverageValue", "averageValue": "1"}}}


def pinned_hpa(release: Release, env: Environment) -> Manifest:
    """An HPA that holds the environment's replica count: min = max, so no metric ever changes it."""
    return {
        "apiVersion": HPA_API,
        "kind": "HorizontalPodAutoscaler",
        "metadata": common.metadata(release.name, release, env),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": release.name},
            "minReplicas": env.replicas,
            "maxReplicas": env.replicas,
            "metrics": [pinned_metric()],
        },
    }


def template_name(release: Release, metric: Metric) -> str:
    return names.metric_template(release.name, metric.key)


def own_builtins(analysis: Analysis | None, release: Release) -> bool:
    """Whether Flagger's own built-ins serve ours: where they mean the same (the router), and only without
    credentials or headers (they query the Canary's `metricsServer`, which takes neither)."""
    plain = analysis is None or (analysis.secret is None and not analysis.headers)
    return plain and router_for(release.router).metrics.flagger_builtins


def metric_templates(release: Release, env: Environment) -> list[Manifest]:
    """A MetricTemplate per custom metric; per built-in too where Flagger's own built-ins for the router do not
    mean what ours do (they then carry the router's query, as the gates and Argo's AnalysisTemplates do)."""
    analysis = release.analysis
    if analysis is None:
        return []
    own = own_builtins(analysis, release)
    return [metric_template_object(release, env, analysis, m) for m in analysis.metrics if has_template(m, own)]


def has_template(metric: Metric, own_builtins: bool = True) -> bool:
    """Custom metrics; `latency` (see SUCCESS_RATE); maxIncrease; every built-in where Flagger's own do not fit
    the router or cannot authenticate."""
    return not metric.builtin or not own_builtins or metric.name == "latency" or metric.max_increase is not None


# Flagger's placeholders, filled in with the Canary's namespace and the metric's interval (generator.plan.gates uses
# the values of the same release).
FLAGGER_NAMESPACE, FLAGGER_INTERVAL = "{{ namespace }}", "{{ interval }}"


def builtin_template_query(release: Release, metric: Metric) -> str:
    router = router_for(release.router)
    subject, canary_only = router.flagger_subject()
    if metric.max_increase is not None:  # the gates' and Argo's comparison, in Flagger's placeholders
        from generator.render.routers import Traffic, query

        where = Traffic(FLAGGER_NAMESPACE, subject, canary_only, "{{ target }}",
                        "{{ service }}", release.router, "{{ target }}-primary")  # fmt: skip
        return query(metric, where, FLAGGER_INTERVAL)
    return router.metrics.query(metric.name, FLAGGER_NAMESPACE, subject, FLAGGER_INTERVAL, canary_only=canary_only)


def metric_template_object(release: Release, env: Environment, analysis: Analysis, metric: Metric) -> Manifest:
    # The query goes in as data, untouched: Flagger fills in {{ namespace }}, {{ target }}, {{ interval }}.
    query = metric.query if metric.query is not None else builtin_template_query(release, metric)
    return {
        "apiVersion": API,
        "kind": "MetricTemplate",
        "metadata": common.metadata(template_name(release, metric), release, env, {common.SYNC_WAVE: TEMPLATE_WAVE}),
        "spec": {"provider": provider(analysis), "query": query},
    }


def provider(analysis: Analysis) -> dict[str, Any]:
    """The MetricTemplate's provider: Flagger reads `token`, or `username` and `password`, from the Secret named
    in secretRef (in the template's namespace), and sends the headers with every query."""
    out: dict[str, Any] = {"type": "prometheus", "address": analysis.prometheus}
    if analysis.secret is not None:
        out["secretRef"] = {"name": analysis.secret.name}
    if analysis.headers:
        out["headers"] = {name: [value] for name, value in analysis.headers}
    return out


def canary_object(release: Release, env: Environment, routing: FlaggerRouting | None = None, applied_at: str = "") -> Manifest:
    if routing is None:
        routing = router_for(release.router).flagger(release, env)
    spec: dict[str, Any] = {"provider": routing.provider}
    if release.analysis is not None:
        # The built-in metrics query this Prometheus instead of the one Flagger was installed with.
        spec["metricsServer"] = release.analysis.prometheus
    spec["targetRef"] = {"apiVersion": "apps/v1", "kind": "Deployment", "name": release.name}
    spec.update(routing.refs)  # ingress-nginx: ingressRef
    spec["autoscalerRef"] = {"apiVersion": HPA_API, "kind": "HorizontalPodAutoscaler", "name": release.name}
    spec["progressDeadlineSeconds"] = PROGRESS_DEADLINE
    port = common.port_name(release)
    spec["service"] = {"port": release.service_port, "targetPort": port, "portName": port, **routing.service}
    spec["analysis"] = analysis_spec(release, env, routing)
    return {
        "apiVersion": API,
        "kind": "Canary",
        "metadata": common.metadata(release.name, release, env, {APPLIED_AT: applied_at} if applied_at else None),
        "spec": spec,
    }


def run_seconds(release: Release, env: Environment) -> int:
    """How long Flagger may take over one revision: an interval per step (or iteration), one per failed check it
    tolerates, and two for promotion and finalising."""
    strategy = release.strategy
    seconds = interval(release, env)
    if isinstance(strategy, CanaryStrategy):
        checks = len(env.steps)
    elif isinstance(strategy, ABTestStrategy):
        checks = strategy.iterations
    else:
        checks = blue_green_iterations(strategy, seconds)
    return seconds * (checks + threshold(release) + 2)


def interval(release: Release, env: Environment) -> int:
    """Flagger has one clock (facts.flagger_interval): the analysis interval, else the steps' common pause, else a
    minute."""
    explicit = release.analysis.interval if release.analysis is not None else None
    found = flagger_interval(explicit, (step.pause for step in env.steps))
    return DEFAULT_INTERVAL if found is None else found


def threshold(release: Release) -> int:
    # failureLimit counts the failed checks tolerated (as in Argo Rollouts); Flagger rolls back when the
    # failed checks reach `threshold`, so one more than the limit keeps the meaning the same on both engines.
    limit = release.analysis.failure_limit if release.analysis is not None else DEFAULT_FAILURE_LIMIT
    return limit + 1


def analysis_spec(release: Release, env: Environment, routing: FlaggerRouting) -> dict[str, Any]:
    own = own_builtins(release.analysis, release)
    seconds = interval(release, env)
    out: dict[str, Any] = {"interval": durations.format_flagger(seconds), "threshold": threshold(release)}
    out.update(steps_or_iterations(release, env, seconds, routing.match))
    if release.analysis is not None and release.analysis.metrics:
        window = durations.format_flagger(rate_window(seconds))
        out["metrics"] = [canary_metric(release, m, window, own) for m in release.analysis.metrics]
    if release.analysis is not None and release.analysis.load_test is not None:
        out["webhooks"] = [load_test_webhook(release, env, release.analysis.load_test, seconds)]
    return out


LOAD_TEST_TIMEOUT = "15s"  # flagger-loadtester queues the command and answers at once


def load_test_webhook(release: Release, env: Environment, test: LoadTest, seconds: int) -> dict[str, Any]:
    """A `rollout` webhook: flagger-loadtester runs `hey` for one interval before every check, through the public
    host so that ingress-nginx routes it (and the built-in metrics count it) like real traffic."""
    return {
        "name": "load-test",
        "type": "rollout",
        "url": test.url,
        "timeout": LOAD_TEST_TIMEOUT,
        "metadata": {"type": "cmd", "cmd": load_test_command(release, env, test, seconds)},
    }


def load_test_command(release: Release, env: Environment, test: LoadTest, seconds: int) -> str:
    # flagger-loadtester runs the command through a shell: every argument is quoted.
    args = ["hey", "-z", durations.format_flagger(seconds), "-q", str(test.rate), "-c", "1"]
    for header in load_test_headers(release.strategy):
        args += ["-H", header]
    args.append(test.target or default_target(release, env))
    return shlex.join(args)


def load_test_headers(strategy: CanaryStrategy | BlueGreenStrategy | ABTestStrategy) -> list[str]:
    """An A/B test reaches the canary only with its header or cookie; a weighted canary takes its share."""
    if not isinstance(strategy, ABTestStrategy):
        return []
    if strategy.header:
        return [f"{strategy.header}: {strategy.header_value or HEADER_ALWAYS}"]
    return [f"Cookie: {strategy.cookie}=always"] if strategy.cookie else []


def default_target(release: Release, env: Environment) -> str:
    scheme = "https" if release.ingress.tls_secret else "http"
    return f"{scheme}://{env.host}{release.ingress.path}"


def steps_or_iterations(release: Release, env: Environment, seconds: int, match: tuple[JSON, ...]) -> dict[str, Any]:
    """Exactly one of `stepWeights` (canary) or `iterations` (A/B test with the router's `match`, blue-green)."""
    strategy = release.strategy
    if isinstance(strategy, CanaryStrategy):
        # header/cookie/sticky cannot be combined with weights in Flagger: the checks refuse them.
        return {"stepWeights": [step.weight for step in env.steps]}
    if isinstance(strategy, ABTestStrategy):
        return {"iterations": strategy.iterations, "match": list(match)}
    return {"iterations": blue_green_iterations(strategy, seconds)}


def blue_green_iterations(strategy: BlueGreenStrategy, seconds: int) -> int:
    """Checks to run before switching: as many intervals as the preview should last."""
    if strategy.auto_promotion is None:
        # Flagger has no indefinite pause without an external gate webhook: the checks refuse this.
        raise ValueError("flagger blue-green needs autoPromotion: Flagger switches after its iterations")
    return max(1, math.ceil(strategy.auto_promotion / seconds))


def canary_metric(release: Release, metric: Metric, window: str, own_builtins: bool = True) -> dict[str, Any]:
    if metric.max_increase is not None:  # the canary's excess over what stable allows: at most 0
        return metric_entry(metric.key, None, 0, window, template_name(release, metric))
    if not own_builtins:  # every metric, built-ins included, through its MetricTemplate
        return metric_entry(metric.name, metric.min, metric.max, window, template_name(release, metric))
    if metric.name == "error-rate":
        # error percent <= max  <=>  success percent >= 100 - max
        return metric_entry(SUCCESS_RATE, complement(metric.max), complement(metric.min), window)
    return metric_entry(metric.name, metric.min, metric.max, window, template_name(release, metric))


def metric_entry(
    name: str, low: float | None, high: float | None, window: str, template: str | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name}
    if template is not None:
        entry["templateRef"] = {"name": template}
    limits = {key: plain_number(value) for key, value in (("min", low), ("max", high)) if value is not None}
    if limits:
        entry["thresholdRange"] = limits
    entry["interval"] = window
    return entry


def complement(percent: float | None) -> float | None:
    return None if percent is None else 100 - percent


def plain_number(value: float) -> int | float:
    """Whole numbers as ints and no binary noise (100 - 0.1 is 99.9), so the output reads as written."""
    rounded = round(float(value), 6)
    return int(rounded) if rounded.is_integer() else rounded


# -- the Engine record's hooks (render/engines/__init__.py) ------------------------------------------------------

render_sides = sides.one_template
config_readers = sides.one_reader
new_version = sides.same_name
longest_wait = run_seconds

# Flux's health check of the Canary (wiring writes it with `wait: true`): Flux's default check needs a Ready
# condition, which a Canary lacks. A Canary has no observedGeneration, and git changes the Deployment, not the
# Canary: render() stamps the Canary with the time of the commit's action (APPLIED_AT), and Flagger's
# `status.lastTransitionTime` moves past it only once Flagger has acted on that revision, so Flux never reports
# Ready from the phase the previous commit left (a stale Succeeded). Without the stamp (a plain `rollgen render`)
# the phase alone decides. `has()` guards every status field: Flux waits out the whole timeout on a field that
# does not exist yet.
_SEEN = (
    "!has(metadata.annotations) || !('rollgen.io/applied-at' in metadata.annotations) || "
    "(has(status.lastTransitionTime) && "
    "timestamp(status.lastTransitionTime) > timestamp(metadata.annotations['rollgen.io/applied-at']))"
)
HEALTH_CHECK = {
    "apiVersion": "flagger.app/v1beta1",
    "kind": "Canary",
    "current": f"({_SEEN}) && has(status.phase) && status.phase in ['Initialized', 'Succeeded']",
    "inProgress": f"!({_SEEN}) || !has(status.phase)",
    "failed": f"({_SEEN}) && has(status.phase) && status.phase == 'Failed'",
}


def by_hand(release: Release, env: Environment, verb: str) -> str:
    """How a person steps a Canary."""
    return "Flagger's webhooks (confirm-promotion / rollback), or release the previous image"


def rolling_marker(release: Release) -> tuple[str, str]:
    """(kind, name) of the object a rolling overlay deletes from the base."""
    return "canary", release.name


def rolling_outage(release: Release, to_rolling: bool) -> str:
    """What switching a released environment to (or from) a rolling update in one commit breaks."""
    if to_rolling:
        return (
            "the pruned Canary takes Flagger's Services and the primary Deployment with it, and the Deployment "
            f"{release.name} is still at the 0 replicas Flagger gave it"
        )
    return (
        f"the Service {release.name} the rolling update serves through is pruned before Flagger has started a "
        "primary and made its own"
    )
