"""The shipped hooks (.pre-commit-hooks.yaml) through the real `pre-commit` tool, in a config repo made by
`rollgen init`: a bad spec blocks the commit with its FILE:LINE:COL message, stale generated files block it, a
good change passes.

pre-commit installs a hook repo by cloning it at a commit and `pip install`ing it into a fresh virtualenv, so the
hook repo here is a snapshot of this checkout's working tree (what is under test, committed or not) in a
temporary git repo. The first install downloads the build backend and dependencies (tens of seconds); it is
cached in PRE_COMMIT_HOME (conftest: one per test session) and PIP_CACHE_DIR, shared by every test here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from generator.cli import main
from tests.conftest import ROOT, git, require_tool, session_cache

pytestmark = pytest.mark.slow  # pre-commit installs the hook repo into a virtualenv

# What `pip install` of the hook repo needs: the build config, the package and the data it force-includes.
SNAPSHOT = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "generator", "schemas", "overlays")
HOOK_IDS = ("rollgen-validate", "rollgen-render-check")


T0 = "2026-05-04T09:00:00Z"
SOAKED = "2026-05-04T09:30:00Z"  # the init template's prod follows staging after 30m

@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This checkout's working tree committed into a temporary repo: (path, commit)."""
    if not (ROOT / "pyproject.toml").is_file():
        pytest.skip("not a checkout")
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "--", *SNAPSHOT], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout.split()
    repo = tmp_path_factory.mktemp("hook-repo")
    for rel in listed:
        if (ROOT / rel).is_file():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, repo / rel)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    from generator import __version__

    # tagged as a release is (v<version>), the rev `rollgen init` pins its hooks to
    for args in (["init", "-q", "--initial-branch=main"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"],
                 ["tag", f"v{__version__}"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=env)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True)
    return repo, head.stdout.strip()


@pytest.fixture
def hook_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    require_tool("git")
    env = dict(os.environ)
    env.setdefault("PIP_CACHE_DIR", str(session_cache(tmp_path_factory) / "pip-cache"))
    # The hooks must find rollgen in their own virtualenv, not through this checkout.
    env.pop("PYTHONPATH", None)
    yield env


def pre_commit(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900, check=False)


def commit(repo: Path, env: dict[str, str], message: str) -> subprocess.CompletedProcess[str]:
    """`git commit` with the installed pre-commit hook; its output is what the person sees."""
    return subprocess.run(["git", "commit", "-m", message], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=900, check=False)


@pytest.fixture
def config_repo(tmp_path: Path, hook_repo: tuple[Path, str], hook_env: dict[str, str]) -> Path:
    """`rollgen init`, `rollgen release` and the tick (every environment), its hooks pointed at the hook repo snapshot,
    `pre-commit install`ed."""
    repo = tmp_path / "config"
    assert main(["init", str(repo)]) == 0
    assert main(["release", str(repo / "releases/hello.yaml"), "--repo", str(repo), "--now", T0]) == 0
    assert main(["advance", "--all", "--repo", str(repo), "--now", SOAKED]) == 0  # prod follows staging (after:)
    install_hooks(repo, hook_repo, hook_env)
    return repo


def install_hooks(repo: Path, hook_repo: tuple[Path, str], hook_env: dict[str, str]) -> None:
    """Point the repo's hooks at the hook repo snapshot, commit that, `pre-commit install`."""
    path, rev = hook_repo
    config = {"repos": [{"repo": str(path), "rev": rev, "hooks": [{"id": hook_id} for hook_id in HOOK_IDS]}]}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    git(repo, "commit", "-q", "-am", "hooks from the rollgen checkout")
    installed = pre_commit(["install"], repo, hook_env)
    assert installed.returncode == 0, installed.stdout + installed.stderr


def test_each_release_commit_passes_the_hooks(tmp_path: Path, hook_repo: tuple[Path, str],
                                              hook_env: dict[str, str]) -> None:
    """Straight after init the hooks pass; `rollgen release` (every environment) then commits through them (a
    repo with hooks gets `git commit`, hooks and all), one environment per commit, each passing render-check."""
    repo = tmp_path / "config"
    assert main(["init", str(repo)]) == 0
    install_hooks(repo, hook_repo, hook_env)
    checked = pre_commit(["run", "--all-files"], repo, hook_env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert (repo / ".git/hooks/pre-commit").is_file()  # so rollgen's commits run it (gitops: Repo.commit)
    start = git(repo, "rev-parse", "HEAD").strip()
    assert main(["release", str(repo / "releases/hello.yaml"), "--repo", str(repo), "--now", T0]) == 0
    assert main(["advance", "--all", "--repo", str(repo), "--now", SOAKED]) == 0  # prod follows staging (after:)
    subjects = git(repo, "log", "--reverse", "--format=%s", f"{start}..HEAD").splitlines()
    assert [s.split(":")[0] for s in subjects] == ["hello/staging", "hello/prod"]
    checked = pre_commit(["run", "--all-files"], repo, hook_env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("Passed") == 2, checked.stdout


def test_a_bad_spec_blocks_the_commit_with_its_location(config_repo: Path, hook_env: dict[str, str]) -> None:
    spec = config_repo / "releases/hello.yaml"
    lines = spec.read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("  replicas:"))
    lines[at] = "  replicas: many\n"
    spec.write_text("".join(lines))
    git(config_repo, "add", "releases/hello.yaml")
    head = git(config_repo, "rev-parse", "HEAD")
    result = commit(config_repo, hook_env, "hello: many replicas")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"releases/hello.yaml:{at + 1}:13: $.spec.replicas: " in output, output
    assert "rollgen validate (release specs)" in output and "Failed" in output
    assert git(config_repo, "rev-parse", "HEAD") == head


def test_stale_generated_files_block_the_commit(config_repo: Path, hook_env: dict[str, str]) -> None:
    spec = config_repo / "releases/hello.yaml"
    spec.write_text(spec.read_text().replace("replicas: 2", "replicas: 4"))  # valid, but not rendered
    git(config_repo, "add", "releases/hello.yaml")
    result = commit(config_repo, hook_env, "hello: four replicas")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "changed: apps/hello/" in output and "is out of date" in output, output

    hand_edit = config_repo / "argocd/hello/application_hello-prod.yaml"
    git(config_repo, "checkout", "-q", "--", ".")  # spec back as it was; now edit a generated file by hand
    git(config_repo, "reset", "-q")
    hand_edit.write_text(hand_edit.read_text().replace("selfHeal: true", "selfHeal: false"))
    git(config_repo, "add", str(hand_edit))
    result = commit(config_repo, hook_env, "argocd: no self-heal")
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "changed: argocd/hello/application_hello-prod.yaml" in output, output


def test_a_good_change_passes(config_repo: Path, hook_env: dict[str, str]) -> None:
    spec = config_repo / "releases/hello.yaml"
    spec.write_text(spec.read_text().replace("replicas: 2", "replicas: 4"))
    assert main(["render", str(config_repo / "releases"), "--out", str(config_repo)]) == 0
    git(config_repo, "add", "-A")
    result = commit(config_repo, hook_env, "hello: four replicas, rendered")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert output.count("Passed") == 2, output
    assert git(config_repo, "status", "--porcelain") == ""


def test_try_repo_runs_a_single_hook_against_files(config_repo: Path, hook_repo: tuple[Path, str],
                                                   hook_env: dict[str, str]) -> None:
    """`pre-commit try-repo`: how a team tries the hooks before pinning them."""
    bad = config_repo / "releases/typo.yaml"
    bad.write_text((config_repo / "releases/hello.yaml").read_text().replace("  image:", "  imge:"))
    result = pre_commit(["try-repo", str(hook_repo[0]), "rollgen-validate", "--ref", hook_repo[1],
                         "--files", "releases/typo.yaml", "releases/hello.yaml"], config_repo, hook_env)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "releases/typo.yaml:" in output and "imge" in output, output
    assert "releases/hello.yaml:" not in output


def _without_rollgen(env: dict[str, str]) -> dict[str, str]:
    """The environment with no folder on PATH that holds a rollgen (this venv's bin, say): as a commit made outside
    the activated virtualenv sees it."""
    folders = [f for f in env.get("PATH", "").split(os.pathsep) if f and not (Path(f) / "rollgen").exists()]
    bare = {**env, "PATH": os.pathsep.join(folders)}
    bare.pop("VIRTUAL_ENV", None)
    assert shutil.which("rollgen", path=bare["PATH"]) is None and shutil.which("git", path=bare["PATH"])
    return bare


def test_inits_hooks_run_from_rollgens_repository_without_rollgen_on_path(
        tmp_path: Path, hook_repo: tuple[Path, str], hook_env: dict[str, str]) -> None:
    """The .pre-commit-config.yaml init writes, unchanged but for its `repo:` (a file:// URL of a fresh clone
    standing in for rollgen's repository; `rev:` stays the tag init pinned): pre-commit builds rollgen's own
    environment (`language: python`), so the hooks work with no rollgen on PATH, and block a bad spec."""
    from generator import __version__

    clone = tmp_path / "rollgen"
    git(tmp_path, "clone", "-q", hook_repo[0].as_uri(), str(clone))
    repo = tmp_path / "config"
    assert main(["init", str(repo)]) == 0
    path = repo / ".pre-commit-config.yaml"
    written = path.read_text()
    [hooks] = yaml.safe_load(written)["repos"]
    assert hooks["rev"] == f"v{__version__}"
    assert written.count(f"repo: {hooks['repo']}\n") == 1
    path.write_text(written.replace(f"repo: {hooks['repo']}\n", f"repo: {clone.as_uri()}\n"))
    git(repo, "commit", "-q", "-am", "hooks from a clone of rollgen's repository")
    env = _without_rollgen(hook_env)
    installed = pre_commit(["install"], repo, env)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    spec = repo / "releases/hello.yaml"
    spec.write_text(spec.read_text().replace("  replicas: 2\n", "  replicas: two\n"))
    git(repo, "add", "releases/hello.yaml")
    result = commit(repo, env, "hello: two replicas")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Executable `rollgen` not found" not in output
    assert "releases/hello.yaml:" in output and "$.spec.replicas: expected a whole number, got 'two'" in output, output

    git(repo, "checkout", "-q", "HEAD", "--", "releases/hello.yaml")
    spec.write_text(spec.read_text().replace("  replicas: 2\n", "  replicas: 3\n"))
    git(repo, "add", "releases/hello.yaml")
    result = commit(repo, env, "hello: three replicas")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (result.stdout + result.stderr).count("Passed") == 2
