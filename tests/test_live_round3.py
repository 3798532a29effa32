"""Issue 22, the Argo Rollouts, Argo CD and Flux items: what a live cluster does with the output, modelled.

Each test holds rendered output to a model of what the controller or API server does with it (tests/rollouts.py
models the Argo Rollouts controller's traffic routing, as tests/balancer.py models ingress-nginx), not to our own
expectations of the text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.test_routers import BLUE_GREEN, CANARY, CANARY_MATCH, built, spec_text
from tests.validators import with_server_defaults

# -- item 14: HTTPRoute backendRefs as the API server stores them -------------------------------------------------

ROUTE_CELLS = {
    "deployments-canary": ("deployments", None, CANARY_MATCH, True),
    "deployments-bluegreen": ("deployments", None, BLUE_GREEN, True),
    "rollouts-git-canary": ("argo-rollouts", "git", CANARY_MATCH, True),
    "rollouts-controller-canary": ("argo-rollouts", "controller", CANARY_MATCH, False),
    "rollouts-bluegreen": ("argo-rollouts", "controller", BLUE_GREEN, False),
}


@pytest.mark.parametrize("cell", sorted(ROUTE_CELLS))
def test_httproute_backend_refs_read_as_the_server_stores_them(tmp_path: Path, cell: str) -> None:
    """Argo CD's server-side diff compares the defaulted object: a backendRef without group, kind or weight
    would differ from what the API server stores (the CRD defaults "", Service, 1) on every refresh."""
    engine, progression, strategy, progressing = ROUTE_CELLS[cell]
    objects = built(tmp_path, spec_text(engine, "gateway-api", strategy, progression), progressing)
    routes = [o for o in objects if o["kind"] == "HTTPRoute"]
    assert routes
    for route in routes:
        stored = with_server_defaults(route)
        for rule, stored_rule in zip(route["spec"]["rules"], stored["spec"]["rules"], strict=True):
            assert rule["backendRefs"] == stored_rule["backendRefs"], route["metadata"]["name"]
            assert all({"group", "kind", "weight"} <= set(ref) for ref in rule["backendRefs"])


def test_server_defaults_model_fills_what_is_missing() -> None:
    """The defaulting model can fail: a bare backendRef gains exactly group, kind and weight."""
    route: dict[str, Any] = {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r"},
        "spec": {"rules": [{"backendRefs": [{"name": "s", "port": 80}]}]},
    }
    stored = with_server_defaults(route)
    assert stored["spec"]["rules"][0]["backendRefs"] == [
        {"name": "s", "port": 80, "group": "", "kind": "Service", "weight": 1}
    ]
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": "s", "port": 80}]  # not changed in place
