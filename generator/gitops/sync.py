"""The clone and its remote: fetch, catch up (fast-forward, or rebase rollgen's unpushed commits), repair a
catch-up rebase a killed rollgen left behind, and one push attempt. The loop around the push (retries, dropping
rollgen's commits when the push cannot succeed) is gitops/push.py's, the only one.

Pushes are never forced: a rejected push is reported ("rejected") so that the caller can re-decide from the
remote's state. Each function works on a Repo (gitops/repo.py, whose methods of the same names call these).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from generator.gitops.locks import gits_at_work, lock_wait
from generator.gitops.process import (
    NO_PROMPT,
    GitError,
    network_config,
    network_timeout,
    redact_output,
    run_git_bounded,
    stderr_text,
)

if TYPE_CHECKING:
    from generator.gitops.repo import Repo

PushOutcome = Literal["pushed", "rejected", "up-to-date"]

_REBASING = ("rebase-merge", "rebase-apply")  # the folders of the git dir that say a rebase is under way


def run_network(repo: Repo, *args: str) -> subprocess.CompletedProcess[bytes]:
    """A git command that talks to the remote, bounded: a stalled transfer, an unanswered connection or a
    server that never finishes ends in a GitError (the caller's `with lock()` then releases the lock)."""
    seconds = network_timeout()
    env = {**repo.env, **NO_PROMPT, **_ssh_env(repo, seconds)}
    return run_git_bounded(repo.root, [*network_config(seconds), *args], env, seconds)


def _ssh_env(repo: Repo, seconds: float) -> dict[str, str]:
    """An ssh that gives up on a silent server, unless the user chose their own ssh command (theirs wins;
    the overall deadline still holds)."""
    if {"GIT_SSH", "GIT_SSH_COMMAND"} & set(repo.env):
        return {}
    if repo.run("config", "--get", "core.sshCommand", check=False).returncode == 0:
        return {}
    connect = max(1, min(30, int(seconds)))
    return {"GIT_SSH_COMMAND": f"ssh -o ConnectTimeout={connect} -o ServerAliveInterval={connect} "
                               "-o ServerAliveCountMax=2"}


def fetch(repo: Repo, remote: str, branch: str) -> str | None:
    """Fetch the branch; return its remote commit, or None when the remote has no such branch yet."""
    ref = f"refs/remotes/{remote}/{branch}"
    out = run_network(repo, "fetch", "-q", "--no-tags", remote, f"+refs/heads/{branch}:{ref}")
    if out.returncode != 0:
        err = out.stderr.decode(errors="replace").strip()
        if "couldn't find remote ref" in err:
            return None
        raise GitError(f"git fetch {remote} {branch} failed: {err}")
    return repo.text("rev-parse", ref).strip()


def catch_up(repo: Repo, upstream: str) -> None:
    """Bring HEAD up to `upstream`: fast-forward, or rebase our unpushed commits onto it."""
    head = repo.head()
    if head is not None and (head == upstream or repo.is_ancestor(upstream, head)):
        return
    if head is None or repo.is_ancestor(head, upstream):
        out = repo.run("merge", "-q", "--ff-only", upstream, check=False)
        if out.returncode != 0:
            raise GitError(f"cannot fast-forward to {upstream[:12]}: {stderr_text(out)}")
        return
    marker = _rebase_marker(repo)
    marker.parent.mkdir(parents=True, exist_ok=True)
    # a kill from here on leaves a rebase that the next run undoes (repair_rebase), told from a person's by this
    marker.write_text(json.dumps({"head": head, "branch": repo.branch(), "upstream": upstream}))
    out = repo.run("rebase", "-q", upstream, check=False)
    if out.returncode != 0:
        repo.run("rebase", "--abort", check=False)
    marker.unlink(missing_ok=True)
    if out.returncode != 0:
        raise GitError(
            f"the local branch and the remote have diverged and rebasing failed: {stderr_text(out)}; "
            "reconcile them by hand (git pull --rebase), then run rollgen again"
        )


def _rebase_marker(repo: Repo) -> Path:
    return repo.rollgen_dir / "rebasing.json"


def _rebasing(git_dir: Path) -> bool:
    return any((git_dir / folder).exists() for folder in _REBASING)


def rebase_branch(repo: Repo) -> str | None:
    """The branch an unfinished rebase works on (HEAD is detached meanwhile), if any."""
    for folder in _REBASING:
        try:
            ref = (repo.rollgen_dir.parent / folder / "head-name").read_text().strip()
        except OSError:
            continue
        return ref.removeprefix("refs/heads/")
    return None


def repair_rebase(repo: Repo, wait: float | None = None) -> bool:
    """Undo the catch-up rebase of a rollgen killed mid-way (its marker says it was rollgen's, not a person's):
    `git rebase --abort` puts the branch back where it was; the next catch-up starts again from a fetch.
    A rebase without rollgen's marker is a person's and is left alone. Returns whether one was undone."""
    marker = _rebase_marker(repo)
    if not marker.exists():
        return False
    git_dir = repo.rollgen_dir.parent
    if not _rebasing(git_dir):
        marker.unlink(missing_ok=True)  # killed after the rebase finished or was aborted
        return False
    _wait_for_gits(repo, wait)  # a rollgen killed alone leaves its git rebase running, to finish by itself
    if not _rebasing(git_dir):
        marker.unlink(missing_ok=True)
        return False
    if repo.run("rebase", "--abort", check=False).returncode != 0:
        _unwind_rebase(repo, marker)
    _remove_checkout_leftovers(repo, marker)
    marker.unlink(missing_ok=True)
    return True


def _remove_checkout_leftovers(repo: Repo, marker: Path) -> None:
    """A rebase killed while it checked out the upstream commit can leave that commit's new files behind,
    untracked, and `rebase --abort` keeps them: the next catch-up would then refuse to overwrite them. Remove
    an untracked file only when the upstream commit holds its bytes at its start: the whole file, or the part
    of it a checkout killed mid-write had written (git writes a file in place, so the kill can leave it empty
    or short). The rebase puts the whole file back; nothing in the removed one was not upstream's. Any other
    untracked file may be a person's, and stays."""
    try:
        upstream = str(json.loads(marker.read_text())["upstream"])
    except (OSError, ValueError, KeyError, TypeError):
        return
    untracked = repo.run("ls-files", "-z", "--others", "--exclude-standard", check=False).stdout.split(b"\0")
    for raw in filter(None, untracked):
        name = os.fsdecode(raw)
        path = repo.root / name
        if path.is_symlink() or not path.is_file():
            continue
        theirs = repo.run("cat-file", "blob", f"{upstream}:{name}", check=False)
        if theirs.returncode != 0:
            continue  # not upstream's file
        try:
            ours = path.read_bytes()
        except OSError:
            continue
        if theirs.stdout.startswith(ours):
            path.unlink()


def _unwind_rebase(repo: Repo, marker: Path) -> None:
    """A rebase killed before it wrote its orig-head cannot be aborted: put the branch, HEAD, index and
    tracked files back to the commit the marker names. (git starts a rebase only on a clean work tree, so
    the tracked files hold nothing but the rebase's own checkout.)"""
    try:
        data = json.loads(marker.read_text())
        head, branch = str(data["head"]), str(data["branch"])
    except (OSError, ValueError, KeyError, TypeError):
        raise GitError(
            "an interrupted rebase of rollgen's cannot be undone automatically; run `git rebase --abort` (or "
            "`git rebase --quit` and check out the branch), then run rollgen again"
        ) from None
    repo.run("rebase", "--quit", check=False)
    repo.run("update-ref", f"refs/heads/{branch}", head)
    repo.run("symbolic-ref", "HEAD", f"refs/heads/{branch}")
    repo.run("reset", "-q", "--hard", head)


def _wait_for_gits(repo: Repo, wait: float | None) -> None:
    places = (repo.root, repo.rollgen_dir.parent, repo.common_dir)
    deadline = time.monotonic() + (lock_wait() if wait is None else wait)
    while True:
        pids = gits_at_work(places)
        if not pids:
            return
        if time.monotonic() >= deadline:
            raise GitError(
                f"an interrupted rebase is in progress and git process {', '.join(map(str, pids[:5]))} is still "
                "at work in this repository; let it finish and run rollgen again"
            )
        time.sleep(0.1)


def push(repo: Repo, remote: str, branch: str) -> PushOutcome:
    """Push HEAD to the remote branch, never forced. "rejected" means the remote moved on."""
    out = run_network(repo, "push", "--porcelain", remote, f"HEAD:refs/heads/{branch}")
    report = redact_output(out.stdout).decode(errors="replace")
    if out.returncode == 0:
        return "up-to-date" if "[up to date]" in report else "pushed"
    if _moved_on(report, stderr_text(out)):
        return "rejected"
    raise GitError(f"git push {remote} {branch} failed: {stderr_text(out) or report.strip()}")


def _moved_on(report: str, stderr: str) -> bool:
    """The remote branch moved under us: behind it, or another push held its lock at the same moment."""
    if "[rejected]" in report and ("fetch first" in report or "non-fast-forward" in report):
        return True
    lost_race = ("cannot lock ref", "failed to update ref", "failed to lock", "incorrect old value")
    return "[remote rejected]" in report and any(m in report or m in stderr for m in lost_race)


def ahead_of(repo: Repo, upstream: str | None) -> bool:
    """HEAD holds commits `upstream` lacks (a push would carry something)."""
    head = repo.head()
    if head is None:
        return False
    return upstream is None or (head != upstream and not repo.is_ancestor(head, upstream))
