"""The recipe in one place: states -> render -> layout -> emit. Writing is the caller's (writer.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from generator.emit import emit
from generator.errors import RollgenError
from generator.layout import layout
from generator.model import EnvState, Release
from generator.state import from_dict, state_path

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML built without LibYAML
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


def app_root(release: Release) -> str:
    """The folder of the output tree that belongs to one release (what the writer may prune)."""
    return f"apps/{release.name}"


def render_files(release: Release, states: dict[str, EnvState]) -> dict[str, bytes]:
    return {path: emit(doc, release.source) for path, doc in layout(release, states).items()}


def read_states(out_dir: Path, release: Release) -> dict[str, EnvState]:
    """Each environment's committed progression state; an environment without a state file is initial."""
    app_dir = out_dir / app_root(release)
    return {env.name: _read_state(state_path(app_dir, env.name)) or EnvState.initial(env) for env in release.environments}


def _read_state(path: Path) -> EnvState | None:
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RollgenError(f"cannot read the progression state {path}: {exc.strerror}") from exc
    try:
        data: Any = yaml.load(text, Loader=_Loader)
        if not isinstance(data, dict):
            raise ValueError("it is not a mapping")
        return from_dict(data)
    except (yaml.YAMLError, ValueError, KeyError, TypeError) as exc:
        raise RollgenError(
            f"the progression state {path} is unreadable ({exc}); restore it from git history "
            "(git checkout -- <file>) or delete it to start from the spec's image"
        ) from exc
