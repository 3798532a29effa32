"""A cache that lets `rollgen render` / `render --check` skip an unchanged tree.

One entry per output folder, in the git directory above it (`.git/rollgen/cache/`; no git directory, no cache).
An entry says: "with exactly these inputs, the output folder looked exactly like this, and rendering it changed
nothing". It is used only when both halves still hold:

- the key: a hash of rollgen's version and every file of its package and shipped data (code, schemas, built-in
  profiles), the
  PyYAML and Python versions, the working directory, the command's paths, every spec found (path, how headers
  name it, bytes), and each config repo's rollgen.yaml and profiles folder (names and bytes);
- the snapshot: every file and folder under the output folder (`.git` left out), by type, size, inode, mtime
  and ctime. State files, files kept for retired environments and hand edits are all in there, so any change to
  the tree, a generated file edited by hand included, is a miss.

A timestamp can be too coarse to see an edit made just after it was read (git calls this "racy"): a file whose
mtime or ctime is within _RACY_NS of the snapshot keeps the hash of the bytes rollgen expects there, and is read
and compared on every hit; a racy folder or a racy file rollgen did not produce means no entry is stored.
An entry is stored only by a run that found the tree up to date (nothing written or removed, or `--check` clean),
from a snapshot taken before that run read anything, so nothing that happened during the run can be vouched for.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from collections.abc import Mapping, Sequence
from generator.records import dataclass
from pathlib import Path
from typing import Any

_FORMAT = 2
_RACY_NS = 2_000_000_000

Snapshot = dict[str, list[int]]  # relative path -> [mode, size, inode, mtime_ns, ctime_ns]


@dataclass(frozen=True)
class Hit:
    """What the cached run produced: enough to print what a full run over the same tree prints."""

    files: list[str]
    roots: list[str]
    unreleased: dict[str, list[str]]


def cache_file(out_dir: Path) -> Path | None:
    """Where the entry for this output folder lives: the git directory at or above it, or None."""
    resolved = out_dir.resolve()
    for folder in (resolved, *resolved.parents):
        git = folder / ".git"
        if git.is_dir() and not git.is_symlink():
            import hashlib  # imported where used: a render outside any git repository never loads it (~2 ms)

            name = hashlib.sha256(str(resolved).encode()).hexdigest()[:32]
            return git / "rollgen" / "cache" / f"render-{name}.json"
        if git.exists():
            return None  # a worktree's .git file: not worth following
    return None


def run_key(paths: Sequence[Path], out_dir: Path) -> str | None:
    """The hash of every input of a render, or None when the specs cannot be found cleanly."""
    try:
        return _run_key(paths, out_dir)
    except Exception:  # noqa: BLE001 - bad input (a broken rollgen.yaml...) is the full run's to report, in its words
        return None


def _run_key(paths: Sequence[Path], out_dir: Path) -> str | None:
    import hashlib
    from generator.spec.config import CONFIG_FILE, config_root, profile_dirs
    from generator.spec.discovery import find_specs

    specs, problems = find_specs(list(paths))
    if problems:
        return None
    digest = hashlib.sha256()
    _add(digest, "format", str(_FORMAT), "code", _code_fingerprint(), "cwd", os.getcwd(), "out", str(out_dir),
         "out-resolved", str(out_dir.resolve()))
    for path in paths:
        _add(digest, "arg", str(path))
    roots: dict[Path | None, None] = {config_root(out_dir.resolve()): None}
    by_parent: dict[Path, tuple[Path | None, Path | None]] = {}  # folder -> (config root, git work tree)
    for spec in specs:
        resolved = spec.resolve()
        found = by_parent.get(resolved.parent)
        if found is None:
            found = by_parent[resolved.parent] = (config_root(resolved.parent), _work_tree(resolved.parent))
        roots.setdefault(found[0], None)
        # what commands/render.py spec_display names the spec in headers, from the same rule
        display = resolved.relative_to(found[1]).as_posix() if found[1] else spec.as_posix()
        _add(digest, "spec", str(spec), str(resolved), display)
        digest.update(_read(resolved))
    for root in roots:
        if root is None:
            continue
        _add(digest, "root", str(root))
        digest.update(_read(root / CONFIG_FILE))
        for folder in profile_dirs(root):
            _add(digest, "profiles", str(folder))
            for name, data in _folder_files(folder):
                _add(digest, name)
                digest.update(data)
    return digest.hexdigest()


def _work_tree(folder: Path) -> Path | None:
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def digest_of(snap: Snapshot) -> str:
    import hashlib
    return hashlib.sha256(repr(sorted(snap.items())).encode()).hexdigest()


def snapshot(out_dir: Path) -> Snapshot:
    """Every entry under out_dir (not `.git`, not following symlinks), with what a change would alter."""
    found: Snapshot = {}
    pending = [("", str(out_dir))]
    while pending:
        rel, path = pending.pop()
        try:
            entries = list(os.scandir(path))
        except FileNotFoundError:
            continue
        for entry in entries:
            if not rel and entry.name == ".git":
                continue
            st = entry.stat(follow_symlinks=False)
            sub = f"{rel}{entry.name}"
            found[sub] = [st.st_mode, st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns]
            if stat.S_ISDIR(st.st_mode):
                pending.append((sub + "/", entry.path))
    return found


def lookup_snapshot(out_dir: Path, key: str, now: Snapshot | None = None) -> Hit | None:
    """The cached result when the inputs and the tree are what they were; None on any doubt."""
    where = cache_file(out_dir)
    if where is None:
        return None
    try:
        entry = json.loads(where.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != key or entry.get("format") != _FORMAT:
        return None
    try:
        return _check_entry(out_dir, entry, now)
    except (KeyError, TypeError, AttributeError, ValueError):  # a damaged entry is a miss
        return None


def _check_entry(out_dir: Path, entry: dict[str, Any], now: Snapshot | None) -> Hit | None:
    import hashlib
    if digest_of(now if now is not None else snapshot(out_dir)) != entry["snapshot"]:
        return None
    for rel, expected in entry["racy"].items():
        try:
            data = (out_dir / rel).read_bytes()
        except OSError:
            return None
        if hashlib.sha256(data).hexdigest() != expected:
            return None
    return Hit(entry["files"], entry["roots"], entry["unreleased"])


def store(out_dir: Path, key: str, before: Snapshot, taken_ns: int, files: Mapping[str, bytes],
          roots: Sequence[str], unreleased: Mapping[str, list[str]]) -> None:
    """Record an up-to-date run (its snapshot taken before it read the tree); skipped when in doubt."""
    import hashlib
    where = cache_file(out_dir)
    if where is None:
        return
    racy: dict[str, str] = {}
    for rel, (mode, _, _, mtime, ctime) in before.items():
        if max(mtime, ctime) < taken_ns - _RACY_NS:
            continue
        if not stat.S_ISREG(mode) or rel not in files:
            return  # a folder or a file not ours changed just now: cannot vouch for it
        racy[rel] = hashlib.sha256(files[rel]).hexdigest()
    entry = {"format": _FORMAT, "key": key, "snapshot": digest_of(before), "racy": racy, "files": sorted(files),
             "roots": list(roots), "unreleased": dict(unreleased)}
    try:
        where.parent.mkdir(parents=True, exist_ok=True)
        tmp = where.with_name(f"{where.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entry, separators=(",", ":")))
        os.replace(tmp, where)
    except OSError:
        return  # a cache that cannot be written is only a slower next run


def now_ns() -> int:
    return time.time_ns()


def _add(digest: Any, *parts: str) -> None:
    for part in parts:
        data = part.encode("utf-8", "surrogateescape")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)


def _read(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"unreadable: {type(exc).__name__}".encode()
    return len(data).to_bytes(8, "big") + data


def _folder_files(folder: Path) -> list[tuple[str, bytes]]:
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            out.append((path.relative_to(folder).as_posix(), _read(path)))
    return out


_CODE: list[str] = []


def _code_fingerprint() -> str:
    """rollgen's version and every file of the package, with the versions of what shapes its output."""
    import hashlib
    if not _CODE:
        import yaml

        import generator

        digest = hashlib.sha256()
        _add(digest, generator.__version__, sys.version, yaml.__version__, str(hasattr(yaml, "CSafeDumper")))
        from generator import resources

        # The package, and the data it ships (schemas, built-in profiles: inside the wheel or beside a checkout).
        for top in (Path(generator.__file__).parent, resources.data_dir("schemas"), resources.profiles_dir()):
            _add(digest, "tree", str(top))
            for dirpath, dirnames, filenames in os.walk(top):
                dirnames[:] = sorted(name for name in dirnames if name != "__pycache__")
                for name in sorted(filenames):
                    if name.endswith((".pyc", ".pyo")):
                        continue
                    path = Path(dirpath) / name
                    _add(digest, path.relative_to(top).as_posix())
                    digest.update(_read(path))
        _CODE.append(digest.hexdigest())
    return _CODE[0]
