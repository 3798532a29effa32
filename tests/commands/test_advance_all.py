"""`rollgen advance --all`: every in-flight environment in one process, one commit each, one push at the end;
one broken release does not stop the others, and the exit code says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import git
from tests.factories import V1, V2, ConfigRepo, at, spec_text
from tests.factories import make_config_repo


@pytest.fixture
def repo(git_remote: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> ConfigRepo:
    remote = git_remote[0]
    git(remote, "config", "core.logAllRefUpdates", "always")  # the remote's reflog counts pushes
    return make_config_repo(git_remote[1], capsys)


def named(text: str, name: str) -> str:
    return text.replace("name: hello", f"name: {name}").replace("hello.example.com", f"{name}.example.com")


def add_release(repo: ConfigRepo, name: str, image: str, envs: tuple[str, ...] = ("prod",)) -> None:
    path = repo.path / "releases" / f"{name}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(named(spec_text(image, envs=envs), name))
    git(repo.path, "add", "releases")
    git(repo.path, "commit", "-q", "-m", f"{name} {image}")


def release(repo: ConfigRepo, name: str, now: str) -> None:
    code, out, err = repo.rollgen("release", str(repo.path / "releases" / f"{name}.yaml"), "--now", now)
    assert code == 0, err


def in_flight_repo(repo: ConfigRepo) -> None:
    """alpha (prod, staging) and beta in flight since at(0); gamma stable."""
    for name, envs in (("alpha", ("staging", "prod")), ("beta", ("prod",)), ("gamma", ("prod",))):
        add_release(repo, name, V1, envs)
        release(repo, name, at(0))
    for name, envs in (("alpha", ("staging", "prod")), ("beta", ("prod",))):
        add_release(repo, name, V2, envs)
        release(repo, name, at(0))


def test_every_in_flight_environment_one_commit_each(repo: ConfigRepo) -> None:
    in_flight_repo(repo)
    head = repo.head()
    code, out, err = repo.rollgen("advance", "--all", "--now", at(6))
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 4  # one line per in-flight environment, then the summary
    assert [line.split(":")[0] for line in lines[:-1]] == ["alpha/prod", "alpha/staging", "beta/prod"]
    assert all("step 2/3: 25%" in line for line in lines[:-1])
    assert lines[-1] == "advance --all: 3 moved, 0 held, 0 failed"
    log = git(repo.path, "log", "--format=%s", f"{head}..HEAD").splitlines()
    assert len(log) == 3 and not any("gamma" in s for s in log)
    for rev in ("HEAD", "HEAD~1", "HEAD~2"):
        files = repo.files_of(rev)
        trailers = repo.trailers(rev)
        assert all(f.startswith(f"apps/{trailers['Rollgen-Release']}/") for f in files)
    assert git(repo.path, "status", "--porcelain") == ""
    # Nothing due: each holds and says why.
    code, out, _ = repo.rollgen("advance", "--all", "--now", at(7))
    assert code == 0
    assert out.count(": holds: nothing to do yet") == 3 and out.endswith("3 held, 0 failed\n")


def test_one_broken_release_does_not_stop_the_others(repo: ConfigRepo) -> None:
    in_flight_repo(repo)
    broken = repo.path / "releases" / "alpha.yaml"
    broken.write_text(broken.read_text().replace("replicas: 4", "replicas: -1"))
    git(repo.path, "commit", "-qam", "break alpha")
    code, out, err = repo.rollgen("advance", "--all", "--now", at(6), "--format", "json")
    assert code == 1
    data = json.loads(out)
    results = {(r["release"], r["environment"]): r["result"] for r in data["results"]}
    assert results == {("alpha", "prod"): "failed", ("alpha", "staging"): "failed", ("beta", "prod"): "committed"}
    failed = [r for r in data["results"] if r["result"] == "failed"]
    assert all("releases/alpha.yaml:" in r["reason"] and "$.spec.replicas" in r["reason"] for r in failed)
    assert data["summary"] == {"committed": 1, "held": 0, "failed": 2}


def test_push_once_at_the_end(repo: ConfigRepo, git_remote: tuple[Path, Path]) -> None:
    remote = git_remote[0]
    in_flight_repo(repo)
    git(repo.path, "push", "-q", "origin", "main")
    pushes = len(git(remote, "reflog", "show", "main").splitlines())
    code, out, err = repo.rollgen("advance", "--all", "--push", "--now", at(6))
    assert code == 0, err
    assert out.endswith("advance --all: 3 moved, 0 held, 0 failed, pushed\n")
    assert git(remote, "rev-parse", "main") == git(repo.path, "rev-parse", "HEAD")
    assert len(git(remote, "reflog", "show", "main").splitlines()) == pushes + 1


def test_push_catches_up_first_and_decides_from_the_remote(repo: ConfigRepo, git_remote: tuple[Path, Path],
                                                           tmp_path: Path) -> None:
    in_flight_repo(repo)
    git(repo.path, "push", "-q", "origin", "main")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(git_remote[0]), str(other))
    git(other, "config", "user.name", "o")
    git(other, "config", "user.email", "o@example.com")
    capsys_repo = ConfigRepo(other, repo.capsys)
    assert capsys_repo.rollgen("advance", "beta", "--env", "prod", "--now", at(6), "--push")[0] == 0
    code, out, err = repo.rollgen("advance", "--all", "--push", "--now", at(6))
    assert code == 0, err
    assert "beta/prod: holds" in out  # the other clone already took beta's step
    assert out.endswith("2 moved, 1 held, 0 failed, pushed\n")


def test_dry_run_all_writes_nothing(repo: ConfigRepo) -> None:
    in_flight_repo(repo)
    head = repo.head()
    code, out, err = repo.rollgen("advance", "--all", "--dry-run", "--now", at(6))
    assert code == 0, err
    assert out.count("would commit:") == 3
    assert repo.head() == head and git(repo.path, "status", "--porcelain") == ""


def test_usage(repo: ConfigRepo) -> None:
    code, _, err = repo.rollgen("advance", "--now", at(1))
    assert code == 2 and "--all" in err
    code, _, err = repo.rollgen("advance", "hello", "--all")
    assert code == 2


def test_with_a_commit_hook_each_environment_is_committed_as_advance_commits_it(repo: ConfigRepo) -> None:
    in_flight_repo(repo)
    hook = repo.path / ".git" / "hooks" / "commit-msg"
    hook.write_text("#!/bin/sh\necho hooked >> \"$(git rev-parse --git-dir)/hook.log\"\n")
    hook.chmod(0o755)
    code, out, err = repo.rollgen("advance", "--all", "--now", at(6))
    assert code == 0, err
    assert out.endswith("advance --all: 3 moved, 0 held, 0 failed\n")
    assert (repo.path / ".git" / "hook.log").read_text().count("hooked") == 3  # the hook ran for each commit
    assert git(repo.path, "status", "--porcelain") == ""


def test_a_failed_batch_commit_puts_every_file_back(repo: ConfigRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    from generator.gitops import batchcommit
    from generator.gitops.repo import GitError

    in_flight_repo(repo)
    head = repo.head()

    def refuse(*_: object) -> list[str]:
        raise GitError("git fast-import failed: disk full")

    monkeypatch.setattr(batchcommit, "commit_all", refuse)
    code, _, err = repo.rollgen("advance", "--all", "--now", at(6))
    assert code == 1 and "disk full" in err
    assert repo.head() == head
    assert git(repo.path, "status", "--porcelain") == ""
    assert not list((repo.path / ".git" / "rollgen").glob("pending-*.json"))


def test_a_rejected_push_drops_this_runs_commits_and_decides_again(
    repo: ConfigRepo, git_remote: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another tick lands beta's step between our commits and our push: we start over from the remote and
    step beta no second time."""
    from generator.gitops.repo import Repo

    in_flight_repo(repo)
    git(repo.path, "push", "-q", "origin", "main")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(git_remote[0]), str(other))
    git(other, "config", "user.name", "o")
    git(other, "config", "user.email", "o@example.com")
    real_push = Repo.push
    calls = []

    def racing_push(self: Repo, remote: str, branch: str) -> str:
        if self.root.resolve() != repo.path.resolve():
            return real_push(self, remote, branch)  # the other clone's own push
        calls.append(branch)
        if len(calls) == 1:  # the other tick wins the race, then git rejects ours as a non-fast-forward
            assert ConfigRepo(other, repo.capsys).rollgen("advance", "beta", "--env", "prod", "--now", at(6), "--push")[0] == 0
        return real_push(self, remote, branch)

    monkeypatch.setattr(Repo, "push", racing_push)
    code, out, err = repo.rollgen("advance", "--all", "--push", "--now", at(6))
    assert code == 0, err
    assert len(calls) == 2
    assert out.endswith("advance --all: 2 moved, 1 held, 0 failed, pushed\n")
    subjects = git(git_remote[0], "log", "--format=%s", "-4", "main").splitlines()
    assert sum("beta/prod: step 2/3" in s for s in subjects) == 1
    assert sum("alpha/" in s and "step 2/3" in s for s in subjects) == 2


def test_the_mode_switch_listing_runs_once_per_tick(repo: ConfigRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """advance --all wrote each moving environment through the one-release path, which listed the whole apps/
    tree for an argocd.mode switch every time: the tick grew with the square of the fleet."""
    from generator import wiring

    in_flight_repo(repo)
    config = repo.path / "rollgen.yaml"
    config.write_text(config.read_text() + "argocd: {repoURL: https://git.example.com/platform/config.git}\n")
    git(repo.path, "commit", "-qam", "argocd")
    calls: list[str] = []
    listing = wiring.other_mode_files
    monkeypatch.setattr(wiring.files, "other_mode_files", lambda out, mode: calls.append(mode) or listing(out, mode))
    code, out, err = repo.rollgen("advance", "--all", "--now", at(6))
    assert code == 0, err
    assert out.endswith("3 moved, 0 held, 0 failed\n")
    assert calls == ["applications"]
