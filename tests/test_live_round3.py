"""Issue 22, the Argo Rollouts, Argo CD and Flux items: what a live cluster does with the output, modelled.

Each test holds rendered output to a model of what the controller or API server does with it (tests/rollouts.py
models the Argo Rollouts controller's traffic routing, as tests/balancer.py models ingress-nginx), not to our own
expectations of the text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.render.routers.test_routers import BLUE_GREEN, CANARY, CANARY_MATCH, built, spec_text
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


# -- item 9: the ConfigMaps a previous pod template needs, kept and Synced ----------------------------------------


def argocd_after_sync(desired: list[dict[str, Any]], live: list[dict[str, Any]]) -> tuple[list[str], str]:
    """Argo CD's automated sync with prune, then its comparison: (what stays live, sync status).

    An object live but no longer in git is pruned unless `sync-options` holds Prune=false; one that stays is
    OutOfSync ("requires pruning") unless `compare-options` holds IgnoreExtraneous."""
    def key(obj: dict[str, Any]) -> str:
        return f"{obj['kind']}/{obj['metadata']['name']}"

    def option(obj: dict[str, Any], which: str) -> list[str]:
        value = obj["metadata"].get("annotations", {}).get(f"argocd.argoproj.io/{which}", "")
        return [part.strip() for part in value.split(",")]

    wanted = {key(o) for o in desired}
    extraneous = [o for o in live if key(o) not in wanted and "Prune=false" in option(o, "sync-options")]
    status = "Synced"
    if any("IgnoreExtraneous" not in option(o, "compare-options") for o in extraneous):
        status = "OutOfSync"
    return sorted(wanted | {key(o) for o in extraneous}), status


def test_a_config_change_keeps_the_old_configmap_and_the_app_synced(tmp_path: Path) -> None:
    config = "  config: {literals: {FEATURE: 'off'}}\n"
    before = built(tmp_path / "a", spec_text("argo-rollouts", "ingress-nginx", CANARY, "git", config), False)
    after = built(tmp_path / "b", spec_text("argo-rollouts", "ingress-nginx", CANARY, "git",
                                            config.replace("off", "on")), False)
    maps = [o["metadata"]["name"] for o in before + after if o["kind"] == "ConfigMap"]
    assert len(set(maps)) == 2  # a hashed name per content
    live, status = argocd_after_sync(after, before)
    assert sum(name.startswith("ConfigMap/") for name in live) == 2  # pods of the old template still read it
    assert status == "Synced"


def test_argocd_model_reports_a_lingering_object() -> None:
    """The model can fail: a kept object without IgnoreExtraneous leaves the app OutOfSync."""
    kept = {"kind": "ConfigMap", "metadata": {"name": "old", "annotations": {
        "argocd.argoproj.io/sync-options": "Prune=false"}}}
    assert argocd_after_sync([], [kept]) == (["ConfigMap/old"], "OutOfSync")
    assert argocd_after_sync([], [{"kind": "ConfigMap", "metadata": {"name": "x"}}]) == ([], "Synced")


# -- items 2 and 12: what the Rollouts controller routes, reconcile by reconcile ------------------------------------

STEPPED = CANARY_MATCH.replace("steps: [", "steps: [{weight: 5, pause: 5m}, ")  # 5, 10, 25, 50 of 10 pods


def rollout_steps(tmp_path: Path, router: str, progression: str, state: Any = None) -> list[dict[str, Any]]:
    from generator.model import EnvState
    from generator.render.engines.argo_rollouts import render
    from generator.render.loading import load_release

    spec = tmp_path / f"{router}-{progression}.yaml"
    spec.write_text(spec_text("argo-rollouts", router, STEPPED, progression).replace("replicas: 4", "replicas: 10"))
    release = load_release(spec)
    env = release.environment("prod")
    rollout = next(m for m in render(release, env, state or EnvState.initial(env)).manifests if m["kind"] == "Rollout")
    steps: list[dict[str, Any]] = rollout["spec"]["strategy"]["canary"]["steps"]
    return steps


@pytest.mark.parametrize("router", ["gateway-api", "istio"])
def test_controller_progression_keeps_its_header_routes(tmp_path: Path, router: str) -> None:
    """setHeaderRoute before the first setWeight runs while the canary has no pods: the controller removes the
    route again and never re-adds it. After a setWeight, the route holds through every pause."""
    from tests.rollouts import Controller

    steps = rollout_steps(tmp_path, router, "controller")
    controller = Controller(replicas=10, steps=steps)
    controller.run()
    header = {step["setHeaderRoute"]["name"] for step in steps if "setHeaderRoute" in step}
    assert header == {"canary-header", "canary-cookie"}
    first = min(i for i, step in enumerate(steps) if "setHeaderRoute" in step)
    held = [routes for index, _, routes in controller.trace if index > first]
    assert held and all(routes == header for routes in held), controller.trace


def test_controller_model_loses_a_header_route_set_too_early() -> None:
    from tests.rollouts import Controller

    early = [{"setHeaderRoute": {"name": "h"}}, {"setWeight": 10}, {"pause": {"duration": "1m"}}]
    controller = Controller(replicas=10, steps=early)
    controller.run()
    assert controller.trace[-1][2] == frozenset()


@pytest.mark.parametrize("router", ["gateway-api", "istio"])
def test_git_progression_keeps_the_previous_weight_while_the_canary_scales(tmp_path: Path, router: str) -> None:
    """One commit a step: the controller restarts at step 0 and scales the canary to the new weight's count.
    Until it has, the route carries the last setWeight before the current step: the previous weight, never 0."""
    from generator.model import EnvState, Image
    from tests.rollouts import Controller

    old, new = Image.parse("ghcr.io/kmaster8/hello:v1"), Image.parse("ghcr.io/kmaster8/hello:v2")
    weights = [5, 10, 25, 50]
    controller: Controller | None = None
    live = 0
    for step, weight in enumerate(weights, start=1):
        state = EnvState("progressing", old, new, step=step, weight=weight, since="2025-01-01T00:00:00Z")
        steps = rollout_steps(tmp_path, router, "git", state)
        if controller is None:
            controller = Controller(replicas=10, steps=steps)
        else:
            controller.trace.clear()
            controller.commit(steps)
        controller.run()
        routed = [w for _, w, _ in controller.trace]
        assert min(routed) >= live, (step, routed)  # never below what the last commit had reached
        assert routed[-1] == weight
        assert controller.trace[-1][2] == {"canary-header", "canary-cookie"}  # the header routes hold
        live = weight
    # the promotion commit, as the planner writes it: the canary scales to every pod, then takes everything
    from generator.clock import parse_rfc3339
    from generator.plan import progression
    from generator.render.loading import load_release

    release = load_release(tmp_path / f"{router}-git.yaml")
    env = release.environment("prod")
    current = EnvState("progressing", old, new, step=4, weight=50, since="2025-01-01T00:00:00Z")
    promoted = progression.plan_promote(release, env, current, parse_rfc3339("2025-01-01T01:00:00Z"))
    assert isinstance(promoted, progression.Transition) and promoted.state.phase == "stable"
    assert controller is not None
    controller.trace.clear()
    controller.commit(rollout_steps(tmp_path, router, "git", promoted.state))
    controller.run()
    routed = [w for _, w, _ in controller.trace]
    assert min(routed) >= live and routed[-1] == 100, routed


def test_controller_model_drops_to_zero_without_the_previous_weight() -> None:
    """The model can fail: a commit whose steps start with the new setWeight routes 0% while the canary scales."""
    from tests.rollouts import Controller

    controller = Controller(replicas=10, steps=[{"setWeight": 10}, {"pause": {}}])
    controller.run()
    controller.commit([{"setWeight": 50}, {"pause": {}}])
    controller.trace.clear()
    controller.run()
    assert 0 in [w for _, w, _ in controller.trace]


# -- item 13: Argo Rollouts' Istio header routes have no path --------------------------------------------------


def istio_route(http: list[dict[str, Any]], path: str, headers: dict[str, str]) -> str | None:
    """Istio's VirtualService matching: the first http route with a match that holds wins (a match's conditions
    all hold: uri prefix/exact, headers exact/regex; an absent condition holds)."""
    import re

    def holds(match: dict[str, Any]) -> bool:
        uri = match.get("uri", {})
        if "prefix" in uri and not path.startswith(uri["prefix"]):
            return False
        if "exact" in uri and path != uri["exact"]:
            return False
        for name, condition in match.get("headers", {}).items():
            value = headers.get(name)
            if value is None or ("exact" in condition and value != condition["exact"]):
                return False
            if "regex" in condition and not re.fullmatch(condition["regex"], value):
                return False
        return True

    for route in http:
        if any(holds(match) for match in route.get("match", [{}])):
            return str(route["route"][0]["destination"]["host"])
    return None


def controller_header_route(step: dict[str, Any]) -> dict[str, Any]:
    """What Argo Rollouts adds to the VirtualService for a setHeaderRoute (createHeaderRoute): the header
    conditions, no uri, to the canary, first in the list."""
    route = step["setHeaderRoute"]
    headers = {m["headerName"]: dict(m["headerValue"]) for m in route["match"]}
    return {"name": route["name"], "match": [{"headers": headers}],
            "route": [{"destination": {"host": "hello-canary"}, "weight": 100}]}


def test_istio_header_routes_of_argo_rollouts_cover_the_whole_host(tmp_path: Path) -> None:
    """Why the refusal: with path /api, the controller's header route also takes /web."""
    objects = built(tmp_path, spec_text("argo-rollouts", "istio", CANARY_MATCH, "controller"), False)
    service = next(o for o in objects if o["kind"] == "VirtualService")
    rollout = next(o for o in objects if o["kind"] == "Rollout")
    header = next(s for s in rollout["spec"]["strategy"]["canary"]["steps"] if "setHeaderRoute" in s)
    http = [controller_header_route(header), *service["spec"]["http"]]
    http[-1]["match"] = [{"uri": {"prefix": "/api"}}]  # as if the release had path /api
    assert istio_route(http, "/api/x", {}) == "hello-stable"
    assert istio_route(http, "/web", {}) is None  # another release's path: not this release's
    assert istio_route(http, "/web", {"x-canary": "always"}) == "hello-canary"  # ...but the header takes it


