"""The deployments engine (routed by ingress-nginx) against every state, the ingress-nginx rules (REFERENCE.md) and the core Kubernetes schemas."""

from __future__ import annotations

import copy
import math
import re
from dataclasses import replace
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from generator.render.engines import Manifest, Rendered, renderer_for
from generator.render.engines.deployments import render
from generator.model import (
    ABTestStrategy,
    BlueGreenStrategy,
    Environment,
    EnvState,
    Image,
    Release,
)
from tests.render.engines import assert_ports_named
from tests.factories import CANARY_STRATEGIES, HELLO_STEPS, make_environment, make_release
from tests.rules import NGINX
from tests.rules import NGINX_CANARY_ANNOTATIONS as CANARY_ANNOTATIONS

# ingress-nginx honours only these besides the canary ones on a canary Ingress
HONOURED_ON_CANARY = {"load-balance", "upstream-hash-by", "affinity", "affinity-mode", "session-cookie-name"}
SAFE_VALUE = re.compile(r"^[A-Za-z0-9\-._~/:]+$")

OLD = Image.parse("ghcr.io/kmaster8/hello:v1")
NEW = Image.parse("ghcr.io/kmaster8/hello:v2")

STRATEGIES = CANARY_STRATEGIES

CANARY_STATES = {
    "stable": EnvState(phase="stable", stable_image=OLD),
    "step1": EnvState(phase="progressing", stable_image=OLD, canary_image=NEW, step=1, weight=5),
    "step2": EnvState(phase="progressing", stable_image=OLD, canary_image=NEW, step=2, weight=20),
    "step3": EnvState(phase="progressing", stable_image=OLD, canary_image=NEW, step=3, weight=50),
    "promoting": EnvState(phase="promoting", stable_image=NEW, canary_image=NEW, step=3, weight=50),
    "aborted": EnvState(phase="aborted", stable_image=OLD, canary_image=NEW),
}
IN_FLIGHT = ("step1", "step2", "step3", "promoting")  # the states with a canary Ingress

BG_STATES = {
    "stable-blue": EnvState(phase="stable", stable_image=OLD),
    "progressing-blue": EnvState(phase="progressing", stable_image=OLD, canary_image=NEW),
    "promoting-green": EnvState(phase="promoting", stable_image=NEW, canary_image=OLD, active_colour="green"),
    "stable-green": EnvState(phase="stable", stable_image=NEW, active_colour="green"),
    "aborted-blue": EnvState(phase="aborted", stable_image=OLD, canary_image=NEW),
    "progressing-green": EnvState(phase="progressing", stable_image=NEW, canary_image=OLD, active_colour="green"),
}


def canary_release(strategy: str = "header", **overrides: Any) -> Release:
    return make_release(engine="deployments", progression="git", strategy=STRATEGIES[strategy], **overrides)


def blue_green_release(
    preview_host: str | None = "preview.hello.example.com", preview_tls_secret: str | None = None, **overrides: Any
) -> Release:
    strategy = BlueGreenStrategy(preview_host=preview_host, preview_tls_secret=preview_tls_secret)
    return make_release(engine="deployments", progression="git", strategy=strategy, **overrides)


def default_env(release: Release) -> Environment:
    return release.environments[0]


