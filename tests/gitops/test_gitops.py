"""gitops against real repositories: clean environment, path-limited commits, pushes, journal, lock; the
commit message template and trailers; rollgen.yaml."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from generator.spec import config as config_module
from generator.spec.config import Author
from generator.errors import InvalidInput, RollgenError
from generator.gitops import plumbing
from generator.gitops.repo import GitError, Repo, clean_env
from generator.gitops.messages import DEFAULT_TEMPLATE, Record, compose, parse_trailers
from tests.conftest import git

BOT = Author("rollgen bot", "bot@example.com")


def test_clean_env_drops_what_points_git_elsewhere() -> None:
    env = clean_env(
        {
            "PATH": "/bin",
            "GIT_DIR": "/elsewhere/.git",
            "GIT_WORK_TREE": "/elsewhere",
            "GIT_INDEX_FILE": "/elsewhere/index",
            "GIT_OBJECT_DIRECTORY": "/x",
            "GIT_AUTHOR_DATE": "yesterday",
            "GIT_SSH_COMMAND": "ssh -i key",
            "GIT_AUTHOR_NAME": "A",
            "GIT_CONFIG_KEY_0": "user.name",
            "GIT_CONFIG_VALUE_0": "B",
            "GIT_CONFIG_COUNT": "1",
        }
    )
    assert env == {
        "PATH": "/bin",
        "GIT_SSH_COMMAND": "ssh -i key",
        "GIT_AUTHOR_NAME": "A",
        "GIT_CONFIG_KEY_0": "user.name",
        "GIT_CONFIG_VALUE_0": "B",
        "GIT_CONFIG_COUNT": "1",
    }


def test_runs_on_the_given_repo_even_inside_another_repos_hook(
    git_remote: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, clone = git_remote
    decoy = tmp_path / "decoy"
    git(tmp_path, "init", "-q", str(decoy))
    monkeypatch.setenv("GIT_DIR", str(decoy / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(decoy / ".git" / "index"))
    repo = Repo.discover(clone)
    (clone / "f.txt").write_text("x\n")
    assert repo.commit(["f.txt"], "add f\n", BOT)
    monkeypatch.delenv("GIT_DIR")
    monkeypatch.delenv("GIT_INDEX_FILE")
    assert git(clone, "log", "-1", "--format=%s").strip() == "add f"


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="not inside a git repository"):
        Repo.discover(tmp_path)


def test_commit_only_the_given_paths(git_remote: tuple[Path, Path]) -> None:
    _, clone = git_remote
    repo = Repo.discover(clone)
    (clone / "apps").mkdir()
    (clone / "apps" / "mine.yaml").write_text("a: 1\n")
    (clone / "staged.txt").write_text("someone's work\n")
    git(clone, "add", "staged.txt")
    (clone / "README.md").write_text("edited\n")
    commit = repo.commit(["apps/mine.yaml"], "mine\n\nRollgen-Action: deploy\n", BOT)
    assert commit == repo.head()
    assert git(clone, "show", "--name-only", "--format=", "HEAD").split() == ["apps/mine.yaml"]
    assert sorted(git(clone, "status", "--porcelain").splitlines()) == [" M README.md", "A  staged.txt"]
    assert git(clone, "log", "-1", "--format=%an <%ae>|%cn <%ce>").strip() == (
        "rollgen bot <bot@example.com>|rollgen bot <bot@example.com>"
    )


def test_commit_handles_deletions_and_is_never_empty(git_remote: tuple[Path, Path]) -> None:
    _, clone = git_remote
    repo = Repo.discover(clone)
    (clone / "a.yaml").write_text("a\n")
    repo.commit(["a.yaml"], "a\n", BOT)
    head = repo.head()
    assert repo.commit(["a.yaml"], "again\n", BOT) is None
    assert repo.head() == head
    (clone / "a.yaml").unlink()
    assert repo.commit(["a.yaml"], "drop a\n", BOT)
    assert "a.yaml" not in git(clone, "ls-files")


def test_commit_refused_when_head_moved_meanwhile_restores_to_the_new_head(
    git_remote: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index entries are brought up to date while the commit is made (update-index runs alongside): when
    update-ref then refuses because another process committed meanwhile, nothing of ours is committed and
    restore() leaves index and work tree as the new HEAD has them, nothing staged."""
    _, clone = git_remote
    repo = Repo.discover(clone)
    (clone / "README.md").write_text("ours\n")
    made = plumbing.tree_with

    def someone_commits(*args: Any) -> str:
        tree = made(*args)
        theirs = git(clone, "commit-tree", "HEAD^{tree}", "-p", "HEAD", "-m", "someone else").strip()
        git(clone, "update-ref", "HEAD", theirs)  # no index lock taken: update-index may hold it now
        return tree

    monkeypatch.setattr(plumbing, "tree_with", someone_commits)
    with pytest.raises(GitError, match="update-ref"):
        repo.commit(["README.md"], "ours\n", BOT)
    assert git(clone, "log", "-1", "--format=%s").strip() == "someone else"
    assert git(clone, "diff", "--cached", "--name-only") == "README.md\n"  # update-index ran
    repo.restore(["README.md"])
    assert git(clone, "status", "--porcelain") == ""
    assert (clone / "README.md").read_text() == "config repo\n"


