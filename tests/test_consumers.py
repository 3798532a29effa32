"""Every example, every environment, through the real pipeline and then through real consumers.

`rollgen render` writes the tree; `kubectl kustomize` builds each overlay; the upstream CRD schemas and
Kubernetes' own schemas validate every built object; the REFERENCE rules check what schemas cannot; and the live
weight must be readable from the built overlay (CONTRACT §3). Git-progression examples are also rendered in a
progressing state, as `rollgen advance` would leave them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import rules
from tests.rules import Doc
from tests.validators import (
    canary_environments,
    example_engine,
    example_router,
    example_environments,
    example_spec,
    is_git_progression,
    kustomize_build,
    progressing_state,
    render_example,
    render_progressing,
    valid_examples,
    validate_manifest,
)

pytestmark = pytest.mark.slow  # every example's every environment through kubectl kustomize and the schemas

EXAMPLES = valid_examples()
VARIANTS = [
    pytest.param(example, env, variant, id=f"{example.stem}-{env}-{variant}")
    for example in EXAMPLES
    for env in example_environments(example)
    for variant in (("initial", "progressing") if is_git_progression(example) else ("initial",))
]
# A rolling-update environment has no canary: the live-weight and canary-lifecycle tests skip it
# (tests/test_workload.py covers it).
GIT_VARIANTS = [p for p in VARIANTS if is_git_progression(p.values[0]) and p.values[1] in canary_environments(p.values[0])]
ROLLOUTS = [e for e in EXAMPLES if example_engine(e) == "argo-rollouts"]
FLAGGER = [e for e in EXAMPLES if example_engine(e) == "flagger"]


def test_examples_exist() -> None:
    engines = {example_engine(e) for e in EXAMPLES}
    assert engines == {"argo-rollouts", "flagger", "deployments"}, [e.name for e in EXAMPLES]
    assert any(is_git_progression(e) for e in ROLLOUTS), "no argo-rollouts example with progression: git"


Renderer = Callable[[Path, str], Path]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Renderer:
    """(example, variant) -> apps/<name> of a tree rendered once per module."""
    cache: dict[tuple[Path, str], Path] = {}

    def get(example: Path, variant: str) -> Path:
        key = (example, variant)
        if key not in cache:
            out = tmp_path_factory.mktemp(f"{example.stem}-{variant}")
            if variant == "progressing":
                render_progressing(example, out)
                cache[key] = out / "apps" / example_spec(example)["metadata"]["name"]
            else:
                cache[key] = render_example(example, out)
        return cache[key]

    return get


def build(rendered: Renderer, example: Path, env: str, variant: str) -> list[Doc]:
    overlay = rendered(example, variant) / "overlays" / env
    assert (overlay / "kustomization.yaml").is_file(), f"{overlay} has no kustomization.yaml"
    return kustomize_build(overlay)


# -- schemas and rules ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("example", "env", "variant"), VARIANTS)
def test_built_overlay_passes_schemas(rendered: Renderer, example: Path, env: str, variant: str) -> None:
    docs = build(rendered, example, env, variant)
    assert docs, "the overlay built to nothing"
    problems = [line for doc in docs for line in validate_manifest(doc)]
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(("example", "env", "variant"), VARIANTS)
def test_built_overlay_follows_the_rules(rendered: Renderer, example: Path, env: str, variant: str) -> None:
    docs = build(rendered, example, env, variant)
    violations = rules.check_all(docs, example_engine(example), example_router(example))
    assert violations == [], "\n".join(violations)


@pytest.mark.parametrize(("example", "env", "variant"), VARIANTS)
def test_built_overlay_runs_real_images(rendered: Renderer, example: Path, env: str, variant: str) -> None:
    """Kustomize `images:` replaced every placeholder: each container runs a tagged or pinned image."""
    from generator.render.loading import load_release

    docs = build(rendered, example, env, variant)
    expected = {load_release(example).environment(env).image.ref}
    if variant == "progressing":
        expected.add(progressing_state(example, env).canary_image.ref)
    images = {c["image"] for d in docs for c in rules.dig(d, "spec", "template", "spec", "containers", default=[])}
    assert images, "no containers in the overlay"
    assert images <= expected, f"images {sorted(images)}; expected only {sorted(expected)}"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.stem)
def test_overlays_are_local(rendered: Renderer, example: Path) -> None:
    """Argo CD and Flux build offline: no remote bases, no URLs in any kustomization."""
    app = rendered(example, "initial")
    kustomizations = sorted(app.rglob("kustomization.yaml"))
    assert kustomizations
    for path in kustomizations:
        data = yaml.safe_load(path.read_text())
        for entry in [*(data.get("resources") or []), *(data.get("components") or [])]:
            assert "://" not in entry and not entry.startswith(("github.com", "git@")), f"{path}: {entry}"
            assert (path.parent / entry).exists(), f"{path}: {entry} does not exist"


@pytest.mark.parametrize("example", FLAGGER, ids=lambda e: e.stem)
def test_flagger_metric_queries_reach_the_cluster_intact(rendered: Renderer, example: Path) -> None:
    from generator.render.loading import load_release

    release = load_release(example)
    assert release.analysis is not None
    expected = {f"{release.name}-{m.name}": m.query for m in release.analysis.metrics if m.query is not None}
    for env in example_environments(example):
        docs = build(rendered, example, env, "initial")
        assert rules.flagger_metric_queries(docs, expected) == []


# -- the live weight (CONTRACT §3) and what each phase runs --------------------------------------------------


def _state_of(example: Path, env: str, variant: str) -> Any:
    from generator.model import EnvState
    from generator.render.loading import load_release

    if variant == "progressing":
        return progressing_state(example, env)
    return EnvState.initial(load_release(example).environment(env))


@pytest.mark.parametrize(("example", "env", "variant"), GIT_VARIANTS)
def test_live_weight_is_readable(rendered: Renderer, example: Path, env: str, variant: str) -> None:
    from generator.render.loading import load_release

    docs = build(rendered, example, env, variant)
    replicas = load_release(example).environment(env).replicas
    check_live_state(docs, example, _state_of(example, env, variant), replicas)


def check_live_state(docs: list[Doc], example: Path, state: Any, replicas: int) -> None:
    """What CONTRACT §3 and DESIGN's "State -> output" promise for `state`, read from the built overlay."""
    name = example_spec(example)["metadata"]["name"]
    strategy = example_spec(example)["spec"]["strategy"]
    if example_engine(example) == "deployments" and "canary" in strategy and example_router(example) != "ingress-nginx":
        _check_routed_canary(docs, name, state, replicas, example_router(example))
    elif example_engine(example) == "deployments" and "canary" in strategy:
        _check_nginx_canary(docs, name, state, replicas)
    elif example_engine(example) == "deployments":
        _check_nginx_blue_green(docs, name, state, replicas)
    else:
        _check_rollout_git(docs, name, state)


