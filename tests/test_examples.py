"""examples/ doubles as test data: every valid example passes and builds, every invalid one fails exactly as its
`# expect: LINE:COL: $.path: message fragment` lines say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from generator.render import loading
from generator.spec import release as spec
from generator.errors import InvalidInput, Problem
from generator.spec.loader import load_single
from generator.model import Release

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
VALID = sorted(EXAMPLES.glob("*.yaml"))
INVALID = sorted((EXAMPLES / "invalid").glob("*.yaml"))
MODELINE = "# yaml-language-server: $schema=../schemas/release.schema.json"
EXPECT = re.compile(r"^# expect: (\d+):(\d+): (\$\S*): (.+)$")


def problems_of(path: Path) -> list[Problem]:
    try:
        return loading.check_document(load_single(path))
    except InvalidInput as exc:
        return exc.problems


def expectations(path: Path) -> list[tuple[int, int, str, str]]:
    head = path.read_bytes().decode("utf-8", "replace").splitlines()
    found = []
    for line in head:
        match = EXPECT.match(line)
        if not match:
            break
        found.append((int(match[1]), int(match[2]), match[3], match[4]))
    return found


@pytest.mark.parametrize("path", VALID, ids=[p.name for p in VALID])
def test_valid_example_has_no_problems_and_builds(path: Path) -> None:
    assert path.read_text(encoding="utf-8").splitlines()[0] == MODELINE
    assert [p.format() for p in problems_of(path)] == []
    release = spec.build_release(load_single(path))
    assert isinstance(release, Release)
    assert release.environments


@pytest.mark.parametrize("path", VALID, ids=[p.name for p in VALID])
def test_valid_example_loads_through_load_release(path: Path) -> None:
    assert loading.load_release(path) == spec.build_release(load_single(path))


@pytest.mark.parametrize("path", INVALID, ids=[p.name for p in INVALID])
def test_invalid_example_fails_as_expected(path: Path) -> None:
    expected = expectations(path)
    assert expected, f"{path.name} starts with no `# expect:` line"
    actual = problems_of(path)
    shown = "\n".join(p.format() for p in actual)
    assert len(actual) == len(expected), shown
    for problem, (line, column, json_path, fragment) in zip(actual, expected, strict=True):
        assert (problem.line, problem.column, problem.path) == (line, column, json_path), shown
        assert fragment in problem.message, shown
        assert problem.file == str(path)


@pytest.mark.parametrize("path", INVALID, ids=[p.name for p in INVALID])
def test_invalid_example_is_refused_by_load_release(path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        loading.load_release(path)
    assert len(caught.value.problems) == len(expectations(path))


def test_readme_example_has_a_prod_environment() -> None:
    release = loading.load_release(EXAMPLES / "hello-rollouts-canary.yaml")
    assert release.environment("prod").namespace == "web"
    assert release.engine == "argo-rollouts" and release.progression == "git"


def test_enough_invalid_examples() -> None:
    assert len(INVALID) >= 20
