"""Which spec a command acts on, and loading it: a release's spec found by name (the one its generated files
name, else releases/NAME.yaml, else a search), the model loaded through the model cache, and the refusal of a
spec that is not exactly what HEAD holds (every command that commits loads through load_committed).
"""

from __future__ import annotations

from pathlib import Path

from generator.errors import InvalidInput, RollgenError
from generator.gitops.repo import Repo
from generator.model import Release
from generator.render import state as state_file
from generator.spec.config import Config


def spec_display(repo: Repo, spec: Path) -> str:
    """The spec's path as generated headers name it: relative to the repo when inside it."""
    try:
        return spec.resolve().relative_to(repo.root.resolve()).as_posix()
    except ValueError:
        return str(spec)


def load_spec(repo: Repo, config: Config, spec: Path) -> Release:
    """The release model, validated; from the model cache in the git dir (render/model_cache.py) when nothing
    it depends on has changed."""
    from generator.render.model_cache import load_cached

    profiles = [config.profiles_dir] if config.profiles_dir else []
    return load_cached(spec, spec_display(repo, spec), profiles, repo.rollgen_dir / "cache")


def find_spec(repo: Repo, config: Config, name: str) -> Path:
    """NAME's spec: the one its generated files name, else releases/NAME.yaml(.yml), else a search."""
    from generator.render.files import header_source

    app = config.output_dir / "apps" / name
    for candidate in sorted(app.glob(f"overlays/*/{state_file.STATE_FILE}"))[:1] + [app / "base/kustomization.yaml"]:
        source = header_source(candidate)
        if source is not None:
            path = repo.root / source
            if path.is_file() and _inside(repo.root, path):
                return path
    for suffix in (".yaml", ".yml"):
        path = config.releases_dir / f"{name}{suffix}"
        if path.is_file():
            return path
    return spec_named(config, name)


def _inside(root: Path, path: Path) -> bool:
    """Whether path, with `..` and symlinked folders resolved, is in the repository (a header naming
    ../../etc/passwd is not a spec rollgen will read)."""
    try:
        path.parent.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def spec_named(config: Config, name: str) -> Path:
    from generator.spec.release import specs_under

    if config.releases_dir.is_dir():
        for path in sorted(specs_under(config.releases_dir)):
            if release_name_of(path) == name:
                return path
    raise RollgenError(
        f"no spec for release {name!r}: not named by apps/{name}/, not {config.releases}/{name}.yaml, "
        f"and no spec under {config.releases}/ has metadata.name: {name}"
    )


def release_name_of(path: Path) -> str | None:
    """The spec's metadata.name, parsed (any YAML style: flow mappings, quotes, anchors); None when the file is not
    one readable Release (the load that follows reports why, if it is the one asked for)."""
    from generator.spec.loader import load_file

    try:
        docs = load_file(path)
    except InvalidInput:
        return None
    data = docs[0].data if len(docs) == 1 else None
    if not isinstance(data, dict) or data.get("kind") != "Release" or not isinstance(data.get("metadata"), dict):
        return None
    found = data["metadata"].get("name")
    return found if isinstance(found, str) else None


def load_committed(repo: Repo, config: Config, spec: Path, then: str = "run rollgen again") -> Release:
    """load_spec, refused (after the spec's own mistakes) when the spec is not exactly what HEAD holds: an
    uncommitted edit, a spec git does not track, a spec outside the repository. A commit of rollgen's must
    come from a spec commit that says what it deployed: an edit in the work tree would otherwise ride along in
    a step's commit (for every environment, through the shared base). Every command that commits, and `plan`
    and --dry-run that show what it would, load through here: they refuse alike."""
    release = load_spec(repo, config, spec)
    refuse_uncommitted(repo, spec, then)
    return release


def refuse_uncommitted(repo: Repo, spec: Path, then: str = "run rollgen again") -> None:
    display = spec_display(repo, spec)
    if Path(display).is_absolute():
        raise RollgenError(
            f"{display}: is outside the repository {repo.root}; rollgen deploys specs the repository holds: "
            f"move it under {repo.root} and commit it, then {then}"
        )
    try:
        data = spec.read_bytes()
    except OSError:
        return  # load_spec has read it: it was just removed, and the next run says so
    held = repo.committed(display)
    if held is None:  # a new spec: "uncommitted changes" would send a person looking for an edit
        raise RollgenError(
            f"{display}: is not committed yet; commit the spec first (git add {display} && git commit), then {then}"
        )
    # bytes that differ from HEAD's are asked of git too: a checkout filter or eol conversion (.gitattributes)
    # makes the work tree's bytes differ from the blob's with nothing uncommitted
    if held != data and repo.changes([display]):
        raise RollgenError(
            f"{display}: has uncommitted changes; commit the spec first (git add {display} && git commit), "
            f"then {then}"
        )


class NamedRelease:
    """A loader for the release called `name`, wherever its spec is (the name known before it is loaded)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, repo: Repo, config: Config) -> Release:
        release = load_committed(repo, config, find_spec(repo, config, self.name))
        if release.name != self.name:
            raise RollgenError(f"{release.source} is release {release.name!r}, not {self.name!r}")
        return release


named_release = NamedRelease
