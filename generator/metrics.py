"""Every environment's state in the Prometheus text format (version 0.0.4): `rollgen status --format prometheus`,
and the file `advance --all --metrics-file PATH` writes for node-exporter's textfile collector.

Read from the state files (and, for the cluster label, the specs they name), never from history. The names and
the status encoding follow Flagger's (`flagger_canary_status`: 0 running, 1 succeeded, 2 failed; its weight is
the canary's share), so that alerts written for Flagger port by renaming the metric. docs/notifications.md
lists them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from generator.atomic import replace_file
from generator.model import EnvState
from generator.placement import UNKNOWN, Placement, of_release
from generator.render.state import Found

if TYPE_CHECKING:
    from generator.spec.config import Config

# name: (help, type)
METRICS = {
    "rollgen_canary_weight": "The canary's share of the traffic in percent (0 when no canary is in flight).",
    "rollgen_canary_status": "Last known status, as Flagger encodes it: 0 running (in flight or waiting), "
                             "1 succeeded (stable), 2 failed (aborted or rolled back).",
    "rollgen_canary_step": "The current step of the canary in flight (0 when none is).",
    "rollgen_canary_steps": "How many steps the canary has.",
    "rollgen_canary_gate_failures": "Failed gate checks counted in the current step.",
    "rollgen_canary_last_action_timestamp_seconds": "When the last action on the environment happened (its state's since).",
    "rollgen_canary_info": "Always 1; the phase and the images as labels.",
}
TICK_METRICS = {
    "rollgen_tick_last_run_timestamp_seconds": "When `advance --all` last ran to its end.",
    "rollgen_tick_last_success_timestamp_seconds": "When `advance --all` last ran with no environment failing.",
    "rollgen_tick_failures": "Environments that failed in the last `advance --all`.",
    "rollgen_tick_moved": "Environments that moved (one commit each) in the last `advance --all`.",
}
STATUS = {"stable": 1, "aborted": 2, "rolled-back": 2, "rollback": 2}  # anything else in flight or waiting: 0


def status_code(state: EnvState) -> int:
    return STATUS.get(state.phase, 0)


def exposition(root: Path, output_dir: Path, found: Sequence[Found], tick: dict[str, float] | None = None,
               waiting: Collection[tuple[str, str]] = ()) -> str:
    """The text: every metric's HELP and TYPE, then a sample per environment; the tick's metrics when given.
    `root`: the repository (specs are read from it); `output_dir`: where apps/ is. `waiting`: the (release,
    environment) pairs held for their upstream (`after:`): phase waiting and status 0, as `status` shows them,
    whatever their last state (an aborted canary's 2 would keep a `> 1` alert firing while the next version
    waits)."""
    where = {name: of_release(root, output_dir / "apps" / name) for name in sorted({f.release for f in found})}
    samples: dict[str, list[str]] = {name: [] for name in METRICS}
    for entry in found:
        if entry.state is not None:
            placement = where.get(entry.release, {}).get(entry.env, UNKNOWN)
            _samples(samples, entry, entry.state, placement, (entry.release, entry.env) in waiting)
    lines = []
    for name, help_text in METRICS.items():
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", *samples[name]]
    for name, value in (tick or {}).items():
        lines += [f"# HELP {name} {TICK_METRICS[name]}", f"# TYPE {name} gauge", f"{name} {_number(value)}"]
    return "\n".join(lines) + "\n"


def _samples(out: dict[str, list[str]], entry: Found, state: EnvState, placement: Placement, waits: bool) -> None:
    labels = {"release": entry.release, "environment": entry.env, "cluster": placement.cluster}
    in_flight = state.in_flight
    values = {
        "rollgen_canary_weight": state.weight if in_flight else 0,
        "rollgen_canary_status": 0 if waits else status_code(state),
        "rollgen_canary_step": state.step if in_flight else 0,
        "rollgen_canary_steps": state.steps or None,  # 0: a state file from before the count was kept
        "rollgen_canary_gate_failures": state.failures,
        "rollgen_canary_last_action_timestamp_seconds": _seconds(state.since),
    }
    for name, value in values.items():
        if value is not None:
            out[name].append(f"{name}{_labels(labels)} {_number(value)}")
    info = {**labels, "phase": "waiting" if waits else state.phase, "stable_image": state.stable_image.ref,
            "canary_image": state.canary_image.ref if state.canary_image and in_flight else ""}
    out["rollgen_canary_info"].append(f"rollgen_canary_info{_labels(info)} 1")


def _seconds(since: str) -> float | None:
    from generator.clock import parse_time

    try:
        return parse_time(since).timestamp() if since else None
    except (ValueError, OverflowError):
        return None


def _labels(labels: dict[str, str]) -> str:
    """`{a="x",b="y"}`, values escaped as the text format wants (backslash, double quote, newline)."""
    def escaped(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return "{" + ",".join(f'{key}="{escaped(value)}"' for key, value in labels.items()) + "}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


# -- the file for the textfile collector ------------------------------------------------------------------------


def write_after_tick(path: Path, config: Config, failed: int, moved: int,
                     waiting: Collection[tuple[str, str]] = ()) -> None:
    """`advance --all --metrics-file`: every environment's state after the tick, with the tick's own figures.
    The clock, not --now: the collector and its alerts compare these times with Prometheus' own. A tick with a
    failure keeps the last success time the file held."""
    import time

    from generator.errors import RollgenError
    from generator.render.state import scan

    now = time.time()
    success = previous_success(path) if failed else now
    tick = {"rollgen_tick_last_run_timestamp_seconds": now}
    if success is not None:
        tick["rollgen_tick_last_success_timestamp_seconds"] = success
    tick["rollgen_tick_failures"] = failed
    tick["rollgen_tick_moved"] = moved
    try:
        text = exposition(config.root, config.output_dir, list(scan(config.output_dir)), tick, waiting)
        replace_file(path, text.encode("utf-8"))
    except OSError as exc:
        raise RollgenError(f"--metrics-file {path}: cannot write it: {exc.strerror or exc}") from None


def previous_success(path: Path) -> float | None:
    """rollgen_tick_last_success_timestamp_seconds as the file last said it: kept through a failing tick."""
    try:
        lines: Iterable[str] = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines:
        name, _, value = line.partition(" ")
        if name == "rollgen_tick_last_success_timestamp_seconds":
            try:
                return float(value)
            except ValueError:
                return None
    return None
