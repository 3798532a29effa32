"""Credentials in URLs left out of what rollgen prints, in time linear in the text's length.

A message builder runs on whatever a spec or git handed it, up to the 1 MiB a spec may hold, inside the
pre-commit hook: a pattern that backtracks quadratically there blocks every commit. The scheme may only start
where no scheme character precedes it, so each run of scheme characters is tried once, not from each of its
positions; the user part cannot contain `/`, so the part after one `://` never overlaps the next.
"""

from __future__ import annotations

import re

from generator.errors import RollgenError

# The patterns are compiled on first use (re caches them): most text, and nearly all git prints, has no `@` or
# `=` and never needs one, and compiling all six is ~1 ms of every command's start.
_SCHEME = r"(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]*://)"
_TEXT_USERINFO = _SCHEME + r"[^/@\s]+@"
_BYTES_USERINFO = (_SCHEME + r"[^/@\s'\"]+@").encode()


def userinfo(text: str) -> str:
    """`scheme://user:token@host` -> `scheme://***@host`."""
    return re.sub(_TEXT_USERINFO, r"\1***@", text) if "@" in text else text


def userinfo_bytes(text: bytes) -> bytes:
    """The same for what git prints (quotes end the user part there: git quotes URLs in its messages)."""
    return re.sub(_BYTES_USERINFO, rb"\1***@", text) if b"@" in text else text


# The one rule for everything rollgen prints that it did not write itself (what git, a pull-request command or a
# Prometheus server said; a value a spec or rollgen.yaml holds): `scheme://user:password@` -> `scheme://***@`, a
# forge's access token anywhere (`ghp_...`, `github_pat_...`, `glpat-...`) -> `***`, and the value of any
# `name=value` whose name says it holds a credential (`token=`, `?private_token=`, `password=`, `secret=`, `apikey=`)
# -> `name=***`, and what follows `Bearer`, `Basic` or `token` (an Authorization header's value) -> `***`. Linear too: a name or a token match starts only where no character that could continue it
# precedes, and its run stops at one (a run of 1 MB without `=` is walked once, not from each of its positions).
_TOKEN = r"(?<![A-Za-z0-9_-])(?:gh[pousr]_|github_pat_|glpat-)[A-Za-z0-9_-]+"
_ASSIGNMENT = r"(?<![A-Za-z0-9_.-])([A-Za-z0-9_.-]+)(=)([^&;#\s'\"]*)"
_SECRET_NAME = r"(?i)token|passw|secret|key|auth|credential"
_SCHEME_WORD = r"(?i)(?<![A-Za-z0-9])(bearer|basic|token)(\s+)[A-Za-z0-9._~+/=-]{8,}"  # Authorization: Bearer xxx


def redact(text: str) -> str:
    """`text` without credentials, by the one rule above."""
    if "@" in text:
        text = userinfo(text)
    if "_" in text or "-" in text:
        text = re.sub(_TOKEN, "***", text)
    if "=" in text:
        text = re.sub(_ASSIGNMENT, _hide_value, text)
    if " " in text or "\t" in text:
        text = re.sub(_SCHEME_WORD, r"\1\2***", text)
    return text


def _hide_value(match: re.Match[str]) -> str:
    name, equals, value = match.groups()
    return f"{name}{equals}***" if value and re.search(_SECRET_NAME, name) else match[0]


def credentials_bytes(text: bytes) -> bytes:
    """redact() for what a program printed (quotes end a URL's user part there: git quotes URLs in its
    messages)."""
    if b"@" in text:
        text = userinfo_bytes(text)
    return redact(text.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")


# -- a clone URL fit to be written into the repository (rollgen.yaml's argocd.repoURL and flux.url, init's remote) --


def safe_url(url: str, where: str) -> str:
    """The clone URL as it may be written into the repository: without a password (an error: the message says
    where credentials belong, and never repeats the URL) and, for http(s), without a user name either (a user
    name there is often a token). The ssh login name (`ssh://git@host/...`, `git@host:org/repo`) is kept: it
    is not a secret, and ssh needs it."""
    from urllib.parse import urlsplit, urlunsplit

    if "://" not in url:  # scp-like [user@]host:path
        user, at, _ = url.partition("@")
        if at and (":" in user or looks_like_token(user)):
            raise RollgenError(_password_message(where))
        return url
    parts = urlsplit(url)
    # ?token=..., ?private_token=...: a credential all the same (an empty query holds no `=`: nothing to compile)
    if parts.query and re.search(_CREDENTIAL_QUERY, parts.query):
        raise RollgenError(_password_message(where))
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return url
    if ":" in userinfo:
        raise RollgenError(_password_message(where))
    if parts.scheme.lower() in ("ssh", "git+ssh"):
        if looks_like_token(userinfo):
            raise RollgenError(_password_message(where))
        return url
    return urlunsplit(parts._replace(netloc=hostport))


# A query parameter that carries a credential (GitLab's private_token, a token=, access_token=, password=...).
_CREDENTIAL_QUERY = r"(?i)(?:^|[&;])[^=&;]*(?:token|password|passwd|secret|key|auth)[^=&;]*="
# What a forge's access token looks like where an ssh login name (`git`) belongs: GitHub's and GitLab's
# prefixes, or a long run of letters and digits no one picks as a login name.
_TOKEN_USER = r"^(?:gh[pousr]_|github_pat_|glpat-|x-access-token|oauth2)|^(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9_\-]{20,}$"


def looks_like_token(user: str) -> bool:
    """Whether the user part of an ssh or scp-like URL is an access token rather than a login name."""
    return bool(re.search(_TOKEN_USER, user))


def _password_message(where: str) -> str:
    secret = (
        "give Argo CD the credentials in a repository Secret (argocd repo add, or a Secret labelled "
        "argocd.argoproj.io/secret-type: repository)"
        if where.startswith("argocd")
        else "give Flux the credentials in a Secret and name it in flux.secretRef"
    )
    return (
        f"{where} holds a password: rollgen would write it into every wiring file it generates. Remove the "
        f"credentials from the URL and {secret}"
    )


# -- a notification endpoint, as messages may name it (generator/notify) ---------------------------------------


def endpoint(url: str) -> str:
    """`https://hooks.slack.com/services/T0/B0/secret` -> `https://hooks.slack.com/…`: the scheme and host only.
    A chat webhook's path is its password, and a query or user part may hold a token: none of it is printed."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "…"
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rpartition("@")[2]
    return f"{scheme}://{host}/…"


def without(text: str, secrets: tuple[str, ...]) -> str:
    """`text` with each secret (a URL read from a file, say) replaced by its endpoint(): an exception's message
    may quote what it was given."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, endpoint(secret))
    return userinfo(text)
