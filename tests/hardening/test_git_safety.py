"""Issue 23, the git-safety half (items 1-5, 10, 12, 17): nothing lost, nothing wrongly committed. Each through the
CLI on real git repositories: a bare remote, a pre-receive hook that refuses, a person committing mid-run, a
stand-in `gh` for pull-request mode."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator.cli import main
from tests.conftest import git
from tests.hardening.test_faults import actions, at, finish, set_image
from tests.hardening.test_reliability import in_canary


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "--initial-branch=main", str(bare))
    return bare


def refuse(remote: Path) -> Path:
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'rejected by policy' >&2\nexit 1\n")
    hook.chmod(0o755)
    return hook


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def head(repo: Path, rev: str = "HEAD") -> str:
    return git(repo, "rev-parse", rev).strip()


def clean(repo: Path) -> bool:
    return git(repo, "status", "--porcelain", "--untracked-files=all") == ""


# -- 2 and 3. one push loop: every pushing command drops its commits when the remote refuses ------------------


def _retire_ready(repo: Path) -> None:
    spec = repo / "releases" / "hello.yaml"
    spec.write_text(spec.read_text().replace("    - {name: prod}\n", ""))
    git(repo, "commit", "-q", "-am", "prod goes")
    git(repo, "push", "-q", "origin", "main")


PUSHING: dict[str, tuple[Callable[[Path], None] | None, list[str]]] = {
    "release": (lambda repo: (set_image(repo, "v3"), git(repo, "push", "-q", "origin", "main")) and None,
                ["release", "releases/hello.yaml", "--now", at(1, 11)]),
    "advance": (None, ["advance", "hello", "--env", "prod", "--now", at(1, 10)]),
    "advance --all": (None, ["advance", "--all", "--now", at(1, 10)]),
    "promote": (None, ["promote", "hello", "--env", "prod", "--now", at(1, 2)]),
    "abort": (None, ["abort", "hello", "--env", "prod", "--now", at(1, 2)]),
    "retire": (_retire_ready, ["retire", "hello", "--env", "prod"]),
}


@pytest.mark.parametrize("command", list(PUSHING))
def test_every_pushing_command_drops_its_commits_when_the_remote_refuses(
    tmp_path: Path, remote: Path, capsys: pytest.CaptureFixture[str], command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # was: `advance --all --push` kept its commits; a second tick stacked more on them, and once the remote
    # accepted again the cluster jumped several steps with no pause between them
    repo = in_canary(tmp_path, capsys, remote)
    before, args = PUSHING[command]
    if before is not None:
        before(repo)
    monkeypatch.chdir(repo)
    hook = refuse(remote)
    pushed = head(remote, "main")
    assert head(repo) == pushed
    for _ in range(2):  # the second run (a scheduled tick) finds the same and stacks nothing
        code, out, err = call(capsys, *args, "--push", "--repo", str(repo))
        assert code == 1, out + err
        assert "rejected by policy" in err and "rollgen dropped the" in err, out + err
        assert head(repo) == pushed and clean(repo), command
    hook.unlink()
    finish(repo, capsys, *args, "--push")
    assert head(remote, "main") == head(repo) != pushed
    assert git(repo, "rev-list", "--count", f"{pushed}..HEAD").strip() == ("3" if command in ("advance --all", "release") else "1")


def _commit_meanwhile(monkeypatch: pytest.MonkeyPatch, repo: Path, other: Path) -> list[str]:
    """When rollgen first reads a release's state (after its catch-up, before its commits): another clone pushes,
    so rollgen's push is rejected, and a person commits notes.md in rollgen's clone. Returns [the person's commit]."""
    import generator.gitops.workflow as workflow

    real, made = workflow.deployed_states, []

    def deployed_states(*args: Any) -> Any:
        if not made:
            (other / "other.md").write_text("another clone's change\n")
            git(other, "add", "other.md")
            git(other, "commit", "-q", "-m", "other")
            git(other, "push", "-q", "origin", "main")
            (repo / "notes.md").write_text("a person's notes\n")
            git(repo, "add", "notes.md")
            git(repo, "commit", "-q", "-m", "notes", "notes.md")
            made.append(head(repo))
        return real(*args)

    monkeypatch.setattr(workflow, "deployed_states", deployed_states)
    return made


@pytest.mark.parametrize("args", [["advance", "hello", "--env", "prod"], ["advance", "--all"]])
def test_a_person_committing_mid_run_keeps_the_commit_when_the_push_is_retried(
    tmp_path: Path, remote: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    args: list[str],
) -> None:
    # was: the retry's `git reset --keep <start>` dropped the person's commit with rollgen's (only the reflog had it)
    repo = in_canary(tmp_path, capsys, remote)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    made = _commit_meanwhile(monkeypatch, repo, other)
    code, out, err = call(capsys, *args, "--now", at(1, 10), "--push", "--repo", str(repo))
    assert code == 1, out + err
    assert "a commit was made in" in err and "notes" in err and "rollgen dropped its own" in err, err
    assert head(repo) == made[0]  # the person's commit, and nothing of rollgen's on it
    assert git(repo, "log", "-1", "--format=%s").strip() == "notes" and clean(repo)
    assert actions(repo)[("prod", "step", "2/3", "ghcr.io/kmaster8/hello:v2")] == 0
    monkeypatch.undo()
    git(repo, "pull", "-q", "--rebase", "origin", "main")
    git(repo, "push", "-q", "origin", "main")
    finish(repo, capsys, *args, "--now", at(1, 10), "--push")
    assert actions(repo)[("prod", "step", "2/3", "ghcr.io/kmaster8/hello:v2")] == 1
    assert head(remote, "main") == head(repo)


def test_a_commit_on_top_of_rollgens_is_never_dropped(
    tmp_path: Path, remote: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the remote refuses while a person commits in rollgen's clone on top of its step: nothing is dropped
    repo = in_canary(tmp_path, capsys, remote)
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\nunset GIT_QUARANTINE_PATH $(git rev-parse --local-env-vars)\n"
        f"cd '{repo}' && echo notes > notes.md && git add notes.md && git commit -q -m notes notes.md\n"
        "echo 'rejected by policy' >&2\nexit 1\n"
    )
    hook.chmod(0o755)
    code, out, err = call(capsys, "advance", "hello", "--env", "prod", "--now", at(1, 10), "--push", "--repo", str(repo))
    assert code == 1, out + err
    assert "on top of its own" in err and "left every commit as it is" in err, err
    assert git(repo, "log", "-2", "--format=%s").split("\n")[0] == "notes"
    assert actions(repo)[("prod", "step", "2/3", "ghcr.io/kmaster8/hello:v2")] == 1


# -- 1. every name from the command line is checked as the spec's names are ----------------------------------


def _orphaned_prod(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    repo = in_canary(tmp_path, capsys)
    spec = repo / "releases" / "hello.yaml"
    spec.write_text(spec.read_text().replace("    - {name: prod}\n", ""))
    git(repo, "commit", "-q", "-am", "prod goes")
    return repo


@pytest.mark.parametrize("name, env, code", [
    ("hello", "", 2),  # an unset CI variable: once deleted every environment's overlay and state
    ("hello/", "prod", 2),  # once deleted prod's overlay and left its Application pointing at nothing
    ("hello", "../../..", 2),  # once deleted 751 of 804 tracked files
    ("hello", "prod/", 2),
    ("hello", "overlays/../prod", 2),
    ("Hello", "prod", 2),
    ("../hello", "prod", 2),
    ("hell", "prod", 1),  # a name, but no such release is deployed
    ("releases", "prod", 1),
])
def test_retire_refuses_a_name_or_env_that_is_not_exactly_a_deployed_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, env: str, code: int
) -> None:
    repo = _orphaned_prod(tmp_path, capsys)
    before, tracked = head(repo), git(repo, "ls-files")
    got, out, err = call(capsys, "retire", name, "--env", env, "--repo", str(repo))
    assert got == code, out + err
    assert err.count("\n") == 1 and ("is not" in err or "is deployed" in err), err
    assert head(repo) == before and git(repo, "ls-files") == tracked and clean(repo)
    assert "retire prod" in finish(repo, capsys, "retire", "hello", "--env", "prod")


@pytest.mark.parametrize("args", [
    ["advance", "hello", "--env", ""], ["advance", "--all", "--env", "../prod"], ["promote", "hello/", "--env", "prod"],
    ["abort", "hello", "--env", "prod/"], ["release", "releases/hello.yaml", "--env", ".."],
    ["history", "hello/", "--env", "prod"], ["plan", "../hello", "--env", "prod"],
    ["set-image", "hello", "ghcr.io/kmaster8/hello:v9", "--env", "../prod", "--commit"],
])
def test_every_command_checks_the_names_it_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    repo = in_canary(tmp_path, capsys)
    monkeypatch.chdir(repo)
    before = head(repo)
    got, out, err = call(capsys, *args, "--now", at(1, 10), "--repo", str(repo)) if args[0] in (
        "advance", "promote", "abort", "release", "plan") else call(capsys, *args, "--repo", str(repo))
    assert got == 2 and ("is not a release name" in err or "is not an environment name" in err), out + err
    assert head(repo) == before and clean(repo)


@pytest.mark.slow
def test_kill_9_during_retire(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # retire killed at any moment (only rollgen, or its git too): the repository stays consistent, and the next
    # run finishes the job with exactly one retire commit and nothing of dev or staging touched
    import random

    from tests.hardening.test_faults import SEED, assert_consistent, calibrate, killed

    rng = random.Random(SEED)
    repo = _orphaned_prod(tmp_path, capsys)
    base = head(repo)
    kept = git(repo, "ls-tree", "-r", "HEAD", "apps/hello/overlays/dev", "apps/hello/overlays/staging", "apps/hello/base")
    args = ["retire", "hello", "--env", "prod", "--repo", str(repo)]
    took = calibrate(args)
    kills = 0
    for round_ in range(10):
        git(repo, "reset", "-q", "--hard", base)
        group = rng.random() < 0.5
        code = killed(args, rng.uniform(0.05, 1.1) * took, group)
        assert code in (None, 0), round_
        kills += code is None
        assert git(repo, "rev-list", "--count", f"{base}..HEAD").strip() in ("0", "1"), round_
        assert_consistent(repo, capsys, f"round {round_}, after killing retire")
        said = finish(repo, capsys, *args[:-2])
        assert "retire prod" in said or "nothing to retire" in said, said
        assert git(repo, "rev-list", "--count", f"{base}..HEAD").strip() == "1", round_
        assert actions(repo)[("prod", "retire", "0/0", "ghcr.io/kmaster8/hello:v1")] == 1, actions(repo)
        assert git(repo, "ls-tree", "-r", "--name-only", "HEAD", "apps/hello/overlays/prod") == ""
        assert git(repo, "ls-tree", "-r", "HEAD", "apps/hello/overlays/dev", "apps/hello/overlays/staging",
                   "apps/hello/base") == kept
    print(f"retire: {kills} of 10 runs killed (a retire takes {took:.2f}s)")
    assert kills >= 3


# -- 4, 10 and 12. a spec edit nobody committed never rides along in a commit --------------------------------


def _edit_port(repo: Path) -> None:
    spec = repo / "releases" / "hello.yaml"
    spec.write_text(spec.read_text().replace("containerPort: 5050", "containerPort: 6060"))


REFUSED = "releases/hello.yaml: has uncommitted changes; commit the spec first (git add releases/hello.yaml && git commit)"


@pytest.mark.parametrize("args", [
    ["advance", "hello", "--env", "prod", "--now", at(1, 10)],
    ["advance", "--all", "--now", at(1, 10)],
    ["promote", "hello", "--env", "prod", "--now", at(1, 2)],
    ["abort", "hello", "--env", "prod", "--now", at(1, 2)],
    ["plan", "hello", "--env", "prod", "--now", at(1, 10)],
    ["advance", "hello", "--env", "prod", "--now", at(1, 10), "--dry-run"],
])
def test_an_uncommitted_spec_edit_is_refused_by_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    # was: a port changed in the work tree went into a step commit, for every environment through the base
    repo = in_canary(tmp_path, capsys)
    before = head(repo)
    _edit_port(repo)
    code, out, err = call(capsys, *args, "--repo", str(repo))
    assert code == 1, out + err
    assert REFUSED in err, err
    assert head(repo) == before
    assert git(repo, "status", "--porcelain") == " M releases/hello.yaml\n"
    assert "6060" not in git(repo, "grep", "-h", "containerPort", "HEAD", "--", "apps")


def test_plan_and_release_agree_on_an_uncommitted_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # was: `plan` showed the commit `release` then refused
    repo = in_canary(tmp_path, capsys)
    set_image(repo, "v3")
    spec = repo / "releases" / "hello.yaml"
    spec.write_text(spec.read_text().replace("hello:v3", "hello:v4"))
    said = []
    for command in ("plan", "release"):
        code, out, err = call(capsys, command, str(spec), "--now", at(2), "--repo", str(repo))
        said.append((code, out, err))
    assert said[0] == said[1] and said[0][0] == 1, said
    assert said[0][2] == f"rollgen: {REFUSED}, then release it\n"


def test_a_spec_outside_the_repository_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # was: `release /elsewhere/hello.yaml` committed apps/... with no spec in git
    repo = in_canary(tmp_path, capsys)
    outside = tmp_path / "elsewhere" / "hello.yaml"
    outside.parent.mkdir()
    outside.write_text((repo / "releases" / "hello.yaml").read_text().replace("hello", "outside"))
    before = head(repo)
    for command in ("release", "plan"):
        code, out, err = call(capsys, command, str(outside), "--now", at(2), "--repo", str(repo))
        assert code == 1 and out == "", out + err
        assert err.startswith(f"rollgen: {outside}: is outside the repository {repo}") and err.count("\n") == 1, err
    assert head(repo) == before and clean(repo)


# -- 17. one redaction rule everywhere ------------------------------------------------------------------------

TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0" * 2


def test_the_pull_request_commands_stderr_is_redacted(
    tmp_path: Path, git_remote: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # was: "the pull-request command failed (... token=ghp_... ...)" printed the token as the command said it
    from tests.gitops.test_pull_request import CONFIG

    _, clone = git_remote
    gh = tmp_path / "bin" / "gh"
    gh.parent.mkdir()
    gh.write_text("#!/bin/sh\necho \"HTTP 401: Bad credentials (token=" + TOKEN + ") for " + TOKEN
                  + " at https://x-access-token:" + TOKEN + "@github.com/o/r?access_token=sekrit123\" >&2\nexit 1\n")
    gh.chmod(0o755)
    monkeypatch.setenv("PATH", f"{gh.parent}:{__import__('os').environ['PATH']}")
    (clone / "rollgen.yaml").write_text(CONFIG)
    (clone / "releases").mkdir()
    (clone / "releases" / "hello.yaml").write_text(
        __import__("tests.factories", fromlist=["spec_text"]).spec_text("ghcr.io/kmaster8/hello:v1"))
    git(clone, "add", ".")
    git(clone, "commit", "-q", "-m", "config and spec")
    git(clone, "push", "-q", "origin", "main")
    code, out, err = call(capsys, "release", str(clone / "releases" / "hello.yaml"), "--now", at(0), "--repo", str(clone))
    assert code == 1 and "the pull-request command failed" in out + err, out + err
    assert "ghp_" not in out + err and "sekrit" not in out + err, out + err
    assert "token=***" in out + err and "access_token=***" in out + err


def test_an_invalid_prometheus_url_is_echoed_without_its_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: `'ftp://prom:9090/?token=ghp_...' is not an http:// or https:// URL`
    from tests.hardening.test_faults import SPEC

    spec = tmp_path / "hello.yaml"
    text = SPEC.replace("IMAGE", "v1").replace(
        "  strategy:", f"  analysis:\n    prometheus: 'ftp://prom:9090/?token={TOKEN[:20]}'\n"
        "    metrics: [{name: error-rate, max: 1}]\n  strategy:")
    spec.write_text(text)
    code, out, err = call(capsys, "validate", str(spec))
    assert code == 1 and "$.spec.analysis.prometheus: 'ftp://prom:9090/?token=***' is not an http" in out + err, out + err
    assert "ghp_" not in out + err


# -- 5. pull-request mode: squash and rebase merges are merges; a PR owed by a killed run is opened -----------

from tests.gitops.test_pull_request import BRANCH, Setup, pr  # noqa: E402,F401 - the stand-in `gh` fixture
from tests.factories import V1, V2, spec_text  # noqa: E402


def land(pr: Setup, when: str, how: str) -> None:
    """A person merges the PR on the forge by squashing it (one new commit) or rebasing it (new commits)."""
    import os
    import subprocess

    if not pr.merger.exists():
        git(pr.merger.parent, "clone", "-q", str(pr.remote), str(pr.merger))
    git(pr.merger, "fetch", "-q", "origin")
    git(pr.merger, "checkout", "-q", "-B", "main", "origin/main")
    env = {**os.environ, "GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when}
    steps = ([["merge", "-q", "--squash", f"origin/{BRANCH}"], ["commit", "-q", "-m", "Squashed PR"]]
             if how == "squash" else [["cherry-pick", f"main..origin/{BRANCH}"]])
    for args in steps:
        subprocess.run(["git", *args], cwd=pr.merger, check=True, env=env, capture_output=True)
    git(pr.merger, "push", "-q", "origin", "main")


def _new_image(pr: Setup) -> None:
    repo = pr.repo
    git(repo.path, "pull", "-q", "--rebase", "origin", "main")
    repo.spec.write_text(spec_text(V2))
    git(repo.path, "commit", "-qam", "v2")
    git(repo.path, "push", "-q", "origin", "main")


@pytest.mark.parametrize("how, state", [("squash", "MERGED"), ("rebase", "OPEN")])
def test_a_squash_or_rebase_merge_counts_as_merged(pr: Setup, how: str, state: str) -> None:
    # was: the branch's commits never reached main by id, so `advance` waited forever and every person's action
    # went onto the dead branch, reported as pushed, with no pull request
    repo = pr.repo
    assert repo.release(now=at(0))[0] == 0
    land(pr, "2024-05-01T12:01:00Z", how)
    pr.state.write_text(f"{state}\n")  # a squash is MERGED on the forge; the tree alone tells a rebase too
    _new_image(pr)
    code, out, err = repo.release(now=at(2))
    assert code == 0 and "start canary" in out and "pull request opened" in out, out + err
    assert len(pr.opened()) == 2
    assert git(pr.remote, "rev-parse", f"{BRANCH}~1").strip() == pr.remote_rev("main")  # a new round, from main
    land(pr, "2024-05-01T12:03:00Z", how)
    git(repo.path, "pull", "-q", "--rebase", "origin", "main")
    code, out, err = repo.rollgen("status")
    assert "awaiting merge" not in out, out
    code, out, err = repo.act("advance", now=at(7))
    assert code == 0 and "holds until 2024-05-01T12:08:00Z" in out, out + err  # the pause from the squash
    code, out, err = repo.act("abort", now=at(8))  # the brake reaches main through a new pull request
    assert code == 0 and "pull request opened" in out, out + err
    assert len(pr.opened()) == 3
    assert git(pr.remote, "rev-parse", f"{BRANCH}~1").strip() == pr.remote_rev("main")
    assert "Rollgen-Action: abort" in git(pr.remote, "log", "-1", "--format=%B", BRANCH)


def test_a_kill_between_the_branch_push_and_the_pr_command_is_made_good(pr: Setup, tmp_path: Path) -> None:
    # was: the branch was pushed, no pull request opened, and every re-run said "nothing to do"
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    gh = tmp_path / "bin" / "gh"
    real = gh.read_text()
    killer = tmp_path / "kill-once"
    killer.touch()
    gh.write_text(real.replace("import json, os, sys\n", "import json, os, signal, sys\n"
                               f"if sys.argv[1:3] == ['pr', 'create'] and os.path.exists({str(killer)!r}):\n"
                               f"    os.unlink({str(killer)!r}); os.kill(os.getppid(), signal.SIGKILL); sys.exit(1)\n"))
    result = subprocess.run([sys.executable, "-m", "generator", "release", str(pr.repo.spec), "--now", at(0),
                             "--repo", str(pr.repo.path)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            capture_output=True, text=True, check=False)
    assert result.returncode == -9 and not killer.exists(), result
    assert pr.opened() == [] and git(pr.remote, "log", "-1", "--format=%s", BRANCH).startswith("hello/prod: deploy")
    said = []
    for _ in range(2):  # the next run opens it, once
        code, out, err = pr.repo.act("advance", now=at(1))
        assert code == 0 and "awaiting merge" in out, out + err
        said.append(out)
    assert said[0].startswith(f"hello/prod: opened the pull request of {BRANCH} an earlier run had pushed; "), said
    assert "opened" not in said[1]
    [call] = pr.opened()
    assert call[:4] == ["pr", "create", "--head", BRANCH] and call[7] == f"hello/prod: deploy {V1}"


def test_pull_request_mode_against_a_refusing_remote_keeps_nothing_and_owes_nothing(pr: Setup) -> None:
    repo = pr.repo
    hook = refuse(pr.remote)
    main_before = pr.remote_rev("main")
    for _ in range(2):
        code, out, err = repo.release(now=at(0))
        assert code == 1 and "rejected by policy" in err, out + err
        assert pr.opened() == [] and repo.head() == main_before and clean(repo.path)
        assert git(repo.path, "symbolic-ref", "--short", "HEAD").strip() == "main"
    hook.unlink()
    code, out, err = repo.release(now=at(0))
    assert code == 0 and "pull request opened" in out and "interrupted" not in out, out + err
    assert len(pr.opened()) == 1


def test_a_spec_checked_out_through_an_eol_conversion_is_committed_all_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the work tree's bytes differ from HEAD's blob (CRLF), yet nothing is uncommitted: git is asked, not the bytes
    repo = in_canary(tmp_path, capsys)
    (repo / ".gitattributes").write_text("releases/*.yaml text eol=crlf\n")
    git(repo, "add", ".gitattributes")
    git(repo, "commit", "-q", "-m", "attributes")
    (repo / "releases" / "hello.yaml").unlink()
    git(repo, "checkout", "--", "releases/hello.yaml")
    assert b"\r\n" in (repo / "releases" / "hello.yaml").read_bytes() and clean(repo)
    assert "step 2/3" in finish(repo, capsys, "advance", "hello", "--env", "prod", "--now", at(1, 10))


def test_a_failed_pr_command_is_tried_again_by_the_next_run(pr: Setup, tmp_path: Path) -> None:
    # was: "open the pull request by hand", and nothing owed: with a real `gh`, whose `pr view` fails for a branch
    # without a pull request, every later command (abort too) failed on the stateCommand until a person opened it
    gh = tmp_path / "bin" / "gh"
    failing = tmp_path / "fail-once"
    failing.touch()
    gh.write_text(gh.read_text().replace(
        "import json, os, sys\n",
        "import json, os, sys\n"
        f"if sys.argv[1:3] == ['pr', 'create'] and os.path.exists({str(failing)!r}):\n"
        f"    os.unlink({str(failing)!r}); print('error connecting to api.github.com', file=sys.stderr)\n"
        "    sys.exit(1)\n"))
    code, out, err = pr.repo.release(now=at(0))
    assert code == 1 and not failing.exists(), out + err
    assert "the pull-request command failed (error connecting to api.github.com)" in err, err
    assert f"the next run tries again, or open the pull request for {BRANCH} by hand" in err, err
    assert pr.opened() == [] and git(pr.remote, "log", "-1", "--format=%s", BRANCH).startswith("hello/prod: deploy")
    code, out, err = pr.repo.act("abort", now=at(1))  # the next command, whatever it is, opens it first
    assert code == 0, out + err
    assert out.startswith(f"hello/prod: opened the pull request of {BRANCH} an earlier run had pushed; "), out
    [call] = pr.opened()
    assert call[:4] == ["pr", "create", "--head", BRANCH] and call[7] == f"hello/prod: deploy {V1}"
    code, out, err = pr.repo.act("advance", now=at(2))
    assert code == 0 and "opened" not in out and len(pr.opened()) == 1, out + err
