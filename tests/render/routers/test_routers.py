"""The engine x router matrix: every cell renders, builds with `kubectl kustomize`, and every built object holds
to the upstream CRDs (Gateway API HTTPRoute, Istio VirtualService, Argo Rollouts, Flagger) and Kubernetes' own
schemas; or the spec is refused, located, with a reason. The live weight is read back from the built overlay."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from generator.cli import main
from generator.errors import InvalidInput
from generator.model import EnvState, Image
from generator.render.routers import router_for
from generator.render.loading import load_release
from tests import factories, rules
from tests.validators import kustomize_build, validate_manifest, write_state

V1 = "ghcr.io/kmaster8/hello:v1"
V2 = Image("ghcr.io/kmaster8/hello", "v2", None)

ROUTING = {
    "gateway-api": "  router: gateway-api\n  gateway: {name: public, namespace: gateways, sectionName: https, implementation: istio}\n",
    "istio": "  router: istio\n  istio: {gateways: [istio-system/public-gateway, mesh]}\n",
    "ingress-nginx": "",
}
CANARY = (
    "  strategy:\n    canary:\n      steps: [{weight: 10, pause: 5m}, {weight: 25, pause: 5m}, {weight: 50, pause: 5m}]\n"
)
CANARY_MATCH = CANARY + "      header: X-Canary\n      cookie: canary\n"
BLUE_GREEN = "  strategy:\n    blueGreen: {previewHost: preview.hello.example.com, autoPromotion: 10m}\n"
BLUE_GREEN_FLAGGER = "  strategy:\n    blueGreen: {autoPromotion: 10m}\n"
AB_TEST = "  strategy:\n    abTest: {iterations: 5, header: X-Canary, cookie: canary}\n"
ANALYSIS = (
    "  analysis:\n    prometheus: http://prometheus.monitoring:9090\n    interval: 5m\n"
    "    metrics:\n      - {name: error-rate, max: 1}\n      - {name: latency, max: 500}\n"
    "      - {name: p99, query: 'histogram_quantile(0.99, sum(rate(x_bucket{namespace=\"{{ namespace }}\"}[1m])) by (le))', max: 1}\n"
)


def spec_text(engine: str, router: str, strategy: str, progression: str | None = None, extra: str = "") -> str:
    environments = "    - {name: staging, namespace: staging}\n    - {name: prod}\n"
    return factories.spec_text(V1, engine, strategy.removeprefix("  strategy:\n"), progression, routing=ROUTING[router],
                               settle=None, extra=extra, environments=environments)


# (engine, progression, strategy) rows; every one meets every router.
ROWS = {
    "deployments-canary": ("deployments", None, CANARY_MATCH + ANALYSIS),
    "deployments-bluegreen": ("deployments", None, BLUE_GREEN + ANALYSIS),
    "rollouts-git-canary": ("argo-rollouts", "git", CANARY_MATCH + ANALYSIS),
    "rollouts-controller-canary": ("argo-rollouts", "controller", CANARY_MATCH + ANALYSIS),
    "rollouts-bluegreen": ("argo-rollouts", "controller", BLUE_GREEN + ANALYSIS),
    "flagger-canary": ("flagger", None, CANARY + ANALYSIS),
    "flagger-abtest": ("flagger", None, AB_TEST + ANALYSIS),
    "flagger-bluegreen": ("flagger", None, BLUE_GREEN_FLAGGER),
}
ROUTERS = ("ingress-nginx", "gateway-api", "istio")


def render(spec: Path, out: Path) -> None:
    assert main(["render", str(spec), "--out", str(out)]) == 0


def rendered_cell(tmp_path: Path, text: str, progressing: bool) -> dict[str, list[dict[str, Any]]]:
    """Render (at step 2 of a canary when `progressing`), build every overlay; env -> built objects."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    spec = tmp_path / "hello.yaml"
    spec.write_text(text)
    out = tmp_path / "out"
    render(spec, out)
    if progressing:
        release = load_release(spec)
        for env in release.environments:
            state = EnvState("progressing", env.image, V2, step=2, weight=25, since="2025-01-01T00:00:00Z")
            write_state(out / "apps" / "hello", env.name, state)
        render(spec, out)
    return {env: kustomize_build(out / "apps" / "hello" / "overlays" / env) for env in ("staging", "prod")}