@pytest.mark.parametrize(
    ("ingress", "where"),
    [("{host: hello.example.com, path: /api}", "$.spec.ingress.path"),
     ("{host: hello.example.com, pathType: Exact}", "$.spec.ingress.pathType")],
)
def test_rollouts_istio_header_with_a_path_is_refused_located(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ingress: str, where: str
) -> None:
    from generator.cli import main

    spec = tmp_path / "hello.yaml"
    spec.write_text(spec_text("argo-rollouts", "istio", CANARY_MATCH, "git").replace(
        "{host: hello.example.com}", ingress))
    assert main(["validate", str(spec)]) == 1
    err = capsys.readouterr()
    lines = [line for line in (err.out + err.err).splitlines() if where in line]
    assert len(lines) == 1, err
    line_no = next(i for i, text in enumerate(spec.read_text().splitlines(), 1) if "ingress:" in text)
    assert lines[0].startswith(f"{spec}:{line_no}:"), lines
    assert "match the header only" in lines[0] and "own host on path /" in lines[0]


@pytest.mark.parametrize(
    ("engine", "progression", "strategy", "ingress"),
    [
        ("argo-rollouts", "git", CANARY_MATCH, "{host: api.example.com}"),  # its own host on /
        ("deployments", None, CANARY_MATCH, "{host: hello.example.com, path: /api}"),  # rollgen keeps the path
        ("argo-rollouts", "git", CANARY, "{host: hello.example.com, path: /api}"),  # no header routes
    ],
)
def test_the_ways_around_it_validate(
    tmp_path: Path, engine: str, progression: str | None, strategy: str, ingress: str
) -> None:
    from generator.cli import main

    spec = tmp_path / "hello.yaml"
    spec.write_text(spec_text(engine, "istio", strategy, progression).replace("{host: hello.example.com}", ingress))
    assert main(["validate", str(spec)]) == 0


