"""Pull-request mode against a real bare remote, with a stand-in `gh` on PATH that records its arguments:
each action on rollgen/<release>/<env>, the PR opened once per round, "awaiting merge" until the merge, the
pause from the merge, a PR closed unmerged started again, nobody's commits pushed over."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.conftest import git
from tests.factories import V1, V2, ConfigRepo, at, spec_text

BRANCH = "rollgen/hello/prod"

CONFIG = """\
apiVersion: rollgen.io/v1alpha1
kind: Config
git:
  remote: origin
  branch: main
  mode: pull-request
  pullRequest:
    command: [gh, pr, create, --head, "{branch}", --base, "{base}", --title, "{title}", --body, "{body}"]
    stateCommand: [gh, pr, view, "{branch}", --json, state, --jq, .state]
commit:
  author: {name: rollgen bot, email: rollgen@example.com}
"""

GH = """\
#!/usr/bin/env python3
import json, os, sys
log = os.environ["GH_LOG"]
with open(log, "a") as fh:
    fh.write(json.dumps(sys.argv[1:]) + "\\n")
if sys.argv[1:3] == ["pr", "view"]:
    print(open(os.environ["GH_STATE"]).read().strip())
"""


class Setup:
    def __init__(self, tmp_path: Path, remote: Path, repo: ConfigRepo) -> None:
        self.remote = remote
        self.repo = repo
        self.log = tmp_path / "gh.log"
        self.state = tmp_path / "gh.state"
        self.merger = tmp_path / "merger"

    def gh_calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def opened(self) -> list[list[str]]:
        return [call for call in self.gh_calls() if call[:2] == ["pr", "create"]]

    def remote_rev(self, ref: str) -> str:
        return git(self.remote, "rev-parse", ref).strip()

    def merge(self, when: str) -> None:
        """A person merges the PR branch into main on the forge (a merge commit at `when`)."""
        if not self.merger.exists():
            git(self.merger.parent, "clone", "-q", str(self.remote), str(self.merger))
        git(self.merger, "fetch", "-q", "origin")
        git(self.merger, "checkout", "-q", "-B", "main", "origin/main")
        env = {**os.environ, "GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when,
               "GIT_AUTHOR_NAME": "p", "GIT_AUTHOR_EMAIL": "p@example.com",
               "GIT_COMMITTER_NAME": "p", "GIT_COMMITTER_EMAIL": "p@example.com"}
        import subprocess

        subprocess.run(["git", "merge", "-q", "--no-ff", "-m", "Merge PR", f"origin/{BRANCH}"], cwd=self.merger,
                       check=True, env=env, capture_output=True)
        git(self.merger, "push", "-q", "origin", "main")


def pull_request_repo(tmp_path: Path, clone: Path, capsys: pytest.CaptureFixture[str],
                      monkeypatch: pytest.MonkeyPatch, spec: str) -> ConfigRepo:
    """`clone` in pull-request mode with the fake gh on PATH (its log and state in tmp_path, the PR open), and
    rollgen.yaml and the spec `spec` committed and pushed to main."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(GH)
    gh.chmod(gh.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("GH_LOG", str(tmp_path / "gh.log"))
    monkeypatch.setenv("GH_STATE", str(tmp_path / "gh.state"))
    (tmp_path / "gh.state").write_text("OPEN\n")
    (clone / "rollgen.yaml").write_text(CONFIG)
    repo = ConfigRepo(clone, capsys)
    repo.spec.parent.mkdir()
    repo.spec.write_text(spec)
    git(clone, "add", ".")
    git(clone, "commit", "-q", "-m", "config and spec")
    git(clone, "push", "-q", "origin", "main")
    return repo


@pytest.fixture
def pr(tmp_path: Path, git_remote: tuple[Path, Path], capsys: pytest.CaptureFixture[str],
       monkeypatch: pytest.MonkeyPatch) -> Setup:
    remote, clone = git_remote
    return Setup(tmp_path, remote, pull_request_repo(tmp_path, clone, capsys, monkeypatch, spec_text(V1)))


def test_release_goes_to_its_branch_and_opens_the_pr_once(pr: Setup) -> None:
    repo = pr.repo
    main_before = pr.remote_rev("main")
    code, out, err = repo.release(now=at(0))
    assert code == 0, err
    assert f"pushed to {BRANCH}, pull request opened; awaiting merge into main" in out
    assert pr.remote_rev("main") == main_before  # the protected branch is untouched
    assert repo.head() == main_before and git(repo.path, "symbolic-ref", "--short", "HEAD").strip() == "main"
    assert git(repo.path, "status", "--porcelain") == ""
    tip = pr.remote_rev(BRANCH)
    assert git(pr.remote, "log", "-1", "--format=%s", tip).startswith("hello/prod: deploy")
    [call] = pr.opened()
    assert call[:7] == ["pr", "create", "--head", BRANCH, "--base", "main", "--title"]
    assert call[7] == f"hello/prod: deploy {V1}"
    assert "Rollgen-Action: deploy" in call[9]
    # Not merged: status says so, and advance waits for the merge.
    code, out, err = repo.rollgen("status")
    assert f"hello/prod: awaiting merge: {BRANCH}: hello/prod: deploy {V1}" in out
    assert "no releases" not in err  # main has no state file yet, but the environment is on its way
    code, out, _ = repo.rollgen("status", "--format", "json")
    assert json.loads(out)["awaitingMerge"] == [
        {"release": "hello", "environment": "prod", "branch": BRANCH, "subject": f"hello/prod: deploy {V1}"}
    ]
    code, out, _ = repo.act("advance", now=at(1))
    assert code == 0 and "awaiting merge" in out
    assert len(pr.opened()) == 1


def test_pause_runs_from_the_merge_and_the_branch_is_reused(pr: Setup) -> None:
    repo = pr.repo
    assert repo.release(now=at(0))[0] == 0
    pr.merge("2024-05-01T12:01:00Z")
    repo.spec.write_text(spec_text(V2))
    git(repo.path, "commit", "-qam", "v2")
    git(repo.path, "pull", "-q", "--rebase", "origin", "main")
    git(repo.path, "push", "-q", "origin", "main")
    code, out, err = repo.release(now=at(2))  # starts the canary: a new round on the same branch, a new PR
    assert code == 0, err
    assert "start canary" in out and len(pr.opened()) == 2
    # A person asks something while the PR is open: committed on top of the branch, no new PR, no force.
    first_tip = pr.remote_rev(BRANCH)
    code, out, err = repo.act("promote", now=at(3))
    assert code == 0, err
    assert git(pr.remote, "rev-parse", f"{BRANCH}~1").strip() == first_tip
    assert len(pr.opened()) == 2
    code, out, _ = repo.act("advance", now=at(30))
    assert "awaiting merge" in out
    code, out, _ = repo.rollgen("status", "--format", "json")
    [row] = json.loads(out)["environments"]
    assert row["phase"] == "stable" and row["awaitingMerge"]["branch"] == BRANCH  # main still has the old state
    pr.merge("2024-05-01T12:20:00Z")  # the promote (step 2, 10m pause) lands at 12:20
    code, out, _ = repo.act("advance", now=at(29))
    assert code == 0 and "holds until 2024-05-01T12:30:00Z" in out, out
    code, out, err = repo.act("advance", now=at(31))
    assert code == 0 and "step 3/3" in out, (out, err)


def test_closed_unmerged_is_started_again_and_foreign_commits_are_kept(pr: Setup, tmp_path: Path) -> None:
    repo = pr.repo
    assert repo.release(now=at(0))[0] == 0
    old_tip = pr.remote_rev(BRANCH)
    pr.state.write_text("CLOSED\n")
    code, out, err = repo.release(now=at(1))
    assert code == 0, err
    assert len(pr.opened()) == 2
    new_tip = pr.remote_rev(BRANCH)
    assert new_tip != old_tip and git(pr.remote, "rev-parse", f"{new_tip}~1").strip() == pr.remote_rev("main")
    # Someone adds a commit of their own to the branch; the PR is closed again: rollgen will not push over it.
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", "-b", BRANCH, str(pr.remote), str(other))
    (other / "NOTES.md").write_text("mine\n")
    git(other, "add", "NOTES.md")
    git(other, "-c", "user.name=o", "-c", "user.email=o@example.com", "commit", "-q", "-m", "notes")
    git(other, "push", "-q", "origin", f"HEAD:{BRANCH}")
    theirs = pr.remote_rev(BRANCH)
    code, _, err = repo.release(now=at(2))
    assert code == 1 and "does not push over them" in err
    assert pr.remote_rev(BRANCH) == theirs


def test_advance_all_in_pull_request_mode(pr: Setup) -> None:
    repo = pr.repo
    assert repo.release(now=at(0))[0] == 0
    pr.merge("2024-05-01T12:01:00Z")
    git(repo.path, "pull", "-q", "origin", "main")
    repo.spec.write_text(spec_text(V2))
    git(repo.path, "commit", "-qam", "v2")
    git(repo.path, "push", "-q", "origin", "main")
    assert repo.release(now=at(2))[0] == 0
    pr.merge("2024-05-01T12:03:00Z")
    git(repo.path, "pull", "-q", "origin", "main")
    code, out, err = repo.rollgen("advance", "--all", "--now", at(7))
    assert code == 0 and "holds until 2024-05-01T12:08:00Z" in out, (out, err)
    code, out, err = repo.rollgen("advance", "--all", "--now", at(9))
    assert code == 0 and "step 2/3" in out and "awaiting merge into main" in out, (out, err)
    code, out, err = repo.rollgen("advance", "--all", "--now", at(30))
    assert code == 0 and "awaiting merge" in out and "1 held" in out, (out, err)


def test_set_image_commit_travels_in_the_pull_request(pr: Setup) -> None:
    """On a protected branch `set-image --commit` cannot be pushed; `release` takes it into the PR."""
    repo = pr.repo
    assert repo.release(now=at(0))[0] == 0
    pr.merge("2024-05-01T12:01:00Z")
    git(repo.path, "pull", "-q", "origin", "main")
    code, _, err = repo.rollgen("set-image", "hello", V2, "--commit")
    assert code == 0, err
    code, out, err = repo.release(now=at(2))
    assert code == 0 and "start canary" in out, err
    subjects = git(pr.remote, "log", "--format=%s", f"main..{BRANCH}").splitlines()
    assert subjects == [f"hello/prod: start canary of {V2} at step 1/3 (10%)", f"hello: set image {V2}"]

