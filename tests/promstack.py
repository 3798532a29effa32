"""A real Prometheus scraping a tiny ingress-nginx look-alike, for the gate tests.

The exporter serves what ingress-nginx's controller exports for the built-in metrics (names and labels as in
its internal/ingress/metric/collectors/socket.go): `nginx_ingress_controller_requests{namespace,ingress,service,
status,canary}` and the histogram `nginx_ingress_controller_request_duration_seconds`, for any number of
backends, each a stable or a canary backend of some Ingress with its own request rate, error ratio and
latency. Counters grow with wall time, so every scrape sees consistent rates; like the Prometheus Go client,
a status series appears only once a request with that status was counted (a healthy backend has no 5xx series).

Prometheus is the Debian package's /usr/bin/prometheus, started on a free loopback port with a temporary config
and data folder, scraping every SCRAPE seconds.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SCRAPE = 0.5  # seconds; a 2s rate() window holds four samples
REQUESTS = "nginx_ingress_controller_requests"
DURATION = "nginx_ingress_controller_request_duration_seconds"


@dataclass
class Backend:
    """One upstream of one Ingress: the stable one (canary "") or the canary one (canary = its upstream name)."""

    namespace: str
    ingress: str
    service: str
    canary: str
    rps: float
    error_ratio: float = 0.0
    latency: float = 0.05  # seconds per request, on average
    ok: float = 0.0
    errors: float = 0.0
    seconds: float = 0.0
    last: float = field(default_factory=time.monotonic)

    def tick(self, now: float) -> None:
        requests = self.rps * max(0.0, now - self.last)
        self.last = now
        self.ok += requests * (1 - self.error_ratio)
        self.errors += requests * self.error_ratio
        self.seconds += requests * self.latency

    def lines(self) -> list[str]:
        labels = f'namespace="{self.namespace}",ingress="{self.ingress}",service="{self.service}",canary="{self.canary}"'
        out = []
        for status, count in (("200", self.ok), ("500", self.errors)):
            if count > 0:
                out.append(f'{REQUESTS}{{{labels},status="{status}"}} {count:.6f}')
        total = self.ok + self.errors
        if total > 0:
            out.append(f'{DURATION}_bucket{{{labels},le="+Inf"}} {total:.6f}')
            out.append(f"{DURATION}_sum{{{labels}}} {self.seconds:.6f}")
            out.append(f"{DURATION}_count{{{labels}}} {total:.6f}")
        return out


ISTIO_REQUESTS = "istio_requests_total"
ISTIO_DURATION = "istio_request_duration_milliseconds"


@dataclass
class IstioBackend(Backend):
    """The requests to one Service as an Istio proxy reports them (`reporter` "destination": the Service's own
    sidecars; "source": the client side, e.g. an Istio gateway): `istio_requests_total{reporter,
    destination_service_namespace, destination_service_name, response_code}` and the histogram
    `istio_request_duration_milliseconds`. `service` is the destination Service; `ingress` and `canary` unused."""

    reporter: str = "destination"

    def lines(self) -> list[str]:
        labels = (f'reporter="{self.reporter}",destination_service_namespace="{self.namespace}",'
                  f'destination_service_name="{self.service}"')  # fmt: skip
        out = []
        for code, count in (("200", self.ok), ("503", self.errors)):
            if count > 0:
                out.append(f'{ISTIO_REQUESTS}{{{labels},response_code="{code}"}} {count:.6f}')
        total = self.ok + self.errors
        if total > 0:
            out.append(f'{ISTIO_DURATION}_bucket{{{labels},le="+Inf"}} {total:.6f}')
            out.append(f"{ISTIO_DURATION}_sum{{{labels}}} {self.seconds * 1000:.6f}")
            out.append(f"{ISTIO_DURATION}_count{{{labels}}} {total:.6f}")
        return out


def loopback_server(respond: Callable[[BaseHTTPRequestHandler], tuple[str, bytes]],
                    start: bool = True) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """A threaded HTTP server on 127.0.0.1 and a port the kernel picks, answering every GET and POST with 200 and
    `respond(request) -> (content type, body)`; its daemon thread is started unless `start` is False. The tests'
    stand-ins (an exporter, a scrape target, a Prometheus that records headers) differ only in `respond`."""

    class Handler(BaseHTTPRequestHandler):
        def answer(self) -> None:
            content_type, body = respond(self)
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = answer

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    if start:
        thread.start()
    return server, thread


class Exporter:
    """The /metrics endpoint, on 127.0.0.1 in a daemon thread."""

    def __init__(self) -> None:
        self.backends: list[Backend] = []
        self.lock = threading.Lock()
        self.server, self.thread = loopback_server(
            lambda _: ("text/plain; version=0.0.4", self.render().encode()), start=False)
        self.port = self.server.server_address[1]

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add(self, backend: Backend) -> Backend:
        with self.lock:
            self.backends.append(backend)
        return backend

    def release(self, namespace: str, ingress: str, canary: dict[str, float] | None, port: int = 5000) -> None:
        """Steady healthy traffic to the stable backend and, unless canary is None, a canary backend."""
        self.add(Backend(namespace, ingress, ingress, "", rps=20))
        if canary is not None:
            upstream = f"{namespace}-{ingress}-canary-{port}"  # ingress-nginx names upstreams ns-service-port
            self.add(Backend(namespace, ingress, f"{ingress}-canary", upstream, **canary))

    def render(self) -> str:
        now = time.monotonic()
        with self.lock:
            for backend in self.backends:
                backend.tick(now)
            lines = [line for backend in self.backends for line in backend.lines()]
        requests = [line for line in lines if line.startswith(REQUESTS + "{")]
        durations = [line for line in lines if line.startswith(DURATION)]
        istio = [line for line in lines if line.startswith(ISTIO_REQUESTS + "{")]
        istio_durations = [line for line in lines if line.startswith(ISTIO_DURATION)]
        return "\n".join([
            f"# TYPE {REQUESTS} counter", *requests, f"# TYPE {DURATION} histogram", *durations,
            f"# TYPE {ISTIO_REQUESTS} counter", *istio, f"# TYPE {ISTIO_DURATION} histogram", *istio_durations, "",
        ])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class WebAccess:
    """Prometheus' --web.config.file: TLS with a self-signed certificate for 127.0.0.1, basic auth for one user."""

    cert: Path
    key: Path
    user: str
    password: str

    def write(self, path: Path) -> None:
        import bcrypt

        hashed = bcrypt.hashpw(self.password.encode(), bcrypt.gensalt(rounds=4)).decode()
        path.write_text(json.dumps({
            "tls_server_config": {"cert_file": str(self.cert), "key_file": str(self.key)},
            "basic_auth_users": {self.user: hashed},
        }))

    def context(self) -> Any:
        import ssl

        return ssl.create_default_context(cafile=str(self.cert))

    def authorization(self) -> str:
        import base64

        return "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()