def _image_of(doc: Doc) -> str:
    containers = rules.dig(doc, "spec", "template", "spec", "containers", default=[])
    assert len(containers) == 1, rules.ident(doc)
    return str(containers[0]["image"])


def _find(docs: list[Doc], kind: str, name: str) -> Doc:
    doc = rules.find(docs, kind, name)
    assert doc is not None, f"{kind}/{name} is not in the built overlay: {[rules.ident(d) for d in docs]}"
    return doc


def _check_nginx_canary(docs: list[Doc], name: str, state: Any, replicas: int) -> None:
    canaries = [i for i in rules.of_kind(docs, "Ingress") if rules.is_canary_ingress(i)]
    canary_deployment = _find(docs, "Deployment", f"{name}-canary")
    assert _image_of(_find(docs, "Deployment", name)) == state.stable_image.ref
    if state.phase in ("stable", "aborted"):
        assert canaries == []  # no canary Ingress, so weight 0 and no idle backend for ingress-nginx
        assert canary_deployment["spec"]["replicas"] == 0
        return
    assert [rules.ident(i) for i in canaries] == [f"Ingress/{name}-canary"]
    weight = rules.annotations_of(canaries[0])[rules.NGINX + "canary-weight"]
    assert weight == str(state.weight)
    assert 0 < state.weight <= 100
    assert _image_of(canary_deployment) == state.canary_image.ref
    # enough pods for the live weight, and already those of the next step (scale first, then shift)
    assert max(1, math.ceil(replicas * state.weight / 100)) <= canary_deployment["spec"]["replicas"] <= replicas


