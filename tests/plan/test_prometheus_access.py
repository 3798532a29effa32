"""Authenticated gates (issue 25 item 1): rollgen.yaml `prometheus:` against a real Prometheus started with
--web.config.file (TLS with a self-signed certificate, basic auth), and a bearer token with extra headers
against a local receiver that records what it is sent. Driven through the real CLI on real git config repos;
the secrets are in files outside the repository and must never appear in output, logs or history.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from generator.plan.prometheus import Client, PrometheusError
from generator.spec.config import PrometheusAccess
from tests.conftest import git, require_tool
from tests.promstack import Exporter, Prometheus, WebAccess, loopback_server, scraping, self_signed
from tests.factories import CONFIG, ConfigRepo, make_config_repo
from tests.plan.test_prometheus_gates import V1, V2, Clock, spec, start_canary

PASSWORD = "s3cret-Pa55word-never-shown"
TOKEN = "tok-abcdef-0123456789-never-shown"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    binary = require_tool("prometheus")
    require_tool("openssl")
    workdir = tmp_path_factory.mktemp("prometheus-tls")
    cert, key = self_signed(workdir)
    exporter = Exporter()
    exporter.release("secure", "hello", {"rps": 10, "error_ratio": 0.0, "latency": 0.05})
    with scraping(binary, exporter, workdir, WebAccess(cert, key, "rollgen", PASSWORD)) as server:
        yield server


# slow: a real Prometheus behind TLS and basic auth
pytestmark = [pytest.mark.usefixtures("loopback_without_proxy"), pytest.mark.slow]


def secrets_folder(tmp_path: Path, password: str = PASSWORD) -> Path:
    """The Secret's layout as a mounted volume would give it: one file a key, outside the config repo."""
    folder = tmp_path / "secrets"
    folder.mkdir(exist_ok=True)
    (folder / "user").write_text("rollgen\n")
    (folder / "password").write_text(password + "\n")
    (folder / "token").write_text(TOKEN + "\n")
    return folder


def basic_auth(folder: Path, ca: Path | None) -> str:
    lines = ["prometheus:\n", f"  basicAuth: {{usernameFile: {folder / 'user'}, passwordFile: {folder / 'password'}}}\n"]
    if ca is not None:
        lines.append(f"  caFile: {ca}\n")
    return "".join(lines)


def everything(repo: ConfigRepo, *outputs: str) -> str:
    history = git(repo.path, "log", "--all", "-p", "--format=%H%n%B")
    return "\n".join([*outputs, history])


