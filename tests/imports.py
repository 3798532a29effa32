"""What a command imports beyond what the interpreter starts with, for the tests that hold an import set.

Each such test runs a command in a fresh interpreter and looks at sys.modules. A site's `.pth` file or
sitecustomize (coverage, a debugger, a distribution's patches) may import a module the command must not load,
before any of rollgen runs: counting it would blame rollgen and fail the test on that machine only. So only the
modules beyond a baseline count: those of `python -c pass`, run by the same interpreter in the same environment
and folder (tests/test_import_baseline.py shows a `.pth` cannot break the tests).
"""

from __future__ import annotations

import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

from tests.conftest import ROOT

_MARK = "@@rollgen-sys-modules@@"
_LISTING = f"\nimport sys as _sys\nprint({_MARK!r})\nprint('\\n'.join(_sys.modules))\n"


def child_env() -> dict[str, str]:
    """os.environ with the checkout first on PYTHONPATH; what PYTHONPATH held stays after it (a site hook too)."""
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), path] if path else [str(ROOT)])}


def imported(script: str, *args: str, cwd: Path = ROOT) -> tuple[str, set[str]]:
    """Run `script` (with `args` as sys.argv[1:]) in a fresh interpreter: what it printed, and the modules it left
    loaded that `python -c pass` in the same interpreter, environment and folder does not load."""
    env = child_env()
    done = subprocess.run([sys.executable, "-c", script + _LISTING, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    out, _, modules = done.stdout.rpartition(f"{_MARK}\n")
    return out, set(modules.split()) - _baseline(str(cwd), tuple(sorted(env.items())))


@lru_cache(maxsize=None)
def _baseline(cwd: str, env: tuple[tuple[str, str], ...]) -> frozenset[str]:
    done = subprocess.run([sys.executable, "-c", "pass" + _LISTING], cwd=cwd, env=dict(env), capture_output=True,
                          text=True, check=True)
    return frozenset(done.stdout.rpartition(f"{_MARK}\n")[2].split())
