"""The frozen model (generator.model) built from a release spec the schema and the checks accepted: defaults
filled in, durations in seconds, profiles applied to each environment."""

from __future__ import annotations

from collections.abc import Mapping
from generator.records import replace
from typing import TYPE_CHECKING, Any

from generator import durations
from generator.names import DEFAULT_ENVIRONMENT
from generator.router_facts import DEFAULT
from generator.spec.findings import Located, engine_name, chosen_progression
from generator.facts import EngineName, has
from generator.profile_model import build_autoscaling, build_steps, optional_seconds, sorted_labels
from generator.model import (
    DEFAULT_FAILURE_LIMIT,
    DEFAULT_INTERVAL,
    ABTestStrategy,
    Analysis,
    BlueGreenStrategy,
    CanaryStrategy,
    Environment,
    GatewayRef,
    Image,
    Increase,
    IngressSpec,
    LoadTest,
    Metric,
    Release,
    SecretRef,
    Step,
    Strategy,
    flagger_interval,
)

if TYPE_CHECKING:
    from typing import TypeVar

    from generator.spec.profiles import Profile

    T = TypeVar("T")

DEFAULT_SETTLE_DELAY = 60
DEFAULT_SCALE_DOWN_DELAY = 30

Data = dict[str, Any]


def build_model(doc: Located, profiles: Mapping[str, Profile]) -> Release:
    """The frozen model of a document that check_schema_and_meaning accepted, with these profiles."""
    from generator import workload

    data: Data = doc.data
    meta, spec = data["metadata"], data["spec"]
    strategy = build_strategy(spec["strategy"])
    ingress = spec["ingress"]
    release = Release(
        name=meta["name"],
        namespace=meta["namespace"],
        labels=sorted_labels(meta.get("labels", {})),
        engine=engine_name(data),
        progression=chosen_progression(data),
        image=Image.parse(spec["image"]),
        replicas=spec.get("replicas", 1),
        container_port=spec["containerPort"],
        service_port=spec["service"]["port"],
        ingress=IngressSpec(
            host=ingress["host"],
            path=ingress.get("path", "/"),
            path_type=ingress.get("pathType", "Prefix"),
            class_name=ingress.get("className", "nginx"),
            tls_secret=ingress.get("tlsSecret"),
        ),
        strategy=strategy,
        analysis=build_analysis(spec.get("analysis"), strategy, engine_name(data)),
        environments=(),
        autoscaling=build_autoscaling(spec.get("autoscaling")),
        settle_delay=seconds(spec.get("settleDelay"), DEFAULT_SETTLE_DELAY),
        source=doc.source,
        service_port_name=spec["service"].get("portName", "http"),
        router=spec.get("router", DEFAULT),
        gateway=build_gateway(spec.get("gateway")),
        istio_gateways=tuple(spec.get("istio", {}).get("gateways", ())),
        workload=workload.build_workload(spec),
    )
    entries = spec.get("environments") or [{"name": DEFAULT_ENVIRONMENT}]
    environments = tuple(
        replace(build_environment(release, entry, profiles), analysis=build_environment_analysis(release, spec, entry))
        for entry in entries
    )
    return replace(release, environments=environments)


def build_gateway(gateway: Data | None) -> GatewayRef | None:
    if gateway is None:
        return None
    return GatewayRef(
        name=gateway["name"],
        namespace=gateway.get("namespace"),
        section_name=gateway.get("sectionName"),
        implementation=gateway.get("implementation"),
    )


def seconds(text: str | None, default: int) -> int:
    return default if text is None else durations.parse(text)


def build_strategy(strategy: Data) -> Strategy:
    if "canary" in strategy:
        canary = strategy["canary"]
        return CanaryStrategy(
            steps=build_steps(canary["steps"]),
            header=canary.get("header"),
            header_value=canary.get("headerValue"),
            cookie=canary.get("cookie"),
            sticky=canary.get("sticky", False),
        )
    if "blueGreen" in strategy:
        blue_green = strategy["blueGreen"]
        return BlueGreenStrategy(
            preview_host=blue_green.get("previewHost"),
            auto_promotion=optional_seconds(blue_green.get("autoPromotion")),
            scale_down_delay=seconds(blue_green.get("scaleDownDelay"), DEFAULT_SCALE_DOWN_DELAY),
            preview_tls_secret=blue_green.get("previewTlsSecret"),
        )
    ab_test = strategy["abTest"]
    return ABTestStrategy(
        iterations=ab_test["iterations"],
        header=ab_test.get("header"),
        header_value=ab_test.get("headerValue"),
        cookie=ab_test.get("cookie"),
    )


