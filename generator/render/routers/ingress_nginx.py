"""ingress-nginx: Ingresses, its canary annotations, and its metrics.

- Plain Deployments: the main Ingress to the stable Service and, while a canary is in flight, a canary Ingress
  (named like the canary Service) repeating its host, path, pathType, class and TLS and carrying the weight.
- Argo Rollouts: `trafficRouting.nginx`; the controller creates the canary Ingress from the stable one.
- Flagger (`provider: nginx`): the main Ingress, which Flagger copies into `N-canary` (its `ingressRef`).

Metrics. Where ingress-nginx puts canary traffic (checked in its source, rootfs/etc/nginx/lua/monitor.lua and
internal/ingress/metric/collectors/socket.go): a canary Ingress gets no nginx location of its own; it is merged
into the main Ingress's location as an alternative backend. Every request at that host and path is therefore
counted under the *main* Ingress name (`ingress="hello"`), and the ones the balancer sent to the canary carry
the canary upstream in the `canary` label (`canary="test-hello-canary-5000"`; empty for the others). There is no
series with `ingress="<canary ingress name>"` (ingress-nginx issue 4026). So "the canary's error rate" is
`ingress="<main Ingress>", canary!=""`, whatever the canary Ingress is called (`N-canary`, Argo's `N-N-canary`,
Flagger's `N-canary`): the subject is shared (`Metrics.shared`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from generator import names
from generator.render.engines import common
from generator.model import BlueGreenStrategy, CanaryStrategy, Environment, Release
from generator.render.routers import (
    JSON,
    FlaggerRouting,
    Manifest,
    Metrics,
    QueryBuilder,
    RolloutRouting,
    Router,
    Split,
    Switch,
    find,
    flagger_match,
)
from generator.render.routers.promql import increase, rate, series_selector

NGINX = "nginx.ingress.kubernetes.io/"
CANARY_WEIGHT = NGINX + "canary-weight"
STABLE_INGRESS_FIELD = "spec.strategy.canary.trafficRouting.nginx.stableIngress"
REQUESTS = "nginx_ingress_controller_requests"
DURATION = "nginx_ingress_controller_request_duration_seconds"


# -- objects ----------------------------------------------------------------------------------------------------


def ingress(
    name: str,
    release: Release,
    env: Environment,
    service_name: str,
    host: str,
    annotations: dict[str, str] | None = None,
) -> Manifest:
    """An Ingress for one host and path, with ingress.tlsSecret. Annotation values must already be strings."""
    return _ingress(name, release, env, service_name, host, annotations, release.ingress.tls_secret)


def preview_ingress(name: str, release: Release, env: Environment, service_name: str, host: str) -> Manifest:
    """The blue-green preview Ingress: like `ingress`, with the preview's own TLS Secret when there is one."""
    return _ingress(name, release, env, service_name, host, None, preview_tls_secret(release))


def preview_tls_secret(release: Release) -> str | None:
    """strategy.blueGreen.previewTlsSecret, else ingress.tlsSecret. The checks require previewTlsSecret whenever
    tlsSecret and a preview host are both set (checks.check_preview_tls_reuse), so the fallback only serves
    models built without validation."""
    strategy = release.strategy
    if isinstance(strategy, BlueGreenStrategy) and strategy.preview_tls_secret:
        return strategy.preview_tls_secret
    return release.ingress.tls_secret


def _ingress(
    name: str,
    release: Release,
    env: Environment,
    service_name: str,
    host: str,
    annotations: dict[str, str] | None,
    tls_secret: str | None,
) -> Manifest:
    ing = release.ingress
    spec: dict[str, Any] = {"ingressClassName": ing.class_name}
    if tls_secret:
        spec["tls"] = [{"hosts": [host], "secretName": tls_secret}]
    spec["rules"] = [
        {
            "host": host,
            "http": {
                "paths": [
                    {
                        "path": ing.path,
                        "pathType": ing.path_type,
                        "backend": {"service": {"name": service_name, "port": {"name": common.port_name(release)}}},
                    }
                ]
            },
        }
    ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": common.metadata(name, release, env, annotations),
        "spec": spec,
    }


def annotation(name: str, value: str | int | bool) -> tuple[str, str]:
    """ingress-nginx reads every annotation value as a string: "true", "20"."""
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return NGINX + name, text


