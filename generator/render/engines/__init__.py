"""The engine seam: what decides *when* traffic moves (git commits, Argo Rollouts, Flagger), one record an engine.

`engine_for(release.engine)` is what callers ask instead of comparing engine names: its renderer (a pure function
from (release, environment, state) to Kubernetes objects) and the objects each side of the state runs
(`render_sides`, `config_readers`: the deployments engine's two tracks), its default progression and strategies,
its Services and the workload that runs the new version, the Flux health check and the longest time it stays
in progress on its own, and whether a promotion takes two commits. The facts the spec checks need too live in
generator/facts.py, which the record reads.

Adding an engine is one module (`render`, `render_sides`, `config_readers`, `new_version`, `longest_wait`,
`HEALTH_CHECK`, `by_hand`, `rolling_marker`, `rolling_outage`), one line in `ENGINES`, its entries in
generator/facts.py and the schema's `spec.engine` enum. Modules are imported on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from generator.records import dataclass
from types import ModuleType
from typing import Any

from generator import facts, names
from generator.facts import Colour, EngineName, Progression
from generator.model import EnvState, Environment, Image, Release

Manifest = dict[str, Any]


@dataclass(frozen=True)
class ImageSlot:
    """A container image the overlay sets through kustomize `images:`.

    Renderers write `name` (a placeholder such as "hello" or "hello-canary") as the container image, so that
    the environment's real image lives in the overlay's `images:` where image-updating tools edit it.
    """

    name: str
    image: Image


@dataclass(frozen=True)
class Rendered:
    manifests: tuple[Manifest, ...]  # complete objects for one environment, metadata.namespace set
    images: tuple[ImageSlot, ...]
    # Extra files the base needs besides resources, e.g. kustomize `configurations:` for Rollouts:
    # file name -> document. Written once per release into the base.
    kustomize_configurations: tuple[tuple[str, Manifest], ...] = ()


Renderer = Callable[[Release, Environment, EnvState], Rendered]


@dataclass(frozen=True)
class Engine:
    """One engine, as every caller outside this package asks about it."""

    name: EngineName
    module: str  # the module that renders it, imported on first use

    def _impl(self) -> ModuleType:
        return importlib.import_module(self.module)

    @property
    def render(self) -> Renderer:
        """The engine's objects for one environment, every pod running the environment's own inputs."""
        render: Renderer = self._impl().render
        return render

    def render_sides(self, render: Renderer, release: Release, env: Environment, state: EnvState) -> Rendered:
        """The engine's objects with each side running the pod inputs the state records for it (`render`: this
        engine's renderer, as the caller holds it)."""
        rendered: Rendered = self._impl().render_sides(render, release, env, state)
        return rendered

    def config_readers(self, release: Release, env: Environment, state: EnvState) -> list[tuple[str, Environment]]:
        """(the name its config generators take, the environment whose config they hold) per workload that reads
        config (render/workload_render.py)."""
        readers: list[tuple[str, Environment]] = self._impl().config_readers(release, env, state)
        return readers

    @property
    def default_progression(self) -> Progression:
        return facts.default_progression(self.name)

    @property
    def strategies(self) -> tuple[str, ...]:
        return facts.STRATEGIES[self.name]

    @property
    def two_commit_promotion(self) -> bool:
        """The engine holds traffic (canary) or the old colour (blue-green) while the new stable pods roll out,
        so a git promotion takes two commits; a controller does both itself."""
        return facts.has(self.name, "git-replicas")

    @property
    def owns_canary_route(self) -> bool:
        """Whether its controller edits a canary's route after git wrote it (render/route_changes.py)."""
        return facts.has(self.name, "owns-canary-route")

    @property
    def scales_its_deployments(self) -> bool:
        """Whether its controller sets the replicas of the Deployments git declares (Flagger scales its target to 0
        after a promotion), so a GitOps controller must leave them alone (wiring/argocd.py's ignoreDifferences)."""
        return facts.has(self.name, "scales-target")

    def services(self, kind: str, name: str) -> tuple[str, ...]:
        return names.services(self.name, kind, name)

    def stable_service(self, name: str) -> str:
        return names.stable_version(self.name, name)

    def new_version(self, name: str, blue_green: bool, active_colour: Colour) -> str:
        """The workload running the new version (Flagger's `{{ target }}`)."""
        target: str = self._impl().new_version(name, blue_green, active_colour)
        return target

    @property
    def health_check(self) -> Mapping[str, str] | None:
        """Flux's healthCheckExprs entry for the object the controller reports on; None: Deployments, which Flux
        knows."""
        check: Mapping[str, str] | None = self._impl().HEALTH_CHECK
        return check

    def longest_wait(self, release: Release, env: Environment) -> int:
        """Seconds the engine may report InProgress after a commit without anything being wrong."""
        seconds: int = self._impl().longest_wait(release, env)
        return seconds

    def by_hand(self, release: Release, env: Environment, verb: str) -> str:
        """How a person does `verb` (promote, abort) to a release its controller progresses."""
        how: str = self._impl().by_hand(release, env, verb)
        return how

    def rolling_marker(self, release: Release) -> tuple[str, str]:
        """(kind, name) of the engine's object that a rolling-update overlay deletes (gitops/strategy_switch.py)."""
        kind, name = self._impl().rolling_marker(release)
        return str(kind), str(name)

    def rolling_outage(self, release: Release, to_rolling: bool) -> str:
        """What switching a released environment to (or from) a rolling update in one commit would break."""
        outage: str = self._impl().rolling_outage(release, to_rolling)
        return outage


ENGINES: dict[EngineName, Engine] = {
    "deployments": Engine("deployments", "generator.render.engines.deployments"),
    "argo-rollouts": Engine("argo-rollouts", "generator.render.engines.argo_rollouts"),
    "flagger": Engine("flagger", "generator.render.engines.flagger"),
}


def engine_for(name: EngineName) -> Engine:
    return ENGINES[name]


def renderer_for(engine: EngineName) -> Renderer:
    return ENGINES[engine].render
