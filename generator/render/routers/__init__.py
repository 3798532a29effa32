"""The router seam: what carries the traffic split between the stable and the new version.

An engine decides *when* traffic moves (git commits, Argo Rollouts, Flagger); a router decides *how* it is
expressed (ingress-nginx canary Ingresses, a Gateway API HTTPRoute, an Istio VirtualService). Every engine asks
the router of its release, `router_for(release.router)`, for:

- the objects the router writes for plain Deployments, whose weights rollgen sets (`weighted`, `switched`);
- what an Argo Rollout needs (`rollout_canary`: `trafficRouting`, the objects the controller edits, header
  routes; `rollout_blue_green`: the objects in front of the active and preview Services);
- what a Flagger Canary needs (`flagger`: `provider`, references, `service` fields, the objects it reads);
- its metrics, said once (`metrics`: the built-in queries, how the Rollout names what they measure, whether the
  canary shares its subject with stable); `measured` and `flagger_subject` derive from them;
- the Argo CD ignore rules for the fields a controller changes after git declared them (`ignore_rules`);
- how the live weight is read back from a built overlay (`live_weight`);
- the facts the spec checks and the other layers switch on (`facts`: generator/router_facts.py, data only).

Adding a router is one module exposing `ROUTER`, one entry in `router_facts.ROUTERS`, and the schema's
`spec.router` enum (docs/DESIGN.md "Routers"). Modules are imported on first use, like the engines.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Sequence
from generator.records import dataclass
from typing import Any, NamedTuple

from generator import names
from generator.model import ABTestStrategy, CanaryStrategy, Environment, Metric, Release, RouterName
from generator.render.routers.promql import compare, substitute
from generator.router_facts import DEFAULT, ROUTERS, RouterFacts

Manifest = dict[str, Any]
JSON = dict[str, Any]


@dataclass(frozen=True)
class Split:
    """A weighted split: `weight` percent (0..100) of the host's traffic to `canary`, the rest to `stable`."""

    stable: str  # Service name
    canary: str  # Service name
    weight: int
    # A canary takes traffic (progressing or promoting). A router may leave out what only an idle canary would
    # route to: ingress-nginx's canary Ingress, whose backend without endpoints logs an ERROR on every request.
    in_flight: bool = True


@dataclass(frozen=True)
class Switch:
    """Blue-green: the host goes to `live`; the preview host, when there is one, to `preview`."""

    live: str  # Service name
    preview: str  # Service name
    preview_host: str | None
    preview_route: str  # name of the object that routes the preview host


@dataclass(frozen=True)
class RolloutRouting:
    """What an Argo Rollout canary needs from its router."""

    traffic_routing: JSON  # spec.strategy.canary.trafficRouting
    objects: tuple[Manifest, ...]  # what git declares for the controller to route through (and edit)
    header_routes: tuple[JSON, ...] = ()  # setHeaderRoute steps, in order, where the router takes them


@dataclass(frozen=True)
class FlaggerRouting:
    """What a Flagger Canary needs from its router."""

    provider: str  # spec.provider
    refs: JSON  # references written after targetRef (ingressRef for ingress-nginx)
    service: JSON  # fields added to spec.service (gatewayRefs, gateways, hosts)
    objects: tuple[Manifest, ...]  # what git writes besides the Canary (the Ingress Flagger copies)
    # An A/B test's `analysis.match` (flagger_match), in the router's terms; () for the other strategies.
    match: tuple[JSON, ...] = ()


@dataclass(frozen=True)
class Measured:
    """Where the built-in queries find the new version's requests."""

    subject: str  # ingress-nginx: the Ingress; istio and gateway-api: the Service of the new version
    canary_only: bool  # ingress-nginx: only the requests its balancer sent to the canary backend


# (metric, namespace, subject, window, *, canary_only, stable_only) -> PromQL, for a built-in metric or
# `requests` (the request count maxIncrease compares); canary_only/stable_only pick a track of a shared subject.
QueryBuilder = Callable[..., str]


