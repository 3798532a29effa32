"""Digests of what rollgen keeps for itself: its caches' keys and the crash journal's record of what a run wrote.

BLAKE2b from hashlib, imported when a digest is first made, not with this module: hashlib loads OpenSSL's
libcrypto (~3 ms), which `rollgen validate` never needs. Not for digests others must reproduce (Kustomize's name
suffixes are sha256: kustomize/config_generator.py).
"""

from __future__ import annotations

from typing import Protocol


class Digest(Protocol):
    """What rollgen uses of a hashlib object (hashlib names no public type for them)."""

    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...

    def hexdigest(self) -> str: ...


def fingerprint(data: bytes = b"") -> Digest:
    """A 256-bit BLAKE2b, to update() further and read with hexdigest()."""
    import hashlib

    return hashlib.blake2b(data, digest_size=32)