def test_commit_without_identity_explains(git_remote: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    _, clone = git_remote
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(var)
    monkeypatch.setenv("EMAIL", "")
    git(clone, "config", "user.useConfigOnly", "true")
    repo = Repo.discover(clone)
    (clone / "x").write_text("x\n")
    with pytest.raises(GitError, match="commit.author in rollgen.yaml"):
        repo.commit(["x"], "x\n", None)


def test_restore_puts_back_head_and_removes_new_files(git_remote: tuple[Path, Path]) -> None:
    _, clone = git_remote
    repo = Repo.discover(clone)
    (clone / "README.md").write_text("changed\n")
    (clone / "new.yaml").write_text("new\n")
    git(clone, "add", "README.md", "new.yaml")
    repo.restore(["README.md", "new.yaml"])
    assert (clone / "README.md").read_text() == "config repo\n"
    assert not (clone / "new.yaml").exists()
    assert git(clone, "status", "--porcelain") == ""


def test_push_fetch_and_rejection(git_remote: tuple[Path, Path], tmp_path: Path) -> None:
    remote, clone = git_remote
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    repo = Repo.discover(clone)
    (clone / "a").write_text("a\n")
    repo.commit(["a"], "a\n", BOT)
    (other / "b").write_text("b\n")
    git(other, "add", "b")
    git(other, "commit", "-q", "-m", "b")
    git(other, "push", "-q", "origin", "main")

    assert repo.push("origin", "main") == "rejected"
    upstream = repo.fetch("origin", "main")
    assert upstream == git(other, "rev-parse", "HEAD").strip()
    assert repo.ahead_of(upstream)
    repo.catch_up(upstream)  # diverged: our commit is rebased onto theirs
    assert repo.is_ancestor(upstream, "HEAD")
    assert repo.push("origin", "main") == "pushed"
    assert repo.push("origin", "main") == "up-to-date"
    assert repo.fetch("origin", "no-such-branch") is None


def test_push_is_never_forced(git_remote: tuple[Path, Path], tmp_path: Path) -> None:
    remote, clone = git_remote
    repo = Repo.discover(clone)
    (clone / "a").write_text("a\n")
    repo.commit(["a"], "a\n", BOT)
    repo.push("origin", "main")
    git(clone, "reset", "-q", "--hard", "HEAD~1")
    assert repo.push("origin", "main") == "rejected"
    assert git(remote, "log", "-1", "--format=%s", "main").strip() == "a"


def test_undo_commit_only_drops_our_own(git_remote: tuple[Path, Path]) -> None:
    _, clone = git_remote
    repo = Repo.discover(clone)
    parent = repo.head()
    (clone / "a").write_text("a\n")
    ours = repo.commit(["a"], "a\n", BOT)
    assert ours
    (clone / "unrelated.txt").write_text("a person's work in progress\n")
    repo.undo_commit(ours, parent)
    assert repo.head() == parent and not (clone / "a").exists()
    assert (clone / "unrelated.txt").read_text() == "a person's work in progress\n"
    with pytest.raises(GitError, match="HEAD moved"):
        repo.undo_commit(ours, parent)


def test_log_filters_on_trailers(git_remote: tuple[Path, Path]) -> None:
    _, clone = git_remote
    repo = Repo.discover(clone)
    for env in ("staging", "prod"):
        (clone / env).write_text(env)
        repo.commit([env], f"hello/{env}: x\n\nRollgen-Release: hello\nRollgen-Environment: {env}\n", BOT)
    entries = repo.log(["^Rollgen-Release: hello$", "^Rollgen-Environment: prod$"])
    assert [e.subject for e in entries] == ["hello/prod: x"]
    assert parse_trailers(entries[0].message)["Rollgen-Environment"] == "prod"


def test_journal_tells_our_leftovers_from_edits(git_remote: tuple[Path, Path]) -> None:
    _, clone = git_remote
    repo = Repo.discover(clone)
    journal = repo.journal("hello")
    assert journal.load() is None
    journal.record({"a.yaml": b"ours\n", "gone.yaml": None})
    (clone / "a.yaml").write_bytes(b"ours\n")
    assert journal.explains(clone, "a.yaml") and journal.explains(clone, "gone.yaml")
    (clone / "a.yaml").write_bytes(b"edited\n")
    assert not journal.explains(clone, "a.yaml") and not journal.explains(clone, "README.md")
    assert journal.path.parent == clone / ".git" / "rollgen"
    journal.clear()
    assert journal.load() is None


def test_a_journal_an_older_rollgen_left_still_explains_its_files(git_remote: tuple[Path, Path]) -> None:
    """Journals held sha256 digests before generator/fingerprint.py: one left by a crash of an older rollgen still
    lets the new one put its files back, and still refuses an edit."""
    _, clone = git_remote
    repo = Repo.discover(clone)
    journal = repo.journal("hello")
    journal.path.parent.mkdir(parents=True, exist_ok=True)
    journal.path.write_text(json.dumps({"a.yaml": hashlib.sha256(b"ours\n").hexdigest(), "gone.yaml": None}))
    (clone / "a.yaml").write_bytes(b"ours\n")
    assert journal.explains(clone, "a.yaml") and journal.explains(clone, "gone.yaml")
    (clone / "a.yaml").write_bytes(b"edited\n")
    assert not journal.explains(clone, "a.yaml")
    (clone / "gone.yaml").write_bytes(b"ours\n")
    assert not journal.explains(clone, "gone.yaml")  # meant to be gone, and it is there


def test_lock_serialises_runs_in_one_work_tree(git_remote: tuple[Path, Path]) -> None:
    _, clone = git_remote
    repo = Repo.discover(clone)
    order: list[str] = []

    def second() -> None:
        with Repo.discover(clone).lock():
            order.append("second")

    with repo.lock():
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.2)
        order.append("first")
    thread.join()
    assert order == ["first", "second"]