def self_signed(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A certificate for `host` (an IP SAN) and its key, made by the openssl CLI."""
    cert, key = folder / "prometheus.crt", folder / "prometheus.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={host}",
         "-addext", f"subjectAltName=IP:{host}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


@dataclass
class Prometheus:
    binary: str
    workdir: Path
    target: str  # host:port to scrape
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    web: WebAccess | None = None  # TLS and basic auth on its API

    @property
    def url(self) -> str:
        return f"{'https' if self.web else 'http'}://127.0.0.1:{self.port}"

    def _open(self, url: str, timeout: float) -> Any:
        if self.web is None:
            return urllib.request.urlopen(url, timeout=timeout)
        request = urllib.request.Request(url, headers={"Authorization": self.web.authorization()})
        return urllib.request.urlopen(request, timeout=timeout, context=self.web.context())

    def start(self, attempts: int = 3) -> None:
        config = self.workdir / "prometheus.yml"
        config.write_text(
            "global:\n"
            f"  scrape_interval: {int(SCRAPE * 1000)}ms\n"
            f"  scrape_timeout: {int(SCRAPE * 1000)}ms\n"
            "scrape_configs:\n"
            "  - job_name: ingress-nginx\n"
            f"    static_configs: [{{targets: ['{self.target}']}}]\n"
        )
        web = []
        if self.web is not None:
            self.web.write(self.workdir / "web.yml")
            web = [f"--web.config.file={self.workdir / 'web.yml'}"]
        for _ in range(attempts):  # a free port can be taken between our check and Prometheus binding it
            self.port = free_port()
            log = (self.workdir / "prometheus.log").open("wb")
            self.process = subprocess.Popen(
                [
                    self.binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn",
                    *web,
                ],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir,
            )
            if self._ready(timeout=20):
                return
            self.stop()
        raise RuntimeError(f"Prometheus did not start: {(self.workdir / 'prometheus.log').read_text()[-2000:]}")

    def _ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                with self._open(f"{self.url}/-/ready", timeout=1) as response:
                    if response.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def query(self, promql: str) -> list[Any]:
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with self._open(url, timeout=5) as response:
            result: list[Any] = json.load(response)["data"]["result"]
        return result

    def wait_for_samples(self, seconds: float, timeout: float = 30) -> None:
        """Until the exporter has been scraped for `seconds`: the windows the tests query lie in that time."""
        deadline = time.monotonic() + timeout
        first = None
        while time.monotonic() < deadline:
            if first is None and self.query('up{job="ingress-nginx"} == 1'):
                first = time.monotonic()
            if first is not None and time.monotonic() - first >= seconds:
                return
            time.sleep(0.1)
        raise RuntimeError(f"Prometheus at {self.url} scraped nothing from {self.target} within {timeout}s")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


def no_proxy_for_loopback() -> dict[str, str]:
    """Environment changes that keep urllib from sending loopback requests through a configured proxy."""
    hosts = "127.0.0.1,localhost"
    current = os.environ.get("no_proxy") or os.environ.get("NO_PROXY") or ""
    value = f"{current},{hosts}" if current else hosts
    return {"no_proxy": value, "NO_PROXY": value}


@contextmanager
def scraping(binary: str, exporter: Exporter, workdir: Path, web: WebAccess | None = None) -> Iterator[Prometheus]:
    """A real Prometheus scraping the exporter, with 5 s of samples in it; both stopped on the way out."""
    exporter.start()
    server = Prometheus(binary, workdir, f"127.0.0.1:{exporter.port}", web=web)
    try:
        server.start()
        server.wait_for_samples(5)
        yield server
    finally:
        server.stop()
        exporter.stop()
