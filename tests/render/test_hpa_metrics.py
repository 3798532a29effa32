"""Issue 22 item 10: Flagger's pinned HPA (no autoscaling) names a metric the HPA controller can compute without
CPU requests; every HPA of every golden overlay computes (tests/live_models.hpa_problems)."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.cli import main
from tests.live_models import golden_overlays, hpa_problems, scale_target_template
from tests.render.routers.test_routers import CANARY, spec_text
from tests.validators import kustomize_build, validate_manifest


def test_the_pinned_hpa_computes_without_cpu_requests(tmp_path: Path) -> None:
    # was: no metrics, so CPU at 80% utilisation: FailedGetResourceMetric on pods without a CPU request
    spec = tmp_path / "hello.yaml"
    spec.write_text(spec_text("flagger", "istio", CANARY))
    assert main(["render", str(spec), "--out", str(tmp_path / "out")]) == 0
    objects = kustomize_build(tmp_path / "out" / "apps" / "hello" / "overlays" / "prod")
    hpa = next(o for o in objects if o["kind"] == "HorizontalPodAutoscaler")
    assert hpa["spec"]["minReplicas"] == hpa["spec"]["maxReplicas"] == 4
    template = scale_target_template(objects, hpa)
    assert "resources" not in template["spec"]["containers"][0]
    assert hpa_problems(hpa, template) == []
    assert validate_manifest(hpa) == []


@pytest.mark.slow
def test_every_golden_hpa_computes_its_metrics() -> None:
    seen = 0
    for label, objects in golden_overlays():
        for hpa in (o for o in objects if o["kind"] == "HorizontalPodAutoscaler"):
            seen += 1
            assert hpa_problems(hpa, scale_target_template(objects, hpa)) == [], label
    assert seen >= 5
