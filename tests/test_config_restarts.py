"""Issue 22 item 8: a config-only change never restarts the pods that serve (plain Deployments, canary and
blue-green), through the CLI and real git.

The Deployment controller rolls a Deployment (new ReplicaSet, every pod replaced) whenever its
`spec.template` changes; a ConfigMap reference renamed to a copy of the same data changes it. So the serving
side's template must be exactly the same until promotion, and the side that keeps traffic (or drains) during
the promotion commit must not change either."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import BLUE_GREEN, V1, ConfigRepo, at, find, spec_text

CONFIG_V1 = "  config: {literals: {FLAG: 'off'}, files: {app.yaml: 'a: 1'}}\n"
CONFIG_V2 = "  config: {literals: {FLAG: 'on'}, files: {app.yaml: 'a: 1'}}\n"


def with_config(text: str, config: str) -> str:
    return text.replace("  environments:\n", config + "  environments:\n")


def template(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    spec: dict[str, Any] = find(objects, "Deployment", name)["spec"]["template"]
    return spec


def config_data(objects: list[dict[str, Any]], name: str) -> dict[str, str]:
    pod = template(objects, name)["spec"]
    (ref,) = [e["configMapRef"]["name"] for e in pod["containers"][0]["envFrom"]]
    data: dict[str, str] = find(objects, "ConfigMap", ref)["data"]
    return data


def test_a_config_change_leaves_the_stable_track_alone_until_promotion(repo: ConfigRepo) -> None:
    repo.write_spec(with_config(spec_text(V1), CONFIG_V1))
    assert repo.release()[0] == 0
    before = repo.build()
    repo.write_spec(with_config(spec_text(V1), CONFIG_V2), "config")
    assert repo.release(now=at(1))[0] == 0
    started = repo.build()
    # was: the stable Deployment switched to a renamed copy of its ConfigMap, so its pods rolled
    assert template(started, "hello") == template(before, "hello")
    assert config_data(started, "hello") == {"FLAG": "off"}
    assert config_data(started, "hello-canary") == {"FLAG": "on"}
    assert repo.render_check() == 0
    canary = template(started, "hello-canary")
    assert repo.act("promote", "--full", now=at(2))[0] == 0
    assert repo.state()["phase"] == "promoting"
    promoting = repo.build()
    # the canary keeps its weight through the settle delay: its pods must not roll either
    assert template(promoting, "hello-canary") == canary
    assert config_data(promoting, "hello") == {"FLAG": "on"}
    assert repo.act("promote", now=at(4))[0] == 0
    assert repo.state()["phase"] == "stable"
    assert config_data(repo.build(), "hello") == {"FLAG": "on"}
    assert repo.render_check() == 0


@pytest.mark.parametrize("abort_during_switch", [False, True])
def test_a_config_change_leaves_the_live_colour_alone(repo: ConfigRepo, abort_during_switch: bool) -> None:
    repo.write_spec(with_config(spec_text(V1, strategy=BLUE_GREEN), CONFIG_V1))
    assert repo.release()[0] == 0
    before = repo.build()
    repo.write_spec(with_config(spec_text(V1, strategy=BLUE_GREEN), CONFIG_V2), "config")
    assert repo.release(now=at(1))[0] == 0
    started = repo.build()
    assert template(started, "hello-blue") == template(before, "hello-blue")  # live
    assert config_data(started, "hello-green") == {"FLAG": "on"}  # the preview
    green = template(started, "hello-green")
    assert repo.act("promote", now=at(10))[0] == 0
    switched = repo.build()
    # green goes live as it was previewed; blue drains as it served
    assert template(switched, "hello-green") == green
    assert template(switched, "hello-blue") == template(before, "hello-blue")
    assert repo.render_check() == 0
    if abort_during_switch:
        assert repo.act("abort", now=at(10.1))[0] == 0
        back = repo.build()
        assert template(back, "hello-blue") == template(before, "hello-blue")
        assert repo.state()["stablePod"]["config"]["literals"] == {"FLAG": "off"}
    else:
        assert repo.act("advance", now=at(11))[0] == 0
        done = repo.build()
        assert repo.state()["phase"] == "stable"
        assert template(done, "hello-green") == green
        assert repo.state()["stablePod"]["config"]["literals"] == {"FLAG": "on"}
    assert repo.render_check() == 0