def test_basic_auth_and_tls_reach_the_real_prometheus(
    secured: Prometheus, git_remote: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert secured.web is not None
    repo = make_config_repo(git_remote[1], capsys, CONFIG + basic_auth(secrets_folder(tmp_path), secured.web.cert))
    clock = Clock()
    start_canary(repo, spec("secure", V1, secured.url), spec("secure", V2, secured.url), clock, -4)

    code, out, err = repo.act("advance", now=clock(-2))
    assert code == 0, out + err
    assert repo.trailers()["Rollgen-Action"] == "step"
    assert "Gates: error-rate=0 <= 1, latency=" in git(repo.path, "log", "-1", "--format=%b")
    assert PASSWORD not in everything(repo, out, err)


def test_a_wrong_password_holds_with_exit_1_and_is_never_shown(
    secured: Prometheus, git_remote: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert secured.web is not None
    wrong = "wrong-Pa55word-never-shown"
    repo = make_config_repo(git_remote[1], capsys,
                            CONFIG + basic_auth(secrets_folder(tmp_path, wrong), secured.web.cert))
    clock = Clock()
    start_canary(repo, spec("secure", V1, secured.url), spec("secure", V2, secured.url), clock, -4)
    before = repo.count()

    code, out, err = repo.act("advance", now=clock(-2))
    assert (code, repo.count()) == (1, before)
    assert "HTTP 401" in out + err and "prometheus:" in out + err
    # plan (the diff of what advance would commit) and advance --all say the same, and never the password
    plan = repo.rollgen("plan", "hello", "--env", "prod", "--action", "advance", "--now", clock(-2))
    tick = repo.rollgen("advance", "--all", "--now", clock(-2))
    assert plan[0] == 1 and tick[0] == 1 and "HTTP 401" in plan[1] + plan[2] + tick[1] + tick[2]
    assert repo.count() == before
    assert wrong not in everything(repo, out, err, *plan[1:], *tick[1:])


def test_an_untrusted_certificate_is_refused_with_the_setting_to_fix(
    secured: Prometheus, git_remote: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo = make_config_repo(git_remote[1], capsys, CONFIG + basic_auth(secrets_folder(tmp_path), None))
    clock = Clock()
    start_canary(repo, spec("secure", V1, secured.url), spec("secure", V2, secured.url), clock, -4)

    code, out, err = repo.act("advance", now=clock(-2))
    assert code == 1
    assert "certificate is not trusted" in out + err and "prometheus.caFile" in out + err
    assert PASSWORD not in everything(repo, out, err)


def test_a_missing_secret_file_is_named_not_guessed(
    secured: Prometheus, git_remote: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert secured.web is not None
    folder = secrets_folder(tmp_path)
    (folder / "password").unlink()
    repo = make_config_repo(git_remote[1], capsys, CONFIG + basic_auth(folder, secured.web.cert))
    clock = Clock()
    start_canary(repo, spec("secure", V1, secured.url), spec("secure", V2, secured.url), clock, -4)
    code, out, err = repo.act("advance", now=clock(-2))
    assert code == 1
    assert f"prometheus.basicAuth.passwordFile {folder / 'password'}" in out + err


# -- bearer token and headers, against a receiver that records them --------------------------------------------


class Receiver:
    """Answers every query with one sample, 0, and records each request's headers."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []
        answer = json.dumps({"status": "success", "data": {
            "resultType": "vector", "result": [{"metric": {}, "value": [0, "0"]}]}}).encode()

        def respond(request: BaseHTTPRequestHandler) -> tuple[str, bytes]:
            request.rfile.read(int(request.headers.get("Content-Length", "0")))
            self.seen.append(dict(request.headers.items()))
            return "application/json", answer

        self.server, _ = loopback_server(respond)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


def test_bearer_token_and_headers_are_sent_by_the_cli_gate(
    receiver: Receiver, git_remote: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = secrets_folder(tmp_path)
    access = f"prometheus:\n  bearerTokenFile: {folder / 'token'}\n  headers: {{X-Scope-OrgID: platform}}\n"
    repo = make_config_repo(git_remote[1], capsys, CONFIG + access)
    clock = Clock()
    metrics = "      - {name: error-rate, max: 1}\n"
    start_canary(repo, spec("secure", V1, receiver.url, metrics=metrics),
                 spec("secure", V2, receiver.url, metrics=metrics), clock, -4)

    code, out, err = repo.act("advance", now=clock(-2))
    assert code == 0, out + err
    assert repo.trailers()["Rollgen-Action"] == "step"
    assert receiver.seen, "the gate never queried"
    for headers in receiver.seen:
        assert headers["Authorization"] == f"Bearer {TOKEN}"
        assert headers["X-Scope-Orgid"] == "platform"  # http.server capitalises header names its own way
    assert TOKEN not in everything(repo, out, err)


def test_a_token_in_an_error_message_is_redacted(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text(TOKEN)

    def opener(request: Any, timeout: float) -> Any:
        raise OSError(f"proxy refused {request.get_header('Authorization')}")

    client = Client("http://127.0.0.1:9", attempts=1, opener=opener, access=PrometheusAccess(bearer_token_file=str(token)))
    with pytest.raises(PrometheusError) as caught:
        client.query("up", __import__("datetime").datetime.now())
    assert TOKEN not in str(caught.value) and "Bearer ***" in str(caught.value)
