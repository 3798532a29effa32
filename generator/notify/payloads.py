"""What each sink is sent for one event, as data (json.dumps makes the bytes; no JSON is built as text).

webhook: Flagger's event-webhook shape (name, namespace, phase, metadata with eventMessage, eventType and a
timestamp in Unix milliseconds), every metadata value a string as Flagger's are (a Go receiver decodes it into
map[string]string), rollgen's own fields added to metadata. docs/notifications.md documents it.
slack: an incoming-webhook message (`text`, plus blocks). msteams: an Adaptive Card, as a Teams Workflows
incoming webhook takes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from generator.notify.events import WARNINGS, Event

TITLES = {
    "start": "canary started",
    "step": "canary stepped",
    "waiting": "waiting for its upstream",
    "gate-failed": "gate failed",
    "abort": "canary aborted",
    "promote": "promoted",
    "rollback": "rolled back",
    "tick-failed": "tick failed",
}


def webhook(event: Event) -> dict[str, Any]:
    metadata = {
        "eventMessage": event.message,
        "eventType": "Warning" if event.event in WARNINGS else "Normal",
        "timestamp": str(_millis(event.time)),
        "id": event.id,
        "event": event.event,
        "environment": event.environment,
        "cluster": event.cluster,
        "commit": event.commit,
        "author": event.author,
        "time": event.time,
        "step": event.step,
        "weight": event.weight,
        "image": event.image,
        "gate": event.gate,
        "waitingFor": event.upstream,
        "until": event.until,
    }
    return {"name": event.release, "namespace": event.namespace, "phase": event.phase, "metadata": metadata}


def _millis(time: str) -> int:
    from generator.clock import parse_rfc3339

    try:
        return int(parse_rfc3339(time).timestamp() * 1000)
    except ValueError:
        return 0


def _facts(event: Event) -> list[tuple[str, str]]:
    facts = [("Environment", event.environment), ("Step", event.step), ("Weight", f"{event.weight}%" if event.weight else ""),
             ("Image", event.image), ("Waits for", event.upstream), ("Soaks until", event.until),
             ("Commit", event.commit[:12]), ("Author", event.author), ("Time", event.time)]
    facts += [(f"Gate {g.metric}", f"{g.value} {g.comparison} {g.bound}".strip()) for g in event.gates]
    return [(name, value) for name, value in facts if value]


def headline(event: Event) -> str:
    return f"{event.release}/{event.environment}: {TITLES[event.event]}"


def slack(event: Event) -> dict[str, Any]:
    # mrkdwn's three control characters escaped: a spec's text cannot turn into a link or a mention
    def plain(text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    fields = [{"type": "mrkdwn", "text": f"*{name}*\n{plain(value)}"} for name, value in _facts(event)[:10]]
    return {
        "text": plain(f"{headline(event)}: {event.message}"),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": headline(event)[:150]}},
            {"type": "section", "text": {"type": "plain_text", "text": event.message[:3000]}},
            *([{"type": "section", "fields": fields}] if fields else []),
        ],
    }


def msteams(event: Event) -> dict[str, Any]:
    card = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": headline(event), "weight": "Bolder", "size": "Medium", "wrap": True,
             "color": "Attention" if event.event in WARNINGS else "Default"},
            {"type": "TextBlock", "text": event.message, "wrap": True},
            {"type": "FactSet", "facts": [{"title": name, "value": value} for name, value in _facts(event)]},
        ],
    }
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
    ]}


def github(event: Event) -> dict[str, Any] | None:
    """A commit status on the landed commit, one context per environment: pending while the canary goes on,
    success once promoted in full, failure for a failed gate, an abort or a rollback."""
    if not event.commit:
        return None
    if event.event in ("gate-failed", "abort", "rollback"):
        state = "failure"
    else:
        state = "success" if event.phase == "Succeeded" else "pending"
    return {"state": state, "context": f"rollgen/{event.environment}", "description": _clip(event.message, 140)}


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


BUILDERS: dict[str, Callable[[Event], dict[str, Any]]] = {"webhook": webhook, "slack": slack, "msteams": msteams}
