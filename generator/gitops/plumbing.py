"""git's plumbing for a commit without `git commit`: blobs (hash-object), trees (mktree), the commit
(commit-tree) and HEAD moved to it (update-ref), and objects read back (cat-file).

`git commit` refreshes the whole index, which in a 40,000-file config repo is most of the cost of a step
(bench/advance); these make the very same commit from HEAD's trees and the paths' new bytes. Repo.commit decides
when they may (no hook would run, no signature is wanted: `usable`).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from generator.gitops.process import Git, GitError, commit_failure, identity_env, redact_output

if TYPE_CHECKING:
    from generator.spec.config import Author

Entries = dict[str, tuple[str, str, str]]  # a tree's entries: name -> (mode as ls-tree prints it, type, object id)

_Batch = TypeVar("_Batch", bound="BatchGit")


def plumbing_allowed(git: Git, hooks_dir: Path) -> bool:
    """No hook would run and no signature is wanted: plumbing makes the very commit `git commit` would."""
    hooks = ("pre-commit", "prepare-commit-msg", "commit-msg", "post-commit", "reference-transaction")
    if any(os.access(hooks_dir / name, os.X_OK) for name in hooks):
        return False
    out = git.run("config", "--type=bool", "--get", "commit.gpgSign", check=False)
    return out.stdout.decode().strip() != "true"


def hash_files(git: Git, paths: Sequence[str]) -> dict[str, str]:
    """The blob of each file (written to the object store), by path."""
    if not paths:
        return {}
    out = git.text("hash-object", "-w", "--stdin-paths", input="\n".join(paths).encode())
    return dict(zip(paths, out.split()))


def tree_with(git: Git, read: ObjectReader, base: str, changes: Mapping[str, str | None]) -> str:
    """The tree `base` with the files in `changes` set to blobs (None: removed), folders made as needed."""
    folders = {""} | {parent for path in changes for parent in _parents(path)}
    entries = _read_trees(read, base, sorted(folders))
    for path, blob in changes.items():
        folder, _, name = path.rpartition("/")
        if blob is None:
            entries[folder].pop(name, None)
        else:
            entries[folder][name] = ("100644", "blob", blob)
    with TreeMaker(git) as mktree:  # one git process for every folder on the way, not one each
        for folder in sorted(folders - {""}, key=lambda f: -f.count("/")):
            parent, _, name = folder.rpartition("/")
            if entries[folder]:
                entries[parent][name] = ("040000", "tree", mktree(entries[folder]))
            else:
                entries[parent].pop(name, None)
        return mktree(entries[""])


def commit_tree(git: Git, tree: str, parent: str, message: str, author: Author | None) -> str:
    """A commit of `tree` on `parent`, and HEAD moved to it from `parent` (refused if HEAD moved meanwhile)."""
    made = git.run("commit-tree", tree, "-p", parent, "-F", "-", input=message.encode(),
                   env=identity_env(author), check=False)
    if made.returncode != 0:
        raise GitError(commit_failure(made))
    new = made.stdout.decode().strip()
    subject = message.split("\n", 1)[0][:200]  # an argument: the kernel refuses one over 128 KiB
    git.run("update-ref", "-m", f"commit: {subject}", "HEAD", new, parent)
    return new


def tree_of_commit(body: bytes) -> str:
    """The tree a commit object names (its first line: `tree <id>`)."""
    first = body.split(b"\n", 1)[0].split()
    if len(first) != 2 or first[0] != b"tree":
        raise GitError("HEAD's commit names no tree; check the repository with `git fsck`")
    return first[1].decode()


def read_blobs(git: Git, specs: Sequence[str]) -> list[bytes | None]:
    """The contents of `<commit>:<path>` for each spec (None where missing), with one `git cat-file --batch`."""
    data = git.run("cat-file", "--batch", input="".join(f"{spec}\n" for spec in specs).encode()).stdout
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


class BatchGit:
    """One git process fed request after request on its stdin (`--batch`), each answer read before the next is
    written; the command, its failure message and the process's end are the same for every kind."""

    COMMAND: tuple[str, ...] = ()

    def __init__(self, git: Git) -> None:
        self._git = git
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self: _Batch) -> _Batch:
        self._proc = self._git.spawn(list(self.COMMAND), stdin=subprocess.PIPE)
        return self

    def _failed(self) -> GitError:
        return GitError(f"git {self.COMMAND[0]} failed: {self._finish()}")

    def _finish(self) -> str:
        proc = self._proc
        assert proc is not None
        self._proc = None
        _, err = proc.communicate()
        return redact_output(err).decode(errors="replace").strip()[-2000:]

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            proc = self._proc
            message = self._finish()
            if proc.returncode != 0 and exc[0] is None:
                raise GitError(f"git {self.COMMAND[0]} failed: {message}")


class TreeMaker(BatchGit):
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


class ObjectReader(BatchGit):
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


def _parents(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _read_trees(read: ObjectReader, base: str, folders: Sequence[str]) -> dict[str, Entries]:
    """Each folder's entries in tree `base` (a folder base lacks is empty)."""
    out: dict[str, Entries] = {}
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


def _parse_tree(raw: bytes, hash_len: int) -> Entries:
    """A tree object's entries: name -> (mode as ls-tree prints it, type, object id)."""
    entries: Entries = {}
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
