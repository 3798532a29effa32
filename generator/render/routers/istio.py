"""Istio: a VirtualService (networking.istio.io/v1, host-level: two Services, no subsets).

- Plain Deployments: the header/cookie routes first, then the weighted `route[]` whose weights add up to 100;
  rollgen writes the weights, one commit per step.
- Argo Rollouts: `trafficRouting.istio.virtualService` names the VirtualService and its weighted route, which
  git declares with stable and canary at 100 and 0; the controller edits the weights (Argo CD ignores them) and,
  for header routes (`managedRoutes` + `setHeaderRoute`), adds routes of its own.
- Flagger (`provider: istio`) generates the VirtualService and the DestinationRules itself: rollgen writes none.

Metrics: `istio_requests_total` and `istio_request_duration_milliseconds` (its `_sum`/`_count`: the built-in
`latency` is an average, as at the ingress), for the Service of the new version (`N-canary`, or the blue-green
preview `N-preview`), as reported by that Service's own sidecars (reporter="destination").
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from generator.render.engines import common
from generator.model import CanaryStrategy, Environment, Release
from generator.render.routers import (
    FLUX_CREATE_ONLY,
    JSON,
    FlaggerRouting,
    Manifest,
    Metrics,
    RolloutRouting,
    Router,
    Split,
    Switch,
    canary_traffic_routing,
    ignore_route,
    name_reference,
    rollouts,
    flagger_match,
    header_matches,
    set_header_routes,
    weighted_backends,
)
from generator.render.routers.promql import increase, rate, series_selector

API = "networking.istio.io/v1"
PRIMARY_ROUTE = "primary"  # the weighted route's name, which the Rollout names
REQUESTS = "istio_requests_total"
DURATION = "istio_request_duration_milliseconds"
URI_MATCH = {"Prefix": "prefix", "Exact": "exact"}  # ImplementationSpecific is refused by the checks


def uri_match(release: Release) -> JSON:
    return {"uri": {URI_MATCH[release.ingress.path_type]: release.ingress.path}}


def destination(release: Release, service: str, weight: int | None = None) -> JSON:
    out: JSON = {"destination": {"host": service, "port": {"number": release.service_port}}}
    if weight is not None:
        out["weight"] = weight
    return out


def virtual_service(
    release: Release, env: Environment, name: str, host: str, http: list[JSON],
    annotations: dict[str, str] | None = None,
) -> Manifest:
    spec: JSON = {"hosts": [host]}
    if release.istio_gateways:
        spec["gateways"] = list(release.istio_gateways)
    spec["http"] = http
    metadata = common.metadata(name, release, env, annotations)
    return {"apiVersion": API, "kind": "VirtualService", "metadata": metadata, "spec": spec}


def _route(name: str, match: JSON, *destinations: JSON) -> JSON:
    return {"name": name, "match": [match], "route": list(destinations)}


def match_routes(release: Release, strategy: CanaryStrategy, split: Split) -> list[JSON]:
    """The header and cookie routes (routers.header_matches: ingress-nginx's meaning), one named route each.
    Istio matches header names in lower case."""
    routes: list[JSON] = []
    for found in header_matches(strategy):
        condition = {"regex" if found.regex else "exact": found.value}
        match = {**uri_match(release), "headers": {found.header.lower(): condition}}
        service = split.canary if found.canary else split.stable
        routes.append(_route(found.name, match, destination(release, service)))
    return routes


def weighted_route(release: Release, split: Split) -> JSON:
    return _route(
        PRIMARY_ROUTE,
        uri_match(release),
        destination(release, split.stable, 100 - split.weight),
        destination(release, split.canary, split.weight),
    )


def weighted(release: Release, env: Environment, strategy: CanaryStrategy, split: Split) -> tuple[Manifest, ...]:
    http = match_routes(release, strategy, split) if split.weight > 0 else []
    http.append(weighted_route(release, split))
    return (virtual_service(release, env, release.name, env.host, http),)


def switched(release: Release, env: Environment, switch: Switch) -> tuple[Manifest, ...]:
    live = _route(PRIMARY_ROUTE, uri_match(release), destination(release, switch.live))
    out: tuple[Manifest, ...] = (virtual_service(release, env, release.name, env.host, [live]),)
    if switch.preview_host:
        preview = _route("preview", uri_match(release), destination(release, switch.preview))
        out += (virtual_service(release, env, switch.preview_route, switch.preview_host, [preview]),)
    return out


def rollout_canary(release: Release, env: Environment, strategy: CanaryStrategy, split: Split) -> RolloutRouting:
    at_rest = weighted_route(release, Split(split.stable, split.canary, 0))
    service = virtual_service(release, env, release.name, env.host, [at_rest], dict(FLUX_CREATE_ONLY))
    header_routes = tuple(_lower_header_names(route) for route in set_header_routes(strategy))
    routing: JSON = {"istio": {"virtualService": {"name": release.name, "routes": [PRIMARY_ROUTE]}}}
    if header_routes:
        routing["managedRoutes"] = [{"name": step["setHeaderRoute"]["name"]} for step in header_routes]
    return RolloutRouting(routing, (service,), header_routes)


def _lower_header_names(step: JSON) -> JSON:
    """Istio matches header names in lower case (HTTP header names are case-insensitive, so nothing changes)."""
    route = step["setHeaderRoute"]
    match = [{**m, "headerName": str(m["headerName"]).lower()} for m in route["match"]]
    return {"setHeaderRoute": {**route, "match": match}}


def flagger(release: Release, env: Environment) -> FlaggerRouting:
    """Flagger generates the VirtualService and DestinationRules; its built-in request-duration is a P99, not
    the average our `latency` means, so the built-ins become MetricTemplates with this router's queries."""
    service: JSON = {}
    if release.istio_gateways:
        service["gateways"] = list(release.istio_gateways)
    service["hosts"] = [env.host]
    service["match"] = [uri_match(release)]  # the path; without it Flagger's VirtualService takes the whole host
    return FlaggerRouting("istio", {}, service, (), match=flagger_match(release, lower_case=True))


def analysis_arg(release: Release, blue_green: bool) -> JSON:
    """The Service of the new version, read from the live Rollout so an overlay's renames follow."""
    field = "spec.strategy.blueGreen.previewService" if blue_green else "spec.strategy.canary.canaryService"
    return {"name": "service", "valueFrom": {"fieldRef": {"fieldPath": field}}}


def istio_query(metric: str, namespace: str, service: str, window: str, *, reporter: str = "destination") -> str:
    """Percent of 5xx answers, or average milliseconds, of the requests to `service` (errors `or vector(0)`:
    see ingress_nginx.error_rate_query; no requests at all is still no data)."""
    where = [("reporter", "=", reporter), ("destination_service_namespace", "=", namespace),
             ("destination_service_name", "=", service)]  # fmt: skip
    if metric == "error-rate":
        errors = rate(REQUESTS, series_selector([*where, ("response_code", "=~", "5..")]), window)
        total = rate(REQUESTS, series_selector(where), window)
        return f"100 * ({errors} or vector(0)) / {total}"
    if metric == "requests":  # not a metric of the spec: how many requests maxIncrease compares (compare())
        return increase(REQUESTS, series_selector(where), window)
    if metric == "latency":
        total_ms = rate(f"{DURATION}_sum", series_selector(where), window)
        count = rate(f"{DURATION}_count", series_selector(where), window)
        return f"{total_ms} / {count}"
    raise KeyError(metric)


def builtin_query(
    metric: str, namespace: str, subject: str, window: str, *, canary_only: bool = False, stable_only: bool = False
) -> str:
    """Each version has its own Service: no tracks to pick."""
    return istio_query(metric, namespace, subject, window)


def ignore_rules(objects: Sequence[Manifest]) -> Iterator[JSON]:
    """Argo Rollouts rewrites the route weights of the VirtualService a Rollout names; with header routes it
    also adds routes of its own, so then the routes are ignored altogether."""
    for rollout in rollouts(objects):
        routing = canary_traffic_routing(rollout)
        name = routing.get("istio", {}).get("virtualService", {}).get("name")
        if not name:  # before the lookup: find() would take None for a name
            continue
        rule = ignore_route(objects, "VirtualService", name, routing, ("/spec/http", ".spec.http[].route[].weight"))
        if rule is not None:
            yield rule


def live_weight(objects: Sequence[Manifest], name: str) -> int | None:
    """The canary destination's weight in the weighted route (the one with two destinations)."""
    destinations = weighted_backends(objects, "VirtualService", name, "http", "route")
    return None if destinations is None else int(destinations[1].get("weight", 0))


def carried(route: JSON) -> JSON:
    """The VirtualService's ports, matches, hosts and gateways (render/route_changes.py)."""
    spec = route.get("spec") or {}
    http = spec.get("http") or []
    destinations = [d.get("destination") or {} for route_ in http for d in route_.get("route") or []]
    return {
        "port": sorted({str((d.get("port") or {}).get("number")) for d in destinations}),
        "path": [route_.get("match") for route_ in http],
        "host": spec.get("hosts"),
        "gateway": spec.get("gateways"),
    }


KUSTOMIZE_CONFIG: JSON = {
    "nameReference": [
        name_reference("Service", "v1", (("VirtualService", "spec/http/route/destination/host"),)),
        name_reference(
            "VirtualService", API, (("Rollout", "spec/strategy/canary/trafficRouting/istio/virtualService/name"),)
        ),
    ],
}

ROUTER = Router(
    name="istio",
    weighted=weighted,
    switched=switched,
    rollout_canary=rollout_canary,
    rollout_blue_green=switched,
    flagger=flagger,
    metrics=Metrics(builtin_query, analysis_arg),
    ignore_rules=ignore_rules,
    live_weight=live_weight,
    kustomize_configurations=(("kustomizeconfig-istio.yaml", KUSTOMIZE_CONFIG),),
    carried=carried,
)
