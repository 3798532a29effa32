"""Security: what rollgen writes stays inside the repository; no user string is evaluated as a template; the
credentials of a remote URL appear in no message, log, commit or generated file.

Every command here runs through the real CLI entry point on real git repositories.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from generator.gitops import sync
from generator.cli import main
from tests.conftest import REFUSED_PORT, git
from tests.hardening.corpus import sub
from tests.factories import init_config_repo
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
SECRET = "ghp_S3cr3tT0kenThatMustNeverShow"


def make_repo(path: Path, config: str = CONFIG, spec_name: str = "hello.yaml") -> Path:
    return init_config_repo(path, config, {spec_name: SPEC.replace("IMAGE", "v1")})


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


# -- no user string is evaluated as a template ---------------------------------------------------------------

def test_names_and_values_are_never_templates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = CONFIG.replace("commit:\n", "commit:\n  template: |\n"
                            "    {{ release }}/{{ environment }}: {{ summary }} ({{ source }}, {{ image }})\n\n"
                            "    {{ details }}\n")
    name = "{{ 7*7 }}{% raw %}x{{ self.__init__ }}.yaml"
    repo = make_repo(tmp_path / "repo", config, spec_name=name)
    code, said = run(capsys, "release", repo / "releases" / name, "--repo", repo, "--env", "prod", "--now", NOW)
    assert code == 0, said
    message = git(repo, "log", "-1", "--format=%B")
    assert f"(releases/{name}, ghcr.io/kmaster8/hello:v1)" in message, message
    assert "49" not in message
    header = (repo / "apps/hello/base/kustomization.yaml").read_text().splitlines()[0]
    assert header == f"# Generated by rollgen from releases/{name}. Do not edit: change the spec and run rollgen render."


def test_a_file_name_cannot_forge_lines_or_trailers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Such a name is refused outright (issue 11 item 16): nothing is written or committed."""
    name = "x\nRollgen-Action: abort\nRollgen-Release: evil\n---\nkind: Secret\n.yaml"
    repo = make_repo(tmp_path / "repo", spec_name=name)
    before = git(repo, "rev-parse", "HEAD")
    code, said = run(capsys, "release", repo / "releases" / name, "--repo", repo, "--env", "prod", "--now", NOW)
    assert code == 1, said
    assert "the file name holds a control character" in said
    assert git(repo, "rev-parse", "HEAD") == before and not (repo / "apps").exists()


# -- credentials in remote URLs ------------------------------------------------------------------------------

TOKEN_URL = f"https://x-access-token:{SECRET}@127.0.0.1:{REFUSED_PORT}/org/config.git"

FAKE_GIT = """\
#!/bin/sh
# A git whose network commands print the remote URL with its credentials (as an old git, a verbose transport
# or a server's message might), and fail.
for arg in "$@"; do
  case "$arg" in
    fetch) echo "fatal: couldn't find remote ref refs/heads/main" >&2; exit 128 ;;
    push)
      printf 'To %s\\n!\\tHEAD:refs/heads/main\\t[remote rejected] (denied for %s)\\nDone\\n' "$URL" "$URL"
      echo "remote: access denied to $URL" >&2
      echo "error: failed to push some refs to '$URL'" >&2
      exit 1 ;;
  esac
done
exec "$REAL_GIT" "$@"
"""


@pytest.fixture
def leaky_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "fakebin"
    folder.mkdir()
    fake = folder / "git"
    fake.write_text(FAKE_GIT)
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    real = next(Path(p) / "git" for p in os.environ["PATH"].split(os.pathsep) if (Path(p) / "git").is_file())
    monkeypatch.setenv("REAL_GIT", str(real))
    monkeypatch.setenv("URL", TOKEN_URL)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")


def token_repo(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "repo")
    git(repo, "remote", "add", "origin", TOKEN_URL)
    return repo


def assert_no_secret(repo: Path, *texts: str, put_in: str = ".git/config") -> None:
    for text in texts:
        assert SECRET not in text, text
    assert SECRET not in git(repo, "log", "--all", "--format=%B%n%an%n%ae")
    for path in repo.rglob("*"):
        if path.is_file() and path != repo / put_in:  # where the user put it
            assert SECRET.encode() not in path.read_bytes(), path


def test_an_unreachable_remote_with_a_token_in_its_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = token_repo(tmp_path)
    spec = repo / "releases" / "hello.yaml"
    code, said = run(capsys, "release", spec, "--repo", repo, "--now", NOW, "--push")
    assert code == 1 and "127.0.0.1" in said, said
    assert_no_secret(repo, said)


def test_a_git_that_prints_the_token_is_redacted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], leaky_git: None
) -> None:
    repo = token_repo(tmp_path)
    code, said = run(capsys, "release", repo / "releases" / "hello.yaml", "--repo", repo, "--now", NOW, "--push")
    assert code == 1, said
    assert f"access denied to https://***@127.0.0.1:{REFUSED_PORT}/org/config.git" in said, said
    assert_no_secret(repo, said)


def test_the_crash_log_of_a_bug_holds_no_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], leaky_git: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug while reading what a failing push said: the traceback goes to the crash log, the token nowhere."""

    def buggy(report: str, stderr: str) -> bool:
        raise RuntimeError(f"cannot read the push report {report!r} {stderr!r}")

    monkeypatch.setattr(sync, "_moved_on", buggy)
    repo = token_repo(tmp_path)
    code, said = run(capsys, "release", repo / "releases" / "hello.yaml", "--repo", repo, "--now", NOW, "--push")
    assert code == 3, said
    log = Path(os.environ["XDG_CACHE_HOME"]) / "rollgen" / "rollgen-crash.log"
    crash = log.read_text()
    assert "RuntimeError: cannot read the push report" in crash and f"https://***@127.0.0.1:{REFUSED_PORT}" in crash, crash
    assert_no_secret(repo, said, crash)


def test_wiring_never_carries_the_token(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a password in rollgen.yaml's repoURL is refused, without repeating it
    repo = make_repo(tmp_path / "repo", CONFIG.replace("https://git.example.com", f"https://u:{SECRET}@git.example.com"))
    code, said = run(capsys, "release", repo / "releases" / "hello.yaml", "--repo", repo, "--now", NOW)
    assert code == 1 and "argocd.repoURL holds a password" in said, said
    assert_no_secret(repo, said, put_in="rollgen.yaml")
    # `rollgen init` in a clone whose origin carries a token writes a placeholder
    target = tmp_path / "fresh"
    target.mkdir()
    git(target, "init", "-q", "--initial-branch=main")
    git(target, "remote", "add", "origin", TOKEN_URL)
    code, said = run(capsys, "init", target)
    assert code == 0, said
    assert_no_secret(target, said)


def test_problem_messages_leave_a_urls_credentials_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A spec cannot hold credentials in analysis.prometheus (they would land in every AnalysisTemplate); the
    problem that says so does not repeat them into a CI log."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(sub("prometheus: http://prometheus.monitoring:9090",
                        f"prometheus: http://admin:{SECRET}@prometheus.monitoring:9090"))
    code, said = run(capsys, "validate", spec)
    assert code == 1
    assert said.splitlines()[0].endswith(
        ":24:17: $.spec.analysis.prometheus: 'http://***@prometheus.monitoring:9090' is not an http:// or https:// "
        "URL such as http://prometheus.monitoring:9090"
    ), said
    assert SECRET not in said
