"""Each environment takes a change to the spec in a commit of its own (issue 24: the shared base broke order).

Every commit for an environment records, in its state, the git blob id of the spec it acted on (`specBlob`). When
a commit for another environment (or `rollgen render` in the config repo, as the render-check hook runs it)
renders the release, an environment whose recorded spec differs from the current one is rendered from its
recorded spec, read back from git: its objects stay exactly what its own last commit made them, and only its
overlay's patches may be re-expressed against the new base (same build, other bytes). It takes the new spec
with its next action (`release --env E`, a step, a promotion, ...), in a commit filed under its own name.

An environment without a recorded spec (a state file written before this), or whose recorded spec no longer
loads, is rendered from the current spec, as before. One whose recorded spec git does not have (a shallow clone,
a spec acted on while it had uncommitted edits) is too in `rollgen render`, but a commit refuses it: a shallow
clone would otherwise commit another environment's build.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from generator.gitops.repo import Repo
from generator.model import EnvState, Release

_LOADED: dict[tuple[str, str, str], Release | _Missing | None] = {}  # (root, blob, display) -> it; bounded below


def blob_id(data: bytes) -> str:
    """What `git hash-object` says for these bytes (SHA-1 repositories)."""
    from hashlib import sha1  # here: only the per-environment pins hash, and hashlib loads OpenSSL

    return str(sha1(b"blob %d\0" % len(data) + data).hexdigest())


def spec_blob(root: Path, release: Release) -> str:
    """The blob id of the spec `release` was loaded from (release.source, relative to `root` unless absolute);
    "" when it cannot be read."""
    path = Path(release.source)
    try:
        return blob_id((path if path.is_absolute() else root / path).read_bytes())
    except OSError:
        return ""


def recorded(repo: Repo, blob: str, before: str) -> str:
    """What an environment's state records for the spec `blob` it is acted on with (`before`: what it recorded):
    the blob, when git has it (one `git cat-file -e`, only when it changed); "" for a spec with uncommitted edits
    (the current spec then renders it, as before this existed), so no later commit waits for a blob no clone has."""
    if not blob or blob == before:
        return blob
    return blob if repo.run("cat-file", "-e", blob, check=False).returncode == 0 else ""


def pinned(
    repo: Repo, release: Release, states: Mapping[str, EnvState], current: str, profiles: Path | None,
    acting: str | None = None, strict: bool = False,
) -> dict[str, Release]:
    """Environment -> the release as the spec it was last acted on reads, for each environment (but `acting`)
    whose recorded spec is not `current` and can be loaded from git. `strict` (a commit is about to be made):
    a recorded spec git does not have is refused, so a shallow clone never commits another environment's build."""
    wanted = {name: state.spec_blob for name, state in states.items()
              if name != acting and state.spec_blob and state.spec_blob != current}
    if not wanted:
        return {}
    out = {}
    for name, blob in wanted.items():
        loaded = _load(repo, blob, release.source, profiles)
        if loaded is _MISSING and strict:
            from generator.errors import RollgenError

            raise RollgenError(
                f"{release.name}/{name} was last acted on with the spec {release.source} at blob {blob[:12]}, which "
                "this clone does not have (a shallow clone?): rendering it from today's spec would change its build "
                "in another environment's commit; fetch the history (git fetch --unshallow, or clone with "
                "fetch-depth: 0) and run again"
            )
        if isinstance(loaded, Release) and loaded.name == release.name:
            out[name] = loaded
    return out


class _Missing:
    """git does not have the blob (as against: it has it, and it does not load)."""


_MISSING = _Missing()


def _load(repo: Repo, blob: str, display: str, profiles: Path | None) -> Release | _Missing | None:
    key = (str(repo.root), blob, display)
    if key not in _LOADED:
        if len(_LOADED) > 256:
            _LOADED.clear()
        found = _read(repo, blob, display, profiles)
        if found is _MISSING:
            return found  # not kept: a fetch may bring it
        _LOADED[key] = found
    return _LOADED[key]


def _read(repo: Repo, blob: str, display: str, profiles: Path | None) -> Release | _Missing | None:
    from generator.errors import RollgenError

    try:
        data = repo.read_blobs([blob])[0]
    except (RollgenError, OSError):
        return None  # not loadable now: rendered from the current spec, as before
    return _MISSING if data is None else release_of_text(data, display, profiles)


def release_of_text(data: bytes, display: str, profiles: Path | None) -> Release | None:
    """The valid release a spec's bytes hold (as git has them), its files naming `display`; None otherwise."""
    from generator.errors import InvalidInput, RollgenError
    from generator.render.loading import check_document
    from generator.spec.loader import load_text
    from generator.spec.profiles import load_profiles
    from generator.spec.release import build_release

    try:
        docs = [doc for doc in load_text(data, display) if doc.data is not None]
        if len(docs) != 1:
            return None
        found = load_profiles([profiles] if profiles else [])
        if check_document(docs[0], found):
            return None
        return build_release(docs[0], found)
    except (InvalidInput, RollgenError, OSError, ValueError):
        return None
