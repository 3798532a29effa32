"""Gateway API: an HTTPRoute (gateway.networking.k8s.io/v1) attached to the release's Gateway.

Weights (REFERENCE.md "Routers"): `backendRefs[].weight` is a proportion, not a percent, and 0 means no
traffic; rollgen always writes the two weights of a split as percents that add up to 100, so they read as
percents. Header and cookie rules come first and point at the canary only; they exist only while the canary
takes traffic (a rule to a Service without endpoints would fail those requests).

- Plain Deployments: rollgen writes the weights, one commit per step.
- Argo Rollouts: the plugin `argoproj-labs/gatewayAPI` edits the HTTPRoute git declares with stable and canary at
  100 and 0; header routes are `managedRoutes` plus `setHeaderRoute` steps, which the plugin adds as rules.
- Flagger (`provider: gatewayapi:v1`) writes the HTTPRoute itself: rollgen writes none.

Metrics: the Gateway API defines none. The built-ins are answered only when the Gateway's implementation is
named and known (`spec.gateway.implementation: istio`, whose gateway proxies report `istio_requests_total`);
the checks refuse them otherwise, pointing at custom queries.
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
from generator.render.routers import istio as istio_router

API = "gateway.networking.k8s.io/v1"
PLUGIN = "argoproj-labs/gatewayAPI"
PATH_TYPES = {"Prefix": "PathPrefix", "Exact": "Exact"}  # ImplementationSpecific is refused by the checks
def parent_ref(release: Release) -> JSON:
    gateway = release.gateway
    if gateway is None:
        raise ValueError("router gateway-api needs spec.gateway (the checks require it)")
    ref: JSON = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gateway.name}
    if gateway.namespace:
        ref["namespace"] = gateway.namespace
    if gateway.section_name:
        ref["sectionName"] = gateway.section_name
    return ref


def path_match(release: Release) -> JSON:
    return {"path": {"type": PATH_TYPES[release.ingress.path_type], "value": release.ingress.path}}


def backend(release: Release, service: str, weight: int = 1) -> JSON:
    """A backendRef with every field the API server would default (group "", kind Service, weight 1) stated:
    Argo CD's server-side diff compares the defaulted object, and a plain-Service ref reads the same either way."""
    return {"group": "", "kind": "Service", "name": service, "port": release.service_port, "weight": weight}


def http_route(
    release: Release, env: Environment, name: str, host: str, rules: list[JSON],
    annotations: dict[str, str] | None = None,
) -> Manifest:
    return {
        "apiVersion": API,
        "kind": "HTTPRoute",
        "metadata": common.metadata(name, release, env, annotations),
        "spec": {"parentRefs": [parent_ref(release)], "hostnames": [host], "rules": rules},
    }


def header_match(release: Release, kind: str, name: str, value: str) -> JSON:
    return {**path_match(release), "headers": [{"type": kind, "name": name, "value": value}]}


def match_rules(release: Release, strategy: CanaryStrategy, split: Split) -> list[JSON]:
    """The header and cookie rules (routers.header_matches: ingress-nginx's meaning), one rule each."""
    rules: list[JSON] = []
    for match in header_matches(strategy):
        kind = "RegularExpression" if match.regex else "Exact"
        service = split.canary if match.canary else split.stable
        rules.append(_rule(header_match(release, kind, match.header, match.value), backend(release, service)))
    return rules


def _rule(match: JSON, *backends: JSON) -> JSON:
    return {"matches": [match], "backendRefs": list(backends)}


def weighted_rule(release: Release, split: Split) -> JSON:
    return _rule(
        path_match(release),
        backend(release, split.stable, 100 - split.weight),
        backend(release, split.canary, split.weight),
    )


def weighted(release: Release, env: Environment, strategy: CanaryStrategy, split: Split) -> tuple[Manifest, ...]:
    rules = match_rules(release, strategy, split) if split.weight > 0 else []
    rules.append(weighted_rule(release, split))
    return (http_route(release, env, release.name, env.host, rules),)


def switched(release: Release, env: Environment, switch: Switch) -> tuple[Manifest, ...]:
    live = _rule(path_match(release), backend(release, switch.live))
    out: tuple[Manifest, ...] = (http_route(release, env, release.name, env.host, [live]),)
    if switch.preview_host:
        preview = _rule(path_match(release), backend(release, switch.preview))
        out += (http_route(release, env, switch.preview_route, switch.preview_host, [preview]),)
    return out


