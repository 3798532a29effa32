"""Locks: rollgen's own (one rollgen at a time in a work tree) and the lock files a killed git left behind.

A git lock file is stale only when no process holds it, never judged by its age (`remove_stale`): `git commit`
keeps index.lock for the whole of its pre-commit hook with no file descriptor open on it, and removing it then
makes that commit record whatever the index holds afterwards. Who holds what is read from /proc.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from generator.gitops.process import GitError


@contextmanager
def exclusive(folder: Path, timeout: float = 120.0) -> Iterator[None]:
    """One rollgen at a time: an flock on `folder`/lock, released when the process dies, so never stale."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "lock", "a+b") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise GitError(f"another rollgen has held {folder / 'lock'} for {timeout:.0f}s")
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def remove_stale(candidates: Sequence[Path], places: Sequence[Path], wait: float | None = None) -> list[Path]:
    """Remove the lock files among `candidates` that no process holds, and return them; wait for the held ones.

    A lock counts as held while any process has it open, any process has it as GIT_INDEX_FILE (the hooks git
    runs), or a git process works in one of `places` (the work tree and the git dirs). A held lock is waited for,
    up to `wait` seconds (ROLLGEN_GIT_LOCK_WAIT, default 30); one still held then, or one whose holders this
    system cannot tell (no /proc), is refused by name."""
    deadline = time.monotonic() + (lock_wait() if wait is None else wait)
    removed: list[Path] = []
    seen: set[int] = set()  # holders seen: a git goes on after its lock (`git commit` updates HEAD after)
    while True:
        held: dict[Path, list[int] | None] = {}
        for path in candidates:
            try:
                inode = path.stat().st_ino
            except FileNotFoundError:
                continue
            holders = lock_holders(path, places)
            if holders == [] and _same_file(path, inode):
                path.unlink(missing_ok=True)
                removed.append(path)
            else:
                held[path] = holders
                seen.update(holders or ())
        seen = {pid for pid in seen if _running(pid)}
        if not held and not seen:
            return removed
        if time.monotonic() >= deadline:
            raise GitError(_held_message(held, seen, wait if wait is not None else lock_wait()))
        time.sleep(0.1)


def lock_wait() -> float:
    """How long to wait for a git lock another process holds (ROLLGEN_GIT_LOCK_WAIT seconds, default 30)."""
    try:
        return max(0.0, float(os.environ.get("ROLLGEN_GIT_LOCK_WAIT", "30")))
    except ValueError:
        return 30.0


def lock_holders(path: Path, places: Sequence[Path]) -> list[int] | None:
    """The processes that hold the git lock file `path`, as far as /proc shows; None when it cannot tell.

    A holder has the file open, or has it in its environment (git hands index.lock to its hooks as
    GIT_INDEX_FILE), or is a git whose working folder is inside one of `places` (the work tree and the git
    dirs): git keeps a lock file while its hooks run, with no descriptor open on it. Processes of other users
    are invisible here, and cannot write this repository either."""
    if not os.path.isdir("/proc/self/fd"):
        return None
    target = os.fsencode(path)
    env_entry = b"=" + target + b"\0"
    roots = [os.fsencode(place.resolve()) for place in places]
    holders = []
    for pid in os.listdir("/proc"):
        if pid.isdigit() and _holds(pid, target, env_entry, roots):
            holders.append(int(pid))
    return holders


def gits_at_work(places: Sequence[Path]) -> list[int]:
    """git processes (running, not zombies) whose working folder is inside one of `places`."""
    if not os.path.isdir("/proc/self"):
        return []
    roots = [os.fsencode(place.resolve()) for place in places]
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm", "rb") as fh:
                name = fh.read().strip()
            cwd = os.readlink(f"/proc/{pid}/cwd".encode())
        except OSError:
            continue
        if (name == b"git" or name.startswith(b"git-")) and _inside(cwd, roots) and _running(int(pid)):
            out.append(int(pid))
    return out


def _holds(pid: str, target: bytes, env_entry: bytes, roots: Sequence[bytes]) -> bool:
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False  # gone, or not ours
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}".encode()) == target:
                return True
        except OSError:
            continue
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            if env_entry in fh.read() + b"\0":
                return True
        with open(f"/proc/{pid}/comm", "rb") as fh:
            name = fh.read().strip()
        cwd = os.readlink(f"/proc/{pid}/cwd".encode())
    except OSError:
        return False
    return (name == b"git" or name.startswith(b"git-")) and _inside(cwd, roots)


def _inside(path: bytes, roots: Sequence[bytes]) -> bool:
    return any(path == root or path.startswith(root + b"/") for root in roots)


def _running(pid: int) -> bool:
    """Not gone, and not a zombie waiting for its parent to read its exit code."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rpartition(b")")[2].split()[:1] != [b"Z"]
    except OSError:
        return False


def _same_file(path: Path, inode: int) -> bool:
    """Still the lock file that was judged (a git that started meanwhile made a new one)."""
    try:
        return path.stat().st_ino == inode
    except FileNotFoundError:
        return False


def _held_message(held: Mapping[Path, list[int] | None], seen: Iterable[int], wait: float) -> str:
    if not held:
        return (f"a git process ({', '.join(map(str, sorted(seen)[:5]))}) that held a lock of this repository is "
                f"still at work after {wait:.0f}s; let it finish and run rollgen again")
    path, holders = next(iter(held.items()))
    if holders is None:
        why = "this system cannot tell whether a process holds it"
    else:
        why = f"process {', '.join(map(str, holders[:5]))} holds it"
    return (
        f"{path} exists and {why} (waited {wait:.0f}s); a git is at work in this repository (a commit running "
        "its hooks, say): let it finish and run rollgen again. Remove the file by hand only if no git is running"
    )