# -- messages -----------------------------------------------------------------------------------------------

RECORD = Record("hello", "prod", "step", 2, 3, 20, "ghcr.io/kmaster8/hello:v2", "step 2/3: 20% to v2", "Why.")


def test_default_message_and_trailers() -> None:
    assert compose(RECORD) == (
        "hello/prod: step 2/3: 20% to v2\n\nWhy.\n\n"
        "Rollgen-Release: hello\nRollgen-Environment: prod\nRollgen-Action: step\nRollgen-Step: 2/3\n"
        "Rollgen-Weight: 20\nRollgen-Image: ghcr.io/kmaster8/hello:v2\n"
    )
    assert DEFAULT_TEMPLATE.startswith("{{ release }}/{{ environment }}: ")


def test_template_cannot_forge_or_drop_trailers() -> None:
    message = compose(RECORD, "{{ summary }}\n\nRollgen-Action: abort\nRollgen-Weight: 0")
    assert parse_trailers(message)["Rollgen-Action"] == "step"
    assert message.count("Rollgen-Action") == 1


def test_template_values_are_not_templates() -> None:
    record = Record("hello", "prod", "deploy", 0, 3, 100, "img:v1", "{{ 7 * 7 }}", "{% raw %}")
    message = compose(record, "{{ summary }} {{ details }}")
    assert message.startswith("{{ 7 * 7 }} {% raw %}\n")


@pytest.mark.parametrize(
    "template, error",
    [
        ("{{ release.__class__.__mro__ }}", "SecurityError|UndefinedError"),
        ("{{ nope }}", "UndefinedError"),
        ("{% for %}", "TemplateSyntaxError"),
        ("{{ '' }}", "empty message"),
    ],
)
def test_bad_templates_are_user_errors(template: str, error: str) -> None:
    with pytest.raises(RollgenError, match=error):
        compose(RECORD, template)


# -- rollgen.yaml -------------------------------------------------------------------------------------------


def test_config_defaults_without_a_file(tmp_path: Path) -> None:
    config = config_module.load(tmp_path)
    assert (config.releases, config.output, config.remote, config.branch, config.author) == (
        "releases", ".", "origin", None, None
    )
    assert config.output_prefix() == "" and config.push_attempts == 5


def test_config_full(tmp_path: Path) -> None:
    (tmp_path / "rollgen.yaml").write_text(
        "apiVersion: rollgen.io/v1alpha1\nkind: Config\nreleases: specs\noutput: deploy/\nprofiles: profiles\n"
        "git: {remote: upstream, branch: prod-config, pushAttempts: 3, pushBackoff: 2s}\n"
        "commit:\n  author: {name: bot, email: bot@example.com}\n  template: '{{ summary }}'\n"
        "argocd: {project: default, repoURL: 'https://git.example.com/c.git'}\n"
        "flux: {interval: 1m, url: 'https://git.example.com/c.git'}\n"
    )
    config = config_module.load(tmp_path)
    assert config.releases_dir == tmp_path / "specs" and config.output_prefix() == "deploy/"
    assert (config.remote, config.branch, config.push_attempts, config.push_backoff) == ("upstream", "prod-config", 3, 2.0)
    assert config.author == Author("bot", "bot@example.com") and config.commit_template == "{{ summary }}"
    assert config.argocd == {"project": "default", "repoURL": "https://git.example.com/c.git"}
    assert config.flux == {"interval": "1m", "url": "https://git.example.com/c.git"}


