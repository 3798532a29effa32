"""The progression state of one environment, kept in the config repo beside its overlay.

The file is outside what kustomize builds (no kustomization lists it), so it never reaches a cluster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generator.model import EnvState, Image

STATE_FILE = "rollgen-state.yaml"


def state_path(app_dir: Path, env: str) -> Path:
    """app_dir is apps/<name>; the state sits in the environment's overlay folder."""
    return app_dir / "overlays" / env / STATE_FILE


def to_dict(state: EnvState) -> dict[str, Any]:
    return {
        "phase": state.phase,
        "stableImage": state.stable_image.ref,
        "canaryImage": state.canary_image.ref if state.canary_image else None,
        "step": state.step,
        "weight": state.weight,
        "since": state.since,
        "activeColour": state.active_colour,
    }


def from_dict(data: dict[str, Any]) -> EnvState:
    canary = data.get("canaryImage")
    return EnvState(
        phase=data["phase"],
        stable_image=Image.parse(data["stableImage"]),
        canary_image=Image.parse(canary) if canary else None,
        step=int(data.get("step", 0)),
        weight=int(data.get("weight", 0)),
        since=str(data.get("since", "")),
        active_colour=data.get("activeColour", "blue"),
    )
