"""Gates: what must hold before `rollgen advance` moves traffic further.

This is the one place `advance` asks "may the canary go on?". Metric gates (issue 6) query the release's
`analysis` metrics for the canary since `state.since` and fail when a threshold is crossed; until then every
gate passes and says so. Only `advance` consults gates: `promote` is a person's decision and overrides them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from generator.model import EnvState, Environment, Release


@dataclass(frozen=True)
class GateResult:
    passed: bool
    reason: str  # one line: why it passed or failed, shown to the user and written into the commit body


def evaluate(release: Release, env: Environment, state: EnvState, now: datetime) -> GateResult:
    if release.analysis is None:
        return GateResult(True, "no analysis configured")
    return GateResult(True, "metric gates are not evaluated yet (issue 6)")
