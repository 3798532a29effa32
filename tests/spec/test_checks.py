"""Meaning checks: each rule, its precise path, and the message that says how to fix it."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.spec import checks
from generator.render import loading
from generator.spec import release as spec
from generator.errors import Problem, json_path
from generator.spec.loader import load_text
from generator.model import Autoscaling, BlueGreenStrategy, Step
from generator.spec.profiles import Profile, load_profiles

BASE: dict[str, Any] = {
    "apiVersion": "rollgen.io/v1alpha1",
    "kind": "Release",
    "metadata": {"name": "hello", "namespace": "test"},
    "spec": {
        "engine": "argo-rollouts",
        "image": "ghcr.io/kmaster8/hello:v2",
        "containerPort": 5050,
        "service": {"port": 5000},
        "ingress": {"host": "hello.example.com"},
        "strategy": {"canary": {"steps": [{"weight": 5, "pause": "1m"}, {"weight": 50, "pause": "1m"}]}},
    },
}
ANALYSIS = {"prometheus": "http://prometheus.monitoring:9090", "metrics": [{"name": "error-rate", "max": 1}]}


def release(**spec_fields: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data["spec"].update(copy.deepcopy(spec_fields))
    return data


def canary(**fields: Any) -> dict[str, Any]:
    steps = [{"weight": 5, "pause": "1m"}, {"weight": 50, "pause": "1m"}]
    return {"canary": {"steps": steps, **fields}}


def problems(data: dict[str, Any], profiles: Mapping[str, Profile] | None = None) -> list[Problem]:
    doc = load_text(yaml.safe_dump(data, sort_keys=False), "release.yaml")[0]
    assert spec.schema_problems(doc) == [], "the case must be schema-valid: it tests a meaning check"
    return loading.check_document(doc, profiles)


def found(data: dict[str, Any], profiles: Mapping[str, Profile] | None = None) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in problems(data, profiles)]


def only(data: dict[str, Any], path: str, fragment: str, profiles: Mapping[str, Profile] | None = None) -> None:
    result = found(data, profiles)
    assert len(result) == 1, result
    assert result[0][0] == path, result
    assert fragment in result[0][1], result


def test_base_is_clean() -> None:
    assert found(BASE) == []


# --- engine and progression -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "engine, progression, ok",
    [
        ("nginx", "git", True),
        ("nginx", "controller", False),
        ("flagger", "controller", True),
        ("flagger", "git", False),
        ("argo-rollouts", "git", True),
        ("argo-rollouts", "controller", True),
    ],
)
def test_engine_and_progression(engine: str, progression: str, ok: bool) -> None:
    result = found(release(engine=engine, progression=progression))
    if ok:
        assert result == []
    else:
        assert result[0][0] == "$.spec.progression"
        assert "progression:" in result[0][1]


@pytest.mark.parametrize("engine", ["nginx", "flagger", "argo-rollouts"])
def test_default_progression_always_fits(engine: str) -> None:
    assert found(release(engine=engine)) == []


@pytest.mark.parametrize("engine", ["nginx", "argo-rollouts"])
def test_ab_test_needs_flagger(engine: str) -> None:
    only(
        release(engine=engine, strategy={"abTest": {"iterations": 5, "header": "X-Canary"}}),
        "$.spec.strategy.abTest",
        "A/B tests need engine: flagger",
    )


def test_ab_test_with_flagger() -> None:
    assert found(release(engine="flagger", strategy={"abTest": {"iterations": 5, "cookie": "canary"}})) == []


@pytest.mark.parametrize("key, value", [("header", "X-Canary"), ("cookie", "canary")])
def test_flagger_canary_refuses_routing_and_points_at_ab_test(key: str, value: str) -> None:
    only(
        release(engine="flagger", strategy=canary(**{key: value})),
        f"$.spec.strategy.canary.{key}",
        "use strategy.abTest",
    )


def test_flagger_canary_refuses_sticky() -> None:
    only(release(engine="flagger", strategy=canary(sticky=True)), "$.spec.strategy.canary.sticky", "no sticky")


@pytest.mark.parametrize("engine", ["nginx", "argo-rollouts"])
def test_header_and_cookie_coexist_with_steps(engine: str) -> None:
    assert found(release(engine=engine, strategy=canary(header="X-Canary", cookie="canary"))) == []
    assert found(release(engine=engine, strategy=canary(sticky=True))) == []


@pytest.mark.parametrize("engine", ["nginx", "argo-rollouts"])
@pytest.mark.parametrize("routes", [{"header": "X-Canary"}, {"cookie": "canary"}, {"header": "X", "cookie": "c"}])
def test_sticky_with_header_or_cookie_routing_is_refused(engine: str, routes: dict[str, str]) -> None:
    """balancer.lua reads the affinity cookie before any canary rule (issue 17 item 4, tests/render/routers/test_balancer.py)."""
    only(release(engine=engine, strategy=canary(sticky=True, **routes)), "$.spec.strategy.canary.sticky",
         "sticky sessions switch off")


def test_header_value_never_is_refused_always_is_fine() -> None:
    only(
        release(strategy=canary(header="X-Canary", headerValue="never")),
        "$.spec.strategy.canary.headerValue",
        "'never' would mean the opposite",
    )
    assert found(release(strategy=canary(header="X-Canary", headerValue="always"))) == []


def test_flagger_blue_green_needs_auto_promotion() -> None:
    only(release(engine="flagger", strategy={"blueGreen": {}}), "$.spec.strategy.blueGreen", "set autoPromotion")
    assert found(release(engine="flagger", strategy={"blueGreen": {"autoPromotion": "10m"}})) == []


@pytest.mark.parametrize("engine", ["nginx", "argo-rollouts"])
def test_blue_green_preview_is_optional(engine: str) -> None:
    assert found(release(engine=engine, strategy={"blueGreen": {}})) == []


def test_preview_host_must_differ_from_host() -> None:
    only(
        release(strategy={"blueGreen": {"previewHost": "hello.example.com"}}),
        "$.spec.strategy.blueGreen.previewHost",
        "must differ from ingress.host",
    )


@pytest.mark.parametrize(
    "engine, strategy",
    [
        ("flagger", {"abTest": {"iterations": 5, "header": "COOKIE", "headerValue": "beta"}}),
        ("nginx", canary(header="Cookie")),
        ("argo-rollouts", canary(header="cookie", headerValue="beta")),
    ],
)
def test_header_named_cookie_is_refused(engine: str, strategy: dict[str, Any]) -> None:
    kind = next(iter(strategy))
    only(
        release(engine=engine, strategy=strategy),
        f"$.spec.strategy.{kind}.header",
        "the Cookie header carries every cookie of a request",
    )


def test_flagger_reads_a_header_named_cookie_as_the_cookie_condition() -> None:
    only(
        release(engine="flagger", strategy={"abTest": {"iterations": 5, "header": "cookie", "headerValue": "beta"}}),
        "$.spec.strategy.abTest.header",
        "Flagger's nginx router reads a match on the header 'cookie' as the cookie condition",
    )


def test_headers_that_only_contain_cookie_are_fine() -> None:
    strategy = {"abTest": {"iterations": 5, "header": "X-Cookie", "cookie": "cookie"}}
    assert found(release(engine="flagger", strategy=strategy)) == []


@pytest.mark.parametrize("engine", ["nginx", "argo-rollouts", "flagger"])
def test_preview_tls_secret_needs_a_preview_host(engine: str) -> None:
    strategy = {"blueGreen": {"previewTlsSecret": "preview-tls", "autoPromotion": "5m"}}
    only(
        release(engine=engine, strategy=strategy),
        "$.spec.strategy.blueGreen.previewTlsSecret",
        "set previewHost, or remove previewTlsSecret",
    )
    with_host = {"blueGreen": {**strategy["blueGreen"], "previewHost": "preview.example.com"}}
    assert found(release(engine=engine, strategy=with_host)) == []
    entries = [{"name": "a", "previewHost": "preview.a.example.com"}, {"name": "b"}]
    assert found(envs(*entries, engine=engine, strategy=strategy)) == []


def test_preview_tls_secret_reaches_the_model() -> None:
    data = release(strategy={"blueGreen": {"previewHost": "p.example.com", "previewTlsSecret": "preview-tls"}})
    doc = load_text(yaml.safe_dump(data, sort_keys=False), "release.yaml")[0]
    strategy = spec.build_release(doc).strategy
    assert isinstance(strategy, BlueGreenStrategy) and strategy.preview_tls_secret == "preview-tls"


# --- autoscaling ------------------------------------------------------------------------------------------------

SCALING = {"minReplicas": 2, "maxReplicas": 6, "cpu": 80}
CPU_REQUEST = {"resources": {"requests": {"cpu": "100m"}}}  # what an HPA on CPU needs (workload_checks)


@pytest.mark.parametrize("strategy", [canary(), {"blueGreen": {}}], ids=["canary", "blue-green"])
def test_nginx_engine_refuses_autoscaling(strategy: dict[str, Any]) -> None:
    only(
        release(engine="nginx", strategy=strategy, autoscaling=SCALING),
        "$.spec.autoscaling",
        "an HPA would fight those replicas",
    )


def test_nginx_engine_refuses_environment_autoscaling() -> None:
    only(
        envs({"name": "prod", "autoscaling": SCALING}, engine="nginx"),
        "$.spec.environments[0].autoscaling",
        "an HPA would fight those replicas",
    )


def test_nginx_engine_refuses_a_profile_that_brings_autoscaling() -> None:
    profiles = {"scaled": Profile(name="scaled", source="scaled.yaml", autoscaling=Autoscaling(2, 6, 80))}
    only(
        envs({"name": "prod", "profile": "scaled"}, engine="nginx"),
        "$.spec.environments[0].profile",
        "profile 'scaled' brings autoscaling",
        profiles,
    )
    # the entry's own autoscaling is what is reported when both have it
    only(
        envs({"name": "prod", "profile": "scaled", "autoscaling": SCALING}, engine="nginx"),
        "$.spec.environments[0].autoscaling",
        "an HPA would fight those replicas",
        profiles,
    )
    assert found(envs({"name": "prod", "profile": "scaled"}), profiles) == []  # argo-rollouts


@pytest.mark.parametrize(
    "engine, strategy",
    [("argo-rollouts", canary()), ("argo-rollouts", {"blueGreen": {}}), ("flagger", canary())],
)
def test_other_engines_take_autoscaling(engine: str, strategy: dict[str, Any]) -> None:
    data = envs(
        {"name": "prod", "autoscaling": SCALING}, engine=engine, strategy=strategy, autoscaling=SCALING,
        container=CPU_REQUEST,
    )
    assert found(data) == []


# --- steps ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("weights", [[20, 20], [50, 20], [5, 20, 10]])
def test_weights_strictly_increase(weights: list[int]) -> None:
    steps = [{"weight": w} for w in weights]
    result = found(release(strategy={"canary": {"steps": steps}}))
    assert len(result) == 1
    path, message = result[0]
    assert path.startswith("$.spec.strategy.canary.steps[") and path.endswith("].weight")
    assert "weights must grow strictly" in message


def test_flagger_steps_need_a_pause() -> None:
    steps = [{"weight": 5, "pause": "1m"}, {"weight": 50}]
    only(
        release(engine="flagger", strategy={"canary": {"steps": steps}}),
        "$.spec.strategy.canary.steps[1]",
        "cannot wait for a person",
    )


def test_flagger_pauses_must_be_equal() -> None:
    steps = [{"weight": 5, "pause": "1m"}, {"weight": 50, "pause": "60s"}, {"weight": 60, "pause": "2m"}]
    only(
        release(engine="flagger", strategy={"canary": {"steps": steps}}),
        "$.spec.strategy.canary.steps[2].pause",
        "the first is 1m, this one 2m",
    )


def test_flagger_pause_zero_is_refused() -> None:
    steps = [{"weight": 5, "pause": "0s"}]
    only(
        release(engine="flagger", strategy={"canary": {"steps": steps}}),
        "$.spec.strategy.canary.steps[0].pause",
        "at least 1s",
    )


def test_flagger_interval_must_match_the_pauses() -> None:
    only(
        release(engine="flagger", analysis={**ANALYSIS, "interval": "2m"}),
        "$.spec.strategy.canary.steps[0].pause",
        "one step per analysis interval, 2m",
    )
    assert found(release(engine="flagger", analysis={**ANALYSIS, "interval": "60s"})) == []


def test_other_engines_allow_any_pauses() -> None:
    steps = [{"weight": 5, "pause": "1m"}, {"weight": 20}, {"weight": 50, "pause": "1h"}]
    assert found(release(strategy={"canary": {"steps": steps}}, analysis={**ANALYSIS, "interval": "2m"})) == []


# --- analysis ---------------------------------------------------------------------------------------------------


def metrics(*entries: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"analysis": {"prometheus": "http://prometheus:9090", "metrics": list(entries), **fields}}


def test_builtin_metric_takes_no_query() -> None:
    only(
        release(**metrics({"name": "latency", "query": "x", "max": 3})),
        "$.spec.analysis.metrics[0].query",
        "built in and takes no query",
    )


def test_builtin_metric_needs_max_not_min() -> None:
    result = found(release(**metrics({"name": "error-rate", "min": 1})))
    assert result == [
        (
            "$.spec.analysis.metrics[0]",
            "the built-in 'error-rate' needs max (the highest acceptable percent of 5xx answers)",
        ),
        ("$.spec.analysis.metrics[0].min", "the built-in 'error-rate' takes only max: remove min"),
    ]


def test_error_rate_is_a_percent() -> None:
    only(release(**metrics({"name": "error-rate", "max": 150})), "$.spec.analysis.metrics[0].max", "a percent")


def test_custom_metric_needs_a_query_and_suggests_builtins() -> None:
    only(release(**metrics({"name": "latncy", "max": 3})), "$.spec.analysis.metrics[0]", "did you mean 'latency'?")


def test_custom_metric_with_min_and_max() -> None:
    assert found(release(**metrics({"name": "ratio", "query": "q", "min": 0.9, "max": 1}))) == []
    only(
        release(**metrics({"name": "ratio", "query": "q", "min": 2, "max": 1})),
        "$.spec.analysis.metrics[0].max",
        "below min",
    )


def test_metric_names_are_unique() -> None:
    only(
        release(**metrics({"name": "latency", "max": 3}, {"name": "latency", "max": 4})),
        "$.spec.analysis.metrics[1].name",
        "already defined as metrics[0]",
    )


def test_analysis_interval_not_zero() -> None:
    only(release(**metrics({"name": "latency", "max": 3}, interval="0s")), "$.spec.analysis.interval", "at least 1s")


def test_flagger_blue_green_refuses_each_builtin_metric() -> None:
    custom = {"name": "pod-errors", "query": "sum(rate(errors[1m]))", "max": 1}
    strategy = {"blueGreen": {"previewHost": "preview.example.com", "autoPromotion": "10m"}}
    analysis = metrics({"name": "latency", "max": 300}, custom, {"name": "error-rate", "max": 1})
    data = release(engine="flagger", strategy=strategy, **analysis)
    result = found(data)
    assert [path for path, _ in result] == ["$.spec.analysis.metrics[0].name", "$.spec.analysis.metrics[2].name"]
    assert all("Flagger counts the missing data as failed checks and always rolls back" in m for _, m in result)
    assert "'latency'" in result[0][1] and "'error-rate'" in result[1][1]
    assert found(release(engine="flagger", strategy=strategy, **metrics(custom))) == []


def test_flagger_ab_test_takes_builtin_metrics() -> None:
    strategy = {"abTest": {"iterations": 5, "header": "X-Canary"}}
    assert found(release(engine="flagger", strategy=strategy, **metrics({"name": "latency", "max": 300}))) == []


BUILTIN_ONLY = metrics({"name": "latency", "max": 300}, {"name": "error-rate", "max": 1})


@pytest.mark.parametrize("entries", [[], [{"name": "a"}, {"name": "b", "namespace": "b"}]], ids=["no-environments", "none-has-one"])
def test_rollouts_blue_green_builtin_metrics_need_a_preview_host(entries: list[dict[str, Any]]) -> None:
    data = release(strategy={"blueGreen": {}}, **BUILTIN_ONLY)
    if entries:
        data["spec"]["environments"] = entries
    only(data, "$.spec.strategy.blueGreen.previewHost", "the built-in 'latency' of the prePromotionAnalysis")
    assert "Set previewHost (here or on every environment)" in found(data)[0][1]


def test_rollouts_blue_green_points_at_each_environment_without_a_preview_host() -> None:
    entries = [{"name": "a"}, {"name": "b", "previewHost": "preview.b.example.com"}, {"name": "c"}]
    result = found(envs(*entries, strategy={"blueGreen": {}}, **BUILTIN_ONLY))
    assert [path for path, _ in result] == ["$.spec.environments[0].previewHost", "$.spec.environments[2].previewHost"]
    assert result[0][1].startswith("environment 'a' has no previewHost")


def test_rollouts_blue_green_analysis_with_a_preview_host_or_custom_metrics() -> None:
    with_host = {"blueGreen": {"previewHost": "preview.example.com"}}
    assert found(envs({"name": "a"}, strategy=with_host, **BUILTIN_ONLY)) == []
    custom = metrics({"name": "ratio", "query": 'q{pod=~"{{ target }}-.*"}[{{interval}}]', "min": 0.9})
    assert found(release(strategy={"blueGreen": {}}, **custom)) == []
    assert found(release(engine="nginx", strategy={"blueGreen": {}}, **custom)) == []


@pytest.mark.parametrize("entries", [[], [{"name": "a"}, {"name": "b", "namespace": "b"}]], ids=["no-environments", "none-has-one"])
def test_nginx_blue_green_builtin_metrics_need_a_preview_host(entries: list[dict[str, Any]]) -> None:
    """The git gate measures the `N-preview` Ingress; without a preview host it would hold for ever (no data)."""
    data = release(engine="nginx", strategy={"blueGreen": {}}, **BUILTIN_ONLY)
    if entries:
        data["spec"]["environments"] = entries
    only(data, "$.spec.strategy.blueGreen.previewHost", "the built-in 'latency' of the `rollgen advance` gate")
    assert "holds the preview for ever (no data). Set previewHost (here or on every environment)" in found(data)[0][1]


def test_nginx_blue_green_points_at_each_environment_without_a_preview_host() -> None:
    entries = [{"name": "a"}, {"name": "b", "previewHost": "preview.b.example.com"}, {"name": "c"}]
    result = found(envs(*entries, engine="nginx", strategy={"blueGreen": {}}, **BUILTIN_ONLY))
    assert [path for path, _ in result] == ["$.spec.environments[0].previewHost", "$.spec.environments[2].previewHost"]
    assert result[1][1].startswith("environment 'c' has no previewHost, and the built-in 'latency' of the `rollgen")
    with_host = {"blueGreen": {"previewHost": "preview.example.com"}}
    assert found(envs({"name": "a"}, engine="nginx", strategy=with_host, **BUILTIN_ONLY)) == []


@pytest.mark.parametrize("engine", ["nginx", "argo-rollouts"])
@pytest.mark.parametrize("token", ["{{ ingress }}", "{{ingress}}"])
def test_a_custom_query_reading_the_ingress_needs_a_preview_host_too(engine: str, token: str) -> None:
    query = f'sum(rate(nginx_ingress_controller_requests{{ingress="{token}"}}[1m]))'
    data = release(engine=engine, strategy={"blueGreen": {}}, **metrics({"name": "ingress-rps", "query": query, "min": 1}))
    only(data, "$.spec.strategy.blueGreen.previewHost", "the metric 'ingress-rps' (its query reads {{ ingress }})")
    assert found(data)[0][1].endswith("or remove {{ ingress }} from its query")


def test_analysis_with_nginx_engine_is_allowed() -> None:
    assert found(release(engine="nginx", **metrics({"name": "latency", "max": 300}))) == []


# --- names and labels -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "engine, strategy, longest_allowed",
    [
        ("nginx", canary(), 56),
        ("nginx", {"blueGreen": {}}, 55),
        ("argo-rollouts", canary(), 56),
        ("argo-rollouts", {"blueGreen": {}}, 55),
        ("flagger", canary(), 55),
        ("flagger", {"abTest": {"iterations": 3, "header": "X-Canary"}}, 55),
        ("flagger", {"blueGreen": {"autoPromotion": "5m"}}, 55),
    ],
)
def test_derived_service_names_fit_in_a_dns_label(engine: str, strategy: dict[str, Any], longest_allowed: int) -> None:
    data = release(engine=engine, strategy=strategy)
    data["metadata"]["name"] = "a" * longest_allowed
    assert found(data) == []
    data["metadata"]["name"] = "a" * (longest_allowed + 1)
    only(data, "$.metadata.name", f"shorten metadata.name to at most {longest_allowed} characters")


def test_derived_names_cover_every_object() -> None:
    data = release(**metrics({"name": "p99", "query": "q", "max": 1}))
    names = {name for _, name, _ in checks.derived_names(data)}
    assert names == {"hello-stable", "hello-canary", "hello-hello-canary", "hello-p99"}


@pytest.mark.parametrize("key", ["app.kubernetes.io/name", "app.kubernetes.io/managed-by", "rollgen.io/track"])
def test_reserved_label_keys(key: str) -> None:
    data = release()
    data["metadata"]["labels"] = {key: "x", "team": "web"}
    only(data, f"$.metadata.labels[{key!r}]", "is set by rollgen")


def test_autoscaling_bounds() -> None:
    only(
        release(autoscaling={"minReplicas": 3, "maxReplicas": 2, "cpu": 80}, container=CPU_REQUEST),
        "$.spec.autoscaling.maxReplicas",
        "below minReplicas",
    )


# --- environments -----------------------------------------------------------------------------------------------


def envs(*entries: dict[str, Any], **spec_fields: Any) -> dict[str, Any]:
    """Environments that each get a namespace of their own unless the entry names one (they may not overlap)."""
    return release(environments=[{"namespace": f"ns-{e['name']}", **e} for e in entries], **spec_fields)


def test_environment_names_are_unique() -> None:
    only(
        envs({"name": "prod"}, {"name": "staging"}, {"name": "prod"}),
        "$.spec.environments[2].name",
        "already defined as environments[0]",
    )


def test_environment_name_fits_in_the_wiring_label() -> None:
    data = envs({"name": "e" * 57})  # hello-eee...: 63 characters
    assert found(data) == []
    data["spec"]["environments"][0]["name"] = "e" * 58
    only(data, "$.spec.environments[0].name", "shorten this environment name to at most 57 characters")


def test_unknown_profile_suggests_and_lists_the_known_ones() -> None:
    only(
        envs({"name": "prod", "profile": "prd"}),
        "$.spec.environments[0].profile",
        "did you mean 'prod'? (known profiles: dev, prod, staging",
    )


def test_profiles_come_from_the_given_mapping() -> None:
    custom = {"canary-fast": Profile(name="canary-fast", source="x.yaml", replicas=2)}
    assert found(envs({"name": "prod", "profile": "canary-fast"}), custom) == []
    only(
        envs({"name": "prod", "profile": "prod"}),
        "$.spec.environments[0].profile",
        "known profiles: canary-fast",
        custom,
    )


def test_environment_steps_follow_the_step_rules() -> None:
    only(
        envs({"name": "prod", "steps": [{"weight": 30}, {"weight": 10}]}),
        "$.spec.environments[0].steps[1].weight",
        "weights must grow strictly",
    )


def test_environment_steps_only_for_canary() -> None:
    only(
        envs({"name": "prod", "steps": [{"weight": 30}]}, strategy={"blueGreen": {}}),
        "$.spec.environments[0].steps",
        "only to a canary strategy",
    )


def test_environment_preview_host_only_for_blue_green() -> None:
    only(
        envs({"name": "prod", "previewHost": "preview.example.com"}),
        "$.spec.environments[0].previewHost",
        "only to a blueGreen strategy",
    )


def test_environment_host_overrides_are_checked_against_the_preview_host() -> None:
    blue_green = {"blueGreen": {"previewHost": "preview.example.com"}}
    only(
        envs({"name": "a", "host": "preview.example.com"}, strategy=blue_green),
        "$.spec.environments[0].host",
        "give the environment its own previewHost",
    )
    only(
        envs({"name": "a", "host": "a.example.com", "previewHost": "a.example.com"}, strategy=blue_green),
        "$.spec.environments[0].previewHost",
        "both 'a.example.com'",
    )
    assert (
        found(envs({"name": "a", "host": "a.example.com", "previewHost": "p.a.example.com"}, strategy=blue_green)) == []
    )


def test_environment_labels_and_autoscaling() -> None:
    entry = {
        "name": "prod",
        "labels": {"app.kubernetes.io/managed-by": "me"},
        "autoscaling": {"minReplicas": 5, "maxReplicas": 1, "cpu": 50},
    }
    assert [path for path, _ in found(envs(entry, container=CPU_REQUEST))] == [
        "$.spec.environments[0].labels['app.kubernetes.io/managed-by']",
        "$.spec.environments[0].autoscaling.maxReplicas",
    ]


def test_flagger_environment_steps() -> None:
    only(
        envs({"name": "prod", "steps": [{"weight": 10, "pause": "1m"}, {"weight": 20}]}, engine="flagger"),
        "$.spec.environments[0].steps[1]",
        "cannot wait for a person",
    )


def test_flagger_environment_steps_must_match_the_analysis_interval() -> None:
    entry = {"name": "prod", "steps": [{"weight": 10, "pause": "5m"}]}
    only(
        envs(entry, engine="flagger", analysis=ANALYSIS),
        "$.spec.environments[0].steps[0].pause",
        "one step per analysis interval, 1m",
    )
    # Without analysis each environment's own pause is its interval.
    assert found(envs(entry, engine="flagger")) == []


def test_flagger_environment_profile_steps() -> None:
    profiles = {
        "slow": Profile(name="slow", source="slow.yaml", steps=(Step(10, 300), Step(50, 300))),
        "manual": Profile(name="manual", source="manual.yaml", steps=(Step(10, 60), Step(50, None))),
    }
    data = envs({"name": "a", "profile": "slow"}, {"name": "b", "profile": "manual"}, engine="flagger")
    only(data, "$.spec.environments[1].profile", "brings steps paused 1m, none", profiles)
    data["spec"]["analysis"] = ANALYSIS
    assert [p for p, _ in found(data, profiles)] == ["$.spec.environments[0].profile", "$.spec.environments[1].profile"]


def test_builtin_profiles_work_with_the_flagger_example_shape() -> None:
    data = envs({"name": "dev", "profile": "dev"}, {"name": "prod", "profile": "prod"}, engine="flagger")
    assert found(data, load_profiles()) == []


# --- locations --------------------------------------------------------------------------------------------------


def test_problems_are_located_and_sorted() -> None:
    data = envs({"name": "prod"}, {"name": "prod", "profile": "nope"}, engine="nginx", progression="controller")
    result = problems(data)
    assert [p.path for p in result] == [  # environments come before engine in this document
        "$.spec.environments[1].name",
        "$.spec.environments[1].profile",
        "$.spec.progression",
    ]
    assert all(p.file == "release.yaml" and p.line > 0 and p.column > 0 for p in result)
    lines = yaml.safe_dump(data, sort_keys=False).splitlines()
    assert lines[result[2].line - 1].strip() == "progression: controller"
    assert lines[result[2].line - 1].index("controller") + 1 == result[2].column


def test_json_path_quotes_unusual_keys() -> None:
    assert json_path(("spec", "steps", 1, "weight")) == "$.spec.steps[1].weight"
    assert json_path(("metadata", "labels", "app.kubernetes.io/x")) == "$.metadata.labels['app.kubernetes.io/x']"
    assert json_path(()) == "$"


# --- robustness -------------------------------------------------------------------------------------------------

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))
REPLACEMENTS: tuple[Any, ...] = (None, "x", -1, [], {"x": 1})


def paths_in(node: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield (*prefix, key)
        yield from paths_in(value, (*prefix, key))


def mutated(data: Any, path: tuple[str | int, ...], value: Any) -> Any:
    copied = copy.deepcopy(data)
    parent = copied
    for part in path[:-1]:
        parent = parent[part]
    if value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return copied


DELETE = object()


class Unlocated:
    """Data without a YAML text behind it (positions are not what this test is about)."""

    source = "m.yaml"

    def __init__(self, data: Any) -> None:
        self.data = data

    def locate(self, path: tuple[str | int, ...]) -> tuple[int, int]:
        return (1, 1)

    def locate_key(self, path: tuple[str | int, ...]) -> tuple[int, int]:
        return (1, 1)


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_no_mutation_crashes_the_checks(example: Path) -> None:
    """Every field removed or replaced by a value of another type: problems or a model, never an exception."""
    data = yaml.safe_load(example.read_text())
    profiles = load_profiles()
    for path in paths_in(data):
        for value in (DELETE, *REPLACEMENTS):
            doc = Unlocated(mutated(data, path, value))
            if not loading.check_document(doc, profiles):
                spec.build_release(doc, profiles)


# -- the preview host's TLS (issue 17 item 9) -----------------------------------------------------------------


def _blue_green_with_tls(**blue_green: Any) -> dict[str, Any]:
    data = release(strategy={"blueGreen": blue_green})
    data["spec"]["ingress"]["tlsSecret"] = "hello-tls"
    return data


def test_a_preview_host_does_not_silently_reuse_the_main_certificate() -> None:
    only(_blue_green_with_tls(previewHost="preview.hello.example.com"), "$.spec.strategy.blueGreen.previewHost",
         "would reuse ingress.tlsSecret 'hello-tls'")


def test_an_environments_preview_host_is_located_there() -> None:
    data = _blue_green_with_tls()
    data["spec"]["environments"] = [{"name": "staging", "namespace": "staging", "previewHost": "p.staging.example.com"}]
    only(data, "$.spec.environments[0].previewHost", "p.staging.example.com would reuse")


@pytest.mark.parametrize("secret", ["hello-tls", "preview-tls"])
def test_naming_the_preview_secret_says_which_certificate_covers_it(secret: str) -> None:
    assert found(_blue_green_with_tls(previewHost="preview.hello.example.com", previewTlsSecret=secret)) == []


def test_without_tls_there_is_nothing_to_reuse() -> None:
    assert found(release(strategy={"blueGreen": {"previewHost": "preview.hello.example.com"}})) == []


# -- environments that would own each other's objects (issue 17 item 1) ----------------------------------------


def _targets(*entries: dict[str, Any]) -> list[tuple[str, str]]:
    return found(release(environments=list(entries)))


def test_two_environments_in_one_namespace_of_one_cluster_are_refused() -> None:
    result = _targets({"name": "dev", "host": "hello.dev.example.com"}, {"name": "prod"})
    assert [path for path, _ in result] == ["$.spec.environments[1].name"]
    assert "same objects as environment 'dev' into namespace 'test' on the default cluster" in result[0][1]


def test_the_clash_points_at_the_namespace_when_the_entry_sets_one() -> None:
    result = _targets({"name": "a", "namespace": "shop"}, {"name": "b", "namespace": "shop", "cluster": "eu"},
                      {"name": "c", "namespace": "shop", "cluster": "eu"})
    assert result == [("$.spec.environments[2].namespace", result[0][1])]
    assert "environment 'b' into namespace 'shop' on cluster 'eu'" in result[0][1]


@pytest.mark.parametrize("second", [{"namespace": "test-prod"}, {"cluster": "prod-eu-1"}])
def test_a_namespace_or_a_cluster_of_its_own_is_enough(second: dict[str, str]) -> None:
    assert _targets({"name": "dev"}, {"name": "prod", **second}) == []


# -- Flagger's load test (issue 17 item 3) --------------------------------------------------------------------

AB = {"abTest": {"iterations": 5, "header": "X-Canary"}}


@pytest.mark.parametrize("engine", ["nginx", "argo-rollouts"])
def test_a_load_test_is_flaggers_only(engine: str) -> None:
    only(release(engine=engine, analysis={**ANALYSIS, "loadTest": {}}), "$.spec.analysis.loadTest",
         "loadTest is Flagger's rollout webhook")


def _warnings(data: dict[str, Any]) -> list[tuple[str, str]]:
    doc = load_text(yaml.safe_dump(data, sort_keys=False), "release.yaml")[0]
    assert loading.check_document(doc) == []
    return [(p.path, p.message) for p in checks.warnings(doc.data, doc)]


def test_a_flagger_ab_test_on_built_in_metrics_without_load_test_warns() -> None:
    (warning,) = _warnings(release(engine="flagger", strategy=AB, analysis=ANALYSIS))
    assert warning[0] == "$.spec.analysis.metrics[0].name" and warning[1].startswith("warning: ")


@pytest.mark.parametrize("fields", [
    {"strategy": AB, "analysis": {**ANALYSIS, "loadTest": {"rate": 5}}},  # traffic is generated
    {"strategy": AB, "analysis": {**ANALYSIS, "metrics": [{"name": "c", "query": "vector(1)", "max": 2}]}},
    {"analysis": ANALYSIS},  # a weighted canary: every client takes part
])
def test_no_warning_where_the_analysis_cannot_starve(fields: dict[str, Any]) -> None:
    data = release(engine="flagger", **fields)
    if "strategy" not in fields:
        data["spec"]["strategy"] = {"canary": {"steps": [{"weight": 5, "pause": "1m"}, {"weight": 50, "pause": "1m"}]}}
    assert _warnings(data) == []
