"""`rollgen plan` and `--dry-run`: what the commit would hold, and nothing written (HEAD, refs, index and work
tree byte-identical); the in-process overlay build equals `kubectl kustomize`."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.kustomize.build import build, diff_objects, key_of
from tests.conftest import ROOT, git, require_tool
from tests.factories import V1, V2, ConfigRepo, at, spec_text


def snapshot(path: Path) -> dict[str, str]:
    """Every file of the work tree and of .git except rollgen's own cache folder, by content digest."""
    out = {}
    for file in sorted(path.rglob("*")):
        rel = file.relative_to(path).as_posix()
        if file.is_file() and not rel.startswith(".git/rollgen/"):
            out[rel] = hashlib.sha256(file.read_bytes()).hexdigest()
    return out


def goldens() -> list[Path]:
    return sorted(p for p in (ROOT / "tests" / "golden").iterdir() if (p / "apps").is_dir())


@pytest.mark.slow
@pytest.mark.parametrize("tree", goldens(), ids=lambda p: p.name)
def test_in_process_build_equals_kubectl_kustomize(tree: Path) -> None:
    kubectl = require_tool("kubectl")
    files = {p.relative_to(tree).as_posix(): p.read_bytes() for p in tree.rglob("*") if p.is_file()}
    overlays = sorted(tree.glob("apps/*/overlays/*"))
    assert overlays
    for overlay in overlays:
        # every overlay rollgen writes (configMapGenerator, inline patches included) builds in-process:
        # a BuildError here fails the test
        built = build(files, overlay.relative_to(tree).as_posix())
        out = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True, check=True).stdout
        assert built == {key_of(doc): doc for doc in yaml.safe_load_all(out) if doc}, overlay


def test_plan_writes_nothing_and_shows_what_release_then_commits(repo: ConfigRepo) -> None:
    repo.write_spec(spec_text(V1, envs=("staging", "prod")))
    assert repo.release()[0] == 0
    repo.write_spec(spec_text(V2, envs=("staging", "prod")), "v2")
    before = snapshot(repo.path)
    code, out, err = repo.rollgen("plan", "hello", "--now", at(1), "--format", "json")
    assert code == 0, err
    assert snapshot(repo.path) == before
    results = json.loads(out)["results"]
    assert [r["result"] for r in results] == ["planned", "planned"]
    assert json.loads(out)["dryRun"] is True
    prod = results[1]
    assert prod["plan"]["weight"] == {"before": 0, "after": 10}
    assert prod["plan"]["images"]["after"] == {"stable": V1, "canary": V2}
    assert prod["plan"]["trailers"]["Rollgen-Action"] == "start"
    diffs = "".join(d["diff"] for d in prod["plan"]["diff"] if d["environment"] == "prod")
    # the canary Ingress exists only while a canary is in flight: the commit that starts one adds it
    assert "+    nginx.ingress.kubernetes.io/canary-weight: '10'" in diffs
    assert f"+      - image: {V2}" in diffs
    # The commits that `release` then makes are the ones planned: subjects, trailers and files.
    code, _, err = repo.release(now=at(1))
    assert code == 0, err
    for result, rev in zip(results, ("HEAD~1", "HEAD")):
        assert git(repo.path, "log", "-1", "--format=%s", rev).strip() == result["subject"]
        assert repo.trailers(rev) == result["plan"]["trailers"]
        assert sorted(repo.files_of(rev)) == result["plan"]["files"]


def test_plan_text_and_nothing_to_do(repo: ConfigRepo) -> None:
    repo.write_spec(spec_text(V1))
    assert repo.release()[0] == 0
    code, out, _ = repo.rollgen("plan", "hello", "--env", "prod", "--now", at(1))
    assert code == 0
    assert "hello/prod: nothing to do" in out and "plan only: nothing was written" in out
    repo.write_spec(spec_text(V2), "v2")
    code, out, _ = repo.rollgen("plan", str(repo.spec), "--env", "prod", "--now", at(1))
    assert code == 0
    assert f"would commit: hello/prod: start canary of {V2}" in out
    assert "hello/prod: canary weight 0% → 10%" in out
    assert "+++ after/networking.k8s.io.v1.Ingress.test.hello-canary" in out


def test_dry_run_on_every_committing_command(repo: ConfigRepo) -> None:
    repo.write_spec(spec_text(V1))
    assert repo.release()[0] == 0
    repo.write_spec(spec_text(V2), "v2")
    assert repo.release(now=at(1))[0] == 0  # canary at 10%
    before = snapshot(repo.path)
    code, out, _ = repo.act("advance", "--dry-run", "--push", now=at(10))
    assert code == 0 and "canary weight 10% → 25%" in out and "nothing was written, committed or pushed" in out
    code, out, _ = repo.act("promote", "--dry-run", now=at(2))
    assert code == 0 and "canary weight 10% → 25%" in out
    code, out, _ = repo.act("abort", "--dry-run", now=at(2))
    assert code == 0 and "canary weight 10% → 0%" in out
    code, out, _ = repo.act("advance", "--dry-run", now=at(2))  # the pause still runs
    assert code == 0 and "nothing to do" in out
    code, out, _ = repo.rollgen("release", str(repo.spec), "--dry-run", "--now", at(2))
    assert code == 0 and "nothing to do" in out
    assert snapshot(repo.path) == before
    # `plan` without --action: release holds, so it shows the scheduled advance
    code, out, _ = repo.rollgen("plan", "hello", "--now", at(10))
    assert code == 0 and "step 2/3" in out
    assert snapshot(repo.path) == before