@pytest.mark.slow
@pytest.mark.parametrize("router", ROUTERS)
@pytest.mark.parametrize("row", sorted(ROWS))
def test_every_cell_builds_and_validates(tmp_path: Path, row: str, router: str) -> None:
    engine, progression, strategy = ROWS[row]
    if engine == "deployments" and router == "ingress-nginx":
        engine = "nginx"  # the old name, for the cell that has always existed
    git = engine in ("deployments", "nginx") or progression == "git"
    built = rendered_cell(tmp_path, spec_text(engine, router, strategy, progression), progressing=git)
    for env, objects in built.items():
        problems = [p for obj in objects for p in validate_manifest(obj)]
        problems += rules.check_all(objects, engine, router)
        assert problems == [], f"{row} x {router} ({env}):\n" + "\n".join(problems)
        kinds = {obj["kind"] for obj in objects}
        assert_router_objects(engine, router, kinds, objects)
        if git and "canary" in row:
            assert live_weight(engine, router, objects) == 25, (row, router, env)


def assert_router_objects(engine: str, router: str, kinds: set[str], objects: list[dict[str, Any]]) -> None:
    """Each router writes its own kind and no other router's; Flagger's gateway-api/istio routes are its own."""
    written = {"ingress-nginx": "Ingress", "gateway-api": "HTTPRoute", "istio": "VirtualService"}
    if engine == "flagger" and router != "ingress-nginx":
        assert not kinds & set(written.values()), kinds  # Flagger generates the HTTPRoute / VirtualService
        canary = next(o for o in objects if o["kind"] == "Canary")
        assert canary["spec"]["provider"] == {"gateway-api": "gatewayapi:v1", "istio": "istio"}[router]
        assert "ingressRef" not in canary["spec"]
        return
    assert written[router] in kinds, kinds
    assert not (kinds & set(written.values())) - {written[router]}, kinds


def live_weight(engine: str, router: str, objects: list[dict[str, Any]]) -> int | None:
    """CONTRACT section 3: the Rollout's last setWeight (argo-rollouts, git), else the router's weight."""
    if engine == "argo-rollouts":
        rollout = next(o for o in objects if o["kind"] == "Rollout")
        steps = rollout["spec"]["strategy"]["canary"]["steps"]
        return int([step["setWeight"] for step in steps if "setWeight" in step][-1])
    return router_for(router).live_weight(objects, "hello")


@pytest.mark.parametrize("router", ROUTERS)
@pytest.mark.parametrize("engine", ["deployments", "argo-rollouts", "flagger"])
def test_a_rolling_update_environment_is_routed_by_the_release_router(tmp_path: Path, engine: str, router: str) -> None:
    """environments[].strategy.rollingUpdate: one Deployment and Service, reached through the release's router."""
    if engine == "deployments" and router == "ingress-nginx":
        engine = "nginx"
    strategy = CANARY if engine == "flagger" else CANARY_MATCH
    text = spec_text(engine, router, strategy).replace(
        "- {name: staging, namespace: staging}",
        "- {name: staging, namespace: staging, strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}}",
    )
    objects = rendered_cell(tmp_path, text, progressing=False)["staging"]
    problems = [p for obj in objects for p in validate_manifest(obj)]
    assert problems == [], "\n".join(problems)
    kinds = sorted(o["kind"] for o in objects)
    route = {"ingress-nginx": "Ingress", "gateway-api": "HTTPRoute", "istio": "VirtualService"}[router]
    assert route in kinds and "Rollout" not in kinds and "Canary" not in kinds, kinds
    assert find(objects, "Deployment")["spec"]["strategy"]["type"] == "RollingUpdate"
    text_of_route = json.dumps(find(objects, route))
    assert '"hello"' in text_of_route and "hello-canary" not in text_of_route