def build_analysis(analysis: Data | None, strategy: Strategy, engine: EngineName) -> Analysis | None:
    if analysis is None:
        return None
    return Analysis(
        prometheus=analysis["prometheus"],
        interval=analysis_interval(optional_seconds(analysis.get("interval")), strategy, engine),
        failure_limit=analysis.get("failureLimit", DEFAULT_FAILURE_LIMIT),
        metrics=tuple(build_metric(m) for m in analysis["metrics"]),
        load_test=build_load_test(analysis.get("loadTest")),
        headers=tuple(sorted(analysis.get("headers", {}).items())),
        secret=SecretRef(analysis["secretRef"]["name"], analysis["secretRef"]["type"]) if "secretRef" in analysis else None,
    )


def build_metric(data: Data) -> Metric:
    increase = data.get("maxIncrease")
    return Metric(
        name=data["name"],
        query=data.get("query"),
        max=data.get("max"),
        min=data.get("min"),
        max_increase=Increase(
            ratio=increase.get("ratio"), delta=increase.get("delta"), min_requests=increase.get("minRequests", 50)
        ) if increase else None,
    )


def build_environment_analysis(release: Release, spec: Data, entry: Data) -> Analysis | None:
    """The environment's own analysis merged over the release's; None when it has none (the release's holds)."""
    if "analysis" not in entry:
        return None
    from generator.spec.findings import environment_analysis

    return build_analysis(environment_analysis(spec.get("analysis"), entry), release.strategy, release.engine)


def build_load_test(data: Data | None) -> LoadTest | None:
    if data is None:
        return None
    default = LoadTest()
    return LoadTest(url=data.get("url", default.url), rate=data.get("rate", default.rate), target=data.get("target"))


def analysis_interval(explicit: int | None, strategy: Strategy, engine: EngineName) -> int:
    """Flagger moves one canary step per analysis interval, so there the step pause is the natural default
    (facts.flagger_interval)."""
    if has(engine, "one-clock") and isinstance(strategy, CanaryStrategy):
        explicit = flagger_interval(explicit, (step.pause for step in strategy.steps))
    return DEFAULT_INTERVAL if explicit is None else explicit


def build_environment(release: Release, entry: Data, profiles: Mapping[str, Profile]) -> Environment:
    """Precedence: the entry's own fields, then its profile's, then the release-level ones."""
    from generator import workload

    base = release.base_environment()
    profile = profiles[entry["profile"]] if "profile" in entry else None
    labels = dict(profile.labels if profile else ())
    labels.update(entry.get("labels", {}))
    return Environment(
        name=entry["name"],
        profile=entry.get("profile"),
        namespace=entry.get("namespace", base.namespace),
        host=entry.get("host", base.host),
        preview_host=entry.get("previewHost", base.preview_host),
        replicas=first(entry.get("replicas"), profile.replicas if profile else None, _floored(base.replicas, profile)),
        image=Image.parse(entry["image"]) if "image" in entry else base.image,
        steps=environment_steps(release, entry, profile),
        labels=sorted_labels(labels),
        settle_delay=first(
            optional_seconds(entry.get("settleDelay")), profile.settle_delay if profile else None, base.settle_delay
        ),
        autoscaling=build_autoscaling(entry.get("autoscaling"))
        or (profile.autoscaling if profile else None)
        or base.autoscaling,
        cluster=entry.get("cluster"),
        after=entry.get("after"),
        soak=optional_seconds(entry.get("soak")) or 0,
        workload=workload.for_environment(release.workload, entry),
    )


def environment_steps(release: Release, entry: Data, profile: Profile | None) -> tuple[Step, ...]:
    if not isinstance(release.strategy, CanaryStrategy):
        return ()
    if "steps" in entry:
        return build_steps(entry["steps"])
    if profile is not None and profile.steps:
        return profile.steps
    return release.strategy.steps


def _floored(replicas: int, profile: Profile | None) -> int:
    """The release's replicas, raised to the profile's minReplicas ("three pods at least": 4 stays 4, 1 is 3)."""
    floor = profile.min_replicas if profile else None
    return replicas if floor is None else max(replicas, floor)


def first(entry: T | None, profile: T | None, release: T) -> T:
    """The precedence chain of an environment field: the entry's value, the profile's, the release's."""
    if entry is not None:
        return entry
    return profile if profile is not None else release
