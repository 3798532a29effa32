"""Callers ask about an engine (generator/facts.py's traits on `rollgen validate`'s path, the Engine record
elsewhere) instead of comparing its name: a new engine then needs no edit outside its module, its registry line and
its facts (issue 27 item 3)."""

from __future__ import annotations

import ast
from pathlib import Path

from generator.render.engines import engine_for

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "generator"
ENGINE_NAMES = ("deployments", "argo-rollouts", "flagger")
# Where engine names are the subject: the engines themselves and the facts about them.
SAYS_THE_NAMES = (PACKAGE / "render" / "engines", PACKAGE / "facts.py")


def _names_in(node: ast.expr) -> list[str]:
    """The engine names a comparison's operand spells: a string, or the strings of a tuple, list or set."""
    items = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
    return [item.value for item in items if isinstance(item, ast.Constant) and item.value in ENGINE_NAMES]


def engine_name_comparisons() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if any(path == place or place in path.parents for place in SAYS_THE_NAMES):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare) and any(_names_in(side) for side in (node.left, *node.comparators)):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_engine_name_is_compared_outside_the_engines_and_the_facts() -> None:
    assert engine_name_comparisons() == []


def test_the_scan_sees_a_comparison() -> None:
    """The scan itself: each spelling of a name comparison is caught."""
    for code in ('engine == "flagger"', '"deployments" != engine', 'engine in ("argo-rollouts", "flagger")'):
        expr = ast.parse(code, mode="eval").body
        assert isinstance(expr, ast.Compare) and any(_names_in(side) for side in (expr.left, *expr.comparators))


def test_only_flaggers_controller_scales_the_deployments_git_declares() -> None:
    """What Argo CD's replicas ignore rule asks (wiring/argocd.py), instead of the engine's name."""
    assert [name for name in ENGINE_NAMES if engine_for(name).scales_its_deployments] == ["flagger"]
