"""Fault injection: rollgen killed with SIGKILL at random moments, pushes that fail, many processes advancing
the same release at once. Whatever happens, the repository stays consistent and the next run finishes the job.

- A large render (200 specs, 3,200 files, a new image for every app) killed at any moment, while it writes its
  temporary files, or while it moves them in place: every file is the old or the new version, never half
  written; the next render completes, leaves the exact new tree and no temporary folder.
- `release` (three environments, three commits) and `advance` killed while they run, sometimes the whole process
  group (git included) and sometimes only rollgen: `git fsck --full` is clean, HEAD is a fully rendered state
  (`rollgen render --check` in a clean worktree of HEAD), nothing temporary is committed; the next run completes,
  the tree is clean, and each environment got exactly one commit per action.
- A push the remote refuses or cannot receive drops the run's own commits (the remote never had them) and loses
  nothing else; the next run decides again and pushes.
- Six clones advancing the same environment with --push at once land exactly one step.

Deterministic by default: the random delays come from a seeded generator (ROLLGEN_FAULT_SEED, printed). A soak
mode runs many more rounds: ROLLGEN_SOAK=<rounds>.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from generator.cli import main
from generator.gitops.messages import parse_trailers
from tests.conftest import ROOT, git
from tests.hardening.corpus import sub
from tests.factories import CONFIG, init_config_repo, spec_text

SEED = int(os.environ.get("ROLLGEN_FAULT_SEED", "20240501"))
SOAK = int(os.environ.get("ROLLGEN_SOAK", "0"))
RENDER_ROUNDS = SOAK or 8
COMMIT_ROUNDS = SOAK or 15  # each round kills a release and an advance
SPECS = 200


# -- running rollgen, and killing it ------------------------------------------------------------------------


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def rollgen(*args: str | Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "generator", *map(str, args)], cwd=ROOT, env=_env(),
                            capture_output=True, text=True, check=False)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


def killed(
    args: Sequence[str | Path], delay: float, group: bool, after: Callable[[], bool] | None = None
) -> int | None:
    """Run rollgen and SIGKILL it after `delay` seconds: only rollgen, or its whole process group (git too).
    With `after`, the delay counts from the moment `after()` turns true (it started writing, say).
    Returns its exit code when it finished first, None when it was killed."""
    proc = subprocess.Popen([sys.executable, "-m", "generator", *map(str, args)], cwd=ROOT, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while after is not None and proc.poll() is None and not after():
            time.sleep(0.0005)
        return proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        _wait_for_group(proc.pid)  # an orphaned git finishes what it was doing, as it would in real life
        return None


def _wait_for_group(pgid: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not list(_members(pgid)):
            return
        time.sleep(0.01)
    raise AssertionError(f"processes of group {pgid} still running after {timeout}s")


def _members(pgid: int) -> Iterator[int]:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if fields and fields[0] != "Z" and int(fields[2]) == pgid:
            yield int(stat.parent.name)


@pytest.fixture
def rng() -> random.Random:
    print(f"fault injection seed: {SEED} (ROLLGEN_FAULT_SEED={SEED} repeats it; ROLLGEN_SOAK=N runs N rounds)")
    return random.Random(SEED)


# -- a large render killed ----------------------------------------------------------------------------------


def write_specs(folder: Path, version: int) -> None:
    folder.mkdir(exist_ok=True)
    for i in range(SPECS):
        text = sub("name: hello", f"name: app{i:03d}")
        text = sub("hello:v2", f"hello:r{version:04d}", text)  # a new image: two files of each app change
        (folder / f"app{i:03d}.yaml").write_text(text)


def bump(data: bytes, version: int) -> bytes:
    """A file of the render of `version` as the render of `version + 1` writes it."""
    return data.replace(f"r{version:04d}".encode(), f"r{version + 1:04d}".encode())


def read_tree(root: Path, skip_temporary: bool = False) -> dict[str, bytes]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if skip_temporary:
            dirnames[:] = [d for d in dirnames if not d.startswith(".rollgen-tmp-")]
        for name in filenames:
            path = Path(dirpath, name)
            out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out


def timed_render(specs: Path, out: Path) -> tuple[float, float]:
    """A full render in a subprocess: when it started writing (its temporary folder appeared), and its end."""
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "generator", "render", str(specs), "--out", str(out)], cwd=ROOT,
                            env=_env(), stdout=subprocess.DEVNULL)
    writing = 0.0
    while proc.poll() is None:
        if not writing and any(out.glob(".rollgen-tmp-*")):
            writing = time.monotonic() - started
        time.sleep(0.0005)
    assert proc.returncode == 0
    return writing, time.monotonic() - started


def _moment(when: str, out: Path, first: Path) -> Callable[[], bool] | None:
    if when == "staging":
        return lambda: any(out.glob(".rollgen-tmp-*"))
    if when == "swapping":
        before = first.read_bytes()
        return lambda: first.read_bytes() != before
    return None


@pytest.mark.slow
def test_kill_9_during_a_large_render(tmp_path: Path, rng: random.Random, capsys: pytest.CaptureFixture[str]) -> None:
    specs, out = tmp_path / "specs", tmp_path / "out"
    write_specs(specs, 0)
    timed_render(specs, out)
    write_specs(specs, 1)
    writing, full = timed_render(specs, out)  # what a round does: a new image for every app
    tree = read_tree(out)
    assert len(tree) == SPECS * 16
    seen: Counter[str] = Counter()
    version = 0
    # At least RENDER_ROUNDS rounds, and on until half that many kills landed inside a render: how many land
    # depends on the machine's speed and load, which the test must not (bounded: 4x the rounds at most).
    while version < RENDER_ROUNDS or seen["killed"] < RENDER_ROUNDS // 2 and version < 4 * RENDER_ROUNDS:
        version += 1
        write_specs(specs, version + 1)
        expected = {rel: bump(data, version) for rel, data in tree.items()}
        group, when = rng.random() < 0.5, rng.choice(("any time", "staging", "swapping"))
        # a third of the kills at any time, a third while it writes its temporary files, a third while it moves
        # them in place (from the change of the first file it moves)
        first = out / min(rel for rel in tree if tree[rel] != expected[rel])
        delay = rng.uniform(0.2, 1.1) * full if when == "any time" else rng.uniform(0, 0.3 if when == "staging" else 0.1)
        code = killed(["render", specs, "--out", out], delay, group, _moment(when, out, first))
        assert code in (None, 0)
        after = read_tree(out, skip_temporary=True)
        assert sorted(after) == sorted(tree)
        new = [rel for rel, data in after.items() if data != tree[rel]]
        half = [rel for rel in new if after[rel] != expected[rel]]
        assert not half, f"round {version}: neither the old nor the new version: {half[:5]}"
        changing = sum(1 for rel in tree if tree[rel] != expected[rel])
        seen["killed" if code is None else "finished"] += 1
        seen["killed before swapping a file in" if code is None and not new else ""] += 1
        seen["killed while swapping files in" if code is None and 0 < len(new) < changing else ""] += 1
        seen["killed after swapping every file in" if code is None and len(new) == changing else ""] += 1
        seen["temporary folder left" if list(out.glob(".rollgen-tmp-*")) else ""] += 1
        # the next run (in process: quicker) completes the job and leaves nothing behind
        capsys.readouterr()
        assert main(["render", str(specs), "--out", str(out)]) == 0, capsys.readouterr()
        assert read_tree(out) == expected, f"round {version}: the re-run did not produce the exact new tree"
        tree = expected
    del seen[""]
    print(f"render kills: {dict(seen)} (a render takes {full:.2f}s, writing from {writing:.2f}s)")
    assert seen["killed"] >= RENDER_ROUNDS // 2


# -- release and advance killed -----------------------------------------------------------------------------

SPEC = spec_text(
    "ghcr.io/kmaster8/hello:IMAGE", progression=None, labels="team: web", settle=None,
    strategy="    canary:\n      steps:\n        - {weight: 10, pause: 5m}\n        - {weight: 30, pause: 5m}\n"
             "        - {weight: 60}\n",
    environments="    - {name: dev, namespace: dev, host: hello.dev.example.com}\n"
                 "    - {name: staging, namespace: staging, host: hello.staging.example.com}\n    - {name: prod}\n",
)
ENVS = ("dev", "staging", "prod")


def at(hours: int, minutes: int = 0, seconds: int = 0) -> str:
    return f"2024-05-{1 + hours // 24:02d}T{hours % 24:02d}:{minutes:02d}:{seconds:02d}Z"


def config_repo(path: Path, remote: Path | None = None) -> Path:
    return init_config_repo(path, CONFIG, {"hello.yaml": SPEC.replace("IMAGE", "v1")}, remote, "spec: v1")


def set_image(repo: Path, image: str) -> None:
    (repo / "releases" / "hello.yaml").write_text(SPEC.replace("IMAGE", image))
    git(repo, "add", "rollgen.yaml", "releases")
    git(repo, "commit", "-q", "-m", f"spec: {image}")


def actions(repo: Path) -> Counter[tuple[str, str, str, str]]:
    """(environment, action, step, image) of every rollgen commit, counted."""
    log = git(repo, "log", "--format=%B%x1e", "HEAD")
    out: Counter[tuple[str, str, str, str]] = Counter()
    for message in log.split("\x1e"):
        t = parse_trailers(message)
        if t:
            out[(t["Rollgen-Environment"], t["Rollgen-Action"], t["Rollgen-Step"], t["Rollgen-Image"])] += 1
    return out


def assert_consistent(repo: Path, capsys: pytest.CaptureFixture[str], where: str) -> None:
    """fsck clean; HEAD's tree holds no temporary file and is exactly what rendering its spec gives."""
    fsck = subprocess.run(["git", "fsck", "--full", "--no-dangling"], cwd=repo, capture_output=True, text=True,
                          check=False)
    assert fsck.returncode == 0 and not fsck.stdout.strip(), f"{where}: {fsck.stdout}{fsck.stderr}"
    tracked = git(repo, "ls-tree", "-r", "--name-only", "HEAD").split()
    assert not [p for p in tracked if ".rollgen-tmp-" in p], where
    with worktree(repo) as clean:
        capsys.readouterr()
        code = main(["render", str(clean / "releases" / "hello.yaml"), "--out", str(clean), "--check"])
        out, err = capsys.readouterr()
        assert code == 0, f"{where}: HEAD is not a fully rendered state:\n{out}{err}"


