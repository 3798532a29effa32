"""The progression state of one environment, kept in the config repo beside its overlay.

The file is outside what kustomize builds (no kustomization lists it), so it never reaches a cluster. It is
written in the same commit as the manifests it describes, so `since` is that commit's time, and reading the
state of every release is one small file per environment: no walk through history.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.model import EnvState, Image

STATE_FILE = "rollgen-state.yaml"
PHASES = ("stable", "progressing", "promoting", "aborted")
COLOURS = ("blue", "green")


def state_path(app_dir: Path, env: str) -> Path:
    """app_dir is apps/<name>; the state sits in the environment's overlay folder."""
    return app_dir / "overlays" / env / STATE_FILE


def relpath(release: str, env: str) -> str:
    """The state file's path relative to the output folder."""
    return state_path(Path("apps", release), env).as_posix()


def to_dict(state: EnvState) -> dict[str, Any]:
    return {
        "phase": state.phase,
        "stableImage": state.stable_image.ref,
        "canaryImage": state.canary_image.ref if state.canary_image else None,
        "step": state.step,
        # The step count, for `rollgen status` (k/n); written only when known, so older files read as before.
        **({"steps": state.steps} if state.steps else {}),
        "weight": state.weight,
        "since": state.since,
        "activeColour": state.active_colour,
        # Gate failures are written only while there are some, so a state without them reads as before.
        **({"failures": state.failures, "lastFailure": state.last_failure} if state.failures else {}),
        # What runs besides the image (workload_progression.py); written only when known, so older files read
        # as before.
        **({"stablePod": json.loads(state.stable_pod)} if state.stable_pod else {}),
        **({"canaryPod": json.loads(state.canary_pod)} if state.canary_pod else {}),
    }


def _pod_text(value: Any) -> str:
    """A recorded pod-inputs mapping as the canonical JSON text the model keeps."""
    if value is None:
        return ""
    if not isinstance(value, dict):
        raise ValueError("stablePod/canaryPod must be mappings")
    from generator.workload import DEFAULT_POD_INPUTS

    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return "" if text == DEFAULT_POD_INPUTS else text


def from_dict(data: dict[str, Any]) -> EnvState:
    canary = data.get("canaryImage")
    phase = data["phase"]
    colour = data.get("activeColour", "blue")
    if phase not in PHASES:
        raise ValueError(f"phase {phase!r} is not one of {', '.join(PHASES)}")
    if colour not in COLOURS:
        raise ValueError(f"activeColour {colour!r} is not blue or green")
    return EnvState(
        phase=phase,
        stable_image=Image.parse(data["stableImage"]),
        canary_image=Image.parse(canary) if canary else None,
        step=int(data.get("step", 0)),
        weight=int(data.get("weight", 0)),
        since=str(data.get("since", "") or ""),
        active_colour=colour,
        failures=int(data.get("failures", 0) or 0),
        last_failure=str(data.get("lastFailure", "") or ""),
        steps=int(data.get("steps", 0) or 0),
        stable_pod=_pod_text(data.get("stablePod")),
        canary_pod=_pod_text(data.get("canaryPod")),
    )


def dump(state: EnvState, source: str) -> bytes:
    """The file's bytes: rollgen's generated-file header, then the state as YAML."""
    from generator.emit import emit

    return emit(to_dict(state), source)


def parse(data: bytes) -> EnvState:
    """ValueError when the bytes are not a state file."""
    import yaml

    try:
        loaded: Any = yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise ValueError(f"not YAML: {exc}") from exc
    if not isinstance(loaded, dict):
        raise ValueError("not a mapping")  # noqa: TRY004 - callers catch ValueError for any bad state file
    try:
        return from_dict(loaded)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"missing or wrong field: {exc}") from exc


def load(path: Path) -> EnvState | None:
    """The state in the file, None when there is none. ValueError when it is unreadable."""
    if path.is_symlink():  # rollgen writes regular files only; one leading elsewhere must not steer a release
        raise ValueError("it is a symlink, not the file rollgen wrote")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return parse(data)


@dataclass(frozen=True)
class Found:
    release: str
    env: str
    state: EnvState | None
    error: str = ""  # why the file could not be read, when state is None


def scan(out_dir: Path) -> Iterator[Found]:
    """Every state file under out_dir/apps, sorted by release then environment."""
    for path in sorted(out_dir.glob(f"apps/*/overlays/*/{STATE_FILE}")):
        release, env = path.parts[-4], path.parts[-2]
        try:
            state = load(path)
        except (OSError, ValueError) as exc:
            yield Found(release, env, None, str(exc))
            continue
        if state is not None:
            yield Found(release, env, state)
