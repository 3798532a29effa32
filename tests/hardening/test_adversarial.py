"""Issue 11, items 8-18: what adversarial testing broke (hangs, crashes, leaks, forged records), each through the
real CLI on real git repositories. A server that misbehaves is a loopback stub on port 0: real Prometheus and
real git servers cannot be made to answer like that.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from generator import gitops
from generator.cli import main
from tests.conftest import ROOT, git
from tests.hardening.test_faults import SPEC
from tests.hardening.test_security import make_repo, run

# -- 8: every message builder is linear ----------------------------------------------------------------------

MIB = 1024 * 1024
# Under the 1 MiB a spec may be, with room for the rest of the document.
BIG = MIB - 4096
VALUES = {
    "image": lambda: "a" * BIG,
    "image-dots": lambda: "a." * (BIG // 2),
    "image-schemes": lambda: "a://" * (BIG // 4) + "@",
    "host-dashes": lambda: "a-" * (BIG // 2) + "@x",
}


def _rollgen(*args: str | Path, timeout: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    environ = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    result = subprocess.run([sys.executable, "-m", "generator", *map(str, args)], cwd=ROOT, env=environ,
                            capture_output=True, text=True, check=False, timeout=timeout)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


@pytest.mark.parametrize("case", sorted(VALUES))
def test_a_megabyte_invalid_value_is_reported_promptly(tmp_path: Path, case: str) -> None:
    """A 300 KB invalid image kept `validate` busy past a minute (a quadratic credentials pattern); at 1 MiB it
    would have been half an hour. The bound is generous: a linear run takes well under a second."""
    value = VALUES[case]()
    text = SPEC.replace("ghcr.io/kmaster8/hello:IMAGE", value if case.startswith("image") else "ghcr.io/a/b:v1")
    if case.startswith("host"):
        text = text.replace("hello.example.com", value)
    spec = tmp_path / "big.yaml"
    spec.write_text(text)
    assert len(spec.read_bytes()) < MIB
    result = _rollgen("validate", spec, timeout=120)
    assert result.returncode == 1
    assert "big.yaml:" in result.stdout + result.stderr
    assert len(result.stdout + result.stderr) < 4096  # the value is shown cut short, not echoed


def test_redacting_what_git_prints_is_linear() -> None:
    for text in (b"a." * (MIB // 2) + b"@", b"a://" * (MIB // 4) + b"@", b"x" * MIB + b"@"):
        assert gitops.redact(text) == text
    assert gitops.redact(b"fatal: 'https://user:tok@host/x' ") == b"fatal: 'https://***@host/x' "


# -- 9: --now is exactly RFC 3339, in a sane range, not before the step began ----------------------------------


def _head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def _set_image(repo: Path, image: str) -> None:
    (repo / "releases" / "hello.yaml").write_text(SPEC.replace("IMAGE", image))
    git(repo, "commit", "-qam", f"spec {image}")


@pytest.mark.parametrize(
    "now",
    ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00+01:00", "2026-05-04", "2024-05-01T12:00:00",
     "2024-05-01 12:00:00Z", "2024-05-01T12:00:00+24:00", "１９９９-01-01T00:00:00Z", "2024-02-30T00:00:00Z"],
)
def test_now_outside_rfc3339_or_the_sane_range_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, now: str
) -> None:
    repo = make_repo(tmp_path / "repo")
    before = _head(repo)
    code, out = run(capsys, "release", repo / "releases" / "hello.yaml", "--repo", repo, "--now", now)
    assert code == 2, out
    assert out.startswith("rollgen: --now: ") and out.count("\n") == 1
    assert _head(repo) == before


def test_now_with_an_offset_and_a_fraction_is_accepted(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    code, out = run(capsys, "release", repo / "releases" / "hello.yaml", "--repo", repo,
                    "--now", "2024-05-01T14:00:00.250+02:00")
    assert code == 0, out
    state = (repo / "apps/hello/overlays/dev/rollgen-state.yaml").read_text()
    assert "since: '2024-05-01T12:00:00Z'" in state or "since: 2024-05-01T12:00:00Z" in state


def test_now_before_the_current_step_began_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    spec = repo / "releases" / "hello.yaml"
    assert run(capsys, "release", spec, "--repo", repo, "--env", "dev", "--now", "2024-05-01T00:00:00Z")[0] == 0
    _set_image(repo, "v2")
    assert run(capsys, "release", spec, "--repo", repo, "--env", "dev", "--now", "2024-05-01T01:00:00Z")[0] == 0
    before = _head(repo)
    code, out = run(capsys, "advance", "hello", "--repo", repo, "--env", "dev", "--now", "2024-05-01T00:30:00Z")
    assert code == 1
    assert "before the current step began (2024-05-01T01:00:00Z)" in out
    assert _head(repo) == before
    assert run(capsys, "advance", "hello", "--repo", repo, "--env", "dev", "--now", "2024-05-01T02:00:00Z")[0] == 0
    assert _head(repo) != before
