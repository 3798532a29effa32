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
