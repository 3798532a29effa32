"""The progression state of one environment, kept in the config repo beside its overlay.

The file is outside what kustomize builds (no kustomization lists it), so it never reaches a cluster. It is
written in the same commit as the manifests it describes, so `since` is that commit's time, and reading the
state of every release is one small file per environment: no walk through history.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from generator.records import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.errors import Problem
from generator.model import EnvState, Image

if TYPE_CHECKING:
    from generator.spec.findings import Finding

STATE_FILE = "rollgen-state.yaml"
STATE_SCHEMA = "state.schema.json"
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
        # `rollgen rollback`: what it rolled back from; written only after one
        **({"rolledBack": state.rolled_back.ref} if state.rolled_back else {}),
        # the spec's git blob this environment was last acted on (gitops/pinned.py); written only when known
        **({"specBlob": state.spec_blob} if state.spec_blob else {}),
    }


def public(state: EnvState, colours: bool) -> dict[str, Any]:
    """The state as the JSON outputs show it (`status`, and every committing command's `state`), one reading for
    all: `weight` is the newest version's share (new_weight), and `activeColour` only for a blue-green release
    (`colours`), as the state file itself has it."""
    out = to_dict(state)
    out["weight"] = new_weight(state)
    if not colours:
        del out["activeColour"]  # a canary has no colours
    return out


def new_weight(state: EnvState) -> int:
    """The traffic share of the newest version, in percent: what the Rollgen-Weight trailer of the commit that
    made this state says (a deploy or a promotion 100%, a canary step its weight, an abort 0%)."""
    if state.in_flight:
        return state.weight
    return 100 if state.phase == "stable" else 0


def _pod_text(value: Any) -> str:
    """A recorded pod-inputs mapping as the canonical JSON text the model keeps."""
    if value is None:
        return ""
    if not isinstance(value, dict):
        raise ValueError("stablePod/canaryPod must be mappings")
    from generator.workload import DEFAULT_POD_INPUTS

    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return "" if text == DEFAULT_POD_INPUTS else text


def state_from_dict(data: dict[str, Any]) -> EnvState:
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
        rolled_back=Image.parse(data["rolledBack"]) if data.get("rolledBack") else None,
        spec_blob=str(data.get("specBlob", "") or ""),
    )


def dump(state: EnvState, source: str, colours: bool = True) -> bytes:
    """The file's bytes: rollgen's generated-file header, then the state as YAML. `colours`: the release is
    blue-green, so the live colour is part of its state (a canary's file leaves `activeColour` out)."""
    from generator.render.emit import emit

    data = to_dict(state)
    if not colours:
        del data["activeColour"]
    return emit(data, source)


class CorruptState(ValueError):
    """A state file that is not what rollgen writes: every problem, located in the file."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(p.format() for p in problems))
        self.problems = problems


def parse_state(data: bytes, display: str = STATE_FILE) -> EnvState:
    """The state; CorruptState (a ValueError) when the bytes are not a state file rollgen could have written.

    Checked against schemas/state.schema.json on every read (a hand edit or a bad merge must be refused, not
    stepped on: `step: -7` or a progressing phase without a canary image would crash or misroute). A step
    beyond the spec's steps is fine: the spec may have lost steps since (plan.shapes.normalise)."""
    from generator.yaml_import import yaml

    try:
        loaded: Any = yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (yaml.YAMLError, RecursionError):
        loaded = None
    check = _quick_check()
    if isinstance(loaded, dict) and check is not None and check(loaded) and not _meaning(loaded):
        return state_from_dict(loaded)
    raise CorruptState(_located_problems(data, display))


@functools.cache
def _quick_check() -> Callable[[Any], bool] | None:
    """The schema's yes/no check without importing spec/schema.py's validator machinery (a scheduled `advance` reads
    a state file on every tick); the located explanation is only for a file that fails it."""
    import json

    from generator import resources
    from generator.spec import schemacheck

    try:
        schema = json.loads(resources.schema_path(STATE_SCHEMA).read_text(encoding="utf-8"))
        return schemacheck.compile_schema(schema)
    except schemacheck.Unsupported:
        return None


def _located_problems(data: bytes, display: str) -> list[Problem]:
    """Why the bytes are not a state file, each problem with its line and column (the slow path)."""
    from generator.spec.findings import locate
    from generator.errors import InvalidInput
    from generator.spec.loader import load_text
    from generator.spec.schema import schema_problems

    try:
        docs = load_text(data, display)
    except InvalidInput as exc:
        return exc.problems
    if len(docs) != 1 or not isinstance(docs[0].data, dict):
        return [Problem(display, 1, 1, "$", "not a mapping of the state's fields")]
    doc = docs[0]
    problems = schema_problems(doc, STATE_SCHEMA)
    seen = {p.path for p in problems}
    problems += [p for p in (locate(doc, f) for f in _meaning(doc.data)) if p.path not in seen]
    return problems or [Problem(display, 1, 1, "$", "not a state file rollgen could have written")]


def _meaning(data: dict[str, Any]) -> list[Finding]:
    """What the schema cannot say: the fields that must agree with each other."""
    from generator.spec.findings import Finding
    from generator.clock import parse_rfc3339

    out = []
    phase = data.get("phase")
    if phase != "stable" and not data.get("canaryImage"):
        out.append(Finding(("phase",), f"a {phase} state needs its canaryImage (the image it is about)"))
    step = data.get("step", 0)
    if phase == "progressing" and isinstance(step, int) and step < 0:
        out.append(Finding(("step",), "a progressing state is at step 0 (its pods, no weight yet) or later"))
    for key in ("since", "lastFailure"):
        value = data.get(key)
        if isinstance(value, str) and value:
            try:
                parse_rfc3339(value)
            except ValueError as exc:
                out.append(Finding((key,), str(exc)))
    return out


def load_state(path: Path, display: str | None = None) -> EnvState | None:
    """The state in the file, None when there is none. ValueError when it is unreadable."""
    data = _read(path)
    return None if data is None else parse_state(data, display or str(path))


def _read(path: Path) -> bytes | None:
    if path.is_symlink():  # rollgen writes regular files only; one leading elsewhere must not steer a release
        raise ValueError("it is a symlink, not the file rollgen wrote")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class Found:
    release: str
    env: str
    state: EnvState | None
    error: str = ""  # why the file could not be read, when state is None
    colour: bool = True  # the file names an activeColour (a blue-green release)


def scan(out_dir: Path) -> Iterator[Found]:
    """Every state file under out_dir/apps, sorted by release then environment."""
    for path in sorted(out_dir.glob(f"apps/*/overlays/*/{STATE_FILE}")):
        release, env = path.parts[-4], path.parts[-2]
        try:
            data = _read(path)
            state = None if data is None else parse_state(data, str(path))
        except (OSError, ValueError) as exc:
            yield Found(release, env, None, str(exc))
            continue
        if state is not None and data is not None:
            yield Found(release, env, state, colour=b"\nactiveColour:" in data)