@dataclass(frozen=True)
class Metrics:
    """A router's metrics, said once: the gates, Argo's AnalysisTemplates and Flagger's MetricTemplates derive
    what they measure from these."""

    query: QueryBuilder  # the built-in queries
    # The AnalysisTemplate argument naming what the built-ins measure, as the Rollout passes it: (release,
    # blue-green?) -> {"name": ..., "value" | "valueFrom": ...}; its name is also Flagger's placeholder for it.
    argument: Callable[[Release, bool], JSON]
    # The canary's requests are counted under stable's subject, told apart by a label (ingress-nginx: the main
    # Ingress, `canary!=""`); otherwise each version has its own subject, its Service.
    shared: bool = False
    flagger_builtins: bool = False  # Flagger's own request-success-rate/request-duration mean what ours do


@dataclass(frozen=True)
class Traffic:
    """Where the new version's requests and pods are, for the router's built-in queries and Flagger's
    placeholders in a custom query. The one record for the git gate (plan.gates.traffic: the real names) and
    Argo Rollouts' AnalysisTemplate (engines/argo_rollouts.py: the Rollout's `{{args.*}}`)."""

    namespace: str
    subject: str  # what the built-ins measure (Measured.subject): ingress-nginx the Ingress, others the Service
    canary_only: bool  # only the requests ingress-nginx routed to the canary backend of `subject`
    target: str  # the workload running the new version (Engine.new_version)
    service: str  # the apex name N, so `{{ service }}-canary` is the canary Service
    router: str = DEFAULT
    stable: str = ""  # routers measuring Services: stable's (names.stable_version), for maxIncrease


PLACEHOLDERS = ("namespace", "target", "ingress", "service", "interval")  # Flagger's, in a custom query


def placeholder_values(where: Traffic, window: str) -> dict[str, str]:
    """What each of Flagger's placeholders becomes: `ingress` names what the built-ins measure."""
    values = (where.namespace, where.target, where.subject, where.service, window)
    return dict(zip(PLACEHOLDERS, values))


def query(metric: Metric, where: Traffic, window: str) -> str:
    """The PromQL for `metric` over `window` (a PromQL range such as `5m`): the router's built-in, or the custom
    query with exactly Flagger's placeholders replaced as plain text (queries.substitute)."""
    metrics = router_for(where.router).metrics
    if metric.max_increase is not None:  # built-ins only (spec.checks.check_increase)
        more = metric.max_increase
        # A shared subject: both tracks under it (stable's is canary=""); otherwise the canary's and stable's own
        shared = metrics.shared
        stable = where.subject if shared else where.stable

        def side(name: str, subject: str, canary: bool) -> str:
            tracks = {"canary_only": shared and canary, "stable_only": shared and not canary}
            return metrics.query(name, where.namespace, subject, window, **tracks)

        return compare(
            side(metric.name, where.subject, True), side(metric.name, stable, False),
            side("requests", where.subject, True), side("requests", stable, False),
            ratio=more.ratio, delta=more.delta, min_requests=more.min_requests,
        )
    if metric.query is None:
        return metrics.query(metric.name, where.namespace, where.subject, window, canary_only=where.canary_only)
    return substitute(metric.query, placeholder_values(where, window))


