"""Security: what rollgen writes stays inside the repository; no user string is evaluated as a template; the
credentials of a remote URL appear in no message, log, commit or generated file.

Every command here runs through the real CLI entry point on real git repositories.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from generator.cli import main
from tests.conftest import git
from tests.hardening.test_faults import SPEC

NOW = "2024-05-01T00:00:00Z"
CONFIG = """\
apiVersion: rollgen.io/v1alpha1
kind: Config
git: {remote: origin, branch: main, pushBackoff: 0s, pushAttempts: 1}
commit:
  author: {name: rollgen bot, email: rollgen@example.com}
argocd: {repoURL: "https://git.example.com/org/config.git"}
"""


def make_repo(path: Path, config: str = CONFIG, spec_name: str = "hello.yaml") -> Path:
    path.mkdir()
    git(path, "init", "-q", "--initial-branch=main")
    (path / "rollgen.yaml").write_text(config)
    (path / "releases").mkdir()
    (path / "releases" / spec_name).write_text(SPEC.replace("IMAGE", "v1"))
    git(path, "add", ".")
    git(path, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "spec")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out + err


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink() and "/.git/rollgen/" not in f"/{p.relative_to(root).as_posix()}"}


# -- every path rollgen writes is inside the repository ------------------------------------------------------


def _released(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    repo = make_repo(tmp_path / "repo")
    assert run(capsys, "release", repo / "releases" / "hello.yaml", "--repo", repo, "--now", NOW)[0] == 0
    return repo


def _move_out(repo: Path, rel: str, outside: Path) -> None:
    """Replace repo/rel (a folder or file rollgen generated) by a symlink to a copy of it outside the repo."""
    target = outside / rel.replace("/", "_")
    os.replace(repo / rel, target)
    (repo / rel).symlink_to(target)
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", f"{rel} -> outside")


LINKS_OUT = {
    "apps": "apps",
    "base": "apps/hello/base",
    "overlay": "apps/hello/overlays/prod",
    "generated file": "apps/hello/base/kustomization.yaml",
    "state file": "apps/hello/overlays/prod/rollgen-state.yaml",
    "wiring": "argocd",
}


@pytest.mark.parametrize("what", sorted(LINKS_OUT))
@pytest.mark.parametrize("command", ["render", "release"])
def test_a_symlink_leading_out_of_the_repository_is_refused(
    what: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _released(tmp_path, capsys)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    _move_out(repo, LINKS_OUT[what], outside)
    (repo / "releases" / "hello.yaml").write_text(SPEC.replace("IMAGE", "v2"))  # something to write
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-am", "v2")
    before, head = snapshot(outside), git(repo, "rev-parse", "HEAD")
    spec = repo / "releases" / "hello.yaml"
    argv: list[str | Path] = (
        ["render", spec, "--out", repo] if command == "render" else ["release", spec, "--repo", repo, "--now", NOW]
    )
    code, said = run(capsys, *argv)
    assert code == 1, said
    assert "symlink" in said and ("refusing to write" in said or what == "state file"), said
    assert snapshot(outside) == before
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_an_output_folder_that_is_a_symlink_leading_out_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """rollgen.yaml `output: out` with out -> /somewhere/else: the committing commands would write outside."""
    repo = make_repo(tmp_path / "repo", CONFIG + "output: out\n")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (repo / "out").symlink_to(outside)
    head = git(repo, "rev-parse", "HEAD")
    code, said = run(capsys, "release", repo / "releases" / "hello.yaml", "--repo", repo, "--now", NOW)
    assert code == 1, said
    assert "symlink" in said and "out" in said, said
    assert list(outside.iterdir()) == []
    assert git(repo, "rev-parse", "HEAD") == head


def test_a_symlink_inside_the_repository_is_followed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What a symlink is for: a folder moved elsewhere in the same repository keeps working."""
    repo = _released(tmp_path, capsys)
    (repo / "apps").rename(repo / "generated")
    (repo / "apps").symlink_to("generated")
    code, said = run(capsys, "render", repo / "releases" / "hello.yaml", "--out", repo, "--check")
    assert code == 0, said