def find(rendered: Rendered, kind: str, name: str) -> Manifest:
    matches = [m for m in rendered.manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def kinds_and_names(rendered: Rendered) -> list[tuple[str, str]]:
    return [(m["kind"], m["metadata"]["name"]) for m in rendered.manifests]


def annotations_of(obj: Manifest) -> dict[str, str]:
    result: dict[str, str] = obj["metadata"].get("annotations", {})
    return result


def nginx_annotations(obj: Manifest) -> dict[str, str]:
    return {k[len(NGINX) :]: v for k, v in annotations_of(obj).items() if k.startswith(NGINX)}


def the_path(ingress: Manifest) -> tuple[str, str, str, str]:
    """(host, path, pathType, backend Service) of an Ingress with one rule and one path."""
    (rule,) = ingress["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    return rule["host"], path["path"], path["pathType"], path["backend"]["service"]["name"]


def replicas(rendered: Rendered, name: str) -> int:
    value: int = find(rendered, "Deployment", name)["spec"]["replicas"]
    return value


def container_image(rendered: Rendered, name: str) -> str:
    (container,) = find(rendered, "Deployment", name)["spec"]["template"]["spec"]["containers"]
    image: str = container["image"]
    return image


def slots(rendered: Rendered) -> dict[str, Image]:
    return {slot.name: slot.image for slot in rendered.images}


def every_output() -> list[tuple[str, Release, EnvState]]:
    cases = [
        (f"canary-{s}-{st}", canary_release(s), state)
        for s in STRATEGIES
        for st, state in CANARY_STATES.items()
    ]
    cases += [(f"bg-{st}", blue_green_release(), state) for st, state in BG_STATES.items()]
    cases += [(f"bg-nopreview-{st}", blue_green_release(None), state) for st, state in BG_STATES.items()]
    cases.append(("canary-port-name", canary_release("all", service_port_name="web"), CANARY_STATES["step2"]))
    named = blue_green_release(preview_tls_secret="preview-tls", service_port_name="web")
    cases.append(("bg-port-name-preview-tls", named, BG_STATES["progressing-blue"]))
    return cases


EVERY = every_output()
EVERY_IDS = [case[0] for case in EVERY]


# -- rules that hold on every output ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("case", "release", "state"), EVERY, ids=EVERY_IDS)
def test_objects_are_valid_kubernetes(case: str, release: Release, state: EnvState) -> None:
    for obj in render(release, default_env(release), state).manifests:
        try:
            kubernetes_validate.validate(obj, "1.32", strict=True)
        except kubernetes_validate.ValidationError as err:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {err.message} at {list(err.absolute_path)}")


@pytest.mark.parametrize(("case", "release", "state"), EVERY, ids=EVERY_IDS)
def test_annotation_and_label_values_are_strings(case: str, release: Release, state: EnvState) -> None:
    for obj in render(release, default_env(release), state).manifests:
        for key, value in {**annotations_of(obj), **obj["metadata"]["labels"]}.items():
            assert isinstance(value, str), f"{obj['metadata']['name']}: {key} is {value!r}"


@pytest.mark.parametrize(("case", "release", "state"), EVERY, ids=EVERY_IDS)
def test_namespace_and_common_labels(case: str, release: Release, state: EnvState) -> None:
    env = make_environment(release, namespace="shop-prod", labels=(("tier", "front"),))
    for obj in render(release, env, state).manifests:
        assert obj["metadata"]["namespace"] == "shop-prod"
        assert obj["metadata"]["labels"]["app.kubernetes.io/name"] == "hello"
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "rollgen"
        assert obj["metadata"]["labels"]["rollgen.io/release"] == "hello"
        assert obj["metadata"]["labels"]["team"] == "web"
        assert obj["metadata"]["labels"]["tier"] == "front"


@pytest.mark.parametrize(("case", "release", "state"), EVERY, ids=EVERY_IDS)
def test_selectors_are_subsets_of_pod_labels(case: str, release: Release, state: EnvState) -> None:
    rendered = render(release, default_env(release), state)
    deployments = [m for m in rendered.manifests if m["kind"] == "Deployment"]
    pod_labels = [d["spec"]["template"]["metadata"]["labels"] for d in deployments]
    for deploy, labels in zip(deployments, pod_labels):
        assert deploy["spec"]["selector"]["matchLabels"].items() <= labels.items()
    for svc in (m for m in rendered.manifests if m["kind"] == "Service"):
        selected = [labels for labels in pod_labels if svc["spec"]["selector"].items() <= labels.items()]
        assert len(selected) == 1, f"Service {svc['metadata']['name']} must select exactly one Deployment"


@pytest.mark.parametrize(("case", "release", "state"), EVERY, ids=EVERY_IDS)
def test_deployment_selectors_do_not_overlap(case: str, release: Release, state: EnvState) -> None:
    rendered = render(release, default_env(release), state)
    deployments = [m for m in rendered.manifests if m["kind"] == "Deployment"]
    for deploy in deployments:
        selector = deploy["spec"]["selector"]["matchLabels"].items()
        owners = [d for d in deployments if selector <= d["spec"]["template"]["metadata"]["labels"].items()]
        assert owners == [deploy]


@pytest.mark.parametrize(("case", "release", "state"), EVERY, ids=EVERY_IDS)
def test_ingresses_route_to_services_we_write(case: str, release: Release, state: EnvState) -> None:
    rendered = render(release, default_env(release), state)
    services = {m["metadata"]["name"] for m in rendered.manifests if m["kind"] == "Service"}
    for ing in (m for m in rendered.manifests if m["kind"] == "Ingress"):
        assert the_path(ing)[3] in services
        port = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"]
        assert port == {"name": release.service_port_name}
        assert "kubernetes.io/ingress.class" not in annotations_of(ing)


@pytest.mark.parametrize(("case", "release", "state"), EVERY, ids=EVERY_IDS)
def test_one_canary_ingress_per_host_and_path(case: str, release: Release, state: EnvState) -> None:
    rendered = render(release, default_env(release), state)
    ingresses = [m for m in rendered.manifests if m["kind"] == "Ingress"]
    canaries = [the_path(i)[:2] for i in ingresses if nginx_annotations(i).get("canary") == "true"]
    mains = [the_path(i)[:2] for i in ingresses if nginx_annotations(i).get("canary") != "true"]
    assert len(canaries) == len(set(canaries))
    assert len(mains) == len(set(mains))
    assert set(canaries) <= set(mains), "a canary Ingress needs a main Ingress on the same host and path"


@pytest.mark.parametrize(("case", "release", "state"), EVERY, ids=EVERY_IDS)
def test_image_slots_match_container_placeholders(case: str, release: Release, state: EnvState) -> None:
    rendered = render(release, default_env(release), state)
    images = {container_image(rendered, m["metadata"]["name"]) for m in rendered.manifests if m["kind"] == "Deployment"}
    assert images == set(slots(rendered))
    assert len(rendered.images) == len(slots(rendered))


@pytest.mark.parametrize(("case", "release", "state"), EVERY, ids=EVERY_IDS)
def test_render_is_deterministic(case: str, release: Release, state: EnvState) -> None:
    env = default_env(release)
    first = render(release, env, state)
    assert render(copy.deepcopy(release), copy.deepcopy(env), copy.deepcopy(state)) == first
    assert [list(m) for m in first.manifests] == [list(m) for m in render(release, env, state).manifests]


# -- canary ---------------------------------------------------------------------------------------------------


def test_registered_under_deployments() -> None:
    assert renderer_for("deployments") is render


def test_canary_objects_and_names() -> None:
    release = canary_release()
    rendered = render(release, default_env(release), CANARY_STATES["step1"])
    assert kinds_and_names(rendered) == [
        ("Deployment", "hello"),
        ("Deployment", "hello-canary"),
        ("Service", "hello"),
        ("Service", "hello-canary"),
        ("Ingress", "hello"),
        ("Ingress", "hello-canary"),
    ]
    assert find(rendered, "Service", "hello")["spec"]["selector"]["rollgen.io/track"] == "stable"
    assert find(rendered, "Service", "hello-canary")["spec"]["selector"]["rollgen.io/track"] == "canary"
    assert container_image(rendered, "hello") == "hello"
    assert container_image(rendered, "hello-canary") == "hello-canary"


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("state", IN_FLIGHT)
def test_canary_ingress_mirrors_stable_ingress(strategy: str, state: str) -> None:
    release = canary_release(strategy)
    rendered = render(release, default_env(release), CANARY_STATES[state])
    stable, canary = find(rendered, "Ingress", "hello"), find(rendered, "Ingress", "hello-canary")
    assert the_path(canary)[:3] == the_path(stable)[:3]
    assert the_path(stable)[3] == "hello"
    assert the_path(canary)[3] == "hello-canary"
    assert canary["spec"]["ingressClassName"] == stable["spec"]["ingressClassName"] == "nginx"
    assert canary["spec"]["tls"] == stable["spec"]["tls"] == [{"hosts": ["hello.example.com"], "secretName": "hello-tls"}]


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("state", IN_FLIGHT)
def test_canary_annotations_only_where_they_belong(strategy: str, state: str) -> None:
    release = canary_release(strategy)
    rendered = render(release, default_env(release), CANARY_STATES[state])
    stable, canary = find(rendered, "Ingress", "hello"), find(rendered, "Ingress", "hello-canary")
    assert not set(nginx_annotations(stable)) & CANARY_ANNOTATIONS
    assert nginx_annotations(canary)["canary"] == "true"
    assert set(nginx_annotations(canary)) <= CANARY_ANNOTATIONS | HONOURED_ON_CANARY
    assert set(annotations_of(canary)) == {NGINX + key for key in nginx_annotations(canary)}


def test_header_cookie_and_affinity_annotations() -> None:
    release = canary_release("all")
    rendered = render(release, default_env(release), CANARY_STATES["step2"])
    assert nginx_annotations(find(rendered, "Ingress", "hello-canary")) == {
        "canary": "true",
        "canary-weight": "20",
        "canary-by-header": "X-Canary",
        "canary-by-header-value": "on",
        "canary-by-cookie": "canary",
    }
    assert annotations_of(find(rendered, "Ingress", "hello")) == {}
    sticky = canary_release("sticky")
    rendered = render(sticky, default_env(sticky), CANARY_STATES["step2"])
    assert nginx_annotations(find(rendered, "Ingress", "hello-canary")) == {"canary": "true", "canary-weight": "20"}
    # ingress-nginx copies the main backend's session affinity onto the canary backend (sticky by default)
    assert nginx_annotations(find(rendered, "Ingress", "hello")) == {"affinity": "cookie"}


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("plain", {}),
        ("header", {"canary-by-header": "X-Canary"}),
        ("header-value", {"canary-by-header": "X-Canary", "canary-by-header-value": "beta-users"}),
        ("cookie", {"canary-by-cookie": "canary"}),
    ],
)
def test_routing_annotations_follow_the_strategy(strategy: str, expected: dict[str, str]) -> None:
    release = canary_release(strategy)
    rendered = render(release, default_env(release), CANARY_STATES["step1"])
    assert nginx_annotations(find(rendered, "Ingress", "hello-canary")) == {
        "canary": "true",
        "canary-weight": "5",
        **expected,
    }
    assert annotations_of(find(rendered, "Ingress", "hello")) == {}


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_header_values_and_cookie_names_are_safe(strategy: str) -> None:
    release = canary_release(strategy)
    rendered = render(release, default_env(release), CANARY_STATES["step1"])
    routing = nginx_annotations(find(rendered, "Ingress", "hello-canary"))
    for key in ("canary-by-header", "canary-by-header-value", "canary-by-cookie"):
        if key in routing:
            assert SAFE_VALUE.match(routing[key])


