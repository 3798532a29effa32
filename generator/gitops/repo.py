"""All git access: one module, the git command line, an explicit author and a clean environment.

Why the git CLI rather than GitPython: GitPython runs the same git commands in a subprocess, and importing it
costs ~70 ms, which alone would be most of the budget of a scheduled `rollgen advance` (bench/advance).

Environment: variables that point git somewhere else (GIT_DIR, GIT_WORK_TREE, GIT_INDEX_FILE, ... set when
rollgen runs inside a git hook) are dropped, as pre-commit's `no_git_env` does; identity, transport and
config-injection variables pass. Network commands never prompt (GIT_TERMINAL_PROMPT=0).

Safety: commits name their paths (only the release's files are committed, whatever else is staged); pushes
are never forced; a rejected push is reported so the caller can re-decide from the remote's state.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from generator.records import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from generator.spec.config import Author, Config
from generator.errors import RollgenError
from generator.fingerprint import fingerprint
from generator.redaction import credentials_bytes

# Kept from the caller's environment: identity, transport, and config injection (pre-commit keeps the same
# transport and config ones). Everything else starting with GIT_ is dropped.
_KEEP = frozenset(
    {
        "GIT_EXEC_PATH",
        "GIT_SSH",
        "GIT_SSH_COMMAND",
        "GIT_SSL_CAINFO",
        "GIT_SSL_NO_VERIFY",
        "GIT_CONFIG_COUNT",
        "GIT_CONFIG_NOSYSTEM",
        "GIT_CONFIG_GLOBAL",
        "GIT_CONFIG_SYSTEM",
        "GIT_HTTP_PROXY_AUTHMETHOD",
        "GIT_ALLOW_PROTOCOL",
        "GIT_ASKPASS",
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
    }
)


def clean_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    source = os.environ if environ is None else environ
    return {
        key: value
        for key, value in source.items()
        if not key.startswith("GIT_") or key in _KEEP or key.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_"))
    }


class GitError(RollgenError):
    """A git command failed in a way rollgen cannot fix by itself."""


@dataclass(frozen=True)
class Change:
    """One `git status --porcelain` entry: index and work-tree codes, as git prints them."""

    path: str
    index: str
    worktree: str

    @property
    def untracked(self) -> bool:
        return self.index == "?"


PushOutcome = Literal["pushed", "rejected", "up-to-date"]


@dataclass(frozen=True)
class LogEntry:
    commit: str
    date: str  # committer date, strict ISO 8601
    author: str
    subject: str
    message: str


class Repo:
    """A git working tree. Paths given to and returned by methods are relative to its root, POSIX style."""

    def __init__(
        self, root: Path, rollgen_dir: Path, hooks_dir: Path | None = None, common_dir: Path | None = None
    ) -> None:
        self.root = root
        self.rollgen_dir = rollgen_dir  # per-worktree folder inside the git dir: lock and crash journal
        self.hooks_dir = hooks_dir or rollgen_dir.parent / "hooks"  # core.hooksPath honoured by discover
        self.common_dir = common_dir or rollgen_dir.parent  # refs live here (shared by linked worktrees)
        self._env = clean_env()
        # Of the last commit(): the HEAD it was made on, and whether plumbing made it (no hook could have changed
        # its message); so that the caller needs no git process to learn either.
        self.parent: str | None = None
        self.verbatim = False
        self._committed: dict[str, bytes | None] = {}  # prime_committed's read of HEAD's files


    @classmethod
    def discover(cls, path: Path) -> Repo:
        if not path.is_dir():
            raise GitError(f"{path} is not a folder; --repo names the config repository's clone")
        args = ["rev-parse", "--show-toplevel", "--git-path", "rollgen", "--git-path", "hooks", "--git-common-dir"]
        out = _run_git(path, args, clean_env(), check=False)
        if out.returncode != 0:
            raise GitError(f"{path} is not inside a git repository; clone the config repo, or `git init` it")
        top, rollgen, hooks, common = out.stdout.decode().splitlines()[:4]
        _check_rollgen_dir(path / rollgen)
        return cls(Path(top), (path / rollgen).resolve(), (path / hooks).resolve(), (path / common).resolve())

    # -- plumbing -------------------------------------------------------------------------------------------

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        check: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        merged = {**self._env, **env} if env else self._env
        return _run_git(self.root, list(args), merged, input=input, check=check)

    def run_network(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        """A git command that talks to the remote, bounded: a stalled transfer, an unanswered connection or a
        server that never finishes ends in a GitError (the caller's `with lock()` then releases the lock)."""
        seconds = network_timeout()
        env = {**self._env, **_NO_PROMPT, **self._ssh_env(seconds)}
        return _run_git_bounded(self.root, [*_network_config(seconds), *args], env, seconds)

    def _ssh_env(self, seconds: float) -> dict[str, str]:
        """An ssh that gives up on a silent server, unless the user chose their own ssh command (theirs wins;
        the overall deadline still holds)."""
        if {"GIT_SSH", "GIT_SSH_COMMAND"} & set(self._env):
            return {}
        if self.run("config", "--get", "core.sshCommand", check=False).returncode == 0:
            return {}
        connect = max(1, min(30, int(seconds)))
        return {"GIT_SSH_COMMAND": f"ssh -o ConnectTimeout={connect} -o ServerAliveInterval={connect} "
                                   "-o ServerAliveCountMax=2"}

    def text(self, *args: str, input: bytes | None = None) -> str:
        return self.run(*args, input=input).stdout.decode("utf-8", "replace")

    # -- where we are ---------------------------------------------------------------------------------------

    def head(self) -> str | None:
        """The commit HEAD points at; None on a branch with no commit yet."""
        out = self.run("rev-parse", "-q", "--verify", "HEAD^{commit}", check=False)
        return out.stdout.decode().strip() if out.returncode == 0 else None

    def branch(self) -> str | None:
        """The checked-out branch; None when HEAD is detached."""
        out = self.run("symbolic-ref", "-q", "--short", "HEAD", check=False)
        return out.stdout.decode().strip() if out.returncode == 0 else None

    def is_ancestor(self, older: str, newer: str) -> bool:
        return self.run("merge-base", "--is-ancestor", older, newer, check=False).returncode == 0

    def landed(self, tip: str, base: str) -> bool:
        """Whether `base` holds what `tip` brought since the two parted: tip is an ancestor of base (a merge, a
        fast-forward), or every file tip changed since their merge base is in base as tip has it (a squash or a
        rebase merge: other commits, the same files)."""
        if self.is_ancestor(tip, base):
            return True
        fork = self.run("merge-base", tip, base, check=False)
        if fork.returncode != 0:
            return False
        brought = self.text("diff", "--name-only", "-z", "--no-renames", fork.stdout.decode().strip(), tip)
        paths = [path for path in brought.split("\0") if path]
        if not paths:
            return True
        same = self.run("--literal-pathspecs", "diff", "--quiet", "--no-renames", tip, base, "--", *paths, check=False)
        return same.returncode == 0

    def changes(self, pathspecs: Sequence[str]) -> list[Change]:
        """Uncommitted changes (staged, unstaged, untracked) under the given paths only."""
        with self.start_changes(pathspecs) as status:
            return status.changes()

    def start_changes(self, pathspecs: Sequence[str]) -> Status:
        """changes(), started now and read later: `git status` runs while the caller works."""
        return Status(self, ["--no-optional-locks", "status", "--porcelain=v1", "-z", "--untracked-files=all",
                             "--no-renames", "--", *pathspecs])

    def tracked(self, pathspecs: Sequence[str], rev: str = "HEAD") -> set[str]:
        """Files under pathspecs in `rev` (empty when there is no such commit yet)."""
        if self.head() is None:
            return set()
        out = self.text("ls-tree", "-r", "-z", "--name-only", rev, "--", *pathspecs)
        return {p for p in out.split("\0") if p}

    # -- committing -----------------------------------------------------------------------------------------

    def commit(self, paths: Sequence[str], message: str, author: Author | None) -> str | None:
        """Commit exactly `paths` (added, changed or deleted) and return the new commit; None when unchanged.

        Whatever else is staged stays staged and out of the commit. When the repository has commit hooks or
        signs commits, `git commit --only` does the work, hooks and all. Otherwise the commit is built from
        HEAD's trees with plumbing (hash-object, mktree for the folders on the way to the paths, commit-tree,
        update-ref against the HEAD we started from) and the index entries of the paths are updated: the same
        commit `git commit` makes, without its refresh of the whole index, which in a 40,000-file config repo
        is most of the cost of a step (bench/advance).
        """
        self.verbatim = False
        if not paths:
            return None
        if not self._plumbing_ok():
            return self._porcelain(paths, message, author)
        # One cat-file process answers what HEAD is and then reads its trees (no rev-parse before it): HEAD is
        # read once, and the trees are read by the id found, so a HEAD moving meanwhile cannot mix two commits.
        with _ObjectReader(self) as read:
            head = read("HEAD")
            if head is None or head[0] != "commit":  # a branch with no commit yet
                return self._porcelain(paths, message, author)
            commit, tree = head[1], _commit_tree(head[2])
            self.parent = commit
            # The index entries of the paths are brought up to date while the commit is made: update-index reads
            # and rewrites the whole index (the bulk of a step's git time in a big repo) and needs nothing the
            # commit makes, nor the commit anything of it. If the commit then fails, the caller's restore() puts
            # index and work tree back as HEAD has them, as it did when update-index came last.
            with _Started(self, ["update-index", "--add", "--remove", "--", *paths]) as staged:
                present = [p for p in paths if (self.root / p).is_file()]
                blobs = self._hash_files(present)
                new_tree = self._tree_with(read, tree, {p: blobs.get(p) for p in paths})
                new = None if new_tree == tree else self._commit_tree(new_tree, commit, message, author)
                staged.result()
        if new is not None:
            self.verbatim = True  # no hook ran: the commit holds exactly `message`
        return new

    def _commit_tree(self, tree: str, parent: str, message: str, author: Author | None) -> str:
        """A commit of `tree` on `parent`, and HEAD moved to it from `parent` (refused if HEAD moved meanwhile)."""
        made = self.run("commit-tree", tree, "-p", parent, "-F", "-", input=message.encode(),
                        env=_identity_env(author), check=False)
        if made.returncode != 0:
            raise GitError(_commit_failure(made))
        new = made.stdout.decode().strip()
        subject = message.split("\n", 1)[0][:200]  # an argument: the kernel refuses one over 128 KiB
        self.run("update-ref", "-m", f"commit: {subject}", "HEAD", new, parent)
        return new

    def _hash_files(self, paths: Sequence[str]) -> dict[str, str]:
        if not paths:
            return {}
        out = self.text("hash-object", "-w", "--stdin-paths", input="\n".join(paths).encode())
        return dict(zip(paths, out.split()))

    def _porcelain(self, paths: Sequence[str], message: str, author: Author | None) -> str | None:
        self.parent = self.head()
        self.run("add", "-A", "--", *paths)
        return self._porcelain_commit(paths, message, author)

    def _tree_with(self, read: _ObjectReader, base: str, changes: Mapping[str, str | None]) -> str:
        """The tree `base` with the files in `changes` set to blobs (None: removed), folders made as needed."""
        folders = {""} | {parent for path in changes for parent in _parents(path)}
        entries = _read_trees(read, base, sorted(folders))
        for path, blob in changes.items():
            folder, _, name = path.rpartition("/")
            if blob is None:
                entries[folder].pop(name, None)
            else:
                entries[folder][name] = ("100644", "blob", blob)
        with _TreeMaker(self) as mktree:  # one git process for every folder on the way, not one each
            for folder in sorted(folders - {""}, key=lambda f: -f.count("/")):
                parent, _, name = folder.rpartition("/")
                if entries[folder]:
                    entries[parent][name] = ("040000", "tree", mktree(entries[folder]))
                else:
                    entries[parent].pop(name, None)
            return mktree(entries[""])

    def read_blobs(self, specs: Sequence[str]) -> list[bytes | None]:
        """The contents of `<commit>:<path>` for each spec (None where missing), with one `git cat-file --batch`."""
        data = self.run("cat-file", "--batch", input="".join(f"{spec}\n" for spec in specs).encode()).stdout
        out: list[bytes | None] = []
        at = 0
        for _ in specs:
            end = data.index(b"\n", at)
            header = data[at:end].decode(errors="replace").split()
            at = end + 1
            if header[-1] in ("missing", "ambiguous") or header[1] != "blob":
                out.append(None)
                if header[-1] not in ("missing", "ambiguous"):
                    at += int(header[2]) + 1
                continue
            size = int(header[2])
            out.append(data[at : at + size])
            at += size + 1
        return out

    def committed(self, path: str) -> bytes | None:
        """The bytes HEAD holds at `path` (None: HEAD has no such file), from prime_committed's read if any."""
        if path in self._committed:
            return self._committed[path]
        return self.read_blobs([f"HEAD:{path}"])[0]  # "missing" on a branch with no commit yet: None

    def prime_committed(self, paths: Sequence[str]) -> None:
        """Read HEAD's bytes of many paths with one git process, for `committed` (forget them: no paths)."""
        self._committed = {}
        if paths:
            self._committed = dict(zip(paths, self.read_blobs([f"HEAD:{path}" for path in paths])))

    def _plumbing_ok(self) -> bool:
        """No hook would run and no signature is wanted: plumbing makes the very commit `git commit` would."""
        hooks = ("pre-commit", "prepare-commit-msg", "commit-msg", "post-commit", "reference-transaction")
        if any(os.access(self.hooks_dir / name, os.X_OK) for name in hooks):
            return False
        out = self.run("config", "--type=bool", "--get", "commit.gpgSign", check=False)
        return out.stdout.decode().strip() != "true"

    def _porcelain_commit(self, paths: Sequence[str], message: str, author: Author | None) -> str | None:
        if self.head() is not None and self.run("diff", "--cached", "--quiet", "HEAD", "--", *paths,
                                                check=False).returncode == 0:
            return None
        identity = ["-c", f"user.name={author.name}", "-c", f"user.email={author.email}"] if author else []
        out = self.run(*identity, "commit", "-q", "--no-edit", "-F", "-", "--only", "--", *paths,
                       input=message.encode(), env=_identity_env(author), check=False)
        if out.returncode != 0:
            raise GitError(_commit_failure(out))
        head = self.head()
        assert head is not None
        return head

    def restore(self, paths: Iterable[str]) -> None:
        """Put paths back as HEAD has them, in the index and the work tree; paths HEAD lacks are removed."""
        wanted = sorted(set(paths))
        if not wanted:
            return
        known = self.tracked(wanted)
        if known:
            self.run("checkout", "-q", "HEAD", "--", *sorted(known))
        extra = [p for p in wanted if p not in known]
        if extra:
            self.run("rm", "-q", "--cached", "--ignore-unmatch", "--", *extra)
            for rel in extra:
                (self.root / rel).unlink(missing_ok=True)

    def undo_commit(self, commit: str, parent: str | None) -> None:
        """Drop our own commit at HEAD, leaving the work tree as the parent has it (`git reset --keep`)."""
        if self.head() != commit:
            raise GitError(f"HEAD moved past rollgen's commit {commit[:12]} (a hook committed?); resolve by hand")
        if parent is None:
            raise GitError("cannot retry a push of the repository's first commit; push it by hand")
        self.run("reset", "-q", "--keep", parent)

    # -- the remote -----------------------------------------------------------------------------------------

    def fetch(self, remote: str, branch: str) -> str | None:
        """Fetch the branch; return its remote commit, or None when the remote has no such branch yet."""
        ref = f"refs/remotes/{remote}/{branch}"
        out = self.run_network("fetch", "-q", "--no-tags", remote, f"+refs/heads/{branch}:{ref}")
        if out.returncode != 0:
            err = out.stderr.decode(errors="replace").strip()
            if "couldn't find remote ref" in err:
                return None
            raise GitError(f"git fetch {remote} {branch} failed: {err}")
        return self.text("rev-parse", ref).strip()

    def catch_up(self, upstream: str) -> None:
        """Bring HEAD up to `upstream`: fast-forward, or rebase our unpushed commits onto it."""
        head = self.head()
        if head is not None and (head == upstream or self.is_ancestor(upstream, head)):
            return
        if head is None or self.is_ancestor(head, upstream):
            out = self.run("merge", "-q", "--ff-only", upstream, check=False)
            if out.returncode != 0:
                raise GitError(f"cannot fast-forward to {upstream[:12]}: {_stderr(out)}")
            return
        marker = self._rebase_marker()
        marker.parent.mkdir(parents=True, exist_ok=True)
        # a kill from here on leaves a rebase that the next run undoes (repair_rebase), told from a person's by this
        marker.write_text(json.dumps({"head": head, "branch": self.branch(), "upstream": upstream}))
        out = self.run("rebase", "-q", upstream, check=False)
        if out.returncode != 0:
            self.run("rebase", "--abort", check=False)
        marker.unlink(missing_ok=True)
        if out.returncode != 0:
            raise GitError(
                f"the local branch and the remote have diverged and rebasing failed: {_stderr(out)}; "
                "reconcile them by hand (git pull --rebase), then run rollgen again"
            )

    def _rebase_marker(self) -> Path:
        return self.rollgen_dir / "rebasing.json"

    def rebase_branch(self) -> str | None:
        """The branch an unfinished rebase works on (HEAD is detached meanwhile), if any."""
        for folder in ("rebase-merge", "rebase-apply"):
            try:
                ref = (self.rollgen_dir.parent / folder / "head-name").read_text().strip()
            except OSError:
                continue
            return ref.removeprefix("refs/heads/")
        return None

    def repair_rebase(self, wait: float | None = None) -> bool:
        """Undo the catch-up rebase of a rollgen killed mid-way (its marker says it was rollgen's, not a person's):
        `git rebase --abort` puts the branch back where it was; the next catch-up starts again from a fetch.
        A rebase without rollgen's marker is a person's and is left alone. Returns whether one was undone."""
        marker = self._rebase_marker()
        if not marker.exists():
            return False
        git_dir = self.rollgen_dir.parent
        if not any((git_dir / folder).exists() for folder in ("rebase-merge", "rebase-apply")):
            marker.unlink(missing_ok=True)  # killed after the rebase finished or was aborted
            return False
        self._wait_for_gits(wait)  # a rollgen killed alone leaves its git rebase running, to finish by itself
        if not any((git_dir / folder).exists() for folder in ("rebase-merge", "rebase-apply")):
            marker.unlink(missing_ok=True)
            return False
        if self.run("rebase", "--abort", check=False).returncode != 0:
            self._unwind_rebase(marker)
        self._remove_checkout_leftovers(marker)
        marker.unlink(missing_ok=True)
        return True

    def _remove_checkout_leftovers(self, marker: Path) -> None:
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
        untracked = self.run("ls-files", "-z", "--others", "--exclude-standard", check=False).stdout.split(b"\0")
        for raw in filter(None, untracked):
            name = os.fsdecode(raw)
            path = self.root / name
            if path.is_symlink() or not path.is_file():
                continue
            theirs = self.run("cat-file", "blob", f"{upstream}:{name}", check=False)
            if theirs.returncode != 0:
                continue  # not upstream's file
            try:
                ours = path.read_bytes()
            except OSError:
                continue
            if theirs.stdout.startswith(ours):
                path.unlink()

    def _unwind_rebase(self, marker: Path) -> None:
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
        self.run("rebase", "--quit", check=False)
        self.run("update-ref", f"refs/heads/{branch}", head)
        self.run("symbolic-ref", "HEAD", f"refs/heads/{branch}")
        self.run("reset", "-q", "--hard", head)

    def _wait_for_gits(self, wait: float | None) -> None:
        places = (self.root, self.rollgen_dir.parent, self.common_dir)
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

    def push(self, remote: str, branch: str) -> PushOutcome:
        """Push HEAD to the remote branch, never forced. "rejected" means the remote moved on."""
        out = self.run_network("push", "--porcelain", remote, f"HEAD:refs/heads/{branch}")
        report = redact(out.stdout).decode(errors="replace")
        if out.returncode == 0:
            return "up-to-date" if "[up to date]" in report else "pushed"
        if _moved_on(report, _stderr(out)):
            return "rejected"
        raise GitError(f"git push {remote} {branch} failed: {_stderr(out) or report.strip()}")

    def ahead_of(self, upstream: str | None) -> bool:
        head = self.head()
        if head is None:
            return False
        return upstream is None or (head != upstream and not self.is_ancestor(head, upstream))

    # -- history --------------------------------------------------------------------------------------------

    def log(self, greps: Sequence[str], pathspecs: Sequence[str] = ()) -> list[LogEntry]:
        """Commits whose messages match every extended regex in `greps`, newest first."""
        if self.head() is None:
            return []
        args = ["log", "-E", "--all-match", "--format=%H%x1f%cI%x1f%an%x1f%s%x1f%B%x1e"]
        args += [f"--grep={g}" for g in greps]
        out = self.text(*args, "HEAD", "--", *pathspecs)
        return [_log_entry(record) for record in out.split("\x1e") if record.strip()]

    # -- our own files in the git dir -----------------------------------------------------------------------

    @contextmanager
    def lock(self, timeout: float = 120.0) -> Iterator[None]:
        """One rollgen at a time in this work tree; released when the process dies, so never stale."""
        self.rollgen_dir.mkdir(parents=True, exist_ok=True)
        with open(self.rollgen_dir / "lock", "a+b") as fh:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise GitError(f"another rollgen has held {self.rollgen_dir / 'lock'} for {timeout:.0f}s")
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def remove_stale_locks(self, remote: str, branch: str, wait: float | None = None) -> list[Path]:
        """The lock files that a git killed mid-command left behind (rollgen's process group killed, say): git
        refuses to run while one exists. Call with self.lock() held, so that no git of another rollgen starts.

        A lock is stale only when no process holds it, never judged by its age: `git commit` keeps index.lock
        for the whole of its pre-commit hook with no file descriptor open on it, and removing it then makes that
        commit record whatever the index holds afterwards. So a lock counts as held while any process has it
        open, any process has it as GIT_INDEX_FILE (the hooks git runs), or a git process works in this
        repository. A held lock is waited for, up to `wait` seconds (ROLLGEN_GIT_LOCK_WAIT, default 30); one
        still held then, or one whose holders this system cannot tell (no /proc), is refused by name."""
        git_dir, refs = self.rollgen_dir.parent, self.common_dir / "refs"
        # index.lock, HEAD.lock, ORIG_HEAD.lock, and what a rebase killed mid-pick leaves (CHERRY_PICK_HEAD.lock,
        # MERGE_MSG.lock, ...: the catch-up's; repair_rebase then undoes the rebase itself)
        candidates = (
            *sorted(git_dir.glob("*.lock")),
            self.common_dir / "packed-refs.lock", refs / "heads" / f"{branch}.lock",
            refs / "remotes" / remote / f"{branch}.lock",
        )  # fmt: skip
        places = (self.root, git_dir, self.common_dir)
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

    def journal(self, release: str) -> Journal:
        return Journal(self.rollgen_dir / f"pending-{release}.json")

    def config(self) -> Config:
        """The repository's rollgen.yaml, validated; the schema check is skipped while the file is as it was when
        it last passed (the marker in .git/rollgen/cache)."""
        from generator.spec.config import load

        return load(self.root, validated=self.rollgen_dir / "cache" / "config-validated")


class Journal:
    """What a run is about to write, kept until its commit lands, so that the next run can tell a crash's
    leftovers (files exactly as we meant to write them) from a person's edits (anything else)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, files: Mapping[str, bytes | None]) -> None:
        """files: repo-relative path -> the bytes about to be written, or None for a file about to go."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {rel: (_digest(body) if body is not None else None) for rel, body in sorted(files.items())}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=0))
        os.replace(tmp, self.path)

    def load(self) -> dict[str, str | None] | None:
        try:
            data: dict[str, str | None] = json.loads(self.path.read_text())
            return data
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)

    def explains(self, root: Path, rel: str) -> bool:
        """Whether the file at rel is exactly what the journalled run meant to leave there."""
        entries = self.load() or {}
        if rel not in entries:
            return False
        expected = entries[rel]
        try:
            data = (root / rel).read_bytes()
        except FileNotFoundError:
            return expected is None
        return expected is not None and expected in (_digest(data), _sha256(data))


