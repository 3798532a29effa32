"""The whole git-driven lifecycle against real git (a bare remote and clones) and a real `kubectl kustomize`:
after every commit the built overlay shows the expected live weight and the commit records it in trailers."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.gitops import repo as gitops
from generator.cli import main
from tests.conftest import ROOT, git
from tests.factories import (
    BLUE_GREEN, CONFIG, T0, V1, V2, V3, ConfigRepo, assert_commit, at, find, image_of, spec_text,
)


def nginx_weight(objects: list[dict[str, Any]]) -> int:
    """The canary Ingress's weight; 0 without one (it exists only while a canary takes traffic)."""
    if not any(o["kind"] == "Ingress" and o["metadata"]["name"] == "hello-canary" for o in objects):
        return 0
    return int(find(objects, "Ingress", "hello-canary")["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"])


def argo_weight(objects: list[dict[str, Any]]) -> int:
    steps = find(objects, "Rollout", "hello")["spec"]["strategy"]["canary"]["steps"]
    weight: int = [step["setWeight"] for step in steps if "setWeight" in step][-1]  # CONTRACT section 3: the last
    return weight


# -- nginx canary -------------------------------------------------------------------------------------------


def test_nginx_canary_lifecycle(repo: ConfigRepo) -> None:
    repo.write_spec(spec_text(V1))
    assert repo.release()[0] == 0
    assert_commit(repo, "deploy", "0/3", 100, V1)
    objects = repo.build()
    assert nginx_weight(objects) == 0
    assert find(objects, "Deployment", "hello-canary")["spec"]["replicas"] == 0
    assert image_of(find(objects, "Deployment", "hello")) == V1

    # same image: nothing to do, no commit
    before = repo.count()
    code, out, _ = repo.release(now=at(1))
    assert (code, repo.count()) == (0, before) and "nothing to do" in out

    repo.write_spec(spec_text(V2), "v2")
    assert repo.release(now=at(0))[0] == 0
    assert_commit(repo, "start", "1/3", 10, V2)
    objects = repo.build()
    assert nginx_weight(objects) == 10
    assert find(objects, "Deployment", "hello-canary")["spec"]["replicas"] == 1
    assert image_of(find(objects, "Deployment", "hello-canary")) == V2
    assert image_of(find(objects, "Deployment", "hello")) == V1

    # the pause of step 1 is 5m, counted from the step's commit
    before = repo.count()
    code, out, _ = repo.act("advance", now=at(4.99))
    assert (code, repo.count()) == (0, before)
    assert "holds until 2024-05-01T12:05:00Z" in out

    assert repo.act("advance", now=at(5))[0] == 0
    assert_commit(repo, "step", "2/3", 25, V2)
    assert nginx_weight(repo.build()) == 25
    assert repo.state()["since"] == "2024-05-01T12:05:00Z"

    assert repo.act("advance", now=at(14))[1].startswith("hello/prod: nothing to do yet")
    assert repo.act("advance", now=at(15))[0] == 0
    assert_commit(repo, "step", "3/3", 50, V2)
    objects = repo.build()
    assert nginx_weight(objects) == 50
    assert find(objects, "Deployment", "hello-canary")["spec"]["replicas"] == 2

    # the last step has no pause: it waits for a person, however long
    before = repo.count()
    code, out, _ = repo.act("advance", now="2030-01-01T00:00:00Z")
    assert (code, repo.count()) == (0, before) and "rollgen promote" in out

    # promotion, commit one: stable takes v2, the canary keeps 50%
    assert repo.act("promote", now=at(20))[0] == 0
    assert_commit(repo, "promote", "3/3", 100, V2)
    objects = repo.build()
    assert nginx_weight(objects) == 50
    assert image_of(find(objects, "Deployment", "hello")) == V2
    assert repo.state()["phase"] == "promoting"

    assert "settles until 2024-05-01T12:21:00Z" in repo.act("advance", now=at(20.5))[1]
    # commit two, after the settle delay: canary to 0 and scaled down
    assert repo.act("advance", now=at(21))[0] == 0
    assert_commit(repo, "promote", "3/3", 100, V2)
    objects = repo.build()
    assert nginx_weight(objects) == 0
    assert find(objects, "Deployment", "hello-canary")["spec"]["replicas"] == 0
    assert image_of(find(objects, "Deployment", "hello")) == V2
    blob = git(repo.path, "rev-parse", "HEAD:releases/hello.yaml").strip()  # the spec it acted on (pinned.py)
    assert repo.state() | {"since": ""} == {
        "phase": "stable", "stableImage": V2, "canaryImage": None, "step": 0, "weight": 0, "since": "",
        "specBlob": blob,
    }  # a canary's state file names no colour
    assert repo.act("advance", now=at(30))[1].startswith("hello/prod: nothing to do")


