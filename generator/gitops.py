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

import fcntl
import hashlib
import json
import os
import re
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from generator.config import Author
from generator.errors import RollgenError

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

    @classmethod
    def discover(cls, path: Path) -> Repo:
        if not path.is_dir():
            raise GitError(f"{path} is not a folder; --repo names the config repository's clone")
        args = ["rev-parse", "--show-toplevel", "--git-path", "rollgen", "--git-path", "hooks", "--git-common-dir"]
        out = _run_git(path, args, clean_env(), check=False)
        if out.returncode != 0:
            raise GitError(f"{path} is not inside a git repository; clone the config repo, or `git init` it")
        top, rollgen, hooks, common = out.stdout.decode().splitlines()[:4]
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

    def changes(self, pathspecs: Sequence[str]) -> list[Change]:
        """Uncommitted changes (staged, unstaged, untracked) under the given paths only."""
        out = self.run("--no-optional-locks", "status", "--porcelain=v1", "-z", "--untracked-files=all",
                       "--no-renames", "--", *pathspecs)
        entries = out.stdout.decode("utf-8", "surrogateescape").split("\0")
        return [Change(e[3:], e[0], e[1]) for e in entries if len(e) > 3]

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
        if not paths:
            return None
        head = self._head_and_tree()
        if head is None or not self._plumbing_ok():
            self.run("add", "-A", "--", *paths)
            return self._porcelain_commit(paths, message, author)
        commit, tree = head
        present = [p for p in paths if (self.root / p).is_file()]
        blobs = self._hash_files(present)
        new_tree = self._tree_with(tree, {p: blobs.get(p) for p in paths})
        if new_tree == tree:
            return None
        made = self.run("commit-tree", new_tree, "-p", commit, "-F", "-", input=message.encode(),
                        env=_identity_env(author), check=False)
        if made.returncode != 0:
            raise GitError(_commit_failure(made))
        new = made.stdout.decode().strip()
        subject = message.split("\n", 1)[0]
        self.run("update-ref", "-m", f"commit: {subject}", "HEAD", new, commit)
        self.run("update-index", "--add", "--remove", "--", *paths)
        return new

    def _hash_files(self, paths: Sequence[str]) -> dict[str, str]:
        if not paths:
            return {}
        out = self.text("hash-object", "-w", "--stdin-paths", input="\n".join(paths).encode())
        return dict(zip(paths, out.split()))

    def _tree_with(self, base: str, changes: Mapping[str, str | None]) -> str:
        """The tree `base` with the files in `changes` set to blobs (None: removed), folders made as needed."""
        folders = {""} | {parent for path in changes for parent in _parents(path)}
        entries = self._read_trees(base, sorted(folders))
        for path, blob in changes.items():
            folder, _, name = path.rpartition("/")
            if blob is None:
                entries[folder].pop(name, None)
            else:
                entries[folder][name] = ("100644", "blob", blob)
        for folder in sorted(folders - {""}, key=lambda f: -f.count("/")):
            parent, _, name = folder.rpartition("/")
            if entries[folder]:
                entries[parent][name] = ("040000", "tree", self._mktree(entries[folder]))
            else:
                entries[parent].pop(name, None)
        return self._mktree(entries[""])

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

    def _read_trees(self, base: str, folders: Sequence[str]) -> dict[str, dict[str, tuple[str, str, str]]]:
        """Each folder's entries in `base` (a folder base lacks is empty), with one `git cat-file --batch`."""
        request = "".join(f"{base}:{folder}\n" if folder else f"{base}\n" for folder in folders)
        data = self.run("cat-file", "--batch", input=request.encode()).stdout
        out: dict[str, dict[str, tuple[str, str, str]]] = {}
        at = 0
        for folder in folders:
            end = data.index(b"\n", at)
            header = data[at:end].decode().split()
            at = end + 1
            if header[-1] == "missing":
                out[folder] = {}
                continue
            if header[1] != "tree":
                raise GitError(f"{folder} is a {header[1]} in HEAD, not a folder; move it out of rollgen's way")
            size = int(header[2])
            out[folder] = _parse_tree(data[at : at + size], len(base) // 2)
            at += size + 1
        return out

    def _mktree(self, entries: Mapping[str, tuple[str, str, str]]) -> str:
        body = "".join(f"{mode} {kind} {sha}\t{name}\0" for name, (mode, kind, sha) in sorted(entries.items()))
        return self.text("mktree", "-z", input=body.encode()).strip()

    def _head_and_tree(self) -> tuple[str, str] | None:
        out = self.run("rev-parse", "HEAD^{commit}", "HEAD^{tree}", check=False)
        lines = out.stdout.decode().split()
        return (lines[0], lines[1]) if out.returncode == 0 and len(lines) == 2 else None

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
        out = self.run("fetch", "-q", "--no-tags", remote, f"+refs/heads/{branch}:{ref}", check=False,
                       env=_NO_PROMPT)
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
        out = self.run("rebase", "-q", upstream, check=False)
        if out.returncode != 0:
            self.run("rebase", "--abort", check=False)
            raise GitError(
                f"the local branch and the remote have diverged and rebasing failed: {_stderr(out)}; "
                "reconcile them by hand (git pull --rebase), then run rollgen again"
            )

    def push(self, remote: str, branch: str) -> PushOutcome:
        """Push HEAD to the remote branch, never forced. "rejected" means the remote moved on."""
        out = self.run("push", "--porcelain", remote, f"HEAD:refs/heads/{branch}", check=False, env=_NO_PROMPT)
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

    def remove_stale_locks(self, remote: str, branch: str) -> list[Path]:
        """The lock files that a git killed mid-command left behind (rollgen's process group killed, say): git
        refuses to run while one exists. One is stale when no process holds it open and it has existed for a
        second (git holds its lock files open until it renames or deletes them). Call with self.lock() held, so
        that no git of another rollgen is starting. Linux only (/proc says who holds what); elsewhere git's own
        message asks to remove the file."""
        git_dir, refs = self.rollgen_dir.parent, self.common_dir / "refs"
        candidates = (
            git_dir / "index.lock", git_dir / "HEAD.lock", git_dir / "ORIG_HEAD.lock",
            self.common_dir / "packed-refs.lock", refs / "heads" / f"{branch}.lock",
            refs / "remotes" / remote / f"{branch}.lock",
        )  # fmt: skip
        present = [path for path in candidates if path.exists()]
        if not present or not os.path.isdir("/proc/self/fd"):
            return []
        removed = []
        for path in present:
            if _stale(path):
                path.unlink(missing_ok=True)
                removed.append(path)
        return removed

    def journal(self, release: str) -> Journal:
        return Journal(self.rollgen_dir / f"pending-{release}.json")


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
            actual: str | None = _digest((root / rel).read_bytes())
        except FileNotFoundError:
            actual = None
        return actual == expected


# -- helpers ------------------------------------------------------------------------------------------------

_NO_PROMPT = {"GIT_TERMINAL_PROMPT": "0"}


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
        raise GitError("git is not installed (rollgen needs the git command line)") from exc
    # What git writes for people ends up in rollgen's messages, exceptions and crash log: never with the
    # credentials of a remote URL, whichever git version, transport or server printed them.
    out.stderr = redact(out.stderr)
    if check and out.returncode != 0:
        raise GitError(f"git {args[0]} failed: {_stderr(out)}")
    return out


_USERINFO = re.compile(rb"\b([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s'\"]+@")


# `ghp_xxx@github.com:org/repo` (a token as the scp-like login) and `?token=xxx` / `&private_token=xxx`
_SCP_TOKEN = re.compile(rb"(?<![A-Za-z0-9_.:/-])(?:gh[pousr]_|github_pat_|glpat-)[A-Za-z0-9_-]+@")
_QUERY_TOKEN = re.compile(rb"([?&;][A-Za-z_]*(?:token|password|secret|key)=)[^&;#\s'\"]+", re.IGNORECASE)


def redact(text: bytes) -> bytes:
    """`scheme://user:token@host` -> `scheme://***@host`; a token as an scp-like login or in a query -> ***."""
    if b"@" in text:
        text = _SCP_TOKEN.sub(b"***@", _USERINFO.sub(rb"\1***@", text))
    return _QUERY_TOKEN.sub(rb"\1***", text) if b"=" in text else text


def _stale(path: Path) -> bool:
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return False
    if age < 1.0:
        time.sleep(1.0 - age)
        if not path.exists():
            return False
    return not _held_open(path)


def _held_open(path: Path) -> bool:
    """Whether any process we can see holds `path` open (another user's processes cannot write our repo)."""
    target = os.fsencode(path)
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}".encode()) == target:
                    return True
            except OSError:
                continue
    return False


def _stderr(out: subprocess.CompletedProcess[bytes]) -> str:
    return out.stderr.decode(errors="replace").strip()


def _parents(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


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
    return hashlib.sha256(data).hexdigest()


def _log_entry(record: str) -> LogEntry:
    commit, date, author, subject, message = record.strip("\n").split("\x1f", 4)
    return LogEntry(commit, date, author, subject, message)
