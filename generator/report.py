"""Problems as people and machines read them: one `FILE:LINE:COL: $.path: message` line each, or JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable

from generator.errors import Problem


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """By file, then position; exact repeats (one mistake reached through two schema branches) once."""
    return sorted(set(problems), key=lambda p: (p.file, p.line, p.column, p.path, p.message))


def format_text(problems: Iterable[Problem]) -> str:
    return "".join(problem.format() + "\n" for problem in sort_problems(problems))


def format_json(problems: Iterable[Problem], files: int | None = None) -> str:
    ordered = sort_problems(problems)
    counts: dict[str, object] = {} if files is None else {"files": files}
    document = {
        "problems": [problem._asdict() for problem in ordered],
        "summary": {**counts, "problems": len(ordered), "valid": not ordered},
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def print_problems(problems: Iterable[Problem], fmt: str = "text", files: int | None = None) -> None:
    """Problems on stdout in the chosen format; with `files`, the `N files, M problems` line on stderr."""
    ordered = sort_problems(problems)
    sys.stdout.write(format_json(ordered, files) if fmt == "json" else format_text(ordered))
    if files is not None:
        print(summary(files, len(ordered)), file=sys.stderr)


def summary(files: int, problems: int) -> str:
    return f"{_count(files, 'file')}, {_count(problems, 'problem')}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """The choice the user most likely meant by `word`, if any is close enough to say so."""
    options = list(choices)
    by_case = {choice.lower(): choice for choice in options}
    if word.lower() in by_case:  # `containerport` for `containerPort`: the commonest slip
        return by_case[word.lower()]
    import difflib  # only when something is misspelt: not worth its import on the valid path

    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for appending to a message, or nothing."""
    match = suggest(word, choices)
    return f" (did you mean {match!r}?)" if match is not None and match != word else ""