def stable_ingress_annotations(strategy: CanaryStrategy) -> dict[str, str]:
    """Session affinity lives on the stable Ingress: ingress-nginx copies the main backend's affinity onto the
    canary backend (unless the canary says `legacy`); the canary's own affinity annotations are overwritten."""
    return dict([annotation("affinity", "cookie")]) if strategy.sticky else {}


def canary_annotations(strategy: CanaryStrategy, weight: int) -> dict[str, str]:
    """The canary Ingress's: its weight, and header and cookie routing."""
    pairs = [annotation("canary", True), annotation("canary-weight", weight)]
    if strategy.header:
        pairs.append(annotation("canary-by-header", strategy.header))
        if strategy.header_value:
            pairs.append(annotation("canary-by-header-value", strategy.header_value))
    if strategy.cookie:
        pairs.append(annotation("canary-by-cookie", strategy.cookie))
    # sticky: `affinity-canary-behavior: sticky` is ingress-nginx's default, so only the stable Ingress's
    # `affinity: cookie` is written (stable_ingress_annotations).
    return dict(pairs)


def rollout_canary_annotations(strategy: CanaryStrategy) -> dict[str, str]:
    """Header/cookie routing for the Argo Rollouts controller's canary Ingress; the controller adds the nginx prefix.

    setHeaderRoute is not supported with nginx, so header routing lives here, for the whole update.
    """
    out: dict[str, str] = {}
    if strategy.header:
        out["canary-by-header"] = strategy.header
        if strategy.header_value:
            out["canary-by-header-value"] = strategy.header_value
    if strategy.cookie:
        out["canary-by-cookie"] = strategy.cookie
    # sticky needs nothing here: ingress-nginx copies the stable Ingress's `affinity: cookie` onto the canary
    # backend, and `affinity-canary-behavior: sticky` (a client the canary got stays there) is its default.
    return dict(sorted(out.items()))


def weighted(release: Release, env: Environment, strategy: CanaryStrategy, split: Split) -> tuple[Manifest, ...]:
    """The main Ingress to the stable Service; the canary Ingress (named like the canary Service) repeats its
    host, path, pathType, class and TLS and carries the weight."""
    stable = ingress(release.name, release, env, split.stable, env.host, stable_ingress_annotations(strategy))
    if not split.in_flight:  # added by the commit that starts a canary, removed by the one that ends it
        return (stable,)
    canary = ingress(split.canary, release, env, split.canary, env.host, canary_annotations(strategy, split.weight))
    return stable, canary


def switched(release: Release, env: Environment, switch: Switch) -> tuple[Manifest, ...]:
    out: tuple[Manifest, ...] = (ingress(release.name, release, env, switch.live, env.host),)
    if switch.preview_host:
        out += (preview_ingress(switch.preview_route, release, env, switch.preview, switch.preview_host),)
    return out


def rollout_canary(release: Release, env: Environment, strategy: CanaryStrategy, split: Split) -> RolloutRouting:
    """trafficRouting.nginx: the controller creates the canary Ingress from the stable one; header and cookie
    routing are annotations on it (setHeaderRoute is not supported with nginx)."""
    nginx: JSON = {"stableIngress": release.name}
    annotations = rollout_canary_annotations(strategy)
    if annotations:
        nginx["additionalIngressAnnotations"] = annotations
    stable = ingress(release.name, release, env, split.stable, env.host, stable_ingress_annotations(strategy))
    return RolloutRouting({"nginx": nginx}, (stable,))


def flagger_ingresses(release: Release, env: Environment) -> tuple[Manifest, ...]:
    """The main Ingress routes to the apex Service `N` (Flagger copies it into `N-canary`)."""
    out: tuple[Manifest, ...] = (ingress(release.name, release, env, release.name, env.host),)
    if isinstance(release.strategy, BlueGreenStrategy) and env.preview_host:
        # Flagger's `N-canary` Service selects the new pods while the analysis runs: the preview host sees them.
        preview = names.preview(release.name)
        out += (preview_ingress(preview, release, env, names.canary(release.name), env.preview_host),)
    return out


