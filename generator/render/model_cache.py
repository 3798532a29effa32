"""The cache of loaded release models, beside the render cache (render/cache.py): a scheduled `advance` would
otherwise spend most of its time importing and running the validator on a spec that has not changed since the
last tick.

An entry is one pickle per spec, in the git directory's `rollgen/cache/`. Its key covers the spec's bytes, how
headers name it, every profile's bytes, and rollgen's code (render/code.py, the fingerprint both caches share).
(It is a pickle inside .git: whoever can write there can already install hooks, so it trusts nothing more than
git itself does.)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from generator.fingerprint import fingerprint
from generator.model import Release


def load_cached(spec: Path, display: str, profiles: Sequence[Path], cache_dir: Path) -> Release:
    """The release model of `spec`, validated (render/loading.py); from the cache in cache_dir when nothing it
    depends on has changed."""
    cache = cache_dir / f"release-{fingerprint(display.encode()).hexdigest()[:16]}.pickle"
    key = release_key(spec, display, profiles)
    if key:
        hit = _cached(cache, key)
        if hit is not None:
            return hit
    from generator.render.loading import load_release

    release = load_release(spec, profiles, display=display)
    if key:
        _store(cache, key, release)
    return release


def release_key(spec: Path, display: str, profiles: Sequence[Path]) -> str:
    """"" when an input cannot be read (loading then reports it properly)."""
    from generator.render.code import code_fingerprint

    digest = fingerprint(f"{code_fingerprint()}\0{display}\0".encode())
    if spec.is_symlink():
        return ""  # never read through one: the loader refuses it
    try:
        digest.update(spec.read_bytes())
        for folder in profiles:
            for path in sorted(folder.glob("*.y*ml")) if folder.is_dir() else ():
                digest.update(f"\0{path}\0".encode() + path.read_bytes())
    except OSError:
        return ""
    return digest.hexdigest()


def _cached(path: Path, key: str) -> Release | None:
    import pickle

    try:
        with path.open("rb") as fh:
            stored_key, release = pickle.load(fh)
    except Exception:  # noqa: BLE001 - a missing, stale or corrupt cache is only a miss
        return None
    return release if stored_key == key and isinstance(release, Release) else None


def _store(path: Path, key: str, release: Release) -> None:
    import pickle

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            pickle.dump((key, release), fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass  # only a cache
