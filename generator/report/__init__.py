"""`rollgen report`: what the HTML page shows, read from the repository (html.py renders it, pure).

Two reads, whatever the number of releases: the state files (what is live now, as `status` reads them) and one
`git log` of every rollgen commit (the history, as `history` reads it), whose action times come from the state
files those commits wrote, read with one `git cat-file --batch`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from generator.model import EnvState
from generator.render.state import Found
from generator.records import dataclass, field

if TYPE_CHECKING:
    from generator.gitops.repo import Repo
    from generator.plan.order import Wait


WAITING: str = "waiting"  # the phase `status` shows for an environment held for its upstream (`after:`)


class Action(NamedTuple):  # a NamedTuple: 10,000 of them are made for a large report
    commit: str
    time: str  # RFC 3339 UTC
    author: str
    action: str
    step: str
    weight: int | None
    image: str
    gate: str
    subject: str


@dataclass(frozen=True)
class EnvView:
    release: str
    environment: str
    state: EnvState | None  # None: no state file (retired), or unreadable (then `error`)
    error: str = ""
    actions: tuple[Action, ...] = ()
    awaiting: str = ""  # pull-request mode: the branch and subject awaiting merge
    waiting: str = ""  # environments[].after: what it waits for (plan/order.py's reason), as `status` says it

    @property
    def phase(self) -> str:
        """The phase as `status` shows it: waiting while held for its upstream, else the state file's."""
        if self.waiting:
            return WAITING
        return self.state.phase if self.state else ""

    @property
    def now_line(self) -> str:
        """What is in flight or waiting now, in words; "" when the environment is at rest."""
        state = self.state
        if self.awaiting:
            return f"awaiting merge: {self.awaiting}"
        if self.waiting:
            return f"waiting: {self.waiting}"
        if state is None:
            return ""
        if state.in_flight:
            step = f"step {state.step}/{state.steps}" if state.steps else f"step {state.step}"
            canary = state.canary_image.ref if state.canary_image else "?"
            return f"{state.phase}: {step}, {state.weight}% on {canary}"
        return ""


@dataclass(frozen=True)
class Report:
    title: str
    generated: str  # RFC 3339 UTC
    head: str
    environments: tuple[EnvView, ...] = field(default=())

    def releases(self) -> list[tuple[str, list[EnvView]]]:
        out: dict[str, list[EnvView]] = {}
        for view in self.environments:
            out.setdefault(view.release, []).append(view)
        return sorted(out.items())


def collect(repo_dir: Path, now: str) -> Report:
    import threading

    from generator.gitops.repo import Repo
    from generator.spec.config import load

    repo = Repo.discover(repo_dir)
    config = load(repo.root)
    # git reads the history while Python reads the state files: the two overlap on a second core.
    history: dict[tuple[str, str], list[Action]] = {}
    failed: list[BaseException] = []
    reader = threading.Thread(target=_read_history, args=(repo, config.output_prefix(), history, failed))
    reader.start()
    found = {(f.release, f.env): f for f in _scan(config.output_dir)}
    waiting = _awaiting(repo.root) if config.mode == "pull-request" else {}
    waits = _order_waits(repo.root, config.output_dir, list(found.values()), now)
    reader.join()
    if failed:
        raise failed[0]
    keys = sorted(set(found) | set(history) | set(waiting) | set(waits))
    views = []
    for key in keys:
        state = found.get(key)
        branch = waiting.get(key)
        views.append(EnvView(
            key[0], key[1], state.state if state else None, state.error if state else "",
            tuple(sorted(history.get(key, []), key=lambda a: a.time)),
            f"{branch[0]}: {branch[1]}" if branch else "",
            waits[key].reason if key in waits else "",
        ))
    return Report(repo.root.name, now, repo.head() or "", tuple(views))


def _read_history(repo: Repo, prefix: str, into: dict[tuple[str, str], list[Action]],
                  failed: list[BaseException]) -> None:
    try:
        into.update(_actions(repo, prefix))
    except BaseException as exc:  # noqa: BLE001 - raised again by the caller, in its own thread
        failed.append(exc)