def test_abort_and_retry(repo: ConfigRepo) -> None:
    repo.write_spec(spec_text(V1))
    repo.release()
    repo.write_spec(spec_text(V2), "v2")
    repo.release(now=at(1))
    repo.act("advance", now=at(6))
    assert nginx_weight(repo.build()) == 25

    assert repo.act("abort", now=at(7))[0] == 0
    assert_commit(repo, "abort", "0/3", 0, V2)
    objects = repo.build()
    assert nginx_weight(objects) == 0
    assert find(objects, "Deployment", "hello-canary")["spec"]["replicas"] == 0
    assert image_of(find(objects, "Deployment", "hello")) == V1
    assert repo.state()["phase"] == "aborted"

    before = repo.count()
    assert "nothing to abort" in repo.act("abort", now=at(8))[1]
    assert "nothing to do" in repo.act("advance", now=at(60))[1]
    code, out, _ = repo.release(now=at(9))
    assert (code, repo.count()) == (0, before) and "--retry" in out

    assert repo.release("--retry", now=at(10))[0] == 0
    assert_commit(repo, "start", "1/3", 10, V2)
    assert nginx_weight(repo.build()) == 10


def test_new_image_mid_canary_restarts_at_step_one(repo: ConfigRepo) -> None:
    repo.write_spec(spec_text(V1))
    repo.release()
    repo.write_spec(spec_text(V2), "v2")
    repo.release(now=at(1))
    repo.act("advance", now=at(6))
    assert repo.state()["step"] == 2

    repo.write_spec(spec_text(V3), "v3")
    assert repo.release(now=at(7))[0] == 0
    assert_commit(repo, "start", "1/3", 10, V3)
    assert "restart canary with" in git(repo.path, "log", "-1", "--format=%s")
    objects = repo.build()
    assert nginx_weight(objects) == 10
    assert image_of(find(objects, "Deployment", "hello-canary")) == V3
    assert image_of(find(objects, "Deployment", "hello")) == V1
    assert repo.state()["since"] == at(7)


def test_promote_full_and_step_by_hand(repo: ConfigRepo) -> None:
    repo.write_spec(spec_text(V1))
    repo.release()
    repo.write_spec(spec_text(V2), "v2")
    repo.release(now=at(1))
    assert repo.act("promote", now=at(1.5))[0] == 0
    assert_commit(repo, "step", "2/3", 25, V2)
    assert "by hand" in git(repo.path, "log", "-1", "--format=%s")
    assert repo.act("promote", "--full", now=at(2))[0] == 0
    assert repo.state()["phase"] == "promoting"
    assert repo.act("promote", now=at(2.1))[0] == 0
    assert repo.state()["phase"] == "stable" and nginx_weight(repo.build()) == 0


# -- Argo Rollouts, git progression ------------------------------------------------------------------------


def test_argo_rollouts_git_canary_lifecycle(repo: ConfigRepo) -> None:
    repo.write_spec(spec_text(V1, engine="argo-rollouts"))
    repo.release()
    assert_commit(repo, "deploy", "0/3", 100, V1)
    objects = repo.build()
    assert argo_weight(objects) == 100
    assert image_of(find(objects, "Rollout", "hello")) == V1

    repo.write_spec(spec_text(V2, engine="argo-rollouts"), "v2")
    repo.release(now=at(0))
    assert_commit(repo, "start", "1/3", 10, V2)
    rollout = find(repo.build(), "Rollout", "hello")
    assert rollout["spec"]["strategy"]["canary"]["steps"] == [{"setWeight": 10}, {"pause": {}}]
    assert image_of(rollout) == V2

    for minutes, weight in ((5, 25), (15, 50)):
        assert repo.act("advance", now=at(minutes))[0] == 0
        assert_commit(repo, "step", f"{weight // 25 + 1}/3", weight, V2)
        assert argo_weight(repo.build()) == weight

    assert repo.act("promote", now=at(16))[0] == 0
    assert_commit(repo, "promote", "3/3", 100, V2)
    rollout = find(repo.build(), "Rollout", "hello")
    # the weight promoted from, held while the canary scales to every pod, then 100
    assert rollout["spec"]["strategy"]["canary"]["steps"] == [{"setWeight": 50}, {"setWeight": 100}]
    assert image_of(rollout) == V2
    assert repo.state()["phase"] == "stable"


