"""Adding a router is one module, one entry in router_facts.ROUTERS and the schema's spec.router enum.

Two proofs: no module outside the routers and the registry spells a router's name (so nothing else switches on
one), and a router registered at run time renders, gates and is checked through the seam alone: a copy of each
real router under another name gives exactly the real router's output.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from generator import router_facts
from generator.model import EnvState, Image, Release
from generator.plan import gates, shapes
from generator.records import replace
from generator.render.engines import renderer_for
from generator.render.loading import load_release
from generator.render.routers import router_for
from generator.router_facts import ROUTERS, RouterFacts
from generator.spec.loader import load_single
from generator.spec.routerchecks import check_router
from tests.render.routers.test_routers import CANARY, spec_text

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "generator"
# Where a router's name may be spelled: its module (and the seam's helpers) and the registry.
ALLOWED = (PACKAGE / "render" / "routers", PACKAGE / "router_facts.py")
# A settings block's key that is also the router's name (spec.istio): read where the model is built, as the
# settings block of a new router would be (docs/DESIGN.md "Routers").
SETTINGS_KEYS = {("generator/spec/build.py", "istio")}
V2 = Image("ghcr.io/kmaster8/hello", "v2", None)
GATES = (
    "  analysis:\n    prometheus: http://prometheus.monitoring:9090\n    interval: 5m\n"
    "    metrics:\n      - {name: error-rate, max: 1}\n      - {name: latency, maxIncrease: {ratio: 1.5}}\n"
)


def name_literals(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Constant) and node.value in ROUTERS:
            yield node.lineno, str(node.value)


def test_no_router_name_outside_the_routers_and_the_registry() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {name!r}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if not any(path == allowed or allowed in path.parents for allowed in ALLOWED)
        for line, name in name_literals(path)
        if (str(path.relative_to(ROOT)), name) not in SETTINGS_KEYS
    ]
    assert found == [], "a router's name outside its module and router_facts.ROUTERS:\n" + "\n".join(found)


def test_the_schema_enum_is_the_registry() -> None:
    schema = json.loads((ROOT / "schemas" / "release.schema.json").read_text())
    router = schema["$defs"]["spec"]["properties"]["router"]
    assert router["enum"] == list(ROUTERS)
    assert router["default"] == router_facts.DEFAULT
    assert all(router_for(name).name == name for name in ROUTERS)


# -- a router registered at run time ----------------------------------------------------------------------------

TOY = "toy-"
ROUTER = None  # set by the fixture: the copy `router_for` imports from this module


@pytest.fixture(params=sorted(ROUTERS))
def toy(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """A copy of a real router registered as `toy-<name>`: this module is its module, ROUTER its record."""
    real = str(request.param)
    name = TOY + real
    monkeypatch.setitem(ROUTERS, name, replace(ROUTERS[real], module=__name__))
    monkeypatch.setattr(f"{__name__}.ROUTER", replace(router_for(real), name=name))
    return real, name


def release_of(text: str, tmp_path: Path) -> Release:
    spec = tmp_path / "hello.yaml"
    spec.write_text(text)
    return load_release(spec)


def renamed(value: Any, old: str, new: str) -> Any:
    return json.loads(json.dumps(value).replace(json.dumps(old)[1:-1], json.dumps(new)[1:-1]))


@pytest.mark.parametrize("engine, progression_", [("deployments", None), ("argo-rollouts", "controller"),
                                                  ("flagger", None)])  # fmt: skip
def test_a_registered_router_renders_and_gates_like_the_one_it_copies(
    toy: tuple[str, str], tmp_path: Path, engine: str, progression_: str | None
) -> None:
    real, name = toy
    release = release_of(spec_text(engine, real, CANARY + GATES, progression_), tmp_path)
    copy = replace(release, router=name)
    render = renderer_for(release.engine)
    for env in release.environments:
        state = EnvState("progressing", env.image, V2, step=2, weight=25, since="2025-01-01T00:00:00Z")
        assert render(copy, env, state) == render(release, env, state)
        where, copied = gates.traffic(release, env, state), gates.traffic(copy, env, state)
        assert copied == replace(where, router=name)
        analysis = release.analysis_for(env)
        assert analysis is not None
        for metric in analysis.metrics:
            assert gates.query(metric, copied, "5m") == gates.query(metric, where, "5m")
    assert shapes.ready_first(copy) == shapes.ready_first(release)
    assert router_for(name).facts is ROUTERS[name]


def test_a_registered_router_is_checked_like_the_one_it_copies(toy: tuple[str, str], tmp_path: Path) -> None:
    real, name = toy
    sticky = CANARY + "      sticky: true\n"
    text = spec_text("argo-rollouts", real, sticky + GATES.replace("error-rate, max", "p, query: '{{ ingress }}', max"))
    data = load_single(_written(tmp_path, text)).data
    findings = [(f.path, f.message) for f in check_router(data)]
    data["spec"]["router"] = name
    assert [(f.path, renamed(f.message, name, real)) for f in check_router(data)] == findings


def _written(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


def test_init_offers_a_registered_router_once_it_has_templates(toy: tuple[str, str]) -> None:
    """`rollgen init --router` is optional for a new router: offered only with its first-release templates."""
    from generator.cli import build_parser

    real, name = toy
    init = next(a for a in build_parser("init")._actions if a.dest == "command").choices["init"]  # type: ignore[attr-defined]
    offered = next(a for a in init._actions if a.dest == "router").choices
    assert real in offered and name not in offered
    assert tuple(offered) == tuple(n for n in ROUTERS if not n.startswith(TOY))


def test_router_facts_are_data() -> None:
    """The registry is read on `rollgen validate`'s path: records only, no render import."""
    tree = ast.parse((PACKAGE / "router_facts.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    assert imported == {"__future__", "generator.records"}
    assert all(isinstance(found, RouterFacts) for found in ROUTERS.values())
    assert router_facts.DEFAULT in ROUTERS
