"""Which files are release specs: files named on the command line are; folders are searched."""

from __future__ import annotations

import os
import re
from pathlib import Path

from generator.errors import Problem
from generator.spec.loader import MAX_BYTES

SPEC_SUFFIXES = (".yaml", ".yml")
# A top-level `kind: Release` line. Cheap enough to read every YAML file of a config repo (generated
# manifests included) without parsing any; the real load that follows is the judge.
# Compiled (through re's cache) when a folder is first searched: a spec named on the command line never needs it.
_RELEASE_KIND = rb"^kind:[ \t]*(['\"]?)Release\1[ \t]*(?:#[^\n]*)?\r?$"


def find_specs(paths: list[Path]) -> tuple[list[Path], list[Problem]]:
    """Spec files in command-line order (each folder's sorted), once each, and the paths that are wrong."""
    found: list[Path] = []
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            specs = _search(path, problems)
            if not specs:
                problems.append(Problem(str(path), 0, 0, "$", (
                    "no release specs here: looked for .yaml/.yml files with a top-level `kind: Release`"
                )))  # fmt: skip
            found.extend(specs)
        elif path.exists():
            found.append(path)  # taken as given, so a file that is not a Release is reported, not skipped
        else:
            problems.append(Problem(str(path), 0, 0, "$", "no such file or folder; check the path"))
    return _unique(found), problems


def _search(folder: Path, problems: list[Problem]) -> list[Path]:
    specs = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # .git, .venv, editor state
        for name in files:
            if name.endswith(SPEC_SUFFIXES) and not name.startswith("."):
                candidate = os.path.join(root, name)  # a string until it is one: this runs for every YAML file
                # A symlink is never read (it may lead anywhere); os.walk already does not enter linked folders.
                if not os.path.islink(candidate) and _looks_like_release(candidate, problems):
                    specs.append(Path(candidate))
    return sorted(specs)


def _looks_like_release(path: str, problems: list[Problem]) -> bool:
    """Whether the file is a spec to load; a file that is almost one (empty, or rollgen's apiVersion with a kind
    rollgen does not know) is a problem in `problems`, not skipped in silence."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(MAX_BYTES)
    except OSError:
        return True  # unreadable: let the loader say why
    if re.search(_RELEASE_KIND, head, re.MULTILINE) is not None:
        return True
    if _empty(head):
        problems.append(Problem(path, 0, 0, "$", (
            "the file is empty (or only comments); a release spec starts with `apiVersion: rollgen.io/v1alpha1` "
            "and `kind: Release`: fill it in or remove it"
        )))  # fmt: skip
    elif re.search(_ROLLGEN_API, head, re.MULTILINE) is not None:
        kind = re.search(_ANY_KIND, head, re.MULTILINE)
        if kind is None or kind[2].decode(errors="replace") not in _OTHER_KINDS:
            problems.append(_unknown_kind(path, head, kind))
    return False


_ROLLGEN_API = rb"^apiVersion:[ \t]*['\"]?rollgen\.io/"
_ANY_KIND = rb"^kind:[ \t]*(['\"]?)([^'\"\s#]*)\1"
_OTHER_KINDS = ("Profile", "Config")  # rollgen's files that are not specs (overlays/*.yaml, rollgen.yaml)


def _empty(head: bytes) -> bool:
    """Nothing but blank lines, comments and document markers: the file cannot be anything (stops at the first
    line of content, the second line of a generated file)."""
    for line in head.splitlines():
        text = line.strip()
        if text and not text.startswith(b"#") and text not in (b"---", b"..."):
            return False
    return True


def _unknown_kind(path: str, head: bytes, kind: re.Match[bytes] | None) -> Problem:
    if kind is None:
        return Problem(path, 0, 0, "$.kind", (
            "the file has rollgen's apiVersion but no top-level `kind`; a release spec says `kind: Release`"
        ))  # fmt: skip
    from generator.spec.report import suggest

    value = kind[2].decode(errors="replace")
    line = head.count(b"\n", 0, kind.start()) + 1
    column = kind.start(2) - kind.start() + 1
    guess = suggest(value, ("Release", *_OTHER_KINDS))
    hint = f"did you mean `kind: {guess}`? " if guess else ""
    return Problem(path, line, column, "$.kind", (
        f"the file has rollgen's apiVersion but kind {value!r}, which is not one rollgen knows (Release, "
        f"{', '.join(_OTHER_KINDS)}); {hint}a release spec says `kind: Release`"
    ))  # fmt: skip


def _unique(paths: list[Path]) -> list[Path]:
    seen: set[Path] = set()
    result = []
    folders: dict[Path, Path] = {}
    for path in paths:
        key = resolved(path, folders)
        if key not in seen:
            seen.add(key)
            result.append(path)
    return result


def resolved(path: Path, folders: dict[Path, Path]) -> Path:
    """path.resolve(), with each folder resolved once (`folders` caches them): only a symlink at the end is
    resolved whole. Thousands of specs share a few folders, and resolving a path stats every part of it."""
    if os.path.islink(path):
        return path.resolve()
    parent = path.parent
    folder = folders.get(parent)
    if folder is None:
        folder = folders[parent] = parent.resolve()
    return folder / path.name