def test_argo_rollouts_abort_restores_stable_image(repo: ConfigRepo) -> None:
    repo.write_spec(spec_text(V1, engine="argo-rollouts"))
    repo.release()
    repo.write_spec(spec_text(V2, engine="argo-rollouts"), "v2")
    repo.release(now=at(1))
    assert repo.act("abort", now=at(2))[0] == 0
    assert_commit(repo, "abort", "0/3", 0, V2)
    rollout = find(repo.build(), "Rollout", "hello")
    assert argo_weight(repo.build()) == 0
    assert image_of(rollout) == V1


# -- nginx blue-green ---------------------------------------------------------------------------------------


def live_colour(objects: list[dict[str, Any]]) -> str:
    colour: str = find(objects, "Service", "hello")["spec"]["selector"]["rollgen.io/colour"]
    return colour


def test_nginx_blue_green_lifecycle(repo: ConfigRepo) -> None:
    repo.write_spec(spec_text(V1, strategy=BLUE_GREEN))
    repo.release()
    assert_commit(repo, "deploy", "0/1", 100, V1)
    objects = repo.build()
    assert live_colour(objects) == "blue"
    assert image_of(find(objects, "Deployment", "hello-blue")) == V1
    assert find(objects, "Deployment", "hello-green")["spec"]["replicas"] == 0

    repo.write_spec(spec_text(V2, strategy=BLUE_GREEN), "v2")
    repo.release(now=at(0))
    assert_commit(repo, "start", "1/1", 0, V2)
    objects = repo.build()
    assert live_colour(objects) == "blue"
    assert find(objects, "Service", "hello-preview")["spec"]["selector"]["rollgen.io/colour"] == "green"
    assert image_of(find(objects, "Deployment", "hello-green")) == V2
    assert find(objects, "Deployment", "hello-green")["spec"]["replicas"] == 4

    assert "rollgen promote" in repo.act("advance", now=at(600))[1]
    assert repo.act("promote", now=at(10))[0] == 0
    assert_commit(repo, "promote", "1/1", 100, V2)
    objects = repo.build()
    assert live_colour(objects) == "green"
    assert find(objects, "Deployment", "hello-blue")["spec"]["replicas"] == 4  # the old colour drains
    assert image_of(find(objects, "Deployment", "hello-blue")) == V1

    assert "nothing to do yet" in repo.act("advance", now=at(10.25))[1]
    assert repo.act("advance", now=at(10.5))[0] == 0  # scale-down delay 30s
    assert_commit(repo, "promote", "1/1", 100, V2)
    objects = repo.build()
    assert live_colour(objects) == "green"
    assert find(objects, "Deployment", "hello-blue")["spec"]["replicas"] == 0
    assert repo.state()["activeColour"] == "green"


# -- controller progression ---------------------------------------------------------------------------------


def test_controller_progression_only_releases(repo: ConfigRepo) -> None:
    repo.write_spec(spec_text(V1, engine="argo-rollouts", progression="controller"))
    repo.release()
    assert_commit(repo, "deploy", "0/3", 100, V1)
    repo.write_spec(spec_text(V2, engine="argo-rollouts", progression="controller"), "v2")
    assert repo.release(now=at(1))[0] == 0
    assert_commit(repo, "start", "0/3", 0, V2)
    rollout = find(repo.build(), "Rollout", "hello")
    assert image_of(rollout) == V2
    assert len(rollout["spec"]["strategy"]["canary"]["steps"]) > 2  # the controller's full steps

    before = repo.count()
    code, out, _ = repo.act("advance", now=at(60))
    assert (code, repo.count()) == (0, before) and "controller" in out
    code, _, err = repo.act("promote", now=at(60))
    assert code == 1 and "kubectl argo rollouts promote hello -n test" in err
    assert repo.act("abort", now=at(60))[0] == 1
    assert repo.count() == before