# -- what each router writes ------------------------------------------------------------------------------------


SERVICE_REF = {"group": "", "kind": "Service"}  # stated, as the API server would default them


def built(tmp_path: Path, text: str, progressing: bool = True, env: str = "prod") -> list[dict[str, Any]]:
    return rendered_cell(tmp_path, text, progressing)[env]


def find(objects: list[dict[str, Any]], kind: str, name: str = "hello") -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def test_deployments_gateway_api_httproute(tmp_path: Path) -> None:
    objects = built(tmp_path, spec_text("deployments", "gateway-api", CANARY_MATCH))
    route = find(objects, "HTTPRoute")
    assert route["spec"]["parentRefs"] == [
        {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "public", "namespace": "gateways",
         "sectionName": "https"},
    ]
    assert route["spec"]["hostnames"] == ["hello.example.com"]
    rules = route["spec"]["rules"]
    # header and cookie rules first, each to one Service; the weighted rule last, its weights adding up to 100
    assert rules[0]["matches"][0]["headers"] == [{"type": "Exact", "name": "X-Canary", "value": "always"}]
    assert rules[0]["backendRefs"] == [{**SERVICE_REF, "name": "hello-canary", "port": 5000, "weight": 1}]
    assert rules[1]["backendRefs"] == [{**SERVICE_REF, "name": "hello", "port": 5000, "weight": 1}]  # X-Canary: never stays on stable
    assert rules[2]["matches"][0]["headers"][0]["type"] == "RegularExpression"
    assert re.search(rules[2]["matches"][0]["headers"][0]["value"], "a=b; canary=always")
    assert not re.search(rules[2]["matches"][0]["headers"][0]["value"], "canary=never")
    assert rules[-1] == {
        "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
        "backendRefs": [{**SERVICE_REF, "name": "hello", "port": 5000, "weight": 75},
                        {**SERVICE_REF, "name": "hello-canary", "port": 5000, "weight": 25}],
    }


def test_deployments_routes_only_weights_when_stable(tmp_path: Path) -> None:
    """No canary pods while stable: the match rules (which would fail those requests) are not written."""
    for router, kind, key in (("gateway-api", "HTTPRoute", "rules"), ("istio", "VirtualService", "http")):
        objects = built(tmp_path / router, spec_text("deployments", router, CANARY_MATCH), progressing=False)
        assert len(find(objects, kind)["spec"][key]) == 1
        assert router_for(router).live_weight(objects, "hello") == 0


def test_deployments_istio_virtual_service(tmp_path: Path) -> None:
    objects = built(tmp_path, spec_text("deployments", "istio", CANARY_MATCH))
    service = find(objects, "VirtualService")
    assert service["apiVersion"] == "networking.istio.io/v1"
    assert service["spec"]["hosts"] == ["hello.example.com"]
    assert service["spec"]["gateways"] == ["istio-system/public-gateway", "mesh"]
    http = service["spec"]["http"]
    assert http[0]["match"][0]["headers"] == {"x-canary": {"exact": "always"}}
    assert http[0]["route"] == [{"destination": {"host": "hello-canary", "port": {"number": 5000}}}]
    assert http[-1]["name"] == "primary"
    weights = [d["weight"] for d in http[-1]["route"]]
    assert weights == [75, 25] and sum(weights) == 100


