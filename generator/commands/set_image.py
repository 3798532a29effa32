"""`rollgen set-image NAME IMAGE [--env E] [--repo R] [--commit]`: bump the spec's image after a build.

The spec is edited by span: ruamel.yaml's round-trip loader (imported here only, so that the validate hook
never pays for it) finds where the image scalar starts in the file, and exactly that scalar's text is replaced
in the original bytes, in the same quoting style. Everything else (comments, the modeline, key order, flow
maps, blank lines, CRLF line endings, a BOM) is the file's own bytes, so it is kept byte for byte; a dump by
ruamel would re-indent and re-space what it does not model. `--env E` writes E's own `image:`, adding it after
E's `name:` in the entry's own style (block or flow) when absent.

Refused, with the file untouched: a spec that is not a plain file (a symlink, a device, ...), an image without
a digest where the spec (spec.requireDigest) or rollgen.yaml (images.requireDigest) demands one, and an edit
after which the spec would no longer validate or would mean anything but the new image. The new file is
written beside the spec and renamed over it, so a crash leaves the old spec or the new one.
"""

from __future__ import annotations

import argparse
import os
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.gitops.specs import find_spec, spec_display
from generator.spec.config import Config
from generator.errors import EXIT_OK, EXIT_USER, RollgenError, UsageError
from generator.gitops.repo import Repo

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
TRAILER_ACTION = "set-image"


@dataclass(frozen=True)
class Edit:
    """The new bytes of the spec, and what changed in words."""

    data: bytes
    old: str | None  # the image the edited entry had (None: the environment had none, it was added)


def run(args: argparse.Namespace) -> int:
    from generator.errors import InvalidInput

    try:
        return _run(args)
    except InvalidInput as exc:  # the spec or rollgen.yaml is invalid as it stands: what `validate` prints
        from generator.spec.report import format_text

        sys.stderr.write(format_text(exc.problems))
        return EXIT_USER


def _run(args: argparse.Namespace) -> int:

    image = check_image(args.image)
    repo = Repo.discover(args.repo)
    config = repo.config()
    with repo.lock():
        spec = find_spec(repo, config, args.name)
        rel = plain_file(repo, spec)
        display = spec_display(repo, spec)
        original = spec.read_bytes()
        release_data = _validated_data(spec, config, display)
        if release_data["metadata"]["name"] != args.name:
            raise RollgenError(f"{display} is release {release_data['metadata']['name']!r}, not {args.name!r}")
        require_digest(image, release_data, config, display)
        if args.commit:
            _refuse_dirty(repo, rel)
        edit = edit_image(original, args.env, image, display)
        where = f"{args.name}/{args.env}" if args.env else args.name
        if edit.data == original:
            print(f"{where}: nothing to do: {display} already says image {image}")
            return EXIT_OK
        check_meaning(edit.data, release_data, args.env, image, config, display)
        replace_file(spec, edit.data)
        print(f"{display}: {where}: image {edit.old or '(none)'} -> {image}")
        if args.commit:
            commit = repo.commit([rel], commit_message(args.name, args.env, edit.old, image, display), config.author)
            if commit is None:
                print(f"{display}: HEAD already holds this image")
            else:
                print(f"{where}: set image {image} [{commit[:12]}]")
    return EXIT_OK


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


def require_digest(image: str, data: dict[str, Any], config: Config, display: str) -> None:
    if "@sha256:" in image:
        return
    if data["spec"].get("requireDigest") is True:
        raise RollgenError(f"{display} says spec.requireDigest: true; {image} has no @sha256: digest")
    if config.require_digest:
        raise RollgenError(f"rollgen.yaml says images.requireDigest: true; {image} has no @sha256: digest")


# -- the file -----------------------------------------------------------------------------------------------


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


def replace_file(path: Path, data: bytes) -> None:
    """Write beside the file and rename over it, keeping its permissions: old bytes or new, never half."""
    mode = stat.S_IMODE(os.lstat(path).st_mode)
    tmp = path.with_name(f".{path.name}.rollgen-{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _refuse_dirty(repo: Repo, rel: str) -> None:
    if repo.changes([rel]):
        raise RollgenError(
            f"{rel} has uncommitted changes; --commit commits the spec alone: commit or discard them first"
        )


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


def _validated_data(spec: Path, config: Config, display: str) -> dict[str, Any]:
    """The spec's data, after the full validation `rollgen validate` runs (InvalidInput when it fails)."""
    return validated_bytes(spec.read_bytes(), config, display)


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


def commit_message(name: str, env: str | None, old: str | None, image: str, display: str) -> str:
    where = f"{name}/{env}" if env else name
    lines = [
        f"{where}: set image {image}",
        "",
        f"{display}: image {old or '(none)'} -> {image}. Nothing is deployed yet: `rollgen release` does that.",
        "",
        f"Rollgen-Release: {name}",
    ]
    if env:
        lines.append(f"Rollgen-Environment: {env}")
    lines += [f"Rollgen-Action: {TRAILER_ACTION}", f"Rollgen-Image: {image}", ""]
    return "\n".join(lines)

