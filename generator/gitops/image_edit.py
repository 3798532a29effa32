"""A spec's image, edited in place (`rollgen set-image`, `rollgen rollback`): by span, so that everything else in
the file stays its own bytes, and checked before it is written.

ruamel.yaml's round-trip loader (imported here only, so that the validate hook never pays for it) finds where the
image scalar starts in the file, and exactly that scalar's text is replaced in the original bytes, in the same
quoting style. Everything else (comments, the modeline, key order, flow maps, blank lines, CRLF line endings, a
BOM) is kept byte for byte; a dump by ruamel would re-indent and re-space what it does not model. With an
environment, its own `image:` is written, added after its `name:` in the entry's own style (block or flow) when
absent. The file is written beside the spec and renamed over it, so a crash leaves the old spec or the new one.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.errors import RollgenError, UsageError
from generator.gitops.repo import Repo
from generator.spec.config import Config

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Edit:
    """The new bytes of the spec, and what changed in words."""

    data: bytes
    old: str | None  # the image the edited entry had (None: the environment had none, it was added)


# -- the image and its rules --------------------------------------------------------------------------------


def check_image(text: str) -> str:
    """IMAGE as the spec's schema accepts it: a tag or digest, and no character that YAML would read apart."""
    from generator.spec.schema import image_case_fix, image_case_message, load_schema

    pattern = load_schema("release.schema.json")["$defs"]["image"]["pattern"]
    if len(text) > 512 or not re.fullmatch(pattern, text):  # not re.match: its `$` lets a final newline through
        fixed = image_case_fix(text, pattern)
        raise UsageError(f"{text!r} {image_case_message(fixed)}" if fixed else (
            f"{text!r} is not an image reference with a tag or a digest, such as ghcr.io/org/app:v1.2.3 or "
            "ghcr.io/org/app@sha256:<64 hex digits>"
        ))  # fmt: skip
    return text


def plain_file(repo: Repo, spec: Path) -> str:
    """The spec's repo-relative path, when it and every folder on the way are real (no symlink) and it is a
    regular file; anything else is refused: rollgen never writes through a symlink."""
    root = repo.root
    try:
        rel = Path(os.path.abspath(spec)).relative_to(root)
    except ValueError:
        raise RollgenError(f"{spec} is outside the repository {root}; set-image edits specs of the repository") from None
    at = root
    for part in rel.parts:
        at = at / part
        mode = os.lstat(at).st_mode
        if stat.S_ISLNK(mode):
            raise RollgenError(f"refusing to edit {rel.as_posix()}: {at.relative_to(root).as_posix()} is a symlink")
    if not stat.S_ISREG(os.lstat(spec).st_mode):
        raise RollgenError(f"refusing to edit {rel.as_posix()}: not a regular file")
    return rel.as_posix()


# -- locating and replacing the scalar ----------------------------------------------------------------------


def edit_image(raw: bytes, env: str | None, image: str, display: str) -> Edit:
    """The spec's bytes with the image of the spec (or of environment `env`) set to `image`."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    text = raw.decode("utf-8")
    yaml = YAML(typ="rt", pure=True)
    yaml.preserve_quotes = True
    try:
        doc = yaml.load(text)
    except YAMLError as exc:
        raise RollgenError(f"{display}: ruamel.yaml cannot read it for editing: {exc}") from None
    target = _target(doc, env, display)
    offsets = _line_offsets(text)
    if "image" in target:
        line, column = target.lc.value("image")
        start = offsets[line] + column
        old = str(target["image"])
        end = start + _token_length(text, start, old, display)
        token = _quoted_like(text[start], image)
        return Edit(_encode(text[:start] + token + text[end:]), old)
    return Edit(_encode(_insert_image(text, offsets, target, image, display)), None)


def _target(doc: Any, env: str | None, display: str) -> Any:
    spec = doc.get("spec") if hasattr(doc, "get") else None
    if spec is None or not hasattr(spec, "lc"):
        raise RollgenError(f"{display}: no spec mapping to edit")
    if env is None:
        return spec
    entries = spec.get("environments")
    if not entries:
        raise RollgenError(f"{display} has no spec.environments; set the release's image without --env")
    for entry in entries:
        if hasattr(entry, "get") and entry.get("name") == env:
            return entry
    names = ", ".join(str(e.get("name")) for e in entries if hasattr(e, "get"))
    raise RollgenError(f"{display} has no environment {env!r}; its environments are: {names}")


def _line_offsets(text: str) -> list[int]:
    """Where each line starts, YAML line breaks only (\\r\\n, \\r, \\n): not Python's wider splitlines."""
    return [0] + [match.end() for match in _LINE_BREAK.finditer(text)]


