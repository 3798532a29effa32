"""A git working tree, as the rest of rollgen sees it: the façade over the git modules of gitops.

- `process.py`: running git (clean environment, explicit author, credentials redacted, bounded network);
- `plumbing.py`: a commit without `git commit` (hash-object, mktree, commit-tree, update-ref, cat-file);
- `sync.py`: fetch, catch-up, rebase repair, one push (the retry loop is `push.py`'s);
- `locks.py`: rollgen's own lock and the lock files a killed git left; `journal.py`: the crash journal.

Safety: commits name their paths (only the release's files are committed, whatever else is staged); pushes
are never forced; a rejected push is reported so the caller can re-decide from the remote's state.
rollgen.yaml is not git's business: `gitops/repo_config.py` reads it for a Repo.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from generator.gitops import locks, plumbing, sync
from generator.gitops.journal import Journal
from generator.gitops.process import (
    Git,
    GitError,
    Started,
    clean_env,
    commit_failure,
    identity_env,
    redact_output,
    run_git,
)
from generator.gitops.sync import PushOutcome
from generator.records import dataclass

if TYPE_CHECKING:
    from generator.spec.config import Author

# The names callers import from here, wherever they live now.
__all__ = [
    "GitError", "Journal", "LogEntry", "PushOutcome", "Repo", "Status", "StatusEntry", "clean_env", "redact_output",
]


@dataclass(frozen=True)
class StatusEntry:
    """One `git status --porcelain` entry: index and work-tree codes, as git prints them."""

    path: str
    index: str
    worktree: str

    @property
    def untracked(self) -> bool:
        return self.index == "?"


@dataclass(frozen=True)
class LogEntry:
    commit: str
    date: str  # committer date, strict ISO 8601
    author: str
    subject: str
    message: str


class Repo(Git):
    """A git working tree. Paths given to and returned by methods are relative to its root, POSIX style."""

    def __init__(
        self, root: Path, rollgen_dir: Path, hooks_dir: Path | None = None, common_dir: Path | None = None
    ) -> None:
        super().__init__(root)
        self.rollgen_dir = rollgen_dir  # per-worktree folder inside the git dir: lock and crash journal
        self.hooks_dir = hooks_dir or rollgen_dir.parent / "hooks"  # core.hooksPath honoured by discover
        self.common_dir = common_dir or rollgen_dir.parent  # refs live here (shared by linked worktrees)
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
        out = run_git(path, args, clean_env(), check=False)
        if out.returncode != 0:
            raise GitError(f"{path} is not inside a git repository; clone the config repo, or `git init` it")
        top, rollgen, hooks, common = out.stdout.decode().splitlines()[:4]
        _check_rollgen_dir(path / rollgen)
        return cls(Path(top), (path / rollgen).resolve(), (path / hooks).resolve(), (path / common).resolve())

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

    def changes(self, pathspecs: Sequence[str]) -> list[StatusEntry]:
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
        if not plumbing.plumbing_allowed(self, self.hooks_dir):
            return self._porcelain(paths, message, author)
        # One cat-file process answers what HEAD is and then reads its trees (no rev-parse before it): HEAD is
        # read once, and the trees are read by the id found, so a HEAD moving meanwhile cannot mix two commits.
        with plumbing.ObjectReader(self) as read:
            head = read("HEAD")
            if head is None or head[0] != "commit":  # a branch with no commit yet
                return self._porcelain(paths, message, author)
            commit, tree = head[1], plumbing.tree_of_commit(head[2])
            self.parent = commit
            # The index entries of the paths are brought up to date while the commit is made: update-index reads
            # and rewrites the whole index (the bulk of a step's git time in a big repo) and needs nothing the
            # commit makes, nor the commit anything of it. If the commit then fails, the caller's restore() puts
            # index and work tree back as HEAD has them, as it did when update-index came last.
            with Started(self, ["update-index", "--add", "--remove", "--", *paths]) as staged:
                present = [p for p in paths if (self.root / p).is_file()]
                blobs = plumbing.hash_files(self, present)
                new_tree = plumbing.tree_with(self, read, tree, {p: blobs.get(p) for p in paths})
                new = None if new_tree == tree else plumbing.commit_tree(self, new_tree, commit, message, author)
                staged.result()
        if new is not None:
            self.verbatim = True  # no hook ran: the commit holds exactly `message`
        return new

    def _porcelain(self, paths: Sequence[str], message: str, author: Author | None) -> str | None:
        self.parent = self.head()
        self.run("add", "-A", "--", *paths)
        if self.head() is not None and self.run("diff", "--cached", "--quiet", "HEAD", "--", *paths,
                                                check=False).returncode == 0:
            return None
        identity = ["-c", f"user.name={author.name}", "-c", f"user.email={author.email}"] if author else []
        out = self.run(*identity, "commit", "-q", "--no-edit", "-F", "-", "--only", "--", *paths,
                       input=message.encode(), env=identity_env(author), check=False)
        if out.returncode != 0:
            raise GitError(commit_failure(out))
        head = self.head()
        assert head is not None
        return head

    def read_blobs(self, specs: Sequence[str]) -> list[bytes | None]:
        """The contents of `<commit>:<path>` for each spec (None where missing), with one `git cat-file --batch`."""
        return plumbing.read_blobs(self, specs)

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

    # -- the remote (gitops/sync.py) ------------------------------------------------------------------------

    def fetch(self, remote: str, branch: str) -> str | None:
        """Fetch the branch; return its remote commit, or None when the remote has no such branch yet."""
        return sync.fetch(self, remote, branch)

    def catch_up(self, upstream: str) -> None:
        """Bring HEAD up to `upstream`: fast-forward, or rebase our unpushed commits onto it."""
        sync.catch_up(self, upstream)

    def rebase_branch(self) -> str | None:
        """The branch an unfinished rebase works on (HEAD is detached meanwhile), if any."""
        return sync.rebase_branch(self)

    def repair_rebase(self, wait: float | None = None) -> bool:
        """Undo the catch-up rebase of a killed rollgen (never a person's); whether one was undone."""
        return sync.repair_rebase(self, wait)

    def push(self, remote: str, branch: str) -> PushOutcome:
        """Push HEAD to the remote branch, never forced. "rejected" means the remote moved on."""
        return sync.push(self, remote, branch)

    def ahead_of(self, upstream: str | None) -> bool:
        return sync.ahead_of(self, upstream)

    # -- history --------------------------------------------------------------------------------------------

    def log(self, greps: Sequence[str], pathspecs: Sequence[str] = ()) -> list[LogEntry]:
        """Commits whose messages match every extended regex in `greps`, newest first."""
        if self.head() is None:
            return []
        args = ["log", "-E", "--all-match", "--format=%H%x1f%cI%x1f%an%x1f%s%x1f%B%x1e"]
        args += [f"--grep={g}" for g in greps]
        out = self.text(*args, "HEAD", "--", *pathspecs)
        return [_log_entry(record) for record in out.split("\x1e") if record.strip()]

    # -- our own files in the git dir (gitops/locks.py, gitops/journal.py) ----------------------------------

    @contextmanager
    def lock(self, timeout: float = 120.0) -> Iterator[None]:
        """One rollgen at a time in this work tree; released when the process dies, so never stale."""
        with locks.exclusive(self.rollgen_dir, timeout):
            yield

    def remove_stale_locks(self, remote: str, branch: str, wait: float | None = None) -> list[Path]:
        """The lock files that a git killed mid-command left behind (rollgen's process group killed, say): git
        refuses to run while one exists. Call with self.lock() held, so that no git of another rollgen starts.
        Only a lock no process holds is removed, a held one waited for (locks.remove_stale)."""
        git_dir, refs = self.rollgen_dir.parent, self.common_dir / "refs"
        # index.lock, HEAD.lock, ORIG_HEAD.lock, and what a rebase killed mid-pick leaves (CHERRY_PICK_HEAD.lock,
        # MERGE_MSG.lock, ...: the catch-up's; repair_rebase then undoes the rebase itself)
        candidates = (
            *sorted(git_dir.glob("*.lock")),
            self.common_dir / "packed-refs.lock", refs / "heads" / f"{branch}.lock",
            refs / "remotes" / remote / f"{branch}.lock",
        )  # fmt: skip
        return locks.remove_stale(candidates, (self.root, git_dir, self.common_dir), wait)

    def journal(self, release: str) -> Journal:
        return Journal(self.rollgen_dir / f"pending-{release}.json")


class Status(Started):
    """`git status` of some paths, started by Repo.start_changes."""

    def changes(self) -> list[StatusEntry]:
        entries = self.result().stdout.decode("utf-8", "surrogateescape").split("\0")
        return [StatusEntry(e[3:], e[0], e[1]) for e in entries if len(e) > 3]


def _check_rollgen_dir(path: Path) -> None:
    """rollgen's folder in the git dir (lock, journal, cache) is a real folder, or absent until first use: a
    file or a symlink there is refused, not written through."""
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        kind = "a symlink" if path.is_symlink() else "a file"
        raise GitError(f"{path} is {kind}, not rollgen's folder; move it away (rollgen recreates the folder)")


def _log_entry(record: str) -> LogEntry:
    commit, date, author, subject, message = record.strip("\n").split("\x1f", 4)
    return LogEntry(commit, date, author, subject, message)
