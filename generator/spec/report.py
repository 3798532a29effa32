"""Problems as people and machines read them: one `FILE:LINE:COL: $.path: message` line each, or JSON."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from generator.errors import Problem


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """By file, then position; exact repeats (one mistake reached through two schema branches) once."""
    return sorted(set(problems), key=lambda p: (p.file, p.line, p.column, p.path, p.message))


def format_text(problems: Iterable[Problem]) -> str:
    return "".join(problem.format() + "\n" for problem in sort_problems(problems))


def format_json(problems: Iterable[Problem], files: int | None = None) -> str:
    import json  # here: the text report (a hook's) never needs it, and json costs ~6 M instructions to import

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
    # Close means a slip of the keyboard: a letter or two wrong, missing, extra or swapped (one more for long
    # words). A looser guess (difflib's ratio suggested `service` for `svc`) sends a newcomer the wrong way.
    allowed = 1 if len(word) <= 4 else 2 if len(word) <= 10 else 3
    scored = sorted((_edits(word.lower(), choice.lower()), index) for index, choice in enumerate(options))
    if scored and scored[0][0] <= allowed:
        return options[scored[0][1]]
    return None


def _edits(a: str, b: str) -> int:
    """Edits from a to b: insertions, deletions, substitutions and swaps of neighbours (optimal string alignment)."""
    if abs(len(a) - len(b)) > 3:
        return 4  # more than any `allowed` above, without the table
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y))
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]


def did_you_mean_in_parens(word: str, choices: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for appending to a message, or nothing."""
    match = suggest(word, choices)
    return f" (did you mean {match!r}?)" if match is not None and match != word else ""