# -- item 1: Flux leaves the routes the Rollouts controller edits alone ---------------------------------------------

SSA = "kustomize.toolkit.fluxcd.io/ssa"


def flux_reconcile(live: dict[tuple[str, str], dict[str, Any]], desired: list[dict[str, Any]]) -> None:
    """One kustomize-controller interval: server-side apply with forced ownership of every object git holds. An
    atomic list git sets (HTTPRoute spec.rules, VirtualService spec.http) is replaced by git's whole; an object
    annotated `ssa: IfNotPresent` is created when absent and otherwise left as it is, `ssa: Ignore` never applied."""
    import copy

    for obj in desired:
        key = (obj["kind"], obj["metadata"]["name"])
        mode = obj["metadata"].get("annotations", {}).get(SSA, "Override")
        if mode == "Ignore" or (mode == "IfNotPresent" and key in live):
            continue
        live[key] = copy.deepcopy(obj)


def controller_edits(route: dict[str, Any], weight: int) -> None:
    """What the Rollouts controller (or the Gateway API plugin) does to the route at a step with header routes:
    the canary weight, and a header route of its own in front."""
    if route["kind"] == "HTTPRoute":
        refs = route["spec"]["rules"][-1]["backendRefs"]
        refs[0]["weight"], refs[1]["weight"] = 100 - weight, weight
        header = {"matches": [{"headers": [{"name": "X-Canary", "value": "always"}]}], "backendRefs": [refs[1]]}
        route["spec"]["rules"].insert(0, header)
    else:
        destinations = route["spec"]["http"][-1]["route"]
        destinations[0]["weight"], destinations[1]["weight"] = 100 - weight, weight
        route["spec"]["http"].insert(0, {"name": "canary-header", "route": [destinations[1]]})


