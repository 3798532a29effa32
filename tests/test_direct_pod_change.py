"""A pod change (env, config, ...) where no canary runs from git: a rolling-update environment deploys it, a
controller (Flagger) receives it. Either way the commit is dated at the action, like an image change there.

Found by the acceptance run of issue 13: a config change to orders-api's rolling `dev` was committed as
`Rollgen-Action: start`, `Rollgen-Weight: 0`, and `status`/`history` kept the time of the previous deploy.
"""

from __future__ import annotations

import json

from tests.conftest import git
from tests.factories import V1, ConfigRepo, at, spec_text

ROLLING = "{name: dev, namespace: test-dev, strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}}"
EQUAL_PAUSES = "    canary:\n      steps:\n        - {weight: 10, pause: 1m}\n        - {weight: 50, pause: 1m}\n"
ENV_INFO = "  container: {env: [{name: LOG_LEVEL, value: info}]}\n"
ENV_WARN = "  container: {env: [{name: LOG_LEVEL, value: warn}]}\n"


def spec(engine: str, progression: str, workload: str) -> str:
    text = spec_text(V1, engine=engine, progression=progression, envs=("dev", "prod"), strategy=EQUAL_PAUSES)
    text = text.replace("{name: dev, namespace: test-dev}", ROLLING)
    return text.replace("  environments:\n", workload + "  environments:\n")


def status_of(repo: ConfigRepo, env: str) -> dict[str, object]:
    code, out, _ = repo.rollgen("status", "--format", "json")
    assert code == 0, out
    (entry,) = [e for e in json.loads(out)["environments"] if e["environment"] == env]
    return dict(entry)


def history_time(repo: ConfigRepo, commit: str) -> str:
    code, out, _ = repo.rollgen("history", "hello")
    assert code == 0, out
    (line,) = [line for line in out.splitlines() if commit.startswith(line.split()[0])]
    return line.split()[1]


def test_a_pod_change_to_a_rolling_environment_is_a_deploy_at_its_time(repo: ConfigRepo) -> None:
    repo.write_spec(spec("nginx", "git", ENV_INFO))
    assert repo.release()[0] == 0
    repo.write_spec(spec("nginx", "git", ENV_WARN), "LOG_LEVEL warn")
    code, out, _ = repo.release("--env", "dev", now=at(30))
    assert code == 0, out
    assert "a rolling update, no canary" in out, out
    trailers = repo.trailers()
    assert trailers["Rollgen-Environment"] == "dev", trailers
    assert trailers["Rollgen-Action"] == "deploy" and trailers["Rollgen-Weight"] == "100", trailers
    assert trailers["Rollgen-Change"] == "env", trailers
    state = repo.state("dev")
    assert state["phase"] == "stable" and state["since"] == at(30), state
    assert state["stablePod"]["container"]["env"] == [{"name": "LOG_LEVEL", "value": "warn"}]
    entry = status_of(repo, "dev")
    assert entry["since"] == at(30) and entry["weight"] == 100, entry
    assert history_time(repo, repo.head()) == at(30)
    assert repo.render_check() == 0


def test_a_pod_change_handed_to_a_controller_is_dated_at_the_release(repo: ConfigRepo) -> None:
    repo.write_spec(spec("flagger", "controller", ENV_INFO))
    assert repo.release()[0] == 0
    repo.write_spec(spec("flagger", "controller", ENV_WARN), "LOG_LEVEL warn")
    code, out, _ = repo.release("--env", "prod", now=at(30))
    assert code == 0, out
    trailers = repo.trailers()
    assert trailers["Rollgen-Environment"] == "prod", trailers
    assert trailers["Rollgen-Action"] == "start" and trailers["Rollgen-Change"] == "env", trailers
    assert repo.state("prod")["since"] == at(30)
    assert status_of(repo, "prod")["since"] == at(30)
    assert history_time(repo, repo.head()) == at(30)
    assert git(repo.path, "status", "--porcelain").strip() == ""
