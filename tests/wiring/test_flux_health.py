"""Flux health checks of Rollouts and Canaries, evaluated as CEL against the statuses the controllers write
(issue 17 item 7), and the Kustomization timeout held to the longest step the rendered objects describe."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator import durations
from generator import wiring
from generator.render.engines import ENGINES, engine_for, renderer_for
from generator.render.engines.flagger import APPLIED_AT
from generator.model import EnvState
from generator.render.loading import load_release
from tests.conftest import EXAMPLES

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))
FLUX = wiring.flux_settings({"url": "https://git.example.com/config.git"})
T0, BEFORE, AFTER = "2026-05-04T10:00:00Z", "2026-05-04T09:58:00Z", "2026-05-04T10:01:30Z"


def cel() -> Any:
    try:
        import celpy  # type: ignore[import-untyped]
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("cel-python is required under CI (pip install -e '.[test]')")
        pytest.skip("cel-python is not installed")
    return celpy


def status_of(kind: str, obj: dict[str, Any]) -> str:
    """What Flux concludes, in its order: inProgress, failed, current, else InProgress."""
    celpy = cel()
    env = celpy.Environment()
    exprs = next(e for e in (engine.health_check for engine in ENGINES.values()) if e and e["kind"] == kind)
    activation = {key: celpy.json_to_cel(value) for key, value in obj.items()}
    for outcome in ("inProgress", "failed", "current"):
        if outcome in exprs and env.program(env.compile(exprs[outcome])).evaluate(activation):
            return outcome
    return "inProgress"


def rollout(generation: int, status: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"generation": generation}, "status": status}


@pytest.mark.parametrize(("generation", "status", "expected"), [
    (4, {"observedGeneration": "3", "phase": "Paused"}, "inProgress"),  # the step commit, not yet seen
    (4, {"observedGeneration": "3", "phase": "Healthy"}, "inProgress"),
    (4, {"observedGeneration": "3", "phase": "Degraded"}, "inProgress"),  # the old revision's failure
    (4, {"observedGeneration": "4", "phase": "Progressing"}, "inProgress"),
    (4, {"observedGeneration": "4", "phase": "Paused"}, "current"),  # holding at the new weight
    (4, {"observedGeneration": "4", "phase": "Healthy"}, "current"),
    (4, {"observedGeneration": "4", "phase": "Degraded"}, "failed"),
    (1, {}, "inProgress"),  # just created
    (1, {"observedGeneration": "1"}, "inProgress"),
])
def test_a_rollout_is_judged_only_once_the_controller_saw_the_commit(
    generation: int, status: dict[str, Any], expected: str
) -> None:
    assert status_of("Rollout", rollout(generation, status)) == expected


def canary(annotations: dict[str, str] | None, status: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {"generation": 1}
    if annotations is not None:
        meta["annotations"] = annotations
    return {"metadata": meta, "status": status}


STAMPED = {APPLIED_AT: T0, "argocd.argoproj.io/sync-wave": "0"}


@pytest.mark.parametrize(("annotations", "status", "expected"), [
    (STAMPED, {"phase": "Succeeded", "lastTransitionTime": BEFORE}, "inProgress"),  # Flagger has not seen it
    (STAMPED, {"phase": "Failed", "lastTransitionTime": BEFORE}, "inProgress"),  # the previous run's failure
    (STAMPED, {"phase": "Progressing", "lastTransitionTime": AFTER}, "inProgress"),
    (STAMPED, {"phase": "Succeeded", "lastTransitionTime": AFTER}, "current"),
    (STAMPED, {"phase": "Initialized", "lastTransitionTime": AFTER}, "current"),  # a first deploy
    (STAMPED, {"phase": "Failed", "lastTransitionTime": AFTER}, "failed"),
    (STAMPED, {}, "inProgress"),
    (None, {"phase": "Succeeded", "lastTransitionTime": BEFORE}, "current"),  # no stamp: the phase decides
    ({"argocd.argoproj.io/sync-wave": "0"}, {"phase": "Failed"}, "failed"),
])
def test_a_canary_is_judged_only_once_flagger_acted_on_the_revision(
    annotations: dict[str, str] | None, status: dict[str, Any], expected: str
) -> None:
    assert status_of("Canary", canary(annotations, status)) == expected


def test_the_flagger_canary_carries_the_time_of_the_action() -> None:
    release = load_release(EXAMPLES / "hello-flagger-canary.yaml")
    env = release.environments[0]
    render = renderer_for("flagger")
    stamped = render(release, env, EnvState(phase="stable", stable_image=env.image, since=T0)).manifests
    plain = render(release, env, EnvState.initial(env)).manifests
    (with_time,) = [m for m in stamped if m["kind"] == "Canary"]
    (without,) = [m for m in plain if m["kind"] == "Canary"]
    assert with_time["metadata"]["annotations"] == {APPLIED_AT: T0}
    assert "annotations" not in without["metadata"]


# -- the timeout covers the longest step -----------------------------------------------------------------------


def _seconds(text: str) -> int:
    return int(sum(int(n) * {"s": 1, "m": 60, "h": 3600}[u] for n, u in re.findall(r"(\d+)(h|m|s)", text)))


def _analysis_seconds(template: dict[str, Any]) -> int:
    """The run of an AnalysisTemplate: initialDelay, then count measurements an interval apart."""
    runs = [_seconds(m.get("initialDelay", "0s")) + (m["count"] - 1) * _seconds(m["interval"])
            for m in template["spec"]["metrics"]]
    return max(runs, default=0)


def _longest_rollout_step(manifests: list[dict[str, Any]]) -> int:
    rollout = next(m for m in manifests if m["kind"] == "Rollout")
    templates = [m for m in manifests if m["kind"] == "AnalysisTemplate"]
    analysis = _analysis_seconds(templates[0]) if templates else 0
    strategy = rollout["spec"]["strategy"]
    if "blueGreen" in strategy:
        blue_green = strategy["blueGreen"]
        return blue_green.get("autoPromotionSeconds", 0) + (analysis if "prePromotionAnalysis" in blue_green else 0)
    longest = current = 0
    for step in strategy["canary"]["steps"]:
        if "setWeight" in step:
            current = 0
        current += analysis if "analysis" in step else 0
        current += _seconds(str(step.get("pause", {}).get("duration", "0s"))) if "pause" in step else 0
        longest = max(longest, current)
    return longest


def _flagger_run(manifests: list[dict[str, Any]]) -> int:
    spec = next(m for m in manifests if m["kind"] == "Canary")["spec"]["analysis"]
    checks = len(spec.get("stepWeights", [])) or spec.get("iterations", 0)
    return _seconds(spec["interval"]) * (checks + spec["threshold"])


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda e: e.stem)
def test_the_kustomization_timeout_covers_the_longest_step(example: Path) -> None:
    """Flux marks a Kustomization Ready=False when its timeout runs out while a step (pause and analysis
    included) is still healthy: the timeout holds the configured allowance plus the longest step, as read back
    from the rendered Rollout/Canary."""
    release = load_release(example)
    for env in release.environments:
        manifests = list(renderer_for(release.engine)(release, env, EnvState.initial(env)).manifests)
        timeout = _seconds(wiring.kustomization(release, env, FLUX)["spec"]["timeout"])
        if release.engine == "argo-rollouts":
            longest = _longest_rollout_step(manifests)
        elif release.engine == "flagger":
            longest = _flagger_run(manifests)
        else:
            longest = 0
        assert timeout >= longest + _seconds(FLUX.timeout), (env.name, timeout, longest)


def test_a_controller_canary_with_long_steps_gets_a_long_timeout() -> None:
    release = load_release(EXAMPLES / "hello-rollouts-controller.yaml")
    prod = wiring.kustomization(release, release.environment("prod"), FLUX)["spec"]
    assert _seconds(prod["timeout"]) > 10 * 60  # 10m steps: the default 5m would fail every step
    without_wait = wiring.kustomization(release, release.environment("prod"),
                                        wiring.flux_settings({"url": "https://x/y", "wait": False}))["spec"]
    assert without_wait["timeout"] == "5m" and durations.parse(without_wait["timeout"]) == 300


def test_written_expressions_are_the_ones_evaluated() -> None:
    release = load_release(EXAMPLES / "hello-rollouts-canary.yaml")
    spec = wiring.kustomization(release, release.environments[0], FLUX)["spec"]
    assert spec["healthCheckExprs"] == [engine_for("argo-rollouts").health_check]
    assert yaml.safe_load(yaml.safe_dump(spec))["healthCheckExprs"][0]["current"].startswith("has(")
