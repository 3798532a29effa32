"""Git progression through the Gateway API and Istio routers, against real git (a bare remote and a clone) and a
real `kubectl kustomize`: after every commit the built overlay shows the live weight where CONTRACT section 3
says it is (the HTTPRoute's canary backendRef, the VirtualService's canary destination, the Rollout's first
setWeight), and the commit's trailers record the same weight."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generator.render.routers import router_for
from tests import factories
from tests.live_models import envoy_503s
from tests.factories import V1, V2, ConfigRepo, assert_commit, at, find, image_of

ROUTING = {
    "gateway-api": "  router: gateway-api\n  gateway: {name: public, namespace: gateways}\n",
    "istio": "  router: istio\n  istio: {gateways: [istio-system/public-gateway]}\n",
}
ROUTE_KIND = {"gateway-api": "HTTPRoute", "istio": "VirtualService"}


def spec_text(image: str, engine: str, router: str) -> str:
    strategy = ("    canary:\n      steps: [{weight: 10, pause: 5m}, {weight: 25, pause: 10m}, {weight: 50}]\n"
                "      header: X-Canary\n")
    return factories.spec_text(image, engine, strategy, routing=ROUTING[router])


def weight(router: str, objects: list[dict[str, Any]]) -> int | None:
    return router_for(router).live_weight(objects, "hello")


class Envoy:
    """The built overlay after each commit, and the 503s each commit's apply would cause (live_models.envoy_503s)."""

    def __init__(self, repo: ConfigRepo) -> None:
        self.repo, self.objects = repo, repo.build()
        self.failures: list[str] = []

    def commit(self) -> list[dict[str, Any]]:
        after = self.repo.build()
        self.failures += [f"{self.repo.trailers()['Rollgen-Action']} {self.repo.trailers()['Rollgen-Step']}: {f}"
                          for f in envoy_503s(self.objects, after)]
        self.objects = after
        return after


@pytest.mark.parametrize("router", ["gateway-api", "istio"])
def test_deployments_lifecycle(repo: ConfigRepo, router: str) -> None:
    repo.write_spec(spec_text(V1, "deployments", router))
    assert repo.release()[0] == 0
    assert_commit(repo, "deploy", "0/3", 100, V1)
    objects = repo.build()
    assert weight(router, objects) == 0
    assert not any(o["kind"] == "Ingress" for o in objects)
    envoy = Envoy(repo)

    # was: the start gave the canary 10% and its first pods at once (503s until they were Ready)
    repo.write_spec(spec_text(V2, "deployments", router), "v2")
    assert repo.release(now=at(0))[0] == 0
    assert_commit(repo, "start", "0/3", 0, V2)
    objects = envoy.commit()
    assert weight(router, objects) == 0
    assert find(objects, "Deployment", "hello-canary")["spec"]["replicas"] == 1
    assert image_of(find(objects, "Deployment", "hello-canary")) == V2
    assert "start with no traffic" in repo.act("advance", now=at(0.5))[1]  # the settle delay: pods get Ready
    assert repo.act("advance", now=at(1))[0] == 0
    assert_commit(repo, "step", "1/3", 10, V2)
    objects = envoy.commit()
    assert weight(router, objects) == 10
    # the header route is live while the canary takes traffic
    assert len(_routes(router, find(objects, ROUTE_KIND[router], "hello"))) == 3

    for minutes, live, step in ((6, 25, "2/3"), (16, 50, "3/3")):
        assert repo.act("advance", now=at(minutes))[0] == 0
        assert_commit(repo, "step", step, live, V2)
        assert weight(router, envoy.commit()) == live

    # promotion: stable takes v2 while the canary keeps its weight; then the weight off; then the pods down
    assert repo.act("promote", now=at(20))[0] == 0
    assert_commit(repo, "promote", "3/3", 100, V2)
    objects = envoy.commit()
    assert weight(router, objects) == 50
    assert image_of(find(objects, "Deployment", "hello")) == V2
    assert repo.act("advance", now=at(21))[0] == 0
    assert_commit(repo, "promote", "3/3", 100, V2)
    objects = envoy.commit()
    assert weight(router, objects) == 0
    assert find(objects, "Deployment", "hello-canary")["spec"]["replicas"] == 2  # still there
    assert repo.state()["phase"] == "promoting"
    assert "settles" in repo.act("advance", now=at(21.5))[1]
    assert repo.act("advance", now=at(22))[0] == 0
    assert_commit(repo, "promote", "3/3", 100, V2)
    objects = envoy.commit()
    assert find(objects, "Deployment", "hello-canary")["spec"]["replicas"] == 0
    assert len(_routes(router, find(objects, ROUTE_KIND[router], "hello"))) == 1
    assert repo.state()["phase"] == "stable"
    assert envoy.failures == []
    assert repo.render_check() == 0