@dataclass(frozen=True)
class Router:
    name: RouterName
    weighted: Callable[[Release, Environment, CanaryStrategy, Split], tuple[Manifest, ...]]
    switched: Callable[[Release, Environment, Switch], tuple[Manifest, ...]]
    rollout_canary: Callable[[Release, Environment, CanaryStrategy, Split], RolloutRouting]
    rollout_blue_green: Callable[[Release, Environment, Switch], tuple[Manifest, ...]]
    flagger: Callable[[Release, Environment], FlaggerRouting]
    metrics: Metrics
    ignore_rules: Callable[[Sequence[Manifest]], Iterator[JSON]]
    live_weight: Callable[[Sequence[Manifest], str], int | None]  # (built objects, release name)
    # Kustomize `configurations:` teaching kustomize the router objects' name references (to Services, and from
    # a Rollout), so an overlay's namePrefix/nameSuffix keeps them pointing at the renamed objects: file -> doc.
    kustomize_configurations: tuple[tuple[str, JSON], ...] = ()
    # What the route an Argo Rollouts controller owns (RouterFacts.controller_route) carries besides the weights and the
    # fields the API server defaults: {"port", "path", "host", "gateway"} (render/route_changes.py compares them).
    carried: Callable[[JSON], JSON] | None = None

    @property
    def facts(self) -> RouterFacts:
        """What the spec checks and the layers outside render switch on (generator/router_facts.py)."""
        return ROUTERS[self.name]

    def measured(self, release: Release, blue_green: bool) -> Measured:
        """What the built-ins measure: a blue-green preview's every request (its own route, `N-preview`); a
        canary's requests under stable's subject (`N`, the canary track), or its own Service `N-canary`."""
        if blue_green:
            return Measured(names.preview(release.name), False)
        shared = self.metrics.shared
        return Measured(release.name if shared else names.canary(release.name), shared)

    def flagger_subject(self) -> tuple[str, bool]:
        """Where a Flagger MetricTemplate's built-in query finds the canary's requests, in Flagger's placeholders,
        and whether only its track: the canary-labelled requests of the ingressRef (`{{ ingress }}`) for a shared
        subject, else the canary Service Flagger names `<target>-canary`."""
        return ("{{ ingress }}", True) if self.metrics.shared else ("{{ target }}-canary", False)


def router_for(name: str) -> Router:
    module = importlib.import_module(ROUTERS[name].module)
    router: Router = module.ROUTER
    return router


# -- helpers the router modules share --------------------------------------------------------------------------


def find(objects: Sequence[Manifest], kind: str, name: str) -> Manifest | None:
    for obj in objects:
        if obj.get("kind") == kind and obj.get("metadata", {}).get("name") == name:
            return obj
    return None


def rollouts(objects: Sequence[Manifest]) -> Iterator[Manifest]:
    return (o for o in objects if o.get("kind") == "Rollout")


def canary_traffic_routing(rollout: Manifest) -> JSON:
    routing: JSON = rollout.get("spec", {}).get("strategy", {}).get("canary", {}).get("trafficRouting", {})
    return routing


def group_of(obj: Manifest) -> str:
    return str(obj["apiVersion"]).rpartition("/")[0]


def ignore_route(
    objects: Sequence[Manifest], kind: str, name: str, routing: JSON, paths: tuple[str, str]
) -> JSON | None:
    """The Argo CD ignore rule for the route object `kind`/`name` a Rollout's controller edits: its weights
    (paths[1], a jq expression), or with managed header routes (setHeaderRoute), which add and remove whole
    routes, all its routes (paths[0], a JSON pointer). None when the overlay holds no such object."""
    route = find(objects, kind, name)
    if route is None:
        return None
    rule: JSON = {"group": group_of(route), "kind": kind, "name": name}
    if routing.get("managedRoutes"):
        rule["jsonPointers"] = [paths[0]]
    else:
        rule["jqPathExpressions"] = [paths[1]]
    return rule


def weighted_backends(
    objects: Sequence[Manifest], kind: str, name: str, routes: str, backends: str
) -> list[JSON] | None:
    """The stable and canary backends of the route object's weighted route: the one route (under spec.`routes`)
    with two backends (under `backends`); None when there is no such object or route. For `live_weight`."""
    route_object = find(objects, kind, name)
    if route_object is None:
        return None
    for route in route_object["spec"].get(routes, []):
        pair: list[JSON] = route.get(backends, [])
        if len(pair) == 2:
            return pair
    return None


# On the route objects the Argo Rollouts controller edits (the HTTPRoute's rules, the VirtualService's http: both
# atomic lists). Flux applies with server-side apply and forced ownership on every interval, which would put git's
# 100/0 back and delete the controller's header routes; IfNotPresent makes Flux create the object and then leave it
# alone (the Kustomization's spec.ignore would drop Flux's ownership of a list no other manager holds yet, and the
# API server would then delete it). Argo CD ignores the same fields through the Application (`ignore_rules`).
# What this costs: a later change to the route in git does not reach the cluster; see render/route_changes.py.
FLUX_CREATE_ONLY = {"kustomize.toolkit.fluxcd.io/ssa": "IfNotPresent"}


