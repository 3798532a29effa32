"""Issue 23, items 6-9 and 11-16: the emergency brake (`abort`, and `promote`, a person's decision) acts whatever
the clock, the spec or the fleet around it say; and what rollgen says is true. Through the CLI on real git."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from generator.cli import main
from tests.conftest import ROOT, git
from tests.hardening.test_faults import (
    ENVS,
    assert_consistent,
    at,
    calibrate,
    config_repo,
    finish,
    killed,
    set_image,
)


def cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def state(repo: Path, env: str = "prod", name: str = "hello") -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load((repo / f"apps/{name}/overlays/{env}/rollgen-state.yaml").read_text())
    return loaded


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def canary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A config repo whose prod (like every environment) runs a canary of v2, started at at(1)."""
    repo = config_repo(tmp_path / "repo")
    spec = repo / "releases" / "hello.yaml"
    assert cli(capsys, "release", spec, "--repo", repo, "--now", at(0))[0] == 0
    set_image(repo, "v2")
    assert cli(capsys, "release", spec, "--repo", repo, "--now", at(1))[0] == 0
    assert state(repo)["phase"] == "progressing"
    return repo


# -- 6: a clock behind the step -------------------------------------------------------------------------------

SKEWED = at(0, 58, 30)  # 90 s before the canary's start at(1)


