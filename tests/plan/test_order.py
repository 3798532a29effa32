"""environments[].after and soak through the CLI, real git and a bare remote (issue 24): a chain and a fan-out,
soak boundaries to the second, waiting shown by status, an aborted upstream, the explicit override, and the
tick's auto-start killed with SIGKILL."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests import factories
from tests.conftest import git
from tests.factories import V1, V2, ConfigRepo

T0 = "2024-05-01T12:00:00Z"

STEPS = """\
    canary:
      steps:
        - {weight: 10, pause: 5m}
        - {weight: 50, pause: 5m}
"""


def spec(image: str, envs: str, extra: str = "") -> str:
    return factories.spec_text(image, "argo-rollouts", STEPS, replicas=None, settle=None, extra=extra,
                               environments=envs)


CHAIN = """\
    - {name: dev, namespace: dev}
    - {name: staging, namespace: staging, after: dev, soak: 1h}
    - {name: prod, namespace: prod, after: staging, soak: 2h}
"""
FAN_OUT = """\
    - {name: staging, namespace: staging}
    - {name: prod-eu, namespace: prod-eu, after: staging, soak: 30m}
    - {name: prod-us, namespace: prod-us, after: staging, soak: 1h}
"""


def at(seconds: int) -> str:
    """T0 plus `seconds`, RFC 3339."""
    from datetime import datetime, timedelta, timezone

    moment = datetime(2024, 5, 1, 12, tzinfo=timezone.utc) + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


H = 3600


def tick(repo: ConfigRepo, seconds: int, *extra: str) -> tuple[int, str, str]:
    return repo.rollgen("advance", "--all", "--now", at(seconds), *extra)


def states(repo: ConfigRepo) -> dict[str, tuple[str, str]]:
    """env -> (phase, image the environment runs as stable), for the environments released."""
    out = {}
    for path in sorted((repo.path / "apps/hello/overlays").glob("*/rollgen-state.yaml")):
        state = repo.state(path.parent.name)
        out[path.parent.name] = (state["phase"], state["stableImage"])
    return out


def status(repo: ConfigRepo, now: str) -> dict[str, dict[str, Any]]:
    code, out, _ = repo.rollgen("status", "--format", "json", "--now", now)
    assert code == 0
    return {entry["environment"]: entry for entry in json.loads(out)["environments"]}


STAGING_THEN_PROD = "    - {name: staging, namespace: staging}\n    - {name: prod, namespace: prod, after: staging, soak: 30m}\n"


def prod_aborted_then_v3(repo: ConfigRepo, more_envs: str = "") -> None:
    """prod (after staging) aborts v2, then v3 is released at 4h (with `more_envs` after STAGING_THEN_PROD):
    prod waits for staging to promote v3."""
    from tests.factories import V3

    repo.write_spec(spec(V1, STAGING_THEN_PROD))
    assert repo.release(now=at(0))[0] == 0
    assert repo.rollgen("advance", "--all", "--now", at(H))[0] == 0
    repo.write_spec(spec(V2, STAGING_THEN_PROD), "v2")
    assert repo.release(now=at(2 * H))[0] == 0
    assert repo.act("promote", "--full", env="staging", now=at(2 * H + 60))[0] == 0
    assert repo.rollgen("advance", "--all", "--now", at(3 * H))[0] == 0  # prod starts v2
    assert repo.act("abort", env="prod", now=at(3 * H + 60))[0] == 0
    repo.write_spec(spec(V3, STAGING_THEN_PROD + more_envs), "v3")
    assert repo.release(now=at(4 * H))[0] == 0


def promote_through(repo: ConfigRepo, env: str, start: int) -> int:
    """Advance a canary started at `start` in `env` to its promotion (two 5m pauses); the time it promoted."""
    code, out, err = repo.act("advance", env=env, now=at(start + 300))
    assert code == 0 and "step 2/2" in out, out + err
    code, out, err = repo.act("advance", env=env, now=at(start + 600))
    assert code == 0 and "promote" in out, out + err
    return start + 600


def test_a_chain_takes_a_version_in_order_after_each_soak(repo: ConfigRepo) -> None:
    repo.write_spec(spec(V1, CHAIN))
    code, out, err = repo.release(now=T0)
    assert code == 0, err
    assert "hello/dev: deploy" in out
    assert "hello/staging: waiting: waits for ghcr.io/kmaster8/hello:v1 to soak in dev until 2024-05-01T13:00:00Z" in out
    assert "hello/prod: waiting: waits for staging to promote ghcr.io/kmaster8/hello:v1: staging is not released yet" in out
    assert states(repo) == {"dev": ("stable", V1)}
    shown = status(repo, at(60))
    assert shown["staging"]["phase"] == "waiting"
    assert shown["staging"]["waiting"]["for"] == "dev" and shown["staging"]["waiting"]["until"] == at(H)
    assert shown["prod"]["phase"] == "waiting" and shown["prod"]["waiting"]["until"] is None

    # one second before the soak ends: nothing; at the second it ends: staging is deployed by the tick
    before = repo.count()
    code, out, _ = tick(repo, H - 1)
    assert code == 0 and repo.count() == before, out
    assert "hello/staging: holds: waiting: waits for ghcr.io/kmaster8/hello:v1 to soak in dev until" in out
    code, out, _ = tick(repo, H)
    assert code == 0 and "hello/staging: deploy ghcr.io/kmaster8/hello:v1" in out, out
    assert repo.trailers()["Rollgen-Environment"] == "staging"
    assert states(repo) == {"dev": ("stable", V1), "staging": ("stable", V1)}
    code, out, _ = tick(repo, 3 * H)
    assert "hello/prod: deploy ghcr.io/kmaster8/hello:v1" in out, out

    # a new version: only dev starts; staging and prod wait, make no commit
    repo.write_spec(spec(V2, CHAIN), "v2")
    before = repo.count()
    code, out, _ = repo.release(now=at(3 * H))
    assert code == 0
    assert repo.count() == before + 1 and repo.trailers()["Rollgen-Environment"] == "dev"
    assert "hello/staging: waiting: waits for dev to promote ghcr.io/kmaster8/hello:v2: dev runs it as a canary" in out
    # dev promotes at 3h10m; staging starts at 4h10m (not a second before), prod 2h after staging's promotion
    done = promote_through(repo, "dev", 3 * H)
    code, out, _ = tick(repo, done + H - 1)
    assert "hello/staging: start" not in out and states(repo)["staging"] == ("stable", V1), out
    code, out, _ = tick(repo, done + H)
    assert "hello/staging: start canary of ghcr.io/kmaster8/hello:v2 at step 1/2 (10%)" in out, out
    trailers = repo.trailers()
    assert trailers["Rollgen-Environment"] == "staging" and trailers["Rollgen-Action"] == "start"
    assert "Rollgen-Override" not in trailers
    assert status(repo, at(done + H))["prod"]["phase"] == "waiting"
    staged = promote_through(repo, "staging", done + H)
    code, out, _ = tick(repo, staged + 2 * H - 1)
    assert states(repo)["prod"] == ("stable", V1), out
    code, out, _ = tick(repo, staged + 2 * H)
    assert "hello/prod: start canary of ghcr.io/kmaster8/hello:v2" in out, out
    assert status(repo, at(staged + 2 * H))["prod"]["phase"] == "progressing"
    assert git(repo.path, "status", "--porcelain") == ""


def test_a_fan_out_starts_each_follower_after_its_own_soak(repo: ConfigRepo) -> None:
    repo.write_spec(spec(V1, FAN_OUT))
    assert repo.release(now=T0)[0] == 0
    assert sorted(states(repo)) == ["staging"]
    code, out, _ = tick(repo, 30 * 60)
    assert "hello/prod-eu: deploy" in out and "hello/prod-us: holds: waiting" in out, out
    code, out, _ = tick(repo, H)
    assert "hello/prod-us: deploy" in out and "prod-eu" not in out, out
    assert states(repo) == {"prod-eu": ("stable", V1), "prod-us": ("stable", V1), "staging": ("stable", V1)}


def test_release_env_before_the_upstream_is_refused_and_the_override_is_recorded(repo: ConfigRepo) -> None:
    repo.write_spec(spec(V1, FAN_OUT))
    assert repo.release(now=T0)[0] == 0
    before = repo.count()
    code, out, err = repo.release("--env", "prod-eu", now=at(60))
    assert code == 1 and repo.count() == before
    assert "rollgen: hello/prod-eu: waits for ghcr.io/kmaster8/hello:v1 to soak in staging until 2024-05-01T12:30:00Z" in err
    assert "--out-of-order" in err
    code, out, err = repo.release("--env", "prod-eu", "--out-of-order", now=at(60))
    assert code == 0 and repo.count() == before + 1, err
    assert repo.trailers()["Rollgen-Override"] == "order"
    # once the upstream is soaked, no override is needed and none is recorded
    code, out, err = repo.release("--env", "prod-us", "--out-of-order", now=at(H))
    assert code == 0 and "Rollgen-Override" not in repo.trailers(), err


def test_an_aborted_upstream_never_releases_downstream(repo: ConfigRepo) -> None:
    repo.write_spec(spec(V1, FAN_OUT))
    repo.release(now=T0)
    tick(repo, H)
    repo.write_spec(spec(V2, FAN_OUT), "v2")
    repo.release(now=at(2 * H))
    code, out, err = repo.act("abort", env="staging", now=at(2 * H + 60))
    assert code == 0, err
    for later in (3 * H, 30 * H):
        code, out, _ = tick(repo, later)
        assert "waits for staging to promote ghcr.io/kmaster8/hello:v2: staging aborted it" in out, out
    assert states(repo) == {"prod-eu": ("stable", V1), "prod-us": ("stable", V1), "staging": ("aborted", V1)}
    assert status(repo, at(30 * H))["prod-eu"]["waiting"]["reason"].endswith("staging aborted it")


def test_a_version_is_the_pods_whole_input_not_the_tag(repo: ConfigRepo) -> None:
    """A config change with the same image is a new version: prod waits for staging to promote it."""
    repo.write_spec(spec(V1, FAN_OUT))
    repo.release(now=T0)
    tick(repo, H)
    repo.write_spec(spec(V1, FAN_OUT, "  config: {literals: {FEATURE_X: 'on'}}\n"), "config")
    code, out, _ = repo.release(now=at(2 * H))
    assert "hello/staging: start canary of config" in out, out
    assert "hello/prod-eu: waiting: waits for staging to promote ghcr.io/kmaster8/hello:v1 (with this spec's pod inputs)" in out
    promoted = promote_through(repo, "staging", 2 * H)
    code, out, _ = tick(repo, promoted + 30 * 60)
    assert "hello/prod-eu: start canary of config" in out, out


@pytest.mark.slow
def test_the_tick_killed_while_it_starts_followers_leaves_the_repo_consistent(repo: ConfigRepo) -> None:
    """SIGKILL at many moments of `advance --all` starting two followers (the whole process group, git too):
    git stays sound, the next tick finishes the job, each follower gets exactly one start, the tree is clean and
    what HEAD holds is a complete render."""
    import random

    from tests.hardening.test_faults import killed

    repo.write_spec(spec(V1, FAN_OUT))
    repo.release(now=T0)
    tick(repo, H)
    repo.write_spec(spec(V2, FAN_OUT), "v2")
    repo.release(now=at(2 * H))
    promoted = promote_through(repo, "staging", 2 * H)
    base = repo.head()
    args = ["advance", "--all", "--repo", str(repo.path), "--now", at(promoted + H)]
    rng = random.Random(24)
    outcomes = []
    for round_ in range(8):
        delay = rng.uniform(0.05, 0.9)
        outcomes.append(killed(args, delay, group=round_ % 2 == 0))
        assert subprocess.run(["git", "fsck", "--full"], cwd=repo.path, capture_output=True).returncode == 0
        code, out, err = tick(repo, promoted + H)
        assert code == 0, out + err
        starts = [line for line in git(repo.path, "log", "--format=%s", f"{base}..HEAD").splitlines()]
        assert sorted(starts) == [
            "hello/prod-eu: start canary of ghcr.io/kmaster8/hello:v2 at step 1/2 (10%)",
            "hello/prod-us: start canary of ghcr.io/kmaster8/hello:v2 at step 1/2 (10%)",
        ], (round_, delay, starts)
        assert git(repo.path, "status", "--porcelain") == ""
        assert repo.render_check() == 0
        git(repo.path, "reset", "-q", "--hard", base)
    print("killed before the end in", sum(o is None for o in outcomes), "of", len(outcomes), "rounds")
    assert any(o is None for o in outcomes)


def test_unknown_names_cycles_and_a_soak_without_after_are_refused_located(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from generator.cli import main

    path = tmp_path / "hello.yaml"
    path.write_text(spec(V1, """\
    - {name: dev, namespace: dev, soak: 1h}
    - {name: staging, namespace: staging, after: prod}
    - {name: prod, namespace: prod, after: staging}
    - {name: qa, namespace: qa, after: stagin}
    - {name: qa2, namespace: qa2, after: qa2}
