"""The one fingerprint of rollgen's code both its caches are keyed on (render/cache.py: the rendered tree;
render/model_cache.py: the loaded release model): a cache written by another rollgen is never trusted.

It covers rollgen's version, the Python version, and every file of the package and of the data it ships
(schemas, built-in profiles), `__pycache__` and bytecode left out, by name, size and mtime: a stat per file, so
that a scheduled `advance` pays ~1 ms for it, once per process.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

_CODE: list[str] = []  # the fingerprint, once computed (tests clear it to play another rollgen)


def code_fingerprint() -> str:
    if not _CODE:
        import generator
        from generator import resources

        tops = [os.path.dirname(generator.__file__), str(resources.data_dir("schemas")), str(resources.profiles_dir())]
        _CODE.append(fingerprint_of(tops))
    return _CODE[0]


def fingerprint_of(tops: Sequence[str]) -> str:
    """The fingerprint of the files under `tops` (see the module's docstring)."""
    import generator
    from generator.fingerprint import fingerprint

    digest = fingerprint(f"{generator.__version__}\0{sys.version}".encode())
    for top in tops:
        digest.update(f"\0tree {top}".encode())
        for entry in _files(top):
            stat = entry.stat(follow_symlinks=False)
            digest.update(f"\0{os.path.relpath(entry.path, top)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def _files(top: str) -> list[os.DirEntry[str]]:
    """The files under `top` by path, `__pycache__` and bytecode left out: with os.scandir, as pathlib's rglob
    costs ~1 ms of every tick."""
    found: list[os.DirEntry[str]] = []
    folders = [top]
    while folders:
        try:
            entries = os.scandir(folders.pop())
        except FileNotFoundError:
            continue
        with entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        folders.append(entry.path)
                elif not entry.name.endswith((".pyc", ".pyo")):
                    found.append(entry)
    return sorted(found, key=lambda entry: entry.path)