def test_dry_run_refusal_exits_1_and_dirty_tree_is_refused(repo: ConfigRepo) -> None:
    repo.write_spec(spec_text(V1, engine="argo-rollouts", progression="controller"))
    assert repo.release()[0] == 0
    repo.write_spec(spec_text(V2, engine="argo-rollouts", progression="controller"), "v2")
    assert repo.release(now=at(1))[0] == 0
    code, out, err = repo.act("promote", "--dry-run", now=at(1))
    assert code == 1 and "rollgen: hello/prod: " in err, (out, err)
    state = repo.path / "apps/hello/overlays/prod/kustomization.yaml"
    state.write_bytes(state.read_bytes() + b"# edited\n")
    before = snapshot(repo.path)
    code, _, err = repo.rollgen("plan", "hello", "--now", at(1))
    assert code == 1 and "uncommitted changes" in err
    assert snapshot(repo.path) == before


def test_first_deploy_plan(repo: ConfigRepo) -> None:
    repo.write_spec(spec_text(V1))
    code, out, err = repo.rollgen("plan", "hello", "--format", "json", "--now", at(0))
    assert code == 0, err
    result = json.loads(out)["results"][0]
    assert result["plan"]["weight"] == {"before": None, "after": 0}
    assert result["plan"]["trailers"]["Rollgen-Action"] == "deploy"
    assert any(d["diff"].startswith("--- /dev/null\n+++ after/apps.v1.Deployment.test.hello\n") for d in result["plan"]["diff"])
    assert not (repo.path / "apps").exists()


def orders_like(feature: str) -> str:
    """An orders-api-like spec: spec_text with config (literals and a file) and an inline strategic-merge patch."""
    return spec_text(V1, envs=("staging", "prod")).replace(
        "  strategy:\n",
        "  config:\n"
        f"    literals: {{FEATURE_NEW_CHECKOUT: \"{feature}\"}}\n"
        "    files: {app.yaml: \"currency: EUR\\n\"}\n"
        "  patches:\n"
        "    - target: {kind: Ingress}\n"
        "      patch: |-\n"
        "        apiVersion: networking.k8s.io/v1\n"
        "        kind: Ingress\n"
        "        metadata: {name: any, annotations: {nginx.ingress.kubernetes.io/proxy-body-size: 8m}}\n"
        "  strategy:\n",
        1,
    )


def kubectl_objects(kubectl: str, overlay: Path) -> dict[Any, Any]:
    out = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True, check=True).stdout
    return {key_of(doc): doc for doc in yaml.safe_load_all(out) if doc}


def test_plan_of_a_config_change_shows_the_config_map_and_deployment(repo: ConfigRepo) -> None:
    kubectl = require_tool("kubectl")
    repo.write_spec(orders_like("off"))
    assert repo.release()[0] == 0
    repo.write_spec(orders_like("on"), "feature on")
    overlay = repo.path / "apps/hello/overlays/prod"
    before = kubectl_objects(kubectl, overlay)
    code, out, err = repo.rollgen("plan", "hello", "--env", "prod", "--now", at(1), "--format", "json")
    assert code == 0, err
    (result,) = json.loads(out)["results"]
    assert result["plan"]["trailers"]["Rollgen-Action"] == "start"  # a config change alone starts a canary
    diffs = [d["diff"] for d in result["plan"]["diff"]]
    # the plan's diffs are those of what kubectl builds before and after the commit `release` then makes
    assert repo.release(now=at(1))[0] == 0
    after = kubectl_objects(kubectl, overlay)
    assert sorted(diffs) == sorted(diff_objects(before, after))  # kubectl orders objects its own way
    # the canary Deployment reads its own ConfigMap; the stable one keeps its own, untouched
    new_env = next(k[3] for k in after if k[1] == "ConfigMap" and k[3].startswith("hello-canary-config-env-"))
    old_env = next(k[3] for k in before if k[1] == "ConfigMap" and k[3].startswith("hello-canary-config-env-"))
    assert new_env != old_env
    assert {k for k in before if k[3].startswith("hello-config-env-")} == {
        k for k in after if k[3].startswith("hello-config-env-")}
    text = "".join(diffs)
    assert f"+++ after/v1.ConfigMap.test.{new_env}\n" in text and "+  FEATURE_NEW_CHECKOUT: 'on'\n" in text
    assert f"--- before/v1.ConfigMap.test.{old_env}\n" in text
    canary = next(d for d in diffs if "+++ after/apps.v1.Deployment.test.hello-canary\n" in d)
    lines = canary.splitlines()
    assert any(line.startswith("-") and line.endswith(f"name: {old_env}") for line in lines), canary
    assert any(line.startswith("+") and line.endswith(f"name: {new_env}") for line in lines), canary
