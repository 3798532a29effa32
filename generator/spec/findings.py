"""What every rule module of the spec layer shares: a problem before it is located (Finding), the document it is
located in (Located), and the readings of the spec that several rule modules make (the engine, the strategy).

The rule modules (checks, routerchecks, workload_checks with security_checks and patch_checks, profiles, schema)
import this one and never each other upward, so no two of them form an import cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, cast

from generator.errors import Problem, json_path
from generator.facts import EngineName, Progression, default_progression
from generator.spec.report import suggest

if TYPE_CHECKING:
    from generator.spec.profiles import Profile

JsonPath = tuple[str | int, ...]
Data = dict[str, Any]
# What the overlays of a spec would hold, environment name -> objects (generator.render.loading.generated_objects),
# for the patch-target rule: only the render layer can say, so it is passed down to the spec layer's rules.
Generated = Callable[[Data, Mapping[str, "Profile"]], Mapping[str, Sequence[Mapping[str, Any]]]]


class Located(Protocol):
    """What the checks need from a loaded document (generator.spec.loader.Document)."""

    @property
    def data(self) -> Any: ...

    @property
    def source(self) -> str: ...

    def locate(self, path: JsonPath) -> tuple[int, int]: ...

    def locate_key(self, path: JsonPath) -> tuple[int, int]: ...


# Declared by a call, the field types as objects (see generator.errors.Problem); at_key's default comes from __new__.
class Finding(NamedTuple("Finding", [("path", JsonPath), ("message", str), ("at_key", bool)])):
    """A problem before it is located: the path, the message, and whether to point at the key itself."""

    __slots__ = ()

    def __new__(cls, path: JsonPath, message: str, at_key: bool = False) -> Finding:
        return super().__new__(cls, path, message, at_key)


def closest(word: str, choices: Sequence[str]) -> str | None:
    """The choice `word` was probably meant to be, if one is close enough (and is not `word` itself)."""
    match = suggest(word, choices)
    return match if match != word else None


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """`; did you mean 'X'?` when a choice is close to `word`, else ''."""
    match = closest(word, choices)
    return f"; did you mean {match!r}?" if match else ""


def locate(doc: Located, finding: Finding) -> Problem:
    line, column = doc.locate_key(finding.path) if finding.at_key else doc.locate(finding.path)
    return Problem(doc.source, line, column, json_path(finding.path), finding.message)


# A custom query's Flagger-style `{{ ingress }}`: only an ingress-nginx Ingress gives it a value (checks, routerchecks).
INGRESS_PLACEHOLDERS = ("{{ ingress }}", "{{ingress}}")


def strategy_kind(data: Data) -> str:
    return str(next(iter(data["spec"]["strategy"])))


def model_engine(word: str) -> EngineName:
    """The engine as the model names it. The one place a spec's (or `rollgen init --engine`'s) `nginx` becomes
    `deployments`: they are one engine (plain Deployments, weights from git); in a spec, `nginx` also fixes the
    router (spec.routerchecks)."""
    return "deployments" if word == "nginx" else cast(EngineName, word)


def engine_name(data: Data) -> EngineName:
    """spec.engine as the model names it."""
    return model_engine(data["spec"]["engine"])


def with_engine_name(data: Data) -> Data:
    """The document with spec.engine as the model names it (a shallow copy; paths stay the same)."""
    name = engine_name(data)
    if name == data["spec"]["engine"]:
        return data
    return {**data, "spec": {**data["spec"], "engine": name}}


def chosen_progression(data: Data) -> Progression:
    """spec.progression, or the engine's default (deployments: git; argo-rollouts and flagger: controller)."""
    spec = data["spec"]
    return cast(Progression, spec.get("progression", default_progression(engine_name(data))))


BOUNDS = ("max", "min", "maxIncrease")


def metric_key_of(metric: Mapping[str, Any]) -> str:
    """model.Metric.key of a metric's data: `error-rate` with max, `error-rate-increase` with maxIncrease."""
    from generator.facts import metric_key

    return metric_key(str(metric["name"]), "maxIncrease" in metric)


def environment_analysis(release: Mapping[str, Any] | None, entry: Mapping[str, Any]) -> dict[str, Any] | None:
    """environments[].analysis merged over spec.analysis (None: the release has none and the entry adds none).
    Settings replace the release's; a metric with the key of one of the release's (its name, `-increase` with
    maxIncrease) replaces its bounds when it gives any (and its query when it gives one); other metrics are added
    after the release's."""
    own = entry.get("analysis")
    if own is None:
        return dict(release) if release is not None else None
    merged: dict[str, Any] = {**(release or {}), **{k: v for k, v in own.items() if k != "metrics"}}
    metrics = [dict(m) for m in (release or {}).get("metrics", [])]
    for metric in own.get("metrics", []):
        index = next((i for i, m in enumerate(metrics) if metric_key_of(m) == metric_key_of(metric)), None)
        if index is None:
            metrics.append(dict(metric))
            continue
        kept = metrics[index]
        if any(bound in metric for bound in BOUNDS):
            kept = {k: v for k, v in kept.items() if k not in BOUNDS}
        metrics[index] = {**kept, **metric}
    merged["metrics"] = metrics
    return merged
