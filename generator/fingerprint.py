"""Digests of what rollgen keeps for itself: its caches' keys and the crash journal's record of what a run wrote.

BLAKE2b from CPython's own `_blake2` module (where `hashlib.blake2b` comes from too): importing hashlib loads
OpenSSL's libcrypto, ~3 ms of a ~120 ms `rollgen advance` that uses nothing else of it; `_blake2` is ~0.5 ms.
A Python built without it gets hashlib's. Not for digests others must reproduce (Kustomize's name suffixes are
sha256: render/build_config.py).
"""

from __future__ import annotations

try:
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python built without its own BLAKE2
    from hashlib import blake2b


def fingerprint(data: bytes = b"") -> blake2b:
    """A 256-bit BLAKE2b, to update() further and read with hexdigest()."""
    return blake2b(data, digest_size=32)
