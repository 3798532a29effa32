"""What tests are made of: model objects for renderer and progression tests that must not depend on the spec
loader; release specs as YAML text (spec_text, the one spec factory); config repositories driven through the
real CLI (ConfigRepo, make_config_repo; conftest.py's `config_repo` fixture) or bare (init_config_repo)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.cli import main
from generator.gitops.messages import parse_trailers

from generator.model import (
    Analysis,
    CanaryStrategy,
    Environment,
    Image,
    IngressSpec,
    Metric,
    Release,
    Step,
)
from tests.conftest import git, require_tool

HELLO_STEPS = (Step(5, 300), Step(20, 600), Step(50, None))

# The canary's routing variants every engine is rendered with
CANARY_STRATEGIES = {
    "plain": CanaryStrategy(steps=HELLO_STEPS),
    "header": CanaryStrategy(steps=HELLO_STEPS, header="X-Canary"),
    "header-value": CanaryStrategy(steps=HELLO_STEPS, header="X-Canary", header_value="beta-users"),
    "cookie": CanaryStrategy(steps=HELLO_STEPS, cookie="canary"),
    "all": CanaryStrategy(steps=HELLO_STEPS, header="X-Canary", header_value="on", cookie="canary"),
    # sticky goes without header/cookie routing: ingress-nginx reads affinity first (checks.check_sticky_routing)
    "sticky": CanaryStrategy(steps=HELLO_STEPS, sticky=True),
}


def make_release(**overrides: Any) -> Release:
    """The blog's hello app as an Argo Rollouts canary; override any field, environments included."""
    fields: dict[str, Any] = dict(
        name="hello",
        namespace="test",
        labels=(("team", "web"),),
        engine="argo-rollouts",
        progression="git",
        image=Image.parse("ghcr.io/kmaster8/hello:v2"),
        replicas=3,
        container_port=5050,
        service_port=5000,
        ingress=IngressSpec(host="hello.example.com", tls_secret="hello-tls"),
        strategy=CanaryStrategy(steps=HELLO_STEPS, header="X-Canary"),
        analysis=Analysis(
            prometheus="http://prometheus.monitoring:9090",
            interval=60,
            failure_limit=1,
            metrics=(
                Metric("error-rate", None, max=1),
                Metric("latency", None, max=500),
                Metric("p99", "histogram_quantile(0.99, sum(rate(x_bucket[1m])) by (le))", max=0.5),
            ),
        ),
        environments=(),
        autoscaling=None,
        settle_delay=60,
        source="examples/hello.yaml",
    )
    fields.update(overrides)
    release = Release(**fields)
    if not release.environments:
        release = replace(release, environments=(replace(release.base_environment(), name="default"),))
    return release


def make_environment(release: Release, **overrides: Any) -> Environment:
    return replace(release.base_environment(), **overrides)


# -- release specs as text ------------------------------------------------------------------------------------

V1 = "ghcr.io/kmaster8/hello:v1"
V2 = "ghcr.io/kmaster8/hello:v2"
V3 = "ghcr.io/kmaster8/hello:v3"
T0 = "2024-05-01T12:00:00Z"

CANARY = """\
    canary:
      steps:
        - {weight: 10, pause: 5m}
        - {weight: 25, pause: 10m}
        - {weight: 50}
"""
BLUE_GREEN = """\
    blueGreen: {previewHost: preview.hello.example.com}
"""


def spec_text(
    image: str = V1,
    engine: str = "nginx",
    strategy: str = CANARY,
    progression: str | None = "git",
    envs: tuple[str, ...] = ("prod",),
    replicas: int | None = 4,
    *,
    namespace: str = "test",
    labels: str = "",
    routing: str = "",
    settle: str | None = "1m",
    extra: str = "",
    environments: str | None = None,
) -> str:
    """The hello release's spec, one field a line in flow style so that a test can .replace() a line of it.

    `strategy` goes under `strategy:`, `routing` (router settings) before it, `extra` (analysis, ...) after
    settleDelay; None leaves a field out. `environments` (YAML lines) stands instead of `envs`, whose every
    environment but the last has a namespace of its own: two in one namespace would own the same objects.
    """
    if environments is None:
        environments = "".join(f"    - {{name: {env}, namespace: test-{env}}}\n" for env in envs[:-1])
        environments += f"    - {{name: {envs[-1]}}}\n"
    metadata = f"name: hello, namespace: {namespace}" + (f", labels: {{{labels}}}" if labels else "")
    lines = ["apiVersion: rollgen.io/v1alpha1\n", "kind: Release\n", f"metadata: {{{metadata}}}\n", "spec:\n",
             f"  engine: {engine}\n"]
    lines += [f"  progression: {progression}\n"] if progression else []
    lines += [f"  image: {image}\n"]
    lines += [f"  replicas: {replicas}\n"] if replicas is not None else []
    lines += ["  containerPort: 5050\n", "  service: {port: 5000}\n", "  ingress: {host: hello.example.com}\n",
              routing, "  strategy:\n", strategy]
    lines += [f"  settleDelay: {settle}\n"] if settle else []
    lines += [extra, "  environments:\n", environments]
    return "".join(lines)


# -- config repositories --------------------------------------------------------------------------------------

CONFIG = """\
apiVersion: rollgen.io/v1alpha1
kind: Config
git: {remote: origin, branch: main, pushBackoff: 0s}
commit:
  author: {name: rollgen bot, email: rollgen@example.com}
"""


