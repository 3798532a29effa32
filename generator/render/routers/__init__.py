"""The router seam: what carries the traffic split between the stable and the new version.

An engine decides *when* traffic moves (git commits, Argo Rollouts, Flagger); a router decides *how* it is
expressed (ingress-nginx canary Ingresses, a Gateway API HTTPRoute, an Istio VirtualService). Every engine asks
the router of its release, `router_for(release.router)`, for:

- the objects the router writes for plain Deployments, whose weights rollgen sets (`weighted`, `switched`);
- what an Argo Rollout needs (`rollout_canary`: `trafficRouting`, the objects the controller edits, header
  routes; `rollout_blue_green`: the objects in front of the active and preview Services);
- what a Flagger Canary needs (`flagger`: `provider`, references, `service` fields, the objects it reads);
- the built-in metric queries (`builtin_query`) and what they measure (`measured`);
- the Argo CD ignore rules for the fields a controller changes after git declared them (`ignore_rules`);
- how the live weight is read back from a built overlay (`live_weight`).

Adding a router is one module exposing `ROUTER`, one line in `ROUTERS`, and the schema's `spec.router` enum
(docs/DESIGN.md "Routers"). Modules are imported on first use, like the engines.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Sequence
from generator.records import dataclass
from typing import Any

from generator.model import CanaryStrategy, Environment, Release, RouterName

Manifest = dict[str, Any]
JSON = dict[str, Any]

DEFAULT: RouterName = "ingress-nginx"


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
    builtin_metrics: bool  # Flagger's own request-success-rate/request-duration mean what ours do
    # Where a MetricTemplate's built-in query finds the canary's requests, in Flagger's placeholders: the canary
    # Service Flagger names `<target>-canary`, or (ingress-nginx) the canary-labelled requests of the ingressRef.
    query_subject: str = "{{ target }}-canary"
    query_canary_only: bool = False


@dataclass(frozen=True)
class Measured:
    """Where the built-in queries find the new version's requests."""

    subject: str  # ingress-nginx: the Ingress; istio and gateway-api: the Service of the new version
    canary_only: bool  # ingress-nginx: only the requests its balancer sent to the canary backend


QueryBuilder = Callable[..., str]  # (metric, namespace, subject, window, *, canary_only) -> PromQL


@dataclass(frozen=True)
class Router:
    name: RouterName
    weighted: Callable[[Release, Environment, CanaryStrategy, Split], tuple[Manifest, ...]]
    switched: Callable[[Release, Environment, Switch], tuple[Manifest, ...]]
    rollout_canary: Callable[[Release, Environment, CanaryStrategy, Split], RolloutRouting]
    rollout_blue_green: Callable[[Release, Environment, Switch], tuple[Manifest, ...]]
    flagger: Callable[[Release, Environment], FlaggerRouting]
    measured: Callable[[Release, bool], Measured]  # (release, blue-green?)
    builtin_query: QueryBuilder
    ignore_rules: Callable[[Sequence[Manifest]], Iterator[JSON]]
    live_weight: Callable[[Sequence[Manifest], str], int | None]  # (built objects, release name)
    # The AnalysisTemplate argument naming what the built-ins measure, as the Rollout passes it: (release,
    # blue-green?) -> {"name": ..., "value" | "valueFrom": ...}; its name is the query's placeholder.
    analysis_arg: Callable[[Release, bool], JSON]
    # Kustomize `configurations:` teaching kustomize the router objects' name references (to Services, and from
    # a Rollout), so an overlay's namePrefix/nameSuffix keeps them pointing at the renamed objects: file -> doc.
    kustomize_configurations: tuple[tuple[str, JSON], ...] = ()


ROUTERS: dict[str, str] = {
    "ingress-nginx": "generator.render.routers.ingress_nginx",
    "gateway-api": "generator.render.routers.gateway_api",
    "istio": "generator.render.routers.istio",
}


def router_for(name: str) -> Router:
    module = importlib.import_module(ROUTERS[name])
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


def set_header_routes(strategy: CanaryStrategy) -> Iterator[JSON]:
    """setHeaderRoute steps (Argo Rollouts), shared by the Gateway API plugin and Istio."""
    if strategy.header:
        value = strategy.header_value or HEADER_ALWAYS
        match = [{"headerName": strategy.header, "headerValue": {"exact": value}}]
        yield {"setHeaderRoute": {"name": HEADER_ROUTE, "match": match}}
    if strategy.cookie:
        match = [{"headerName": "Cookie", "headerValue": {"regex": cookie_pattern(strategy.cookie)}}]
        yield {"setHeaderRoute": {"name": COOKIE_ROUTE, "match": match}}