def _check_routed_canary(docs: list[Doc], name: str, state: Any, replicas: int, router: str) -> None:
    """Plain Deployments behind an HTTPRoute or a VirtualService: the canary backend's weight (CONTRACT §3)."""
    from generator.render.routers import router_for

    weight = router_for(router).live_weight(docs, name)
    canary_deployment = _find(docs, "Deployment", f"{name}-canary")
    assert _image_of(_find(docs, "Deployment", name)) == state.stable_image.ref
    if state.phase == "stable" or (state.phase == "aborted" and state.step == 0):
        assert weight == 0
        assert canary_deployment["spec"]["replicas"] == 0
        return
    assert weight == state.weight
    if state.weight == 0:  # plan.shapes.ready_first: step 0, a drained promotion, an abort: pods, no weight
        assert canary_deployment["spec"]["replicas"] >= 1
        return
    assert _image_of(canary_deployment) == state.canary_image.ref
    # scale first, then shift: sized for this step's weight at least (the next step's, already, when larger)
    assert max(1, math.ceil(replicas * state.weight / 100)) <= canary_deployment["spec"]["replicas"] <= replicas


def _selected_deployment(docs: list[Doc], service: Doc) -> Doc:
    selector = rules.service_selector(service)
    selected = [d for d in rules.of_kind(docs, "Deployment") if rules.is_subset(selector, rules.pod_labels(d))]
    assert len(selected) == 1, f"{rules.ident(service)} selects {[rules.ident(d) for d in selected]}"
    return selected[0]


def _check_nginx_blue_green(docs: list[Doc], name: str, state: Any, replicas: int) -> None:
    live = _selected_deployment(docs, _find(docs, "Service", name))
    idle = _selected_deployment(docs, _find(docs, "Service", f"{name}-preview"))
    assert live is not idle
    assert rules.pod_labels(live).get("rollgen.io/colour") == state.active_colour
    assert _image_of(live) == state.stable_image.ref
    assert live["spec"]["replicas"] == replicas
    if state.phase in ("progressing", "promoting"):
        assert idle["spec"]["replicas"] == replicas  # previewed, or the old colour draining
    if state.phase == "progressing":
        assert _image_of(idle) == state.canary_image.ref
    if state.phase in ("stable", "aborted"):
        assert idle["spec"]["replicas"] == 0


def _check_rollout_git(docs: list[Doc], name: str, state: Any) -> None:
    rollout = _find(docs, "Rollout", name)
    steps = rules.dig(rollout, "spec", "strategy", "canary", "steps", default=[])
    # a router's header routes (setHeaderRoute) hold beside the weight; the weight steps are what is checked here
    steps = [step for step in steps if "setHeaderRoute" not in step]
    weights = [s["setWeight"] for s in steps if "setWeight" in s]
    if state.phase == "stable":
        # a promotion holds the weight it was promoted from while the canary scales to every pod
        held = [{"setWeight": state.weight}] if 0 < state.weight < 100 else []
        assert steps == [*held, {"setWeight": 100}], steps
        assert _image_of(rollout) == state.stable_image.ref
    elif state.phase == "aborted":
        assert steps == [{"setWeight": 0}, {"pause": {}}], steps
        assert _image_of(rollout) == state.stable_image.ref
    else:
        assert weights[-1] == state.weight  # CONTRACT section 3: the last setWeight
        # from the second step on the previous step's weight comes first: the canary keeps it while it scales
        held = [{"setWeight": weights[0]}] if len(weights) == 2 and 0 < weights[0] < state.weight else []
        assert len(weights) == 1 + len(held), steps
        assert steps == [*held, {"setWeight": state.weight}, {"pause": {}}], steps
        assert _image_of(rollout) == state.canary_image.ref


