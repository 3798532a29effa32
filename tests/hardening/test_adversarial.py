"""Issue 11, items 8-18: what adversarial testing broke (hangs, crashes, leaks, forged records), each through the
real CLI on real git repositories. A server that misbehaves is a loopback stub on port 0: real Prometheus and
real git servers cannot be made to answer like that.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.gitops import repo as gitops
from tests.conftest import ROOT, git
from tests.hardening.test_faults import SPEC
from tests.hardening.test_security import make_repo, run

# -- 8: every message builder is linear ----------------------------------------------------------------------

MIB = 1024 * 1024
# Under the 1 MiB a spec may be, with room for the rest of the document.
BIG = MIB - 4096
VALUES = {
    "image": lambda: "a" * BIG,
    "image-dots": lambda: "a." * (BIG // 2),
    "image-schemes": lambda: "a://" * (BIG // 4) + "@",
    "host-dashes": lambda: "a-" * (BIG // 2) + "@x",
}


def _rollgen(*args: str | Path, timeout: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    environ = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    result = subprocess.run([sys.executable, "-m", "generator", *map(str, args)], cwd=ROOT, env=environ,
                            capture_output=True, text=True, check=False, timeout=timeout)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


@pytest.mark.parametrize("case", sorted(VALUES))
def test_a_megabyte_invalid_value_is_reported_promptly(tmp_path: Path, case: str) -> None:
    """A 300 KB invalid image kept `validate` busy past a minute (a quadratic credentials pattern); at 1 MiB it
    would have been half an hour. The bound is generous: a linear run takes well under a second."""
    value = VALUES[case]()
    text = SPEC.replace("ghcr.io/kmaster8/hello:IMAGE", value if case.startswith("image") else "ghcr.io/a/b:v1")
    if case.startswith("host"):
        text = text.replace("hello.example.com", value)
    spec = tmp_path / "big.yaml"
    spec.write_text(text)
    assert len(spec.read_bytes()) < MIB
    result = _rollgen("validate", spec, timeout=120)
    assert result.returncode == 1
    assert "big.yaml:" in result.stdout + result.stderr
    assert len(result.stdout + result.stderr) < 4096  # the value is shown cut short, not echoed


def test_redacting_what_git_prints_is_linear() -> None:
    for text in (b"a." * (MIB // 2) + b"@", b"a://" * (MIB // 4) + b"@", b"x" * MIB + b"@"):
        assert gitops.redact_output(text) == text
    assert gitops.redact_output(b"fatal: 'https://user:tok@host/x' ") == b"fatal: 'https://***@host/x' "


# -- 9: --now is exactly RFC 3339, in a sane range, not before the step began ----------------------------------


def _head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def _set_image(repo: Path, image: str) -> None:
    (repo / "releases" / "hello.yaml").write_text(SPEC.replace("IMAGE", image))
    git(repo, "commit", "-qam", f"spec {image}")


@pytest.mark.parametrize(
    "now",
    ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00+01:00", "2026-05-04", "2024-05-01T12:00:00",
     "2024-05-01 12:00:00Z", "2024-05-01T12:00:00+24:00", "１９９９-01-01T00:00:00Z", "2024-02-30T00:00:00Z"],
)
def test_now_outside_rfc3339_or_the_sane_range_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, now: str
) -> None:
    repo = make_repo(tmp_path / "repo")
    before = _head(repo)
    code, out = run(capsys, "release", repo / "releases" / "hello.yaml", "--repo", repo, "--now", now)
    assert code == 2, out
    assert out.startswith("rollgen: --now: ") and out.count("\n") == 1
    assert _head(repo) == before


def test_now_with_an_offset_and_a_fraction_is_accepted(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    code, out = run(capsys, "release", repo / "releases" / "hello.yaml", "--repo", repo,
                    "--now", "2024-05-01T14:00:00.250+02:00")
    assert code == 0, out
    state = (repo / "apps/hello/overlays/dev/rollgen-state.yaml").read_text()
    assert "since: '2024-05-01T12:00:00Z'" in state or "since: 2024-05-01T12:00:00Z" in state


def test_now_before_the_current_step_began_acts_with_monotonic_times(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Issue 23 item 6: once refused ("before the current step began"); the brake must act whatever the clock says
    repo = make_repo(tmp_path / "repo")
    spec = repo / "releases" / "hello.yaml"
    assert run(capsys, "release", spec, "--repo", repo, "--env", "dev", "--now", "2024-05-01T00:00:00Z")[0] == 0
    _set_image(repo, "v2")
    assert run(capsys, "release", spec, "--repo", repo, "--env", "dev", "--now", "2024-05-01T01:00:00Z")[0] == 0
    before = _head(repo)
    # A hold commits nothing, so a runner whose clock lags the one that stepped just waits (exit 0).
    code, out = run(capsys, "advance", "hello", "--repo", repo, "--env", "dev", "--now", "2024-05-01T00:30:00Z")
    assert code == 0 and "nothing to do yet" in out, out
    assert _head(repo) == before
    code, out = run(capsys, "abort", "hello", "--repo", repo, "--env", "dev", "--now", "2024-05-01T00:30:00Z")
    assert code == 0, out
    assert _head(repo) != before
    assert "since: '2024-05-01T01:00:00Z'" in (repo / "apps/hello/overlays/dev/rollgen-state.yaml").read_text()


# -- 10: Prometheus answers are parsed defensively, each query has a total deadline ----------------------------

GATED = """\
apiVersion: rollgen.io/v1alpha1
kind: Release
metadata: {name: hello, namespace: test}
spec:
  engine: nginx
  progression: git
  image: ghcr.io/kmaster8/hello:IMAGE
  replicas: 2
  containerPort: 5050
  service: {port: 5000}
  ingress: {host: hello.example.com}
  strategy:
    canary:
      steps:
        - {weight: 10, pause: 1m}
        - {weight: 50, pause: 1m}
  analysis:
    prometheus: http://127.0.0.1:PORT/
    interval: 1m
    metrics:
      - {name: errors, query: 'sum(rate(errors_total[{{ interval }}]))', max: 1}
  environments:
    - {name: prod}
