"""The wheel works on its own: built from the checkout, installed into a fresh venv outside it, it finds the
schemas and profiles it carries in generator/_data and validates a spec.

Slow (a build and an install, about 30 s): marked so, the quick loop leaves it out (README.md, Tests).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import session_cache

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "hello-rollouts-canary.yaml"


def run(cmd: list[str | Path], cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    done = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{' '.join(map(str, cmd))}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


def isolated_env() -> dict[str, str]:
    # Nothing that could make the checkout importable: the venv must stand on its own.
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a venv holding only the wheel and its dependencies."""
    if not ROOT.joinpath("pyproject.toml").is_file():
        pytest.skip("not a checkout")
    work = tmp_path_factory.mktemp("packaging")
    env = isolated_env()
    # HOME is a per-test folder (conftest): share one pip cache across the session instead of none
    env.setdefault("PIP_CACHE_DIR", str(session_cache(tmp_path_factory) / "pip-cache"))
    # pip builds through the pyproject build backend in an isolated environment, like `python -m build`
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", work / "dist", ROOT], work, env)
    [wheel] = (work / "dist").glob("rollgen-*.whl")
    venv = work / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], work, env)
    python = venv / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", python, "install", wheel], work, env)
    return venv / "bin"


def test_wheel_carries_the_data_files(installed: Path, tmp_path: Path) -> None:
    code = (
        "import generator.resources as r\n"
        "print(r.schema_path('release.schema.json'))\n"
        "print(r.profiles_dir())\n"
    )
    schema, profiles = run([installed / "python", "-c", code], tmp_path, isolated_env()).split()
    assert "_data" in schema and Path(schema).is_file()
    assert not Path(schema).is_relative_to(ROOT)
    assert {p.name for p in Path(profiles).glob("*.yaml")} >= {"dev.yaml", "staging.yaml", "prod.yaml"}


def test_installed_rollgen_validates_a_spec(installed: Path, tmp_path: Path) -> None:
    spec = tmp_path / "hello.yaml"
    shutil.copy(EXAMPLE, spec)
    out = run([installed / "rollgen", "validate", spec], tmp_path, isolated_env())
    assert out == "1 file, 0 problems\n"


def test_installed_rollgen_reports_problems(installed: Path, tmp_path: Path) -> None:
    spec = tmp_path / "hello.yaml"
    spec.write_text(EXAMPLE.read_text().replace("profile: staging,", "profile: stagin,"))
    done = subprocess.run(
        [installed / "rollgen", "validate", "hello.yaml"],
        cwd=tmp_path, env=isolated_env(), capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("hello.yaml:40:")
    assert "did you mean 'staging'?" in done.stdout


def test_python_dash_m_version(installed: Path, tmp_path: Path) -> None:
    from generator import __version__

    out = run([installed / "python", "-m", "generator", "--version"], tmp_path, isolated_env())
    assert out.strip() == f"rollgen {__version__}"


def test_the_wheel_carries_the_version_rollgen_reports(installed: Path, tmp_path: Path) -> None:
    """pyproject reads the version from generator/__init__.py: the wheel's metadata, `rollgen --version` and the
    package agree."""
    from generator import __version__

    carried = run([installed / "python", "-c", "import importlib.metadata as m; print(m.version('rollgen'))"],
                  tmp_path, isolated_env())
    assert carried.strip() == __version__
    assert run([installed / "rollgen", "--version"], tmp_path, isolated_env()).strip() == f"rollgen {__version__}"