def test_config_problems_are_located(tmp_path: Path) -> None:
    (tmp_path / "rollgen.yaml").write_text("output: ../outside\ngit:\n  remtoe: origin\n")
    with pytest.raises(InvalidInput) as caught:
        config_module.load(tmp_path)
    lines = [p.format() for p in caught.value.problems]
    assert lines == [
        "rollgen.yaml:3:3: $.git.remtoe: unknown field 'remtoe'; did you mean 'remote'?",
        (
            "rollgen.yaml:1:9: $.output: must be a relative path inside the repository (no leading /, no .., "
            "no backslashes)"
        ),
    ]


def test_schema_file_is_valid() -> None:
    import json

    import jsonschema

    from generator.resources import schema_path

    jsonschema.Draft202012Validator.check_schema(json.loads(schema_path("config.schema.json").read_text()))
    assert os.path.basename(schema_path("config.schema.json")) == "config.schema.json"


@pytest.mark.parametrize("details", ["Why.", "", "two\nlines", "  padded  "])
def test_default_text_is_the_default_template(details: str) -> None:
    from generator.gitops.messages import _default_text, render_text

    record = Record("hello", "prod", "step", 2, 3, 20, "img:v2", "step 2/3", details)
    assert _default_text(record.variables()) == render_text(DEFAULT_TEMPLATE, record.variables())


def test_plumbing_and_porcelain_commits_agree(git_remote: tuple[Path, Path], tmp_path: Path) -> None:
    """Without hooks rollgen commits through plumbing; with one, through `git commit`: the same result."""
    remote, clone = git_remote
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    hook = other / ".git" / "hooks" / "post-commit"
    hook.write_text("#!/bin/sh\ntouch \"$(git rev-parse --git-dir)/post-commit-ran\"\n")
    hook.chmod(0o755)
    env = {"GIT_AUTHOR_DATE": "2024-05-01T12:00:00Z", "GIT_COMMITTER_DATE": "2024-05-01T12:00:00Z"}
    made = []
    for path in (clone, other):
        repo = Repo.discover(path)
        repo.env.update(env)
        (path / "apps").mkdir()
        (path / "apps" / "a.yaml").write_text("a: 1\n")
        made.append(repo.commit(["apps/a.yaml"], "hello/prod: deploy\n\nRollgen-Action: deploy\n", BOT))
    assert made[0] == made[1]  # byte-identical commits
    assert (other / ".git" / "post-commit-ran").exists()
    # second round: change, delete (emptying a folder), add deep, keep a sibling folder untouched
    for path in (clone, other):
        (path / "apps" / "a.yaml").write_text("a: 2\n")
        (path / "apps" / "b" / "c").mkdir(parents=True)
        (path / "apps" / "b" / "c" / "d.yaml").write_text("d\n")
        (path / "keep").mkdir()
        (path / "keep" / "k.txt").write_text("k\n")
        git(path, "add", "keep")
        git(path, "commit", "-q", "-m", "keep", "--date", "2024-05-01T12:00:00Z")
    round_two = []
    for path in (clone, other):
        repo = Repo.discover(path)
        repo.env.update(env)
        round_two.append(repo.commit(["apps/a.yaml", "apps/b/c/d.yaml"], "round two\n", BOT))
        (path / "apps" / "b" / "c" / "d.yaml").unlink()
        round_two.append(repo.commit(["apps/b/c/d.yaml"], "drop d\n", BOT))
    assert round_two[:2] != [None, None]
    assert git(clone, "rev-parse", "HEAD^{tree}") == git(other, "rev-parse", "HEAD^{tree}")
    assert git(clone, "ls-tree", "-r", "--name-only", "HEAD").split() == ["README.md", "apps/a.yaml", "keep/k.txt"]
    assert git(clone, "reflog", "-1", "--format=%gs").strip() == "commit: drop d"
    assert git(clone, "status", "--porcelain") == ""


def test_config_validation_is_cached_only_while_the_file_is_unchanged(tmp_path: Path) -> None:
    marker = tmp_path / "validated"
    (tmp_path / "rollgen.yaml").write_text("git: {remote: origin}\n")
    config_module.load(tmp_path, validated=marker)
    assert marker.read_text()
    (tmp_path / "rollgen.yaml").write_text("git: {remote: 'not a remote!'}\n")
    with pytest.raises(InvalidInput, match="remote"):
        config_module.load(tmp_path, validated=marker)
