"""`ruff check` as CI runs it (.ci/run): pyproject.toml's one rule, that generator/yaml_import.py is the only module of
the package that imports yaml (the others take yaml from it, with its patterns compiled on first use)."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import ROOT, require_tool


def _ruff(*args: str, source: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([require_tool("ruff"), "check", "--no-cache", *args], cwd=ROOT, input=source,
                          capture_output=True, text=True, check=False)


def test_ruff_check_is_clean() -> None:
    done = _ruff()
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("line", ["import yaml", "import yaml.reader", "from yaml import safe_load",
                                  "from yaml.nodes import Node", "def f():\n    import yaml"])
def test_yaml_imported_outside_yaml_import_is_refused(line: str) -> None:
    refused = _ruff("--stdin-filename", "generator/spec/new_module.py", "-", source=line + "\n")
    assert refused.returncode == 1 and "TID251" in refused.stdout, refused.stdout + refused.stderr
    assert "generator.yaml_import" in refused.stdout  # the message says what to do instead
    allowed = _ruff("--stdin-filename", "generator/yaml_import.py", "-", source=line + "\n")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    through = _ruff("--stdin-filename", "generator/spec/new_module.py", "-",
                    source="from generator.yaml_import import yaml\n")
    assert through.returncode == 0, through.stdout + through.stderr
