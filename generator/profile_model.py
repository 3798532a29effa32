"""The parts of the model a profile sets (steps, autoscaling, labels), and how a spec's data becomes them.

Every `rollgen validate` builds the profiles (spec/profiles.py), never a release: these records live apart from
generator/model.py, which re-exports them, so the validate path does not import the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from generator import durations
from generator.records import dataclass

Labels = tuple[tuple[str, str], ...]  # sorted (key, value) pairs: hashable and deterministic


@dataclass(frozen=True)
class Step:
    weight: int  # 1..99, percent of traffic to the canary
    pause: int | None  # seconds to hold before the next step; None waits for `rollgen promote`


@dataclass(frozen=True)
class Autoscaling:
    min_replicas: int
    max_replicas: int
    cpu_utilization: int  # target average CPU percent


def build_steps(steps: Sequence[Mapping[str, Any]]) -> tuple[Step, ...]:
    return tuple(Step(weight=step["weight"], pause=optional_seconds(step.get("pause"))) for step in steps)


def build_autoscaling(scaling: Mapping[str, Any] | None) -> Autoscaling | None:
    if scaling is None:
        return None
    return Autoscaling(
        min_replicas=scaling["minReplicas"],
        max_replicas=scaling["maxReplicas"],
        cpu_utilization=scaling["cpu"],
    )


def optional_seconds(text: str | None) -> int | None:
    return None if text is None else durations.parse(text)


def sorted_labels(labels: Mapping[str, str]) -> Labels:
    return tuple(sorted(labels.items()))
