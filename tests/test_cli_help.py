"""Every command, positional argument and option of the command line says what it is for."""

from __future__ import annotations

import argparse
from pathlib import Path

from generator.cli import COMMANDS, build_parser


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def test_every_argument_has_help() -> None:
    missing = []
    for name, sub in _subparsers(build_parser()).items():
        for action in sub._actions:
            if not (action.help or "").strip() or action.help == argparse.SUPPRESS:
                missing.append(f"rollgen {name} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, missing


def test_repo_defaults_to_the_current_folder_for_every_command_that_has_it() -> None:
    for name, sub in _subparsers(build_parser()).items():
        repo = [a for a in sub._actions if "--repo" in a.option_strings]
        if repo:
            assert (repo[0].required, repo[0].default) == (False, Path(".")), name
    assert set(COMMANDS) >= {"release", "advance", "promote", "abort", "status", "history"}
