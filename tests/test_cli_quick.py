"""cli._quick (validate and render command lines read without argparse) against argparse's own reading.

Whenever _quick answers, its arguments equal argparse's; whenever argparse refuses a line, _quick does not
answer. Every combination of a few paths and options, in every order, is tried.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import itertools
from pathlib import Path

import pytest

from generator.cli import _QUICK, _quick, build_parser

WORDS = ["a.yaml", "dir", "", "x=y", "-", "--", "-h", "--help", "--format", "--format=json", "--format=yaml",
         "json", "text", "--form", "--out", "--out=o", "--out=", "--out=-x", "o", "--check", "--check=1", "-x",
         "--format=text", "-1"]


@functools.cache
def _parser(command: str) -> argparse.ArgumentParser:
    return build_parser(command)


def _argparse(words: list[str]) -> dict[str, object] | None:
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        try:
            return vars(_parser(words[0]).parse_args(words))
        except SystemExit:
            return None


def _lines(command: str) -> list[list[str]]:
    lines = [[command]]
    for size in (1, 2, 3, 4):
        for combo in itertools.product(WORDS, repeat=size) if size < 3 else itertools.permutations(WORDS, size):
            lines.append([command, *combo])
    return lines


@pytest.mark.parametrize("command", ["validate", "render"])
def test_quick_reads_as_argparse_does(command: str) -> None:
    answered = 0
    for words in _lines(command):
        quick = _quick(words)
        if quick is None:
            continue
        answered += 1
        assert vars(quick) == _argparse(words), words
    assert answered > 100  # the fast path is taken for the common lines


def test_the_hook_lines_take_the_quick_path() -> None:
    assert vars(_quick(["validate", "releases/a.yaml", "releases/b.yml"]) or {}) == {
        "command": "validate", "paths": [Path("releases/a.yaml"), Path("releases/b.yml")], "format": "text"}
    assert vars(_quick(["render", "releases", "--out", ".", "--check"]) or {}) == {
        "command": "render", "paths": [Path("releases")], "out": Path("."), "check": True, "format": "text"}
    assert _quick(["status"]) is None and _quick([]) is None


def test_quick_knows_every_option_of_its_commands() -> None:
    """A new option added to _validate or _render must be added to _QUICK too (or lines using it fall back)."""
    for command, (defaults, options) in _QUICK.items():
        parser = build_parser(command)
        sub = next(a for a in parser._actions if a.dest == "command").choices[command]  # type: ignore[union-attr]
        declared = {s for a in sub._actions for s in a.option_strings if s.startswith("--") and s != "--help"}
        assert declared == set(options), command
        assert {a.dest: a.default for a in sub._actions if a.dest in defaults} == defaults
