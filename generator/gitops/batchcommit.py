"""Many commits on HEAD with one `git fast-import`: what `rollgen advance --all` needs to tick a hundred
environments without a dozen git processes for each (bench/advance --in-flight).

The commits are the ones Repo.commit's plumbing would make one by one: each names its own paths (their bytes
as rollgen wrote them, or deleted), on top of the previous one, mode 100644, the explicit author or git's own
identity. fast-import writes them to a private ref; HEAD then moves with `git update-ref` against the commit we
started from (so a HEAD that moved meanwhile is an error, never overwritten), and the index entries of the
paths are refreshed, as Repo.commit does. A crash before the update-ref leaves HEAD as it was (the caller's
journals let the next run put the written files back); after it, the repository is fully updated.
Only used when no commit hook would run and no signature is wanted (plumbing.plumbing_allowed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from generator.spec.config import Author
from generator.gitops import plumbing
from generator.gitops.repo import GitError, Repo

_REF = "refs/rollgen/batch"


@dataclass(frozen=True)
class Change:
    message: str
    files: Mapping[str, bytes | None]  # repo-relative path -> new bytes (None: deleted)


def usable(repo: Repo) -> bool:
    return repo.head() is not None and plumbing.plumbing_allowed(repo, repo.hooks_dir)


def commit_all(repo: Repo, changes: Sequence[Change], author: Author | None) -> list[str]:
    """Commit each change on HEAD in order; return the new commits, oldest first."""
    if not changes:
        return []
    head = repo.head()
    if head is None:
        raise GitError("cannot batch commits on a branch without a commit")
    who = _identity(repo, author)
    stream = _stream(head, changes, who)
    repo.run("update-ref", "-d", _REF, check=False)
    out = repo.run("fast-import", "--quiet", "--date-format=now", input=stream, check=False)
    if out.returncode != 0:
        raise GitError(f"git fast-import failed: {out.stderr.decode(errors='replace').strip()[-2000:]}")
    commits = repo.text("rev-list", "--reverse", f"{head}..{_REF}").split()
    if len(commits) != len(changes):
        raise GitError(f"git fast-import made {len(commits)} commits instead of {len(changes)}")
    subject = changes[-1].message.split("\n", 1)[0]
    repo.run("update-ref", "-m", f"commit: {subject} (and {len(changes) - 1} more)", "HEAD", commits[-1], head)
    repo.run("update-ref", "-d", _REF, check=False)
    paths = sorted({path for change in changes for path in change.files})
    repo.run("update-index", "--add", "--remove", "-z", "--stdin", input=b"".join(p.encode() + b"\0" for p in paths))
    return commits


def _identity(repo: Repo, author: Author | None) -> str:
    """`Name <email>` for fast-import's author and committer lines (the time is `now`)."""
    if author is not None:
        return f"{author.name} <{author.email}>"
    out = repo.run("var", "GIT_COMMITTER_IDENT", check=False)
    ident = out.stdout.decode(errors="replace").strip()
    if out.returncode != 0 or ">" not in ident:
        raise GitError("git has no identity to commit with: set commit.author in rollgen.yaml, or git config user.name/email")
    return ident[: ident.rindex(">") + 1]


def _stream(head: str, changes: Sequence[Change], who: str) -> bytes:
    out = bytearray()
    for index, change in enumerate(changes):
        message = change.message.encode()
        out += f"commit {_REF}\nauthor {who} now\ncommitter {who} now\n".encode()
        out += b"data %d\n%s\n" % (len(message), message)
        if index == 0:
            out += f"from {head}\n".encode()
        for path, body in sorted(change.files.items()):
            quoted = _path(path)
            if body is None:
                out += b"D %s\n" % quoted
            else:
                out += b"M 100644 inline %s\ndata %d\n%s\n" % (quoted, len(body), body)
        out += b"\n"
    out += b"done\n"
    return bytes(out)


def _path(path: str) -> bytes:
    """A path as fast-import reads it: C-style quoted when it holds a quote, a backslash or a line break."""
    if any(c in path for c in '"\\\n') or path.startswith('"'):
        escaped = path.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'.encode()
    return path.encode()
