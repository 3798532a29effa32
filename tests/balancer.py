"""A model of ingress-nginx's `balancer.lua` (`route_to_alternative_balancer`), as REFERENCE.md describes it.

Used to hold rendered annotations to what ingress-nginx does with them, request by request. The order:
1. a client with an affinity cookie for the stable backend stays on stable (no canary rule is read);
2. a client with an affinity cookie for the canary backend stays on the canary;
3. `canary-by-header` (with `canary-by-header-value`, else the values `always`/`never`);
4. `canary-by-cookie` (values `always`/`never`);
5. `canary-weight` out of `canary-weight-total` (default 100).
A canary backend without ready endpoints is dropped: everything goes to stable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

NGINX = "nginx.ingress.kubernetes.io/"
DEFAULT_SESSION_COOKIE = "INGRESSCOOKIE"

Backend = Literal["stable", "canary"]


@dataclass(frozen=True)
class Request:
    headers: Mapping[str, str] = field(default_factory=dict)
    cookies: Mapping[str, str] = field(default_factory=dict)
    roll: int = 100  # the balancer's random draw in 1..total: at or below the weight goes to the canary
    pinned: Backend | None = None  # which backend the client's affinity cookie names, if it carries one


@dataclass(frozen=True)
class Routing:
    """The annotations ingress-nginx reads for one host and path (keys without the prefix)."""

    main: Mapping[str, str]
    canary: Mapping[str, str]
    canary_ready: bool = True

    @property
    def sticky(self) -> bool:
        return self.main.get("affinity") == "cookie"

    @property
    def session_cookie(self) -> str:
        return self.main.get("session-cookie-name", DEFAULT_SESSION_COOKIE)


def strip(annotations: Mapping[str, object]) -> dict[str, str]:
    return {k[len(NGINX):]: str(v) for k, v in annotations.items() if k.startswith(NGINX)}


def route(routing: Routing, request: Request) -> Backend:
    if not routing.canary_ready:
        return "stable"
    pinned = request.pinned if routing.sticky and routing.session_cookie in request.cookies else None
    if pinned == "stable":
        return "stable"
    if pinned == "canary" and routing.canary.get("affinity-canary-behavior", "sticky") == "sticky":
        return "canary"
    by_header = _by_header(routing.canary, request)
    if by_header is not None:
        return by_header
    by_cookie = _by_cookie(routing.canary, request)
    if by_cookie is not None:
        return by_cookie
    weight = int(routing.canary.get("canary-weight", "0"))
    return "canary" if request.roll <= weight else "stable"


def _by_header(canary: Mapping[str, str], request: Request) -> Backend | None:
    header = canary.get("canary-by-header")
    if not header:
        return None
    value = {k.lower(): v for k, v in request.headers.items()}.get(header.lower())
    if value is None:
        return None
    wanted = canary.get("canary-by-header-value")
    if wanted:
        return "canary" if value == wanted else None
    return {"always": "canary", "never": "stable"}.get(value)  # type: ignore[return-value]


def _by_cookie(canary: Mapping[str, str], request: Request) -> Backend | None:
    cookie = canary.get("canary-by-cookie")
    if not cookie or cookie not in request.cookies:
        return None
    return {"always": "canary", "never": "stable"}.get(request.cookies[cookie])  # type: ignore[return-value]


def promised_requests(routing: Routing) -> list[tuple[str, Request]]:
    """(what the spec promises, a request that tests it) for the header and cookie routes, sent by a returning
    client that an earlier request pinned to stable: the spec says these reach the canary whoever sends them."""
    out: list[tuple[str, Request]] = []
    session = {routing.session_cookie: "stable-upstream"}
    header = routing.canary.get("canary-by-header")
    if header:
        value = routing.canary.get("canary-by-header-value") or "always"
        out.append((f"{header}: {value}", Request(headers={header: value}, cookies=session, pinned="stable")))
    cookie = routing.canary.get("canary-by-cookie")
    if cookie:
        out.append((f"cookie {cookie}=always", Request(cookies={**session, cookie: "always"}, pinned="stable")))
    return out