# -- helpers ------------------------------------------------------------------------------------------------

_NO_PROMPT = {"GIT_TERMINAL_PROMPT": "0"}
NETWORK_TIMEOUT = 300.0  # seconds for one fetch or push, all of it


def network_timeout() -> float:
    """NETWORK_TIMEOUT, or ROLLGEN_GIT_TIMEOUT (seconds) when it is a positive number."""
    try:
        value = float(os.environ.get("ROLLGEN_GIT_TIMEOUT", ""))
    except ValueError:
        return NETWORK_TIMEOUT
    return value if 0 < value < float("inf") else NETWORK_TIMEOUT


def _network_config(seconds: float) -> list[str]:
    """HTTP transfers slower than 1 KB/s for 30 s (or the whole deadline, if shorter) are abandoned by git."""
    stall = max(1, min(30, int(seconds)))
    return ["-c", "http.lowSpeedLimit=1000", "-c", f"http.lowSpeedTime={stall}"]


def _run_git_bounded(
    cwd: Path, args: list[str], env: Mapping[str, str], seconds: float
) -> subprocess.CompletedProcess[bytes]:
    """git in its own process group, killed with its helpers (git-remote-https, ssh) after `seconds`."""
    import signal

    proc = _spawn(args, cwd, env, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=seconds)
    except BaseException as exc:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        if isinstance(exc, subprocess.TimeoutExpired):
            verb = next(a for a in args if not a.startswith("-") and "=" not in a)
            raise GitError(
                f"git {verb} did not finish within {seconds:g}s (the remote accepts but does not answer?); "
                "check the remote and run again (rollgen decides from the remote's state), or raise ROLLGEN_GIT_TIMEOUT"
            ) from None
        raise
    return subprocess.CompletedProcess(["git", *args], proc.returncode, stdout, redact(stderr))


