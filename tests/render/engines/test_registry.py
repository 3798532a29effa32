"""The Engine records: every engine the facts name is registered, with every hook its record reads, and the facts
module stays plain data (`rollgen validate` reads it without the model)."""

from __future__ import annotations

import importlib

import pytest

from generator import facts
from generator.render.engines import ENGINES, engine_for, renderer_for
from generator.model import EnvState, Release
from generator.render.loading import load_release
from tests.conftest import EXAMPLES
from tests.imports import imported

HOOKS = ("render", "render_sides", "config_readers", "new_version", "longest_wait", "HEALTH_CHECK", "by_hand",
         "rolling_marker", "rolling_outage")
ENGINE_NAMES = ("deployments", "argo-rollouts", "flagger")


@pytest.mark.parametrize("name", ENGINE_NAMES)
def test_every_engine_has_its_facts_and_hooks(name: facts.EngineName) -> None:
    engine = engine_for(name)
    assert engine.name == name and renderer_for(name) is engine.render
    for table in (facts.PROGRESSIONS, facts.STRATEGIES, facts.TRAITS, facts.SERVICES, facts.STABLE_SERVICE):
        assert name in table
    module = importlib.import_module(engine.module)
    assert [hook for hook in HOOKS if not hasattr(module, hook)] == []


def test_the_registry_is_exactly_the_engines_the_facts_name() -> None:
    assert set(ENGINES) == set(facts.PROGRESSIONS) == set(facts.TRAITS) == set(ENGINE_NAMES)


def _release(example: str) -> Release:
    return load_release(EXAMPLES / example)


def test_the_services_the_record_names_are_the_ones_rendered_or_created() -> None:
    """What the length checks measure (facts.SERVICES through names.services) is what the deployments and Argo
    Rollouts engines write (Flagger's are made by its controller)."""
    for example in ("hello-nginx-canary.yaml", "hello-nginx-bluegreen.yaml", "hello-rollouts-canary.yaml",
                    "hello-rollouts-bluegreen.yaml"):
        release = _release(example)
        env = release.environments[0]
        engine = engine_for(release.engine)
        rendered = engine.render(release, env, EnvState.initial(env))
        written = {m["metadata"]["name"] for m in rendered.manifests if m["kind"] == "Service"}
        assert set(engine.services(release.strategy.kind, release.name)) == written, example


def test_two_commit_promotion_and_default_progression_come_from_the_facts() -> None:
    assert [n for n in ENGINE_NAMES if engine_for(n).two_commit_promotion] == ["deployments"]
    assert {n: engine_for(n).default_progression for n in ENGINE_NAMES} == {
        "deployments": "git", "argo-rollouts": "controller", "flagger": "controller"}


def test_the_facts_module_imports_no_other_part_of_the_package() -> None:
    loaded = imported("import generator.facts")[1]  # beyond the interpreter's own start-up (tests/imports.py)
    assert sorted(m for m in loaded if m.startswith("generator")) == ["generator", "generator.facts"]
