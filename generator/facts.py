"""What an engine is and can do, as plain data: the spec checks, the model and the Engine records
(generator/render/engines) all read these, so each fact is said once.

No records and no imports of the package: `rollgen validate` checks a spec against these without importing the
model (generator/model.py) or any renderer (tests/spec/test_schemacheck.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

# "deployments" is plain Deployments whose weights git writes; a spec may still say "nginx" for it (the spec layer
# reads that as deployments once: generator.spec.findings.engine_name).
EngineName = Literal["argo-rollouts", "flagger", "deployments"]
Progression = Literal["git", "controller"]
Colour = Literal["blue", "green"]  # blue-green: the two sides; EnvState.active_colour serves stable


def other_colour(colour: Colour) -> Colour:
    """The other side of a blue-green pair: the idle one, or the one a promotion switches to."""
    return "green" if colour == "blue" else "blue"


def engine_label(engine: EngineName) -> str:
    """The engine's name where it reaches output: Argo CD ApplicationSet params, the commit-message template's
    `engine`, and message text. Plain Deployments kept the name "nginx" there when the engine was renamed inside
    (users' ApplicationSet and message templates may read it), so output stays byte-identical."""
    return "nginx" if engine == "deployments" else engine


# Who may step the canary, the default first: git (one commit a step) or the engine's own controller.
PROGRESSIONS: dict[EngineName, tuple[Progression, ...]] = {
    "deployments": ("git",),  # no controller
    "argo-rollouts": ("controller", "git"),
    "flagger": ("controller",),  # Flagger steps the canary by itself
}


def default_progression(engine: EngineName) -> Progression:
    return PROGRESSIONS[engine][0]


# The strategy kinds (spec.strategy's keys) an engine renders: A/B tests are Flagger's mode.
STRATEGIES: dict[EngineName, tuple[str, ...]] = {
    "deployments": ("canary", "blueGreen"),
    "argo-rollouts": ("canary", "blueGreen"),
    "flagger": ("canary", "blueGreen", "abTest"),
}

# What an engine does that the checks, the planner or the renderers must know, by name (see TRAITS).
Trait = Literal[
    "git-replicas",  # git writes every Deployment's replicas (two tracks or two colours): no HPA, two-commit promotion
    "one-clock",  # one analysis interval steps the canary: every step paused for exactly that interval
    "load-test",  # analysis.loadTest: Flagger's rollout webhook to flagger-loadtester
    "match-or-weight",  # a canary routes by header/cookie match (A/B) or by weight steps, never both
    "switches-itself",  # blue-green switches once its analysis passes: cannot wait for a person
    "sticky",  # strategy.canary.sticky (session affinity keeps canary clients there)
    "preview-traffic",  # a blue-green preview Ingress reaches the new version (the metrics can measure it)
    "preview-route",  # rollgen writes the preview host's route, whatever the router (Flagger writes its own)
    "owns-canary-route",  # the controller edits the canary's route itself (Argo Rollouts' trafficRouting)
    "latency-template",  # the built-in latency is a template of our own (Flagger's request-duration differs)
    "cookie-header-as-cookie",  # a header match on `cookie` is read as the cookie condition (Flagger's nginx)
    "header-route-whole-host",  # Istio header routes match the header only, not the path (Argo Rollouts)
    "scales-target",  # the controller sets its target Deployment's replicas (Flagger: to 0 after a promotion)
]
TRAITS: dict[EngineName, frozenset[Trait]] = {
    "deployments": frozenset({"git-replicas", "sticky", "preview-traffic", "preview-route"}),
    "argo-rollouts": frozenset(
        {"sticky", "preview-traffic", "preview-route", "owns-canary-route", "header-route-whole-host"}
    ),
    "flagger": frozenset(
        {"one-clock", "load-test", "match-or-weight", "switches-itself", "latency-template", "cookie-header-as-cookie",
         "scales-target"}
    ),
}


def has(engine: EngineName, trait: Trait) -> bool:
    return trait in TRAITS[engine]


# The Services of a release by strategy kind (an A/B test has a canary's), as the roles generator.names turns
# into names ("release" is N itself); and the one in front of a canary's stable pods (what maxIncrease reads).
SERVICES: dict[EngineName, dict[str, tuple[str, ...]]] = {
    "deployments": {"canary": ("release", "canary"), "blueGreen": ("release", "preview")},
    "argo-rollouts": {"canary": ("stable", "canary"), "blueGreen": ("active", "preview")},
    "flagger": {"canary": ("release", "primary", "canary"), "blueGreen": ("release", "primary", "canary")},
}
STABLE_SERVICE: dict[EngineName, str] = {"deployments": "release", "argo-rollouts": "stable", "flagger": "primary"}

DEFAULT_INTERVAL = 60  # analysis.interval, in seconds, when neither the spec nor (Flagger) a step pause sets it
DEFAULT_FAILURE_LIMIT = 1  # analysis.failureLimit, and the failed checks Flagger tolerates without analysis


def flagger_interval(explicit: int | None, pauses: Iterable[int | None]) -> int | None:
    """A one-clock engine's clock (Flagger's analysis interval): `analysis.interval` when set, else the steps'
    pause (the first one set: the checks hold them all equal); None when neither says, for the caller's default.
    Shared by the model (spec.build), the Canary (render/engines/flagger.py) and the checks
    (spec.enginechecks.release_flagger_interval)."""
    if explicit is not None:
        return explicit
    return next((pause for pause in pauses if pause), None)


BUILTIN_METRICS = ("error-rate", "latency")
INCREASE_SUFFIX = "-increase"


def metric_key(name: str, increase: bool) -> str:
    return name + INCREASE_SUFFIX if increase else name
