"""`rollgen set-image NAME IMAGE [--env E] [--repo R] [--commit]`: bump the spec's image after a build.

The spec is edited by span (gitops/image_edit.py, which `rollback` shares): exactly the image scalar's text is
replaced in the original bytes, everything else kept byte for byte. `--env E` writes E's own `image:`, adding
it after E's `name:` in the entry's own style (block or flow) when absent.

Refused, with the file untouched: a spec that is not a plain file (a symlink, a device, ...), an image without
a digest where the spec (spec.requireDigest) or rollgen.yaml (images.requireDigest) demands one, and an edit
after which the spec would no longer validate or would mean anything but the new image. The new file is
written beside the spec and renamed over it, so a crash leaves the old spec or the new one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from generator.atomic import replace_file
from generator.gitops.image_edit import check_image, check_meaning, edit_image, plain_file, validated_bytes
from generator.gitops.specs import find_spec, spec_display
from generator.spec.config import Config
from generator.errors import EXIT_OK, EXIT_USER, RollgenError
from generator.gitops.repo import Repo
from generator.gitops.repo_config import repo_config

TRAILER_ACTION = "set-image"


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
    config = repo_config(repo)
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
            message = image_commit_message(args.name, args.env, edit.old, image, display)
            commit = repo.commit([rel], message, config.author)
            if commit is None:
                print(f"{display}: HEAD already holds this image")
            else:
                print(f"{where}: set image {image} [{commit[:12]}]")
    return EXIT_OK


# -- the rules of rollgen.yaml and the repository ----------------------------------------------------------


def require_digest(image: str, data: dict[str, Any], config: Config, display: str) -> None:
    if "@sha256:" in image:
        return
    if data["spec"].get("requireDigest") is True:
        raise RollgenError(f"{display} says spec.requireDigest: true; {image} has no @sha256: digest")
    if config.require_digest:
        raise RollgenError(f"rollgen.yaml says images.requireDigest: true; {image} has no @sha256: digest")


def _refuse_dirty(repo: Repo, rel: str) -> None:
    if repo.changes([rel]):
        raise RollgenError(
            f"{rel} has uncommitted changes; --commit commits the spec alone: commit or discard them first"
        )


# -- checking the result ------------------------------------------------------------------------------------


def _validated_data(spec: Path, config: Config, display: str) -> dict[str, Any]:
    """The spec's data, after the full validation `rollgen validate` runs (InvalidInput when it fails)."""
    return validated_bytes(spec.read_bytes(), config, display)


def image_commit_message(name: str, env: str | None, old: str | None, image: str, display: str) -> str:
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