def test_rollouts_gateway_api_plugin(tmp_path: Path) -> None:
    objects = built(tmp_path, spec_text("argo-rollouts", "gateway-api", CANARY_MATCH, "controller"), False)
    canary = find(objects, "Rollout")["spec"]["strategy"]["canary"]
    assert canary["trafficRouting"] == {
        "plugins": {"argoproj-labs/gatewayAPI": {
            "httpRoutes": [{"name": "hello", "useHeaderRoutes": True}], "namespace": "test"}},
        "managedRoutes": [{"name": "canary-header"}, {"name": "canary-cookie"}],
    }
    assert canary["steps"][0] == {"setWeight": 10}  # the header routes follow it: the canary has pods by then
    assert canary["steps"][1] == {
        "setHeaderRoute": {"name": "canary-header",
                           "match": [{"headerName": "X-Canary", "headerValue": {"exact": "always"}}]},
    }
    route = find(objects, "HTTPRoute")
    # one rule, stable and canary at 100 and 0: the plugin edits the weights
    assert route["spec"]["rules"] == [{
        "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
        "backendRefs": [{**SERVICE_REF, "name": "hello-stable", "port": 5000, "weight": 100},
                        {**SERVICE_REF, "name": "hello-canary", "port": 5000, "weight": 0}],
    }]


def test_rollouts_istio_virtual_service(tmp_path: Path) -> None:
    objects = built(tmp_path, spec_text("argo-rollouts", "istio", CANARY, "git"))
    canary = find(objects, "Rollout")["spec"]["strategy"]["canary"]
    assert canary["trafficRouting"] == {"istio": {"virtualService": {"name": "hello", "routes": ["primary"]}}}
    assert canary["steps"] == [{"setWeight": 10}, {"setWeight": 25}, {"pause": {}}]
    route = find(objects, "VirtualService")["spec"]["http"][0]["route"]
    assert [d["weight"] for d in route] == [100, 0]
    assert [d["destination"]["host"] for d in route] == ["hello-stable", "hello-canary"]


def test_flagger_fields_per_router(tmp_path: Path) -> None:
    gateway = find(built(tmp_path / "g", spec_text("flagger", "gateway-api", CANARY + ANALYSIS), False), "Canary")
    assert gateway["spec"]["service"]["gatewayRefs"] == [{"name": "public", "namespace": "gateways", "sectionName": "https"}]
    assert gateway["spec"]["service"]["hosts"] == ["hello.example.com"]
    objects = built(tmp_path / "i", spec_text("flagger", "istio", CANARY + ANALYSIS), False)
    canary = find(objects, "Canary")
    assert canary["spec"]["service"]["gateways"] == ["istio-system/public-gateway", "mesh"]
    # the built-ins through MetricTemplates carrying the Istio queries (Flagger's own request-duration is a P99)
    names = [m["name"] for m in canary["spec"]["analysis"]["metrics"]]
    assert names == ["error-rate", "latency", "p99"]
    template = find(objects, "MetricTemplate", "hello-error-rate")
    assert "istio_requests_total" in template["spec"]["query"]
    assert 'destination_service_name="{{ target }}-canary"' in template["spec"]["query"]


def test_argocd_ignores_exactly_what_the_controller_edits(tmp_path: Path) -> None:
    from generator.wiring import ignore_differences

    def rules(engine: str, router: str, strategy: str, progression: str | None) -> list[dict[str, Any]]:
        spec = tmp_path / f"{engine}-{router}-{len(strategy)}.yaml"
        spec.write_text(spec_text(engine, router, strategy, progression))
        release = load_release(spec)
        return ignore_differences(release, release.environment("prod"))

    route_rules = [r for r in rules("argo-rollouts", "gateway-api", CANARY, "git") if r["kind"] == "HTTPRoute"]
    assert route_rules == [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "hello",
                            "jqPathExpressions": [".spec.rules[].backendRefs[].weight"]}]
    managed = [r for r in rules("argo-rollouts", "gateway-api", CANARY_MATCH, "git") if r["kind"] == "HTTPRoute"]
    assert managed[0]["jsonPointers"] == ["/spec/rules"]  # the plugin adds rules for header routes
    istio = [r for r in rules("argo-rollouts", "istio", CANARY, "controller") if r["kind"] == "VirtualService"]
    assert istio == [{"group": "networking.istio.io", "kind": "VirtualService", "name": "hello",
                      "jqPathExpressions": [".spec.http[].route[].weight"]}]
    # rollgen itself writes the weights of plain Deployments: nothing is ignored
    assert rules("deployments", "gateway-api", CANARY_MATCH, None) == []
    assert rules("deployments", "istio", CANARY_MATCH, None) == []


