"""After an aborted canary of a pod change (env, config, ...), the image unchanged, the next pod change is a
canary again, and `release --retry` starts the aborted one again: as for a new image after an abort.

Found by the acceptance run of issue 13: once an env-only canary was aborted, `release` said "nothing to do ...
is stable (the canary was aborted)" for `--retry` and for every later env change, so the environment could take
no pod change until the image changed.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import BLUE_GREEN, CANARY, V1, ConfigRepo, at, find, spec_text


def spec(level: str, engine: str, strategy: str = CANARY) -> str:
    workload = f"  container: {{env: [{{name: LOG_LEVEL, value: {level}}}]}}\n"
    return spec_text(V1, engine=engine, strategy=strategy).replace("  environments:\n", workload + "  environments:\n")


def levels(repo: ConfigRepo, engine: str) -> tuple[str, str | None]:
    """LOG_LEVEL of what serves (stable Deployment, or the Rollout) and of the canary Deployment (nginx)."""

    def level(obj: dict[str, Any]) -> str:
        (var,) = obj["spec"]["template"]["spec"]["containers"][0]["env"]
        value: str = var["value"]
        return value

    objects = repo.build()
    if engine == "nginx":
        return level(find(objects, "Deployment", "hello")), level(find(objects, "Deployment", "hello-canary"))
    return level(find(objects, "Rollout", "hello")), None


@pytest.mark.parametrize("engine", ["nginx", "argo-rollouts"])
def test_a_pod_change_after_an_abort_is_a_canary_and_retry_restarts_the_aborted_one(
    repo: ConfigRepo, engine: str
) -> None:
    repo.write_spec(spec("info", engine))
    assert repo.release()[0] == 0
    repo.write_spec(spec("warn", engine), "warn")
    assert repo.release(now=at(1))[0] == 0
    assert repo.act("abort", now=at(2))[0] == 0
    assert repo.state()["phase"] == "aborted"

    head = repo.head()
    code, out, _ = repo.release(now=at(3))
    assert code == 0 and "was aborted; `rollgen release --retry` starts it again" in out, out
    assert repo.head() == head and repo.state()["phase"] == "aborted"

    code, out, _ = repo.release("--retry", now=at(4))
    assert code == 0 and "retry canary of env" in out, out
    trailers = repo.trailers()
    assert trailers["Rollgen-Action"] == "start" and trailers["Rollgen-Change"] == "env", trailers
    assert repo.state()["phase"] == "progressing"
    assert repo.state()["canaryPod"]["container"]["env"] == [{"name": "LOG_LEVEL", "value": "warn"}]
    if engine == "nginx":
        assert levels(repo, engine) == ("info", "warn")
    else:
        assert levels(repo, engine)[0] == "warn"  # the Rollout's template is the canary's

    assert repo.act("abort", now=at(5))[0] == 0
    assert levels(repo, engine)[0] == "info"
    repo.write_spec(spec("error", engine), "error")
    code, out, _ = repo.release(now=at(6))
    assert code == 0 and "start canary of env" in out, out
    assert repo.trailers()["Rollgen-Change"] == "env"
    assert repo.state()["stablePod"]["container"]["env"] == [{"name": "LOG_LEVEL", "value": "info"}]
    assert repo.state()["canaryPod"]["container"]["env"] == [{"name": "LOG_LEVEL", "value": "error"}]
    assert repo.render_check() == 0

    assert repo.act("promote", "--full", now=at(7))[0] == 0
    assert repo.state()["stablePod"]["container"]["env"] == [{"name": "LOG_LEVEL", "value": "error"}]


def test_a_blue_green_pod_change_is_called_a_preview(repo: ConfigRepo) -> None:
    repo.write_spec(spec("info", "nginx", strategy=BLUE_GREEN))
    assert repo.release()[0] == 0
    repo.write_spec(spec("warn", "nginx", strategy=BLUE_GREEN), "warn")
    code, out, _ = repo.release(now=at(1))
    assert code == 0 and "start preview of env (image" in out, out
    assert repo.act("abort", now=at(2))[0] == 0
    code, out, _ = repo.release(now=at(3))
    assert code == 0 and "the preview of env was aborted" in out, out
    repo.write_spec(spec("error", "nginx", strategy=BLUE_GREEN), "error")
    code, out, _ = repo.release(now=at(4))
    assert code == 0 and "start preview of env (image" in out, out
