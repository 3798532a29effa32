"""Environments the spec no longer has: kept as they are until retired on purpose.

Removing an environment from a spec says what the future should hold, not that its running workload should go
now: its files (overlay, state, Argo CD / Flux wiring) are what the cluster runs. So every command that writes
a release leaves an orphaned environment's files exactly as they are (`kept_files`), `rollgen status` flags
it, and `rollgen retire NAME --env E` removes them in a commit of its own (`Rollgen-Action: retire`).
The same holds for a release whose spec is gone (deleted, or renamed to another name): `retire` takes down
each of its environments, and with the last one its base.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from pathlib import Path

from generator import names
from generator.render.state import STATE_FILE, state_path


def deployed_environments(out_dir: Path, name: str) -> list[str]:
    """The environments of release `name` that have a state file (what `rollgen release` deployed)."""
    app = out_dir / "apps" / name
    if app.is_symlink() or not app.is_dir():
        return []
    return sorted(p.parent.name for p in app.glob(f"overlays/*/{STATE_FILE}") if not p.parent.is_symlink())


def orphaned(out_dir: Path, name: str, spec_environments: Collection[str]) -> list[str]:
    """Deployed environments of `name` that its spec no longer lists."""
    return [env for env in deployed_environments(out_dir, name) if env not in spec_environments]


def environment_files(out_dir: Path, name: str, env: str) -> list[str]:
    """Output-relative paths of the files one environment of a release owns: everything in its overlay folder
    and its Argo CD Application / Flux Kustomization (named as generator/wiring/settings.py names them)."""
    from generator.wiring import ARGOCD_DIR, FLUX_DIR

    overlay = f"apps/{name}/overlays/{env}"
    out = list(_files(out_dir, overlay))
    app = names.app(name, env)
    for wired in (f"{ARGOCD_DIR}/{name}/application_{app}.yaml", f"{FLUX_DIR}/{name}/kustomization_{app}.yaml"):
        path = out_dir / wired
        if path.is_file() and not path.is_symlink():
            out.append(wired)
    return sorted(out)


def leftover_files(out_dir: Path, name: str) -> list[str]:
    """What is left of a release once no environment is deployed: its base and any remaining wiring."""
    from generator.wiring import ARGOCD_DIR, FLUX_DIR

    roots = (f"apps/{name}", f"{ARGOCD_DIR}/{name}", f"{FLUX_DIR}/{name}")
    return sorted(p for root in roots for p in _files(out_dir, root))


def kept_files(out_dir: Path, name: str, spec_environments: Collection[str], base: bool = False) -> dict[str, bytes]:
    """The files of orphaned environments, as they are: a writer given these keeps them byte for byte instead
    of pruning them as files it no longer produces. With `base` (nothing else of the release is rendered), the
    base their overlays build on too."""
    out: dict[str, bytes] = {}
    envs = orphaned(out_dir, name, spec_environments)
    paths = [rel for env in envs for rel in environment_files(out_dir, name, env)]
    if envs and base:
        paths += list(_files(out_dir, f"apps/{name}/base"))
    for rel in paths:
        try:
            out[rel] = (out_dir / rel).read_bytes()
        except OSError:
            continue
    return out


def state_of(out_dir: Path, name: str, env: str) -> Path:
    return state_path(out_dir / "apps" / name, env)


def _files(out_dir: Path, root: str) -> Iterator[str]:
    """Regular files under out_dir/root, never through a symlink."""
    top = out_dir / root
    if top.is_symlink() or not top.is_dir():
        return
    for folder, dirs, file_names in os.walk(top):
        dirs[:] = sorted(d for d in dirs if not Path(folder, d).is_symlink())
        for file in sorted(file_names):
            path = Path(folder, file)
            if path.is_file() and not path.is_symlink():
                yield path.relative_to(out_dir).as_posix()


def spec_environments(root: Path, app_dir: Path) -> tuple[str, list[str]] | None:
    """The spec a deployed release's files name (their header), and the environments it lists now; no
    environments when that spec is gone or names another release. None when the files name no spec."""
    from generator.errors import InvalidInput
    from generator.render.files import header_source
    from generator.spec.loader import load_single

    source = header_source(app_dir / "base" / "kustomization.yaml")
    if source is None:
        return None
    spec = root / source
    if spec.is_symlink() or not spec.is_file():
        return source, []
    try:
        data = load_single(spec, source).data
    except (InvalidInput, OSError):
        return None  # a broken spec is validate's to report, not a reason to call environments orphaned
    if not isinstance(data, dict) or not all(isinstance(data.get(key), dict) for key in ("metadata", "spec")):
        return None
    if data["metadata"].get("name") != app_dir.name:
        return source, []
    entries = data["spec"].get("environments")
    if not isinstance(entries, list) or not entries:
        return source, [names.DEFAULT_ENVIRONMENT]
    return source, [e["name"] for e in entries if isinstance(e, dict) and isinstance(e.get("name"), str)]


def orphan_notes(root: Path, out_dir: Path, releases: Collection[str]) -> dict[tuple[str, str], str]:
    """(release, environment) -> why it is orphaned, for every deployed environment its spec no longer lists."""
    notes: dict[tuple[str, str], str] = {}
    for name in sorted(releases):
        found = spec_environments(root, out_dir / "apps" / name)
        if found is None:
            continue
        source, envs = found
        spec = root / source
        gone = spec.is_symlink() or not spec.is_file()
        for env in orphaned(out_dir, name, envs):
            if gone:  # deleted or moved: not a decision to take the environment down
                notes[(name, env)] = (
                    f"{name}/{env}: its spec {source} is gone (deleted or moved): restore it; its files stay "
                    f"deployed as they are (`rollgen abort {name} --env {env}` acts without it), until "
                    f"`rollgen retire {name} --env {env}` takes them down"
                )
                continue
            notes[(name, env)] = (
                f"{name}/{env} is no longer in {source}: its files stay deployed until "
                f"`rollgen retire {name} --env {env}` takes them down"
            )
    return notes
