"""`rollgen init DIR`: a working config repo in one commit, for every engine and GitOps choice; straight after
it `rollgen release releases/hello.yaml --repo DIR` commits and every overlay builds with `kubectl kustomize`.
Nothing is released by init, so it writes no apps/ and no per-environment wiring; the release then adds each
environment in its own commit without deleting anything, and the render-check hook passes after every commit."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.cli import build_parser, main
from generator.commands import init as init_command
from generator.spec.config import load as load_config
from generator.wiring import from_config
from tests.conftest import ROOT, git
from tests.validators import kustomize_build, validate_manifest

ENGINES = ("argo-rollouts", "flagger", "nginx")
GITOPS = ("argocd", "flux", "both")
USER_FILES = [".github/workflows/rollgen-advance.yaml", ".pre-commit-config.yaml", "releases/hello.yaml", "rollgen.yaml"]


def tracked(repo: Path) -> list[str]:
    return sorted(git(repo, "ls-files").split())


def overlays(repo: Path) -> list[Path]:
    return sorted((repo / "apps/hello/overlays").iterdir())


def wiring_files(repo: Path) -> list[Path]:
    return sorted(p for folder in ("argocd", "flux") if (repo / folder).is_dir() for p in (repo / folder).rglob("*.yaml"))


T0 = "2026-05-04T09:00:00Z"
SOAKED = "2026-05-04T09:30:00Z"  # the templates' prod follows staging after 30m

@pytest.mark.slow
@pytest.mark.parametrize("gitops", GITOPS)
@pytest.mark.parametrize("engine", ENGINES)
def test_init_then_release_commits_and_every_overlay_builds(tmp_path: Path, engine: str, gitops: str) -> None:
    repo = tmp_path / "config"
    assert main(["init", str(repo), "--engine", engine, "--gitops", gitops]) == 0
    assert git(repo, "branch", "--show-current").strip() == "main"
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"
    assert git(repo, "status", "--porcelain") == ""
    files = tracked(repo)
    assert set(USER_FILES) <= set(files)
    assert not any(f.startswith(("apps/", "argocd/hello/", "flux/hello/")) for f in files)  # nothing released
    assert ("argocd/application_rollgen.yaml" in files) == (gitops != "flux")
    assert ("flux/gitrepository_rollgen.yaml" in files) == (gitops != "argocd")
    assert main(["render", str(repo / "releases"), "--out", str(repo), "--check"]) == 0  # the hook passes

    # the release deploys staging; prod follows it (after: staging, soak: 30m): the tick deploys it 30m later
    assert main(["release", str(repo / "releases/hello.yaml"), "--repo", str(repo), "--now", T0]) == 0
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "2"
    assert main(["advance", "--all", "--repo", str(repo), "--now", SOAKED]) == 0
    log = git(repo, "log", "--format=%(trailers:key=Rollgen-Action,valueonly)%x00%s", "HEAD~2..HEAD").split("\0")
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "3"  # one deploy commit per environment
    assert "deploy" in log[0] and git(repo, "status", "--porcelain") == ""
    for overlay in overlays(repo):
        assert kustomize_build(overlay), overlay
    for path in wiring_files(repo):
        problems = validate_manifest(yaml.safe_load(path.read_text()))
        assert problems == [], (path, problems)
    assert main(["render", str(repo / "releases"), "--out", str(repo), "--check"]) == 0


def test_init_says_what_to_do_next(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "config")]) == 0
    out = capsys.readouterr().out
    assert "rollgen config repo, " in out and "files committed [" in out
    assert "rollgen release releases/hello.yaml --repo ." in out
    assert "kubectl apply -n argocd -f argocd/application_rollgen.yaml" in out
    assert "set the repo URL in rollgen.yaml" in out  # no origin remote: the placeholder


def test_a_folder_with_rollgen_yaml_is_refused_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "config"
    repo.mkdir()
    (repo / "rollgen.yaml").write_text("releases: specs\n")
    (repo / "notes.txt").write_text("mine\n")
    assert main(["init", str(repo)]) == 1
    assert "already has rollgen.yaml" in capsys.readouterr().err
    assert sorted(p.name for p in repo.iterdir()) == ["notes.txt", "rollgen.yaml"]


def test_files_in_the_way_are_never_overwritten(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "config"
    (repo / "releases").mkdir(parents=True)
    (repo / "releases/hello.yaml").write_text("mine\n")
    assert main(["init", str(repo)]) == 1
    assert "releases/hello.yaml" in capsys.readouterr().err
    assert (repo / "releases/hello.yaml").read_text() == "mine\n"
    assert not (repo / "rollgen.yaml").exists()


def test_init_in_a_clone_commits_on_its_branch_with_its_remote_url(git_remote: tuple[Path, Path]) -> None:
    _, clone = git_remote
    git(clone, "remote", "set-url", "origin", "https://ghp_secret@git.example.com/platform/config.git")
    assert main(["init", str(clone), "--gitops", "both"]) == 0
    assert git(clone, "rev-list", "--count", "HEAD").strip() == "2"  # README's commit, then init's
    config = load_config(clone)
    wired = from_config(config)
    assert wired.argocd is not None and wired.flux is not None
    assert wired.argocd.repo_url == wired.flux.url == "https://git.example.com/platform/config.git"
    text = "".join(p.read_text() for p in [clone / "rollgen.yaml", *wiring_files(clone)])
    assert "ghp_secret" not in text and "git.example.com/platform/config.git" in text


def test_a_password_in_the_origin_url_is_not_copied(git_remote: tuple[Path, Path],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    _, clone = git_remote
    git(clone, "remote", "set-url", "origin", "https://bot:hunter2@git.example.com/c.git")
    assert main(["init", str(clone)]) == 0
    captured = capsys.readouterr()
    assert "hunter2" not in captured.out + captured.err
    assert "hunter2" not in "".join(p.read_text() for p in [clone / "rollgen.yaml", *wiring_files(clone)])
    assert init_command.PLACEHOLDER_URL in (clone / "rollgen.yaml").read_text()


@pytest.mark.parametrize("gitops", ["argocd", "flux", "both"])
def test_a_github_scp_remote_becomes_ssh_for_flux(
    git_remote: tuple[Path, Path], capsys: pytest.CaptureFixture[str], gitops: str
) -> None:
    _, clone = git_remote
    git(clone, "remote", "set-url", "origin", "git@github.com:acme/platform-config.git")
    assert main(["init", str(clone), "--gitops", gitops]) == 0
    out = capsys.readouterr().out
    wired = from_config(load_config(clone))
    if gitops == "argocd":  # Argo CD clones scp-like URLs as they are
        assert wired.argocd is not None and wired.argocd.repo_url == "git@github.com:acme/platform-config.git"
        assert "ssh://" not in out
        return
    assert wired.flux is not None and wired.flux.url == "ssh://git@github.com/acme/platform-config.git"
    assert ("rollgen: Flux needs an ssh:// URL: the wiring uses ssh://git@github.com/acme/platform-config.git "
            "for the origin remote git@github.com:acme/platform-config.git") in out
    assert main(["release", str(clone / "releases" / "hello.yaml"), "--repo", str(clone)]) == 0


@pytest.mark.parametrize("url", [
    "ghp_0123456789abcdefSECRET@github.com:acme/platform-config.git",
    "ssh://glpat-0123456789SECRET@gitlab.com/acme/platform-config.git",
    "https://gitlab.com/acme/platform-config.git?private_token=0123456789SECRET",
    "https://git.example.com/acme/platform-config.git?token=0123456789SECRET",
])
def test_a_token_in_the_origin_url_reaches_no_file_and_no_message(
    git_remote: tuple[Path, Path], capsys: pytest.CaptureFixture[str], url: str
) -> None:
    _, clone = git_remote
    git(clone, "remote", "set-url", "origin", url)
    assert main(["init", str(clone), "--gitops", "both"]) == 0
    assert main(["release", str(clone / "releases" / "hello.yaml"), "--repo", str(clone)]) == 0
    captured = capsys.readouterr()
    assert "SECRET" not in captured.out + captured.err, captured
    assert "password or token" in captured.out
    for path in clone.rglob("*"):
        if path.is_file() and ".git" not in path.relative_to(clone).parts:
            assert b"SECRET" not in path.read_bytes(), path
    assert "SECRET" not in git(clone, "log", "--all", "--format=%B")
    assert init_command.PLACEHOLDER_URL in (clone / "rollgen.yaml").read_text()


@pytest.mark.parametrize("gitops", GITOPS)
def test_the_config_template_is_valid_for_every_choice(tmp_path: Path, gitops: str) -> None:
    choices = init_command.Choices(gitops, "nginx", "trunk", 'https://git.example.com/a "b".git')
    (tmp_path / "rollgen.yaml").write_text(init_command.config_text(choices))
    config = load_config(tmp_path)
    assert config.branch == "trunk"
    wired = from_config(config)
    assert (wired.argocd is not None) == (gitops != "flux") and (wired.flux is not None) == (gitops != "argocd")
    urls = {w.repo_url if hasattr(w, "repo_url") else w.url for w in (wired.argocd, wired.flux) if w}
    assert urls == {'https://git.example.com/a "b".git'}  # a quote cannot break out of the YAML string


def test_the_hooks_are_rollgens_own_pinned_to_this_version(tmp_path: Path) -> None:
    """init's .pre-commit-config.yaml takes every shipped hook from rollgen's repository at this version's tag, and
    the shipped hooks are `language: python`, so pre-commit builds rollgen's environment itself (no rollgen on PATH
    needed; tests/test_precommit.py runs it for real)."""
    from generator import REPO_URL, __version__

    shipped = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert {h["language"] for h in shipped.values()} == {"python"}
    repo = tmp_path / "config"
    assert main(["init", str(repo)]) == 0
    config = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())
    [hooks] = config["repos"]
    assert (hooks["repo"], hooks["rev"]) == (REPO_URL, f"v{__version__}")
    assert [h["id"] for h in hooks["hooks"]] == list(shipped)


def test_the_workflow_is_the_template_with_only_the_version_pinned(tmp_path: Path) -> None:
    """init sets ROLLGEN_PACKAGE as data (ruamel round trip), and every other byte of the shipped workflow, its
    comments included, arrives as written."""
    from generator import pinned_requirement
    from generator.commands.init import pinned_workflow

    template = (Path(__file__).resolve().parents[2] / "generator/init_templates/github/workflows/rollgen-advance.yaml")
    before = template.read_text(encoding="utf-8").splitlines()
    after = pinned_workflow(template.read_bytes()).decode().splitlines()
    changed = [(old, new) for old, new in zip(before, after) if old != new]
    assert len(before) == len(after)
    assert changed == [("      ROLLGEN_PACKAGE: rollgen", f"      ROLLGEN_PACKAGE: {pinned_requirement()}")]


def test_the_workflow_runs_real_commands_on_what_status_reports(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """The example CI job: scheduled, allowed to push, and its one rollgen invocation, `advance --all --push`,
    parses and ticks exactly the environments `rollgen status --format json` reports in flight."""
    repo = tmp_path / "config"
    assert main(["init", str(repo)]) == 0
    workflow: dict[Any, Any] = yaml.safe_load((repo / ".github/workflows/rollgen-advance.yaml").read_text())
    assert workflow[True]["schedule"][0]["cron"]  # `on:` is YAML 1.1's True for PyYAML
    assert workflow["permissions"] == {"contents": "write"}
    job = workflow["jobs"]["advance"]
    assert job["env"]["ROLLGEN_PACKAGE"].endswith("@v" + __import__("generator").__version__)
    script = "\n".join(step.get("run", "") for step in job["steps"])
    invocations = [line.strip() for line in script.splitlines() if line.strip().startswith("rollgen ")]
    assert invocations == ["rollgen advance --all --repo . --push"]
    build_parser().parse_args(shlex.split(invocations[0])[1:])

    assert main(["release", str(repo / "releases/hello.yaml"), "--repo", str(repo)]) == 0
    spec = repo / "releases/hello.yaml"
    spec.write_text(spec.read_text().replace("podinfo:6.7.0", "podinfo:6.7.1"))
    git(repo, "commit", "-q", "-am", "hello: podinfo 6.7.1")
    assert main(["release", str(spec), "--repo", str(repo), "--env", "staging"]) == 0
    capsys.readouterr()
    main(["status", "--repo", str(repo), "--format", "json"])
    status = json.loads(capsys.readouterr().out)
    in_flight = [(e["release"], e["environment"]) for e in status["environments"]
                 if e.get("phase") in ("progressing", "promoting")]
    assert in_flight == [("hello", "staging")]
    waiting = [(e["release"], e["environment"]) for e in status["environments"] if e.get("phase") == "waiting"]
    assert waiting == [("hello", "prod")]  # prod follows staging (after:), released 30m after staging's first deploy
    # The job's command without --push (this repo has no remote): it ticks exactly those, and reports the waiting.
    assert main(["advance", "--all", "--repo", str(repo), "--format", "json"]) == 0
    ticked = json.loads(capsys.readouterr().out)["results"]
    assert sorted((r["release"], r["environment"]) for r in ticked) == sorted(in_flight + waiting)
    assert next(r for r in ticked if r["environment"] == "prod")["waiting"]["for"] == "staging"


def test_a_failed_commit_takes_everything_back_so_init_can_run_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from generator.gitops.repo import GitError, Repo

    def refuse(*_: Any) -> None:
        raise GitError("git commit failed: Author identity unknown")

    repo = tmp_path / "config"
    repo.mkdir()
    (repo / "notes.txt").write_text("mine\n")
    with monkeypatch.context() as patched:
        patched.setattr(Repo, "commit", refuse)
        assert main(["init", str(repo)]) == 1
    err = capsys.readouterr().err
    assert "Author identity unknown" in err and "wrote nothing" in err
    assert sorted(p.name for p in repo.iterdir()) == ["notes.txt"]  # the .git init made goes too (issue 23)
    assert main(["init", str(repo)]) == 0
    assert "notes.txt" not in tracked(repo)  # only init's own files are committed


def wiring_targets(tree: Path) -> Iterator[tuple[Path, str]]:
    """(wiring file, the repo path it sends a controller to) for every Application, ApplicationSet params file
    and Flux Kustomization under tree."""
    for path in wiring_files(tree):
        doc = yaml.safe_load(path.read_text())
        if doc["kind"] == "Application":
            yield path, doc["spec"]["source"]["path"]
        elif doc["kind"] == "Kustomization" and doc["apiVersion"].startswith("kustomize.toolkit.fluxcd.io/"):
            yield path, doc["spec"]["path"].removeprefix("./")
    for params in sorted(tree.glob("apps/*/overlays/*/argocd-params.yaml")):
        yield params, params.parent.relative_to(tree).as_posix()


def assert_consistent(tree: Path) -> None:
    """The render-check hook passes, and every path the wiring names exists (an overlay with its kustomization)."""
    assert main(["render", str(tree / "releases"), "--out", str(tree), "--check"]) == 0
    for path, target in wiring_targets(tree):
        assert (tree / target).is_dir(), (path, target)
        if target.startswith("apps/"):
            assert (tree / target / "kustomization.yaml").is_file(), (path, target)


@pytest.mark.slow
@pytest.mark.parametrize("gitops", [*GITOPS, "applicationset"])
def test_init_then_release_adds_one_environment_per_commit_and_deletes_nothing(tmp_path: Path, gitops: str) -> None:
    """No churn: init renders no environment, so releasing staging cannot prune prod (which has no state yet) and
    then re-add it; each commit adds exactly its environment's files, and every commit passes the hook."""
    repo = tmp_path / "config"
    assert main(["init", str(repo), "--gitops", "argocd" if gitops == "applicationset" else gitops]) == 0
    if gitops == "applicationset":
        config = repo / "rollgen.yaml"
        config.write_text(config.read_text().replace("mode: applications ", "mode: applicationset "))
        assert main(["render", str(repo / "releases"), "--out", str(repo)]) == 0
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "argocd: one ApplicationSet")
        assert (repo / "argocd/applicationset_rollgen.yaml").is_file()
    assert not (repo / "apps").exists()
    assert_consistent(repo)
    start = git(repo, "rev-parse", "HEAD").strip()

    assert main(["release", str(repo / "releases/hello.yaml"), "--repo", str(repo), "--now", T0]) == 0
    assert main(["advance", "--all", "--repo", str(repo), "--now", SOAKED]) == 0  # prod follows staging
    commits = git(repo, "rev-list", "--reverse", f"{start}..HEAD").split()
    subjects = [git(repo, "log", "-1", "--format=%s", c).strip() for c in commits]
    assert subjects == ["hello/staging: deploy ghcr.io/stefanprodan/podinfo:6.7.0",
                        "hello/prod: deploy ghcr.io/stefanprodan/podinfo:6.7.0"]
    for commit, env, other in zip(commits, ("staging", "prod"), ("prod", "staging")):
        changes = [line.split("\t") for line in git(repo, "show", "--name-status", "--format=", commit).splitlines()]
        assert changes and {status for status, _ in changes} == {"A"}, changes  # only additions
        paths = [path for _, path in changes]
        assert f"apps/hello/overlays/{env}/kustomization.yaml" in paths
        assert f"apps/hello/overlays/{env}/rollgen-state.yaml" in paths
        assert not [p for p in paths if other in p], paths  # nothing of the other environment
        wired = [p for p in paths if p.startswith(("argocd/", "flux/")) or p.endswith("argocd-params.yaml")]
        assert len(wired) == (2 if gitops == "both" else 1), paths
        worktree = tmp_path / f"at-{env}"
        git(repo, "worktree", "add", "-q", "--detach", str(worktree), commit)
        assert_consistent(worktree)  # the pre-commit hook's view of this very commit
    assert git(repo, "log", "--diff-filter=D", "--name-only", "--format=%h %s", "--", "apps").strip() == ""
    assert git(repo, "log", "--diff-filter=D", "--name-only", "--format=%h %s").strip() == ""
    assert_consistent(repo)
    assert git(repo, "status", "--porcelain") == ""

    assert main(["release", str(repo / "releases/hello.yaml"), "--repo", str(repo), "--now", SOAKED]) == 0  # nothing new
    assert git(repo, "rev-parse", "HEAD").strip() == commits[-1]


def test_what_git_says_about_a_token_url_is_redacted() -> None:
    """git's own messages (a failed push, say) pass through gitops.repo.redact_output before anyone sees them."""
    from generator.gitops.repo import redact_output

    said = (b"fatal: could not read from ghp_0123SECRET@github.com:acme/x.git\n"
            b"fatal: unable to access 'https://gitlab.com/x.git?private_token=0123SECRET&ref=main': 403\n"
            b"remote: https://bot:0123SECRET@git.example.com/x.git?token=0123SECRET\n")
    assert b"SECRET" not in redact_output(said)
    assert redact_output(b"git@github.com:acme/x.git") == b"git@github.com:acme/x.git"  # a login name is no secret