# -- every state a git rollout goes through, planned by the real planner -------------------------------------


def lifecycle(example: Path, env_name: str) -> list[tuple[str, Any, Any]]:
    """(label, release to render, state) from the first deploy of the spec's image, through a new image's
    start, every step (`promote` passes each pause) and promotion, to stable; plus an abort from step 1."""
    from dataclasses import replace
    from datetime import datetime, timedelta, timezone
    from functools import partial

    from generator.plan import progression
    from generator.model import Image
    from generator.render.loading import load_release
    from generator.plan.workload_progression import with_pods  # as the commands plan: pod inputs recorded

    release = load_release(example)
    env = release.environment(env_name)
    new = Image(env.image.repository, "v9-canary", None)
    updated = replace(release, environments=tuple(replace(e, image=new) if e.name == env_name else e
                                                  for e in release.environments))
    env2 = updated.environment(env_name)
    now = datetime(2025, 1, 1, tzinfo=timezone.utc)
    deploy = with_pods(progression.plan_release, starts=True)(release, env, None, now)
    assert isinstance(deploy, progression.Transition), deploy
    start = with_pods(progression.plan_release, starts=True)(updated, env2, deploy.state, now)
    assert isinstance(start, progression.Transition), start
    out = [("deploy", release, deploy.state), ("start", updated, start.state)]
    state = start.state
    for tick in range(1, 30):
        plan = with_pods(progression.plan_promote)(updated, env2, state, now + timedelta(hours=tick))
        assert isinstance(plan, progression.Transition), (out[-1][0], plan)
        state = plan.state
        out.append((f"{plan.action}-{tick}", updated, state))
        if state.phase == "stable":
            break
    assert state.phase == "stable" and state.stable_image == new, out[-1]
    abort = with_pods(progression.plan_abort)(updated, env2, start.state, now + timedelta(minutes=1))
    assert isinstance(abort, progression.Transition), abort
    out.append(("abort", updated, abort.state))
    if abort.state.step:  # ready_first: the pods go on the next advance
        later = now + timedelta(hours=1)
        never = progression.GateResult(progression.GateOutcome.PASS, "not asked")  # no gate: no traffic to judge
        advance = partial(progression.plan_advance, gate=lambda *_: never)
        down = with_pods(advance)(updated, env2, abort.state, later)
        assert isinstance(down, progression.Transition) and down.state.step == 0, down
        out.append(("abort-pods-down", updated, down.state))
    return out


@pytest.mark.parametrize(
    ("example", "env"),
    [pytest.param(e, env, id=f"{e.stem}-{env}") for e in EXAMPLES if is_git_progression(e)
     for env in canary_environments(e)],
)
def test_every_state_of_a_git_rollout(example: Path, env: str, tmp_path: Path) -> None:
    """Each state the planner produces renders to an overlay that builds, passes the schemas and the rules,
    and shows the weight and images that state means."""
    from generator.render.pipeline import render_files

    failures = []
    for label, release, state in lifecycle(example, env):
        out = tmp_path / label
        for rel, data in render_files(release, {env: state}).items():
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_bytes(data)
        docs = kustomize_build(out / "apps" / release.name / "overlays" / env)
        problems = [line for doc in docs for line in validate_manifest(doc)]
        problems += rules.check_all(docs, release.engine, release.router)
        try:
            check_live_state(docs, example, state, release.environment(env).replicas)
        except AssertionError as exc:
            problems.append(f"live state: {exc}")
        failures += [f"{label} ({state.phase} step {state.step} weight {state.weight}): {p}" for p in problems]
    assert failures == [], "\n".join(failures)


# -- a user's overlay on top of ours: namePrefix and labels ---------------------------------------------------