def rollout_canary(release: Release, env: Environment, strategy: CanaryStrategy, split: Split) -> RolloutRouting:
    """The HTTPRoute at 100/0 for the plugin to edit, and the header routes it manages."""
    at_rest = weighted_rule(release, Split(split.stable, split.canary, 0))
    route = http_route(release, env, release.name, env.host, [at_rest], dict(FLUX_CREATE_ONLY))
    header_routes = tuple(set_header_routes(strategy))
    config: JSON = {}
    if header_routes:
        config["httpRoutes"] = [{"name": release.name, "useHeaderRoutes": True}]
    else:
        config["httpRoute"] = release.name
    config["namespace"] = env.namespace
    routing: JSON = {"plugins": {PLUGIN: config}}
    if header_routes:
        routing["managedRoutes"] = [{"name": step["setHeaderRoute"]["name"]} for step in header_routes]
    return RolloutRouting(routing, (route,), header_routes)


def flagger(release: Release, env: Environment) -> FlaggerRouting:
    """Flagger generates the HTTPRoute `N` and the Services; git carries only the Gateway and the host."""
    ref = {key: value for key, value in parent_ref(release).items() if key in ("name", "namespace", "sectionName")}
    # service.match scopes Flagger's HTTPRoute to the path (without it the route is PathPrefix /, the whole
    # host); Flagger turns an Istio-style uri match into the HTTPRoute's path match.
    service = {"gatewayRefs": [ref], "hosts": [env.host], "match": [istio_router.uri_match(release)]}
    return FlaggerRouting("gatewayapi:v1", {}, service, (), match=flagger_match(release))


def builtin_query(
    metric: str, namespace: str, subject: str, window: str, *, canary_only: bool = False, stable_only: bool = False
) -> str:
    """With Istio as the Gateway implementation, its gateway proxies report the requests (reporter="source")."""
    return istio_router.istio_query(metric, namespace, subject, window, reporter="source")


def ignore_rules(objects: Sequence[Manifest]) -> Iterator[JSON]:
    """The plugin rewrites the backendRef weights of the HTTPRoutes a Rollout names; with header routes it also
    adds (and removes) whole rules, so then the rules are ignored altogether."""
    for rollout in rollouts(objects):
        routing = canary_traffic_routing(rollout)
        config = routing.get("plugins", {}).get(PLUGIN)
        if not config:
            continue
        names = [config["httpRoute"]] if "httpRoute" in config else [r["name"] for r in config.get("httpRoutes", [])]
        for name in names:
            paths = ("/spec/rules", ".spec.rules[].backendRefs[].weight")
            rule = ignore_route(objects, "HTTPRoute", name, routing, paths)
            if rule is not None:
                yield rule


def live_weight(objects: Sequence[Manifest], name: str) -> int | None:
    """The canary backendRef's weight in the HTTPRoute's weighted rule, as a percent (weights are proportions)."""
    refs = weighted_backends(objects, "HTTPRoute", name, "rules", "backendRefs")
    if refs is None:
        return None
    total = sum(int(ref.get("weight", 1)) for ref in refs)
    return round(100 * int(refs[1].get("weight", 1)) / total) if total else 0


def carried(route: JSON) -> JSON:
    """The HTTPRoute's ports, path matches, hostnames and Gateway (render/route_changes.py)."""
    spec = route.get("spec") or {}
    rules = spec.get("rules") or []
    return {
        "port": sorted({ref.get("port") for rule in rules for ref in rule.get("backendRefs") or []}),
        "path": [rule.get("matches") for rule in rules],
        "host": spec.get("hostnames"),
        "gateway": spec.get("parentRefs"),
    }


# A '/' inside a key is escaped for kustomize's path splitter.
_PLUGIN_PATH = "spec/strategy/canary/trafficRouting/plugins/argoproj-labs\\/gatewayAPI"
KUSTOMIZE_CONFIG: JSON = {
    "nameReference": [
        name_reference("Service", "v1", (("HTTPRoute", "spec/rules/backendRefs/name"),)),
        name_reference(
            "HTTPRoute",
            API,
            (("Rollout", f"{_PLUGIN_PATH}/httpRoute"), ("Rollout", f"{_PLUGIN_PATH}/httpRoutes/name")),
        ),
    ],
}

ROUTER = Router(
    name="gateway-api",
    weighted=weighted,
    switched=switched,
    rollout_canary=rollout_canary,
    rollout_blue_green=switched,
    flagger=flagger,
    metrics=Metrics(builtin_query, istio_router.analysis_arg),
    ignore_rules=ignore_rules,
    live_weight=live_weight,
    kustomize_configurations=(("kustomizeconfig-gateway-api.yaml", KUSTOMIZE_CONFIG),),
    carried=carried,
)
