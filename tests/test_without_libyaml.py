"""rollgen works on a PyYAML built without LibYAML (spec/composer.py and emit.py fall back to the pure-Python classes).

The loader and emitter tests run again in a child interpreter where `yaml._yaml` (LibYAML's binding) cannot be
imported, as on a PyYAML installed from source without the C library: same results, same messages and positions.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

BLOCK_LIBYAML = "import sys\nsys.modules['yaml._yaml'] = None  # what `import yaml` sees without LibYAML\n"


@pytest.mark.slow
def test_loader_and_emitter_tests_pass_without_libyaml(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(BLOCK_LIBYAML)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    env.pop("PYTEST_XDIST_WORKER", None)
    check = subprocess.run([sys.executable, "-c", "import yaml; print(yaml.__with_libyaml__)"], env=env,
                           capture_output=True, text=True, check=True)
    assert check.stdout.strip() == "False"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "--basetemp", str(tmp_path / "run"), "tests/spec/test_loader.py", "tests/render/test_emit.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
