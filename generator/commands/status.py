"""`rollgen status [--repo DIR] [--format json]`: phase, step, weight, images and since of every release and
environment, read from the state files only (one small file per environment, never the history)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.errors import EXIT_OK, EXIT_USER, RollgenError
from generator.model import EnvState
from generator.plan.workload_progression import in_flight_changes
from generator.render.state import Found, new_weight, public, scan
from generator.spec.config import CONFIG_FILE

if TYPE_CHECKING:
    from generator.freeze import Freeze
    from generator.plan.order import Wait

# NEW-WEIGHT is the traffic share of the newest version, the one the last action shipped: what the
# Rollgen-Weight trailer of that commit says (a deploy or a promotion 100%, a canary step its weight, an abort 0%).
# CHANGE is what the canary in flight changes against stable: image, and the pod inputs (env, config, ...).
COLUMNS = ("RELEASE", "ENV", "PHASE", "STEP", "NEW-WEIGHT", "STABLE", "CANARY", "CHANGE", "SINCE")


def run(args: argparse.Namespace) -> int:
    out_dir = _output_dir(args.repo)
    found = list(scan(out_dir))
    if args.format == "prometheus":  # generator/metrics.py: the state files only, as the table
        from generator.metrics import exposition

        waits = order_waits(args.repo, found, now_of(args))  # phase waiting, as the table shows it
        sys.stdout.write(exposition(_root(args.repo), out_dir, found, waiting=waits))
        return EXIT_USER if any(f.state is None for f in found) else EXIT_OK
    orphans = _orphans(args.repo, out_dir, found)
    waiting = awaiting_merge(args.repo)
    waits = order_waits(args.repo, found, now_of(args))
    frozen = _freeze(args.repo, now_of(args))
    found = with_unreleased(found, waits)
    if args.format == "json":
        envs = [_as_json(f) for f in found]
        for entry in envs:
            key = (entry["release"], entry["environment"])
            if key in waits:
                entry["phase"] = "waiting"  # what it runs stays in the other fields (none, if never released)
                entry["waiting"] = waits[key].as_json()
            if key in orphans:
                entry["orphaned"] = orphans[key]
            if key in waiting:
                entry["awaitingMerge"] = {"branch": waiting[key][0], "subject": waiting[key][1]}
        document: dict[str, Any] = {"environments": envs}
        if waiting:
            document["awaitingMerge"] = [{"release": r, "environment": e, "branch": b, "subject": s}
                                         for (r, e), (b, s) in sorted(waiting.items())]
        if frozen is not None:
            document["freeze"] = frozen.as_json()
        print(json.dumps(document, indent=2))
    else:
        if frozen is not None:  # first: it holds every line below
            print(f"{frozen.message()}: no release starts, no step is taken; abort and rollback work")
        if found or not waiting:  # "no releases here" would contradict the awaiting-merge lines below
            _print_table(found, waits)
        for (release, env), wait in sorted(waits.items()):
            print(f"{release}/{env}: waiting: {wait.reason}")
        for (release, env), (branch, subject) in sorted(waiting.items()):
            print(f"{release}/{env}: awaiting merge: {branch}: {subject}")
        for note in orphans.values():
            print(f"rollgen: {note}", file=sys.stderr)
    return EXIT_USER if any(f.state is None and f.error for f in found) else EXIT_OK


def _freeze(repo: Path, now: datetime) -> Freeze | None:
    """The change freeze in force at `now` (rollgen.yaml's `freeze:`), if any."""
    from generator.freeze import active_freeze
    from generator.spec.config import load

    root = repo if (repo / CONFIG_FILE).is_file() else _toplevel(repo)
    windows = load(root).freeze
    return active_freeze(windows, now) if windows else None


def _output_dir(repo: Path) -> Path:
    """Where apps/ lives: rollgen.yaml's `output`, relative to the folder given (git is not needed)."""
    from generator.spec.config import load

    if not repo.is_dir():
        raise RollgenError(f"{repo} is not a folder; --repo names the config repository")
    root = _root(repo)
    if root is repo and not any((repo / name).exists() for name in (CONFIG_FILE, ".git", "apps")):
        raise RollgenError(
            f"{repo.resolve()} is not in a config repository: no rollgen.yaml or .git here or above, and no apps/ "
            "folder; run it in the config repository, or name it with --repo"
        )
    return load(root).output_dir


def _root(repo: Path) -> Path:
    return repo if (repo / CONFIG_FILE).is_file() else _toplevel(repo)


def _orphans(repo: Path, out_dir: Path, found: Sequence[Found]) -> dict[tuple[str, str], str]:
    """Deployed environments their spec no longer lists (generator/gitops/retire.py), flagged, never hidden."""
    from generator.gitops.retire import orphan_notes

    root = repo if (repo / CONFIG_FILE).is_file() else _toplevel(repo)
    return orphan_notes(root, out_dir, {f.release for f in found})


def _toplevel(path: Path) -> Path:
    for folder in (path.resolve(), *path.resolve().parents):
        if (folder / CONFIG_FILE).is_file() or (folder / ".git").exists():
            return folder
    return path


def now_of(args: argparse.Namespace) -> datetime:
    from generator.gitops.workflow import now_from

    return now_from(getattr(args, "now", None))


def order_waits(path: Path, found: Sequence[Found], now: datetime) -> dict[tuple[str, str], Wait]:
    """(release, env) -> why it waits (environments[].after, plan/order.py), for the releases with a state file.
    Their specs are loaded only when one names `after`; a spec that cannot be read shows no waits (its
    environments' states are still shown, and `rollgen validate` says what is wrong with it)."""
    import re

    from generator.gitops.repo import Repo
    from generator.gitops.repo_config import repo_config
    from generator.gitops.specs import find_spec, load_spec
    from generator.gitops.workflow import deployed_states
    from generator.plan.order import waits

    try:
        repo = Repo.discover(path)
        config = repo_config(repo)
    except Exception:  # noqa: BLE001 - status reads what it can; the state files are its subject
        return {}
    mentions = re.compile(rb"""\bafter["']?\s*:""")
    out = {}
    for name in sorted({f.release for f in found}):
        try:
            spec = find_spec(repo, config, name)
            if not mentions.search(spec.read_bytes()):
                continue
            release = load_spec(repo, config, spec)
            states = deployed_states(config, release)
            out.update({(name, env): wait for env, wait in waits(release, states, now).items()})
        except Exception:  # noqa: BLE001 - as above
            continue
    return out


def with_unreleased(found: list[Found], waits: dict[tuple[str, str], Wait]) -> list[Found]:
    """`found`, and a row for each waiting environment that has no state file yet (never released)."""
    have = {(f.release, f.env) for f in found}
    extra = [Found(release, env, None, "") for (release, env) in waits if (release, env) not in have]
    return sorted([*found, *extra], key=lambda f: (f.release, f.env))


def _as_json(found: Found) -> dict[str, Any]:
    out: dict[str, Any] = {"release": found.release, "environment": found.env}
    if found.state is None and not found.error:  # waiting, never released
        return out
    if found.state is None:
        out["error"] = found.error
    else:
        out.update(public(found.state, _blue_green(found)))
        out["change"] = in_flight_changes(found.state)  # what the canary in flight changes: image, env, config
    return out


def _blue_green(found: Found) -> bool:
    """Only a blue-green release's state file names the live colour (progression writes it for those alone)."""
    return found.colour


def _row(found: Found, waits: dict[tuple[str, str], Wait]) -> tuple[str, ...]:
    state = found.state
    waiting = (found.release, found.env) in waits
    if state is None and waiting:  # never released: nothing runs
        return (found.release, found.env, "waiting", "-", "-", "-", "-", "-", "-")
    if state is None:
        return (found.release, found.env, "unreadable", "-", "-", found.error, "-", "-", "-")
    canary = state.canary_image.ref if state.canary_image else "-"
    step = _step(state) if state.in_flight else "-"  # the phases whose step is live (model.IN_FLIGHT)
    weight = f"{new_weight(state)}%"
    change = ",".join(in_flight_changes(state)) or "-"
    phase = "waiting" if waiting else "rolled-back" if state.rolled_back and state.phase == "stable" else state.phase
    return (found.release, found.env, phase, step, weight, state.stable_image.ref, canary, change, state.since or "-")


def _step(state: EnvState) -> str:
    """`k/n`; plain `k` for a state file written before the step count was kept."""
    return f"{state.step}/{state.steps}" if state.steps else str(state.step)


def _print_table(found: Sequence[Found], waits: dict[tuple[str, str], Wait]) -> None:
    if not found:
        print("no releases with progression state here (apps/*/overlays/*/rollgen-state.yaml)", file=sys.stderr)
        return
    rows = [COLUMNS, *(_row(f, waits) for f in found)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def awaiting_merge(path: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """Pull-request mode: (release, env) -> (branch, subject) for each rollgen/<release>/<env> branch, as last
    fetched, holding commits the checked-out branch lacks. Empty in direct mode or outside a git clone."""
    from generator.spec.config import load
    from generator.gitops.repo import GitError, Repo

    try:
        repo = Repo.discover(path)
        config = load(repo.root)
    except Exception:  # noqa: BLE001 - status reads what it can; the state files are its subject
        return {}
    if config.mode != "pull-request":
        return {}
    prefix = f"refs/remotes/{config.remote}/rollgen/"
    try:
        refs = repo.text("for-each-ref", "--format=%(refname)%09%(objectname)%09%(subject)", prefix).splitlines()
        out = {}
        for line in refs:
            ref, commit, subject = line.split("\t", 2)
            parts = ref[len(prefix) :].split("/")
            if len(parts) == 2 and not repo.landed(commit, "HEAD"):  # squash and rebase merges too
                out[(parts[0], parts[1])] = (f"rollgen/{parts[0]}/{parts[1]}", subject)
        return out
    except GitError:
        return {}