"""


class Stub:
    """A loopback HTTP server on port 0 that answers every request with one fixed body."""

    def __init__(self, body: bytes) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                stub.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _gated_canary(capsys: pytest.CaptureFixture[str], tmp_path: Path, port: int) -> Path:
    """A canary at step 1 of 2 whose pause has elapsed by 2024-05-01T01:10:00Z: the next advance asks the gate."""
    repo = make_repo(tmp_path / "repo")
    spec = repo / "releases" / "hello.yaml"
    text = GATED.replace("PORT", str(port))
    spec.write_text(text.replace("IMAGE", "v1"))
    git(repo, "commit", "-qam", "gated v1")
    assert run(capsys, "release", spec, "--repo", repo, "--now", "2024-05-01T00:00:00Z")[0] == 0
    spec.write_text(text.replace("IMAGE", "v2"))
    git(repo, "commit", "-qam", "gated v2")
    assert run(capsys, "release", spec, "--repo", repo, "--now", "2024-05-01T01:00:00Z")[0] == 0
    return repo


def _answer(value: object = None, result: object = None) -> bytes:
    import json

    if result is None:
        result = [{"metric": {}, "value": [1714525800, value]}]
    return json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}}).encode()


@pytest.fixture
def _loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.promstack import no_proxy_for_loopback

    for key, value in no_proxy_for_loopback().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ROLLGEN_PROMETHEUS_TIMEOUT", "1")


UNJUDGEABLE = {
    "x0": _answer("x0"),
    "list-of-string": _answer(result=["x"]),
    "list-of-null": _answer(result=[None]),
    "object-value": _answer({"a": 1}),
    "value-not-pair": _answer(["1"]),
    "underscored": _answer("1_0"),
    "minus-inf-under-max": _answer("-Inf"),
    "nested": b'{"status": "success", "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "nested-result": _answer(result=[[[[[[1]]]]]]),
}


@pytest.mark.usefixtures("_loopback")
@pytest.mark.parametrize("case", sorted(UNJUDGEABLE))
def test_an_unparseable_prometheus_answer_cannot_judge(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str
) -> None:
    stub = Stub(UNJUDGEABLE[case])
    try:
        repo = _gated_canary(capsys, tmp_path, stub.port)
        before = _head(repo)
        code, out = run(capsys, "advance", "hello", "--repo", repo, "--env", "prod", "--now", "2024-05-01T01:10:00Z")
    finally:
        stub.close()
    assert code == 1, out
    assert "cannot evaluate metric errors" in out and stub.requests >= 1
    assert len(out) < 1000
    assert _head(repo) == before and git(repo, "status", "--porcelain") == ""


@pytest.mark.usefixtures("_loopback")
@pytest.mark.parametrize(("value", "code", "commits"), [("0.5", 0, 1), ("NaN", 0, 0), ("+Inf", 0, 1), ("7", 0, 1)])
def test_parseable_answers_are_judged(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, value: str, code: int, commits: int
) -> None:
    """The control: a number moves on, NaN (0/0) is no data and holds, +Inf or 7 over `max: 1` is a counted
    failure (a `check` commit)."""
    stub = Stub(_answer(value))
    try:
        repo = _gated_canary(capsys, tmp_path, stub.port)
        before = _head(repo)
        got, out = run(capsys, "advance", "hello", "--repo", repo, "--env", "prod", "--now", "2024-05-01T01:10:00Z")
    finally:
        stub.close()
    assert got == code, out
    assert int(git(repo, "rev-list", "--count", f"{before}..HEAD")) == commits


def _dripping_server(interval: float) -> tuple[int, Callable[[], None]]:
    """Accepts, sends an HTTP status line and then one byte every `interval` seconds, forever (until closed)."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
                while not stop.wait(interval):
                    conn.sendall(b" ")
            except OSError:
                pass

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()

    def close() -> None:
        stop.set()
        listener.close()

    return listener.getsockname()[1], close


