"""`rollgen rollback NAME --env E [--to IMAGE] [--push]`: straight back to the last promoted version, no canary.

The last promoted version: during a canary, the stable side; otherwise the stable version before the current one,
as the environment's history records it (its state file, commit by commit; a version rolled back from is skipped). `--to IMAGE` names the image instead; its pod
inputs are those it last ran with here (else the current stable ones). One commit (`Rollgen-Action: rollback`,
weight 100 on that version) holds the manifests, the state, and the spec with the environment's own `image:` set
to it (set-image's byte-preserving edit), so git agrees: the next `release` or CI `set-image` of the release-level
image does not silently ship the bad version to this environment again (`set-image NAME IMAGE --env E` moves it on).

It works in a change freeze, with a clock behind the last action (the time recorded is then the last action's,
never earlier), and with --push (the workflow's one push loop). Refused: a release whose controller steps it
(progression: controller: roll back with the controller), an environment never released, a version that is
already what runs, and a spec with uncommitted changes (the commit must say what the spec became).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path

from generator.clock import format_time
from generator.errors import RollgenError
from generator.gitops.repo import Repo
from generator.gitops.repo_config import repo_config
from generator.gitops.run import execute
from generator.gitops.specs import find_spec, named_release, spec_display
from generator.gitops.workflow import Request, now_from
from generator.model import Environment, EnvState, Image, Release
from generator.plan.progression import Hold, Plan, Refusal, Transition
from generator.plan.shapes import mode, step_count
from generator.spec.config import Config

Version = tuple[Image, str]  # image, pod inputs ("" for the defaults)
History = Callable[[Release, Environment], list[EnvState]]  # the environment's states, newest first


def run(args: argparse.Namespace) -> int:
    to = Image.parse(_checked(args.to)) if args.to else None
    request = Request(
        repo=args.repo,
        load=named_release(args.name),
        environments=[args.env],
        plan=partial(plan_rollback, history=partial(_history, args.repo), to=to),
        now=now_from(args.now),
        push=args.push,
        dry_run=args.dry_run,
        edit_spec=set_spec_image,
    )
    return execute(request, args.format)


def _checked(text: str) -> str:
    from generator.gitops.image_edit import check_image

    return check_image(text)


# -- planning -------------------------------------------------------------------------------------------------


def plan_rollback(
    release: Release, env: Environment, current: EnvState | None, now: datetime, *,
    history: History, to: Image | None,
) -> Plan:
    where = f"{release.name}/{env.name}"
    if mode(release) == "controller":
        return Refusal(f"{where} uses progression: controller: its {release.engine} controller owns what runs; "
                       "roll back with the controller (Argo Rollouts: `kubectl argo rollouts undo`), or release the "
                       "previous image")
    if current is None:
        return Hold(f"nothing to roll back: {release.name} is not released to {env.name} yet")
    target = _target(release, env, current, to, history(release, env))
    if isinstance(target, Refusal | Hold):
        return target
    image, pod = target
    back_from = current.canary_image if current.phase == "progressing" and current.canary_image else current.stable_image
    state = EnvState(
        phase="stable", stable_image=image, since=format_time(now),  # a clock behind: workflow.decide records the later time
        active_colour=current.active_colour, stable_pod=pod, rolled_back=back_from,
    )
    summary = f"roll back to {image.ref}" + (f" (from {back_from.ref})" if back_from and back_from != image else "")
    details = (f"`rollgen rollback`: all traffic on {image.ref} at once, no canary; "
               f"{_what_was(release, env, current)}. The spec's {env.name} image is set to {image.ref} in this "
               f"commit, so the next release keeps it.")
    if back_from == image:
        details += (" The version differs in its pod inputs only: the spec's container, pod, security and config "
                    "fields still hold the newer ones; revert them there before the next release.")
    return Transition("rollback", state, summary, 0, step_count(release, env), 100, image, details)


def _target(
    release: Release, env: Environment, current: EnvState, to: Image | None, history: list[EnvState]
) -> Version | Refusal | Hold:
    """The version to go back to: `to` (with the pod inputs it last ran with), the stable side of a canary in
    flight, or the stable version before the current one."""
    now_runs: Version = (current.stable_image, current.stable_pod)
    if to is not None:
        pod = next((s.stable_pod for s in history if s.stable_image == to), current.stable_pod)
        if current.phase == "stable" and (to, pod) == now_runs:
            return Hold(f"nothing to do: {env.name} already runs {to.ref} as stable")
        return to, pod
    if current.phase == "progressing":
        return now_runs
    gone = {s.rolled_back for s in history if s.rolled_back is not None}  # never back to what was rolled back
    for earlier in history:
        if earlier.phase == "promoting" or earlier.stable_image in gone:
            continue
        if (earlier.stable_image, earlier.stable_pod) != now_runs:
            return earlier.stable_image, earlier.stable_pod
    return Refusal(f"no earlier promoted version in its history to roll back to "
                   f"(it has only run {current.stable_image.ref}); name one with --to IMAGE")


def _what_was(release: Release, env: Environment, current: EnvState) -> str:
    if current.phase == "progressing" and current.canary_image is not None:
        return f"the canary of {current.canary_image.ref} at step {current.step}/{step_count(release, env)} goes down"
    if current.phase == "promoting":
        return f"the promotion of {current.stable_image.ref} is cut short"
    return f"{current.stable_image.ref} was stable"


# -- the environment's history --------------------------------------------------------------------------------


def _history(path: Path, release: Release, env: Environment) -> list[EnvState]:
    """The environment's states, newest first, as its commits recorded them (one `git log`, one `cat-file`)."""
    import re

    from generator.gitops.messages import parse_trailers
    from generator.render.state import parse_state, relpath

    repo = Repo.discover(path)
    prefix = repo_config(repo).output_prefix()
    greps = [f"^Rollgen-Release: {re.escape(release.name)}$", f"^Rollgen-Environment: {re.escape(env.name)}$"]
    entries = [e for e in repo.log(greps) if parse_trailers(e.message).get("Rollgen-Environment") == env.name]
    blobs = repo.read_blobs([f"{e.commit}:{prefix}{relpath(release.name, env.name)}" for e in entries]) if entries else []
    out = []
    for blob in blobs:
        try:
            state = parse_state(blob) if blob is not None else None
        except ValueError:
            continue
        if state is not None:
            out.append(state)
    return out


