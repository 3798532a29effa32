"""The tick in the cluster (issue 25 item 4): `rollgen init DIR --tick kubernetes` writes tick/, a Kustomize
package that kubectl builds and the Kubernetes schemas accept, wired by Argo CD and Flux and kept outside
apps/; and `rollgen advance --all --cluster C` ticks only that cluster's environments."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.cli import main
from tests.conftest import git
from tests.commands.test_advance_all import add_release, release
from tests.factories import V1, V2, ConfigRepo, at
from tests.validators import kustomize_build, validate_manifest


def init_with_tick(folder: Path, gitops: str = "both") -> dict[str, dict[str, Any]]:
    assert main(["init", str(folder), "--gitops", gitops, "--tick", "kubernetes"]) == 0
    objects = kustomize_build(folder / "tick")
    for obj in objects:
        assert validate_manifest(obj) == [], obj["kind"]
    return {obj["kind"]: obj for obj in objects}


def pod_of(cronjob: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return pod


def test_the_tick_package_builds_and_is_locked_down(tmp_path: Path) -> None:
    objects = init_with_tick(tmp_path / "config")
    # no Role, no binding; a claim for the metrics textfile
    assert sorted(objects) == ["CronJob", "Namespace", "NetworkPolicy", "PersistentVolumeClaim", "ServiceAccount"]
    assert all(obj["metadata"].get("namespace", "rollgen-tick") == "rollgen-tick" for obj in objects.values())
    cron = objects["CronJob"]["spec"]
    assert (cron["concurrencyPolicy"], cron["startingDeadlineSeconds"]) == ("Forbid", 60)
    assert cron["jobTemplate"]["spec"]["activeDeadlineSeconds"] == 300
    assert objects["ServiceAccount"]["automountServiceAccountToken"] is False
    pod = pod_of(objects["CronJob"])
    assert pod["automountServiceAccountToken"] is False and pod["serviceAccountName"] == "rollgen-tick"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    containers = pod["initContainers"] + pod["containers"]
    for container in containers:  # Pod Security Admission "restricted", and nothing writable but the emptyDir
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes["work"] and volumes["git"]["secret"]["secretName"] == "rollgen-tick-git"
    assert set(volumes) == {"work", "git", "prometheus", "metrics"} and not any("hostPath" in v for v in volumes.values())
    # issue 26: the tick writes the metrics textfile onto the claim, which outlives the Job's pod
    assert volumes["metrics"]["persistentVolumeClaim"]["claimName"] == objects["PersistentVolumeClaim"]["metadata"]["name"]
    assert pod["containers"][0]["command"] == ["rollgen", "advance", "--all", "--push", "--repo", "/workspace/repo",
                                               "--metrics-file", "/var/lib/rollgen/metrics/rollgen.prom"]
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    assert mounts["metrics"] == "/var/lib/rollgen/metrics"
    ssh = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}["GIT_SSH_COMMAND"]
    assert "StrictHostKeyChecking=yes" in ssh and "UserKnownHostsFile=/etc/rollgen/git/known_hosts" in ssh
    policy = objects["NetworkPolicy"]["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in policy
    ports = sorted((p["protocol"], p["port"]) for rule in policy["egress"] for p in rule["ports"])
    assert ports == [("TCP", 22), ("TCP", 53), ("TCP", 9090), ("UDP", 53)]


def test_the_tick_is_wired_like_the_releases_and_outside_apps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "config"
    init_with_tick(repo)
    application = yaml.safe_load((repo / "argocd" / "application_rollgen-tick.yaml").read_text())
    assert application["spec"]["source"]["path"] == "tick"
    assert application["spec"]["destination"]["namespace"] == "rollgen-tick"
    assert validate_manifest(application) == []
    kustomization = yaml.safe_load((repo / "flux" / "kustomization_rollgen-tick.yaml").read_text())
    assert kustomization["spec"]["path"] == "./tick" and validate_manifest(kustomization) == []
    assert not (repo / "apps").exists() or not any((repo / "apps").rglob("*tick*"))
    assert yaml.safe_load((repo / "rollgen.yaml").read_text())["tick"] == {"path": "tick"}
    # the render-check hook passes from the first commit, and a release leaves the tick's files alone
    capsys.readouterr()
    cwd = Path.cwd()
    os.chdir(repo)
    try:
        assert main(["render", "releases", "--out", ".", "--check"]) == 0
    finally:
        os.chdir(cwd)
    assert git(repo, "status", "--porcelain") == ""


def test_init_says_to_create_the_ticks_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    init_with_tick(tmp_path / "config", gitops="flux")
    out = capsys.readouterr().out
    assert "create secret generic rollgen-tick-git --from-file=identity=DEPLOY_KEY" in out
    # the long Secret command does not push every other line's comment off the screen
    assert all(len(line) <= 160 for line in out.splitlines() if "create secret" not in line), out


def test_the_git_hosts_placeholder_address_is_pointed_out(tmp_path: Path) -> None:
    """192.0.2.0/24 (TEST-NET-1) reaches no git host: left as it is, every clone times out, so both the policy
    and the package's setup notes say to replace it."""
    objects = init_with_tick(tmp_path / "config", gitops="argocd")
    cidrs = [to["ipBlock"]["cidr"] for rule in objects["NetworkPolicy"]["spec"]["egress"]
             for to in rule["to"] if "ipBlock" in to]
    assert cidrs == ["192.0.2.0/24"]
    policy = (tmp_path / "config" / "tick" / "networkpolicy.yaml").read_text()
    assert "placeholder" in next(line for line in policy.splitlines() if "192.0.2.0/24" in line)
    setup = (tmp_path / "config" / "tick" / "kustomization.yaml").read_text()
    assert "networkpolicy.yaml: 192.0.2.0/24 there is a placeholder" in setup