@contextmanager
def worktree(repo: Path) -> Iterator[Path]:
    folder = repo.parent / f"{repo.name}-head"
    git(repo, "worktree", "add", "-q", "--detach", str(folder), "HEAD")
    try:
        yield folder
    finally:
        git(repo, "worktree", "remove", "--force", str(folder))


def finish(repo: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """The next run, in process: it completes, and leaves a clean tree."""
    capsys.readouterr()
    code = main([*args, "--repo", str(repo)])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "Traceback" not in out + err
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == "", f"{args}: tree not clean"
    return out + err


def calibrate(args: Sequence[str]) -> float:
    started = time.monotonic()
    assert rollgen(*args).returncode == 0
    return time.monotonic() - started


@pytest.mark.slow
def test_kill_9_during_release_and_advance(tmp_path: Path, rng: random.Random, capsys: pytest.CaptureFixture[str]) -> None:
    repo = config_repo(tmp_path / "repo")
    spec = str(repo / "releases" / "hello.yaml")
    release_time = calibrate(["release", spec, "--repo", str(repo), "--now", at(0)])  # first deploy, 3 commits
    set_image(repo, "v2")
    release_time = max(release_time, calibrate(["release", spec, "--repo", str(repo), "--now", at(1)]))
    advance_time = calibrate(["advance", "hello", "--env", "prod", "--repo", str(repo), "--now", at(1, 10)])
    seen: Counter[str] = Counter()
    round_ = -1
    # At least COMMIT_ROUNDS rounds, and on until that many kills landed (a fast or a loaded machine lands fewer
    # per round; bounded: 4x the rounds at most)
    while (round_ := round_ + 1) < COMMIT_ROUNDS or _kills(seen) < COMMIT_ROUNDS and round_ < 4 * COMMIT_ROUNDS:
        image = f"v{round_ + 3}"
        set_image(repo, image)
        hour = 2 * round_ + 2
        release = ["release", spec, "--now", at(hour)]
        advance = ["advance", "hello", "--env", "prod", "--now", at(hour, 10)]
        for args, took in ((release, release_time), (advance, advance_time)):
            group = rng.random() < 0.5
            code = killed([*args, "--repo", str(repo)], rng.uniform(0.1, 1.1) * took, group)
            assert code in (None, 0)
            seen[f"{args[0]} {'killed' if code is None else 'finished'}{' (group)' if group and code is None else ''}"] += 1
            dirty = git(repo, "status", "--porcelain", "--untracked-files=all")
            seen[f"{args[0]} left files to repair" if dirty else ""] += 1
            assert_consistent(repo, capsys, f"round {round_}, after killing {args[0]}")
            said = finish(repo, capsys, *args)
            seen["stale git lock removed" if "a git process killed while it held it" in said else ""] += 1
            assert not list(repo.glob(".rollgen-tmp-*"))
        counts = actions(repo)
        for env in ENVS:
            assert counts[(env, "start", "1/3", f"ghcr.io/kmaster8/hello:{image}")] == 1, (env, counts)
        assert counts[("prod", "step", "2/3", f"ghcr.io/kmaster8/hello:{image}")] == 1, counts
        assert_consistent(repo, capsys, f"round {round_}, after the re-runs")
    del seen[""]
    print(f"commit kills: {dict(seen)} (release {release_time:.2f}s, advance {advance_time:.2f}s)")
    assert _kills(seen) >= COMMIT_ROUNDS


def _kills(seen: Counter[str]) -> int:
    return sum(n for what, n in seen.items() if "killed" in what)


# -- pushes that fail ---------------------------------------------------------------------------------------


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "--initial-branch=main", str(bare))
    return bare