@pytest.mark.parametrize("command", ["abort", "promote"])
def test_a_clock_90_s_behind_the_step_does_not_stop_the_brake(
    canary: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    # was: "the time given ... is before the current step began", exit 1, nothing committed
    before = head(canary)
    code, out, err = cli(capsys, command, "hello", "--env", "prod", "--repo", canary, "--now", SKEWED)
    assert code == 0, out + err
    assert head(canary) != before
    assert state(canary)["phase"] == ("aborted" if command == "abort" else "progressing")
    assert state(canary)["since"] == at(1)  # recorded times never go backwards
    assert f"the time given ({SKEWED}) is before the last recorded one ({at(1)})" in err
    assert git(canary, "status", "--porcelain") == ""


def test_a_rollback_release_acts_with_the_clock_behind(canary: Path, capsys: pytest.CaptureFixture[str]) -> None:
    set_image(canary, "v1")  # the spec back on the stable image: the release aborts the canary
    code, out, err = cli(capsys, "release", canary / "releases/hello.yaml", "--env", "prod", "--repo", canary,
                         "--now", SKEWED)
    assert code == 0, out + err
    assert (state(canary)["phase"], state(canary)["since"]) == ("aborted", at(1))


def test_a_clock_far_behind_does_not_let_the_next_runner_skip_a_pause(
    canary: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A promote from a clock a year behind: recorded as given, step 2's 5m pause would be long over at once.
    code, out, err = cli(capsys, "promote", "hello", "--env", "prod", "--repo", canary, "--now", "2023-05-01T01:00:00Z")
    assert code == 0, out + err
    assert state(canary)["step"] == 2 and state(canary)["since"] == at(1)
    before = head(canary)
    code, out, _ = cli(capsys, "advance", "hello", "--env", "prod", "--repo", canary, "--now", at(1, 4, 59))
    assert (code, head(canary)) == (0, before) and "nothing to do yet" in out, out
    assert cli(capsys, "advance", "hello", "--env", "prod", "--repo", canary, "--now", at(1, 5))[0] == 0
    assert state(canary)["step"] == 3


def test_a_mistyped_future_now_acts_and_is_warned_about(canary: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "abort", "hello", "--env", "prod", "--repo", canary, "--now", "2999-05-01T01:00:00Z")
    assert code == 0, out + err
    assert "rollgen: warning: --now 2999-05-01T01:00:00Z is " in err and "ahead of this machine's clock" in err
    # and then a rollback from the right clock still acts, its time no earlier than the one recorded
    set_image(canary, "v3")
    code, out, err = cli(capsys, "release", canary / "releases/hello.yaml", "--env", "prod", "--repo", canary)
    assert code == 0, out + err
    assert state(canary)["phase"] == "progressing" and state(canary)["since"] == "2999-05-01T01:00:00Z"
    code, out, err = cli(capsys, "abort", "hello", "--env", "prod", "--repo", canary)
    assert code == 0 and state(canary)["phase"] == "aborted", out + err


def test_a_now_near_the_clock_is_not_warned_about(canary: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "abort", "hello", "--env", "prod", "--repo", canary)  # the machine's clock
    assert code == 0 and "warning" not in err, out + err


@pytest.mark.slow
def test_kill_9_during_abort_with_the_clock_behind(canary: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(23)
    spec = canary / "releases" / "hello.yaml"
    abort = ["abort", "hello", "--env", "prod", "--now", SKEWED]
    took = calibrate(["abort", "hello", "--env", "dev", "--now", SKEWED, "--repo", str(canary)])  # the same work
    kills = 0
    for round_ in range(6):
        if round_:
            set_image(canary, f"v{round_ + 2}")
            assert cli(capsys, "release", spec, "--env", "prod", "--repo", canary, "--now", at(1))[0] == 0
        code = killed([*abort, "--repo", str(canary)], rng.uniform(0.2, 1.0) * took, group=rng.random() < 0.5)
        kills += code is None
        assert code in (None, 0)
        finish(canary, capsys, *abort)  # the next run completes: aborted, a clean tree
        assert (state(canary)["phase"], state(canary)["since"]) == ("aborted", at(1))
        assert_consistent(canary, capsys, f"round {round_}")
    print(f"abort kills landed: {kills} of 6")
    assert kills >= 1


# -- 7, 8: abort acts on what runs, whatever became of the spec ------------------------------------------------


def _commit_spec(repo: Path, text: str | None, message: str, path: str = "releases/hello.yaml") -> None:
    spec = repo / path
    if text is None:
        git(repo, "rm", "-q", path)
    else:
        spec.parent.mkdir(parents=True, exist_ok=True)
        spec.write_text(text)
        git(repo, "add", path)
    git(repo, "commit", "-q", "-m", message)


def _spec(repo: Path) -> str:
    return (repo / "releases/hello.yaml").read_text()


def _assert_aborted_prod_only(repo: Path, before: str, code: int, out: str, err: str) -> None:
    assert code == 0, out + err
    assert state(repo)["phase"] == "aborted"
    assert state(repo, "staging")["phase"] == "progressing"
    changed = git(repo, "diff", "--name-only", before, "HEAD").split()
    assert changed and all(p.startswith("apps/hello/overlays/prod/") for p in changed), changed
    assert "acting on what runs, with releases/hello.yaml as of commit" in err, err
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.parametrize("case", ["invalid", "deleted", "moved-away", "renamed-release", "environment-removed"])
def test_abort_acts_on_what_runs_whatever_became_of_the_spec(
    canary: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    # was: the validation error only (invalid), "no spec for release 'hello'" (deleted, moved), "is release
    # 'hi', not 'hello'", "hello has no environment prod" (removed), exit 1 and nothing committed
    text = _spec(canary)
    if case == "invalid":  # committed past the hooks
        _commit_spec(canary, text.replace("weight: 30", "weight: 300"), "a bad edit")
    elif case == "deleted":
        _commit_spec(canary, None, "remove the spec")
    elif case == "moved-away":
        _commit_spec(canary, None, "move the spec")
        _commit_spec(canary, text, "move the spec", "elsewhere/hello.yaml")
    elif case == "renamed-release":
        _commit_spec(canary, text.replace("name: hello,", "name: hi,"), "rename the release")
    else:
        _commit_spec(canary, text.replace("    - {name: prod}\n", ""), "drop prod from the spec")
    before = head(canary)
    code, out, err = cli(capsys, "abort", "hello", "--env", "prod", "--repo", canary, "--now", at(1, 1))
    _assert_aborted_prod_only(canary, before, code, out, err)


def test_abort_without_any_valid_spec_in_history_says_what_to_do(
    canary: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # an overlay no spec ever described (copied by hand), its spec then deleted: nothing can render it
    import shutil

    shutil.copytree(canary / "apps/hello/overlays/prod", canary / "apps/hello/overlays/qa")
    git(canary, "add", "apps")
    git(canary, "commit", "-q", "-m", "a copied overlay")
    _commit_spec(canary, None, "remove the spec")
    before = head(canary)
    code, out, err = cli(capsys, "abort", "hello", "--env", "qa", "--repo", canary, "--now", at(1, 1))
    assert code == 1, out + err
    assert "no commit of apps/hello/ holds a valid spec that describes qa: restore the spec" in err, err
    assert head(canary) == before


def test_abort_of_an_environment_where_nothing_runs_says_so_as_before(
    canary: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _commit_spec(canary, _spec(canary).replace("weight: 30", "weight: 300"), "a bad edit")
    code, out, err = cli(capsys, "abort", "hello", "--env", "nowhere", "--repo", canary, "--now", at(1, 1))
    assert code == 1, out + err
    assert err == ("releases/hello.yaml:15:20: $.spec.strategy.canary.steps[1].weight: 300 is out of range: must "
                   "be from 1 to 99\n"), err  # as before
    git(canary, "revert", "--no-edit", "HEAD")  # a valid spec: the usual answer to a typo
    code, out, err = cli(capsys, "abort", "hello", "--env", "nowhere", "--repo", canary, "--now", at(1, 1))
    assert code == 1 and err == "rollgen: hello has no environment nowhere; its environments are: dev, staging, prod\n"


def _second_release(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`web`, a copy of hello on other hosts, in a canary started at at(1) too."""
    from tests.hardening.test_faults import SPEC

    web = repo / "releases" / "web.yaml"
    for image in ("v1", "v2"):
        _commit_spec(repo, SPEC.replace("hello", "web").replace("IMAGE", image), f"web {image}", "releases/web.yaml")
        assert cli(capsys, "release", web, "--repo", repo, "--now", at(0) if image == "v1" else at(1))[0] == 0


def test_advance_all_with_a_deleted_spec_reports_that_release_and_steps_the_others(
    canary: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _second_release(canary, capsys)
    _commit_spec(canary, None, "remove hello's spec")
    code, out, err = cli(capsys, "advance", "--all", "--repo", canary, "--now", at(1, 6))
    assert code == 1, out + err
    assert all(f"rollgen: hello/{env}: failed: no spec for release 'hello'" in err for env in ENVS), err
    assert all(f"it cannot step without one: restore the spec, or `rollgen abort hello --env {env}` (it acts on "
               "what runs)" in err for env in ENVS), err
    assert all(state(canary, env, "web")["step"] == 2 for env in ENVS)
    assert "advance --all: 3 moved, 0 held, 3 failed" in out


# -- 9: an in-flight environment removed from its spec ---------------------------------------------------------


def test_advance_all_with_an_in_flight_environment_gone_from_its_spec_steps_the_rest(
    canary: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: internal error (KeyError: 'staging'), exit 3, nothing moved
    _second_release(canary, capsys)
    _commit_spec(canary, _spec(canary).replace("    - {name: staging, namespace: staging, host: hello.staging.example.com}\n", ""),
                 "drop staging")
    code, out, err = cli(capsys, "advance", "--all", "--repo", canary, "--now", at(1, 6))
    assert code == 1, out + err
    assert "rollgen: hello/staging: failed: hello/staging is in flight but no longer in releases/hello.yaml" in err
    assert "internal error" not in err
    assert (state(canary, "dev")["step"], state(canary, "prod")["step"], state(canary, "staging")["step"]) == (2, 2, 1)
    assert all(state(canary, env, "web")["step"] == 2 for env in ENVS)
    assert "advance --all: 5 moved, 0 held, 1 failed" in out
    # and the brake still works on it
    code, out, err = cli(capsys, "abort", "hello", "--env", "staging", "--repo", canary, "--now", at(1, 7))
    assert code == 0 and state(canary, "staging")["phase"] == "aborted", out + err


# -- 11: the file system's and the pipe's answers are not bugs ---------------------------------------------------


def _process(args: list[str | Path], home: Path, stdout: int | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "generator", *map(str, args)], cwd=ROOT, env=env, stdout=stdout,
                          stderr=subprocess.PIPE, text=True, check=False, timeout=120)


def test_a_reader_gone_away_is_a_quiet_exit(canary: Path, tmp_path: Path) -> None:
    # was: internal error (BrokenPipeError), exit 3, a crash log
    read, write = os.pipe()
    os.close(read)  # `| head -1` that has read its line: every write now fails with EPIPE
    try:
        result = _process(["history", "hello", "--repo", canary], tmp_path / "cache", write)
    finally:
        os.close(write)
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""
    assert not (tmp_path / "cache").exists()  # no crash log


@pytest.mark.parametrize("command", [["validate", "releases/hello.yaml"], ["status"], ["history", "hello"]])
def test_a_closed_stdout_is_no_crash(canary: Path, tmp_path: Path, command: list[str]) -> None:
    # was (validate): internal error (AttributeError: 'NoneType' object has no attribute 'write'), a crash log
    args: list[str | Path] = [*command, "--repo", canary] if command[0] != "validate" else ["validate", canary / command[1]]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, "-m", "generator", *map(str, args)], cwd=ROOT, env=env,
                            stderr=subprocess.PIPE, text=True, check=False, timeout=120,
                            preexec_fn=lambda: os.close(1))  # `rollgen ... >&-`
    assert result.returncode == 0, result.stderr
    assert "internal error" not in result.stderr
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("out", ["/proc/rollgen-out", "/sys/rollgen-out"])
def test_an_unwritable_out_is_said_plainly(canary: Path, tmp_path: Path, out: str) -> None:
    # was: internal error (FileNotFoundError / PermissionError), exit 3 (/proc and /sys refuse even root)
    result = _process(["render", canary / "releases/hello.yaml", "--out", out], tmp_path / "cache", subprocess.PIPE)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(f"rollgen: --out {out}: cannot write {out}: ") and result.stderr.count("\n") == 1
    assert not (tmp_path / "cache").exists()


# -- 14: one state, one weight in every JSON output ------------------------------------------------------------


def _status_json(capsys: pytest.CaptureFixture[str], repo: Path, env: str) -> dict[str, object]:
    code, out, err = cli(capsys, "status", "--repo", repo, "--format", "json")
    assert code == 0, out + err
    found = [e for e in json.loads(out)["environments"] if e["environment"] == env]
    assert len(found) == 1
    entry: dict[str, object] = found[0]
    return entry


@pytest.mark.parametrize("command", [["promote", "--full"], ["promote"], ["abort"], ["advance"]])
def test_committing_commands_and_status_agree_on_the_state_they_show(
    canary: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    # was: promote's JSON said weight 0 with an activeColour for a canary release now stable; status said 100
    for hour in (2, 3):  # promote --full twice: the second finishes the promotion (stable)
        code, out, err = cli(capsys, command[0], "hello", "--env", "prod", *command[1:], "--repo", canary,
                             "--now", at(hour), "--format", "json")
        assert code == 0, out + err
        shown = json.loads(out)["results"][0]["state"]
        status = _status_json(capsys, canary, "prod")
        assert {k: status[k] for k in shown} == shown, (shown, status)
        assert "activeColour" not in shown
    if command == ["promote", "--full"]:
        assert shown["phase"] == "stable" and shown["weight"] == 100


# -- 13: folder mode reports what it does not take --------------------------------------------------------------

def _hello(name: str = "hello") -> str:
    from tests.hardening.test_faults import SPEC

    return SPEC.replace("IMAGE", "v1").replace("name: hello,", f"name: {name},")


def test_folder_mode_reports_a_misspelled_kind_and_empty_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # was: skipped in silence, "1 file, 0 problems", exit 0
    folder = tmp_path / "releases"
    folder.mkdir()
    (folder / "a.yaml").write_text(_hello())
    (folder / "b.yaml").write_text(_hello("other").replace("kind: Release", "kind: Relase"))
    (folder / "c.yaml").write_text("")
    (folder / "d.yml").write_text("# to do\n---\n")
    (folder / "profile.yaml").write_text("apiVersion: rollgen.io/v1alpha1\nkind: Profile\nmetadata: {name: p}\n")
    (folder / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    for command in (["validate", folder], ["render", folder, "--out", tmp_path / "out"]):
        code, out, err = cli(capsys, *command)
        assert code == 1, out + err
        lines = (out + err).splitlines()
        assert f"{folder}/b.yaml:2:7: $.kind: the file has rollgen's apiVersion but kind 'Relase', which is not " \
               "one rollgen knows (Release, Profile, Config); did you mean `kind: Release`? a release spec says " \
               "`kind: Release`" in lines
        for empty in ("c.yaml", "d.yml"):
            assert any(line.startswith(f"{folder}/{empty}: the file is empty") for line in lines), lines
        assert not any("profile.yaml" in line or "cm.yaml" in line for line in lines), lines
    assert not (tmp_path / "out").exists()


def test_folder_validate_reports_two_specs_of_one_name_as_render_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: validate said "2 files, 0 problems" where render refused (outside a config repository)
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "a.yaml").write_text(_hello())
    (folder / "b.yaml").write_text(_hello().replace("hello.example.com", "b.example.com"))
    code, out, err = cli(capsys, "validate", folder, folder)
    assert code == 1, out + err
    assert out == (f"{folder}/b.yaml:3:18: $.metadata.name: release 'hello' is also defined in {folder}/a.yaml: "
                   "both would write apps/hello/; rename one of them (metadata.name)\n")
    assert err == "2 files, 1 problem\n"
    assert cli(capsys, "render", folder, "--out", tmp_path / "out")[0] == 1
    # files named one by one outside a repository are alternatives, as before
    assert cli(capsys, "validate", folder / "a.yaml", folder / "b.yaml")[0] == 0


# -- 16: what the API server refuses, validate refuses --------------------------------------------------------


def test_validate_refuses_config_keys_and_env_entries_the_api_server_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: "1 file, 0 problems"; the API server then refused the ConfigMap and the Deployment
    spec = tmp_path / "hello.yaml"
    spec.write_text(_hello().replace("  environments:\n", (
        "  container:\n"
        "    env:\n"
        "      - {name: A, value: x, valueFrom: {secretKeyRef: {name: s, key: k}}}\n"
        "      - {name: B, value: '', valueFrom: {secretKeyRef: {name: s, key: k}}}\n"
        "  config:\n"
        "    literals: {'.': a, '..': b, '..x': c, .ok: d, a..b: e}\n"
        "  environments:\n"
    )).replace("    - {name: prod}\n", "    - {name: prod, config: {files: {..data: x}}}\n"))
    code, out, err = cli(capsys, "validate", spec)
    assert code == 1, out + err
    keys = "Kubernetes refuses '.', '..' and keys that start with '..'"
    assert out.splitlines() == [
        f"{spec}:19:40: $.spec.container.env[0].valueFrom: env 'A' has both `value` and `valueFrom`; Kubernetes "
        "refuses that: keep one of them",
        f"{spec}:22:16: $.spec.config.literals['.']: config key '.': {keys} (the mounted folder keeps its own "
        "..data there); rename it",
        f"{spec}:22:24: $.spec.config.literals['..']: config key '..': {keys} (the mounted folder keeps its own "
        "..data there); rename it",
        f"{spec}:22:33: $.spec.config.literals['..x']: config key '..x': {keys} (the mounted folder keeps its "
        "own ..data there); rename it",
        f"{spec}:26:37: $.spec.environments[2].config.files['..data']: config key '..data': {keys} (the mounted "
        "folder keeps its own ..data there); rename it",
    ]


# -- 15: messages that tell the truth ---------------------------------------------------------------------------


def test_advance_help_does_not_promise_a_default_environment(capsys: pytest.CaptureFixture[str]) -> None:
    # was: "--env ENV  only this environment (default: every environment of the spec, in its order)"
    with pytest.raises(SystemExit):
        main(["advance", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "default: every environment" not in text
    assert "--env ENV the environment, as the spec names it (required with NAME); with --all, only this " \
           "environment of every release" in text


def test_an_uppercase_image_gets_the_right_hint(canary: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # was: "is not an image reference with a tag or a digest", of an image with a tag
    wrong, right = "ghcr.io/KMaster8/Hello:V2", "ghcr.io/kmaster8/hello:V2"
    spec = canary / "releases/hello.yaml"
    spec.write_text(_spec(canary).replace("ghcr.io/kmaster8/hello:v2", wrong))
    code, out, err = cli(capsys, "validate", spec)
    assert code == 1
    assert out == (f"{spec}:6:10: $.spec.image: '{wrong}' has capitals in its repository path, which an image "
                   f"reference cannot have; write {right}\n")
    git(canary, "checkout", "--", "releases")
    code, out, err = cli(capsys, "set-image", "hello", wrong, "--repo", canary)
    assert code == 2
    assert err == (f"rollgen: '{wrong}' has capitals in its repository path, which an image reference cannot "
                   f"have; write {right}\n")


def test_set_image_refuses_an_image_ending_in_a_newline(canary: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # was: accepted, and written into the spec
    before = _spec(canary)
    code, out, err = cli(capsys, "set-image", "hello", "ghcr.io/kmaster8/hello:v3\n", "--repo", canary)
    assert code == 2, out + err
    assert err.startswith("rollgen: 'ghcr.io/kmaster8/hello:v3\\n' is not an image reference")
    assert _spec(canary) == before


@pytest.mark.parametrize("existing", [False, True])
def test_init_without_a_git_identity_says_how_and_leaves_nothing(tmp_path: Path, existing: bool) -> None:
    # was: "set commit.author in rollgen.yaml" (a file init had just taken back), and .git left behind
    target = tmp_path / "config"
    if existing:
        target.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), GIT_CONFIG_NOSYSTEM="1",
               PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "generator", "init", str(target)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 1, result.stderr
    assert result.stderr == (
        "rollgen: git has no identity to commit with, and rollgen init commits the repository it makes: set one "
        "(git config --global user.name 'Your Name' and git config --global user.email you@example.com), then "
        "run rollgen init again. Nothing was written\n"
    )
    assert not (target / ".git").exists()
    assert list(target.iterdir()) == [] if existing else not target.exists()


def test_the_hold_message_after_steps_were_removed_names_the_step_that_runs(
    canary: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: "the canary at step 2/2 (30%) holds", while step 3 at 60% runs
    for minute in (1, 2):
        assert cli(capsys, "promote", "hello", "--env", "prod", "--repo", canary, "--now", at(1, minute))[0] == 0
    _commit_spec(canary, _spec(canary).replace("        - {weight: 60}\n", ""), "two steps")
    code, out, err = cli(capsys, "advance", "hello", "--env", "prod", "--repo", canary, "--now", at(1, 3))
    assert code == 0, out + err
    assert out == ("hello/prod: nothing to do yet: the canary at step 3 (60%), past the 2 steps the spec now has, "
                   f"so planned as step 2/2 holds until {at(1, 7)} (4m left)\n")


def test_the_corrupt_state_advice_does_not_skip_the_canary(canary: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # was: "... or delete it to start again from the spec's image": the next release then went straight to stable
    _commit_spec(canary, "phase: [\n", "a hand edit", "apps/hello/overlays/prod/rollgen-state.yaml")
    code, out, err = cli(capsys, "advance", "hello", "--env", "prod", "--repo", canary, "--now", at(1, 6))
    assert code == 1, out + err
    assert "delete it to start" not in err
    assert "restore it from git history" in err and "Do not delete it: without it the next release deploys the " \
           "spec's image straight to stable, skipping the canary" in err
