"""Notifications (rollgen.yaml `notify:`), through the CLI and real git, each sink against a real HTTP receiver on
127.0.0.1: sent once the commit has landed, nothing for a refused push, the commit id in the payload, a down or
slow endpoint only a warning, URLs never printed."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from generator.gitops.repo import Repo
from generator.model import EnvState, Image
from generator.notify import after_tick, landed
from generator.notify.events import parse_gates
from generator.render import state as state_file
from generator.spec.config import load
from generator.errors import InvalidInput
from tests.conftest import REFUSED_PORT, git
from tests.factories import V1, V2, V3, ConfigRepo, at, spec_text
from tests.factories import CONFIG

SECRET = "T000/B000/s3cr3t-do-not-print"


class Receiver:
    """An HTTP endpoint on a free loopback port that records every POST (path, JSON body); `delay` seconds
    before answering, `status` as the answer."""

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        self.posts: list[tuple[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.status, self.delay = status, delay
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append((self.path, json.loads(body)))
                receiver.headers.append(dict(self.headers))
                time.sleep(receiver.delay)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self, path: str) -> list[Any]:
        return [body for where, body in self.posts if where == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(loopback_without_proxy: None) -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def with_notify(repo: ConfigRepo, notify: str) -> None:
    (repo.path / "rollgen.yaml").write_text(CONFIG + notify)
    git(repo.path, "commit", "-qam", "notify")


def remote_of(repo: ConfigRepo) -> Path:
    return Path(git(repo.path, "remote", "get-url", "origin").strip())


def three_sinks(repo: ConfigRepo, receiver: Receiver, tmp_path: Path) -> None:
    secret_file = tmp_path / "slack-url"
    secret_file.write_text(f"{receiver.url}/slack/{SECRET}\n")
    with_notify(repo, (
        "notify:\n"
        f"  - {{type: slack, urlFile: {secret_file}}}\n"
        f"  - {{type: msteams, url: '{receiver.url}/teams', events: [abort, promote]}}\n"
        f"  - {{type: webhook, url: '{receiver.url}/hook'}}\n"
    ))


def test_every_sink_after_the_push_with_the_commit_id(repo: ConfigRepo, receiver: Receiver, tmp_path: Path) -> None:
    three_sinks(repo, receiver, tmp_path)
    repo.write_spec(spec_text(V1))
    assert repo.release("--push")[0] == 0  # a first deploy: nothing to tell
    assert receiver.posts == []
    repo.write_spec(spec_text(V2))
    code, _, err = repo.release("--push", now=at(0))
    assert code == 0, err
    start = repo.head()
    code, _, err = repo.act("advance", "--push", now=at(6))
    assert code == 0, err
    step = repo.head()
    code, _, err = repo.act("abort", "--push", now=at(7))
    assert code == 0 and "warning" not in err, err
    abort = repo.head()
    hooks = receiver.bodies("/hook")
    assert [(h["metadata"]["event"], h["metadata"]["commit"]) for h in hooks] == [
        ("start", start), ("step", step), ("abort", abort)]
    first = hooks[0]
    # Flagger's event-webhook shape: a receiver written for Flagger reads it
    assert first["name"] == "hello" and first["namespace"] == "test" and first["phase"] == "Progressing"
    assert all(isinstance(value, str) for value in first["metadata"].values())
    assert first["metadata"]["eventType"] == "Normal" and first["metadata"]["timestamp"] == "1714564800000"
    assert first["metadata"]["id"] == f"{start}:start"
    assert first["metadata"]["author"] == "rollgen bot" and first["metadata"]["environment"] == "prod"
    assert hooks[1]["metadata"]["step"] == "2/3" and hooks[1]["metadata"]["weight"] == "25"
    assert hooks[2]["phase"] == "Failed" and hooks[2]["metadata"]["eventType"] == "Warning"
    slack = receiver.bodies(f"/slack/{SECRET}")
    assert len(slack) == 3 and slack[0]["text"].startswith("hello/prod: canary started: ")
    assert any(start[:12] in json.dumps(block) for block in slack[0]["blocks"])
    teams = receiver.bodies("/teams")  # its events filter: abort and promote only
    assert len(teams) == 1
    card = teams[0]["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert "hello/prod: canary aborted" in json.dumps(card["content"])


def test_a_refused_push_sends_nothing(
    repo: ConfigRepo, receiver: Receiver, tmp_path: Path, git_remote: tuple[Path, Path]
) -> None:
    three_sinks(repo, receiver, tmp_path)
    repo.write_spec(spec_text(V1))
    assert repo.release("--push")[0] == 0
    repo.write_spec(spec_text(V2))
    git(repo.path, "push", "-q", "origin", "main")
    hook = git_remote[0] / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'policy: no pushes today' >&2\nexit 1\n")
    hook.chmod(0o755)
    code, _, err = repo.release("--push", now=at(0))
    assert code == 1 and "policy: no pushes today" in err
    time.sleep(0.2)
    assert receiver.posts == []
    # The tick too: its commits are dropped with the refused push, and nothing is told.
    hook.unlink()
    assert repo.release("--push", now=at(0))[0] == 0
    receiver.posts.clear()
    hook.write_text("#!/bin/sh\necho 'policy: no pushes today' >&2\nexit 1\n")
    hook.chmod(0o755)
    code, _, err = repo.rollgen("advance", "--all", "--push", "--now", at(6))
    assert code == 1 and "policy: no pushes today" in err
    time.sleep(0.2)
    assert receiver.posts == []
    # With the hook gone, the next tick steps and pushes: told now, once.
    hook.unlink()
    code, out, err = repo.rollgen("advance", "--all", "--push", "--now", at(6))
    assert code == 0 and "1 moved, 0 held, 0 failed, pushed" in out, out + err
    assert [b["metadata"]["event"] for b in receiver.bodies("/hook")] == ["step"]
    # Without --push the commit is what lands: it is told, and not again when a later push carries it.
    receiver.posts.clear()
    code, _, err = repo.act("abort", now=at(7))
    assert code == 0, err
    abort = repo.head()
    assert [(b["metadata"]["event"], b["metadata"]["commit"]) for b in receiver.bodies("/hook")] == [("abort", abort)]
    before = len(receiver.posts)  # the abort to each sink that takes it
    code, out, err = repo.rollgen("advance", "--all", "--push", "--now", at(8))
    assert code == 0 and out.endswith(", pushed\n") and git(remote_of(repo), "rev-parse", "main").strip() == abort
    assert len(receiver.posts) == before


def test_github_commit_status_on_the_landed_commit(repo: ConfigRepo, receiver: Receiver, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("ghp_notreallyatoken0000\n")
    with_notify(repo, f"notify:\n  - {{type: github, url: '{receiver.url}/api/v3', repository: org/config, "
                      f"tokenFile: {token}}}\n")
    repo.write_spec(spec_text(V1))
    assert repo.release("--push")[0] == 0
    repo.write_spec(spec_text(V2))
    assert repo.release("--push", now=at(0))[0] == 0
    start = repo.head()
    assert repo.act("promote", "--full", "--push", now=at(1))[0] == 0
    promote = repo.head()
    assert [path for path, _ in receiver.posts] == [
        f"/api/v3/repos/org/config/statuses/{start}", f"/api/v3/repos/org/config/statuses/{promote}"]
    assert [body["state"] for _, body in receiver.posts] == ["pending", "success"]
    assert {body["context"] for _, body in receiver.posts} == {"rollgen/prod"}
    assert receiver.headers[0]["Authorization"] == "Bearer ghp_notreallyatoken0000"
    assert receiver.headers[0]["Accept"] == "application/vnd.github+json"


def test_each_clone_tells_what_its_own_push_carried(
    repo: ConfigRepo, receiver: Receiver, git_remote: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Two runners on one remote: a commit is told by the clone that pushed it, never again by the other, which
    fetched it before pushing its own."""
    with_notify(repo, f"notify:\n  - {{type: webhook, url: '{receiver.url}/hook'}}\n")
    repo.write_spec(spec_text(V1))
    assert repo.release("--push")[0] == 0
    repo.write_spec(spec_text(V2))
    assert repo.release("--push", now=at(0))[0] == 0
    other = ConfigRepo(git_remote[1].parent / "other", capsys)
    git(git_remote[1].parent, "clone", "-q", str(git_remote[0]), str(other.path))
    code, _, err = other.act("advance", "--push", now=at(6))
    assert code == 0, err
    code, _, err = repo.act("abort", "--push", now=at(7))
    assert code == 0, err
    told = [(b["metadata"]["event"], b["metadata"]["commit"]) for b in receiver.bodies("/hook")]
    assert [event for event, _ in told] == ["start", "step", "abort"]
    assert len({commit for _, commit in told}) == 3


