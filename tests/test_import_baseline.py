"""The import-set tests count only what a command imports beyond the interpreter's own start-up (tests/imports.py):
a site whose `.pth` file imports a module they forbid does not break them, and an import of the command's own
is still seen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests import test_records
from tests.commands import test_advance_imports, test_validate_cli
from tests.plan import test_gates
from tests.spec import test_schemacheck
from tests.render.engines import test_registry
from tests.conftest import ROOT
from tests.imports import child_env, imported

# The union of what the import-set tests forbid (standard modules and installed third-party packages)
FORBIDDEN = ("hashlib", "json", "argparse", "dataclasses", "inspect", "ast", "shutil", "tempfile", "random", "locale",
             "subprocess", "urllib.request", "jsonschema", "jinja2", "ruamel.yaml")


@pytest.fixture
def site_pth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A site folder whose `.pth` imports FORBIDDEN, processed at every start-up of the interpreter (a sitecustomize
    on PYTHONPATH adds it with site.addsitedir, as site does with site-packages)."""
    site_dir, hook = tmp_path / "site", tmp_path / "hook"
    site_dir.mkdir()
    hook.mkdir()
    (site_dir / "forbidden.pth").write_text(f"import {', '.join(FORBIDDEN)}\n")
    (hook / "sitecustomize.py").write_text(f"import site\nsite.addsitedir({str(site_dir)!r})\n")
    monkeypatch.setenv("PYTHONPATH", str(hook))
    return site_dir


def test_the_pth_loads_the_forbidden_modules_before_any_code_runs(site_pth: Path) -> None:
    # what the tests below would count, were the baseline not taken
    done = subprocess.run([sys.executable, "-c", "import sys; print(sorted(sys.modules))"], cwd=ROOT,
                          env=child_env(), capture_output=True, text=True, check=True)
    assert all(f"'{name}'" in done.stdout for name in FORBIDDEN), done.stdout


def test_only_modules_beyond_the_baseline_count(site_pth: Path) -> None:
    out, loaded = imported("import colorsys, hashlib\nprint('ran')")
    assert out == "ran\n"
    assert "colorsys" in loaded  # the script's own import counts
    assert not loaded & {*FORBIDDEN, "sitecustomize", "site"}  # what start-up loaded does not


@pytest.mark.slow
def test_the_import_set_tests_pass_with_the_pth(
    site_pth: Path, tmp_path: Path, git_remote: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    test_schemacheck.test_a_valid_spec_is_validated_without_importing_jsonschema()
    test_validate_cli.test_validate_imports_nothing_it_does_not_use()
    test_gates.test_validate_never_imports_the_client()
    test_records.test_the_validate_and_render_paths_do_not_import_dataclasses(tmp_path / "records")
    test_records.test_the_render_path_imports_yaml_with_deferred_patterns_and_check_writes_nothing_heavy(tmp_path)
    test_advance_imports.test_advance_imports_nothing_a_step_does_not_use(git_remote, capsys)
    test_advance_imports.test_hashlib_is_imported_only_by_what_hashes()
    test_registry.test_the_facts_module_imports_no_other_part_of_the_package()
