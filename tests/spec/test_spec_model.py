"""build_release: defaults, durations in seconds, sorted labels, and environment precedence."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from generator.render import loading
from generator.spec import release as spec
from generator.errors import InvalidInput
from generator.spec.loader import load_text
from generator.model import (
    ABTestStrategy,
    Analysis,
    Autoscaling,
    BlueGreenStrategy,
    CanaryStrategy,
    Image,
    IngressSpec,
    Metric,
    Release,
    Step,
)
from generator.spec.profiles import Profile, load_profiles

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

MINIMAL = """\
apiVersion: rollgen.io/v1alpha1
kind: Release
metadata: {name: hello, namespace: test}
spec:
  engine: ENGINE
  image: ghcr.io/kmaster8/hello:v2
  containerPort: 5050
  service: {port: 5000}
  ingress: {host: hello.example.com}
  strategy:
STRATEGY
"""
CANARY = "    canary:\n      steps: [{weight: 10, pause: 90s}, {weight: 50}]"


def build(engine: str = "argo-rollouts", strategy: str = CANARY, extra: str = "") -> Release:
    text = MINIMAL.replace("ENGINE", engine).replace("STRATEGY", strategy) + extra
    doc = load_text(text, "hello.yaml")[0]
    assert loading.check_document(doc) == []
    return spec.build_release(doc)


def test_defaults_of_a_minimal_spec() -> None:
    release = build()
    assert release.replicas == 1
    assert release.progression == "controller"
    assert release.ingress == IngressSpec(host="hello.example.com", path="/", path_type="Prefix", class_name="nginx")
    assert release.settle_delay == 60
    assert release.service_port_name == "http"
    assert release.labels == ()
    assert release.analysis is None and release.autoscaling is None
    assert release.strategy == CanaryStrategy(steps=(Step(10, 90), Step(50, None)))
    assert release.source == "hello.yaml"


@pytest.mark.parametrize(
    "engine, progression", [("nginx", "git"), ("flagger", "controller"), ("argo-rollouts", "controller")]
)
def test_progression_defaults_by_engine(engine: str, progression: str) -> None:
    strategy = "    canary:\n      steps: [{weight: 10, pause: 1m}]"
    assert build(engine, strategy).progression == progression


def test_without_environments_there_is_one_named_default() -> None:
    release = build()
    (env,) = release.environments
    assert env.name == "default"
    assert env == replace(release.base_environment(), name="default")


def test_blue_green_and_ab_test_strategies() -> None:
    blue_green = build(strategy="    blueGreen: {previewHost: p.example.com, autoPromotion: 1h30m}")
    assert blue_green.strategy == BlueGreenStrategy(
        preview_host="p.example.com", auto_promotion=5400, scale_down_delay=30
    )
    assert blue_green.environments[0].preview_host == "p.example.com"
    assert blue_green.environments[0].steps == ()
    ab = build("flagger", "    abTest: {iterations: 4, header: X-Canary, headerValue: insider, cookie: c}")
    assert ab.strategy == ABTestStrategy(iterations=4, header="X-Canary", header_value="insider", cookie="c")
    assert ab.environments[0].steps == ()


def test_analysis_defaults_and_values() -> None:
    extra = (
        "  analysis:\n    prometheus: http://prom:9090\n"
        "    metrics: [{name: error-rate, max: 1}, {name: p99, query: 'q', max: 0.5, min: 0}]\n"
    )
    release = build(extra=extra)
    assert release.analysis == Analysis(
        prometheus="http://prom:9090",
        interval=60,
        failure_limit=1,
        metrics=(Metric("error-rate", None, max=1), Metric("p99", "q", max=0.5, min=0)),
    )
    assert release.analysis.metrics[0].builtin and not release.analysis.metrics[1].builtin


def test_flagger_analysis_interval_defaults_to_the_step_pause() -> None:
    strategy = "    canary:\n      steps: [{weight: 10, pause: 2m}, {weight: 50, pause: 2m}]"
    extra = "  analysis:\n    prometheus: http://prom:9090\n    metrics: [{name: latency, max: 300}]\n"
    flagger = build("flagger", strategy, extra)
    assert flagger.analysis is not None and flagger.analysis.interval == 120
    argo = build("argo-rollouts", strategy, extra)
    assert argo.analysis is not None and argo.analysis.interval == 60


def test_release_level_fields() -> None:
    text = MINIMAL.replace(
        "metadata: {name: hello, namespace: test}",
        "metadata:\n  name: hello\n  namespace: test\n  labels: {z: '1', a: '2'}",
    )
    text = text.replace("ENGINE", "nginx").replace("STRATEGY", CANARY)
    text = text.replace("service: {port: 5000}", "service: {port: 5000, portName: web}")
    text += "  replicas: 4\n  settleDelay: 2m\n  autoscaling: {minReplicas: 2, maxReplicas: 5, cpu: 60}\n"
    text = text.replace(
        "ingress: {host: hello.example.com}",
        "ingress: {host: h.example.com, path: /api, pathType: Exact, className: public, tlsSecret: tls}",
    )
    release = spec.build_release(load_text(text, "x.yaml")[0])
    assert release.labels == (("a", "2"), ("z", "1"))
    assert release.service_port_name == "web"
    assert release.replicas == 4 and release.settle_delay == 120
    assert release.autoscaling == Autoscaling(2, 5, 60)
    assert release.ingress == IngressSpec("h.example.com", "/api", "Exact", "public", "tls")
    env = release.environments[0]
    assert (env.replicas, env.settle_delay, env.autoscaling, env.host) == (
        4,
        120,
        Autoscaling(2, 5, 60),
        "h.example.com",
    )


PRECEDENCE = """\
  replicas: 2
  settleDelay: 1m
  environments:
    - name: plain
    - name: profiled
      profile: gold
      cluster: east
    - name: overridden
      profile: gold
      namespace: other
      host: o.example.com
      replicas: 9
      image: ghcr.io/kmaster8/hello:v3
      steps: [{weight: 33}]
      labels: {tier: platinum, own: 'yes'}
      settleDelay: 5s
      autoscaling: {minReplicas: 1, maxReplicas: 2, cpu: 10}
