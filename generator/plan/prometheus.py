"""A small client of the Prometheus HTTP API for the gates: instant queries, timeouts, bounded retries.

Standard library only (urllib), and imported only by `rollgen advance` when a release has analysis, so the
`rollgen validate` hook never pays for it.

Failures are of two kinds, both holding the canary (the gates never abort on their own trouble):
- PrometheusError: the server could not answer (unreachable, timing out, 5xx, not a Prometheus API). Retried
  with jittered exponential backoff, a bounded number of times, before giving up.
- QueryError: the server answered and refused the query (bad PromQL, an execution error) or returned
  something that is not one number. Not retried: asking again gets the same answer.

Messages name the server as `scheme://host[:port][/path]`: credentials in the URL (`user:password@`) are sent as
HTTP basic auth and never printed; a query string is not kept at all.

Access (rollgen.yaml `prometheus:`, spec.config.PrometheusAccess): a bearer token or a basic-auth pair read from
files when the first query is sent (a mounted Secret, a CI secret written to a file: never git), a CA bundle for
https, extra headers. The secrets read are redacted from every message like URL userinfo. The files are read
through symlinks on purpose: a Kubernetes Secret volume is a tree of symlinks (`token -> ..data/token`).
"""

from __future__ import annotations

import base64
import http.client
import json
import math
import os
import random
import re
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from generator.errors import RollgenError

if TYPE_CHECKING:
    from generator.spec.config import PrometheusAccess

TIMEOUT = 10.0  # seconds for one HTTP request, answer included; Prometheus is told to give up on the query by then
ATTEMPTS = 3
BACKOFF = 0.5  # seconds before the second attempt; doubles each time, jittered by 0.5x..1.5x
MAX_DELAY = 5.0
MAX_BODY = 16 * 2**20  # an instant query for one number is a few hundred bytes
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})  # overloaded, restarting, or the query timed out


class PrometheusError(RollgenError):
    """The server could not answer; its URL in the message carries no credentials."""


class QueryError(RollgenError):
    """The server answered, but the query is wrong or does not give one number."""


@dataclass(frozen=True)
class Server:
    base: str  # scheme://host[:port][/path] without userinfo, query or fragment: where requests go
    authorization: str | None = field(default=None, repr=False)  # "Basic ...", from userinfo in the URL
    secrets: tuple[str, ...] = field(default=(), repr=False)  # strings never to show (the userinfo)

    @classmethod
    def parse(cls, url: str) -> Server:
        parts = urllib.parse.urlsplit(url.strip())
        userinfo, _, hostport = parts.netloc.rpartition("@")
        base = f"{parts.scheme}://{hostport}{parts.path.rstrip('/')}"
        if not userinfo:
            return cls(base)
        user, _, password = userinfo.partition(":")
        pair = f"{urllib.parse.unquote(user)}:{urllib.parse.unquote(password)}"
        token = base64.b64encode(pair.encode("utf-8")).decode("ascii")
        secrets = tuple(s for s in (userinfo, user, password, urllib.parse.unquote(password)) if len(s) > 2)
        return cls(base, f"Basic {token}", secrets)

    def redact(self, text: str) -> str:
        from generator.redaction import redact

        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return redact(text)


Opener = Callable[[urllib.request.Request, float], Any]


def _urlopen(request: urllib.request.Request, timeout: float) -> Any:
    return urllib.request.urlopen(request, timeout=timeout)


MAX_SECRET = 64 * 1024  # a token or a password; a bigger file is not one


@dataclass(frozen=True)
class Credentials:
    """What a PrometheusAccess amounts to once its files are read."""

    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)
    context: ssl.SSLContext | None = None  # https with caFile; None: the system's trust store


def read_credentials(access: PrometheusAccess | None) -> Credentials:
    """The access settings with their files read now; PrometheusError names a file that cannot be read (never
    its content)."""
    if access is None:
        return Credentials()
    headers = list(access.headers)
    secrets: list[str] = []
    if access.bearer_token_file:
        token = _secret(access.bearer_token_file, "bearerTokenFile")
        headers.append(("Authorization", f"Bearer {token}"))
        secrets.append(token)
    if access.username_file and access.password_file:
        user = _secret(access.username_file, "basicAuth.usernameFile")
        password = _secret(access.password_file, "basicAuth.passwordFile")
        pair = base64.b64encode(f"{user}:{password}".encode("utf-8")).decode("ascii")
        headers.append(("Authorization", f"Basic {pair}"))
        secrets += [password, pair, user]
    context = _context(access.ca_file) if access.ca_file else None
    return Credentials(tuple(headers), tuple(s for s in secrets if len(s) > 2), context)