def test_stable_phase() -> None:
    release = canary_release()
    rendered = render(release, default_env(release), CANARY_STATES["stable"])
    assert ("Ingress", "hello-canary") not in kinds_and_names(rendered)  # no idle canary backend
    assert replicas(rendered, "hello") == 3
    assert replicas(rendered, "hello-canary") == 0
    assert slots(rendered) == {"hello": OLD, "hello-canary": OLD}


# 3 replicas, weights 5/20/50: each step runs the pods of the next one (scale first, then shift)
@pytest.mark.parametrize(("step", "weight", "canary_pods"), [(1, 5, 1), (2, 20, 2), (3, 50, 2)])
def test_progressing_phase(step: int, weight: int, canary_pods: int) -> None:
    release = canary_release()
    rendered = render(release, default_env(release), CANARY_STATES[f"step{step}"])
    assert nginx_annotations(find(rendered, "Ingress", "hello-canary"))["canary-weight"] == str(weight)
    assert replicas(rendered, "hello") == 3
    assert replicas(rendered, "hello-canary") == canary_pods
    assert slots(rendered) == {"hello": OLD, "hello-canary": NEW}


@pytest.mark.parametrize("pods", [1, 2, 3, 7, 10, 33])
@pytest.mark.parametrize("step", [1, 2, 3])
def test_canary_replicas_follow_the_weight(pods: int, step: int) -> None:
    release = canary_release()
    env = make_environment(release, replicas=pods)
    state = EnvState(phase="progressing", stable_image=OLD, canary_image=NEW, step=step)
    weight = env.steps[min(step, len(env.steps) - 1)].weight  # the next step's, or the last one's
    assert replicas(render(release, env, state), "hello-canary") == max(1, math.ceil(pods * weight / 100))