# -- the spec -------------------------------------------------------------------------------------------------


def set_spec_image(repo: Repo, config: Config, release: Release, env: str, transition: Transition) -> str | None:
    """The environment's own `image:` in the spec set to the version rolled back to (set-image's edit, checked to
    change nothing else); the spec's repository path when it changed, for the same commit."""
    from generator.atomic import replace_file
    from generator.gitops.image_edit import check_meaning, edit_image, plain_file, validated_bytes

    spec = find_spec(repo, config, release.name)
    rel = plain_file(repo, spec)
    display = spec_display(repo, spec)
    if repo.changes([rel]):
        raise RollgenError(f"{display}: has uncommitted changes; commit or discard them first (the rollback commit "
                           "holds the spec as it sets it)")
    original = spec.read_bytes()
    image = transition.image.ref
    where = env if _has_envs(original) else None  # without environments, the release's own image
    edit = edit_image(original, where, image, display)
    if edit.data == original:
        return None
    check_meaning(edit.data, validated_bytes(original, config, display), where, image, config, display)
    replace_file(spec, edit.data)
    return rel


def _has_envs(raw: bytes) -> bool:
    """Whether the spec lists environments (without them, its one environment `default` is the release itself)."""
    from generator.spec.loader import load_text

    docs = [doc for doc in load_text(raw, "spec") if doc.data is not None]
    return bool(docs and isinstance(docs[0].data, dict) and docs[0].data.get("spec", {}).get("environments"))