def _secret(path: str, key: str) -> str:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_SECRET + 1)
    except OSError as exc:
        raise PrometheusError(
            f"cannot read rollgen.yaml prometheus.{key} {path}: {exc.strerror or type(exc).__name__}; "
            "mount the secret there or fix the path"
        ) from None
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        text = ""
    if not text or len(data) > MAX_SECRET or any(ord(c) < 32 for c in text):
        raise PrometheusError(
            f"rollgen.yaml prometheus.{key} {path} does not hold one line of text; write the secret alone in it"
        )
    return text


def _context(ca_file: str) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not PEM certificates"
        raise PrometheusError(f"cannot read rollgen.yaml prometheus.caFile {ca_file}: {why}") from None


@dataclass
class Client:
    url: str = field(repr=False)  # may carry credentials
    timeout: float = field(default_factory=lambda: configured_timeout())
    attempts: int = ATTEMPTS
    backoff: float = BACKOFF
    sleep: Callable[[float], None] = time.sleep
    opener: Opener | None = None  # None: urllib, with the CA bundle of `access`
    access: PrometheusAccess | None = field(default=None, repr=False)
    headers: tuple[tuple[str, str], ...] = ()  # the release's analysis.headers; rollgen.yaml's are sent after

    def __post_init__(self) -> None:
        self.server = Server.parse(self.url)
        self._credentials: Credentials | None = None

    def credentials(self) -> Credentials:
        """The access files, read on the first query (PrometheusError when one cannot be read)."""
        if self._credentials is None:
            self._credentials = read_credentials(self.access)
            secrets = self.server.secrets + self._credentials.secrets
            self.server = Server(self.server.base, self.server.authorization, secrets)
        return self._credentials

    def query(self, promql: str, at: datetime) -> float | None:
        """The one number an instant query gives at `at`; None when it has no data (no series, or NaN)."""
        form = {"query": promql, "time": f"{at.timestamp():.3f}", "timeout": f"{self.timeout:g}"}  # seconds
        return single_value(self._post("/api/v1/query", form), promql)

    def _post(self, path: str, form: dict[str, str]) -> Any:
        last = ""
        for attempt in range(self.attempts):
            if attempt:
                self.sleep(min(MAX_DELAY, self.backoff * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5))
            try:
                return self._once(path, form)
            except _Retry as exc:
                last = str(exc)
        tries = f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}"
        raise PrometheusError(f"Prometheus at {self.server.base} did not answer ({tries}): {last}")

    def _once(self, path: str, form: dict[str, str]) -> Any:
        credentials = self.credentials()
        data = urllib.parse.urlencode(form).encode("ascii")
        request = urllib.request.Request(self.server.base + path, data=data, method="POST")
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        request.add_header("Accept", "application/json")
        if self.server.authorization:
            request.add_header("Authorization", self.server.authorization)
        for name, value in self.headers:
            request.add_header(name, value)
        for name, value in credentials.headers:  # after the URL's: rollgen.yaml's credentials win
            request.add_header(name, value)
        opener = self.opener or _opener(credentials.context)
        try:
            body = _within(self.timeout, lambda: _exchange(opener, request, self.timeout))
        except _HTTPAnswer as exc:
            return self._http_error(exc.error, exc.body)
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ssl.SSLCertVerificationError):  # asking again gets the same certificate
                raise PrometheusError(
                    f"Prometheus at {self.server.base}: its certificate is not trusted "
                    f"({self.server.redact(exc.reason.verify_message or str(exc.reason))}); "
                    "name its CA bundle in rollgen.yaml prometheus.caFile"
                ) from None
            raise _Retry(self.server.redact(str(exc.reason))) from None
        except (OSError, http.client.HTTPException) as exc:
            raise _Retry(self.server.redact(str(exc) or type(exc).__name__)) from None
        return self._json(body)

    def _http_error(self, exc: urllib.error.HTTPError, body: bytes) -> Any:
        detail = self.server.redact(_api_error(body) or str(exc.reason))
        if exc.code in RETRY_STATUS:
            raise _Retry(f"HTTP {exc.code}: {detail}")
        if exc.code in (400, 422):
            raise QueryError(f"Prometheus at {self.server.base} refused the query: {detail}")
        if exc.code in (401, 403):
            raise PrometheusError(
                f"Prometheus at {self.server.base} answered HTTP {exc.code} ({detail}); "
                "check the credentials rollgen.yaml's prometheus: names (bearerTokenFile or basicAuth)"
            )
        raise PrometheusError(
            f"Prometheus at {self.server.base} answered HTTP {exc.code} ({detail}); "
            "is analysis.prometheus the base URL of a Prometheus server, and may rollgen read it?"
        )

    def _json(self, body: bytes) -> Any:
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than the parser goes
            data = None
        if not isinstance(data, dict) or "status" not in data:
            raise PrometheusError(
                f"{self.server.base} answered, but not as the Prometheus API does; "
                "is analysis.prometheus the base URL of a Prometheus server?"
            )
        if data["status"] != "success":
            detail = self.server.redact(excerpt(data.get("error", data)))
            raise QueryError(f"Prometheus at {self.server.base} refused the query: {detail}")
        return data.get("data")


