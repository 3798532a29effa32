"""Events, derived from what landed: the trailers of rollgen's commits (and, for a tick, its failures).

An event is built from the commit, not from what the command meant to do, so that what people are told is
what git holds: a commit id is the event's key (`id`: commit and event), and a commit dropped after a refused
push is never read. One commit may give two events: an abort that a failed gate caused is `gate-failed`, then
`abort`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from generator.records import dataclass

if TYPE_CHECKING:
    from generator.gitops.repo import Repo
    from generator.plan.order import Wait
    from generator.spec.config import Config

EVENTS = ("start", "step", "waiting", "gate-failed", "abort", "promote", "rollback", "tick-failed")

# Flagger's canary phases, so that a receiver written for Flagger's event webhook reads ours.
PHASES = {
    "start": "Progressing",
    "step": "Progressing",
    "waiting": "Waiting",
    "gate-failed": "Progressing",
    "abort": "Failed",
    "promote": "Succeeded",
    "rollback": "Failed",
    "tick-failed": "Progressing",
}
WARNINGS = ("gate-failed", "abort", "rollback", "tick-failed")  # Flagger's eventType Warning; the rest Normal


@dataclass(frozen=True)
class Gate:
    """One metric beyond its bound, from the Rollgen-Gate trailer ("error-rate=7.3 > 1")."""

    metric: str
    value: str
    bound: str
    comparison: str

    def as_json(self) -> dict[str, str]:
        return {"metric": self.metric, "value": self.value, "comparison": self.comparison, "bound": self.bound}


@dataclass(frozen=True)
class Event:
    event: str  # one of EVENTS
    release: str
    environment: str
    message: str  # the commit's subject, or what failed
    time: str  # RFC 3339 UTC: the action's time (the state's `since`), else the commit's
    commit: str = ""  # "" for an event without a commit (waiting, tick-failed)
    author: str = ""
    namespace: str = ""
    cluster: str = ""
    step: str = ""
    weight: str = ""
    image: str = ""
    gate: str = ""  # the Rollgen-Gate trailer as written
    upstream: str = ""  # waiting: the environment it follows (`after:`)
    until: str = ""  # waiting: when the soak ends; "" while the upstream has not promoted the version

    @property
    def id(self) -> str:
        """The idempotency key: a receiver that has seen it has seen this event. A wait has no commit: it is
        one wait for as long as the environment waits for the same version from the same upstream, whether
        the upstream is still a canary or soaking (its time is when it was first seen)."""
        if self.event == "waiting":
            key = f"{self.release}/{self.environment}<-{self.upstream}@{self.image}"
        else:
            key = self.commit or f"{self.release}/{self.environment}@{self.time}"
        return f"{key}:{self.event}"

    @property
    def phase(self) -> str:
        if self.event == "promote" and self.weight not in ("", "100"):
            return "Progressing"  # a pause passed by hand, the canary goes on
        return PHASES[self.event]

    @property
    def gates(self) -> list[Gate]:
        return parse_gates(self.gate)


_GATE = re.compile(r"^\s*(?P<metric>[^=;]+?)=(?P<value>\S+)\s*(?P<cmp>[<>]=?|!=|==)\s*(?P<bound>.+?)\s*$")


def parse_gates(text: str) -> list[Gate]:
    """The metrics of a Rollgen-Gate trailer (`; ` between them); a part not in the `name=value > bound` shape
    is kept whole as the metric, so nothing said is lost."""
    out = []
    for part in (p for p in text.split(";") if p.strip()):
        match = _GATE.match(part)
        if match:
            out.append(Gate(match["metric"].strip(), match["value"], match["bound"], match["cmp"]))
        else:
            out.append(Gate(part.strip(), "", "", ""))
    return out


def _names(action: str, gate: str) -> list[str]:
    if action == "check":
        return ["gate-failed"]
    if action == "abort" and gate:
        return ["gate-failed", "abort"]
    return [action] if action in EVENTS else []  # deploy, set-image, retire: nothing to tell


def from_commits(repo: Repo, config: Config, commits: Sequence[str]) -> list[Event]:
    """The events of the landed commits, in the order given (oldest first)."""
    if not commits:
        return []
    out = repo.text("log", "--no-walk=unsorted", "--format=%H%x1f%cI%x1f%an%x1f%s%x1f%B%x1e", *commits, "--")
    records = [record.strip("\n").split("\x1f", 4) for record in out.split("\x1e") if record.strip()]
    events = [event for record in records for event in _from_record(record)]
    return placed(config, _timed(repo, config, events))


def _from_record(record: list[str]) -> Iterator[Event]:
    from generator.gitops.messages import parse_trailers

    commit, date, author, subject, message = record
    trailers = parse_trailers(message)
    release, env = trailers.get("Rollgen-Release", ""), trailers.get("Rollgen-Environment", "")
    if not release or not env:
        return
    gate = trailers.get("Rollgen-Gate", "")
    for name in _names(trailers.get("Rollgen-Action", ""), gate):
        yield Event(
            name, release, env, subject, _utc(date), commit, author,
            step=trailers.get("Rollgen-Step", ""), weight=trailers.get("Rollgen-Weight", ""),
            image=trailers.get("Rollgen-Image", ""), gate=gate,
        )


def _timed(repo: Repo, config: Config, events: list[Event]) -> list[Event]:
    """Each event's time: the `since` its commit wrote into the environment's state file (`--now`, when given)."""
    from generator.records import replace
    from generator.render.state import parse_state, relpath

    prefix = config.output_prefix()
    specs = [f"{e.commit}:{prefix}{relpath(e.release, e.environment)}" for e in events]
    blobs = repo.read_blobs(specs) if specs else []
    out = []
    for event, blob in zip(events, blobs):
        try:
            since = parse_state(blob).since if blob is not None else ""
        except ValueError:
            since = ""
        out.append(replace(event, time=since) if since else event)
    return out


def placed(config: Config, events: list[Event]) -> list[Event]:
    """The events with their environment's namespace and cluster, from the release's rendered placement."""
    from generator.placement import of_release
    from generator.records import replace

    cache: dict[str, Any] = {}
    out = []
    for event in events:
        if event.release not in cache:
            cache[event.release] = of_release(config.root, config.output_dir / "apps" / event.release)
        where = cache[event.release].get(event.environment)
        out.append(replace(event, namespace=where.namespace, cluster=where.cluster) if where else event)
    return out


def _utc(iso: str) -> str:
    from datetime import datetime, timezone

    try:
        return datetime.fromisoformat(iso).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return iso


def tick_failed(release: str, environment: str, reason: str, now: str) -> Event:
    return Event("tick-failed", release, environment, f"{release}/{environment}: the tick failed: {reason}", now)


def waiting(release: str, environment: str, wait: Wait, now: str) -> Event:
    """An environment held until its upstream has promoted and soaked (no commit: keyed by what it waits for)."""
    return Event("waiting", release, environment, f"{release}/{environment}: waiting: {wait.reason}", now,
                 image=wait.image.ref, upstream=wait.upstream, until=wait.until)
