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
"""

from __future__ import annotations

import base64
import http.client
import json
import math
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from generator.errors import RollgenError

TIMEOUT = 10.0  # seconds for one HTTP request; Prometheus is also told to give up on the query by then
ATTEMPTS = 3
BACKOFF = 0.5  # seconds before the second attempt; doubles each time, jittered by 0.5x..1.5x
MAX_DELAY = 5.0
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
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text


Opener = Callable[[urllib.request.Request, float], Any]


def _urlopen(request: urllib.request.Request, timeout: float) -> Any:
    return urllib.request.urlopen(request, timeout=timeout)


@dataclass
class Client:
    url: str = field(repr=False)  # may carry credentials
    timeout: float = TIMEOUT
    attempts: int = ATTEMPTS
    backoff: float = BACKOFF
    sleep: Callable[[float], None] = time.sleep
    opener: Opener = _urlopen

    def __post_init__(self) -> None:
        self.server = Server.parse(self.url)

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
        data = urllib.parse.urlencode(form).encode("ascii")
        request = urllib.request.Request(self.server.base + path, data=data, method="POST")
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        request.add_header("Accept", "application/json")
        if self.server.authorization:
            request.add_header("Authorization", self.server.authorization)
        try:
            with self.opener(request, self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            return self._http_error(exc)
        except urllib.error.URLError as exc:
            raise _Retry(self.server.redact(str(exc.reason))) from None
        except (OSError, http.client.HTTPException) as exc:
            raise _Retry(self.server.redact(str(exc) or type(exc).__name__)) from None
        return self._json(body)

    def _http_error(self, exc: urllib.error.HTTPError) -> Any:
        detail = self.server.redact(_api_error(exc.read()) or str(exc.reason))
        if exc.code in RETRY_STATUS:
            raise _Retry(f"HTTP {exc.code}: {detail}")
        if exc.code in (400, 422):
            raise QueryError(f"Prometheus at {self.server.base} refused the query: {detail}")
        raise PrometheusError(
            f"Prometheus at {self.server.base} answered HTTP {exc.code} ({detail}); "
            "is analysis.prometheus the base URL of a Prometheus server, and may rollgen read it?"
        )

    def _json(self, body: bytes) -> Any:
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict) or "status" not in data:
            raise PrometheusError(
                f"{self.server.base} answered, but not as the Prometheus API does; "
                "is analysis.prometheus the base URL of a Prometheus server?"
            )
        if data["status"] != "success":
            raise QueryError(f"Prometheus at {self.server.base} refused the query: {data.get('error', data)}")
        return data.get("data")


class _Retry(Exception):
    """One attempt failed in a way another attempt may not."""


def _api_error(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    if isinstance(data, dict) and data.get("error"):
        return f"{data.get('errorType', 'error')}: {data['error']}"
    return ""


def single_value(data: Any, promql: str) -> float | None:
    """The number in an instant query's `data`; None for an empty vector or NaN (0/0: nobody was measured)."""
    if not isinstance(data, dict):
        raise QueryError(f"no data in the answer to {promql}")
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar":
        return _number(result)
    if kind != "vector" or not isinstance(result, list):
        raise QueryError(f"{promql} gives a {kind}, not one number: a gate needs an instant vector or a scalar")
    if not result:
        return None
    if len(result) > 1:
        raise QueryError(
            f"{promql} gives {len(result)} series, not one number: aggregate them (sum, avg or max by nothing)"
        )
    return _number(result[0].get("value"))


def _number(pair: Any) -> float | None:
    try:
        value = float(pair[1])
    except (TypeError, ValueError, IndexError) as exc:
        raise QueryError(f"not a sample value: {pair!r}") from exc
    return None if math.isnan(value) else value
