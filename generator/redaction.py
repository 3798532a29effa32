"""Credentials in URLs left out of what rollgen prints, in time linear in the text's length.

A message builder runs on whatever a spec or git handed it, up to the 1 MiB a spec may hold, inside the
pre-commit hook: a pattern that backtracks quadratically there blocks every commit. The scheme may only start
where no scheme character precedes it, so each run of scheme characters is tried once, not from each of its
positions; the user part cannot contain `/`, so the part after one `://` never overlaps the next.
"""

from __future__ import annotations

import re

_SCHEME = r"(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]*://)"
_TEXT_USERINFO = re.compile(_SCHEME + r"[^/@\s]+@")
_BYTES_USERINFO = re.compile((_SCHEME + r"[^/@\s'\"]+@").encode())


def userinfo(text: str) -> str:
    """`scheme://user:token@host` -> `scheme://***@host`."""
    return _TEXT_USERINFO.sub(r"\1***@", text) if "@" in text else text


def userinfo_bytes(text: bytes) -> bytes:
    """The same for what git prints (quotes end the user part there: git quotes URLs in its messages)."""
    return _BYTES_USERINFO.sub(rb"\1***@", text) if b"@" in text else text


# `ghp_xxx@github.com:org/repo` (a token as the scp-like login) and `?token=xxx` / `&private_token=xxx`. Linear
# too: a token match starts only after a character that cannot continue it, and its run stops at one.
_SCP_TOKEN = re.compile(rb"(?<![A-Za-z0-9_.:/-])(?:gh[pousr]_|github_pat_|glpat-)[A-Za-z0-9_-]+@")
_QUERY_TOKEN = re.compile(rb"([?&;][A-Za-z_]*(?:token|password|secret|key)=)[^&;#\s'\"]+", re.IGNORECASE)


def credentials_bytes(text: bytes) -> bytes:
    """userinfo_bytes, and a token as an scp-like login or in a query -> ***."""
    if b"@" in text:
        text = _SCP_TOKEN.sub(b"***@", userinfo_bytes(text))
    return _QUERY_TOKEN.sub(rb"\1***", text) if b"=" in text else text