# -- environments -------------------------------------------------------------------------------------------


def test_release_every_environment_one_commit_each(repo: ConfigRepo) -> None:
    repo.write_spec(spec_text(V1, envs=("staging", "prod")))
    before = repo.count()
    code, _, _ = repo.release()
    assert code == 0 and repo.count() == before + 2
    assert repo.trailers("HEAD~1")["Rollgen-Environment"] == "staging"
    assert repo.trailers("HEAD")["Rollgen-Environment"] == "prod"
    assert not [p for p in repo.files_of("HEAD") if not p.startswith("apps/hello/overlays/prod/")]


def test_release_one_environment_does_not_deploy_the_others(repo: ConfigRepo) -> None:
    repo.write_spec(spec_text(V1, envs=("staging", "prod")))
    assert repo.release("--env", "staging")[0] == 0
    assert (repo.path / "apps/hello/overlays/staging/kustomization.yaml").is_file()
    assert not (repo.path / "apps/hello/overlays/prod").exists()
    code, _, err = repo.act("advance", env="nope")
    assert code == 1 and "no environment nope" in err


def test_config_change_without_new_image_is_committed(repo: ConfigRepo) -> None:
    repo.write_spec(spec_text(V1))
    repo.release()
    repo.write_spec(spec_text(V1, replicas=6), "more replicas")
    assert repo.release(now=at(1))[0] == 0
    assert repo.trailers()["Rollgen-Action"] == "deploy"
    assert "update the configuration" in git(repo.path, "log", "-1", "--format=%s")
    assert find(repo.build(), "Deployment", "hello")["spec"]["replicas"] == 6


# -- safety -------------------------------------------------------------------------------------------------


def test_dirty_tree_touching_the_release_is_refused(repo: ConfigRepo) -> None:
    repo.write_spec(spec_text(V1))
    repo.release()
    repo.write_spec(spec_text(V2), "v2")
    repo.release(now=at(1))
    patch = repo.path / "apps/hello/overlays/prod/kustomization.yaml"
    patch.write_text(patch.read_text() + "# a hand edit\n")
    before = repo.count()
    code, _, err = repo.act("advance", now=at(10))
    assert code == 1 and "uncommitted changes" in err and "kustomization.yaml" in err
    assert repo.count() == before
    assert patch.read_text().endswith("# a hand edit\n")


def test_unrelated_changes_are_never_staged_or_committed(repo: ConfigRepo) -> None:
    repo.write_spec(spec_text(V1))
    repo.release()
    repo.write_spec(spec_text(V2), "v2")
    repo.release(now=at(1))
    (repo.path / "README.md").write_text("edited\n")
    (repo.path / "notes.txt").write_text("staged\n")
    git(repo.path, "add", "notes.txt")
    (repo.path / "apps/hello/overlays/prod/NOTES.md").write_text("a person's file, not generated\n")
    assert repo.act("advance", now=at(10))[0] == 0
    assert all(p.startswith("apps/hello/overlays/prod/") and not p.endswith("NOTES.md") for p in repo.files_of())
    status = git(repo.path, "status", "--porcelain").splitlines()
    assert sorted(status) == sorted([" M README.md", "A  notes.txt", "?? apps/hello/overlays/prod/NOTES.md"])


def crash_while_committing(repo: ConfigRepo, *args: str) -> int:
    """Run rollgen in a process that dies (no cleanup, no finally) the moment it would commit."""
    program = (
        "import os, sys\n"
        "from generator.gitops import repo as gitops\n"
        "gitops.Repo.commit = lambda *a, **k: os._exit(9)\n"
        "from generator.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-c", program, *args, "--repo", str(repo.path)], env=env, cwd=ROOT, check=False
    )
    return run.returncode


