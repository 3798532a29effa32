"""cli._quick (validate, render and advance command lines read without argparse) against argparse's own reading.

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


# advance's words: names, every option in both spellings, values that are and are not choices
TICK_WORDS = ["app", "b", "", "x=y", "-", "--", "-h", "--env", "--env=prod", "--en", "prod", "--repo", "--repo=r",
              "--repo=", "--now", "--now=2026-01-02T03:04:05Z", "--push", "--push=1", "--dry-run", "--dry", "--all",
              "--format", "--format=json", "--format=yaml", "json", "-x", "-1", "--metrics-file=m.prom"]


def _lines(command: str, words: list[str]) -> list[list[str]]:
    lines = [[command]]
    for size in (1, 2, 3, 4):
        for combo in itertools.product(words, repeat=size) if size < 3 else itertools.permutations(words, size):
            lines.append([command, *combo])
    return lines


@pytest.mark.parametrize("command", ["validate", "render", "advance"])
def test_quick_reads_as_argparse_does(command: str) -> None:
    answered = 0
    for words in _lines(command, TICK_WORDS if command == "advance" else WORDS):
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
    assert vars(_quick(["advance", "web", "--env", "prod", "--repo", "cfg", "--push"]) or {}) == {
        "command": "advance", "name": "web", "repo": Path("cfg"), "env": "prod", "push": True, "now": None,
        "dry_run": False, "format": "text", "all": False, "metrics_file": None, "cluster": None}
    assert vars(_quick(["advance", "--all", "--repo=cfg"]) or {})["all"] is True
    assert _quick(["status"]) is None and _quick([]) is None


def test_quick_knows_every_option_of_its_commands() -> None:
    """A new option added to _validate, _render or _advance must be added to _QUICK too (or lines using it fall
    back)."""
    for command, (_, defaults, options) in _QUICK.items():
        parser = build_parser(command)
        sub = next(a for a in parser._actions if a.dest == "command").choices[command]  # type: ignore[union-attr]
        declared = {s for a in sub._actions for s in a.option_strings if s.startswith("--") and s != "--help"}
        assert declared == set(options), command
        assert {a.dest: a.default for a in sub._actions if a.dest in defaults} == defaults
