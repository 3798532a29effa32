"""The one check of every name taken from the command line (a release NAME, an --env ENV), for every command.

A name from the command line becomes a path (apps/NAME/overlays/ENV, the wiring files of NAME-ENV) and a git
pathspec, so it is held to the rule the spec's own names are held to: a DNS-1123 label (the schema's dnsLabel),
exactly, no more. An empty --env (an unset CI variable), `hello/` or `../../..` is a usage error before anything
is read or written: each once reached `retire` and deleted files outside the environment it named.
"""

from __future__ import annotations

from typing import Any

from generator.errors import UsageError

_LOWER_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_LABEL = _LOWER_ALNUM | {"-"}
_MAX = 63
_RULE = "lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"


def is_name(value: str) -> bool:
    """Whether `value` is a DNS-1123 label, as the spec's metadata.name and environment names must be."""
    return 0 < len(value) <= _MAX and value[0] in _LOWER_ALNUM and value[-1] in _LOWER_ALNUM and _LABEL.issuperset(value)


def check_name(value: str, option: str, what: str) -> str:
    """`value`, or a UsageError saying what a name of that kind looks like."""
    if not is_name(value):
        raise UsageError(f"{option} {value!r} is not {what} ({_RULE}); give it exactly as the spec names it")
    return value


def check_arguments(args: Any) -> None:
    """Every name of the parsed command line: NAME (unless `plan` was given a spec's path) and --env."""
    name = getattr(args, "name", None)
    if isinstance(name, str) and not (args.command == "plan" and name.endswith((".yaml", ".yml"))):
        check_name(name, "NAME", "a release name")
    env = getattr(args, "env", None)
    if isinstance(env, str):
        check_name(env, "--env", "an environment name")