def _opener(context: ssl.SSLContext | None) -> Opener:
    if context is None:
        return _urlopen
    return lambda request, timeout: urllib.request.urlopen(request, timeout=timeout, context=context)


def configured_timeout() -> float:
    """TIMEOUT, or ROLLGEN_PROMETHEUS_TIMEOUT (seconds) when it is a positive number: a job that must finish
    sooner, or a test of a server that never answers."""
    text = os.environ.get("ROLLGEN_PROMETHEUS_TIMEOUT", "")
    try:
        value = float(text)
    except ValueError:
        return TIMEOUT
    return value if 0 < value < math.inf else TIMEOUT


class _Retry(Exception):
    """One attempt failed in a way another attempt may not."""


class _HTTPAnswer(Exception):
    """An HTTP error status, with its body already read (within the deadline)."""

    def __init__(self, error: urllib.error.HTTPError, body: bytes) -> None:
        super().__init__(str(error))
        self.error = error
        self.body = body


def _exchange(opener: Opener, request: urllib.request.Request, timeout: float) -> bytes:
    """One request and its whole answer, at most MAX_BODY bytes of it."""
    try:
        with opener(request, timeout) as response:
            body: bytes = response.read(MAX_BODY + 1)
    except urllib.error.HTTPError as exc:
        raise _HTTPAnswer(exc, exc.read(MAX_BODY)) from None
    if len(body) > MAX_BODY:
        raise _Retry(f"an answer over {MAX_BODY // 2**20} MiB")
    return body


def _within(seconds: float, work: Callable[[], bytes]) -> bytes:
    """work()'s result if it finishes within `seconds` in all, else _Retry. urllib's timeout bounds each read
    only, so a server that sends a byte every few seconds would hold a scheduled `advance` (and its lock)
    forever. The worker is a daemon thread: one that never returns is abandoned, and its socket closes when
    the command exits, moments later."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["body"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed over to the calling thread as is
            box["error"] = exc

    thread = threading.Thread(target=run, name="prometheus-query", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise _Retry(f"no complete answer within {seconds:g}s")
    if "error" in box:
        raise box["error"]
    body: bytes = box["body"]
    return body


def _api_error(body: bytes) -> str:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return ""
    if isinstance(data, dict) and data.get("error"):
        return f"{excerpt(data.get('errorType', 'error'))}: {excerpt(data['error'])}"
    return ""


def excerpt(value: Any, limit: int = 80) -> str:
    """A short rendering of part of an answer, for a message: never the whole of a huge or deep document."""
    try:
        text = value if isinstance(value, str) else json.dumps(value)
    except (ValueError, TypeError, RecursionError):
        text = type(value).__name__
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def single_value(data: Any, promql: str) -> float | None:
    """The number in an instant query's `data`; None for an empty vector or NaN (0/0: nobody was measured).
    Anything else than the documented shapes is a QueryError (the gate cannot judge), never a guess."""
    if not isinstance(data, dict):
        raise QueryError(f"no data in the answer to {promql}")
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar":
        return _number(result)
    if kind != "vector" or not isinstance(result, list):
        raise QueryError(
            f"{promql} gives a {excerpt(kind)}, not one number: a gate needs an instant vector or a scalar"
        )
    if not result:
        return None
    if len(result) > 1:
        raise QueryError(
            f"{promql} gives {len(result)} series, not one number: aggregate them (sum, avg or max by nothing)"
        )
    sample = result[0]
    if not isinstance(sample, dict) or "value" not in sample:
        raise QueryError(f"not a sample in the answer to {promql}: {excerpt(sample)}")
    return _number(sample["value"])


# What Prometheus writes for a sample value (Go's FormatFloat, and its spellings of the infinities and NaN).
_SAMPLE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?Inf|NaN")


def _number(pair: Any) -> float | None:
    """[<unix time>, "<value>"], exactly; the value as Prometheus spells numbers, not as Python's float()
    would read anything (`"x0"[1]` is "0", `float("1_0")` is 10)."""
    if (
        not isinstance(pair, list)
        or len(pair) != 2
        or isinstance(pair[0], bool)
        or not isinstance(pair[0], (int, float))
        or not isinstance(pair[1], str)
        or not _SAMPLE.fullmatch(pair[1])
    ):
        raise QueryError(f'not a sample value [time, "number"]: {excerpt(pair)}')
    value = float(pair[1])
    return None if math.isnan(value) else value