class ConfigRepo:
    """A clone of the config repo with a release spec, driven through rollgen's real CLI entry point."""

    def __init__(self, path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.path = path
        self.capsys = capsys

    @property
    def spec(self) -> Path:
        return self.path / "releases" / "hello.yaml"

    def write_spec(self, text: str, message: str = "spec") -> None:
        self.spec.parent.mkdir(exist_ok=True)
        self.spec.write_text(text)
        git(self.path, "add", "releases")
        git(self.path, "commit", "-q", "-m", message)

    def rollgen(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main([*args, "--repo", str(self.path)])
        out, err = self.capsys.readouterr()
        return code, out, err

    def release(self, *extra: str, now: str = T0) -> tuple[int, str, str]:
        return self.rollgen("release", str(self.spec), "--now", now, *extra)

    def act(self, command: str, *extra: str, env: str = "prod", now: str = T0) -> tuple[int, str, str]:
        return self.rollgen(command, "hello", "--env", env, "--now", now, *extra)

    def render_check(self) -> int:
        """What the rollgen-render-check pre-commit hook runs, from the repo root: is the tree up to date?"""
        cwd = Path.cwd()
        os.chdir(self.path)
        try:
            self.capsys.readouterr()
            return main(["render", "releases/hello.yaml", "--out", ".", "--check"])
        finally:
            os.chdir(cwd)

    def head(self) -> str:
        return git(self.path, "rev-parse", "HEAD").strip()

    def trailers(self, rev: str = "HEAD") -> dict[str, str]:
        return parse_trailers(git(self.path, "log", "-1", "--format=%B", rev))

    def files_of(self, rev: str = "HEAD") -> list[str]:
        return git(self.path, "show", "--name-only", "--format=", rev).split()

    def count(self) -> int:
        return int(git(self.path, "rev-list", "--count", "HEAD"))

    def state(self, env: str = "prod") -> dict[str, Any]:
        loaded: dict[str, Any] = yaml.safe_load((self.path / f"apps/hello/overlays/{env}/rollgen-state.yaml").read_text())
        return loaded

    def build(self, env: str = "prod") -> list[dict[str, Any]]:
        kubectl = require_tool("kubectl")
        out = subprocess.run(
            [kubectl, "kustomize", str(self.path / f"apps/hello/overlays/{env}")],
            check=True, capture_output=True, text=True,
        ).stdout
        return [doc for doc in yaml.safe_load_all(out) if doc]


def make_config_repo(clone: Path, capsys: pytest.CaptureFixture[str], config: str = CONFIG) -> ConfigRepo:
    """The clone made a config repo: `config` committed as its rollgen.yaml (conftest.py's `config_repo`)."""
    (clone / "rollgen.yaml").write_text(config)
    git(clone, "add", "rollgen.yaml")
    git(clone, "commit", "-q", "-m", "rollgen.yaml")
    return ConfigRepo(clone, capsys)


def init_config_repo(path: Path, config: str, specs: Mapping[str, str], remote: Path | None = None,
                     message: str = "spec") -> Path:
    """A config repo at `path` on main, a new repository or (`remote`) a clone: rollgen.yaml and releases/<file>
    for each of `specs` committed together, in one commit."""
    if remote is not None:
        git(path.parent, "clone", "-q", str(remote), str(path))
        git(path, "checkout", "-q", "-B", "main")
    else:
        path.mkdir()
        git(path, "init", "-q", "--initial-branch=main")
    (path / "rollgen.yaml").write_text(config)
    (path / "releases").mkdir()
    for name, text in specs.items():
        (path / "releases" / name).write_text(text)
    git(path, "add", "rollgen.yaml", "releases")
    git(path, "commit", "-q", "-m", message)
    return path


# What the git-driven tests read back from a run.


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    for obj in objects:
        if obj["kind"] == kind and obj["metadata"]["name"] == name:
            return obj
    raise AssertionError(f"no {kind} {name} in {[(o['kind'], o['metadata']['name']) for o in objects]}")


def image_of(obj: dict[str, Any]) -> str:
    image: str = obj["spec"]["template"]["spec"]["containers"][0]["image"]
    return image


def at(minutes: float) -> str:
    total = int(minutes * 60)
    return f"2024-05-01T{12 + total // 3600:02d}:{total // 60 % 60:02d}:{total % 60:02d}Z"


def assert_commit(repo: ConfigRepo, action: str, step: str, weight: int, image: str) -> None:
    trailers = repo.trailers()
    change = {"Rollgen-Change": "image"} if action == "start" else {}  # a new image's canary says so
    assert trailers == {
        "Rollgen-Release": "hello",
        "Rollgen-Environment": "prod",
        "Rollgen-Action": action,
        "Rollgen-Step": step,
        "Rollgen-Weight": str(weight),
        "Rollgen-Image": image,
        **change,
    }
    assert all(path.startswith("apps/hello/") for path in repo.files_of()), repo.files_of()
    assert git(repo.path, "status", "--porcelain") == ""
    subject = git(repo.path, "log", "-1", "--format=%s")
    assert subject.startswith("hello/prod: ")
    assert git(repo.path, "log", "-1", "--format=%an <%ae>").strip() == "rollgen bot <rollgen@example.com>"
    assert repo.render_check() == 0  # every commit leaves what `rollgen render --check` expects
