"""`rollgen rollback` through the CLI, real git and a bare remote (issue 24): after a promotion and mid-canary,
straight back with one commit that also sets the spec, with the clock behind, with --push; history and status."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import git
from tests.factories import V1, V2, V3, ConfigRepo
from tests.plan.test_order import FAN_OUT, H, at, spec


def spec_of(repo: ConfigRepo) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(repo.spec.read_text())
    return data


def env_entry(repo: ConfigRepo, name: str) -> dict[str, Any]:
    entry: dict[str, Any] = next(e for e in spec_of(repo)["spec"]["environments"] if e["name"] == name)
    return entry


def rollout(repo: ConfigRepo, env: str) -> dict[str, Any]:
    found: dict[str, Any] = next(o for o in repo.build(env) if o["kind"] == "Rollout")
    return found


def released_v2_in_staging(repo: ConfigRepo) -> None:
    """staging (and its followers) on V1, then V2 started in staging at 2h."""
    repo.write_spec(spec(V1, FAN_OUT))
    assert repo.release(now=at(0))[0] == 0
    repo.write_spec(spec(V2, FAN_OUT), "v2")
    code, out, err = repo.release(now=at(2 * H))
    assert code == 0 and "hello/staging: start canary" in out, out + err


def test_rollback_after_a_promotion_goes_back_to_the_previous_version_and_sets_the_spec(repo: ConfigRepo) -> None:
    released_v2_in_staging(repo)
    repo.act("promote", "--full", env="staging", now=at(2 * H + 60))
    assert repo.state("staging")["stableImage"] == V2
    before = repo.count()
    code, out, err = repo.act("rollback", env="staging", now=at(2 * H + 120))
    assert code == 0, err
    assert repo.count() == before + 1
    assert "hello/staging: roll back to ghcr.io/kmaster8/hello:v1 (from ghcr.io/kmaster8/hello:v2)" in out
    trailers = repo.trailers()
    assert trailers["Rollgen-Action"] == "rollback" and trailers["Rollgen-Weight"] == "100"
    assert trailers["Rollgen-Image"] == V1 and trailers["Rollgen-Environment"] == "staging"
    # one commit: the manifests, the state and the spec, which now pins staging to V1
    files = repo.files_of()
    assert "releases/hello.yaml" in files and "apps/hello/overlays/staging/rollgen-state.yaml" in files
    assert all(f.startswith("apps/hello/overlays/staging/") for f in files if f != "releases/hello.yaml"), files
    assert env_entry(repo, "staging")["image"] == V1 and spec_of(repo)["spec"]["image"] == V2
    assert git(repo.path, "status", "--porcelain") == ""
    built = rollout(repo, "staging")
    assert built["spec"]["template"]["spec"]["containers"][0]["image"] == V1
    assert built["spec"]["strategy"]["canary"]["steps"][0] == {"setWeight": 100}
    assert repo.state("staging")["rolledBack"] == V2
    # the next release keeps it, and git agrees with what runs
    code, out, _ = repo.release(now=at(3 * H))
    assert code == 0 and repo.state("staging")["stableImage"] == V1
    # and staging rolled back never passes V2 on: prod-eu waits for staging to promote it again
    assert "hello/prod-eu: waiting: waits for staging to promote ghcr.io/kmaster8/hello:v2: staging is stable on" in out
    assert repo.render_check() == 0
    code, out, _ = repo.rollgen("history", "hello", "--env", "staging")
    newest = out.splitlines()[1]  # newest first, after the header
    assert " rollback " in newest and V1 in newest, out
    code, out, _ = repo.rollgen("status")
    line = next(l for l in out.splitlines() if l.startswith("hello") and " staging " in l)
    assert "rolled-back" in line, out
    code, out, _ = repo.rollgen("status", "--format", "json")
    entry = next(e for e in json.loads(out)["environments"] if e["environment"] == "staging")
    assert entry["phase"] == "stable" and entry["rolledBack"] == V2


def test_rollback_mid_canary_takes_the_canary_down_at_once(repo: ConfigRepo) -> None:
    released_v2_in_staging(repo)
    repo.act("advance", env="staging", now=at(2 * H + 300))
    assert repo.state("staging")["step"] == 2
    code, out, err = repo.act("rollback", env="staging", now=at(2 * H + 400))
    assert code == 0, err
    state = repo.state("staging")
    assert state["phase"] == "stable" and state["stableImage"] == V1 and state["canaryImage"] is None
    assert env_entry(repo, "staging")["image"] == V1
    assert rollout(repo, "staging")["spec"]["strategy"]["canary"]["steps"][0] == {"setWeight": 100}
    # a follower does not take a version its upstream rolled back
    code, out, _ = repo.rollgen("advance", "--all", "--now", at(9 * H))
    assert "prod-eu: deploy" not in out and "prod-eu: start" not in out, out


def test_rollback_with_the_clock_behind_records_the_last_actions_time(repo: ConfigRepo) -> None:
    released_v2_in_staging(repo)
    code, out, err = repo.act("rollback", env="staging", now=at(H))  # an hour before the canary started
    assert code == 0, err
    assert repo.state("staging")["since"] == at(2 * H)


def test_rollback_to_an_image_and_with_push(repo: ConfigRepo, git_remote: tuple[Path, Path]) -> None:
    released_v2_in_staging(repo)
    repo.act("promote", "--full", env="staging", now=at(2 * H + 60))
    git(repo.path, "push", "-q", "origin", "main")
    code, out, err = repo.act("rollback", "--to", V3, "--push", env="staging", now=at(3 * H))
    assert code == 0 and "pushed" in out, err
    remote = git(git_remote[0], "log", "-1", "--format=%B", "main")
    assert "Rollgen-Action: rollback" in remote and f"Rollgen-Image: {V3}" in remote
    assert env_entry(repo, "staging")["image"] == V3


def test_rollback_refusals(repo: ConfigRepo) -> None:
    repo.write_spec(spec(V1, FAN_OUT))
    repo.release(now=at(0))
    before = repo.count()
    code, _, err = repo.act("rollback", env="staging", now=at(60))
    assert code == 1 and "no earlier promoted version" in err and repo.count() == before
    assert err.count("hello/staging") <= 1, err  # the workflow names the environment once
    code, out, _ = repo.act("rollback", env="prod-us", now=at(60))
    assert code == 0 and "nothing to roll back" in out and repo.count() == before
