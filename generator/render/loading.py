"""Loading a release spec completely: the spec layer's checks, plus the one rule only the render layer can judge
(a patch's target must be an object the overlays generate), then the model.

Commands and the git workflow load specs through here. The spec layer (generator.spec.release) takes what the
overlays would hold as an argument (spec.findings.Generated), so it never imports a renderer; the renderers are
imported here only when a spec has patches, so `rollgen validate` of a spec without any stays light.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator import workload
from generator.errors import InvalidInput, Problem
from generator.model import Release
from generator.spec import release as spec
from generator.spec.findings import Data, JsonPath, Located
from generator.spec.loader import load_single

if TYPE_CHECKING:
    from generator.spec.profiles import Profile


def check_document(doc: Located, profiles: Mapping[str, Profile] | None = None) -> list[Problem]:
    """Every problem of the document: schema, then meaning, patch targets included."""
    return spec.check_schema_and_meaning(doc, profiles, generated_objects)


def load_release(path: Path, profiles_dirs: Sequence[Path] = (), display: str | None = None) -> Release:
    """Load, validate and build one spec; every problem raises InvalidInput together."""
    from generator.spec.profiles import load_profiles

    doc = load_single(path, display)
    profiles = load_profiles(profiles_dirs)
    problems = check_document(doc, profiles)
    if problems:
        raise InvalidInput(problems)
    return spec.build_release(doc, profiles)


def generated_objects(data: Data, profiles: Mapping[str, Profile]) -> dict[str, list[Mapping[str, Any]]]:
    """Environment name -> every object its overlay generates, as rendered from the spec (patches are checked per
    environment: an environment may lack an object another has, an HPA, a Rollout). Which objects there are does
    not depend on the container, the pod or the patches, so specs that differ only there share one render."""
    shape = json.dumps(_shape(data), sort_keys=True, default=str) + repr(sorted(profiles.items()))
    if shape not in _OBJECTS:
        if len(_OBJECTS) > 256:
            _OBJECTS.clear()
        _OBJECTS[shape] = _render_objects(data, profiles)
    return _OBJECTS[shape]


# Process-wide, and safe so: the key is everything the value depends on (the spec's shape and the profiles'
# content, never a path or a time), renderers are pure functions of it, and it is bounded (cleared past 256).
_OBJECTS: dict[str, dict[str, list[Mapping[str, Any]]]] = {}
_POD_ONLY = ("container", "pod", "patches", "security")


def _shape(data: Data) -> Data:
    """The spec without what changes pods only; config reduced to which generators exist."""

    def strip(entry: Data) -> Data:
        out = {k: v for k, v in entry.items() if k not in _POD_ONLY}
        if "config" in out:
            out["config"] = sorted(k for k in ("files", "literals") if out["config"].get(k))
        return out

    stripped = strip(data["spec"])
    stripped["environments"] = [strip(entry) for entry in data["spec"].get("environments", [])]
    return {**data, "spec": stripped}


def _render_objects(data: Data, profiles: Mapping[str, Profile]) -> dict[str, list[Mapping[str, Any]]]:
    from generator.model import EnvState
    from generator.render.engines import renderer_for
    from generator.render.workload_render import render_environment

    release = spec.build_release(_Doc(data), profiles)
    render = renderer_for(release.engine)
    out: dict[str, list[Mapping[str, Any]]] = {}
    for env in release.environments:
        objects = out[env.name] = list(render_environment(render, release, env, EnvState.initial(env)).manifests)
        for generator in workload.kustomize_entries(release.name, env.namespace, env.workload).get(
            "configMapGenerator", []
        ):
            objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": generator["name"]}})
    return out


class _Doc:
    """Just enough of a loaded document for build_release."""

    def __init__(self, data: Data) -> None:
        self.data = data
        self.source = "<spec>"

    def locate(self, path: JsonPath) -> tuple[int, int]:
        return (1, 1)

    def locate_key(self, path: JsonPath) -> tuple[int, int]:
        return (1, 1)


# -- every spec of a command's paths (`rollgen render`, `rollgen init`, `rollgen validate`) -----------------------


def load_releases(paths: Sequence[Path]) -> tuple[list[Release], list[Problem]]:
    """Every release, or every problem in every file (the problems win: nothing is rendered)."""
    from generator.spec.discovery import find_specs

    specs, problems = find_specs(list(paths))
    loaded: list[tuple[Path, Release]] = []
    dirs_by_root: dict[Path | None, list[Path]] = {}  # each config repo's rollgen.yaml read once, not once a spec
    for path in specs:
        try:
            loaded.append((path, load_one(path, dirs_by_root)))
        except InvalidInput as exc:
            problems.extend(exc.problems)
    problems.extend(duplicate_names(loaded))
    return [release for _, release in loaded], problems


def load_one(path: Path, dirs_by_root: dict[Path | None, list[Path]]) -> Release:
    """One spec, with the profiles of its config repo (`dirs_by_root` caches them by repo); InvalidInput."""
    from generator.spec.config import config_root, profile_dirs

    root = config_root(path.resolve().parent)
    if root not in dirs_by_root:
        dirs_by_root[root] = profile_dirs(root)
    return load_release(path, dirs_by_root[root], display=header_display(path))


def header_display(path: Path) -> str:
    """How generated headers name the spec: relative to its git repository, as `rollgen release` names it,
    so both commands write the same bytes; as given outside a repository."""
    resolved = path.resolve()
    for folder in resolved.parents:
        if (folder / ".git").exists():
            return resolved.relative_to(folder).as_posix()
    return path.as_posix()


def duplicate_names(loaded: Sequence[tuple[Path, Release]]) -> list[Problem]:
    """Two specs naming the same release would write the same apps/<name>/: one problem per later spec."""
    first: dict[str, Release] = {}
    problems = []
    for path, release in loaded:
        other = first.setdefault(release.name, release)
        if other is not release:
            problems.append(duplicate(path, release, other.source))
    return problems


def duplicate(path: Path, release: Release, other: str) -> Problem:
    """The problem of a spec whose release `other` (a spec's path) defines too, located at its metadata.name."""
    line, column = load_single(path, release.source).locate(("metadata", "name"))
    message = (
        f"release {release.name!r} is also defined in {other}: both would write apps/{release.name}/; "
        "rename one of them (metadata.name)"
    )
    return Problem(release.source, line, column, "$.metadata.name", message)