def _order_waits(root: Path, output_dir: Path, found: list[Found], now: str) -> dict[tuple[str, str], Wait]:
    """The environments held for their upstream at `now`, as `status` finds them. status's reading looks for
    each release's spec (0.37 s CPU for 2,000 releases); here a release whose state file's header names a spec that
    does not mention `after` is passed over first, with one read of each (0.09 s): only the rest are looked at."""
    from generator.clock import parse_time
    from generator.commands.status import order_waits

    try:
        moment = parse_time(now)
    except ValueError:
        return {}
    first = {f.release: f.env for f in reversed(found)}
    followers = {name for name, env in first.items() if _may_follow(root, output_dir, name, env)}
    if not followers:
        return {}
    return order_waits(root, [f for f in found if f.release in followers], moment)


_AFTER = re.compile(rb"""\bafter["']?\s*:""")  # as status.order_waits: a spec without it has no waits


def _may_follow(root: Path, output_dir: Path, release: str, env: str) -> bool:
    """False only when the spec the state file's header names is a plain file in the repository that does not
    mention `after`; anything else (no header, a symlink, outside, unreadable) is left to status's reading."""
    from generator.render.files import header_source
    from generator.render.state import STATE_FILE

    source = header_source(Path(output_dir, "apps", release, "overlays", env, STATE_FILE))
    if source is None or source.startswith("/") or ".." in source.split("/"):
        return True
    path = os.path.join(root, source)
    if os.path.islink(path):
        return True
    try:
        with open(path, "rb") as fh:
            return _AFTER.search(fh.read()) is not None
    except OSError:
        return True


def _awaiting(root: Path) -> dict[tuple[str, str], tuple[str, str]]:
    from generator.commands.status import awaiting_merge

    return awaiting_merge(root)


def _scan(out_dir: Path) -> list[Found]:
    """render.state.scan's reading of every state file, found with os.scandir as `advance --all` finds them
    (globbing 4,000 of them cost a third of the report's time in stat calls)."""
    from generator.render.state import STATE_FILE, load_state

    out = []
    apps = os.path.join(out_dir, "apps")
    for release in _folders(apps):
        for env in _folders(os.path.join(apps, release, "overlays")):
            path = os.path.join(apps, release, "overlays", env, STATE_FILE)
            try:
                state = load_state(Path(path))
            except (OSError, ValueError) as exc:
                out.append(Found(release, env, None, str(exc)))
                continue
            if state is not None:
                out.append(Found(release, env, state))
    return out


def _folders(path: str) -> list[str]:
    try:
        with os.scandir(path) as entries:
            return sorted(entry.name for entry in entries if entry.is_dir(follow_symlinks=False))
    except OSError:
        return []


def _actions(repo: Repo, prefix: str) -> dict[tuple[str, str], list[Action]]:
    from generator.gitops.messages import parse_trailers
    from generator.render.state import STATE_FILE

    entries = repo.log(["^Rollgen-Release: "])
    out: dict[tuple[str, str], list[Action]] = {}
    pending = []
    for entry in entries:
        trailers = parse_trailers(entry.message)
        release, env = trailers.get("Rollgen-Release", ""), trailers.get("Rollgen-Environment", "")
        if not release or not env or "\n" in release + env:
            continue
        action = Action(entry.commit, entry.date, entry.author, trailers.get("Rollgen-Action", ""),
                        trailers.get("Rollgen-Step", ""), _int(trailers.get("Rollgen-Weight")),
                        trailers.get("Rollgen-Image", ""), trailers.get("Rollgen-Gate", ""), entry.subject)
        # render.state.relpath's path as text: pathlib for 10,000 of them was a tenth of the report's time
        pending.append((release, env, action, f"{entry.commit}:{prefix}apps/{release}/overlays/{env}/{STATE_FILE}"))
    blobs = repo.read_blobs([spec for *_, spec in pending]) if pending else []
    for (release, env, action, _), blob in zip(pending, blobs):
        time = _since(blob) or _utc(action.time)  # the commit's own date, for a commit without a state file
        out.setdefault((release, env), []).append(action._replace(time=time))
    return out


_SINCE = re.compile(rb"^since:[ \t]*['\"]?([0-9T:Z+.-]+)", re.MULTILINE)


def _since(blob: bytes | None) -> str:
    """The action's time as its commit's state file wrote it (`--now` when one was given); read with a pattern,
    not YAML: 10,000 of them are read for a report."""
    match = _SINCE.search(blob) if blob else None
    return match.group(1).decode() if match else ""


def _utc(iso: str) -> str:
    from datetime import datetime, timezone

    try:
        return datetime.fromisoformat(iso).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return iso


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def in_flight_views(views: Sequence[EnvView]) -> list[EnvView]:
    return [view for view in views if view.now_line]