def test_crash_between_writing_and_committing_is_repaired(repo: ConfigRepo) -> None:
    repo.write_spec(spec_text(V1))
    repo.release()
    repo.write_spec(spec_text(V2), "v2")
    repo.release(now=at(1))
    before = repo.count()
    assert crash_while_committing(repo, "advance", "hello", "--env", "prod", "--now", at(10)) == 9
    assert repo.count() == before
    assert git(repo.path, "status", "--porcelain", "--", "apps/hello")  # the half-done step is on disk

    code, _, err = repo.act("advance", now=at(11))
    assert code == 0 and "interrupted run" in err
    assert repo.count() == before + 1
    assert_commit(repo, "step", "2/3", 25, V2)
    assert repo.state()["since"] == at(11)  # decided again, not replayed


def test_crash_leftovers_edited_by_a_person_are_refused(repo: ConfigRepo) -> None:
    repo.write_spec(spec_text(V1))
    repo.release()
    repo.write_spec(spec_text(V2), "v2")
    repo.release(now=at(1))
    crash_while_committing(repo, "advance", "hello", "--env", "prod", "--now", at(10))
    state = repo.path / "apps/hello/overlays/prod/rollgen-state.yaml"
    state.write_text(state.read_text().replace("step: 2", "step: 3"))
    code, _, err = repo.act("advance", now=at(11))
    assert code == 1 and "uncommitted changes" in err