@pytest.mark.parametrize("router", ["gateway-api", "istio"])
def test_deployments_abort(repo: ConfigRepo, router: str) -> None:
    repo.write_spec(spec_text(V1, "deployments", router))
    repo.release()
    repo.write_spec(spec_text(V2, "deployments", router), "v2")
    repo.release(now=at(0))
    assert repo.act("advance", now=at(1))[0] == 0
    envoy = Envoy(repo)
    assert weight(router, envoy.objects) == 10
    # one emergency commit takes the weight off; the pods stay until the next tick
    assert repo.act("abort", now=at(2))[0] == 0
    assert_commit(repo, "abort", "0/3", 0, V2)  # the image trailer names what was aborted
    objects = envoy.commit()
    assert weight(router, objects) == 0
    assert len(_routes(router, find(objects, ROUTE_KIND[router], "hello"))) == 1  # the header route is gone
    assert find(objects, "Deployment", "hello-canary")["spec"]["replicas"] == 1
    assert image_of(find(objects, "Deployment", "hello")) == V1
    assert "its pods stay until" in repo.act("advance", now=at(2.5))[1]
    assert repo.rollgen("advance", "--all", "--now", at(3))[0] == 0  # the scheduled tick finds it
    assert_commit(repo, "abort", "0/3", 0, V2)
    objects = envoy.commit()
    assert find(objects, "Deployment", "hello-canary")["spec"]["replicas"] == 0
    assert envoy.failures == []
    assert "was aborted" in repo.act("advance", now=at(4))[1]
    assert repo.render_check() == 0


@pytest.mark.parametrize("router", ["gateway-api", "istio"])
def test_argo_rollouts_git_lifecycle(repo: ConfigRepo, router: str) -> None:
    repo.write_spec(spec_text(V1, "argo-rollouts", router))
    repo.release()
    assert_commit(repo, "deploy", "0/3", 100, V1)
    objects = repo.build()
    assert _live_set_weight(objects) == 100
    # the route git declares stays at 100/0: the controller moves it
    assert weight(router, objects) == 0

    repo.write_spec(spec_text(V2, "argo-rollouts", router), "v2")
    repo.release(now=at(0))
    assert_commit(repo, "start", "1/3", 10, V2)
    objects = repo.build()
    rollout = find(objects, "Rollout", "hello")
    assert rollout["spec"]["strategy"]["canary"]["steps"] == [
        {"setWeight": 10},
        {"setHeaderRoute": {"name": "canary-header",  # Istio matches header names in lower case
                            "match": [{"headerName": "x-canary" if router == "istio" else "X-Canary",
                                       "headerValue": {"exact": "always"}}]}},
        {"pause": {}},
    ]
    assert image_of(rollout) == V2
    assert weight(router, objects) == 0

    for minutes, live, step in ((5, 25, "2/3"), (15, 50, "3/3")):
        assert repo.act("advance", now=at(minutes))[0] == 0
        assert_commit(repo, "step", step, live, V2)
        assert _live_set_weight(repo.build()) == live

    assert repo.act("promote", now=at(16))[0] == 0
    assert_commit(repo, "promote", "3/3", 100, V2)
    rollout = find(repo.build(), "Rollout", "hello")
    # the weight promoted from, held while the canary scales to every pod, then 100
    assert rollout["spec"]["strategy"]["canary"]["steps"] == [{"setWeight": 50}, {"setWeight": 100}]
    assert repo.state()["phase"] == "stable"


def _live_set_weight(objects: list[dict[str, Any]]) -> int:
    steps = find(objects, "Rollout", "hello")["spec"]["strategy"]["canary"]["steps"]
    return int([step["setWeight"] for step in steps if "setWeight" in step][-1])  # CONTRACT section 3: the last


def _routes(router: str, obj: dict[str, Any]) -> list[Any]:
    routes: list[Any] = obj["spec"]["rules" if router == "gateway-api" else "http"]
    return routes


@pytest.mark.parametrize("router", ["gateway-api", "istio"])
def test_the_envoy_model_sees_weight_and_pods_moved_in_one_commit(tmp_path: Path, router: str) -> None:
    """What the old single-commit start, promotion and abort did is 503s by live_models.envoy_503s; the
    ready-first commits are not."""
    from generator.cli import main
    from generator.model import EnvState, Image
    from tests.validators import kustomize_build, write_state

    spec = tmp_path / "hello.yaml"
    spec.write_text(spec_text(V1, "deployments", router))
    v1, v2 = Image.parse(V1), Image.parse(V2)

    def built(state: EnvState) -> list[dict[str, Any]]:
        out = tmp_path / "out"
        assert main(["render", str(spec), "--out", str(out)]) == 0
        write_state(out / "apps" / "hello", "prod", state)
        assert main(["render", str(spec), "--out", str(out)]) == 0
        return kustomize_build(out / "apps" / "hello" / "overlays" / "prod")

    stable = built(EnvState("stable", v1))
    warm = built(EnvState("progressing", v1, v2, step=0, weight=0))
    first = built(EnvState("progressing", v1, v2, step=1, weight=10))
    aborted_now = built(EnvState("aborted", v1, v2, step=0))
    def starved(failures: list[str]) -> list[str]:
        return [failure.split(":")[0] for failure in failures]

    assert starved(envoy_503s(stable, first)) == ["hello-canary"]  # the old start
    assert starved(envoy_503s(first, aborted_now)) == ["hello-canary"]  # the old abort
    assert envoy_503s(stable, warm) == [] and envoy_503s(warm, first) == []
    drained = built(EnvState("aborted", v1, v2, step=1))
    assert envoy_503s(first, drained) == [] and envoy_503s(drained, aborted_now) == []
