"""Regression tests for the bugs the hardening corpus found, one each, next to the fix's commit."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.cli import main
from tests.hardening.corpus import sub


def _validate(capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str) -> list[str]:
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    assert main(["validate", str(spec)]) == 1
    out, err = capsys.readouterr()
    assert err == "1 file, 1 problem\n"
    return out.splitlines()


def test_a_too_long_value_without_a_pattern_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # was: "'1+1+...' (20001 characters, at most 10000) is not a string matching ''"
    text = sub("query: histogram_quantile(0.99, sum(rate(x[1m])) by (le))", "query: " + "1+" * 10_000 + "1")
    [line] = _validate(capsys, tmp_path, text)
    assert line.endswith("$.spec.analysis.metrics[1].query: '1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1"
                         "+1+1+1...' (20001 characters, at most 10000) is too long; shorten it"), line


def test_an_empty_value_without_a_pattern_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = sub("query: histogram_quantile(0.99, sum(rate(x[1m])) by (le))", "query: ''")
    [line] = _validate(capsys, tmp_path, text)
    assert line.endswith(":29:16: $.spec.analysis.metrics[1].query: '' is too short: give at least 1 character(s)")


@pytest.mark.parametrize(("edit", "expected"), [
    # was: "...second occurrence (found duplicate anchor; ...); check the indentation and quoting around here"
    (("  labels: {team: web}", "  labels: {a: &x one, b: &x two}"), (":6:26: $: YAML syntax error: second occurrence "
     "(found duplicate anchor; first occurrence started at line 6); give each anchor (`&name`) a different name")),
    # was: "...found invalid Unicode character escape code (...); check the indentation and quoting around here"
    (("namespace: test", 'namespace: "te\\ud800st"'), (":5:19: $: YAML syntax error: found invalid Unicode character "
     "escape code (while parsing a quoted scalar started at line 5); fix the backslash escape (\\uXXXX names a "
     "character, not a UTF-16 half), or use single quotes")),
])
def test_syntax_hints_read_libyamls_context_and_escapes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, edit: tuple[str, str], expected: str
) -> None:
    [line] = _validate(capsys, tmp_path, sub(*edit))
    assert line.endswith(expected), line


def test_unknown_keys_in_rollgen_yaml_are_located_at_the_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # was: "rollgen.yaml:1:1: $: Additional properties are not allowed ('outptu' was unexpected)"
    (tmp_path / "rollgen.yaml").write_text(
        "apiVersion: rollgen.io/v1alpha1\nkind: Config\noutptu: out\ngit: {remote: origin, brnch: main}\n"
    )
    (tmp_path / "spec.yaml").write_text(sub("name: hello", "name: hello"))
    assert main(["validate", str(tmp_path / "spec.yaml")]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "rollgen.yaml:3:1: $.outptu: unknown field 'outptu'; did you mean 'output'?",
        "rollgen.yaml:4:23: $.git.brnch: unknown field 'brnch'; did you mean 'branch'?",
    ]


def test_release_prints_spec_problems_as_validate_does(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # was: "rollgen: releases/x.yaml:4:9: ..." (the first problem prefixed, the others not) and no JSON
    import json
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    spec = tmp_path / "bad.yaml"
    spec.write_text(sub("name: hello", "name: Hello").replace("replicas: 3", "replicas: -1"))
    assert main(["release", str(spec), "--repo", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        ("bad.yaml:4:9: $.metadata.name: 'Hello' is not a DNS-1123 label: lower-case letters, digits and '-', "
         "starting and ending with a letter or digit, at most 63 characters"),
        "bad.yaml:11:13: $.spec.replicas: -1 is out of range: must be from 0 to 1000",
    ]
    assert main(["release", str(spec), "--repo", str(tmp_path), "--format", "json"]) == 1
    out, err = capsys.readouterr()
    assert err == ""
    assert [p["path"] for p in json.loads(out)["problems"]] == ["$.metadata.name", "$.spec.replicas"]


def test_the_next_write_removes_a_killed_runs_temporary_folders(tmp_path: Path) -> None:
    # was: a render killed with SIGKILL left .rollgen-tmp-* (half-written files) in the output folder for good,
    # untracked files at the root of a config repo
    import subprocess
    import sys

    from generator.render.emit import emit
    from generator.gitops.writer import write_tree

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True).stdout.strip()
    leftovers = [tmp_path / f".rollgen-tmp-{dead}-x1", tmp_path / ".rollgen-tmp-oldname"]
    live = tmp_path / f".rollgen-tmp-{__import__('os').getpid()}-x2"  # a concurrent writer: left alone
    for folder in (*leftovers, live):
        folder.mkdir()
        (folder / "0").write_bytes(b"# Generated by rollgen from x. Do not edit: change the spec and run rol")
    write_tree(tmp_path, {"apps/a/f.yaml": emit({"a": 1}, "x")}, ["apps/a"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, "apps"])


def _released_repo(tmp_path: Path) -> tuple[Path, list[str]]:
    import subprocess

    from tests.hardening.test_faults import config_repo

    repo = config_repo(tmp_path / "repo")
    release = ["release", str(repo / "releases" / "hello.yaml"), "--repo", str(repo), "--now", "2024-05-01T00:00:00Z"]
    subprocess.run(["git", "config", "user.name", "t"], cwd=repo, check=True)
    subprocess.run(["git", "config", "user.email", "t@example.com"], cwd=repo, check=True)
    return repo, release


def test_a_lock_file_left_by_a_killed_git_is_removed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # was: "git checkout failed: fatal: Unable to create '.../.git/index.lock': File exists" on every later run,
    # after rollgen's process group (git included) was killed mid-command
    import os
    import time

    repo, release = _released_repo(tmp_path)
    locks = [repo / ".git" / "index.lock", repo / ".git" / "refs" / "heads" / "main.lock"]
    for lock in locks:
        lock.write_bytes(b"")
        os.utime(lock, (time.time() - 5, time.time() - 5))
    assert main(release) == 0
    err = capsys.readouterr().err
    assert all(f"rollgen: removed {lock}: a git process killed while it held it" in err for lock in locks), err
    assert not [lock for lock in locks if lock.exists()]


def test_a_lock_file_someone_holds_open_is_left_alone(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    repo, release = _released_repo(tmp_path)
    lock = repo / ".git" / "index.lock"
    with lock.open("wb"), pytest.MonkeyPatch.context() as patch:  # a git at work (waiting for its editor, say)
        patch.setenv("ROLLGEN_GIT_LOCK_WAIT", "0.2")
        assert main(release) == 1
        assert lock.exists()
    assert f"{lock} exists and process {__import__('os').getpid()} holds it" in capsys.readouterr().err
    lock.unlink()  # that git is done: the next run finishes the job, once
    assert main(release) == 0
    from tests.conftest import git
    from tests.hardening.test_faults import actions

    assert git(repo, "status", "--porcelain") == ""
    assert actions(repo) == {(env, "deploy", "0/3", "ghcr.io/kmaster8/hello:v1"): 1 for env in ("dev", "staging", "prod")}
