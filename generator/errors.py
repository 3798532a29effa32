"""One base exception; problems in user input are data (Problem), collected and reported together."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

EXIT_OK = 0
EXIT_USER = 1
EXIT_USAGE = 2
EXIT_BUG = 3
EXIT_INTERRUPTED = 130


def json_path(path: Sequence[str | int]) -> str:
    """`$.spec.strategy.canary.steps[1].weight`; keys that are not plain names go in brackets."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.replace("-", "").replace("_", "").isalnum() and not part[:1].isdigit():
            out += f".{part}"
        else:
            out += f"[{part!r}]"
    return out


# Declared by a call, the field types as objects: in the class syntax, under `from __future__ import annotations`,
# typing compiles each type from its string with compile(), whose first call costs ~5% of a cold `rollgen validate`
# (it sets up the compiler's AST types); no NamedTuple on the hook's path uses the class syntax (tests/test_records.py).
class Problem(NamedTuple("Problem", [("file", str), ("line", int), ("column", int), ("path", str), ("message", str)])):
    """One mistake in one input file, located as precisely as the input allows.

    line and column are 1-based, 0 when unknown; path is a JSON path such as "$.spec.strategy.canary.steps[1].weight",
    or "$" for the document.
    """

    __slots__ = ()

    def format(self) -> str:
        if self.line == 0:  # about the file as a whole (missing, unreadable): no position, and no `:0:0:`
            where = "" if self.path == "$" else f" {self.path}:"
            return f"{self.file}:{where} {self.message}"
        return f"{self.file}:{self.line}:{self.column}: {self.path}: {self.message}"


class RollgenError(Exception):
    """A failure that is the user's input or situation, not a bug: exit 1, one clear message."""

    exit_code = EXIT_USER


class UsageError(RollgenError):
    exit_code = EXIT_USAGE


class InvalidInput(RollgenError):
    """Raised with every problem found, so callers can report all of them at once."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(p.format() for p in problems))
        self.problems = problems