@pytest.mark.slow
@pytest.mark.usefixtures("_loopback")
def test_a_server_dripping_its_answer_times_out(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """urllib's timeout bounds each read: a byte every 5 s against the default 10 s, or every 0.2 s against the
    1 s here (ROLLGEN_PROMETHEUS_TIMEOUT=1), never trips it and would hold `advance` forever. The deadline is
    the whole answer's."""
    port, close = _dripping_server(0.2)
    try:
        repo = _gated_canary(capsys, tmp_path, port)
        before = _head(repo)
        code, out = run(capsys, "advance", "hello", "--repo", repo, "--env", "prod", "--now", "2024-05-01T01:10:00Z")
    finally:
        close()
    assert code == 1, out
    assert "no complete answer within 1s" in out and "cannot evaluate metric errors" in out
    assert _head(repo) == before


# -- 11: every git network call is bounded, and rollgen's lock is released on the way out ----------------------


def _silent_server() -> tuple[int, Callable[[], None]]:
    """Accepts connections and never answers (nor closes them) until closed."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()

    def close() -> None:
        stop.set()
        listener.close()
        for conn in held:
            conn.close()

    return listener.getsockname()[1], close


def _lock_is_free(repo: Path) -> bool:
    import fcntl

    with open(repo / ".git" / "rollgen" / "lock", "a+b") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(fh, fcntl.LOCK_UN)
        return True


@pytest.mark.slow
@pytest.mark.parametrize("scheme", ["http", "ssh"])
def test_a_remote_that_never_answers_times_out_and_releases_the_lock(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scheme: str
) -> None:
    import shutil
    import threading

    if scheme == "ssh" and shutil.which("ssh") is None:
        pytest.skip("ssh is not installed")
    monkeypatch.setenv("ROLLGEN_GIT_TIMEOUT", "3")
    from tests.promstack import no_proxy_for_loopback

    for key, value in no_proxy_for_loopback().items():
        monkeypatch.setenv(key, value)
    repo = make_repo(tmp_path / "repo")
    port, close = _silent_server()
    url = f"http://127.0.0.1:{port}/x.git" if scheme == "http" else f"ssh://git@127.0.0.1:{port}/x.git"
    git(repo, "remote", "add", "origin", url)
    before = _head(repo)
    result: list[tuple[int, str]] = []
    worker = threading.Thread(target=lambda: result.append(
        run(capsys, "release", repo / "releases" / "hello.yaml", "--repo", repo, "--now", "2024-05-01T00:00:00Z",
            "--push")))
    try:
        worker.start()
        worker.join(60)  # generous: the deadline is 3 s; without one this never returns
        hung = worker.is_alive()
    finally:
        close()
        worker.join(60)
    assert not hung, "rollgen --push hung on a remote that never answers"
    code, out = result[0]
    assert code == 1, out
    assert "did not finish within 3s" in out or "Operation too slow" in out or "timed out" in out, out
    assert _head(repo) == before
    assert _lock_is_free(repo)


# -- 12: the state file is validated against a schema on every read ---------------------------------------------


def _canary_repo(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "repo")
    spec = repo / "releases" / "hello.yaml"
    assert run(capsys, "release", spec, "--repo", repo, "--env", "dev", "--now", "2024-05-01T00:00:00Z")[0] == 0
    _set_image(repo, "v2")
    assert run(capsys, "release", spec, "--repo", repo, "--env", "dev", "--now", "2024-05-01T01:00:00Z")[0] == 0
    return repo


CORRUPT: dict[str, tuple[Callable[[str], str], str, int]] = {
    "negative-step": (lambda t: t.replace("step: 1", "step: -7"), "$.step", 0),
    "progressing-without-canary": (
        lambda t: t.replace("canaryImage: ghcr.io/kmaster8/hello:v2", "canaryImage: null"), "$.phase", 0),
    # (a progressing state at step 0 is valid since issue 22: Envoy routers start the canary's pods with no weight)
    "unknown-phase": (lambda t: t.replace("phase: progressing", "phase: flying"), "$.phase", 0),
    "since-year-9999": (lambda t: t.replace("2024-05-01T01:00:00Z", "9999-12-31T23:59:59Z"), "$.since", 0),
    "since-naive": (lambda t: t.replace("'2024-05-01T01:00:00Z'", "'2024-05-01T01:00:00'"), "$.since", 0),
    "weight-string": (lambda t: t.replace("weight: 10", "weight: ten"), "$.weight", 0),
    "a-list": (lambda t: "- 1\n", "$", 0),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
@pytest.mark.parametrize("command", ["advance", "abort", "status"])
def test_a_corrupt_state_file_is_refused_located(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str, command: str
) -> None:
    repo = _canary_repo(capsys, tmp_path)
    path = repo / "apps/hello/overlays/dev/rollgen-state.yaml"
    edit, where, _ = CORRUPT[case]
    text = path.read_text()
    assert edit(text) != text, "the edit must change the file"
    path.write_text(edit(text))
    git(repo, "commit", "-qam", "hand edit")
    before = _head(repo)
    if command == "status":
        code, out = run(capsys, "status", "--repo", repo)
        assert "unreadable" in out and where in out
        return
    code, out = run(capsys, command, "hello", "--repo", repo, "--env", "dev", "--now", "2024-05-02T00:00:00Z")
    assert code == 1, out
    first = out.splitlines()[0]
    assert first.startswith("rollgen: ") and "rollgen-state.yaml:" in first and f": {where}: " in first, out
    assert "git checkout COMMIT --" in out and "delete it" in out  # committed: HEAD holds the bad one
    assert _head(repo) == before


# -- 13: the commit template is bounded in what it may load, how long it runs, what it makes ---------------------

TEMPLATES = {
    "include": ("{{ summary }}\n{% include 'other' %}", "line 2 of the template: {% include %} is not available"),
    "import": ("{% import 'other' as o %}{{ summary }}", "line 1 of the template: {% import %} is not available"),
    "nested-range": ("{{ summary }}\n{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
                     "{% endfor %}", "to render (a loop too large?)"),
    "huge-string": ("{{ 'x' * 10**11 }}", "a value over 65536 characters"),
    "huge-width": ("{{ summary|center(10**9) }}", "an argument of 1000000000"),
    "recursive-macro": ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "recurses too deeply"),
    "subject-over-128k": ("{% for i in range(3000) %}{{ summary }}{% endfor %}", "output is over 65536 characters"),
}


@pytest.mark.parametrize("case", sorted(TEMPLATES))
def test_a_bad_commit_template_is_refused_located(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str
) -> None:
    import json

    from tests.hardening.test_security import CONFIG

    template, why = TEMPLATES[case]
    repo = make_repo(tmp_path / "repo", CONFIG.replace("commit:\n", f"commit:\n  template: {json.dumps(template)}\n"))
    before = _head(repo)
    code, out = run(capsys, "release", repo / "releases" / "hello.yaml", "--repo", repo,
                    "--now", "2024-05-01T00:00:00Z")
    assert code == 1, out
    assert out.startswith("rollgen: rollgen.yaml:5:13: $.commit.template: "), out
    assert why in out and len(out) < 1000
    assert _head(repo) == before and git(repo, "status", "--porcelain") == ""


def test_a_long_subject_commits(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The message goes to git on stdin and the reflog gets a cut subject, so no argument grows with it (a
    128 KiB subject used to be "Argument list too long"; the output cap now refuses one that large)."""
    import json

    from tests.hardening.test_security import CONFIG

    template = "{{ summary }} {% for i in range(1000) %}{{ release }}-{{ i }} {% endfor %}"
    repo = make_repo(tmp_path / "repo", CONFIG.replace("commit:\n", f"commit:\n  template: {json.dumps(template)}\n"))
    code, out = run(capsys, "release", repo / "releases" / "hello.yaml", "--repo", repo,
                    "--now", "2024-05-01T00:00:00Z")
    assert code == 0, out
    assert "hello-999" in git(repo, "log", "-1", "--format=%s")


# -- 14: small crashes become clean errors ----------------------------------------------------------------------


@pytest.mark.parametrize("command", ["release", "advance", "history"])
def test_git_rollgen_as_a_file_is_a_clean_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / ".git" / "rollgen").write_text("not a folder\n")
    before = _head(repo)
    argvs: dict[str, list[str | Path]] = {
        "release": ["release", repo / "releases" / "hello.yaml", "--now", "2024-05-01T00:00:00Z"],
        "advance": ["advance", "hello", "--env", "dev", "--now", "2024-05-01T00:00:00Z"],
        "history": ["history", "hello"],
    }
    argv = argvs[command]
    code, out = run(capsys, *argv, "--repo", repo)
    assert code == 1, out
    assert "rollgen is a file, not rollgen's folder; move it away" in out
    assert _head(repo) == before and (repo / ".git" / "rollgen").read_text() == "not a folder\n"


