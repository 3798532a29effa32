"""ingress-nginx: canary Ingresses and annotations. Delegates to the builders the engines have always used
(engines/common.py, engines/deployments.py, queries.py), so its output is today's, byte for byte."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from generator import names
from generator.render import queries
from generator.render.engines import common
from generator.model import CanaryStrategy, Environment, Release
from generator.render.routers import (
    JSON,
    FlaggerRouting,
    Manifest,
    Measured,
    RolloutRouting,
    Router,
    Split,
    Switch,
    find,
    flagger_match,
)

CANARY_WEIGHT = common.NGINX + "canary-weight"
STABLE_INGRESS_FIELD = "spec.strategy.canary.trafficRouting.nginx.stableIngress"


def weighted(release: Release, env: Environment, strategy: CanaryStrategy, split: Split) -> tuple[Manifest, ...]:
    """The main Ingress to the stable Service; the canary Ingress (named like the canary Service) repeats its
    host, path, pathType, class and TLS and carries the weight."""
    from generator.render.engines.deployments import canary_annotations

    stable = common.ingress(
        release.name, release, env, split.stable, env.host, common.stable_ingress_annotations(strategy)
    )
    if not split.in_flight:  # added by the commit that starts a canary, removed by the one that ends it
        return (stable,)
    canary = common.ingress(
        split.canary, release, env, split.canary, env.host, canary_annotations(strategy, split.weight)
    )
    return stable, canary


def switched(release: Release, env: Environment, switch: Switch) -> tuple[Manifest, ...]:
    out: tuple[Manifest, ...] = (common.ingress(release.name, release, env, switch.live, env.host),)
    if switch.preview_host:
        out += (common.preview_ingress(switch.preview_route, release, env, switch.preview, switch.preview_host),)
    return out


def rollout_canary(release: Release, env: Environment, strategy: CanaryStrategy, split: Split) -> RolloutRouting:
    """trafficRouting.nginx: the controller creates the canary Ingress from the stable one; header and cookie
    routing are annotations on it (setHeaderRoute is not supported with nginx)."""
    from generator.render.engines.argo_rollouts import _canary_ingress_annotations

    nginx: JSON = {"stableIngress": release.name}
    annotations = _canary_ingress_annotations(strategy)
    if annotations:
        nginx["additionalIngressAnnotations"] = annotations
    stable = common.ingress(
        release.name, release, env, split.stable, env.host, common.stable_ingress_annotations(strategy)
    )
    return RolloutRouting({"nginx": nginx}, (stable,))


def flagger(release: Release, env: Environment) -> FlaggerRouting:
    from generator.render.engines.flagger import ingresses

    ref = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": release.name}
    return FlaggerRouting(
        "nginx", {"ingressRef": ref}, {}, tuple(ingresses(release, env)), True, "{{ ingress }}", query_canary_only=True,
        match=flagger_match(release, cookie_key=True),
    )


def measured(release: Release, blue_green: bool) -> Measured:
    """Canary requests are counted under the main Ingress with a non-empty `canary` label (queries.py); a
    blue-green preview Ingress's requests all reach the new version."""
    if blue_green:
        return Measured(names.preview(release.name), False)
    return Measured(release.name, True)


def analysis_arg(release: Release, blue_green: bool) -> JSON:
    if blue_green:
        return {"name": "ingress", "value": names.preview(release.name)}
    return {"name": "ingress", "valueFrom": {"fieldRef": {"fieldPath": STABLE_INGRESS_FIELD}}}


def ignore_rules(objects: Sequence[Manifest]) -> Iterator[JSON]:
    """Argo Rollouts creates its canary Ingress itself and leaves the stable one alone: nothing to ignore."""
    return iter(())


def live_weight(objects: Sequence[Manifest], name: str) -> int | None:
    canary = find(objects, "Ingress", names.canary(name))
    if canary is None:  # no canary in flight: all traffic on the main Ingress
        return 0 if find(objects, "Ingress", name) is not None else None
    value = canary.get("metadata", {}).get("annotations", {}).get(CANARY_WEIGHT)
    return int(value) if value is not None else None


ROUTER = Router(
    name="ingress-nginx",
    weighted=weighted,
    switched=switched,
    rollout_canary=rollout_canary,
    rollout_blue_green=switched,
    flagger=flagger,
    measured=measured,
    builtin_query=queries.builtin_query,
    ignore_rules=ignore_rules,
    live_weight=live_weight,
    analysis_arg=analysis_arg,
)