def _token_length(text: str, start: int, value: str, display: str) -> int:
    """The length of the scalar written at `start`, checked against the value ruamel read there."""
    first = text[start : start + 1]
    if first in ("'", '"'):
        end = text.find(first, start + 1)
        if end != -1 and text[start + 1 : end] == value:
            return end + 1 - start
    elif text.startswith(value, start) and _ends_plain(text, start + len(value)):
        return len(value)
    raise RollgenError(
        f"{display}: the image is not written as one simple scalar (escapes, folding, a tag or an alias?); "
        "write it as a plain or quoted scalar on one line"
    )


def _ends_plain(text: str, at: int) -> bool:
    return at >= len(text) or text[at] in " \t\r\n,}]#"


def _quoted_like(first: str, image: str) -> str:
    """The new scalar in the old one's style. The image has no quote, backslash or space (check_image)."""
    return f"{first}{image}{first}" if first in ("'", '"') else image


def _insert_image(text: str, offsets: list[int], entry: Any, image: str, display: str) -> str:
    """Add `image:` to an environment entry right after its name, in the entry's style."""
    name_line, name_column = entry.lc.value("name")
    name_start = offsets[name_line] + name_column
    name_end = name_start + _token_length(text, name_start, str(entry["name"]), display)
    if entry.fa.flow_style():
        return f"{text[:name_end]}, image: {image}{text[name_end:]}"
    key_line, key_column = entry.lc.key("name")
    if name_line != key_line:
        raise RollgenError(f"{display}: environment {entry['name']!r}: write `name:` and its value on one line")
    next_line = offsets[name_line + 1] if name_line + 1 < len(offsets) else len(text)
    line = text[offsets[name_line] : next_line]
    ending = line[len(line.rstrip("\r\n")) :] or _file_line_ending(text)
    head = text[:next_line] if line.endswith(("\n", "\r")) else text + ending
    return f"{head}{' ' * key_column}image: {image}{ending}{text[next_line:]}"


def _file_line_ending(text: str) -> str:
    match = _LINE_BREAK.search(text)
    return match.group(0) if match else "\n"


def _encode(text: str) -> bytes:
    return text.encode("utf-8")  # a BOM read as U+FEFF is written back as the same three bytes


# -- checking the result ------------------------------------------------------------------------------------


def validated_bytes(raw: bytes, config: Config, display: str) -> dict[str, Any]:
    """What load_release checks, on bytes not yet written: schema, meaning, profiles, the model's build."""
    from generator.errors import InvalidInput, Problem
    from generator.spec.loader import load_text
    from generator.spec.profiles import load_profiles
    from generator.render.loading import check_document
    from generator.spec.release import build_release

    docs = [doc for doc in load_text(raw, display) if doc.data is not None]
    if len(docs) != 1:
        raise InvalidInput([Problem(display, 1, 1, "$", f"expected one document, found {len(docs)}")])
    profiles = load_profiles([config.profiles_dir] if config.profiles_dir else [])
    problems = check_document(docs[0], profiles)
    if problems:
        raise InvalidInput(problems)
    build_release(docs[0], profiles)
    data: dict[str, Any] = docs[0].data
    return data


def check_meaning(data: bytes, before: dict[str, Any], env: str | None, image: str, config: Config, display: str) -> None:
    """The edited spec validates, and reads as the old one with the one image changed: else nothing is written."""
    import copy

    from generator.errors import InvalidInput

    expected = copy.deepcopy(before)
    entry = expected["spec"]
    if env is not None:
        entry = next(e for e in entry["environments"] if e.get("name") == env)
    entry["image"] = image
    try:
        after = validated_bytes(data, config, display)
    except InvalidInput as exc:
        shown = "; ".join(f"{p.line}:{p.column}: {p.path}: {p.message}" for p in exc.problems[:3])
        raise RollgenError(f"{display} would no longer validate with image {image}; left as it was: {shown}") from None
    if after != expected:
        raise RollgenError(f"{display}: editing the image would change more than the image; left as it was (a bug?)")