HEADER_ALWAYS = "always"  # the header value (and cookie value) that routes to the canary, as ingress-nginx has it


def cookie_pattern(cookie: str) -> str:
    """A regular expression on the Cookie header: the cookie `cookie` set to "always" (ingress-nginx's meaning).
    Cookie names are limited to [A-Za-z0-9-._~/:] by the schema; the regex-special '.' is escaped."""
    name = cookie.replace(".", r"\.")
    return rf"(^|.*;\s*){name}=always(;.*|$)"


def name_reference(kind: str, api_version: str, fields: tuple[tuple[str, str], ...]) -> JSON:
    """A kustomize nameReference: `kind` at `api_version` is named by these (referring kind, path) fields."""
    group, _, version = api_version.rpartition("/")
    ref: JSON = {"kind": kind}
    if group:
        ref["group"] = group
    ref["version"] = version
    ref["fieldSpecs"] = [{"path": path, "kind": referrer} for referrer, path in fields]
    return ref


HEADER_ROUTE = "canary-header"


COOKIE_ROUTE = "canary-cookie"


# Declared by a call, the field types as objects (see generator.errors.Problem).
class Match(NamedTuple("Match", [("name", str), ("header", str), ("value", str), ("regex", bool), ("canary", bool)])):
    """One header condition of a canary's routing, as a route of gateway-api or istio carries it.

    name: the route's name where routes are named (istio): canary-header, stable-header, ...; header: the header's
    name (`Cookie` for the cookie); value: the exact value, or with `regex` a regular expression; canary: matching
    requests go to the canary, else to stable.
    """

    __slots__ = ()


def header_matches(strategy: CanaryStrategy) -> list[Match]:
    """ingress-nginx's meaning, for the routers that spell it out as routes: the header with its value (else
    "always") or the cookie set to "always" reach the canary; the header value "never" (when no value is set)
    and the cookie value "never" keep a request on stable. In this order, before the weighted route."""
    out: list[Match] = []
    if strategy.header:
        out.append(Match(HEADER_ROUTE, strategy.header, strategy.header_value or HEADER_ALWAYS, False, True))
        if strategy.header_value is None:
            out.append(Match("stable-header", strategy.header, "never", False, False))
    if strategy.cookie:
        pattern = cookie_pattern(strategy.cookie)
        out.append(Match(COOKIE_ROUTE, "Cookie", pattern, True, True))
        out.append(Match("stable-cookie", "Cookie", pattern.replace("=always", "=never"), True, False))
    return out


def set_header_routes(strategy: CanaryStrategy) -> Iterator[JSON]:
    """setHeaderRoute steps (Argo Rollouts), shared by the Gateway API plugin and Istio: the header_matches that
    reach the canary (the controller's routes lead only there)."""
    for found in header_matches(strategy):
        if found.canary:
            value = {"regex" if found.regex else "exact": found.value}
            match = [{"headerName": found.header, "headerValue": value}]
            yield {"setHeaderRoute": {"name": found.name, "match": match}}


def flagger_match(release: Release, *, lower_case: bool = False, cookie_key: bool = False) -> tuple[JSON, ...]:
    """A Flagger A/B test's `match`: the header with its value (else "always"), and the cookie set to "always".
    ingress-nginx takes one header and one cookie condition, and Flagger reads its `cookie` key as the cookie's
    name (canary-by-cookie: `cookie_key`); Istio and the Gateway API match the Cookie header itself, by a regular
    expression; Istio matches header names in lower case (`lower_case`)."""
    strategy = release.strategy
    if not isinstance(strategy, ABTestStrategy):
        return ()
    out: list[JSON] = []
    if strategy.header:
        header = strategy.header.lower() if lower_case else strategy.header
        out.append({"headers": {header: {"exact": strategy.header_value or HEADER_ALWAYS}}})
    if strategy.cookie and cookie_key:
        out.append({"headers": {"cookie": {"exact": strategy.cookie}}})
    elif strategy.cookie:
        out.append({"headers": {"cookie": {"regex": cookie_pattern(strategy.cookie)}}})
    return tuple(out)
