"""Where each environment of a deployed release runs: its namespace and cluster, read from the spec.

The state files (what `status`, the metrics and the report read) hold the progression, not the placement; the
spec named in their generated header does. It is read as plain data (LibYAML, no validation, no model): a
report over 2,000 releases cannot afford to build each one, and a spec that cannot be read only costs its
labels (namespace "", cluster ""), never the command.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from generator.render.state import STATE_FILE


class Placement(NamedTuple):
    namespace: str
    cluster: str  # "": the repository's default destination


UNKNOWN = Placement("", "")  # a release whose spec cannot be read, or an environment it no longer names


def of_release(root: Path, app_dir: Path) -> dict[str, Placement]:
    """environment name -> Placement for the release whose generated folder is `app_dir` (apps/<name>)."""
    spec = _spec_path(root, app_dir)
    data = _spec_data(spec) if spec is not None else None
    return placements(data) if data is not None else {}


def placements(data: Mapping[str, Any]) -> dict[str, Placement]:
    meta = data.get("metadata")
    spec = data.get("spec")
    namespace = str(meta.get("namespace") or "") if isinstance(meta, Mapping) else ""
    envs = spec.get("environments") if isinstance(spec, Mapping) else None
    if not isinstance(envs, list) or not envs:
        return {"default": Placement(namespace, "")}
    out = {}
    for entry in envs:
        if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
            out[entry["name"]] = Placement(str(entry.get("namespace") or namespace), str(entry.get("cluster") or ""))
    return out


def _spec_path(root: Path, app_dir: Path) -> Path | None:
    """The spec the release's generated files name, when it lies inside the repository and is no symlink."""
    from generator.render.files import header_source

    for state in sorted(app_dir.glob(f"overlays/*/{STATE_FILE}"))[:1]:
        source = header_source(state)
        if source is None:
            return None
        path = root / source
        try:
            path.parent.resolve().relative_to(root.resolve())
        except ValueError:
            return None
        return None if path.is_symlink() or not path.is_file() else path
    return None


def _spec_data(path: Path) -> Mapping[str, Any] | None:
    from generator.errors import InvalidInput
    from generator.spec.loader import load_file

    try:
        docs = load_file(path)
    except (InvalidInput, OSError):
        return None
    data = docs[0].data if len(docs) == 1 else None
    return data if isinstance(data, Mapping) else None