def flagger(release: Release, env: Environment) -> FlaggerRouting:
    ref = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": release.name}
    return FlaggerRouting(
        "nginx", {"ingressRef": ref}, {}, flagger_ingresses(release, env), match=flagger_match(release, cookie_key=True)
    )


def ignore_rules(objects: Sequence[Manifest]) -> Iterator[JSON]:
    """Argo Rollouts creates its canary Ingress itself and leaves the stable one alone: nothing to ignore."""
    return iter(())


def live_weight(objects: Sequence[Manifest], name: str) -> int | None:
    canary = find(objects, "Ingress", names.canary(name))
    if canary is None:  # no canary in flight: all traffic on the main Ingress
        return 0 if find(objects, "Ingress", name) is not None else None
    value = canary.get("metadata", {}).get("annotations", {}).get(CANARY_WEIGHT)
    return int(value) if value is not None else None


# -- metrics ----------------------------------------------------------------------------------------------------


def error_rate_query(
    namespace: str, ingress: str, window: str, *, canary_only: bool = True, stable_only: bool = False
) -> str:
    """Percent (0-100) of answers with a 5xx status.

    canary_only: count only requests routed to the canary backend of `ingress` (the main Ingress); False counts
    every request of `ingress`, e.g. a blue-green preview Ingress, whose requests all reach the new version.
    stable_only: only the requests the balancer kept on the main backend (maxIncrease's stable track).

    ingress-nginx, like every Prometheus client, creates a `status` series with the first request that has that
    status: a canary that never failed has no 5xx series, and `sum` over no series is no value, not 0. So the
    errors are `or vector(0)`: a healthy canary measures 0, while no traffic at all still gives no data (an
    empty denominator, or 0/0 = NaN), which the gates and Argo's conditions treat as inconclusive.
    """
    errors = rate(REQUESTS, _selector(namespace, ingress, canary_only, ("=~", "5.."), stable_only), window)
    total = rate(REQUESTS, _selector(namespace, ingress, canary_only, None, stable_only), window)
    return f"100 * ({errors} or vector(0)) / {total}"


def latency_query(
    namespace: str, ingress: str, window: str, *, canary_only: bool = True, stable_only: bool = False
) -> str:
    """Average request duration in milliseconds, as measured by ingress-nginx (upstream time included)."""
    where = _selector(namespace, ingress, canary_only, None, stable_only)
    seconds = rate(f"{DURATION}_sum", where, window)
    count = rate(f"{DURATION}_count", where, window)
    return f"1000 * {seconds} / {count}"


def requests_query(
    namespace: str, ingress: str, window: str, *, canary_only: bool = True, stable_only: bool = False
) -> str:
    """How many requests over the window: maxIncrease's evidence (promql.compare)."""
    return increase(REQUESTS, _selector(namespace, ingress, canary_only, None, stable_only), window)


BUILTIN_QUERIES: dict[str, QueryBuilder] = {
    "error-rate": error_rate_query,
    "latency": latency_query,
    "requests": requests_query,
}


def builtin_query(
    metric: str, namespace: str, ingress: str, window: str, *, canary_only: bool = True, stable_only: bool = False
) -> str:
    """The query of a built-in metric by its spec name (facts.BUILTIN_METRICS) or `requests`; KeyError for any
    other name."""
    return BUILTIN_QUERIES[metric](namespace, ingress, window, canary_only=canary_only, stable_only=stable_only)


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
    return series_selector(matchers)


def analysis_arg(release: Release, blue_green: bool) -> JSON:
    if blue_green:
        return {"name": "ingress", "value": names.preview(release.name)}
    return {"name": "ingress", "valueFrom": {"fieldRef": {"fieldPath": STABLE_INGRESS_FIELD}}}


ROUTER = Router(
    name="ingress-nginx",
    weighted=weighted,
    switched=switched,
    rollout_canary=rollout_canary,
    rollout_blue_green=switched,
    flagger=flagger,
    # Canary requests are counted under the main Ingress with a non-empty `canary` label; a blue-green preview
    # Ingress's requests all reach the new version. Flagger's own built-ins read the same series.
    metrics=Metrics(builtin_query, analysis_arg, shared=True, flagger_builtins=True),
    ignore_rules=ignore_rules,
    live_weight=live_weight,
)