def test_a_push_the_remote_rejects_or_cannot_receive_loses_nothing(
    tmp_path: Path, remote: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = config_repo(tmp_path / "repo", remote)
    spec = str(repo / "releases" / "hello.yaml")
    finish(repo, capsys, "release", spec, "--now", at(0), "--push")
    set_image(repo, "v2")
    git(repo, "push", "-q", "origin", "main")
    finish(repo, capsys, "release", spec, "--now", at(1), "--push")
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'rejected by policy' >&2\nexit 1\n")
    hook.chmod(0o755)
    advance = ["advance", "hello", "--env", "prod", "--now", at(1, 10), "--push", "--repo", str(repo)]
    capsys.readouterr()
    assert main(advance) == 1
    err = capsys.readouterr().err
    assert "rejected by policy" in err and "rollgen dropped the 1 commit(s)" in err and "Traceback" not in err
    local = actions(repo)
    assert local[("prod", "step", "2/3", "ghcr.io/kmaster8/hello:v2")] == 0  # dropped: the remote never had it
    assert git(repo, "rev-parse", "HEAD") == git(remote, "rev-parse", "main")
    # the remote cannot be reached at all now
    git(repo, "remote", "set-url", "origin", str(tmp_path / "nowhere.git"))
    capsys.readouterr()
    assert main(advance) == 1
    assert "Traceback" not in capsys.readouterr().err
    # both healed: the next run steps, once, and pushes it
    git(repo, "remote", "set-url", "origin", str(remote))
    hook.unlink()
    assert "pushed" in finish(repo, capsys, *advance[:-2])
    assert git(remote, "rev-parse", "main") == git(repo, "rev-parse", "HEAD")
    local[("prod", "step", "2/3", "ghcr.io/kmaster8/hello:v2")] = 1
    assert actions(repo) == local
    assert_consistent(repo, capsys, "after the push went through")


@pytest.mark.slow
def test_six_clones_advancing_at_once_step_exactly_once(
    tmp_path: Path, remote: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = config_repo(tmp_path / "c0", remote)
    spec = str(first / "releases" / "hello.yaml")
    finish(first, capsys, "release", spec, "--now", at(0), "--push")
    set_image(first, "v2")
    git(first, "push", "-q", "origin", "main")
    finish(first, capsys, "release", spec, "--now", at(1), "--push")
    clones = [first] + [tmp_path / f"c{i}" for i in range(1, 6)]
    for clone in clones[1:]:
        git(tmp_path, "clone", "-q", str(remote), str(clone))
    results: list[subprocess.CompletedProcess[str]] = []
    barrier = threading.Barrier(len(clones))

    def advance(clone: Path, seconds: int) -> None:
        barrier.wait()
        results.append(rollgen("advance", "hello", "--env", "prod", "--repo", clone, "--now", at(1, 10, seconds),
                               "--push"))

    # different clocks (within the next step's pause), so that the commits differ and a loser must decide again
    # rather than find its commit identical
    threads = [threading.Thread(target=advance, args=(clone, 7 * i)) for i, clone in enumerate(clones)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.returncode for r in results] == [0] * len(clones), [r.stderr for r in results]
    final = tmp_path / "check"
    git(tmp_path, "clone", "-q", str(remote), str(final))
    counts = actions(final)
    assert counts[("prod", "step", "2/3", "ghcr.io/kmaster8/hello:v2")] == 1, counts
    assert not [key for key in counts if key[2] == "3/3"], counts
    said = sorted(r.stdout.split(":")[1].strip() for r in results)
    assert said == ["nothing to do yet"] * (len(clones) - 1) + ["step 2/3"], [r.stdout for r in results]
    assert_consistent(final, capsys, "the remote after six concurrent advances")
    for clone in clones:  # every clone can go on: nothing half-done left behind
        finish(clone, capsys, "advance", "hello", "--env", "prod", "--now", at(1, 20), "--push")
    shutil.rmtree(final)
