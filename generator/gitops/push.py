"""Push with retries, written once for every command that commits on the branch and pushes it (workflow.py's
release/advance/promote/abort, advance --all, retire).

One attempt: catch up with the remote (fetch, fast-forward or rebase our unpushed commits), note HEAD, do the
command's work (its commits), push. When the remote moved meanwhile (the push is "rejected"), rollgen's commits of
this attempt are dropped and the work is done again on the remote's newer state, up to git.pushAttempts times:
a decision is always taken from what the remote holds, never stepped twice. When the push cannot succeed at all
(a hook of the remote refuses it, the remote is unreachable), the attempt's commits are dropped too: kept, every
later --push would try them again and fail the same way, a scheduled tick would stack more on top, and once the
remote accepted again the cluster would jump several steps at once with no pause between them.

Dropping touches rollgen's own commits only, known by their ids: they must be the top of HEAD, one on the other.
A commit someone made in this clone meanwhile is never reset away: above ours, nothing is dropped; below ours
(made after the catch-up, before our commits), ours are dropped and theirs stays. Either way the run stops and
says so, rather than push a commit nobody asked it to push or decide again on top of it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from generator.gitops.repo import GitError, PushOutcome, Repo
from generator.spec.config import Config

R = TypeVar("R")


def with_retries(
    repo: Repo, config: Config, branch: str, work: Callable[[], tuple[R, Sequence[str]]],
    prepare: Callable[[], None] | None = None,
) -> tuple[R, bool]:
    """Run `work` on the remote's latest state and push what it committed; (its result, whether pushed).
    `work` returns its result and the commits it made, oldest first.
    `prepare` runs first in every attempt, before the catch-up (a crashed run's leftovers would block the
    rebase)."""
    for attempt in range(config.push_attempts):
        if prepare is not None:
            prepare()
        upstream = fetch_and_catch_up(repo, config, branch)
        start = repo.head()
        result, ours = work()
        if not repo.ahead_of(upstream):
            return result, False
        if push_or_drop(repo, config, branch, ours, start) != "rejected":
            return result, True
        drop(repo, ours, start)
        _sleep(config, attempt)
    raise GitError(
        f"the push to {config.remote}/{branch} was rejected {config.push_attempts} times (others keep pushing); "
        "nothing of this run was pushed, run it again"
    )


def fetch_and_catch_up(repo: Repo, config: Config, branch: str) -> str | None:
    """Fetch the branch and bring HEAD up to it; the remote's commit (None: the remote has no such branch)."""
    upstream = repo.fetch(config.remote, branch)
    if upstream is not None:
        repo.catch_up(upstream)
    return upstream


def push_or_drop(repo: Repo, config: Config, branch: str, ours: Sequence[str], start: str | None) -> PushOutcome:
    """Push; when the push cannot succeed, drop this run's commits (never a person's) and say so."""
    try:
        return repo.push(config.remote, branch)
    except GitError as exc:
        if not ours:
            raise
        try:
            drop(repo, ours, start)
        except GitError as stuck:
            raise GitError(f"{exc}\n{stuck}") from exc
        raise GitError(
            f"{exc}\nrollgen dropped the {len(ours)} commit(s) it had just made, so the branch is again as "
            f"{config.remote}/{branch} has it; fix what the remote objects to, then run the command again"
        ) from exc


def drop(repo: Repo, ours: Sequence[str], start: str | None) -> None:
    """Drop rollgen's commits `ours` (oldest first) from the top of HEAD, the work tree as their parent has it.
    Refused, nothing dropped, when they are not exactly HEAD's last commits; when a commit not ours lies between
    `start` (HEAD after the catch-up) and ours, ours are dropped, it stays, and the run stops."""
    if not ours:
        return
    top = repo.text("rev-list", "--first-parent", f"--max-count={len(ours) + 1}", "HEAD").split()
    if top[: len(ours)] != list(reversed(ours)):
        raise GitError(
            f"a commit was made in {repo.root} while rollgen ran, on top of its own ({ours[-1][:12]}); rollgen "
            "left every commit as it is: push or undo them by hand (git log), then run it again"
        )
    if len(top) == len(ours):
        raise GitError("cannot drop the repository's first commit; push it by hand")
    base = top[-1]
    repo.undo_commit(ours[-1], base)
    if start is not None and base != start:
        subject = repo.text("log", "-1", "--format=%h %s", base).strip()
        raise GitError(
            f"a commit was made in {repo.root} while rollgen ran ({subject}); rollgen dropped its own "
            f"{len(ours)} commit(s) and left that one as it is: push it (or undo it) yourself, then run rollgen again"
        )


def _sleep(config: Config, attempt: int) -> None:
    import random  # only when a push was rejected

    delay = min(30.0, config.push_backoff * 2**attempt) * random.uniform(0.5, 1.5)
    time.sleep(delay)