@pytest.mark.parametrize(
    ("example", "env"),
    [pytest.param(e, env, id=f"{e.stem}-{env}") for e in ROLLOUTS for env in canary_environments(e)],
)
def test_rollout_survives_name_prefix_and_labels(rendered: Renderer, example: Path, env: str,
                                                 tmp_path: Path) -> None:
    """kustomize renames what the Rollout names only with our `configurations:`; prove it with a real build."""
    overlay = rendered(example, "initial") / "overlays" / env
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(overlay.resolve(), tmp_path.resolve())],  # kustomize refuses absolute roots
        "namePrefix": "team-",
        "labels": [{"pairs": {"owner": "team-a"}, "includeSelectors": True, "includeTemplates": True}],
    }))
    docs = kustomize_build(tmp_path)
    name = "team-" + example_spec(example)["metadata"]["name"]
    rollout = _find(docs, "Rollout", name)
    strategy = rollout["spec"]["strategy"]
    refs = [*_rollout_refs(strategy)]
    assert refs, "the Rollout names no Service, Ingress or template"
    for kind, ref in refs:
        assert ref.startswith("team-"), f"{kind} reference {ref!r} was not renamed"
        _find(docs, kind, ref)
    assert rules.selector_labels(rollout).get("owner") == "team-a"
    for service in rules.of_kind(docs, "Service"):
        assert rules.service_selector(service).get("owner") == "team-a", rules.ident(service)
        assert rules.is_subset(rules.service_selector(service), rules.pod_labels(rollout)), rules.ident(service)
    violations = rules.check_all(docs, "argo-rollouts")
    assert violations == [], "\n".join(violations)
    problems = [line for doc in docs for line in validate_manifest(doc)]
    assert problems == [], "\n".join(problems)


def _rollout_refs(strategy: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for spec in (strategy.get("canary") or {}, strategy.get("blueGreen") or {}):
        for field in ("canaryService", "stableService", "activeService", "previewService"):
            if spec.get(field):
                out.append(("Service", spec[field]))
    nginx = rules.dig(strategy, "canary", "trafficRouting", "nginx", default={}) or {}
    if nginx.get("stableIngress"):
        out.append(("Ingress", nginx["stableIngress"]))
    out += [("Ingress", i) for i in nginx.get("stableIngresses") or []]
    rollout = {"spec": {"strategy": strategy}}
    out += [("AnalysisTemplate", str(ref["templateName"])) for _, ref, _ in rules.analysis_refs(rollout)]
    return out


# -- GitOps wiring: what Argo CD and Flux are told to build ---------------------------------------------------

REPO_URL = "https://git.example.com/config.git"


@pytest.mark.parametrize(("example", "env"), [pytest.param(e, env, id=f"{e.stem}-{env}") for e in EXAMPLES
                                              for env in example_environments(e)])
def test_gitops_wiring_points_at_buildable_overlays(rendered: Renderer, example: Path, env: str) -> None:
    """The Argo CD Application and Flux Kustomization for an environment pass their CRDs and name an overlay of
    the rendered tree that builds; together with what it builds they pass every rule (health checks included)."""
    from generator import wiring
    from generator.render.loading import load_release

    release = load_release(example)
    environment = release.environment(env)
    argo = wiring.argocd_settings({"repoURL": REPO_URL})
    flux = wiring.flux_settings({"url": REPO_URL})
    wired = [
        wiring.application(release, environment, argo),
        wiring.applicationset(argo),
        wiring.kustomization(release, environment, flux),
        wiring.git_repository(flux),
    ]
    problems = [line for doc in wired for line in validate_manifest(doc)]
    assert problems == [], "\n".join(problems)
    out = rendered(example, "initial").parents[1]
    app_path = wired[0]["spec"]["source"]["path"]
    flux_path = wired[2]["spec"]["path"]
    assert Path(flux_path) == Path(app_path), (flux_path, app_path)
    docs = kustomize_build(out / app_path)
    violations = rules.check_all([*docs, *wired], example_engine(example))
    assert violations == [], "\n".join(violations)
