"""The rollgen image (issue 25 item 5): the Containerfile passes hadolint, runs as a non-root user without a
shell, and is what the in-cluster tick runs; the workflow publishes it on a tag."""

from __future__ import annotations

import subprocess

import yaml

from generator.commands.init import TICK_IMAGE
from tests.conftest import ROOT, require_tool

CONTAINERFILE = ROOT / "Containerfile"
WORKFLOW = ROOT / ".github" / "workflows" / "image.yaml"


def test_hadolint_accepts_the_containerfile() -> None:
    hadolint = require_tool("hadolint")
    done = subprocess.run([hadolint, str(CONTAINERFILE)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def instructions() -> list[tuple[str, str]]:
    lines = CONTAINERFILE.read_text().replace("\\\n", " ").splitlines()
    return [(line.split()[0], line.split(None, 1)[1]) for line in lines if line.strip() and not line.startswith("#")]


def test_the_image_runs_rollgen_from_the_wheel_as_a_non_root_user() -> None:
    steps = instructions()
    final = steps[max(i for i, (word, _) in enumerate(steps) if word == "FROM"):]
    assert final[0][1].startswith("python:") and "slim" in final[0][1]
    runs = " ".join(arg for word, arg in final if word == "RUN")
    assert "git openssh-client" in runs and "pip install --no-cache-dir /tmp/wheels/*.whl" in runs
    assert ("USER", "10001:10001") in final
    assert ("ENTRYPOINT", '["rollgen"]') in final  # exec form: no shell between the runtime and rollgen


def test_the_workflow_publishes_on_a_tag_the_image_the_tick_names() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert workflow[True]["push"]["tags"] == ["v*"]  # YAML 1.1 reads the key `on` as true
    steps = workflow["jobs"]["image"]["steps"]
    build = next(step for step in steps if step.get("uses", "").startswith("docker/build-push-action"))
    assert build["with"]["file"] == "Containerfile"
    assert TICK_IMAGE.rsplit("/", 1)[1] == "rollgen" and "/rollgen" in str(steps)


def test_the_workflows_match_githubs_workflow_schema() -> None:
    """actionlint runs in .ci/run where it can be installed; GitHub's schema (vendored by check-jsonschema) always."""
    tool = require_tool("check-jsonschema")
    workflows = [str(WORKFLOW), str(ROOT / "generator" / "init_templates" / "github" / "workflows" / "rollgen-advance.yaml")]
    done = subprocess.run([tool, "--builtin-schema", "vendor.github-workflows", *workflows],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