def test_the_pod_template_selects_the_network_policy(tmp_path: Path) -> None:
    objects = init_with_tick(tmp_path / "config", gitops="argocd")
    labels = objects["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    selector = objects["NetworkPolicy"]["spec"]["podSelector"]["matchLabels"]
    assert selector.items() <= labels.items()


def test_the_clone_url_and_branch_come_from_the_origin_remote(git_remote: tuple[Path, Path]) -> None:
    clone = git_remote[1]
    git(clone, "remote", "set-url", "origin", "git@git.acme.test:platform/config.git")
    objects = init_with_tick(clone, gitops="flux")
    command = pod_of(objects["CronJob"])["initContainers"][0]["command"]
    assert command == ["git", "clone", "--quiet", "--single-branch", "--branch", "main",
                       "git@git.acme.test:platform/config.git", "/workspace/repo"]


# -- advance --all --cluster -------------------------------------------------------------------------------------


def add_alpha_with_staging_on_eu_1(repo: ConfigRepo, image: str) -> None:
    """Release alpha (staging, prod) at `image`, its staging on cluster eu-1 and prod in-cluster."""
    add_release(repo, "alpha", image, ("staging", "prod"))
    spec = repo.path / "releases" / "alpha.yaml"
    spec.write_text(spec.read_text().replace("{name: staging, namespace: test-staging}",
                                             "{name: staging, namespace: test-staging, cluster: eu-1}"))
    git(repo.path, "commit", "-qam", "staging on eu-1")


def test_advance_all_cluster_ticks_only_that_clusters_environments(repo: ConfigRepo) -> None:
    for image in (V1, V2):
        add_alpha_with_staging_on_eu_1(repo, image)
        add_release(repo, "beta", image, ("prod",))
        release(repo, "alpha", at(0))
        release(repo, "beta", at(0))

    code, out, err = repo.rollgen("advance", "--all", "--cluster", "eu-1", "--now", at(6), "--format", "json")
    assert code == 0, err
    moved = [(r["release"], r["environment"]) for r in json.loads(out)["results"]]
    assert moved == [("alpha", "staging")]

    code, out, err = repo.rollgen("advance", "--all", "--cluster", "in-cluster", "--now", at(6), "--format", "json")
    assert code == 0, err
    assert [(r["release"], r["environment"]) for r in json.loads(out)["results"]] == [("alpha", "prod"), ("beta", "prod")]

    code, out, _ = repo.rollgen("advance", "--all", "--cluster", "us-2", "--now", at(6))
    assert code == 0 and "nothing in flight on cluster us-2:" in out
    assert "without it an environment is on in-cluster" in out


def test_tickers_of_two_clusters_and_a_ci_runner_push_without_losing_a_step(
    repo: ConfigRepo, git_remote: tuple[Path, Path], tmp_path: Path
) -> None:
    """Each cluster's tick and a CI runner's, from clones made before any of them pushed: each catches up with
    the remote before it decides (and a push that loses a race is retried the same way), so no step is taken
    twice and none is lost."""
    for image in (V1, V2):
        add_alpha_with_staging_on_eu_1(repo, image)
        release(repo, "alpha", at(0))
    git(repo.path, "push", "-q", "origin", "main")
    clones = []
    for name in ("eu", "home", "ci"):
        clone = tmp_path / name
        git(tmp_path, "clone", "-q", str(git_remote[0]), str(clone))
        clones.append(ConfigRepo(clone, repo.capsys))
    eu, home, ci = clones
    assert eu.rollgen("advance", "--all", "--cluster", "eu-1", "--push", "--now", at(6))[0] == 0
    code, out, err = home.rollgen("advance", "--all", "--cluster", "in-cluster", "--push", "--now", at(6))
    assert code == 0, err
    assert out.endswith("1 moved, 0 held, 0 failed, pushed\n")
    code, out, err = ci.rollgen("advance", "--all", "--push", "--now", at(6))  # everything: nothing is due any more
    assert code == 0, err
    assert out.endswith("0 moved, 2 held, 0 failed\n")
    subjects = git(git_remote[0], "log", "--format=%s", "-2", "main").splitlines()
    assert sorted(s.split(":")[0] for s in subjects) == ["alpha/prod", "alpha/staging"]


def test_cluster_without_all_is_a_usage_error(repo: ConfigRepo) -> None:
    code, _, err = repo.rollgen("advance", "hello", "--env", "prod", "--cluster", "eu-1")
    assert code == 2 and "--cluster picks the environments of `advance --all`" in err