@pytest.mark.parametrize("progression", ["git", "controller"])
@pytest.mark.parametrize("router", ["gateway-api", "istio"])
def test_flux_keeps_what_the_rollouts_controller_wrote(tmp_path: Path, router: str, progression: str) -> None:
    kind = {"gateway-api": "HTTPRoute", "istio": "VirtualService"}[router]
    desired = built(tmp_path, spec_text("argo-rollouts", router, CANARY_MATCH, progression), progression == "git")
    live: dict[tuple[str, str], dict[str, Any]] = {}
    flux_reconcile(live, desired)  # the first apply creates everything, the route at 100/0
    route = live[(kind, "hello")]
    controller_edits(route, 25)
    edited = repr(route)
    for obj in desired:  # and git moves on: the Rollout still follows git
        if obj["kind"] == "Rollout":
            obj["metadata"].setdefault("labels", {})["moved"] = "yes"
    flux_reconcile(live, desired)
    assert repr(live[(kind, "hello")]) == edited  # weights and header route as the controller left them
    assert live[("Rollout", "hello")]["metadata"]["labels"]["moved"] == "yes"
    flagged = [o["kind"] for o in desired if SSA in o["metadata"].get("annotations", {})]
    assert flagged == [kind]  # exactly the object the controller edits


def test_flux_model_puts_gits_route_back_without_the_annotation() -> None:
    route = {"kind": "VirtualService", "metadata": {"name": "hello"},
             "spec": {"http": [{"name": "primary", "route": [{"weight": 100}, {"weight": 0}]}]}}
    live: dict[tuple[str, str], dict[str, Any]] = {}
    flux_reconcile(live, [route])
    controller_edits(live[("VirtualService", "hello")], 25)
    flux_reconcile(live, [route])
    assert live[("VirtualService", "hello")]["spec"] == route["spec"]  # the fight: git's 100/0, no header route


# -- item 5: a change to what a controller-owned route carries is refused, located --------------------------------


def argocd_sync(live: dict[str, Any] | None, desired: dict[str, Any], rules: list[dict[str, Any]]) -> dict[str, Any]:
    """Argo CD's sync of one object with RespectIgnoreDifferences: a created object is git's; on an existing one
    every ignored JSON pointer (and the atomic list around an ignored jq path) comes from the live object."""
    import copy

    if live is None:
        return copy.deepcopy(desired)
    out = copy.deepcopy(desired)
    for rule in rules:
        if rule["kind"] != desired["kind"] or rule["name"] != desired["metadata"]["name"]:
            continue
        pointers = list(rule.get("jsonPointers", []))
        # a jq path inside an atomic list: the list around it (.spec.rules[]... -> /spec/rules)
        lists = ["/" + "/".join(p.strip(".").split(".")[:2]) for p in rule.get("jqPathExpressions", [])]
        pointers += [pointer.replace("[]", "") for pointer in lists]
        for pointer in pointers:
            *parents, last = pointer.strip("/").split("/")
            source, target = live, out
            for key in parents:
                source, target = source[key], target[key]
            target[last] = copy.deepcopy(source[last])
    return out