# -- refused, located ---------------------------------------------------------------------------------------


def refusal(tmp_path: Path, text: str) -> list[str]:
    spec = tmp_path / "bad.yaml"
    spec.write_text(text)
    with pytest.raises(InvalidInput) as caught:
        load_release(spec)
    return [f"{p.line}:{p.column}: {p.path}: {p.message}" for p in caught.value.problems]


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        (spec_text("nginx", "istio", CANARY), "$.spec.router", "use engine: deployments with router: istio"),
        (spec_text("deployments", "gateway-api", CANARY + "      sticky: true\n"),
         "$.spec.strategy.canary.sticky", "experimental channel"),
        (spec_text("deployments", "istio", CANARY + "      sticky: true\n"), "$.spec.strategy.canary.sticky",
         "remove sticky"),
        (spec_text("deployments", "gateway-api", CANARY + ANALYSIS).replace(", implementation: istio", ""),
         "$.spec.analysis.metrics[0].name", "set gateway.implementation"),
        (spec_text("deployments", "ingress-nginx", CANARY).replace("spec:\n", "spec:\n  router: gateway-api\n", 1),
         "$.spec.router", "add gateway:"),
        (spec_text("deployments", "istio", CANARY).replace("{host: hello.example.com}",
                                                            "{host: hello.example.com, tlsSecret: t}"),
         "$.spec.ingress.tlsSecret", "remove tlsSecret"),
        (spec_text("deployments", "istio", CANARY).replace("  router: istio\n", ""), "$.spec.istio",
         "set router: istio"),
        (spec_text("flagger", "istio", BLUE_GREEN), "$.spec.strategy.blueGreen.previewHost", "remove previewHost"),
    ],
)
def test_what_a_router_cannot_do_is_refused(tmp_path: Path, text: str, where: str, says: str) -> None:
    problems = refusal(tmp_path, text)
    assert any(where in p and says in p for p in problems), json.dumps(problems, indent=1)


def test_router_rules_catch_broken_routes(tmp_path: Path) -> None:
    """The rules above can fail: each mutation of a good overlay is reported."""
    gateway = built(tmp_path / "g", spec_text("deployments", "gateway-api", CANARY_MATCH))
    route = find(gateway, "HTTPRoute")
    route["spec"]["rules"][-1]["backendRefs"][1]["weight"] = 30  # 75 + 30
    route["spec"]["rules"][0]["backendRefs"].append({"name": "nowhere", "port": 5000})
    found = rules.check_all(gateway, "deployments", "gateway-api")
    assert any("do not add up to 100" in line for line in found), found
    assert any("header match must route to one backend" in line for line in found), found
    assert any("'nowhere' is not a Service" in line for line in found), found

    istio = built(tmp_path / "i", spec_text("argo-rollouts", "istio", CANARY_MATCH, "git"))
    service = find(istio, "VirtualService")
    service["spec"]["http"][0]["route"][0]["weight"] = 90
    find(istio, "Rollout")["spec"]["strategy"]["canary"]["trafficRouting"].pop("managedRoutes")
    found = rules.check_all(istio, "argo-rollouts", "istio")
    assert any("must hold" in line for line in found), found
    assert any("is not in managedRoutes" in line for line in found), found

    flagger = built(tmp_path / "f", spec_text("flagger", "istio", CANARY), False)
    flagger.append({**service, "metadata": {**service["metadata"], "name": "hello"}})
    assert any("which Flagger generates" in line for line in rules.check_all(flagger, "flagger", "istio"))


