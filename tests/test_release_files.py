"""The install story holds: one version (the package's, read by pyproject), the changelog names it, every place
that installs rollgen names something that exists (the git URL at a tag, or a wheel), and the workflows, the
repository's and the one `rollgen init` writes, pass actionlint."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from generator import REPO_URL, __version__, pinned_requirement
from generator.cli import main
from tests.conftest import ROOT, require_tool

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


def pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_version_has_one_source() -> None:
    data = pyproject()
    project = data["project"]
    assert isinstance(project, dict)
    assert "version" not in project and project["dynamic"] == ["version"]
    assert data["tool"]["hatch"]["version"] == {"path": "generator/__init__.py"}  # type: ignore[index]
    assert project["urls"]["Repository"] == REPO_URL


def test_the_changelog_has_this_version() -> None:
    headings = re.findall(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(), flags=re.M)
    assert headings[0] == __version__, "CHANGELOG.md: the newest entry must be the package's version"


# pip install lines anywhere a user copies from: rollgen from its git URL at a tag, or a wheel file, never by a
# bare name (no package index has it yet).
INSTALLS = re.compile(r"pip install\s+(?:-\S+\s+)*[\"']?rollgen\b[^\n]*")


def _user_facing_texts() -> list[Path]:
    texts = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), *sorted((ROOT / "generator" / "init_templates").rglob("*.yaml"))]
    return [path for path in texts if path.is_file() and "reference" not in path.parts]


def test_no_install_names_an_index_package() -> None:
    wrong = []
    for path in _user_facing_texts():
        for found in INSTALLS.finditer(path.read_text()):
            line = found.group(0)
            if "git+" not in line and ".whl" not in line:
                wrong.append(f"{path.relative_to(ROOT)}: {line}")
    assert not wrong, "install rollgen from its git URL at a tag (pinned_requirement) or a wheel:\n" + "\n".join(wrong)


def test_documented_installs_pin_this_version() -> None:
    pins = set()
    for path in _user_facing_texts():
        pins.update(re.findall(r"git\+https://[^\s\"'@]+@v[0-9][^\s\"']*", path.read_text()))
    assert pins <= {pinned_requirement().split(" @ ")[1]}, pins


def _actionlint(files: list[Path], cwd: Path) -> None:
    tool = require_tool("actionlint")
    done = subprocess.run([tool, "-no-color", *map(str, files)], cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_repositorys_workflows_pass_actionlint() -> None:
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
    assert {"release.yml", "image.yaml"} <= {w.name for w in workflows}
    _actionlint(workflows, ROOT)


def test_inits_workflow_passes_actionlint_and_installs_the_pinned_rollgen(tmp_path: Path) -> None:
    repo = tmp_path / "config"
    assert main(["init", str(repo)]) == 0
    workflow = repo / ".github" / "workflows" / "rollgen-advance.yaml"
    _actionlint([workflow], repo)
    job = yaml.safe_load(workflow.read_text())["jobs"]["advance"]
    assert job["env"]["ROLLGEN_PACKAGE"] == f"rollgen @ git+{REPO_URL}@v{__version__}"
    assert any(step.get("run") == 'pip install "$ROLLGEN_PACKAGE"' for step in job["steps"])


def test_the_release_workflow_publishes_with_trusted_publishing() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    assert workflow[True] == {"push": {"tags": ["v*"]}}  # `on:` is YAML 1.1's True for PyYAML
    assert workflow["permissions"] == {"contents": "read"}
    pypi = workflow["jobs"]["pypi"]
    assert pypi["permissions"] == {"id-token": "write"} and pypi["needs"] == "build"
    assert [step["uses"] for step in pypi["steps"]][-1] == "pypa/gh-action-pypi-publish@release/v1"
    assert not any("password" in step.get("with", {}) for step in pypi["steps"])  # no token: trusted publishing
    build = "\n".join(step.get("run", "") for step in workflow["jobs"]["build"]["steps"])
    assert "python -m build" in build and "generator.__version__" in build


def test_the_documented_github_workflows_pass_actionlint(tmp_path: Path) -> None:
    """Every complete workflow a guide shows (a ```yaml block with `on:` and `jobs:`) is what actionlint accepts."""
    blocks = []
    for page in sorted((ROOT / "docs").glob("*.md")):
        for block in re.findall(r"```yaml\n(.*?)```", page.read_text(), flags=re.S):
            if re.search(r"^on:", block, flags=re.M) and re.search(r"^jobs:", block, flags=re.M):
                blocks.append(block)
    assert blocks, "docs/ci.md shows a GitHub Actions workflow"
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    files = []
    for number, block in enumerate(blocks):
        files.append(folder / f"documented-{number}.yaml")
        files[-1].write_text(block)
    _actionlint(files, tmp_path)


def test_the_documented_gitlab_pipeline_passes_gitlabs_schema(tmp_path: Path) -> None:
    """The GitLab CI recipe (a ```yaml block with `script:` lists and no `jobs:`) against GitLab's own schema, as
    check-jsonschema vendors it (no network)."""
    tool = require_tool("check-jsonschema")
    text = (ROOT / "docs" / "ci.md").read_text()
    [pipeline] = [b for b in re.findall(r"```yaml\n(.*?)```", text, flags=re.S) if "script:" in b and "jobs:" not in b]
    path = tmp_path / ".gitlab-ci.yml"
    path.write_text(pipeline)
    done = subprocess.run([tool, "--builtin-schema", "vendor.gitlab-ci", str(path)], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert pipeline.count(pinned_requirement()) == 2  # both jobs install the pinned rollgen
