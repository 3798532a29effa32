"""The command line as argparse reads it: `build_parser(command)`, which declares only the command run (every
subparser costs argparse's gettext look-ups on each start), reads every line as the whole parser does, and the
lines the pre-commit hooks and the scheduled tick run read as they should.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
from pathlib import Path

import pytest

from generator.cli import COMMANDS, build_parser

WORDS = ["a.yaml", "-", "--", "--format", "--format=yaml", "json", "--out=o", "--check", "--env", "prod", "--all",
         "-x"]


def _read(parser: argparse.ArgumentParser, words: list[str]) -> tuple[str, object]:
    """What argparse makes of the line: the namespace, or how it refused (exit code and what it printed)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            return "read", vars(parser.parse_args(words))
        except SystemExit as exit:
            return "exit", (exit.code, out.getvalue(), err.getvalue())


@pytest.mark.parametrize("command", ["validate", "render", "advance", "status"])
def test_one_commands_parser_reads_as_the_whole_command_line(command: str) -> None:
    whole, alone = build_parser(), build_parser(command)
    for size in (0, 1, 2):
        for combo in itertools.permutations(WORDS, size):
            words = [command, *combo]
            assert _read(alone, words) == _read(whole, words), words


def test_the_hook_and_tick_lines_read_as_they_should() -> None:
    def read(*words: str) -> dict[str, object]:
        return vars(build_parser(words[0]).parse_args(list(words)))

    assert read("validate", "releases/a.yaml", "releases/b.yml") == {
        "command": "validate", "paths": [Path("releases/a.yaml"), Path("releases/b.yml")], "format": "text"}
    assert read("render", "releases", "--out", ".", "--check") == {
        "command": "render", "paths": [Path("releases")], "out": Path("."), "check": True, "format": "text"}
    assert read("advance", "web", "--env", "prod", "--repo", "cfg", "--push") == {
        "command": "advance", "name": "web", "repo": Path("cfg"), "env": "prod", "push": True, "now": None,
        "dry_run": False, "format": "text", "all": False, "metrics_file": None, "cluster": None}
    assert read("advance", "--all", "--repo=cfg")["all"] is True


def test_every_command_is_declared_alone() -> None:
    for command in COMMANDS:
        parser = build_parser(command)
        sub = next(a for a in parser._actions if a.dest == "command")
        assert list(sub.choices or ()) == [command]