def _run_git(
    cwd: Path,
    args: list[str],
    env: Mapping[str, str],
    input: bytes | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, env=env, input=input, capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise GitError(_NO_GIT) from exc
    # What git writes for people ends up in rollgen's messages, exceptions and crash log: never with the
    # credentials of a remote URL, whichever git version, transport or server printed them.
    out.stderr = redact(out.stderr)
    if check and out.returncode != 0:
        raise GitError(f"git {args[0]} failed: {_stderr(out)}")
    return out


_NO_GIT = "git is not installed (rollgen needs the git command line)"


def _spawn(args: list[str], cwd: Path, env: Mapping[str, str], **options: Any) -> subprocess.Popen[bytes]:
    """git started, its output and messages piped back to rollgen."""
    try:
        return subprocess.Popen(["git", *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                **options)
    except FileNotFoundError as exc:
        raise GitError(_NO_GIT) from exc


def redact(text: bytes) -> bytes:
    """What git printed, without credentials (generator/redaction.py)."""
    return credentials_bytes(text)


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


def _check_rollgen_dir(path: Path) -> None:
    """rollgen's folder in the git dir (lock, journal, cache) is a real folder, or absent until first use: a
    file or a symlink there is refused, not written through."""
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        kind = "a symlink" if path.is_symlink() else "a file"
        raise GitError(f"{path} is {kind}, not rollgen's folder; move it away (rollgen recreates the folder)")


def _stderr(out: subprocess.CompletedProcess[bytes]) -> str:
    return out.stderr.decode(errors="replace").strip()


def _parents(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


_Batch = TypeVar("_Batch", bound="_BatchGit")


class _Started:
    """A git command started now and read later, so that it runs while rollgen does other work. Left before its
    result() is read (an exception on the way), it is waited for, never killed: a git killed while it holds
    index.lock leaves the lock behind."""

    def __init__(self, repo: Repo, args: list[str]) -> None:
        self._args = args
        self._proc = _spawn(args, repo.root, repo._env, stdin=subprocess.DEVNULL)
        self._out: subprocess.CompletedProcess[bytes] | None = None

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.result(check=False)

    def result(self, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        """What Repo.run would have returned (a GitError when the command failed and `check`)."""
        if self._out is None:
            stdout, stderr = self._proc.communicate()
            self._out = subprocess.CompletedProcess(["git", *self._args], self._proc.returncode, stdout, redact(stderr))
        if check and self._out.returncode != 0:
            raise GitError(f"git {self._args[0]} failed: {_stderr(self._out)}")
        return self._out


class Status(_Started):
    """`git status` of some paths, started by Repo.start_changes."""

    def changes(self) -> list[Change]:
        entries = self.result().stdout.decode("utf-8", "surrogateescape").split("\0")
        return [Change(e[3:], e[0], e[1]) for e in entries if len(e) > 3]


_S = TypeVar("_S", bound=_Started)


class _BatchGit:
    """One git process fed request after request on its stdin (`--batch`), each answer read before the next is
    written; the command, its failure message and the process's end are the same for every kind."""

    COMMAND: tuple[str, ...] = ()

    def __init__(self, repo: Repo) -> None:
        self._repo = repo
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self: _Batch) -> _Batch:
        self._proc = _spawn(list(self.COMMAND), self._repo.root, self._repo._env, stdin=subprocess.PIPE)
        return self

    def _failed(self) -> GitError:
        return GitError(f"git {self.COMMAND[0]} failed: {self._finish()}")

    def _finish(self) -> str:
        proc = self._proc
        assert proc is not None
        self._proc = None
        _, err = proc.communicate()
        return redact(err).decode(errors="replace").strip()[-2000:]

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            proc = self._proc
            message = self._finish()
            if proc.returncode != 0 and exc[0] is None:
                raise GitError(f"git {self.COMMAND[0]} failed: {message}")


class _TreeMaker(_BatchGit):
    """`git mktree --batch` as one process that makes tree after tree: each tree's id is read back before the
    next is written, so a folder's tree can name the ones made for its subfolders."""

    COMMAND = ("mktree", "-z", "--batch")

    def __call__(self, entries: Mapping[str, tuple[str, str, str]]) -> str:
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(_tree_body(entries) + b"\0")  # an empty entry ends the tree
            proc.stdin.flush()
        except BrokenPipeError:
            pass  # git died: its message is read below
        line = proc.stdout.readline().decode().strip()
        if not line:
            raise self._failed()
        return line


class _ObjectReader(_BatchGit):
    """`git cat-file --batch` as one process answering object after object: the next name asked may depend on
    the last answer (HEAD's commit, then trees by the id it names)."""

    COMMAND = ("cat-file", "--batch")

    def __call__(self, name: str) -> tuple[str, str, bytes] | None:
        """(type, id, content) of the object `name`; None when there is no such object."""
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(name.encode("utf-8", "surrogateescape") + b"\n")
            proc.stdin.flush()
        except BrokenPipeError:
            pass  # git died: its message is read below
        header = proc.stdout.readline().decode(errors="replace").split()
        if not header:
            raise self._failed()
        if header[-1] in ("missing", "ambiguous"):
            return None
        size = int(header[2])
        body = proc.stdout.read(size + 1)[:size]  # the content, then a newline
        return header[1], header[0], body


def _commit_tree(body: bytes) -> str:
    """The tree a commit object names (its first line: `tree <id>`)."""
    first = body.split(b"\n", 1)[0].split()
    if len(first) != 2 or first[0] != b"tree":
        raise GitError("HEAD's commit names no tree; check the repository with `git fsck`")
    return first[1].decode()


def _read_trees(read: _ObjectReader, base: str, folders: Sequence[str]) -> dict[str, dict[str, tuple[str, str, str]]]:
    """Each folder's entries in tree `base` (a folder base lacks is empty)."""
    out: dict[str, dict[str, tuple[str, str, str]]] = {}
    for folder in folders:
        found = read(f"{base}:{folder}" if folder else base)
        if found is None:
            out[folder] = {}
            continue
        if found[0] != "tree":
            raise GitError(f"{folder} is a {found[0]} in HEAD, not a folder; move it out of rollgen's way")
        out[folder] = _parse_tree(found[2], len(base) // 2)
    return out


def _tree_body(entries: Mapping[str, tuple[str, str, str]]) -> bytes:
    """mktree -z input: one `mode type id<TAB>name` entry each, NUL-terminated."""
    text = "".join(f"{mode} {kind} {sha}\t{name}\0" for name, (mode, kind, sha) in sorted(entries.items()))
    return text.encode("utf-8", "surrogateescape")


def _parse_tree(raw: bytes, hash_len: int) -> dict[str, tuple[str, str, str]]:
    """A tree object's entries: name -> (mode as ls-tree prints it, type, object id)."""
    entries: dict[str, tuple[str, str, str]] = {}
    at = 0
    while at < len(raw):
        space = raw.index(b" ", at)
        nul = raw.index(b"\0", space)
        mode = raw[at:space].decode().rjust(6, "0")
        sha = raw[nul + 1 : nul + 1 + hash_len].hex()
        kind = "tree" if mode == "040000" else "commit" if mode == "160000" else "blob"
        entries[raw[space + 1 : nul].decode("utf-8", "surrogateescape")] = (mode, kind, sha)
        at = nul + 1 + hash_len
    return entries


def _moved_on(report: str, stderr: str) -> bool:
    """The remote branch moved under us: behind it, or another push held its lock at the same moment."""
    if "[rejected]" in report and ("fetch first" in report or "non-fast-forward" in report):
        return True
    lost_race = ("cannot lock ref", "failed to update ref", "failed to lock", "incorrect old value")
    return "[remote rejected]" in report and any(m in report or m in stderr for m in lost_race)


def _identity_env(author: Author | None) -> dict[str, str] | None:
    if author is None:
        return None
    return {
        "GIT_AUTHOR_NAME": author.name,
        "GIT_AUTHOR_EMAIL": author.email,
        "GIT_COMMITTER_NAME": author.name,
        "GIT_COMMITTER_EMAIL": author.email,
    }


def _commit_failure(out: subprocess.CompletedProcess[bytes]) -> str:
    err = _stderr(out) or out.stdout.decode(errors="replace").strip()
    if "tell me who you are" in err or "empty ident" in err:
        return "git has no identity to commit with: set commit.author in rollgen.yaml, or git config user.name/email"
    return f"git commit failed: {err}"


def _digest(data: bytes) -> str:
    return fingerprint(data).hexdigest()


def _sha256(data: bytes) -> str:
    """How journals were written before generator/fingerprint.py: one a crashed older rollgen left still counts."""
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _log_entry(record: str) -> LogEntry:
    commit, date, author, subject, message = record.strip("\n").split("\x1f", 4)
    return LogEntry(commit, date, author, subject, message)