def test_progressing_uses_the_environments_steps() -> None:
    release = canary_release()
    env = make_environment(release, steps=(replace(HELLO_STEPS[0], weight=10), replace(HELLO_STEPS[1], weight=40)))
    state = EnvState(phase="progressing", stable_image=OLD, canary_image=NEW, step=2, weight=40)
    rendered = render(release, env, state)
    assert nginx_annotations(find(rendered, "Ingress", "hello-canary"))["canary-weight"] == "40"
    assert replicas(rendered, "hello-canary") == 2


@pytest.mark.parametrize("step", [4])  # step 0 is the canary's pods at no weight (plan.shapes.ready_first)
def test_progressing_outside_the_steps_is_a_bug(step: int) -> None:
    release = canary_release()
    state = EnvState(phase="progressing", stable_image=OLD, canary_image=NEW, step=step)
    with pytest.raises(ValueError, match="outside"):
        render(release, default_env(release), state)


def test_step_zero_runs_the_first_steps_pods_at_no_weight() -> None:
    release = canary_release()
    env = default_env(release)
    state = EnvState(phase="progressing", stable_image=OLD, canary_image=NEW, step=0)
    rendered = render(release, env, state)
    assert state.live_weight(env) == 0
    assert replicas(rendered, "hello-canary") == math.ceil(env.replicas * env.steps[0].weight / 100)


