"""Model objects for renderer and progression tests that must not depend on the spec loader."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from generator.model import (
    Analysis,
    CanaryStrategy,
    Environment,
    Image,
    IngressSpec,
    Metric,
    Release,
    Step,
)

HELLO_STEPS = (Step(5, 300), Step(20, 600), Step(50, None))

# The canary's routing variants every engine is rendered with
CANARY_STRATEGIES = {
    "plain": CanaryStrategy(steps=HELLO_STEPS),
    "header": CanaryStrategy(steps=HELLO_STEPS, header="X-Canary"),
    "header-value": CanaryStrategy(steps=HELLO_STEPS, header="X-Canary", header_value="beta-users"),
    "cookie": CanaryStrategy(steps=HELLO_STEPS, cookie="canary"),
    "all": CanaryStrategy(steps=HELLO_STEPS, header="X-Canary", header_value="on", cookie="canary"),
    # sticky goes without header/cookie routing: ingress-nginx reads affinity first (checks.check_sticky_routing)
    "sticky": CanaryStrategy(steps=HELLO_STEPS, sticky=True),
}


def make_release(**overrides: Any) -> Release:
    """The blog's hello app as an Argo Rollouts canary; override any field, environments included."""
    fields: dict[str, Any] = dict(
        name="hello",
        namespace="test",
        labels=(("team", "web"),),
        engine="argo-rollouts",
        progression="git",
        image=Image.parse("ghcr.io/kmaster8/hello:v2"),
        replicas=3,
        container_port=5050,
        service_port=5000,
        ingress=IngressSpec(host="hello.example.com", tls_secret="hello-tls"),
        strategy=CanaryStrategy(steps=HELLO_STEPS, header="X-Canary"),
        analysis=Analysis(
            prometheus="http://prometheus.monitoring:9090",
            interval=60,
            failure_limit=1,
            metrics=(
                Metric("error-rate", None, max=1),
                Metric("latency", None, max=500),
                Metric("p99", "histogram_quantile(0.99, sum(rate(x_bucket[1m])) by (le))", max=0.5),
            ),
        ),
        environments=(),
        autoscaling=None,
        settle_delay=60,
        source="examples/hello.yaml",
    )
    fields.update(overrides)
    release = Release(**fields)
    if not release.environments:
        release = replace(release, environments=(replace(release.base_environment(), name="default"),))
    return release


def make_environment(release: Release, **overrides: Any) -> Environment:
    return replace(release.base_environment(), **overrides)