def test_status_of_a_folder_that_does_not_exist_fails(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out = run(capsys, "status", "--repo", tmp_path / "nonexistent")
    assert code == 1 and "is not a folder" in out


@pytest.mark.parametrize("where", ["file", "under-a-file"])
def test_render_out_a_file_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path, where: str) -> None:
    spec = tmp_path / "hello.yaml"
    spec.write_text(SPEC.replace("IMAGE", "v1"))
    target = tmp_path / "out"
    target.write_text("a file\n")
    code, out = run(capsys, "render", spec, "--out", target if where == "file" else target / "sub")
    assert code == 1, out
    assert "is a file, not a folder" in out and "unreadable" not in out
    assert target.read_text() == "a file\n"


# -- 15: a symlinked spec is refused wherever it is named; a value that failed to parse is never echoed ------------

TOKEN = "ghp_S3cr3tT0kenThatMustNeverShowAtAll1234"


def _leaky_repo(tmp_path: Path) -> tuple[Path, Path]:
    repo = make_repo(tmp_path / "repo")
    secret = tmp_path / "token"
    secret.write_text(f"{TOKEN}\n")
    return repo, secret


@pytest.mark.parametrize("command", ["validate", "render", "release"])
def test_a_symlinked_spec_named_on_the_command_line_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    repo, secret = _leaky_repo(tmp_path)
    link = repo / "releases" / "leak.yaml"
    link.symlink_to(secret)
    before = _head(repo)
    argvs: dict[str, list[str | Path]] = {
        "validate": ["validate", link],
        "render": ["render", link, "--out", tmp_path / "out"],
        "release": ["release", link, "--repo", repo, "--now", "2024-05-01T00:00:00Z"],
    }
    argv = argvs[command]
    code, out = run(capsys, *argv)
    assert code == 1, out
    assert "symlink" in out and TOKEN[:8] not in out
    assert _head(repo) == before and not (tmp_path / "out").exists()


