"""Shared fixtures: an isolated HOME and git identity, real tools or an honest skip (never under CI)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.factories import ConfigRepo

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
# The upstream CRDs the manifests are validated against are not part of this repository: they come from
# $ROLLGEN_SHARED/crds, or from a `shared/` folder beside the checkout (see README.md, "Tests").
SHARED = Path(os.environ.get("ROLLGEN_SHARED", ROOT.parent / "shared"))
CRDS = SHARED / "crds"
CRDS_MISSING = (
    "upstream CRDs not found: set ROLLGEN_SHARED to a folder holding crds/, "
    "or put shared/ beside the checkout (README.md, Tests)"
)
# Tools installed with `.[test]` (pre-commit, check-jsonschema) sit beside the interpreter running the tests,
# which is on PATH only when the virtualenv is activated.
_VENV_BIN = str(Path(sys.executable).parent)


# A loopback port that refuses connections, for "the server is unreachable" tests: bound (so nothing else on
# the machine can take it) but never listening, for as long as the test process runs. A fixed port such as 9
# may well be open somewhere.
_REFUSING = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
_REFUSING.bind(("127.0.0.1", 0))
REFUSED_PORT: int = _REFUSING.getsockname()[1]



def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", default=False,
                     help="also run the tests marked slow (as CI does; so does an explicit -m)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The quick loop: without --slow or an explicit -m, the tests marked slow are deselected (not skipped, so
    that -ra lists only what is really missing). A test file or test named on the command line runs whole.
    Everything under tests/hardening/ counts as slow: adversarial inputs, crashes and faults, the brake under every
    failure (about a third of the quick loop's time); `-m slow` selects it too."""
    hardening = Path(__file__).resolve().parent / "hardening"
    for item in items:
        if item.path.is_relative_to(hardening):
            item.add_marker(pytest.mark.slow)
    named = any(arg.partition("::")[0].endswith(".py") for arg in config.args)
    if config.getoption("--slow") or config.option.markexpr or named:
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]

def require_tool(name: str) -> str:
    """The tool's path; skip when it is absent on a developer machine, fail under CI."""
    path = shutil.which(name) or shutil.which(name, path=_VENV_BIN)
    if path:
        return path
    if os.environ.get("CI"):
        pytest.fail(f"{name} is required under CI but is not installed (.ci/run must install it)")
    pytest.skip(f"{name} is not installed")


def require_path(path: Path) -> Path:
    if path.exists():
        return path
    if os.environ.get("CI"):
        pytest.fail(f"{path} is required under CI but is missing")
    pytest.skip(f"{path} is missing")


def require_crd(relative: str) -> Path:
    """An upstream CRD file under CRDS; every test that needs one skips with the same reason when they are absent."""
    path = CRDS / relative
    if path.is_file():
        return path
    if os.environ.get("CI"):
        pytest.fail(f"{path} is required under CI but is missing ({CRDS_MISSING})")
    pytest.skip(CRDS_MISSING)


@pytest.fixture
def loopback_without_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib sends loopback requests (to the tests' own servers) directly, whatever proxy the machine has."""
    from tests.promstack import no_proxy_for_loopback

    for key, value in no_proxy_for_loopback().items():
        monkeypatch.setenv(key, value)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may read or write the real $HOME or the user's git config."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Committer")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "committer@example.com")
    # pre-commit and pip caches stay where they are so the suite does not download twice
    for var in ("PRE_COMMIT_HOME",):
        if var not in os.environ:
            monkeypatch.setenv(var, str(session_cache(tmp_path_factory) / "pre-commit-cache"))


def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder shared by the whole test session, pytest-xdist workers included.

    Each xdist worker has its own base temp folder, a child of the session's; sharing the parent means one
    download for the session instead of one a worker. pre-commit and pip lock their caches themselves.
    """
    base = Path(tmp_path_factory.getbasetemp())
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def git_remote(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A bare remote and one clone of it with an initial commit on main: (remote, clone)."""
    remote = tmp_path / "remote.git"
    clone = tmp_path / "clone"
    git(tmp_path, "init", "--bare", "--initial-branch=main", str(remote))
    git(tmp_path, "clone", str(remote), str(clone))
    git(clone, "checkout", "-B", "main")
    (clone / "README.md").write_text("config repo\n")
    git(clone, "add", "README.md")
    git(clone, "commit", "-m", "initial")
    git(clone, "push", "origin", "main")
    yield remote, clone



@pytest.fixture
def config_repo(git_remote: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> ConfigRepo:
    """git_remote's clone made a config repo (factories.CONFIG committed as rollgen.yaml), driven through the CLI."""
    from tests.factories import make_config_repo

    return make_config_repo(git_remote[1], capsys)


@pytest.fixture
def repo(config_repo: ConfigRepo) -> ConfigRepo:
    """config_repo under the short name the lifecycle tests use (a module's own `repo` fixture overrides it)."""
    return config_repo

@contextmanager
def disk_full_at_replace(monkeypatch: pytest.MonkeyPatch, nth: int) -> Iterator[None]:
    """Inside: os.replace moves files as ever until its nth call, which raises OSError("disk full") (a crash
    part-way through moving files in). After: the real os.replace again."""
    real_replace, calls = os.replace, []

    def replace(src: str, dst: str) -> None:
        calls.append(dst)
        if len(calls) == nth:
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    try:
        yield
    finally:
        monkeypatch.setattr(os, "replace", real_replace)
