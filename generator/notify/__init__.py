"""Notifications (rollgen.yaml `notify:`): tell people what landed, never hold up a step.

The committing commands call `landed` once their commits are in (pushed with --push, committed without it);
a push the remote refused raised before that point, so it sends nothing. Events come from the commits'
trailers (events.py), one request per event and sink (payloads.py).

Never blocking: each sink is sent from its own thread with its own per-request timeout; the first failure of a
sink (down, slow, a non-2xx answer) ends that sink for this run with one warning naming how much went unsent;
the command waits at most DEADLINE seconds for all of them and its exit code never changes. URLs are shown as
their endpoint only (redaction.endpoint): a chat webhook's path is its password.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from generator.notify.events import Event

if TYPE_CHECKING:
    from generator.gitops.repo import Repo
    from generator.spec.config import Config, Sink

DEADLINE = 15.0  # seconds the command waits for all sinks together, whatever their timeouts
USER_AGENT = "rollgen-notify"


def landed(
    repo: Repo, config: Config, commits: Sequence[str | None], pushed: bool, extra: Sequence[Event] = ()
) -> None:
    """Send the events of what landed: this run's `commits` (committed, or pushed when `pushed`) and, when this
    run pushed, every commit its push carried (an earlier run's commit whose push was refused lands now); then
    `extra` (a tick's own)."""
    if not config.notify or config.mode == "pull-request":  # a PR's commit lands when merged, not here
        return
    from generator.notify.events import from_commits, placed

    try:
        ids = list(dict.fromkeys([*(_pushed_now(repo, config) if pushed else []), *(c for c in commits if c)]))
        events = from_commits(repo, config, _untold(repo.rollgen_dir / "notified", ids)) + placed(config, list(extra))
    except Exception as exc:  # noqa: BLE001 - the step is done; telling about it must not fail the command
        warn(f"could not read the events of the landed commits: {exc}")
        return
    send(config, events)


CATCH_UP = 500  # commits at most taken from one push


TOLD = 2000  # commit ids a clone remembers having told


def _untold(record: Path, ids: list[str]) -> list[str]:
    """`ids` less those this clone has told already, as listed in `record` (a commit made without --push is told
    then, and must not be told again when a later run's push carries it); the rest are recorded as told."""
    try:
        told = record.read_text().splitlines()
    except OSError:
        told = []
    seen = set(told)
    new = [key for key in ids if key not in seen]
    if new:
        try:
            record.parent.mkdir(parents=True, exist_ok=True)
            record.write_text("".join(f"{key}\n" for key in [*told, *new][-TOLD:]))
        except OSError:
            pass  # at worst a commit or a wait is told twice, with the same id
    return new


def _pushed_now(repo: Repo, config: Config) -> list[str]:
    """The commits the push just made carried, oldest first: the remote-tracking branch's last two positions
    in its reflog, when the last is git's "update by push". Commits other clones pushed came by fetch and are
    not among them (they were told by whoever pushed them). [] when git kept no such record."""
    branch = config.branch or repo.branch() or ""
    ref = f"refs/remotes/{config.remote}/{branch}"
    out = repo.run("log", "-g", "--format=%H%x09%gs", "-n", "2", ref, "--", check=False)
    lines = [line.split("\t", 1) for line in out.stdout.decode(errors="replace").splitlines()]
    if out.returncode != 0 or len(lines) < 2 or len(lines[0]) != 2 or lines[0][1] != "update by push":
        return []  # no record of where the branch was before (a fresh clone's first push): this run's own only
    span = f"{lines[1][0]}..{lines[0][0]}"
    listed = repo.run("rev-list", "--reverse", f"--max-count={CATCH_UP}", span, "--", check=False)
    return listed.stdout.decode().split() if listed.returncode == 0 else []


def after_tick(repo: Repo, config: Config, lines: Sequence[object], now: str, pushed: bool) -> None:
    """`advance --all`: the landed commits' events, then a `tick-failed` for each environment that failed (or
    was refused) and a `waiting` for each that waits for its upstream, that one only once per wait."""
    from generator.notify.events import tick_failed

    commits = [getattr(line, "commit", None) for line in lines if getattr(line, "result", "") == "committed"]
    extra = []
    for line in lines:
        release, env = getattr(line, "release", ""), getattr(line, "environment", "")
        if hasattr(line, "reason"):  # advance_all.Failure
            extra.append(tick_failed(release, env, str(getattr(line, "reason")), now))
        elif getattr(line, "result", "") == "refused":
            extra.append(tick_failed(release, env, str(getattr(line, "text", "")), now))
    landed(repo, config, commits, pushed, extra + new_waits(repo, lines, now))


def new_waits(repo: Repo, lines: Sequence[object], now: str) -> list[Event]:
    """A `waiting` event for each environment that holds for its upstream (`after:`; an outcome with `waiting`,
    no commit), unless this clone already told the same wait (its id: the environment, the upstream and the
    version): `release` tells it when it starts the upstream, and the tick, which runs every few minutes while
    a wait lasts hours, does not tell it again."""
    from generator.notify.events import waiting

    waits = []
    for line in lines:
        wait = getattr(line, "waiting", None)
        if wait is not None and getattr(line, "result", "") == "nothing-to-do":
            waits.append(waiting(getattr(line, "release"), getattr(line, "environment"), wait, now))
    if not waits:
        return []
    by_id = {event.id: event for event in waits}
    return [by_id[key] for key in _untold(repo.rollgen_dir / "notified-waits", list(by_id))]


def send(config: Config, events: Sequence[Event]) -> None:
    import threading
    import time

    threads = []
    for sink in config.notify:
        wanted = [e for e in events if sink.events is None or e.event in sink.events]
        if wanted:
            thread = threading.Thread(target=_deliver, args=(config.root, sink, wanted), daemon=True)
            thread.start()
            threads.append((sink, thread))
    deadline = time.monotonic() + DEADLINE
    for sink, thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():  # daemon: it dies with the process, the step is not held for it
            warn(f"{sink.type} {_shown(sink)}: still sending after {DEADLINE:.0f}s; given up")


def _deliver(root: Path, sink: Sink, events: Sequence[Event]) -> None:
    from generator.redaction import without

    url, secrets = "", ("",)
    try:
        url = sink_url(root, sink)
        headers: dict[str, str] = {}
        if sink.type == "github":
            token = _secret_file(root, sink.token_file or "", "tokenFile")
            secrets = (token,)
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                       "X-GitHub-Api-Version": "2022-11-28"}
        for done, event in enumerate(events):
            request = _request(sink, url, event)
            if request is None:  # a commit status needs a commit: tick-failed and waiting have none
                continue
            try:
                post(request[0], request[1], sink.timeout, headers)
            except Exception as exc:  # noqa: BLE001 - any failure: a warning, the rest of this sink unsent
                left = len(events) - done
                warn(f"{sink.type} {_shown(sink, url)}: {without(_why(exc), (url, *secrets))}; "
                     f"{left} event(s) not sent (first: {event.id})")
                return
    except Exception as exc:  # noqa: BLE001 - the URL or token file: unreadable, empty, not a URL
        warn(f"{sink.type} {_shown(sink, url)}: {without(str(exc), (url, *secrets))}; {len(events)} event(s) not sent")


def _request(sink: Sink, url: str, event: Event) -> tuple[str, bytes] | None:
    import json

    from generator.notify.payloads import BUILDERS, github

    if sink.type != "github":
        return url, json.dumps(BUILDERS[sink.type](event), ensure_ascii=False).encode()
    status = github(event)
    if status is None:
        return None
    return f"{url.rstrip('/')}/repos/{sink.repository}/statuses/{event.commit}", json.dumps(status).encode()


GITHUB_API = "https://api.github.com"


def sink_url(root: Path, sink: Sink) -> str:
    """The sink's URL: given, or read from urlFile (github: the API, by default GitHub's)."""
    if sink.url:
        return sink.url
    if sink.type == "github":
        return GITHUB_API
    url = _secret_file(root, sink.url_file or "", "urlFile")
    if not url.startswith(("https://", "http://")) or any(c.isspace() for c in url):
        raise ValueError(f"urlFile {sink.url_file} does not hold one http(s) URL")
    return url


def _secret_file(root: Path, name: str, key: str) -> str:
    """A secret read from a file (relative to the repository root; inside the repository, a symlink is refused).
    Outside it, the file may be a symlink: Kubernetes mounts a Secret's keys as such."""
    path = Path(name)
    if not path.is_absolute():
        path = root / path
        if path.is_symlink():
            raise ValueError(f"{key} {name} is a symlink inside the repository; name the file itself")
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {key} {name}: {exc.__class__.__name__}") from None
    if not value:
        raise ValueError(f"{key} {name} is empty")
    return value


def post(url: str, body: bytes, timeout: float, headers: dict[str, str] | None = None) -> None:
    import urllib.request

    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {}),
    })
    with urllib.request.urlopen(request, timeout=timeout) as response:
        response.read(64 * 1024)


def _why(exc: BaseException) -> str:
    import socket
    import urllib.error

    if isinstance(exc, urllib.error.HTTPError):
        return f"answered {exc.code} {exc.reason}"
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "timed out"
    return f"unreachable ({reason})" if isinstance(exc, urllib.error.URLError) else str(reason) or type(exc).__name__


def _shown(sink: Sink, url: str = "") -> str:
    from generator.redaction import endpoint

    if sink.url or url:
        return endpoint(sink.url or url)
    return f"(urlFile {sink.url_file})"


def warn(text: str) -> None:
    print(f"rollgen: warning: notify: {text}", file=sys.stderr)
