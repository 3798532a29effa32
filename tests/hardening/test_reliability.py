"""Issue 11, items 1-7 (data loss and wrong state): each reproduced through the CLI, on real git repositories
with a bare remote, next to the fix that holds it."""

from __future__ import annotations

import os

import subprocess
import sys
import time
from pathlib import Path

import pytest

from generator.cli import main
from tests.conftest import ROOT, git
from tests.hardening.test_faults import _env, actions, assert_consistent, at, config_repo, finish, set_image


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "--initial-branch=main", str(bare))
    return bare


def in_canary(tmp_path: Path, capsys: pytest.CaptureFixture[str], remote: Path | None = None) -> Path:
    """hello released at v1, then v2 started as a canary at step 1/3 in every environment."""
    repo = config_repo(tmp_path / "repo", remote)
    push = ["--push"] if remote is not None else []
    spec = str(repo / "releases" / "hello.yaml")
    finish(repo, capsys, "release", spec, "--now", at(0), *push)
    set_image(repo, "v2")
    if remote is not None:
        git(repo, "push", "-q", "origin", "main")
    finish(repo, capsys, "release", spec, "--now", at(1), *push)
    return repo


def run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "generator", *map(str, args)], cwd=ROOT,
                            env={**_env(), **(env or {})}, capture_output=True, text=True, check=False)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


# -- 1. a lock a live process holds is never removed -------------------------------------------------------


def _slow_pre_commit(repo: Path) -> tuple[Path, Path]:
    """A pre-commit hook that holds the person's commit until `go` exists (at most 60 s); `started` says when."""
    started, go = repo.parent / "hook-started", repo.parent / "hook-go"
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!/bin/sh\ntouch '{started}'\ni=0\nwhile [ ! -e '{go}' ] && [ $i -lt 600 ]; do\n"
                    "  sleep 0.1; i=$((i+1))\ndone\n")
    hook.chmod(0o755)
    return started, go