@pytest.mark.parametrize("where", ["down", "slow", "500"])
def test_a_down_or_slow_endpoint_warns_and_the_step_happens(
    repo: ConfigRepo, receiver: Receiver, tmp_path: Path, where: str
) -> None:
    if where == "down":
        url = f"http://127.0.0.1:{REFUSED_PORT}/services/{SECRET}"
    else:
        receiver.delay, receiver.status = (3.0, 200) if where == "slow" else (0.0, 500)
        url = f"{receiver.url}/services/{SECRET}"
    (tmp_path / "url").write_text(url)
    with_notify(repo, f"notify:\n  - {{type: slack, urlFile: {tmp_path / 'url'}, timeout: 1s}}\n")
    repo.write_spec(spec_text(V1))
    assert repo.release()[0] == 0
    repo.write_spec(spec_text(V2))
    began = time.monotonic()
    code, out, err = repo.release(now=at(0))
    took = time.monotonic() - began
    assert code == 0, err
    assert repo.trailers()["Rollgen-Action"] == "start"  # the step happened
    assert "rollgen: warning: notify: slack http://127.0.0.1:" in err
    assert {"down": "unreachable", "slow": "timed out", "500": "answered 500"}[where] in err
    assert "1 event(s) not sent" in err and SECRET not in out + err
    assert took < 8  # one short timeout, not a hang


