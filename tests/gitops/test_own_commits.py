"""Each environment takes a change to the spec in its own commit (issue 24: the shared base broke order).

A release-level change (service.port, patches) is rendered into apps/<name>/base, which every overlay builds
on. A commit for staging must not change what prod builds: prod is rendered from the spec its own last commit
acted on (its state's specBlob, read back from git), and takes the change with its own next commit. Checked with
a real `kubectl kustomize` of prod's overlay before and after, and with the render-check hook after each commit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import git
from tests.factories import V1, V2, ConfigRepo
from tests.plan.test_order import at, spec

ENVS = """\
    - {name: staging, namespace: staging}
    - {name: prod, namespace: prod}
"""
PATCHES = """\
  patches:
    - target: {kind: Rollout}
      patch: |-
        - {op: add, path: /spec/template/metadata/annotations, value: {example.com/team: payments}}
"""


def service_port(objects: list[dict[str, Any]]) -> int:
    service = next(o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == "hello-stable")
    port: int = service["spec"]["ports"][0]["port"]
    return port


def changed_envs(repo: ConfigRepo, before: dict[str, list[dict[str, Any]]]) -> list[str]:
    return sorted(env for env, objects in before.items() if repo.build(env) != objects)


@pytest.mark.parametrize("change", ["port", "patches"])
def test_a_release_level_change_reaches_each_environment_in_its_own_commit(repo: ConfigRepo, change: str) -> None:
    repo.write_spec(spec(V1, ENVS))
    assert repo.release(now=at(0))[0] == 0
    text = spec(V1, ENVS, PATCHES) if change == "patches" else spec(V1, ENVS).replace("port: 5000", "port: 5001")
    repo.write_spec(text, "a release-level change")
    before = {env: repo.build(env) for env in ("staging", "prod")}

    code, out, err = repo.release("--env", "staging", now=at(60))
    assert code == 0 and "hello/staging: update the configuration" in out, out + err
    assert repo.trailers()["Rollgen-Environment"] == "staging"
    assert changed_envs(repo, before) == ["staging"]  # prod builds exactly what it did
    assert repo.render_check() == 0  # the hook agrees with a commit that left prod be
    if change == "port":
        assert service_port(repo.build("staging")) == 5001 and service_port(repo.build("prod")) == 5000

    staged = {env: repo.build(env) for env in ("staging", "prod")}
    code, out, err = repo.release("--env", "prod", now=at(120))
    assert code == 0 and "hello/prod: update the configuration" in out, out + err
    assert changed_envs(repo, staged) == ["prod"]
    assert repo.build("prod") == repo.build("prod") and repo.render_check() == 0
    if change == "port":
        assert service_port(repo.build("prod")) == 5001
    code, out, _ = repo.rollgen("history", "hello", "--env", "prod")
    assert "deploy" in out.splitlines()[1]  # prod's history has the entry


def test_a_step_in_one_environment_leaves_anothers_build_alone(repo: ConfigRepo) -> None:
    """A canary in flight in staging keeps stepping after the spec changed; prod's build moves only with prod."""
    repo.write_spec(spec(V1, ENVS))
    repo.release(now=at(0))
    repo.write_spec(spec(V2, ENVS), "v2")
    repo.release("--env", "staging", now=at(60))
    repo.write_spec(spec(V2, ENVS).replace("port: 5000", "port: 5001"), "port")
    before = {env: repo.build(env) for env in ("staging", "prod")}
    code, out, err = repo.act("advance", env="staging", now=at(60 + 300))
    assert code == 0 and "step 2/2" in out, out + err
    assert changed_envs(repo, before) == ["staging"]
    assert service_port(repo.build("staging")) == 5001 and service_port(repo.build("prod")) == 5000
    assert repo.render_check() == 0
    assert git(repo.path, "status", "--porcelain") == ""


def test_a_change_to_one_environments_entry_is_no_commit_for_another(repo: ConfigRepo) -> None:
    repo.write_spec(spec(V1, ENVS))
    repo.release(now=at(0))
    repo.write_spec(spec(V1, ENVS.replace("{name: staging, namespace: staging}",
                                          "{name: staging, namespace: staging, replicas: 3}")), "staging: 3 pods")
    before = repo.count()
    code, out, err = repo.release(now=at(60))
    assert code == 0 and repo.count() == before + 1, out + err
    assert "hello/staging: update the configuration" in out and "hello/prod: nothing to do" in out, out
    assert repo.render_check() == 0


def test_a_release_level_config_change_starts_in_staging_and_leaves_prods_build_alone(repo: ConfigRepo) -> None:
    """A config change is a version (a canary): staging starts it; prod, pinned to its spec, keeps its ConfigMap
    although the base now generates the new one."""
    repo.write_spec(spec(V1, ENVS, "  config: {literals: {FEATURE: 'off'}}\n"))
    repo.release(now=at(0))
    repo.write_spec(spec(V1, ENVS, "  config: {literals: {FEATURE: 'on'}}\n"), "feature on")
    before = {env: repo.build(env) for env in ("staging", "prod")}
    code, out, err = repo.release("--env", "staging", now=at(60))
    assert code == 0 and "hello/staging: start canary of config" in out, out + err
    assert changed_envs(repo, before) == ["staging"]
    assert repo.render_check() == 0
    maps = [o["data"] for o in repo.build("prod") if o["kind"] == "ConfigMap"]
    assert maps == [{"FEATURE": "off"}], maps


def test_a_shallow_clone_refuses_to_render_another_environment_from_todays_spec(
    repo: ConfigRepo, git_remote: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write_spec(spec(V1, ENVS))
    repo.release(now=at(0))
    repo.write_spec(spec(V1, ENVS).replace("port: 5000", "port: 5001"), "port")
    repo.release("--env", "staging", now=at(60))
    repo.write_spec(spec(V1, ENVS).replace("port: 5000", "port: 5002"), "port again")
    git(repo.path, "push", "-q", "origin", "main")
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{git_remote[0]}", str(shallow))
    other = ConfigRepo(shallow, capsys)
    before = other.count()
    code, out, err = other.release("--env", "staging", now=at(120))
    assert code == 1 and other.count() == before, out + err
    assert "hello/prod was last acted on with the spec releases/hello.yaml at blob" in err
    assert "git fetch --unshallow" in err
    git(shallow, "fetch", "-q", "--unshallow")
    before = other.count()
    code, out, err = other.release("--env", "staging", now=at(120))
    assert code == 0 and other.count() == before + 1, out + err


def test_an_action_with_uncommitted_spec_edits_records_no_blob(repo: ConfigRepo) -> None:
    repo.write_spec(spec(V1, ENVS))
    repo.release(now=at(0))
    repo.write_spec(spec(V2, ENVS), "v2")
    repo.release("--env", "staging", now=at(60))
    repo.spec.write_text(spec(V2, ENVS).replace("port: 5000", "port: 5001"))  # not committed
    code, out, err = repo.act("advance", env="staging", now=at(60 + 300))
    if code == 1:  # the committing commands refuse a spec with uncommitted edits (issue 23): nothing recorded
        assert "uncommitted changes" in err and repo.state("staging")["step"] == 1, out + err
    else:
        assert "step 2/2" in out and "specBlob" not in repo.state("staging"), out + err  # no clone could read it
    git(repo.path, "checkout", "-q", "--", "releases/hello.yaml")
    code, out, err = repo.release("--env", "prod", now=at(60 + 400))
    assert "does not have" not in err, out + err  # nothing waits on a blob no clone has