@pytest.mark.parametrize("router", ["gateway-api", "istio"])
@pytest.mark.parametrize("engine", ["deployments", "argo-rollouts", "flagger"])
def test_init_writes_a_working_release_per_router(tmp_path: Path, engine: str, router: str) -> None:
    """`rollgen init --router R` writes a release that validates, releases, and builds into valid objects."""
    repo = tmp_path / "config"
    assert main(["init", str(repo), "--engine", engine, "--router", router, "--gitops", "argocd"]) == 0
    spec = (repo / "releases/hello.yaml").read_text()
    assert f"engine: {engine}\n" in spec and f"router: {router}" in spec
    assert main(["release", str(repo / "releases/hello.yaml"), "--repo", str(repo)]) == 0
    for overlay in sorted((repo / "apps/hello/overlays").iterdir()):
        objects = kustomize_build(overlay)
        problems = [p for obj in objects for p in validate_manifest(obj)]
        problems += rules.check_all(objects, engine, router)
        assert problems == [], (overlay, problems)


@pytest.mark.parametrize("router", ["gateway-api", "istio"])
@pytest.mark.parametrize("engine", ["deployments", "argo-rollouts"])
def test_name_prefix_overlay_keeps_route_references(tmp_path: Path, engine: str, router: str) -> None:
    """An overlay on top of ours with namePrefix: kustomize renames the routes' Services and the Rollout's
    route reference with them (the router's kustomize configuration)."""
    progression = "git" if engine == "argo-rollouts" else None
    rendered_cell(tmp_path, spec_text(engine, router, CANARY_MATCH, progression), progressing=True)
    outer = tmp_path / "out" / "apps" / "hello" / "overlays" / "prefixed"
    outer.mkdir()
    (outer / "kustomization.yaml").write_text("resources: [../prod]\nnamePrefix: p-\n")
    objects = kustomize_build(outer)
    services = {o["metadata"]["name"] for o in objects if o["kind"] == "Service"}
    kind = {"gateway-api": "HTTPRoute", "istio": "VirtualService"}[router]
    route = find(objects, kind, "p-hello")
    if router == "gateway-api":
        backends = {ref["name"] for rule in route["spec"]["rules"] for ref in rule["backendRefs"]}
    else:
        backends = {d["destination"]["host"] for r in route["spec"]["http"] for d in r["route"]}
    assert backends and backends <= services, (backends, services)
    if engine == "argo-rollouts":
        routing = find(objects, "Rollout", "p-hello")["spec"]["strategy"]["canary"]["trafficRouting"]
        named = (routing["plugins"]["argoproj-labs/gatewayAPI"]["httpRoutes"][0]["name"] if router == "gateway-api"
                 else routing["istio"]["virtualService"]["name"])
        assert named == "p-hello"
    assert rules.check_all(objects, engine, router) == []


@pytest.mark.parametrize(
    ("engine", "strategy", "subject"),
    [("deployments", CANARY, "hello-canary"), ("deployments", BLUE_GREEN, "hello-preview"),
     ("argo-rollouts", CANARY, "hello-canary")],
)
def test_gates_measure_the_new_versions_service_with_istio(
    tmp_path: Path, engine: str, strategy: str, subject: str
) -> None:
    """`rollgen advance` asks the router: Istio's series of the Service that carries the new version."""
    from generator.plan import gates

    spec = tmp_path / "hello.yaml"
    spec.write_text(spec_text(engine, "istio", strategy + ANALYSIS, "git" if engine == "argo-rollouts" else None))
    release = load_release(spec)
    env = release.environment("prod")
    where = gates.traffic(release, env, EnvState("progressing", env.image, V2, step=1, weight=10))
    error_rate = next(m for m in release.analysis.metrics if m.name == "error-rate") if release.analysis else None
    assert error_rate is not None
    promql = gates.query(error_rate, where, "5m")
    assert promql == router_for("istio").metrics.query("error-rate", "test", subject, "5m")
    assert f'destination_service_name="{subject}"' in promql and "istio_requests_total" in promql