"""))
    assert main(["validate", str(path)]) == 1
    out, err = capsys.readouterr()
    lines = [line.removeprefix(f"{path}:") for line in (out + err).splitlines() if line.startswith(str(path))]
    assert lines == [
        "17:35: $.spec.environments[0].soak: soak counts from the promotion in the environment this one follows: "
        "set after: too (or remove soak)",
        "18:50: $.spec.environments[1].after: the environments' after form a cycle (staging -> prod -> staging): "
        "none of them could ever take a version; remove one of these after",
        "20:40: $.spec.environments[3].after: no environment 'stagin' in this release (its environments: dev, "
        "staging, prod, qa, qa2); did you mean 'staging'?",
        "21:42: $.spec.environments[4].after: environment 'qa2' cannot follow itself: name another environment, "
        "or remove after",
    ], out + err


def test_in_pull_request_mode_the_tick_opens_the_followers_pull_request(
    tmp_path: Path, git_remote: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """advance --all in pull-request mode starts a follower on its own branch, as it steps one in flight."""
    from tests.gitops.test_pull_request import pull_request_repo

    remote, clone = git_remote
    repo = pull_request_repo(tmp_path, clone, capsys, monkeypatch, spec(V1, STAGING_THEN_PROD))
    code, out, err = repo.release(now=T0)
    assert code == 0 and "hello/staging: deploy" in out and "hello/prod: waiting" in out, out + err
    git(remote, "update-ref", "refs/heads/main", git(remote, "rev-parse", "rollgen/hello/staging").strip())
    git(clone, "pull", "-q", "origin", "main")
    code, out, err = repo.rollgen("advance", "--all", "--now", at(29 * 60))
    assert code == 0 and "hello/prod: holds: waiting" in out, out + err
    code, out, err = repo.rollgen("advance", "--all", "--now", at(30 * 60))
    assert code == 0 and "hello/prod: deploy ghcr.io/kmaster8/hello:v1" in out and "pull request opened" in out, out + err
    assert "Rollgen-Environment: prod" in git(remote, "log", "-1", "--format=%B", "rollgen/hello/prod")


def test_advance_all_dry_run_plans_the_followers_start_and_writes_nothing(repo: ConfigRepo) -> None:
    repo.write_spec(spec(V1, FAN_OUT))
    repo.release(now=T0)
    head = repo.head()
    code, out, err = tick(repo, H, "--dry-run")
    assert code == 0 and repo.head() == head and git(repo.path, "status", "--porcelain") == "", out + err
    assert "hello/prod-eu: deploy ghcr.io/kmaster8/hello:v1" in out and "hello/prod-us: deploy" in out, out
