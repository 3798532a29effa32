"""Issue 22 item 11: a PodDisruptionBudget that can never allow an eviction is refused, located.

`disruptions_allowed` is the disruption controller's arithmetic (kubernetes pkg/controller/disruption): the
pods it expects (the owners' scale), the healthy pods it must keep (minAvailable, or expected less maxUnavailable;
percentages scaled rounding up), and `healthy - desired` evictions allowed, never below 0."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from generator.cli import main
from tests.render.routers.test_routers import CANARY, spec_text
from tests.validators import kustomize_build


def _scaled(value: int | str, pods: int) -> int:
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * pods / 100)
    return int(value)


def disruptions_allowed(pdb: dict[str, Any], pods: int) -> int:
    spec = pdb["spec"]
    if "minAvailable" in spec:
        desired = _scaled(spec["minAvailable"], pods)
    else:
        desired = pods - _scaled(spec["maxUnavailable"], pods)
    return max(0, pods - desired)


def _validate(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    spec = tmp_path / "hello.yaml"
    spec.write_text(text)
    code = main(["validate", str(spec)])
    return code, capsys.readouterr().out.splitlines()


@pytest.mark.parametrize(
    ("budget", "allowed"),
    [("{minAvailable: 4}", 0), ("{minAvailable: '100%'}", 0), ("{minAvailable: '80%'}", 0),
     ("{maxUnavailable: 0}", 0), ("{minAvailable: 3}", 1), ("{maxUnavailable: '10%'}", 1)],
)
def test_a_budget_that_allows_no_eviction_is_refused_at_the_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], budget: str, allowed: int
) -> None:
    text = spec_text("flagger", "ingress-nginx", CANARY, extra=f"  disruptionBudget: {budget}\n")
    out = tmp_path / "out"
    if allowed:
        assert _validate(tmp_path, text, capsys)[0] == 0
        assert main(["render", str(tmp_path / "hello.yaml"), "--out", str(out)]) == 0
        built = kustomize_build(out / "apps" / "hello" / "overlays" / "prod")
        pdb = next(o for o in built if o["kind"] == "PodDisruptionBudget")
        assert disruptions_allowed(pdb, 4) == allowed  # 4 replicas: Flagger's primary at rest
        return
    code, lines = _validate(tmp_path, text, capsys)
    assert code == 1
    key = budget.strip("{}").split(":")[0]
    (line,) = lines
    assert f": $.spec.disruptionBudget.{key}: {key}: " in line and "with 4 pods (environment 'staging', 'prod') never" in line
    assert "allow at least one (minAvailable below 4, or maxUnavailable: 1), or run more replicas" in line


def test_an_environment_with_fewer_replicas_is_refused_where_it_sets_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = spec_text("flagger", "ingress-nginx", CANARY, extra="  disruptionBudget: {minAvailable: 2}\n")
    text = text.replace("- {name: staging, namespace: staging}", "- {name: staging, namespace: staging, replicas: 2}")
    code, lines = _validate(tmp_path, text, capsys)
    assert code == 1
    (line,) = lines
    assert ": $.spec.disruptionBudget.minAvailable: minAvailable: 2 with 2 pods (environment 'staging') never" in line
    own = text.replace("replicas: 2}", "replicas: 2, disruptionBudget: {maxUnavailable: 0}}")
    code, lines = _validate(tmp_path, own, capsys)
    assert code == 1
    assert [line.split(": ")[1] for line in lines] == [
        "$.spec.environments[0].disruptionBudget.maxUnavailable"
    ], lines


def test_autoscaling_counts_the_hpa_floor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    extra = ("  disruptionBudget: {minAvailable: 2}\n  autoscaling: {minReplicas: 2, maxReplicas: 6, cpu: 70}\n"
             "  container: {resources: {requests: {cpu: 100m}}}\n")
    text = spec_text("flagger", "ingress-nginx", CANARY, extra=extra).replace("  replicas: 4\n", "")
    code, lines = _validate(tmp_path, text, capsys)
    assert code == 1 and "with 2 pods (environment 'staging', 'prod')" in lines[0], lines