def test_gate_failed_from_the_trailers_value_against_bound(
    repo: ConfigRepo, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    """An abort that a gate caused: gate-failed (with value and bound), then abort, both keyed by the commit."""
    with_notify(repo, f"notify:\n  - {{type: webhook, url: '{receiver.url}/hook', events: [gate-failed]}}\n")
    path = repo.path / state_file.relpath("hello", "prod")
    path.parent.mkdir(parents=True)
    state = EnvState(phase="aborted", stable_image=Image.parse(V1), canary_image=Image.parse(V2), since=at(9))
    path.write_bytes(state_file.dump(state, "releases/hello.yaml"))
    git(repo.path, "add", "apps")
    message = ("hello/prod: abort (error-rate=7.3 > 1)\n\nRollgen-Release: hello\nRollgen-Environment: prod\n"
               "Rollgen-Action: abort\nRollgen-Step: 0/3\nRollgen-Weight: 0\nRollgen-Image: " + V1 + "\n"
               "Rollgen-Gate: error-rate=7.3 > 1; latency=812 > 500\n")
    git(repo.path, "commit", "-q", "-m", message)
    gitrepo = Repo.discover(repo.path)
    landed(gitrepo, load(repo.path), [repo.head()], pushed=False)
    (hook,) = receiver.bodies("/hook")
    meta = hook["metadata"]
    assert meta["event"] == "gate-failed" and meta["id"] == f"{repo.head()}:gate-failed"
    assert meta["gate"] == "error-rate=7.3 > 1; latency=812 > 500" and meta["time"] == at(9)
    assert [g.as_json() for g in parse_gates(meta["gate"])] == [
        {"metric": "error-rate", "value": "7.3", "comparison": ">", "bound": "1"},
        {"metric": "latency", "value": "812", "comparison": ">", "bound": "500"},
    ]


def test_tick_failed_and_waiting_from_advance_all(repo: ConfigRepo, receiver: Receiver) -> None:
    with_notify(repo, f"notify:\n  - {{type: webhook, url: '{receiver.url}/hook', events: [tick-failed, waiting]}}\n")
    repo.write_spec(spec_text(V1))
    assert repo.release()[0] == 0
    repo.write_spec(spec_text(V2))
    assert repo.release(now=at(0))[0] == 0
    repo.spec.write_text(repo.spec.read_text().replace("replicas: 4", "replicas: -1"))
    git(repo.path, "commit", "-qam", "break hello")
    code, _, err = repo.rollgen("advance", "--all", "--now", at(6))
    assert code == 1
    (hook,) = receiver.bodies("/hook")
    assert hook["metadata"]["event"] == "tick-failed" and hook["metadata"]["commit"] == ""
    assert "$.spec.replicas" in hook["metadata"]["eventMessage"] and hook["metadata"]["time"] == at(6)
    # A wait (issue 24's `after:`) makes no commit: told once per wait, not on every tick (and through the CLI
    # in test_a_follower_that_waits_is_told_once_then_its_start).
    from generator.gitops.workflow import Outcome
    from generator.plan.order import Wait

    wait = Wait("staging", Image.parse(V2), "waits for staging to promote v2")
    line = Outcome("hello", "prod", "nothing-to-do", "waiting: waits for staging to promote v2",
                   state=EnvState(phase="stable", stable_image=Image.parse(V1), since=at(1)), waiting=wait)
    for minute in (8, 9):
        after_tick(Repo.discover(repo.path), load(repo.path), [line], at(minute), pushed=False)
    waits = [b for b in receiver.bodies("/hook") if b["metadata"]["event"] == "waiting"]
    assert len(waits) == 1 and waits[0]["phase"] == "Waiting" and waits[0]["metadata"]["time"] == at(8)


@pytest.mark.parametrize("entry, message", [
    ("{type: slack}", "$.notify[0]: give exactly one of url and urlFile"),
    ("{type: webhook, url: 'https://x.example/h', urlFile: /run/u}", "$.notify[0]: give exactly one of url"),
    ("{type: webhook, url: 'https://x.example/h', timeout: 1m}", "$.notify[0].timeout: must be more than 0s"),
    ("{type: pager, url: 'https://x.example/h'}", "$.notify[0].type"),
    ("{type: webhook, url: 'https://x.example/h', events: [deploy]}", "$.notify[0].events[0]"),
    ("{type: slack, url: 'hooks.example/services/T0/SECRET'}", "$.notify[0].url: must be an http(s) URL"),
    ("{type: github, repository: org/repo}", "$.notify[0]: type github needs repository (owner/name) and tokenFile"),
    ("{type: webhook, url: 'https://x.example/h', repository: a/b}", "repository and tokenFile are for type github"),
])
def test_notify_config_problems_are_located(tmp_path: Path, entry: str, message: str) -> None:
    (tmp_path / "rollgen.yaml").write_text(f"notify:\n  - {entry}\n")
    with pytest.raises(InvalidInput) as caught:
        load(tmp_path)
    text = "\n".join(p.format() for p in caught.value.problems)
    assert "rollgen.yaml:2:" in text and message in text, text
    assert "SECRET" not in text  # a URL is never repeated in a message



FOLLOWER = """\
    - {name: staging, namespace: staging}
    - {name: prod, namespace: prod, after: staging, soak: 30m}
"""


def test_a_follower_that_waits_is_told_once_then_its_start(repo: ConfigRepo, receiver: Receiver) -> None:
    """issue 24's `after:` and issue 26's `waiting`, end to end: the release that starts staging leaves prod
    waiting (told once, with what it waits for), the ticks while staging steps, promotes and soaks tell nothing
    more, and the tick that starts prod tells `start` with its commit."""
    from tests.plan.test_order import H, at as at_s, spec, tick

    with_notify(repo, f"notify:\n  - {{type: webhook, url: '{receiver.url}/hook'}}\n")
    repo.write_spec(spec(V1, FOLLOWER))
    assert repo.release("--push", now=at_s(0))[0] == 0
    # prod waits for v1 to soak in staging (told; the first deploys tell nothing), and is deployed after it
    assert [h["metadata"]["event"] for h in receiver.bodies("/hook")] == ["waiting"]
    first = receiver.bodies("/hook")[0]
    assert first["namespace"] == "prod" and first["metadata"]["until"] == at_s(30 * 60)
    code, out, err = tick(repo, H, "--push")
    assert code == 0 and "hello/prod: deploy" in out, out + err
    assert len(receiver.posts) == 1
    receiver.posts.clear()
    repo.write_spec(spec(V2, FOLLOWER), "v2")
    code, out, err = repo.release("--push", now=at_s(2 * H))
    assert code == 0 and "hello/prod: waiting: waits for staging to promote" in out, out + err
    hooks = receiver.bodies("/hook")
    assert [(h["metadata"]["event"], h["metadata"]["environment"]) for h in hooks] == [
        ("start", "staging"), ("waiting", "prod")]
    meta = hooks[1]["metadata"]
    assert hooks[1]["phase"] == "Waiting" and meta["commit"] == "" and meta["time"] == at_s(2 * H)
    assert meta["waitingFor"] == "staging" and meta["image"] == V2 and meta["until"] == ""
    assert "waits for staging to promote ghcr.io/kmaster8/hello:v2" in meta["eventMessage"]
    assert meta["id"].endswith(":waiting")
    # ticks while staging is a canary, its promotion by hand, ticks while it soaks: no second waiting
    assert tick(repo, 2 * H + 60, "--push")[0] == 0
    code, _, err = repo.act("promote", "--full", "--push", env="staging", now=at_s(2 * H + 120))
    assert code == 0, err
    promoted = 2 * H + 120
    code, out, err = tick(repo, promoted + 30 * 60 - 1, "--push")
    assert code == 0 and "hello/prod: holds: waiting: waits for ghcr.io/kmaster8/hello:v2 to soak" in out, out + err
    events = [(h["metadata"]["event"], h["metadata"]["environment"]) for h in receiver.bodies("/hook")]
    assert events == [("start", "staging"), ("waiting", "prod"), ("promote", "staging")], events
    # the soak is over: the tick starts prod, and tells it
    code, out, err = tick(repo, promoted + 30 * 60, "--push")
    assert code == 0 and "hello/prod: start canary of ghcr.io/kmaster8/hello:v2" in out, out + err
    last = receiver.bodies("/hook")[-1]
    assert (last["metadata"]["event"], last["metadata"]["environment"]) == ("start", "prod")
    assert last["metadata"]["commit"] == repo.head() == git(remote_of(repo), "rev-parse", "main").strip()
    assert [h["metadata"]["event"] for h in receiver.bodies("/hook")].count("waiting") == 1


def test_rollback_is_told_and_a_freeze_hold_tells_nothing(repo: ConfigRepo, receiver: Receiver) -> None:
    from tests.test_freeze import FREEZE, FRIDAY_LATE
    from tests.plan.test_order import spec

    (repo.path / "rollgen.yaml").write_text(CONFIG + FREEZE + f"notify:\n  - {{type: webhook, url: '{receiver.url}/hook'}}\n")
    git(repo.path, "commit", "-qam", "notify and freeze")
    envs = "    - {name: prod, namespace: prod}\n"
    repo.write_spec(spec(V1, envs))
    assert repo.release("--push", now="2026-12-01T10:00:00Z")[0] == 0
    repo.write_spec(spec(V2, envs), "v2")
    assert repo.release("--push", now="2026-12-01T11:00:00Z")[0] == 0
    assert repo.act("promote", "--full", "--push", now="2026-12-01T11:10:00Z")[0] == 0
    told = len(receiver.posts)
    assert [h["metadata"]["event"] for h in receiver.bodies("/hook")] == ["start", "promote"]
    # a freeze holds the next version: no commit, nothing told, by release or by the tick
    repo.write_spec(spec(V3, envs), "v3")
    before = repo.count()
    code, out, _ = repo.release("--push", now=FRIDAY_LATE)
    assert code == 0 and repo.count() == before and "frozen" in out
    code, out, _ = repo.rollgen("advance", "--all", "--push", "--now", FRIDAY_LATE)
    assert code == 0 and repo.count() == before
    time.sleep(0.2)
    assert len(receiver.posts) == told
    # rollback works inside the freeze, and is told with its commit, as a Warning
    code, out, err = repo.act("rollback", "--push", now=FRIDAY_LATE)
    assert code == 0 and repo.trailers()["Rollgen-Action"] == "rollback", out + err
    last = receiver.bodies("/hook")[-1]
    assert last["metadata"]["event"] == "rollback" and last["metadata"]["commit"] == repo.head()
    assert last["phase"] == "Failed" and last["metadata"]["eventType"] == "Warning"
    assert len(receiver.posts) == told + 1