def test_promoting_phase() -> None:
    release = canary_release()
    rendered = render(release, default_env(release), CANARY_STATES["promoting"])
    assert nginx_annotations(find(rendered, "Ingress", "hello-canary"))["canary-weight"] == "50"
    assert replicas(rendered, "hello") == 3
    assert replicas(rendered, "hello-canary") == 2
    assert slots(rendered) == {"hello": NEW, "hello-canary": NEW}


def test_aborted_phase() -> None:
    release = canary_release()
    rendered = render(release, default_env(release), CANARY_STATES["aborted"])
    assert ("Ingress", "hello-canary") not in kinds_and_names(rendered)
    assert replicas(rendered, "hello") == 3
    assert replicas(rendered, "hello-canary") == 0
    assert slots(rendered) == {"hello": OLD, "hello-canary": NEW}


def test_environment_host_replaces_the_release_host_everywhere() -> None:
    release = canary_release()
    env = make_environment(release, host="hello.staging.example.com", replicas=1)
    rendered = render(release, env, CANARY_STATES["step3"])
    for name in ("hello", "hello-canary"):
        ing = find(rendered, "Ingress", name)
        assert the_path(ing)[0] == "hello.staging.example.com"
        assert ing["spec"]["tls"][0]["hosts"] == ["hello.staging.example.com"]
    assert replicas(rendered, "hello") == 1
    assert replicas(rendered, "hello-canary") == 1


@pytest.mark.parametrize("path_type", ["Prefix", "Exact", "ImplementationSpecific"])
def test_path_and_class_are_repeated(path_type: Any) -> None:
    ingress = replace(make_release().ingress, path="/api", path_type=path_type, class_name="internal", tls_secret=None)
    release = canary_release(ingress=ingress)
    rendered = render(release, default_env(release), CANARY_STATES["step1"])
    for name in ("hello", "hello-canary"):
        ing = find(rendered, "Ingress", name)
        assert the_path(ing)[1:3] == ("/api", path_type)
        assert ing["spec"]["ingressClassName"] == "internal"
        assert "tls" not in ing["spec"]


def test_ab_test_is_refused() -> None:
    release = make_release(engine="deployments", strategy=ABTestStrategy(iterations=10, header="X-Canary"))
    with pytest.raises(ValueError, match="abTest"):
        render(release, default_env(release), CANARY_STATES["stable"])