def _person_commits(repo: Path) -> subprocess.Popen[bytes]:
    """A person's `git commit notes.md` (git holds index.lock while the hook runs, as with `commit -a`)."""
    (repo / "notes.md").write_text("a person's notes\n")
    git(repo, "add", "notes.md")
    return subprocess.Popen(["git", "commit", "-q", "-m", "notes", "notes.md"], cwd=repo, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def _persons_commit_is_whole(repo: Path) -> None:
    subject = git(repo, "log", "-1", "--format=%s", "--", "notes.md").strip()
    assert subject == "notes"
    tree = git(repo, "ls-tree", "-r", "--name-only", "HEAD").split()
    assert "notes.md" in tree and "releases/hello.yaml" in tree and "apps/hello/base/kustomization.yaml" in tree


def test_a_lock_held_by_a_commit_running_its_hooks_is_refused_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: `advance` deleted the live .git/index.lock as stale (older than 1 s) while a person's `git commit`
    # ran its pre-commit hook; that commit then recorded an empty tree
    repo = in_canary(tmp_path, capsys)
    started, go = _slow_pre_commit(repo)
    person = _person_commits(repo)
    try:
        _wait_for(started)
        lock = repo / ".git" / "index.lock"
        assert lock.exists()
        result = run("advance", "hello", "--env", "prod", "--repo", repo, "--now", at(1, 10),
                     env={"ROLLGEN_GIT_LOCK_WAIT": "0.5"})
        assert result.returncode == 1, result.stderr
        assert f"{lock} exists and process" in result.stderr and "holds it" in result.stderr, result.stderr
        assert lock.exists()
    finally:
        go.touch()
        assert person.wait(timeout=60) == 0, person.stderr.read() if person.stderr else ""
    _persons_commit_is_whole(repo)
    assert "step 2/3" in finish(repo, capsys, "advance", "hello", "--env", "prod", "--now", at(1, 10))
    _persons_commit_is_whole(repo)


def test_a_lock_held_by_a_commit_running_its_hooks_is_waited_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = in_canary(tmp_path, capsys)
    started, go = _slow_pre_commit(repo)
    person = _person_commits(repo)
    _wait_for(started)
    rollgen = subprocess.Popen([sys.executable, "-m", "generator", "advance", "hello", "--env", "prod", "--repo",
                                str(repo), "--now", at(1, 10)], cwd=ROOT, env=_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)  # rollgen is waiting for the lock by now, or about to: either way it must wait
    go.touch()
    out, err = rollgen.communicate(timeout=60)
    assert person.wait(timeout=60) == 0, person.stderr.read() if person.stderr else ""
    assert rollgen.returncode == 0, err
    assert "step 2/3" in out and "removed" not in err, out + err
    _persons_commit_is_whole(repo)
    assert git(repo, "status", "--porcelain") == ""
    assert_consistent(repo, capsys, "after the person's commit and rollgen's step")


def test_a_lock_whose_holders_cannot_be_known_is_refused_after_the_wait(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a system without /proc: whether a process holds the lock cannot be known, so it is never removed
    import generator.gitops.locks

    repo = in_canary(tmp_path, capsys)
    lock = repo / ".git" / "index.lock"
    lock.write_bytes(b"")
    head = git(repo, "rev-parse", "HEAD")
    monkeypatch.setattr(generator.gitops.locks, "lock_holders", lambda path, places: None)
    monkeypatch.setenv("ROLLGEN_GIT_LOCK_WAIT", "0.2")
    capsys.readouterr()
    assert main(["advance", "hello", "--env", "prod", "--repo", str(repo), "--now", at(1, 10)]) == 1
    err = capsys.readouterr().err
    assert f"{lock} exists and this system cannot tell whether a process holds it" in err, err
    assert lock.exists() and git(repo, "rev-parse", "HEAD") == head


# -- 4. a push that cannot succeed drops rollgen's own commits, never a person's ----------------------------


def test_a_push_a_remote_hook_refuses_drops_rollgens_commits_only(
    tmp_path: Path, remote: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: the step stayed committed locally, and every later --push failed again
    repo = in_canary(tmp_path, capsys, remote)
    (repo / "notes.md").write_text("a person's notes, not pushed yet\n")
    git(repo, "add", "notes.md")
    git(repo, "commit", "-q", "-m", "notes")
    persons = git(repo, "rev-parse", "HEAD").strip()
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'rejected by policy' >&2\nexit 1\n")
    hook.chmod(0o755)
    advance = ["advance", "hello", "--env", "prod", "--now", at(1, 10), "--push", "--repo", str(repo)]
    for _ in range(2):  # every run says the same, and leaves the same
        capsys.readouterr()
        assert main(advance) == 1
        err = capsys.readouterr().err
        assert "rejected by policy" in err and "rollgen dropped the 1 commit(s) it had just made" in err, err
        assert git(repo, "rev-parse", "HEAD").strip() == persons  # the person's commit stays
        assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
        assert actions(repo)[("prod", "step", "2/3", "ghcr.io/kmaster8/hello:v2")] == 0
    hook.unlink()
    assert "pushed" in finish(repo, capsys, *advance[:-2])
    assert git(remote, "rev-parse", "main") == git(repo, "rev-parse", "HEAD")
    assert git(repo, "rev-parse", "HEAD~1").strip() == persons
    assert actions(repo)[("prod", "step", "2/3", "ghcr.io/kmaster8/hello:v2")] == 1
    assert_consistent(repo, capsys, "after the push went through")


# -- 5. a catch-up rebase killed mid-way is undone by the next run ------------------------------------------


def _diverge(repo: Path, other: Path, round_: int, commits: int = 8) -> list[str]:
    """The remote moves on (another clone pushes) while the person has commits of their own, not pushed."""
    git(other, "pull", "-q", "--rebase", "origin", "main")
    (other / f"other-{round_}.md").write_text(f"{round_}\n")
    git(other, "add", ".")
    git(other, "commit", "-q", "-m", f"other {round_}")
    git(other, "push", "-q", "origin", "main")
    subjects = []
    for i in range(commits):
        (repo / f"notes-{round_}-{i}.md").write_text(f"{round_} {i}\n")
        git(repo, "add", ".")
        subjects.append(f"notes {round_} {i}")
        git(repo, "commit", "-q", "-m", subjects[-1])
    return subjects


@pytest.mark.slow
def test_a_catch_up_rebase_killed_mid_way_is_undone_by_the_next_run(
    tmp_path: Path, remote: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: a kill 1-20 ms into the rebase left .git/rebase-merge and a detached HEAD; every later run refused
    from tests.hardening.test_faults import killed

    repo = in_canary(tmp_path, capsys, remote)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    advance = ["advance", "hello", "--env", "prod", "--now", at(1, 10), "--push", "--repo", str(repo)]
    rebasing = repo / ".git" / "rebase-merge"
    hit = 0
    for round_, delay_ms in enumerate((1, 2, 4, 7, 10, 14, 20)):
        subjects = _diverge(repo, other, round_)
        group = round_ % 3 != 2  # mostly git too; sometimes rollgen alone (its rebase then finishes by itself)
        code = killed(advance, delay_ms / 1000, group=group, after=rebasing.exists)
        assert code in (None, 0)
        hit += group and code is None and rebasing.exists()
        said = finish(repo, capsys, *advance[:-2])
        assert "pushed" in said, said
        assert not rebasing.exists() and not (repo / ".git" / "rollgen" / "rebasing.json").exists()
        log = git(repo, "log", "--format=%s", "HEAD")
        assert all(log.count(f"{s}\n") == 1 for s in subjects), log  # every commit of the person's, once
        assert f"other {round_}\n" in log
        assert git(remote, "rev-parse", "main") == git(repo, "rev-parse", "HEAD")
        assert actions(repo)[("prod", "step", "2/3", "ghcr.io/kmaster8/hello:v2")] == 1
    assert hit >= 2, f"only {hit} kill(s) landed inside the rebase"
    assert_consistent(repo, capsys, "after the interrupted rebases")


@pytest.mark.slow
@pytest.mark.parametrize("written", ["whole", "empty", "half"])
def test_a_rebase_killed_mid_checkout_leaves_no_file_in_the_next_runs_way(
    written: str, tmp_path: Path, remote: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: a kill while the catch-up rebase checked out the remote's commit left that commit's new file
    # untracked; `rebase --abort` kept it, and every next catch-up refused ("would be overwritten by checkout")
    import json

    repo = in_canary(tmp_path, capsys, remote)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    _diverge(repo, other, 0, commits=1)
    (repo / "mine.txt").write_text("a person's untracked file\n")
    git(repo, "fetch", "-q", "origin")
    upstream = git(repo, "rev-parse", "origin/main").strip()
    head = git(repo, "rev-parse", "HEAD").strip()
    # the moment of the kill: the rebase has checked out upstream's files, the index does not know one yet
    env = {**os.environ, "GIT_SEQUENCE_EDITOR": "sed -i '1i break'"}
    subprocess.run(["git", "rebase", "-q", "-i", upstream], cwd=repo, env=env, check=True, capture_output=True)
    git(repo, "rm", "-q", "--cached", "other-0.md")
    # git writes a checked-out file in place: a kill mid-write leaves it empty or short (seen in CI: the next run
    # then refused, "untracked working tree files would be overwritten by checkout: other-0.md")
    whole = (repo / "other-0.md").read_bytes()
    (repo / "other-0.md").write_bytes({"whole": whole, "empty": b"", "half": whole[: len(whole) // 2]}[written])
    (repo / ".git" / "rollgen").mkdir(exist_ok=True)
    (repo / ".git" / "rollgen" / "rebasing.json").write_text(
        json.dumps({"head": head, "branch": "main", "upstream": upstream})
    )
    capsys.readouterr()
    assert main(["advance", "hello", "--env", "prod", "--now", at(1, 10), "--push", "--repo", str(repo)]) == 0
    said = "".join(capsys.readouterr())
    assert "pushed" in said and "Traceback" not in said, said
    assert (repo / "mine.txt").read_text() == "a person's untracked file\n"  # not rollgen's to remove
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == "?? mine.txt\n"
    assert git(remote, "rev-parse", "main") == git(repo, "rev-parse", "HEAD")


# -- 3. two specs with one name; 6. two releases on one host and path --------------------------------------


def _spec(name: str, hosts: str = "hello") -> str:
    from tests.hardening.test_faults import SPEC

    return SPEC.replace("IMAGE", "v1").replace("{name: hello,", f"{{name: {name},").replace("host: hello.",
                                                                                            f"host: {hosts}.")


def _unchanged(repo: Path, head: str) -> None:
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_two_specs_with_one_name_are_reported_in_both_and_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: `validate` passed both; `release` of the second silently took over the first's apps/hello
    repo = in_canary(tmp_path, capsys)
    (repo / "releases" / "copy.yaml").write_text(_spec("hello", hosts="copy"))
    git(repo, "add", "releases")
    git(repo, "commit", "-q", "-m", "a copy")
    capsys.readouterr()
    assert main(["validate", str(repo / "releases")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{repo}/releases/copy.yaml:3:18: $.metadata.name: release 'hello' is also the metadata.name of "
        f"{repo}/releases/hello.yaml:3:18; two specs of one name would write the same apps/hello/, the later "
        "taking over the other's files and progression: rename one",
        f"{repo}/releases/hello.yaml:3:18: $.metadata.name: release 'hello' is also the metadata.name of "
        f"{repo}/releases/copy.yaml:3:18; two specs of one name would write the same apps/hello/, the later "
        "taking over the other's files and progression: rename one",
    ], out
    head = git(repo, "rev-parse", "HEAD")
    for name in ("copy.yaml", "hello.yaml"):
        capsys.readouterr()
        assert main(["release", str(repo / "releases" / name), "--repo", str(repo), "--now", at(2)]) == 1
        err = capsys.readouterr().err.splitlines()
        other = "hello.yaml" if name == "copy.yaml" else "copy.yaml"
        assert err == [f"releases/{name}:3:18: $.metadata.name: release 'hello' is also the metadata.name of "
                       f"releases/{other}:3:18; two specs of one name would write the same apps/hello/, the later "
                       "taking over the other's files and progression: rename one"], err
        _unchanged(repo, head)
    assert main(["advance", "hello", "--env", "prod", "--repo", str(repo), "--now", at(1, 10)]) == 0  # its own spec


def test_a_release_renamed_mid_canary_is_refused_on_the_hosts_the_old_name_routes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: the new name went straight to 100% on hello.example.com while the old one stayed at 10% there
    repo = in_canary(tmp_path, capsys)
    git(repo, "mv", "releases/hello.yaml", "releases/hello2.yaml")
    spec = repo / "releases" / "hello2.yaml"
    spec.write_text(spec.read_text().replace("{name: hello,", "{name: hello2,"))
    git(repo, "commit", "-q", "-am", "rename")
    head = git(repo, "rev-parse", "HEAD")
    capsys.readouterr()
    assert main(["release", str(spec), "--repo", str(repo), "--now", at(2)]) == 1
    err = capsys.readouterr().err.splitlines()
    host_lines = {"dev": "18:41", "staging": "19:49", "prod": "10:19"}
    hosts = {"dev": "hello.dev.example.com", "staging": "hello.staging.example.com", "prod": "hello.example.com"}
    assert err == [
        f"releases/hello2.yaml:{host_lines[env]}: {path}: hello2/{env} routes {hosts[env]}/ (ingress class nginx), "
        f"which release hello/{env} already routes (apps/hello/overlays/{env}); one host and path has one release: "
        "give one another host or path, or retire the other first (a renamed release keeps its old name's files "
        "until `rollgen retire`)"
        for env, path in (("prod", "$.spec.ingress.host"), ("dev", "$.spec.environments[0].host"),
                          ("staging", "$.spec.environments[1].host"))
    ], err
    _unchanged(repo, head)
    assert not (repo / "apps" / "hello2").exists()


def test_validate_reports_two_specs_routing_one_host_and_path_in_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.factories import CONFIG

    (tmp_path / "rollgen.yaml").write_text(CONFIG)  # one config repo's specs: neighbours, not alternatives
    folder = tmp_path / "releases"
    folder.mkdir()
    (folder / "a.yaml").write_text(_spec("alpha", hosts="shared"))
    (folder / "b.yaml").write_text(_spec("beta", hosts="shared").replace("host: shared.dev.", "host: beta.dev."))
    assert main(["validate", str(folder)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 4, out
    assert out[0].startswith(f"{folder}/a.yaml:10:19: $.spec.ingress.host: alpha/prod routes shared.example.com/ "
                             f"(ingress class nginx), which release beta/prod already routes ({folder}/b.yaml:10:19)")
    assert out[1].startswith(f"{folder}/a.yaml:19:49: $.spec.environments[1].host: alpha/staging routes "
                             "shared.staging.example.com/")
    assert out[2].startswith(f"{folder}/b.yaml:10:19: $.spec.ingress.host: beta/prod routes shared.example.com/ "
                             f"(ingress class nginx), which release alpha/prod already routes ({folder}/a.yaml:10:19)")
    assert out[3].startswith(f"{folder}/b.yaml:19:49: $.spec.environments[1].host: beta/staging")
    assert not [line for line in out if "dev" in line.split(":")[3]]


# -- 7. `promote --full` again after a run that landed waits out the settle delay --------------------------


def test_promote_full_run_again_does_not_skip_the_settle_delay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: the re-run of a `promote --full` whose first run had landed (then was killed, say) took the canary
    # down at once, skipping settleDelay
    from tests.hardening.test_faults import killed

    repo = in_canary(tmp_path, capsys)
    promote = ["promote", "hello", "--env", "prod", "--full", "--repo", str(repo)]
    landed = repo / "apps" / "hello" / "overlays" / "prod" / "rollgen-state.yaml"
    before = landed.read_bytes()
    # the first run: killed right after its commit landed (the state file in HEAD says promoting), or finished
    code = killed([*promote, "--now", at(1, 10)], 60, group=False,
                  after=lambda: b"promoting" in git(repo, "show", f"HEAD:{landed.relative_to(repo)}").encode())
    assert code in (None, 0) and landed.read_bytes() != before
    assert actions(repo)[("prod", "promote", "3/3", "ghcr.io/kmaster8/hello:v2")] == 1
    for now in (at(1, 10), at(1, 10, 30)):  # run again, within the settle delay: nothing to do, twice
        said = finish(repo, capsys, *promote[:-2], "--now", now)
        assert "nothing to do yet: the promotion of ghcr.io/kmaster8/hello:v2 settles" in said, said
        assert actions(repo)[("prod", "promote", "3/3", "ghcr.io/kmaster8/hello:v2")] == 1
    said = finish(repo, capsys, *promote[:-2], "--now", at(1, 30))  # after it: the second commit, once
    assert "promoted ghcr.io/kmaster8/hello:v2: canary down" in said, said
    assert actions(repo)[("prod", "promote", "3/3", "ghcr.io/kmaster8/hello:v2")] == 2
    said = finish(repo, capsys, *promote[:-2], "--now", at(1, 31))
    assert "nothing to promote" in said and actions(repo)[("prod", "promote", "3/3", "ghcr.io/kmaster8/hello:v2")] == 2
    assert_consistent(repo, capsys, "after promote --full twice")


# -- 2. an environment removed from the spec stays until retired, in a commit of its own --------------------


def _tree(repo: Path, rev: str, path: str) -> str:
    return git(repo, "rev-parse", f"{rev}:{path}").strip()


def _changed(repo: Path, rev: str = "HEAD") -> list[str]:
    return git(repo, "show", "--format=", "--name-only", rev).split()


def test_an_environment_removed_from_the_spec_stays_until_retired(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: `advance hello --env dev` deleted apps/hello/overlays/prod in a commit titled "dev: step", and
    # `status` still showed prod at 10%
    import json

    from generator.gitops.messages import parse_trailers

    repo = in_canary(tmp_path, capsys)
    spec = repo / "releases" / "hello.yaml"
    spec.write_text(spec.read_text().replace("    - {name: prod}\n", ""))
    git(repo, "commit", "-q", "-am", "prod goes")
    prod = _tree(repo, "HEAD", "apps/hello/overlays/prod")
    assert "step 2/3" in finish(repo, capsys, "advance", "hello", "--env", "dev", "--now", at(1, 10))
    assert {p.split("/")[3] for p in _changed(repo)} == {"dev"}, _changed(repo)
    assert _tree(repo, "HEAD", "apps/hello/overlays/prod") == prod
    spec.write_text(spec.read_text().replace("hello:v2", "hello:v3"))
    git(repo, "commit", "-q", "-am", "v3")
    assert "start canary" in finish(repo, capsys, "release", str(spec), "--now", at(1, 11))  # a new image too
    assert _tree(repo, "HEAD", "apps/hello/overlays/prod") == prod
    capsys.readouterr()
    assert main(["render", str(repo / "releases"), "--out", str(repo), "--check"]) == 0, capsys.readouterr()
    # status shows prod as it runs, and says it is orphaned
    assert main(["status", "--repo", str(repo)]) == 0
    out, err = capsys.readouterr()
    assert [line.split()[:5] for line in out.splitlines() if line.split()[:2] == ["hello", "prod"]] == \
        [["hello", "prod", "progressing", "1/3", "10%"]]
    assert err == ("rollgen: hello/prod is no longer in releases/hello.yaml: its files stay deployed until "
                   "`rollgen retire hello --env prod` takes them down\n")
    assert main(["status", "--repo", str(repo), "--format", "json"]) == 0
    rows = {r["environment"]: r for r in json.loads(capsys.readouterr().out)["environments"]}
    assert "orphaned" in rows["prod"] and "orphaned" not in rows["dev"]
    # retiring: refused for an environment the spec still has; its own commit for prod; then nothing to do
    assert main(["retire", "hello", "--env", "dev", "--repo", str(repo)]) == 1
    assert "releases/hello.yaml still lists environment dev" in capsys.readouterr().err
    said = finish(repo, capsys, "retire", "hello", "--env", "prod")
    assert "hello/prod: retire prod" in said, said
    trailers = parse_trailers(git(repo, "log", "-1", "--format=%B"))
    assert trailers["Rollgen-Action"] == "retire" and trailers["Rollgen-Environment"] == "prod", trailers
    assert {p.split("/")[3] for p in _changed(repo)} == {"prod"}
    assert not (repo / "apps" / "hello" / "overlays" / "prod").exists()
    assert (repo / "apps" / "hello" / "overlays" / "dev" / "rollgen-state.yaml").exists()
    assert "nothing to retire" in finish(repo, capsys, "retire", "hello", "--env", "prod")
    capsys.readouterr()
    assert main(["history", "hello", "--env", "prod", "--repo", str(repo)]) == 0
    assert "retire" in capsys.readouterr().out
    assert_consistent(repo, capsys, "after retiring prod")


def test_a_renamed_release_is_retired_environment_by_environment_then_released(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = in_canary(tmp_path, capsys)
    git(repo, "mv", "releases/hello.yaml", "releases/hello2.yaml")
    spec = repo / "releases" / "hello2.yaml"
    spec.write_text(spec.read_text().replace("{name: hello,", "{name: hello2,"))
    git(repo, "commit", "-q", "-am", "rename")
    capsys.readouterr()
    assert main(["render", str(repo / "releases"), "--out", str(repo), "--check"]) == 0, capsys.readouterr()
    for env in ("dev", "staging", "prod"):
        assert "retire" in finish(repo, capsys, "retire", "hello", "--env", env)
    assert not (repo / "apps" / "hello").exists()
    assert [p for p in git(repo, "ls-tree", "-r", "--name-only", "HEAD").split() if p.startswith("apps/hello/")] == []
    assert "deploy" in finish(repo, capsys, "release", str(spec), "--now", at(2))
    assert (repo / "apps" / "hello2" / "overlays" / "prod" / "rollgen-state.yaml").exists()


def test_retire_of_a_release_whose_spec_is_broken_prints_its_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = in_canary(tmp_path, capsys)
    spec = repo / "releases" / "hello.yaml"
    spec.write_text(spec.read_text().replace("replicas: 4", "replicas: -4"))
    git(repo, "commit", "-q", "-am", "broken")
    head = git(repo, "rev-parse", "HEAD")
    capsys.readouterr()
    assert main(["retire", "hello", "--env", "prod", "--repo", str(repo)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("releases/hello.yaml:7:13: $.spec.replicas: -4 is out of range"), err
    _unchanged(repo, head)
