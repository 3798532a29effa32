"""Golden files: every example rendered by the real pipeline, byte for byte.

A change in generated output shows up here as a unified diff. When the change is intended, rewrite the golden
trees with `python tests/regen_golden.py` and review the diff in git before committing it.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.validators import (
    is_git_progression,
    render_example,
    render_progressing,
    valid_examples,
)

GOLDEN = ROOT / "tests" / "golden"
REGEN = "python tests/regen_golden.py"


def golden_cases() -> list[tuple[str, Path, str]]:
    """(golden folder, example, variant): the plain render of every example, and a progressing state at step 2
    for the git-progression ones (what the config repo holds in the middle of a canary)."""
    cases = []
    for example in valid_examples():
        cases.append((example.stem, example, "initial"))
        if is_git_progression(example):
            cases.append((f"{example.stem}-progressing", example, "progressing"))
    return cases


def render_case(example: Path, variant: str, out: Path) -> None:
    if variant == "progressing":
        render_progressing(example, out)
    else:
        render_example(example, out)


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def tree_diff(expected: dict[str, bytes], actual: dict[str, bytes], label: str) -> list[str]:
    out = []
    for rel in sorted(expected.keys() | actual.keys()):
        if rel not in actual:
            out.append(f"missing from the output: {rel}")
        elif rel not in expected:
            out.append(f"not in the golden tree: {rel}")
        elif expected[rel] != actual[rel]:
            diff = difflib.unified_diff(
                expected[rel].decode("utf-8", "replace").splitlines(keepends=True),
                actual[rel].decode("utf-8", "replace").splitlines(keepends=True),
                fromfile=f"golden/{label}/{rel}",
                tofile=f"rendered/{rel}",
            )
            out.append("".join(diff))
    return out


CASES = golden_cases()


@pytest.mark.parametrize(("folder", "example", "variant"), CASES, ids=[c[0] for c in CASES])
def test_render_matches_golden(folder: str, example: Path, variant: str, tmp_path: Path) -> None:
    golden = GOLDEN / folder
    assert golden.is_dir(), f"no golden tree {golden.relative_to(ROOT)}: run {REGEN}"
    render_case(example, variant, tmp_path)
    problems = tree_diff(read_tree(golden), read_tree(tmp_path), folder)
    assert not problems, f"rendered output differs from the golden tree (intended? run {REGEN}):\n" + "\n".join(
        problems
    )


def test_no_stale_golden_trees() -> None:
    folders = {p.name for p in GOLDEN.iterdir() if p.is_dir()} if GOLDEN.is_dir() else set()
    assert folders <= {c[0] for c in CASES}, f"golden trees without an example (run {REGEN})"


def test_tree_diff_reports_every_kind_of_difference() -> None:
    problems = tree_diff({"a": b"x\n", "b": b"same\n", "c": b"gone\n"}, {"a": b"y\n", "b": b"same\n", "d": b"new\n"}, "t")
    assert problems[0].startswith("--- golden/t/a") and "-x\n" in problems[0] and "+y\n" in problems[0]
    assert problems[1:] == ["missing from the output: c", "not in the golden tree: d"]