@pytest.mark.parametrize("router", ["gateway-api", "istio"])
def test_argocd_never_applies_a_route_port_change(tmp_path: Path, router: str) -> None:
    """Why the refusal: the Services take the new port, the live route keeps the old one."""
    from generator.render.routers import router_for
    from generator.render.loading import load_release
    from generator.wiring import ignore_differences

    kind = {"gateway-api": "HTTPRoute", "istio": "VirtualService"}[router]
    text = spec_text("argo-rollouts", router, CANARY_MATCH, "git")
    before = next(o for o in built(tmp_path / "a", text, False) if o["kind"] == kind)
    after_objects = built(tmp_path / "b", text.replace("port: 5000", "port: 6000"), False)
    after = next(o for o in after_objects if o["kind"] == kind)
    spec = tmp_path / "b" / "hello.yaml"
    release = load_release(spec)
    rules = ignore_differences(release, release.environment("prod"))
    live = argocd_sync(argocd_sync(None, before, rules), after, rules)
    services = {o["metadata"]["name"]: o["spec"]["ports"][0]["port"] for o in after_objects if o["kind"] == "Service"}
    assert set(services.values()) == {6000}
    carried = router_for(router).carried
    assert carried is not None and carried(live)["port"] in ([5000], ["5000"])  # the live route still names the old port


@pytest.mark.parametrize("router", ["gateway-api", "istio"])
def test_a_released_route_change_is_refused_and_the_documented_way_works(
    git_remote: tuple[Path, Path], capsys: pytest.CaptureFixture[str], router: str
) -> None:
    import os

    from generator.cli import main
    from tests.factories import make_config_repo
    from tests.test_router_lifecycle import spec_text as lifecycle_spec

    repo = make_config_repo(git_remote[1], capsys)
    text = lifecycle_spec("ghcr.io/kmaster8/hello:v1", "argo-rollouts", router)
    repo.write_spec(text)
    assert repo.release()[0] == 0
    kind = {"gateway-api": "httproute", "istio": "virtualservice"}[router]
    route_file = repo.path / f"apps/hello/base/{kind}_hello.yaml"
    before = route_file.read_bytes()

    repo.write_spec(text.replace("port: 5000", "port: 6000"), "port")
    code, out, err = repo.release()
    assert code == 1, out + err
    line = next(i for i, t in enumerate(repo.spec.read_text().splitlines(), 1) if "port: 6000" in t)
    located = [x for x in err.splitlines() if x.startswith(f"releases/hello.yaml:{line}:")]
    assert located and "$.spec.service.port" in located[0] and "5000 -> 6000" in located[0], err
    assert "Changing a route Argo Rollouts owns" in located[0]
    assert route_file.read_bytes() == before  # nothing written

    cwd = Path.cwd()
    os.chdir(repo.path)
    try:
        assert main(["render", "releases/hello.yaml", "--out", "."]) == 1  # the render hook says the same
        route_file.unlink()  # the documented way: the live route changed by hand, the file removed
        assert main(["render", "releases/hello.yaml", "--out", "."]) == 0
    finally:
        os.chdir(cwd)
    assert b"6000" in route_file.read_bytes()


def test_a_route_change_of_an_unreleased_environment_is_not_refused(
    git_remote: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.factories import make_config_repo
    from tests.test_router_lifecycle import spec_text as lifecycle_spec

    repo = make_config_repo(git_remote[1], capsys)
    text = lifecycle_spec("ghcr.io/kmaster8/hello:v1", "argo-rollouts", "istio")
    repo.write_spec(text.replace("port: 5000", "port: 6000"))
    assert repo.release()[0] == 0  # the first release creates the route: nothing to keep