def test_a_failing_commit_puts_the_files_back(repo: ConfigRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    repo.write_spec(spec_text(V1))
    repo.release()
    repo.write_spec(spec_text(V2), "v2")
    repo.release(now=at(1))
    hook = repo.path / ".git/hooks/pre-commit"
    hook.write_text("#!/bin/sh\necho 'policy says no' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = repo.count()
    code, _, err = repo.act("advance", now=at(10))
    assert code == 1 and "policy says no" in err
    assert repo.count() == before and git(repo.path, "status", "--porcelain") == ""


# -- commit messages ----------------------------------------------------------------------------------------


def test_commit_template_override_and_values_are_not_templates(repo: ConfigRepo) -> None:
    (repo.path / "rollgen.yaml").write_text(
        CONFIG + "  template: |\n    [{{ action }}] {{ release }}@{{ environment }} -> {{ weight }}%\n\n    from {{ source }}\n"
    )
    git(repo.path, "commit", "-q", "-am", "template")
    spec = repo.path / "releases" / "x{{7*7}}.yaml"
    spec.parent.mkdir()
    spec.write_text(spec_text(V1))
    git(repo.path, "add", "releases")
    git(repo.path, "commit", "-q", "-m", "spec")
    assert repo.rollgen("release", str(spec), "--now", T0)[0] == 0
    message = git(repo.path, "log", "-1", "--format=%B")
    assert message.startswith("[deploy] hello@prod -> 100%\n")
    assert "\nfrom releases/x{{7*7}}.yaml\n" in message  # a user string is a value, never a template
    assert repo.trailers()["Rollgen-Action"] == "deploy"


def test_template_cannot_escape_the_sandbox(repo: ConfigRepo) -> None:
    (repo.path / "rollgen.yaml").write_text(
        CONFIG + "  template: \"{{ release.__class__.__mro__[1].__subclasses__() }}\"\n"
    )
    git(repo.path, "commit", "-q", "-am", "evil template")
    repo.write_spec(spec_text(V1))
    code, _, err = repo.release()
    assert code == 1 and "commit.template" in err
    assert git(repo.path, "status", "--porcelain", "--", "apps") == ""  # the template failed before writing


# -- the remote ---------------------------------------------------------------------------------------------


def second_clone(remote: Path, where: Path) -> Path:
    git(where.parent, "clone", "-q", str(remote), str(where))
    return where


def test_push_retries_after_a_concurrent_unrelated_push(
    git_remote: tuple[Path, Path], repo: ConfigRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote, _ = git_remote
    repo.write_spec(spec_text(V1))
    repo.release("--push")
    repo.write_spec(spec_text(V2), "v2")
    assert repo.release("--push", now=at(1))[0] == 0
    other = second_clone(remote, tmp_path / "other")

    real_push = gitops.Repo.push
    calls = []

    def racing_push(self: gitops.Repo, remote_name: str, branch: str) -> gitops.PushOutcome:
        calls.append(self.head())
        if len(calls) == 1:  # someone else pushes first
            (other / "README.md").write_text("someone else\n")
            git(other, "commit", "-q", "-am", "unrelated")
            git(other, "push", "-q", "origin", "main")
        return real_push(self, remote_name, branch)

    monkeypatch.setattr(gitops.Repo, "push", racing_push)
    code, out, _ = repo.act("advance", "--push", now=at(10))
    assert code == 0 and "pushed" in out
    assert len(calls) == 2 and calls[0] != calls[1]
    log = git(remote, "log", "--format=%s", "main").splitlines()
    assert log[:2] == [f"hello/prod: step 2/3: 25% to {V2}", "unrelated"]


def test_push_retry_re_decides_when_the_same_release_moved(
    git_remote: tuple[Path, Path], repo: ConfigRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote, _ = git_remote
    repo.write_spec(spec_text(V1))
    repo.release("--push")
    repo.write_spec(spec_text(V2), "v2")
    repo.release("--push", now=at(1))
    other = second_clone(remote, tmp_path / "other")
    real_push = gitops.Repo.push

    def racing_push(self: gitops.Repo, remote_name: str, branch: str) -> gitops.PushOutcome:
        if self.root == repo.path and not getattr(racing_push, "done", False):
            racing_push.done = True  # type: ignore[attr-defined]
            assert main(["advance", "hello", "--env", "prod", "--repo", str(other), "--now", at(9), "--push"]) == 0
        return real_push(self, remote_name, branch)

    monkeypatch.setattr(gitops.Repo, "push", racing_push)
    code, out, _ = repo.act("advance", "--push", now=at(10))
    assert code == 0 and "nothing to do yet" in out
    steps = [s for s in git(remote, "log", "--format=%s", "main").splitlines() if "step 2/3" in s]
    assert len(steps) == 1
    assert repo.head() == git(remote, "rev-parse", "main").strip()


def test_two_clones_advancing_at_once_land_exactly_one_step(
    git_remote: tuple[Path, Path], repo: ConfigRepo, tmp_path: Path
) -> None:
    remote, _ = git_remote
    repo.write_spec(spec_text(V1))
    repo.release("--push")
    repo.write_spec(spec_text(V2), "v2")
    repo.release("--push", now=at(1))
    clones = [repo.path, second_clone(remote, tmp_path / "other")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    results: list[subprocess.CompletedProcess[str]] = []

    def advance(clone: Path, now: str) -> None:
        results.append(subprocess.run(
            [sys.executable, "-m", "generator", "advance", "hello", "--env", "prod", "--repo", str(clone),
             "--now", now, "--push"],
            capture_output=True, text=True, env=env, cwd=ROOT, check=False,
        ))

    # different clocks, so the two commits differ and the loser must re-decide rather than dedupe
    threads = [threading.Thread(target=advance, args=(c, now)) for c, now in zip(clones, (at(10), at(10.1)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    subjects = git(remote, "log", "--format=%s", "main").splitlines()
    assert len([s for s in subjects if "step 2/3" in s]) == 1
    assert not [s for s in subjects if "step 3/3" in s]
    outputs = sorted(r.stdout.splitlines()[0].split(":")[1].strip() for r in results)
    assert outputs == ["nothing to do yet", "step 2/3"]


def test_push_decides_from_the_remotes_spec(git_remote: tuple[Path, Path], repo: ConfigRepo, tmp_path: Path) -> None:
    """CI pushed a new image to the spec meanwhile: `release --push` releases that one, not the stale copy."""
    remote, _ = git_remote
    repo.write_spec(spec_text(V1))
    repo.release("--push")
    other = second_clone(remote, tmp_path / "other")
    (other / "releases" / "hello.yaml").write_text(spec_text(V3))
    git(other, "commit", "-q", "-am", "ci: v3")
    git(other, "push", "-q", "origin", "main")
    assert repo.release("--push", now=at(1))[0] == 0
    assert repo.trailers()["Rollgen-Image"] == V3
    assert git(remote, "rev-parse", "main").strip() == repo.head()


def test_history_reads_trailers(repo: ConfigRepo) -> None:
    repo.write_spec(spec_text(V1, envs=("staging", "prod")))
    repo.release()
    repo.write_spec(spec_text(V2, envs=("staging", "prod")), "v2")
    repo.release("--env", "prod", now=at(1))
    code, out, _ = repo.rollgen("history", "hello", "--env", "prod", "--format", "json")
    assert code == 0
    commits = yaml.safe_load(out)["commits"]
    assert [(c["action"], c["step"], c["weight"], c["image"]) for c in commits] == [
        ("start", "1/3", 10, V2),
        ("deploy", "0/3", 100, V1),
    ]
    code, out, _ = repo.rollgen("history", "hello")
    header, *rows = out.splitlines()
    assert header.split() == ["COMMIT", "TIME", "ENV", "ACTION", "STEP", "WEIGHT", "IMAGE"] and len(rows) == 3
    # the action's time (as `status` shows it: --now when given), not the commit's
    assert rows[0].split()[1:3] == ["2024-05-01T12:01:00Z", "prod"], rows
    code, out, _ = repo.rollgen("status")
    assert "2024-05-01T12:01:00Z" in out.splitlines()[1], out


def test_release_refuses_an_uncommitted_spec(repo: ConfigRepo) -> None:
    repo.write_spec(spec_text(V1))
    repo.release()
    before = repo.head()
    spec = repo.path / "releases" / "hello.yaml"
    spec.write_text(spec.read_text().replace(V1, V2))
    code, out, err = repo.rollgen("release", str(spec), "--repo", str(repo.path))
    assert (code, out, repo.head()) == (1, "", before)
    assert err.strip() == (
        "rollgen: releases/hello.yaml: has uncommitted changes; commit the spec first "
        "(git add releases/hello.yaml && git commit), then release it"
    )


@pytest.fixture(autouse=True)
def _no_real_sleep(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Push backoff sleeps are jittered waits; tests keep them but cap them short."""
    import time

    real = time.sleep
    monkeypatch.setattr(time, "sleep", lambda seconds: real(min(seconds, 0.05)))
    yield


def test_a_spec_broken_after_a_good_run_is_validated_again(repo: ConfigRepo) -> None:
    """The model cache in .git/rollgen must never serve a spec that changed since."""
    repo.write_spec(spec_text(V1))
    repo.release()
    repo.write_spec(spec_text(V2), "v2")
    repo.release(now=at(1))
    assert list((repo.path / ".git" / "rollgen" / "cache").glob("release-*.pickle"))
    repo.write_spec(spec_text(V2).replace("weight: 25", "weight: 250"), "typo")
    code, _, err = repo.act("advance", now=at(10))
    assert code == 1 and "releases/hello.yaml:" in err and "250" in err


def test_the_model_cache_key_follows_rollgens_code_and_schemas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The key of the model cache covers every module of the package (in subfolders too, __pycache__ left out)
    and every schema: a changed one is a miss, never a stale model. It is the code fingerprint the render cache
    is keyed on too (render/code.py)."""
    import generator
    from generator import resources
    from generator.render import cache, code
    from generator.render.model_cache import release_key

    package, schemas = tmp_path / "generator", tmp_path / "schemas"
    (package / "sub" / "__pycache__").mkdir(parents=True)
    schemas.mkdir()
    for path in (package / "__init__.py", package / "sub" / "mod.py", schemas / "release.schema.json"):
        path.write_text("x\n")
    spec = tmp_path / "hello.yaml"
    spec.write_text(spec_text(V1))
    monkeypatch.setattr(generator, "__file__", str(package / "__init__.py"))
    monkeypatch.setattr(resources, "data_dir", lambda name: schemas if name == "schemas" else tmp_path / name)
    monkeypatch.setattr(code, "_CODE", [])

    def key() -> str:
        code._CODE.clear()  # a new process: computed again
        return release_key(spec, "hello.yaml", [])

    keys = [key()]
    assert cache._code_fingerprint().startswith(code.code_fingerprint())  # one fingerprint, both caches
    (package / "sub" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"bytecode")
    keys.append(key())
    assert keys[1] == keys[0]  # bytecode is not code
    for path in (package / "sub" / "mod.py", schemas / "release.schema.json", package / "sub" / "new.py"):
        path.write_text("changed, longer\n")
        keys.append(key())
    assert len(set(keys)) == 4 and "" not in keys
