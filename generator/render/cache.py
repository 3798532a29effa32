"""A cache that lets `rollgen render` / `render --check` skip an unchanged tree.

One entry per output folder, in the git directory above it (`.git/rollgen/cache/`; no git directory, no cache).
An entry says: "with exactly these inputs, the output folder looked exactly like this, and rendering it changed
nothing". It is used only when both halves still hold:

- the key: a hash of rollgen's code (render/code.py: its version, the Python version, and the name, size and
  mtime of every file of its package and shipped data, the fingerprint the model cache shares), PyYAML's version, the working directory, the command's paths, every spec found (path, how headers
  name it, bytes), and each config repo's rollgen.yaml and profiles folder (names and bytes);
- the snapshot: every file and folder under the output folder (`.git` left out), by type, size, inode, mtime
  and ctime. State files, files kept for retired environments and hand edits are all in there, so any change to
  the tree, a generated file edited by hand included, is a miss.

A timestamp can be too coarse to see an edit made just after it was read (git calls this "racy"): a file whose
mtime or ctime is within _RACY_NS of the snapshot keeps the hash of the bytes rollgen expects there, and is read
and compared on every hit; a racy folder, a racy file rollgen did not produce or more than _RACY_MAX racy files
mean no entry is stored.

The snapshot is hashed as it is walked and the entry holds counts, not paths: a hit costs a stat per entry of the
tree and reading the specs, and neither a hit nor a store holds the tree's listing in memory.
An entry is stored only by a run that found the tree up to date (nothing written or removed, or `--check` clean),
from a snapshot taken before that run read anything, so nothing that happened during the run can be vouched for.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Mapping, Sequence
from generator.records import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from generator.fingerprint import Digest

_FORMAT = 3
_RACY_NS = 2_000_000_000
_RACY_MAX = 256  # more racy files than this (a tree just written in place): store nothing rather than hash them all



@dataclass(frozen=True)
class Snapshot:
    """The output folder as stat sees it: one hash of every entry, and the racy regular files."""

    digest: str
    recent: dict[str, bool]  # racy regular files (a dict for its order)
    vouchable: bool = True  # False: a racy folder or special file; nothing can be stored (recent is left empty)


@dataclass(frozen=True)
class Hit:
    """What the cached run produced: enough to print what a full run over the same tree prints."""

    files: int  # how many files the tree holds
    roots: list[str]
    unchanged: list[int]  # files under each root
    unreleased: dict[str, list[str]]



def _sha256(data: bytes = b"") -> Digest:
    """hashlib imported on first use: a render outside a git repository (no cache) never loads it."""
    import hashlib

    return hashlib.sha256(data)

def cache_file(out_dir: Path) -> Path | None:
    """Where the entry for this output folder lives: the git directory at or above it, or None."""
    resolved = out_dir.resolve()
    for folder in (resolved, *resolved.parents):
        git = folder / ".git"
        if git.is_dir() and not git.is_symlink():
            name = _sha256(str(resolved).encode()).hexdigest()[:32]
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
    from generator.spec.config import CONFIG_FILE, config_root, profile_dirs
    from generator.spec.discovery import find_specs, resolved as resolve

    specs, problems = find_specs(list(paths))
    if problems:
        return None
    digest = _sha256()
    _add(digest, "format", str(_FORMAT), "code", _code_fingerprint(), "cwd", os.getcwd(), "out", str(out_dir),
         "out-resolved", str(out_dir.resolve()))
    for path in paths:
        _add(digest, "arg", str(path))
    roots: dict[Path | None, None] = {config_root(out_dir.resolve()): None}
    # folder -> (config root, git work tree as a string); strings, not pathlib, in this loop: it runs per spec on
    # every cached run
    by_parent: dict[str, tuple[Path | None, str | None]] = {}
    folders: dict[Path, Path] = {}
    for spec in specs:
        resolved = str(resolve(spec, folders))
        parent = os.path.dirname(resolved)
        found = by_parent.get(parent)
        if found is None:
            tree = _work_tree(Path(parent))
            found = by_parent[parent] = (config_root(Path(parent)), str(tree) if tree else None)
        roots.setdefault(found[0], None)
        # what render/loading.py header_display names the spec in headers, from the same rule
        display = resolved[len(found[1]):].lstrip("/") if found[1] else spec.as_posix()
        _add(digest, "spec", str(spec), resolved, display)
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


def snapshot(out_dir: Path, taken_ns: int) -> Snapshot:
    """Every entry under out_dir (not `.git`, not following symlinks), with what a change would alter, hashed as
    it is walked (each folder's entries in name order) so that a tree of any size costs no memory; and the
    entries changed within _RACY_NS of taken_ns (racy): regular files by name, or `vouchable` False for
    anything else. This runs on every cached run: one stat per entry and as little Python as possible."""
    digest = _sha256()
    recent: dict[str, bool] = {}
    vouchable = True
    settled = taken_ns - _RACY_NS
    pending = [("", str(out_dir))]
    is_dir = stat.S_ISDIR
    while pending:
        rel, path = pending.pop()
        try:
            found = os.scandir(path)
        except FileNotFoundError:
            continue
        lines = []
        folders = []
        with found:
            for entry in found:
                name = entry.name
                if not rel and name == ".git":
                    continue
                st = entry.stat(follow_symlinks=False)
                mode, mtime, ctime = st.st_mode, st.st_mtime_ns, st.st_ctime_ns
                lines.append(f"{rel}{name}\0{mode} {st.st_size} {st.st_ino} {mtime} {ctime}\n")
                if is_dir(mode):
                    folders.append((f"{rel}{name}/", entry.path))
                if (mtime >= settled or ctime >= settled) and vouchable:
                    # A tree written just now has racy folders or many racy files: then nothing is kept (memory
                    # stays flat, and an entry never makes every hit read the whole tree)
                    recent[rel + name] = True
                    vouchable = stat.S_ISREG(mode) and len(recent) <= _RACY_MAX
                    if not vouchable:
                        recent.clear()
        lines.sort()  # a name is unique in its folder: the lines sort by it
        digest.update("".join(lines).encode("utf-8", "surrogateescape"))
        folders.sort(reverse=True)
        pending.extend(folders)
    return Snapshot(digest.hexdigest(), recent, vouchable)


def lookup_snapshot(out_dir: Path, key: str, now: Snapshot) -> Hit | None:
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


def _check_entry(out_dir: Path, entry: dict[str, Any], now: Snapshot) -> Hit | None:
    if now.digest != entry["snapshot"]:
        return None
    for rel, expected in entry["racy"].items():
        try:
            data = (out_dir / rel).read_bytes()
        except OSError:
            return None
        if _sha256(data).hexdigest() != expected:
            return None
    return Hit(int(entry["files"]), list(entry["roots"]), [int(n) for n in entry["unchanged"]],
               dict(entry["unreleased"]))


def store(out_dir: Path, key: str, before: Snapshot, produced: Mapping[str, bytes], files: int,
          roots: Sequence[str], unchanged: Sequence[int], unreleased: Mapping[str, list[str]]) -> None:
    """Record an up-to-date run (its snapshot taken before it read the tree); skipped when in doubt.

    `produced`: the sha256 of what the run produced at each of the snapshot's racy paths it produced."""
    where = cache_file(out_dir)
    if where is None:
        return
    if not before.vouchable:
        return  # a folder changed just now: cannot vouch for it
    racy: dict[str, str] = {}
    for rel in before.recent:
        if rel not in produced:
            return  # a file not ours changed just now: cannot vouch for it
        racy[rel] = produced[rel].hex()
    entry = {"format": _FORMAT, "key": key, "snapshot": before.digest, "racy": racy, "files": files,
             "roots": list(roots), "unchanged": list(unchanged), "unreleased": dict(unreleased)}
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


def _read(path: Path | str) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
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




def _code_fingerprint() -> str:
    """rollgen's code (render/code.py, the fingerprint the model cache shares), with the versions of what
    shapes its output besides."""
    from generator.yaml_import import yaml

    from generator.render.code import code_fingerprint

    return f"{code_fingerprint()} yaml {yaml.__version__} {hasattr(yaml, 'CSafeDumper')}"
