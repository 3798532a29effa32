"""The emitter's fast path writes exactly LibYAML's bytes: awkward strings in every position, every nesting
shape, random documents, and every example's rendered tree."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from generator.render import emit as emitter
from generator.render.emit import Documents, emit, libyaml_body
from tests.render.test_emit import NASTY

EXTRA = [
    "ghcr.io/example/app:v1", "http://prometheus.monitoring:9090", "a:b:", "a: b", "a:", ":a", "-a", "- a", "a -",
    "?a", "? a", "a ?", "a,b", "[x", "x]", "{x", "x}", "a#b", "a #b", "#a", "!a", "a!", "%a", "@a", "a@b", "`a",
    "a'b", 'a"b', "a|b", "a>b", "a  b", " a", "a ", "0", "01", "1.5", "1_0", "0x", "0o8", "1:20", "190:20:30",
    "Yes", "NO", "On", "NULL", "Null", "True", "FALSE", "2001-12-14", "~x", "x~", ".", "..", "./a", "$HOME",
    "$(x)", "(a)", "...a", ".. .", "a...", "a=b", "=", "<<", "a\n", "a\nb", "a\n\nb\n", "a\n\n\n", " a\nb", "a\n b", "a\t\nb", "é\nü",
    "x" * 99, "x" * 100, "x" * 101, "x" * 129, "y " * 70,
]
VALUES: list[Any] = [*NASTY, *EXTRA, 0, 1, -1, 10**20, True, False, None, 1.5, {}, []]


def same(doc: Any) -> None:
    fast = emit(doc, "x.yaml")
    reference = emitter.header("x.yaml").encode() + libyaml_body(doc)
    assert fast == reference, doc


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_every_value_in_every_position(value: Any) -> None:
    doc = {"k": value, "list": [value, [value], {"v": value}], "deep": {"a": {"b": [{"c": [value]}]}}}
    same(doc)
    same([value, {"k": [value, value]}])
    same(Documents([doc, {"x": value}]))
    if isinstance(value, str):
        same({value: 1, "m": {value: [value]}, "s": [{value: value}]})


def random_doc(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth > 4 or roll < 0.5:
        return rng.choice(VALUES)
    if roll < 0.8:
        return {rng.choice([v for v in VALUES if isinstance(v, str)]): random_doc(rng, depth + 1)
                for _ in range(rng.randint(0, 4))}
    return [random_doc(rng, depth + 1) for _ in range(rng.randint(0, 4))]


def test_random_documents() -> None:
    rng = random.Random(16)
    for _ in range(2000):
        same({"root": random_doc(rng, 0), "other": random_doc(rng, 0)})
        same([random_doc(rng, 0)])


def test_examples_render_through_the_fast_path_unchanged() -> None:
    from generator.render.loading import load_releases
    from generator.render.layout import layout
    from generator.render.pipeline import states_or_initial

    root = Path(__file__).resolve().parents[2]
    releases, _ = load_releases(sorted((root / "examples").glob("*.yaml")))
    assert releases
    handled = 0
    for release in releases:
        for doc in layout(release, states_or_initial(root / "no-such-folder", release)).values():
            same(doc)
            try:
                emitter._fast_body(doc)
                handled += 1
            except emitter._Unusual:
                pass
    assert handled > 0.9 * sum(1 for _ in releases)  # the fast path is what runs, not the fallback
