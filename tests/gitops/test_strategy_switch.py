"""Issue 22 item 6: switching a released environment to or from `strategy.rollingUpdate` is refused, located,
with the migration path; through the CLI and real git.

`apply_outage` models what the cluster does with the switch: the API server refuses a Deployment whose
`spec.selector` changes (immutable); the garbage collector deletes what a pruned Canary owns (Flagger's Services
and `N-primary`) and what a pruned Rollout or Deployment owns (its ReplicaSets, so every pod); Flagger left the
target Deployment at 0 replicas; a Service pruned from git is gone until a controller (Flagger) makes its own."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from generator.cli import main
from tests.conftest import git
from tests.factories import BLUE_GREEN, V1, V2, ConfigRepo, at, spec_text

FLAGGER_CANARY = "    canary:\n      steps: [{weight: 10, pause: 1m}, {weight: 50, pause: 1m}]\n"
ROLLING = "    - {name: prod, strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}}\n"


def rolling(text: str) -> str:
    return text.replace("    - {name: prod}\n", ROLLING)


def apply_outage(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[str]:
    """What goes wrong when the cluster moves from `before` to `after` (Argo CD or Flux: apply, then prune)."""
    kept = {(o["kind"], o["metadata"]["name"]): o for o in after}
    out = []
    for obj in before:
        key = (obj["kind"], obj["metadata"]["name"])
        if key in kept and obj["kind"] == "Deployment" and obj["spec"]["selector"] != kept[key]["spec"]["selector"]:
            out.append(f"Deployment {key[1]}: spec.selector is immutable, the apply fails")
        if key not in kept and obj["kind"] == "Canary":
            out.append(f"Canary {key[1]} pruned: {key[1]}-primary and Flagger's Services garbage-collected, "
                       f"Deployment {key[1]} at 0 replicas")
        if key not in kept and obj["kind"] == "Service":
            out.append(f"Service {key[1]} pruned: no endpoints until a controller makes it again")
        if key not in kept and obj["kind"] in ("Rollout", "Deployment") and obj["spec"].get("replicas", 1):
            out.append(f"{obj['kind']} {key[1]} pruned with its pods")
    return out


def naive(repo: ConfigRepo, text: str) -> list[dict[str, Any]]:
    """What the spec alone renders for prod (no committed state): what a switch in one commit would apply."""
    folder = repo.path.parent / f"naive-{len(list(repo.path.parent.glob('naive-*')))}"
    folder.mkdir()
    (folder / "hello.yaml").write_text(text)
    assert main(["render", str(folder / "hello.yaml"), "--out", str(folder / "out")]) == 0
    from tests.validators import kustomize_build

    return kustomize_build(folder / "out" / "apps" / "hello" / "overlays" / "prod")


CASES = {
    "flagger": dict(engine="flagger", progression="controller", strategy=FLAGGER_CANARY),
    "argo-rollouts": dict(engine="argo-rollouts", progression="controller"),
    "nginx-canary": dict(engine="nginx"),
    "nginx-blue-green": dict(engine="nginx", strategy=BLUE_GREEN),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("to_rolling", [True, False])
def test_a_released_environment_is_not_switched_to_or_from_a_rolling_update(
    repo: ConfigRepo, case: str, to_rolling: bool
) -> None:
    first, second = spec_text(V1, **CASES[case]), rolling(spec_text(V2, **CASES[case]))
    if not to_rolling:
        first, second = rolling(spec_text(V1, **CASES[case])), spec_text(V2, **CASES[case])
    repo.write_spec(first)
    assert repo.release()[0] == 0
    before = repo.build()
    assert apply_outage(before, naive(repo, second)) != []  # what the switch in one commit would do
    repo.write_spec(second, "switch")
    head = repo.head()
    code, out, err = repo.rollgen("release", str(repo.spec), "--now", at(1))
    assert code == 1, (out, err)
    (line,) = err.splitlines()
    where = "$.spec.environments[0].strategy.rollingUpdate" if to_rolling else "$.spec.environments[0].name"
    assert re.match(r"releases/hello\.yaml:\d+:\d+: ", line), line
    assert f": {where}: environment 'prod' is released " in line, line
    assert "in one commit is an outage" in line
    assert 'docs/live-cluster.md "Switching an environment to or from a rolling update"' in line
    assert repo.head() == head
    cwd = Path.cwd()
    os.chdir(repo.path)
    try:  # the render hook renders prod from the spec it was last acted on (gitops/pinned.py): no switch either
        assert main(["render", "releases/hello.yaml", "--out", "."]) == 0
        assert git(repo.path, "status", "--porcelain", "apps").strip() == ""
    finally:
        os.chdir(cwd)


def test_a_rolling_environment_still_takes_new_images(repo: ConfigRepo) -> None:
    repo.write_spec(rolling(spec_text(V1)))
    assert repo.release()[0] == 0
    repo.write_spec(rolling(spec_text(V2)), "v2")
    assert repo.release(now=at(1))[0] == 0
    assert repo.trailers()["Rollgen-Action"] == "deploy"
