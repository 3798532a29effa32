"""Running git: the git command line in a clean environment, an explicit author, and what git printed with its
credentials left out (generator/redaction.py). The other git modules start git only through here.

Why the git CLI rather than GitPython: GitPython runs the same git commands in a subprocess, and importing it
costs ~70 ms, which alone would be most of the budget of a scheduled `rollgen advance` (bench/advance).

Environment: variables that point git somewhere else (GIT_DIR, GIT_WORK_TREE, GIT_INDEX_FILE, ... set when
rollgen runs inside a git hook) are dropped, as pre-commit's `no_git_env` does; identity, transport and
config-injection variables pass. Network commands never prompt (GIT_TERMINAL_PROMPT=0) and are bounded in time.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from generator.errors import RollgenError
from generator.redaction import credentials_bytes

if TYPE_CHECKING:
    from generator.spec.config import Author

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


def redact_output(text: bytes) -> bytes:
    """What git printed, without credentials (generator/redaction.py)."""
    return credentials_bytes(text)


def stderr_text(out: subprocess.CompletedProcess[bytes]) -> str:
    """What a finished git said on stderr (already redacted), as text."""
    return out.stderr.decode(errors="replace").strip()


class Git:
    """git run in one working tree, with one environment: `root` is its folder, `env` what git sees (clean_env,
    plus what a caller adds for every command, such as fixed dates in a test)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = clean_env()

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        check: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        merged = {**self.env, **env} if env else self.env
        return run_git(self.root, list(args), merged, input=input, check=check)

    def text(self, *args: str, input: bytes | None = None) -> str:
        return self.run(*args, input=input).stdout.decode("utf-8", "replace")

    def spawn(self, args: list[str], **options: Any) -> subprocess.Popen[bytes]:
        """git started here, its output and messages piped back to rollgen."""
        return spawn(args, self.root, self.env, **options)


def run_git(
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
    out.stderr = redact_output(out.stderr)
    if check and out.returncode != 0:
        raise GitError(f"git {args[0]} failed: {stderr_text(out)}")
    return out


_NO_GIT = "git is not installed (rollgen needs the git command line)"


def spawn(args: list[str], cwd: Path, env: Mapping[str, str], **options: Any) -> subprocess.Popen[bytes]:
    """git started, its output and messages piped back to rollgen."""
    try:
        return subprocess.Popen(["git", *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                **options)
    except FileNotFoundError as exc:
        raise GitError(_NO_GIT) from exc


_S = TypeVar("_S", bound="Started")


class Started:
    """A git command started now and read later, so that it runs while rollgen does other work. Left before its
    result() is read (an exception on the way), it is waited for, never killed: a git killed while it holds
    index.lock leaves the lock behind."""

    def __init__(self, git: Git, args: list[str]) -> None:
        self._args = args
        self._proc = git.spawn(args, stdin=subprocess.DEVNULL)
        self._out: subprocess.CompletedProcess[bytes] | None = None

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.result(check=False)

    def result(self, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        """What Git.run would have returned (a GitError when the command failed and `check`)."""
        if self._out is None:
            stdout, stderr = self._proc.communicate()
            self._out = subprocess.CompletedProcess(
                ["git", *self._args], self._proc.returncode, stdout, redact_output(stderr)
            )
        if check and self._out.returncode != 0:
            raise GitError(f"git {self._args[0]} failed: {stderr_text(self._out)}")
        return self._out


# -- the explicit author ------------------------------------------------------------------------------------


def identity_env(author: Author | None) -> dict[str, str] | None:
    """The environment that makes `author` both author and committer (None: git's own configuration)."""
    if author is None:
        return None
    return {
        "GIT_AUTHOR_NAME": author.name,
        "GIT_AUTHOR_EMAIL": author.email,
        "GIT_COMMITTER_NAME": author.name,
        "GIT_COMMITTER_EMAIL": author.email,
    }


def commit_failure(out: subprocess.CompletedProcess[bytes]) -> str:
    """Why a commit failed, saying what to do when git lacked an identity."""
    err = stderr_text(out) or out.stdout.decode(errors="replace").strip()
    if "tell me who you are" in err or "empty ident" in err:
        return "git has no identity to commit with: set commit.author in rollgen.yaml, or git config user.name/email"
    return f"git commit failed: {err}"


# -- talking to the remote: bounded, never prompting --------------------------------------------------------

NO_PROMPT = {"GIT_TERMINAL_PROMPT": "0"}
NETWORK_TIMEOUT = 300.0  # seconds for one fetch or push, all of it


def network_timeout() -> float:
    """NETWORK_TIMEOUT, or ROLLGEN_GIT_TIMEOUT (seconds) when it is a positive number."""
    try:
        value = float(os.environ.get("ROLLGEN_GIT_TIMEOUT", ""))
    except ValueError:
        return NETWORK_TIMEOUT
    return value if 0 < value < float("inf") else NETWORK_TIMEOUT


def network_config(seconds: float) -> list[str]:
    """HTTP transfers slower than 1 KB/s for 30 s (or the whole deadline, if shorter) are abandoned by git."""
    stall = max(1, min(30, int(seconds)))
    return ["-c", "http.lowSpeedLimit=1000", "-c", f"http.lowSpeedTime={stall}"]


def run_git_bounded(
    cwd: Path, args: list[str], env: Mapping[str, str], seconds: float
) -> subprocess.CompletedProcess[bytes]:
    """git in its own process group, killed with its helpers (git-remote-https, ssh) after `seconds`."""
    import signal

    proc = spawn(args, cwd, env, stdin=subprocess.DEVNULL, start_new_session=True)
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
    return subprocess.CompletedProcess(["git", *args], proc.returncode, stdout, redact_output(stderr))
