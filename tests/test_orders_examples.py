"""The orders-api examples are one service on three engines: each environment lives in the same namespace in
every twin (the Flagger twin had prod in `shop-staging` and staging in `shop`, a slip from moving the examples'
environments into namespaces of their own)."""

from __future__ import annotations

from typing import Any

import yaml

from tests.conftest import EXAMPLES

TWINS = ("orders-api", "orders-api-rollouts", "orders-api-flagger")


def namespaces(stem: str) -> dict[str, str]:
    spec: dict[str, Any] = yaml.safe_load((EXAMPLES / f"{stem}.yaml").read_text(encoding="utf-8"))
    default = spec["metadata"]["namespace"]
    return {env["name"]: env.get("namespace", default) for env in spec["spec"]["environments"]}


def test_each_environment_has_the_same_namespace_in_every_twin() -> None:
    expected = {"dev": "shop-dev", "staging": "shop-staging", "prod": "shop"}
    for stem in TWINS:
        assert namespaces(stem) == expected, stem