def test_a_symlinked_spec_found_by_name_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`advance NAME` looks for releases/NAME.yaml: a symlink there is refused, not read."""
    repo, secret = _leaky_repo(tmp_path)
    spec = repo / "releases" / "hello.yaml"
    assert run(capsys, "release", spec, "--repo", repo, "--env", "dev", "--now", "2024-05-01T00:00:00Z")[0] == 0
    outside = tmp_path / "hello.yaml"
    outside.write_text(spec.read_text().replace("v1", "v2") + f"# {TOKEN}\n")
    (repo / "apps/hello/overlays/dev/rollgen-state.yaml").unlink()  # so the lookup goes by releases/NAME.yaml
    git(repo, "commit", "-qam", "forget the state")
    spec.unlink()
    spec.symlink_to(outside)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "spec is a link")
    before = _head(repo)
    code, out = run(capsys, "release", "--repo", repo, spec, "--now", "2024-05-01T01:00:00Z")
    assert code == 1 and "symlink" in out and TOKEN[:8] not in out
    code, out = run(capsys, "advance", "hello", "--repo", repo, "--env", "dev", "--now", "2024-05-01T01:00:00Z")
    assert code == 1 and "symlink" in out and TOKEN[:8] not in out, out
    assert _head(repo) == before


def test_a_folder_scan_never_reads_a_symlink(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    repo, secret = _leaky_repo(tmp_path)
    secret.write_text(f"kind: Release\n{TOKEN}: [\n")
    (repo / "releases" / "leak.yaml").symlink_to(secret)
    code, out = run(capsys, "validate", repo / "releases")
    assert code == 0, out
    assert TOKEN[:8] not in out


def test_a_document_that_is_one_value_is_not_echoed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    spec = tmp_path / "token.yaml"
    spec.write_text(f"{TOKEN}\n")
    code, out = run(capsys, "validate", spec)
    assert code == 1 and "got a string of 41 characters" in out and TOKEN[:8] not in out


# -- 16: nothing a user supplies can start a line of the trailer block ------------------------------------------


def _trailers_of_head(repo: Path) -> dict[str, str]:
    from generator.gitops.messages import parse_trailers

    return parse_trailers(git(repo, "log", "-1", "--format=%B"))


@pytest.mark.parametrize("char", ["\n", "\r", "\x1b", "\u2028", "\x85"])
def test_a_spec_file_name_with_a_control_character_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, char: str
) -> None:
    repo = make_repo(tmp_path / "repo")
    forged = repo / "releases" / f"x{char}{char}Rollgen-Gate: forged{char}.yaml"
    forged.write_text((repo / "releases" / "hello.yaml").read_text())
    (repo / "releases" / "hello.yaml").unlink()
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "renamed")
    before = _head(repo)
    argvs: list[list[str | Path]] = [
        ["release", forged, "--repo", repo, "--now", "2024-05-01T00:00:00Z"], ["validate", forged],
        ["validate", repo / "releases"],
    ]
    for argv in argvs:
        code, out = run(capsys, *argv)
        assert code == 1, out
        assert "the file name holds a control character" in out
    assert _head(repo) == before


@pytest.mark.parametrize("line", [" Rollgen-Gate: forged", "\tRollgen-Gate: forged", "Rollgen-Gate: forged"])
def test_a_template_cannot_add_a_trailer_that_history_believes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, line: str
) -> None:
    import json

    from tests.hardening.test_security import CONFIG

    template = "{{ summary }}\n\n" + line + "\n Rollgen-Action: abort"
    repo = make_repo(tmp_path / "repo", CONFIG.replace("commit:\n", f"commit:\n  template: {json.dumps(template)}\n"))
    code, out = run(capsys, "release", repo / "releases" / "hello.yaml", "--repo", repo, "--env", "dev",
                    "--now", "2024-05-01T00:00:00Z")
    assert code == 0, out
    trailers = _trailers_of_head(repo)
    assert "Rollgen-Gate" not in trailers and trailers["Rollgen-Action"] == "deploy"
    code, out = run(capsys, "history", "hello", "--repo", repo, "--format", "json")
    assert code == 0 and "forged" not in out and '"abort"' not in out


# -- 17: the crash log never follows a symlink, never prints a raw traceback ------------------------------------


@pytest.fixture
def buggy_status(monkeypatch: pytest.MonkeyPatch) -> None:
    import generator.commands.status as status

    def boom(args: object) -> int:
        raise RuntimeError("a forced bug")

    monkeypatch.setattr(status, "run", boom)


@pytest.mark.usefixtures("buggy_status")
@pytest.mark.parametrize("planted", ["symlink", "folder", "fifo"])
def test_the_crash_log_never_follows_what_is_planted_in_tmp(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, planted: str
) -> None:
    import os
    import tempfile

    cache = tmp_path / "cache"
    cache.write_text("a file: ~/.cache is unusable\n")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    shared_tmp = tmp_path / "tmp"
    shared_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(shared_tmp))
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    fixed = shared_tmp / "rollgen-crash.log"
    if planted == "symlink":
        fixed.symlink_to(victim)
    elif planted == "folder":
        fixed.mkdir()
    else:
        os.mkfifo(fixed)
    code, out = run(capsys, "status", "--repo", tmp_path)
    assert code == 3 and "a forced bug" in out
    assert victim.read_text() == "precious\n"
    (log,) = [p for p in shared_tmp.iterdir() if p.name.startswith("rollgen-crash-")]
    assert f"the traceback is in {log}" in out
    assert not log.is_symlink() and "RuntimeError: a forced bug" in log.read_text()
    assert oct(log.stat().st_mode & 0o777) == "0o600"


@pytest.mark.usefixtures("buggy_status")
def test_a_symlinked_crash_log_in_the_cache_is_not_followed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import tempfile

    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    cache_log = Path(os.environ["XDG_CACHE_HOME"]) / "rollgen" / "rollgen-crash.log"
    cache_log.parent.mkdir(parents=True)
    cache_log.symlink_to(victim)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    code, out = run(capsys, "status", "--repo", tmp_path)
    assert code == 3 and victim.read_text() == "precious\n"
    assert "the traceback is in " + str(tmp_path / "rollgen-crash-") in out


@pytest.mark.usefixtures("buggy_status")
def test_no_usable_folder_means_no_log_and_no_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    blocked = tmp_path / "blocked"
    blocked.write_text("a file\n")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    monkeypatch.setattr(tempfile, "tempdir", str(blocked))
    code, out = run(capsys, "status", "--repo", tmp_path)  # run() asserts there is no traceback
    assert code == 3 and "no crash log could be written" in out


# -- 18: a commit-msg hook that strips the trailers is detected, and rollgen's commit undone ---------------------


@pytest.mark.parametrize(
    "hook", ["sed -i '/^Rollgen-/d' \"$1\"", "sed -i 's/^Rollgen-Weight: .*/Rollgen-Weight: 0/' \"$1\""]
)
def test_a_hook_that_strips_the_trailers_is_refused_and_undone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, hook: str
) -> None:
    import stat

    repo = make_repo(tmp_path / "repo")
    spec = repo / "releases" / "hello.yaml"
    assert run(capsys, "release", spec, "--repo", repo, "--env", "dev", "--now", "2024-05-01T00:00:00Z")[0] == 0
    _set_image(repo, "v2")
    script = repo / ".git" / "hooks" / "commit-msg"
    script.write_text(f"#!/bin/sh\n{hook}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    before = _head(repo)
    files = {p: p.read_bytes() for p in sorted((repo / "apps").rglob("*")) if p.is_file()}
    code, out = run(capsys, "release", spec, "--repo", repo, "--env", "dev", "--now", "2024-05-01T01:00:00Z")
    assert code == 1, out
    assert "a commit-msg hook changed or removed rollgen's trailers" in out and "undid its commit" in out
    assert _head(repo) == before
    assert git(repo, "status", "--porcelain") == ""
    assert files == {p: p.read_bytes() for p in sorted((repo / "apps").rglob("*")) if p.is_file()}
    script.unlink()
    assert run(capsys, "release", spec, "--repo", repo, "--env", "dev", "--now", "2024-05-01T01:00:00Z")[0] == 0
    assert _trailers_of_head(repo)["Rollgen-Action"] == "start"