"""
GOLD = Profile(
    name="gold",
    source="gold.yaml",
    replicas=5,
    labels=(("tier", "gold"), ("cost", "high")),
    steps=(Step(20, 60),),
    settle_delay=30,
    autoscaling=Autoscaling(3, 6, 50),
)


def test_environment_precedence_entry_then_profile_then_release() -> None:
    text = MINIMAL.replace("ENGINE", "argo-rollouts").replace("STRATEGY", CANARY) + PRECEDENCE
    doc = load_text(text, "x.yaml")[0]
    profiles = {"gold": GOLD}
    # The checks refuse replicas beside autoscaling (the HPA would own the count) and an HPA on CPU without a
    # CPU request; the model still builds with every field's precedence, which is what this test is about.
    problems = [(p.path, p.message.split(":")[0]) for p in loading.check_document(doc, profiles)]
    assert problems == [
        ("$.spec.environments[2].replicas", "replicas"),
        ("$.spec.environments[2].autoscaling.cpu", "autoscaling.cpu targets 10% of the CPU request, but the container requests no CPU, so the HPA can never compute a utilisation"),
    ]
    plain, profiled, overridden = spec.build_release(doc, profiles).environments

    assert (plain.profile, plain.namespace, plain.host, plain.replicas, plain.settle_delay) == (
        None,
        "test",
        "hello.example.com",
        2,
        60,
    )
    assert plain.steps == (Step(10, 90), Step(50, None)) and plain.labels == () and plain.autoscaling is None

    assert (profiled.profile, profiled.replicas, profiled.settle_delay) == ("gold", 5, 30)
    assert profiled.steps == (Step(20, 60),)
    assert profiled.labels == (("cost", "high"), ("tier", "gold"))
    assert (plain.cluster, profiled.cluster, overridden.cluster) == (None, "east", None)
    assert profiled.autoscaling == Autoscaling(3, 6, 50)

    assert (overridden.namespace, overridden.host, overridden.replicas, overridden.settle_delay) == (
        "other",
        "o.example.com",
        9,
        5,
    )
    assert overridden.image == Image.parse("ghcr.io/kmaster8/hello:v3")
    assert overridden.steps == (Step(33, None),)
    assert overridden.labels == (("cost", "high"), ("own", "yes"), ("tier", "platinum"))
    assert overridden.autoscaling == Autoscaling(1, 2, 10)


def test_profile_steps_do_not_apply_to_blue_green() -> None:
    text = MINIMAL.replace("ENGINE", "nginx").replace("STRATEGY", "    blueGreen: {}")
    text += "  environments: [{name: dev, profile: dev}]\n"
    (env,) = spec.build_release(load_text(text, "x.yaml")[0], load_profiles()).environments
    assert env.steps == () and env.replicas == 1


def test_readme_example_model() -> None:
    release = loading.load_release(EXAMPLES / "hello-rollouts-canary.yaml")
    assert release.name == "hello" and release.namespace == "web" and release.labels == (("team", "web"),)
    assert release.image == Image.parse("ghcr.io/kmaster8/hello:v2")
    assert (release.replicas, release.container_port, release.service_port) == (3, 5050, 5000)
    assert release.strategy == CanaryStrategy(steps=(Step(5, 300), Step(20, 600), Step(50, None)), header="X-Canary")
    staging, prod = release.environments
    assert (staging.name, staging.host, staging.replicas, staging.steps) == (
        "staging",
        "hello.staging.example.com",
        1,
        (Step(20, 120), Step(50, 120)),
    )
    assert (prod.name, prod.host, prod.replicas, prod.steps) == ("prod", "hello.example.com", 3, release.strategy.steps)


def test_model_is_frozen_and_hashable() -> None:
    release = loading.load_release(EXAMPLES / "hello-flagger-canary.yaml")
    assert hash(release) == hash(loading.load_release(EXAMPLES / "hello-flagger-canary.yaml"))
    with pytest.raises(AttributeError):
        release.name = "other"  # type: ignore[misc]


def test_load_release_raises_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        MINIMAL.replace("ENGINE", "nginx").replace("STRATEGY", CANARY).replace("5050", "0").replace("5000", "0")
    )
    with pytest.raises(InvalidInput) as caught:
        loading.load_release(path)
    assert [p.path for p in caught.value.problems] == ["$.spec.containerPort", "$.spec.service.port"]


def test_load_release_uses_extra_profile_folders(tmp_path: Path) -> None:
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "gold.yaml").write_text(
        "apiVersion: rollgen.io/v1alpha1\nkind: Profile\nmetadata: {name: gold}\nspec: {replicas: 8}\n"
    )
    path = tmp_path / "r.yaml"
    path.write_text(
        MINIMAL.replace("ENGINE", "nginx").replace("STRATEGY", CANARY) + "  environments: [{name: a, profile: gold}]\n"
    )
    with pytest.raises(InvalidInput):
        loading.load_release(path)
    assert loading.load_release(path, [folder]).environments[0].replicas == 8


def test_find_specs(tmp_path: Path) -> None:
    release = MINIMAL.replace("ENGINE", "nginx").replace("STRATEGY", CANARY)
    (tmp_path / "releases" / "team").mkdir(parents=True)
    (tmp_path / "releases" / "b.yaml").write_text(release)
    (tmp_path / "releases" / "team" / "a.yml").write_text(
        "# comment\n" + release.replace("kind: Release", "kind: 'Release'")
    )
    (tmp_path / "releases" / "profile.yaml").write_text("kind: Profile\n")
    (tmp_path / "releases" / "notes.txt").write_text("kind: Release\n")
    (tmp_path / "releases" / ".hidden").mkdir()
    (tmp_path / "releases" / ".hidden" / "c.yaml").write_text(release)
    explicit = tmp_path / "anything.yaml"
    explicit.write_text("not a release")
    assert spec.find_specs_or_raise([tmp_path / "releases", explicit, tmp_path / "releases" / "b.yaml"]) == [
        tmp_path / "releases" / "b.yaml",
        tmp_path / "releases" / "team" / "a.yml",
        explicit,
    ]


def test_every_example_builds_with_its_environments() -> None:
    for path in sorted(EXAMPLES.glob("*.yaml")):
        release = loading.load_release(path)
        names = [env.name for env in release.environments]
        assert len(names) == len(set(names)) and names
        for env in release.environments:
            if isinstance(release.strategy, CanaryStrategy):
                assert env.steps
            else:
                assert env.steps == ()
