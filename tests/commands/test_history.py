"""`rollgen history` reads the Rollgen-* trailers, the gate's among them; the commit template may use every
variable the config schema names."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from generator import resources
from generator.cli import main
from generator.gitops.workflow import template_extras
from generator.gitops.messages import Record, compose
from generator.model import EnvState, Image
from tests.conftest import git
from tests.factories import make_release

V1 = "ghcr.io/kmaster8/hello:v1"
V2 = "ghcr.io/kmaster8/hello:v2"
START = Record("hello", "prod", "start", 1, 3, 10, V2, "start canary of v2 at step 1/3 (10%)")
CHECK = Record(
    "hello", "prod", "check", 1, 3, 10, V2, "gate failed", "Gate failed check 1.", gate="error-rate=7.3 > 1"
)
ABORT = replace(CHECK, action="abort", step=0, weight=0, summary="abort", gate="error-rate=9 > 1; latency=812 > 500")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q", "--initial-branch=main")
    for record in (START, CHECK, ABORT):
        git(tmp_path, "commit", "-q", "--allow-empty", "-m", compose(record))
    return tmp_path


def history(capsys: pytest.CaptureFixture[str], repo: Path, *args: str) -> str:
    assert main(["history", "hello", "--env", "prod", "--repo", str(repo), *args]) == 0
    return capsys.readouterr().out


def test_history_json_carries_the_gate_trailer(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    commits = json.loads(history(capsys, repo, "--format", "json"))["commits"]
    assert [(c["action"], c["gate"]) for c in commits] == [
        ("abort", "error-rate=9 > 1; latency=812 > 500"),
        ("check", "error-rate=7.3 > 1"),
        ("start", None),
    ]


def test_history_text_shows_the_gate_only_where_there_is_one(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    header, abort, check, start = history(capsys, repo).splitlines()
    assert header.split() == ["COMMIT", "TIME", "ENV", "ACTION", "STEP", "WEIGHT", "IMAGE"]
    assert abort.endswith(f"{V2}  gate: error-rate=9 > 1; latency=812 > 500")
    assert check.endswith(f"{V2}  gate: error-rate=7.3 > 1")
    assert start.endswith(V2) and "gate" not in start


def test_the_config_schema_names_every_commit_template_variable() -> None:
    schema = json.loads((resources.schema_path("config.schema.json")).read_text())
    described = schema["properties"]["commit"]["properties"]["template"]["description"]
    state = EnvState(phase="stable", stable_image=Image.parse(V1))
    record = replace(START, extra=template_extras(make_release(), state))
    for variable in record.variables():
        assert f" {variable}" in described, variable


def test_the_commit_template_names_the_deployments_engine_as_it_always_has() -> None:
    """The engine is `deployments` inside (issue 12); a commit template reading {{ engine }} still gets nginx."""
    state = EnvState(phase="stable", stable_image=Image.parse(V1))
    assert dict(template_extras(make_release(engine="deployments"), state))["engine"] == "nginx"
    assert dict(template_extras(make_release(engine="flagger"), state))["engine"] == "flagger"
