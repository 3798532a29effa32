"""Meaning checks for spec.router, spec.gateway and spec.istio: what a router cannot do is refused, located.

Run by checks.check on the spec as written (`engine: nginx` is a choice of router too), before the engine rules
(which see it as `deployments`: spec.findings.with_engine_name).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from generator.spec.findings import INGRESS_PLACEHOLDERS, Finding, JsonPath, engine_name, strategy_kind
from generator.facts import BUILTIN_METRICS, has
from generator.router_facts import DEFAULT, ROUTERS, RouterFacts, facts

Data = dict[str, Any]


def router(data: Data) -> str:
    return str(data["spec"].get("router", DEFAULT))


def router_facts(data: Data) -> RouterFacts:
    return facts(router(data))


def check_router(data: Data) -> Iterator[Finding]:
    yield from check_nginx_engine(data)
    yield from check_sections(data)
    if not router_facts(data).ingress:
        yield from check_ingress_settings(data)
        yield from check_sticky(data)
        yield from check_metrics(data)
        yield from check_flagger_preview(data)
        yield from check_rollouts_istio_header_path(data)


def check_nginx_engine(data: Data) -> Iterator[Finding]:
    chosen = router(data)
    if data["spec"]["engine"] == "nginx" and chosen != DEFAULT:
        yield Finding(
            ("spec", "router"),
            f"engine nginx means plain Deployments routed by ingress-nginx, not {chosen}: "
            f"use engine: deployments with router: {chosen}",
        )


def check_sections(data: Data) -> Iterator[Finding]:
    spec, chosen = data["spec"], router(data)
    owners: dict[str, str] = {}  # settings block -> the first router it configures
    for owner, found in ROUTERS.items():
        if found.section:
            owners.setdefault(found.section, owner)
    for section, owner in owners.items():
        if section in spec and facts(chosen).section != section:
            yield Finding(
                ("spec", section),
                f"{section} configures router {owner}, and this release uses {chosen}: "
                f"remove {section}, or set router: {owner}",
                at_key=True,
            )
    own = facts(chosen)
    if own.section_needed and own.section not in spec:
        yield Finding(("spec", "router"), f"router {chosen} {own.section_needed}")


def check_ingress_settings(data: Data) -> Iterator[Finding]:
    ingress, chosen = data["spec"]["ingress"], router(data)
    for key, why in (
        ("className", "the ingress class is an ingress-nginx setting"),
        ("tlsSecret", "TLS is terminated by the Gateway's listener (or the Istio Gateway), not per route"),
    ):
        if key in ingress:
            yield Finding(("spec", "ingress", key), f"{why}; with router {chosen}: remove {key}", at_key=True)
    if ingress.get("pathType") == "ImplementationSpecific":
        yield Finding(
            ("spec", "ingress", "pathType"),
            f"router {chosen} matches paths by Prefix or Exact only: use one of them",
        )
    blue_green = data["spec"]["strategy"].get("blueGreen", {})
    if "previewTlsSecret" in blue_green:
        yield Finding(
            ("spec", "strategy", "blueGreen", "previewTlsSecret"),
            f"with router {chosen} the Gateway terminates TLS for the preview host too: remove previewTlsSecret",
            at_key=True,
        )


def check_sticky(data: Data) -> Iterator[Finding]:
    canary = data["spec"]["strategy"].get("canary", {})
    if not canary.get("sticky") or not has(engine_name(data), "sticky"):  # refused for every router (checks)
        return
    why = router_facts(data).no_sticky
    if not why:
        return
    yield Finding(("spec", "strategy", "canary", "sticky"), f"{why}: remove sticky, or use router ingress-nginx")


def check_metrics(data: Data) -> Iterator[Finding]:
    """Gateway API defines no metrics: the built-ins need the Gateway's implementation named. And no router
    but ingress-nginx has an Ingress for `{{ ingress }}` to name."""
    spec = data["spec"]
    implementation = spec.get("gateway", {}).get("implementation")
    written: list[tuple[JsonPath, Any]] = [
        (("spec", "analysis", "metrics", i), m) for i, m in enumerate(spec.get("analysis", {}).get("metrics", []))
    ]
    for e, entry in enumerate(spec.get("environments") or []):  # an environment's own metrics (its analysis)
        own = entry.get("analysis", {}).get("metrics", [])
        written += [(("spec", "environments", e, "analysis", "metrics", i), m) for i, m in enumerate(own)]
    for at, metric in written:
        if metric["name"] in BUILTIN_METRICS and router_facts(data).builtins_need_implementation and implementation is None:
            yield Finding(
                (*at, "name"),
                f"the Gateway API defines no metrics, so the built-in {metric['name']!r} needs to know what runs "
                "the Gateway: set gateway.implementation: istio, or give this metric another name and a query "
                "for your Gateway's metrics",
            )
        if any(token in metric.get("query", "") for token in INGRESS_PLACEHOLDERS):
            yield Finding(
                (*at, "query"),
                f"{{{{ ingress }}}} names the Ingress the metrics read, and router {router(data)} writes none: "
                "use {{ service }} (the apex Service) or {{ target }} instead",
            )


def check_flagger_preview(data: Data) -> Iterator[Finding]:
    """Flagger's blue-green preview host is an extra Ingress, which only ingress-nginx has."""
    if has(engine_name(data), "preview-route") or strategy_kind(data) != "blueGreen":
        return
    blue_green = data["spec"]["strategy"]["blueGreen"]
    places: list[tuple[str | int, ...]] = []
    if "previewHost" in blue_green:
        places.append(("spec", "strategy", "blueGreen", "previewHost"))
    places += [
        ("spec", "environments", index, "previewHost")
        for index, entry in enumerate(data["spec"].get("environments", []))
        if "previewHost" in entry
    ]
    for at in places:
        yield Finding(
            at,
            f"Flagger with router {router(data)} routes only the main host (it writes the routes itself): "
            "remove previewHost, or use engine argo-rollouts or deployments for a preview host",
            at_key=True,
        )


def check_rollouts_istio_header_path(data: Data) -> Iterator[Finding]:
    """Argo Rollouts' Istio header routes (setHeaderRoute) match the header only, not the path (the controller's
    createHeaderRoute writes no uri match): with a path other than the whole host, the header would send every
    path of the host, other releases' too, to this canary. The controller's own limit: refused."""
    canary = data["spec"]["strategy"].get("canary", {})
    matched = canary.get("header") or canary.get("cookie")
    if (not has(engine_name(data), "header-route-whole-host") or router_facts(data).rollout_header_routes_keep_path
            or not matched):
        return
    ingress = data["spec"]["ingress"]
    path, path_type = ingress.get("path", "/"), ingress.get("pathType", "Prefix")
    if path == "/" and path_type == "Prefix":
        return
    at = ("spec", "ingress", "path") if "path" in ingress else ("spec", "ingress", "pathType")
    yield Finding(
        at,
        f"Argo Rollouts' Istio header routes match the header only, not the path, so with path {path} "
        f"({path_type}) the canary header or cookie would route every path of the host to this canary: give the "
        "release its own host on path / (Prefix), or remove strategy.canary.header/cookie, or use engine "
        "deployments, whose header routes keep the path",
    )
