"""The router registry as data: each router's module, and the facts about it that code outside the router modules
switches on (the spec checks, the planner, the clash check, the route-change refusal, `rollgen init`).

Data only, no imports beyond the records: `rollgen validate` reads it (spec/routerchecks.py, spec/checks.py) and
must not import the renderers. The router's objects, queries and ignore rules are its module's `ROUTER`
(generator/render/routers/<router>.py), whose record reads these facts back as `Router.facts`.

Adding a router = its module, one entry in `ROUTERS` below, and the schema's `spec.router` enum (docs/DESIGN.md
"Routers"); tests/render/routers/test_routers.py holds that no router name is spelled anywhere else in the package.
"""

from __future__ import annotations

from generator.records import dataclass


@dataclass(frozen=True)
class RouterFacts:
    module: str  # the module exposing ROUTER
    # Its own settings block under spec (spec.gateway, spec.istio); None: it has none. `section_needed`: why the
    # router cannot do without it (refused when missing), "" when the block is optional.
    section: str | None = None
    section_needed: str = ""
    # It writes Ingress objects: ingress.className, ingress.tlsSecret, blueGreen.previewTlsSecret and pathType
    # ImplementationSpecific are its settings; a custom query's `{{ ingress }}` names one; Flagger's blue-green
    # preview host is an extra Ingress. Otherwise those are refused.
    ingress: bool = False
    # Why it cannot keep sticky canary sessions; "" when it can (then sticky and header/cookie routing exclude
    # each other: spec.checks.check_sticky_routing).
    no_sticky: str = ""
    # The built-in metrics are answered only when spec.gateway.implementation names what runs the Gateway.
    builtins_need_implementation: bool = False
    # Envoy weighted clusters are not health-aware: plain Deployments move pods and weight in separate commits
    # (plan.shapes.ready_first).
    ready_first: bool = False
    # Nested paths of one host are merged in creation order, not by longest match (gitops.clashes.overlap).
    nested_paths_by_creation: bool = False
    # The route object an Argo Rollouts canary's controller edits (render/route_changes.py); "" when the
    # controller creates its own objects instead.
    controller_route: str = ""
    # Argo Rollouts' header routes (setHeaderRoute) keep the release's path; False: they match the header only.
    rollout_header_routes_keep_path: bool = True
    # What carries its traffic weights, which a spec's patches must not change (spec/patch_checks.py): JSON 6902
    # paths (regular expressions), an annotation prefix, and (list, item field) pairs a strategic merge would set.
    owned_paths: tuple[str, ...] = ()
    owned_annotation: str = ""
    owned_lists: tuple[tuple[str, str], ...] = ()


DEFAULT = "ingress-nginx"  # spec.router's default

ROUTERS: dict[str, RouterFacts] = {
    "ingress-nginx": RouterFacts(
        "generator.render.routers.ingress_nginx",
        ingress=True,
        owned_paths=(r"^/metadata/annotations/nginx\.ingress\.kubernetes\.io~1canary",),
        owned_annotation="nginx.ingress.kubernetes.io/canary",
    ),
    "gateway-api": RouterFacts(
        "generator.render.routers.gateway_api",
        section="gateway",
        section_needed="attaches an HTTPRoute to a Gateway: add gateway: {name: ..., namespace: ...}",
        no_sticky=(
            "HTTPRoute sessionPersistence is in the Gateway API's experimental channel only (GEP-1619, Extended "
            "support, no conformance test), and the standard-channel HTTPRoute rollgen writes has no such field"
        ),
        builtins_need_implementation=True,
        ready_first=True,
        controller_route="HTTPRoute",
        owned_paths=(r"^/spec/rules/[^/]+/backendRefs(/|$)",),  # an HTTPRoute's weighted backends
        owned_lists=(("rules", "backendRefs"),),
    ),
    "istio": RouterFacts(
        "generator.render.routers.istio",
        section="istio",
        no_sticky="an Istio VirtualService weight split has no sticky canary sessions (consistent hashing ignores weights)",
        ready_first=True,
        nested_paths_by_creation=True,
        controller_route="VirtualService",
        rollout_header_routes_keep_path=False,
        owned_paths=(r"^/spec/http/[^/]+/route(/|$)",),  # a VirtualService's weighted destinations
        owned_lists=(("http", "route"),),
    ),
}


def facts(name: str) -> RouterFacts:
    return ROUTERS[name]