# -- blue-green -----------------------------------------------------------------------------------------------


def test_blue_green_objects_and_names() -> None:
    release = blue_green_release()
    rendered = render(release, default_env(release), BG_STATES["progressing-blue"])
    assert kinds_and_names(rendered) == [
        ("Deployment", "hello-blue"),
        ("Deployment", "hello-green"),
        ("Service", "hello"),
        ("Service", "hello-preview"),
        ("Ingress", "hello"),
        ("Ingress", "hello-preview"),
    ]
    assert container_image(rendered, "hello-blue") == "hello-blue"
    assert container_image(rendered, "hello-green") == "hello-green"
    for ing in (find(rendered, "Ingress", "hello"), find(rendered, "Ingress", "hello-preview")):
        assert not nginx_annotations(ing)


def colour_of(rendered: Rendered, service: str) -> str:
    colour: str = find(rendered, "Service", service)["spec"]["selector"]["rollgen.io/colour"]
    return colour


@pytest.mark.parametrize(
    ("state", "live", "blue_pods", "green_pods", "blue_image", "green_image"),
    [
        ("stable-blue", "blue", 3, 0, OLD, OLD),
        ("progressing-blue", "blue", 3, 3, OLD, NEW),
        ("promoting-green", "green", 3, 3, OLD, NEW),
        ("stable-green", "green", 0, 3, NEW, NEW),
        ("aborted-blue", "blue", 3, 0, OLD, NEW),
        ("progressing-green", "green", 3, 3, OLD, NEW),
    ],
)
def test_blue_green_states(
    state: str, live: str, blue_pods: int, green_pods: int, blue_image: Image, green_image: Image
) -> None:
    release = blue_green_release()
    rendered = render(release, default_env(release), BG_STATES[state])
    idle = "green" if live == "blue" else "blue"
    assert (colour_of(rendered, "hello"), colour_of(rendered, "hello-preview")) == (live, idle)
    assert (replicas(rendered, "hello-blue"), replicas(rendered, "hello-green")) == (blue_pods, green_pods)
    assert slots(rendered) == {"hello-blue": blue_image, "hello-green": green_image}
    assert the_path(find(rendered, "Ingress", "hello"))[3] == "hello"
    assert the_path(find(rendered, "Ingress", "hello-preview"))[3] == "hello-preview"


def test_preview_host_of_the_environment_wins() -> None:
    release = blue_green_release()
    env = make_environment(release, preview_host="preview.hello.staging.example.com")
    rendered = render(release, env, BG_STATES["stable-blue"])
    assert the_path(find(rendered, "Ingress", "hello-preview"))[0] == "preview.hello.staging.example.com"


def test_preview_host_falls_back_to_the_strategy() -> None:
    """The fallback is made once, where the model is built (Environment.preview_host; tests/spec/test_spec_model.py
    for a spec's environments): the renderers read only the environment's."""
    release = blue_green_release()
    env = release.base_environment()
    assert env.preview_host == "preview.hello.example.com"
    rendered = render(release, env, BG_STATES["stable-blue"])
    assert the_path(find(rendered, "Ingress", "hello-preview"))[0] == "preview.hello.example.com"


def test_preview_tls_secret_defaults_to_the_ingress_secret() -> None:
    release = blue_green_release()
    rendered = render(release, default_env(release), BG_STATES["progressing-blue"])
    for name, host in (("hello", "hello.example.com"), ("hello-preview", "preview.hello.example.com")):
        assert find(rendered, "Ingress", name)["spec"]["tls"] == [{"hosts": [host], "secretName": "hello-tls"}]


def test_preview_tls_secret_of_the_strategy_covers_the_preview_host_only() -> None:
    release = blue_green_release(preview_tls_secret="preview-tls")
    rendered = render(release, default_env(release), BG_STATES["progressing-blue"])
    main, preview = find(rendered, "Ingress", "hello"), find(rendered, "Ingress", "hello-preview")
    assert main["spec"]["tls"] == [{"hosts": ["hello.example.com"], "secretName": "hello-tls"}]
    assert preview["spec"]["tls"] == [{"hosts": ["preview.hello.example.com"], "secretName": "preview-tls"}]


