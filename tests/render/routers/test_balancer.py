"""Rendered ingress-nginx annotations held to balancer.lua's routing order (tests/balancer.py), issue 17 item 4."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.render import loading
from generator.render.engines import renderer_for
from generator.spec.loader import load_single
from generator.model import CanaryStrategy, EnvState, Image
from tests import balancer, rules
from tests.balancer import Request, Routing, route
from tests.factories import HELLO_STEPS, make_release

OLD, NEW = Image.parse("ghcr.io/kmaster8/hello:v1"), Image.parse("ghcr.io/kmaster8/hello:v2")
STEP = EnvState(phase="progressing", stable_image=OLD, canary_image=NEW, step=2, weight=20)
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

CANARY = {"canary": "true", "canary-weight": "20", "canary-by-header": "X-Canary", "canary-by-cookie": "canary"}


# -- the model follows REFERENCE.md's order ------------------------------------------------------------------


def test_header_then_cookie_then_weight() -> None:
    routing = Routing(main={}, canary=CANARY)
    assert route(routing, Request(headers={"X-Canary": "never"}, cookies={"canary": "always"}, roll=1)) == "stable"
    assert route(routing, Request(cookies={"canary": "always"}, roll=99)) == "canary"
    assert route(routing, Request(cookies={"canary": "never"}, roll=1)) == "stable"
    assert route(routing, Request(roll=20)) == "canary" and route(routing, Request(roll=21)) == "stable"


def test_affinity_comes_before_every_canary_rule() -> None:
    routing = Routing(main={"affinity": "cookie"}, canary=CANARY)
    pinned = {balancer.DEFAULT_SESSION_COOKIE: "x"}
    to_stable = Request(headers={"X-Canary": "always"}, cookies=pinned, roll=1, pinned="stable")
    to_canary = Request(headers={"X-Canary": "never"}, cookies=pinned, roll=100, pinned="canary")
    assert route(routing, to_stable) == "stable"
    assert route(routing, to_canary) == "canary"


def test_a_canary_without_ready_pods_takes_nothing() -> None:
    assert route(Routing(main={}, canary=CANARY, canary_ready=False), Request(headers={"X-Canary": "always"})) == "stable"


# -- the rule catches sticky + header/cookie, and the output now never has it -------------------------------


def _rendered(engine: str, strategy: CanaryStrategy) -> list[dict[str, object]]:
    release = make_release(engine=engine, progression="git", strategy=strategy)
    return list(renderer_for(engine)(release, release.environments[0], STEP).manifests)


@pytest.mark.parametrize("engine", ["deployments", "argo-rollouts"])
def test_sticky_with_header_routing_is_what_the_rule_catches(engine: str) -> None:
    """The combination issue 17 found in hello-nginx-canary: the renderer would write it if the checks let it."""
    docs = _rendered(engine, CanaryStrategy(steps=HELLO_STEPS, header="X-Canary", cookie="canary", sticky=True))
    found = rules.nginx_routes_reach_the_canary(docs)  # type: ignore[arg-type]
    assert len(found) == 2 and "pinned to stable" in found[0]


@pytest.mark.parametrize("engine", ["deployments", "argo-rollouts"])
@pytest.mark.parametrize("sticky", [False, True])
def test_routes_that_validation_accepts_reach_the_canary(engine: str, sticky: bool) -> None:
    routes = {} if sticky else {"header": "X-Canary", "header_value": "beta", "cookie": "canary"}
    docs = _rendered(engine, CanaryStrategy(steps=HELLO_STEPS, sticky=sticky, **routes))
    assert rules.nginx_routes_reach_the_canary(docs) == []  # type: ignore[arg-type]


def test_validation_refuses_sticky_with_header_or_cookie() -> None:
    problems = loading.check_document(load_single(EXAMPLES / "invalid" / "sticky-with-header.yaml"))
    assert [p.path for p in problems] == ["$.spec.strategy.canary.sticky"]
    assert "header and cookie routing" in problems[0].message
