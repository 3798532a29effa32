"""A model of the Argo Rollouts controller's canary with traffic routing, as REFERENCE.md ("Live-cluster
semantics, round 3") describes it from argo-rollouts' rollout/trafficrouting.go and rollout/canary.go.

Used to hold rendered steps to what the controller does with them, reconcile by reconcile:
- the canary ReplicaSet is sized to the current step's weight (ceil(replicas * weight / 100); the last setWeight
  at or before the step, 0 if none); it gains one available pod per reconcile here;
- while it is not yet at that count, the route carries the weight of the last setWeight *before* the current
  step, or 0 if there is none; once it is, the current weight;
- managed routes (setHeaderRoute) are removed on every reconcile while the canary has no available pods; a
  setHeaderRoute step adds its route and completes at once;
- a setWeight step completes once the canary is at its count; `pause: {}` waits for a person; a timed pause and
  an analysis complete on the next reconcile (their length does not matter here);
- a change of `steps` during an update restarts at step 0, keeping the canary ReplicaSet as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

Step = dict[str, Any]


@dataclass
class Controller:
    replicas: int
    steps: list[Step]
    index: int = 0
    canary_pods: int = 0  # available pods of the canary ReplicaSet
    weight: int = 0  # what the route sends to the canary
    header_routes: set[str] = field(default_factory=set)
    trace: list[tuple[int, int, frozenset[str]]] = field(default_factory=list)  # (index, weight, routes)

    def commit(self, steps: list[Step]) -> None:
        """git changed `steps` while the update is in progress: the controller starts over at step 0."""
        if steps != self.steps:
            self.steps = steps
            self.index = 0

    def set_weight_at(self, index: int) -> int:
        """The weight of the last setWeight at or before `index` (GetCurrentSetWeight), 0 if none."""
        for step in reversed(self.steps[: index + 1]):
            if "setWeight" in step:
                return int(step["setWeight"])
        return 0

    def desired_pods(self) -> int:
        if self.index >= len(self.steps):
            return self.replicas
        return math.ceil(self.replicas * self.set_weight_at(self.index) / 100)

    def reconcile(self) -> None:
        desired = self.desired_pods()
        at_count = self.canary_pods == desired
        if self.index >= len(self.steps):
            self.weight = 100 if at_count else self.set_weight_at(len(self.steps) - 1)
        elif at_count:
            self.weight = self.set_weight_at(self.index)
        else:
            self.weight = self.set_weight_at(self.index - 1) if self.index else 0
        if self.canary_pods == 0:
            self.header_routes.clear()
        step = self.steps[self.index] if self.index < len(self.steps) else None
        if step is not None and "setHeaderRoute" in step:
            self.header_routes.add(step["setHeaderRoute"]["name"])
        self.trace.append((self.index, self.weight, frozenset(self.header_routes)))
        # the ReplicaSet moves toward its count (one pod becomes available per reconcile)
        if self.canary_pods < desired:
            self.canary_pods += 1
        elif self.canary_pods > desired:
            self.canary_pods -= 1
        if step is not None and self._completed(step, at_count):
            self.index += 1

    def _completed(self, step: Step, at_count: bool) -> bool:
        if "setWeight" in step:
            return at_count
        if "pause" in step:
            return bool(step["pause"])  # a timed pause ends; `pause: {}` waits for a person
        return True  # setHeaderRoute, analysis (passing)

    def run(self, limit: int = 200) -> None:
        """Reconcile until the Rollout waits at a `pause: {}` or has completed its steps."""
        for _ in range(limit):
            self.reconcile()
            waiting = self.index < len(self.steps) and self.steps[self.index].get("pause") == {}
            if waiting and self.canary_pods == self.desired_pods():
                self.reconcile()  # the pause itself, as the route holds it
                return
            if self.index >= len(self.steps) and self.canary_pods == self.replicas:
                self.reconcile()
                return
        raise AssertionError(f"the model did not settle: {self.trace[-5:]}")