def test_preview_tls_secret_without_an_ingress_secret() -> None:
    ingress = replace(make_release().ingress, tls_secret=None)
    release = blue_green_release(preview_tls_secret="preview-tls", ingress=ingress)
    rendered = render(release, default_env(release), BG_STATES["stable-blue"])
    assert "tls" not in find(rendered, "Ingress", "hello")["spec"]
    assert find(rendered, "Ingress", "hello-preview")["spec"]["tls"][0]["secretName"] == "preview-tls"


@pytest.mark.parametrize(
    "release", [canary_release(service_port_name="web"), blue_green_release(service_port_name="web")]
)
def test_port_name_names_the_container_service_and_backend_ports(release: Release) -> None:
    rendered = render(release, default_env(release), EnvState(phase="stable", stable_image=OLD))
    assert_ports_named(rendered.manifests, "web", "Deployment")


def test_no_preview_host_means_no_preview_ingress() -> None:
    release = blue_green_release(None)
    rendered = render(release, default_env(release), BG_STATES["progressing-blue"])
    assert ("Ingress", "hello-preview") not in kinds_and_names(rendered)
    assert ("Service", "hello-preview") in kinds_and_names(rendered)


# -- scale first, then shift (issue 17 item 5) and no idle canary backend (item 6) --------------------------------


def _weight_and_pods(rendered: Rendered) -> tuple[int, int]:
    ingresses = [m for m in rendered.manifests if m["kind"] == "Ingress" and m["metadata"]["name"] == "hello-canary"]
    weight = int(nginx_annotations(ingresses[0])["canary-weight"]) if ingresses else 0
    return weight, replicas(rendered, "hello-canary")


def _progression(steps: int) -> list[EnvState]:
    moving = [EnvState(phase="progressing", stable_image=OLD, canary_image=NEW, step=k) for k in range(1, steps + 1)]
    return [*moving, EnvState(phase="promoting", stable_image=NEW, canary_image=NEW, step=steps, weight=0)]


@pytest.mark.parametrize("pods", [1, 3, 4, 10, 20])
@pytest.mark.parametrize("weights", [(5, 20, 50), (10, 50), (1, 2, 99), (50,)])
def test_a_commit_only_shifts_weight_onto_pods_the_previous_commit_started(pods: int, weights: tuple[int, ...]) -> None:
    """ingress-nginx splits over *ready* endpoints: when commit k+1 lands, the pods commit k asked for are the
    ones up. They must be enough for k+1's weight, or the ready few carry the whole new share (REFERENCE.md)."""
    from generator.model import Step

    release = canary_release("plain")
    env = make_environment(release, replicas=pods, steps=tuple(Step(w, 60) for w in weights))
    states = _progression(len(weights))
    states[-1] = replace(states[-1], weight=weights[-1])
    seen = [_weight_and_pods(render(release, env, state)) for state in states]
    for (_, pods_before), (weight_after, _) in zip(seen, seen[1:]):
        assert pods_before >= math.ceil(pods * weight_after / 100), seen


def test_twenty_replicas_from_ten_to_fifty_percent_have_ten_pods_up_first() -> None:
    from generator.model import Step

    release = canary_release("plain")
    env = make_environment(release, replicas=20, steps=(Step(10, 300), Step(50, 300)))
    at_ten = render(release, env, EnvState(phase="progressing", stable_image=OLD, canary_image=NEW, step=1))
    assert _weight_and_pods(at_ten) == (10, 10)


@pytest.mark.parametrize("state", ["stable", "aborted"])
def test_nothing_in_flight_means_no_canary_backend_for_ingress_nginx(state: str) -> None:
    """A canary Ingress whose Service has no endpoints makes ingress-nginx log "no alternative balancer" at ERROR
    on every request: it exists only while a canary takes traffic."""
    for strategy in STRATEGIES:
        release = canary_release(strategy)
        rendered = render(release, default_env(release), CANARY_STATES[state])
        assert [m for m in rendered.manifests if m["kind"] == "Ingress"] == [find(rendered, "Ingress", "hello")]
