"""Argo Rollouts engine: a Rollout routed by ingress-nginx, its Services and Ingresses, an AnalysisTemplate.

What each progression writes (DESIGN.md "State -> output"):

Canary, git progression. The controller restarts the canary at step 0 whenever `steps` change during an
update, so one commit per weight writes `steps: [{setWeight: W}, {pause: {}}]` and the controller moves traffic
to W and holds it (from the second step on the previous weight comes first: see `git_steps`). Promotion
writes `[{setWeight: 100}]` (the update completes); abort puts the stable image
back in the template, which the controller treats as a rollback and skips the steps. No analysis is written
into the Rollout here: between commits `rollgen advance` is the gate (it can use the router's queries).

Canary, controller progression. The environment's steps become `setWeight` / `analysis` / `pause` steps, see
`_controller_steps` for how analysis and pauses share a step's time.

Blue-green. The Rollout has no steps; the controller starts the new version behind `N-preview` and switches
`N-active` when it promotes. Git can only express promotion through the spec, and it can: the controller keeps
its blue-green pause only while `needsBlueGreenControllerPause` holds, i.e. `autoPromotionEnabled: false` or
`autoPromotionSeconds > 0` (argo-rollouts rollout/bluegreen.go: reconcileBlueGreenPause removes the pause
condition otherwise). So with git progression a release commit writes the new image with
`autoPromotionEnabled: false` (the preview waits), and the promotion commit, whose template image is the same,
flips it to `true` with no `autoPromotionSeconds`: the controller then drops the pause and switches, after a
prePromotionAnalysis if there is one. That flag is the only change in that commit; it is the documented
field, not a status patch. An abort commit puts the stable image back (a rollback: the old ReplicaSet is still
active, so there is no pause to wait for). With controller progression `autoPromotion` maps to
`autoPromotionEnabled: true` + `autoPromotionSeconds` (the seconds only work with the flag true or unset,
argo-rollouts issue 2000); without it the controller waits for `kubectl argo rollouts promote`.
"""

from __future__ import annotations

import math
from typing import Any

from generator import durations, names
from generator.render.routers.promql import rate_window, substitute
from generator.render.engines import ImageSlot, Manifest, Rendered, common, sides
from generator.render.routers import RolloutRouting, Split, Switch, Traffic, name_reference, query, router_for
from generator.model import (
    Analysis,
    BlueGreenStrategy,
    CanaryStrategy,
    Environment,
    EnvState,
    Image,
    Metric,
    SecretRef,
    Release,
    Step,
)

API_VERSION = "argoproj.io/v1alpha1"
CONFIG_FILE = "kustomizeconfig-rollout.yaml"

JSON = dict[str, Any]


def render(release: Release, env: Environment, state: EnvState) -> Rendered:
    strategy = release.strategy
    if isinstance(strategy, CanaryStrategy):
        manifests = _canary(release, env, state, strategy)
    elif isinstance(strategy, BlueGreenStrategy):
        manifests = _blue_green(release, env, state, strategy)
    else:
        raise ValueError(f"argo-rollouts has no {strategy.kind} strategy (A/B tests are Flagger only)")
    hpa = common.hpa(release.name, "Rollout", API_VERSION, release, env)
    if hpa is not None:
        manifests.append(hpa)
    return Rendered(
        manifests=tuple(manifests),
        images=(ImageSlot(release.name, running_image(state)),),
        kustomize_configurations=(
            (CONFIG_FILE, kustomize_config()), *router_for(release.router).kustomize_configurations
        ),
    )


def running_image(state: EnvState) -> Image:
    """The image the pod template runs: the canary's while one is progressing, the stable one otherwise."""
    if state.phase == "progressing" and state.canary_image is not None:
        return state.canary_image
    return state.stable_image


# Canary


def _canary(release: Release, env: Environment, state: EnvState, strategy: CanaryStrategy) -> list[Manifest]:
    # With git progression `rollgen advance` gates each commit; the Rollout itself runs no analysis.
    analysis = release.analysis if release.progression == "controller" else None
    count = measurements(analysis, tuple(s.pause for s in env.steps if s.pause)) if analysis else 0
    pod_selector = common.selector(release)
    stable = names.stable(release.name)
    # what the router declares for the controller: the stable Ingress, or the HTTPRoute / VirtualService at 100/0
    split = Split(stable, names.canary(release.name), 0)
    routing = router_for(release.router).rollout_canary(release, env, strategy, split)
    manifests = [
        _rollout(release, env, {"canary": _canary_strategy(release, env, state, routing, analysis, count)}),
        common.service(stable, release, env, pod_selector),
        common.service(names.canary(release.name), release, env, pod_selector),
        *routing.objects,
    ]
    if analysis:
        manifests.append(analysis_template(release, env, analysis, count, blue_green=False))
    return manifests


def _canary_strategy(
    release: Release,
    env: Environment,
    state: EnvState,
    routing: RolloutRouting,
    analysis: Analysis | None,
    count: int,
) -> JSON:
    if release.progression == "git":
        steps = with_header_routes(git_steps(env, state), routing)
    else:
        steps = after_first_weight(_controller_steps(release, env.steps, analysis, count), routing)
    return {
        "canaryService": names.canary(release.name),
        "stableService": names.stable(release.name),
        # No maxSurge/maxUnavailable: the controller ignores both when trafficRouting is set (it sizes the canary
        # ReplicaSet to the weight and keeps the stable one whole), so writing them would only mislead.
        "trafficRouting": routing.traffic_routing,
        "steps": steps,
    }


def with_header_routes(steps: list[JSON], routing: RolloutRouting) -> list[JSON]:
    """While a git step holds a weight, the router's header routes (setHeaderRoute) hold too: after the live
    setWeight, before the pause. The controller removes managed routes while the canary has no available pods,
    and a setWeight step completes only once the canary has its pods, so the routes stay."""
    if not routing.header_routes or "pause" not in steps[-1]:
        return steps  # a promotion: the update completes, and the controller drops its routes
    return [*steps[:-1], *(_copy(route) for route in routing.header_routes), steps[-1]]


def after_first_weight(steps: list[JSON], routing: RolloutRouting) -> list[JSON]:
    """Controller progression: the header routes (setHeaderRoute) right after the first setWeight. Before it the
    canary has no pods yet, and the controller would remove the routes on its next reconcile for good."""
    if not routing.header_routes:
        return steps
    first = next(index for index, step in enumerate(steps) if "setWeight" in step)
    return [*steps[: first + 1], *(_copy(route) for route in routing.header_routes), *steps[first + 1:]]


def git_steps(env: Environment, state: EnvState) -> list[JSON]:
    """One weight per commit: the last setWeight is the live weight (CONTRACT section 3).

    A commit changes `steps`, so the controller starts over at step 0 and scales the canary to the new weight's
    count; until it has, it routes the last setWeight *before* the current step, or 0 if there is none. The
    previous step's weight therefore comes first: the canary keeps it while it scales, then takes the new one."""
    if state.phase == "progressing":
        weight = state.live_weight(env)
        held = _previous_weight(env, state)
        first = [{"setWeight": held}] if 0 < held < weight else []
        return [*first, {"setWeight": weight}, {"pause": {}}]
    if state.phase == "aborted":
        return [{"setWeight": 0}, {"pause": {}}]
    # stable (and nginx's promoting, which Rollouts do not have); a promotion holds the weight it was promoted from
    held = state.weight if state.phase == "stable" and 0 < state.weight < 100 else 0
    return [*([{"setWeight": held}] if held else []), {"setWeight": 100}]


def _previous_weight(env: Environment, state: EnvState) -> int:
    """The weight the commit before this one routed: the environment's previous step, 0 at the first."""
    return env.steps[state.step - 2].weight if 2 <= state.step <= len(env.steps) + 1 else 0


def longest_step_seconds(release: Release, env: Environment) -> int:
    """The longest the controller itself keeps the Rollout busy after a commit: a step's pause plus its analysis
    (controller progression), a blue-green's auto-promotion wait plus its prePromotionAnalysis. Git progression
    writes no timed pause and no step analysis: 0 there, except blue-green's prePromotionAnalysis."""
    analysis, strategy = release.analysis, release.strategy
    if isinstance(strategy, BlueGreenStrategy):
        measured = measurements(analysis, ()) * analysis.interval if analysis else 0
        wait = strategy.auto_promotion or 0 if release.progression == "controller" else 0
        return wait + measured
    if release.progression != "controller":
        return 0
    pauses = tuple(s.pause for s in env.steps if s.pause)
    measured = measurements(analysis, pauses) * analysis.interval if analysis else 0
    return max((step.pause or 0) + measured for step in env.steps) if env.steps else measured


def _controller_steps(
    release: Release, steps: tuple[Step, ...], analysis: Analysis | None, count: int
) -> list[JSON]:
    """setWeight, then (with analysis) a step analysis, then whatever is left of the pause.

    The analysis blocks the Rollout while it measures, so it is the first part of the pause rather than an
    addition to it: a step with `pause: P` holds its weight max(P, count * interval) and is measured for
    count * interval (see `measurements`). A step without a pause is measured, then waits for a person.
    """
    covered = count * analysis.interval if analysis else 0
    out: list[JSON] = []
    for step in steps:
        out.append({"setWeight": step.weight})
        if analysis:
            out.append({"analysis": analysis_ref(release, analysis, blue_green=False)})
        out.extend(_pause(step.pause, covered))
    return out


def _pause(pause: int | None, covered: int) -> list[JSON]:
    if pause is None:
        return [{"pause": {}}]
    remaining = pause - covered
    return [{"pause": {"duration": durations.format_go(remaining)}}] if remaining > 0 else []


# Blue-green


def _blue_green(
    release: Release, env: Environment, state: EnvState, strategy: BlueGreenStrategy
) -> list[Manifest]:
    pod_selector = common.selector(release)
    preview = names.preview(release.name)  # the preview Service, and the route of the preview host
    switch = Switch(names.active(release.name), preview, env.preview_host, preview)
    manifests = [
        _rollout(release, env, {"blueGreen": _blue_green_strategy(release, state, strategy)}),
        common.service(names.active(release.name), release, env, pod_selector),
        common.service(names.preview(release.name), release, env, pod_selector),
        *router_for(release.router).rollout_blue_green(release, env, switch),
    ]
    if release.analysis:
        count = measurements(release.analysis, ())
        manifests.append(analysis_template(release, env, release.analysis, count, blue_green=True))
    return manifests


def _blue_green_strategy(release: Release, state: EnvState, strategy: BlueGreenStrategy) -> JSON:
    spec: JSON = {"activeService": names.active(release.name), "previewService": names.preview(release.name)}
    if release.progression == "git":
        # true only once the environment is promoted: see the module docstring.
        spec["autoPromotionEnabled"] = state.phase in ("stable", "promoting")
    else:
        spec["autoPromotionEnabled"] = strategy.auto_promotion is not None
        if strategy.auto_promotion is not None:
            # An unfinished prePromotionAnalysis counts as passed once these seconds are up (Argo's rule).
            spec["autoPromotionSeconds"] = strategy.auto_promotion
    spec["scaleDownDelaySeconds"] = strategy.scale_down_delay
    if release.analysis:
        spec["prePromotionAnalysis"] = analysis_ref(release, release.analysis, blue_green=True)
    return spec


# The Rollout


def _rollout(release: Release, env: Environment, strategy: JSON) -> Manifest:
    spec: JSON = {}
    if env.autoscaling is None:
        spec["replicas"] = env.replicas  # the HPA owns the scale otherwise
    spec["selector"] = {"matchLabels": common.selector(release)}
    spec["template"] = common.pod_template(release, env, release.name)
    spec["strategy"] = strategy
    return {
        "apiVersion": API_VERSION,
        "kind": "Rollout",
        "metadata": common.metadata(release.name, release, env),
        "spec": spec,
    }


# Analysis
#
# The built-in metrics need the namespace and the Ingress whose traffic they judge. Both are passed by the
# Rollout as arguments so that an overlay's `namespace`, `namePrefix` or `nameSuffix` cannot leave the query
# pointing at the old names: the namespace and a canary's stable Ingress are read from the live Rollout
# (`valueFrom.fieldRef`, any Rollout field since Argo Rollouts 1.2), the blue-green preview Ingress is a
# literal that kustomizeconfig-rollout.yaml teaches kustomize to rename.
#
# A custom query may carry Flagger's placeholders (queries.substitute), so one query serves Flagger, the git gate
# and Argo: `{{ namespace }}` and `{{ ingress }}` become these arguments, `{{ service }}` and `{{ target }}` the
# name `N` (the Rollout; the apex of `N-canary`), `{{ interval }}` the analysis interval. Plain replacement of
# exactly those tokens, as the gate does; Argo resolves only its own `{{args.*}}` afterwards.


_NAMESPACE_ARG: JSON = {"name": "namespace", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}


def _measured_arg(release: Release, blue_green: bool) -> JSON:
    """The Rollout's argument naming what is measured (`ingress`; `service` for other routers)."""
    return router_for(release.router).metrics.argument(release, blue_green)


def _traffic(release: Release, blue_green: bool) -> Traffic:
    """The gate's Traffic as the AnalysisTemplate reads it: the namespace and what the built-ins measure are the
    Rollout's arguments; `{{ service }}` and `{{ target }}` are N (its canary pods share the Rollout's name)."""
    router = router_for(release.router)
    subject = "{{args." + _measured_arg(release, blue_green)["name"] + "}}"
    measured = router.measured(release, blue_green)
    stable = "{{args." + _STABLE_ARG["name"] + "}}"
    return Traffic(_ARGS["namespace"], subject, measured.canary_only, release.name, release.name, router.name, stable)


# maxIncrease with a router that measures Services: stable's Service, read from the live Rollout like the canary's.
_STABLE_ARG: JSON = {"name": "stable-service", "valueFrom": {"fieldRef": {"fieldPath": "spec.strategy.canary.stableService"}}}


def _needs_stable(release: Release, analysis: Analysis) -> bool:
    return not router_for(release.router).metrics.shared and any(metric.max_increase for metric in analysis.metrics)


def measurements(analysis: Analysis, pauses: tuple[int, ...]) -> int:
    """The finite `count` of every metric: enough to cover the shortest pause, and more than failureLimit.

    One count for the whole template: per-step counts would need template arguments, which inline step
    analysis does not honour (argo-rollouts issue 3243). Fewer measurements than failureLimit + 1 could
    never fail.
    """
    interval = max(analysis.interval, 1)
    cover = math.ceil(min(pauses) / interval) if pauses else 1
    return max(1, analysis.failure_limit + 1, cover)


def analysis_ref(release: Release, analysis: Analysis, *, blue_green: bool) -> JSON:
    ref: JSON = {"templates": [{"templateName": release.name}]}
    if _needs_args(analysis):
        ref["args"] = [_copy(_NAMESPACE_ARG), _copy(_measured_arg(release, blue_green))]
    if _needs_stable(release, analysis):
        ref.setdefault("args", []).append(_copy(_STABLE_ARG))
    return ref


def analysis_template(
    release: Release, env: Environment, analysis: Analysis, count: int, *, blue_green: bool
) -> Manifest:
    spec: JSON = {}
    if _needs_args(analysis):
        spec["args"] = [{"name": "namespace"}, {"name": _measured_arg(release, blue_green)["name"]}]
    if _needs_stable(release, analysis):
        spec.setdefault("args", []).append({"name": _STABLE_ARG["name"]})
    if analysis.secret is not None:
        spec.setdefault("args", []).append(_secret_arg(analysis.secret))
    traffic = _traffic(release, blue_green)
    spec["metrics"] = [_metric(metric, analysis, count, traffic) for metric in analysis.metrics]
    return {
        "apiVersion": API_VERSION,
        "kind": "AnalysisTemplate",
        # Argo CD applies templates before the Rollout that needs them.
        "metadata": common.metadata(release.name, release, env, {common.SYNC_WAVE: "-1"}),
        "spec": spec,
    }


def _metric(metric: Metric, analysis: Analysis, count: int, traffic: Traffic) -> JSON:
    """One measurement per interval after an initial interval, so the first window already sees the new weight.

    No data (an empty vector, or NaN from 0/0 when nobody reached the new version) is neither success nor
    failure: Inconclusive. Up to count - 1 of those are tolerated; a run that saw no traffic at all is
    Inconclusive and the Rollout pauses for a person instead of promoting or aborting on no evidence.
    """
    interval = durations.format_go(analysis.interval)
    success, failure = conditions(metric)
    return {
        "name": metric.key,
        "interval": interval,
        "initialDelay": interval,
        "count": count,
        "failureLimit": analysis.failure_limit,
        "inconclusiveLimit": count - 1,
        "successCondition": success,
        "failureCondition": failure,
        "provider": {"prometheus": _prometheus(analysis, _query(metric, analysis, traffic))},
    }


# The Secret's key each authentication reads (model.SecretRef), as a template argument: Argo Rollouts resolves it
# from the Secret in the AnalysisRun's namespace, and the header carries it. Argo cannot base64-encode, so basic
# auth reads `basic`, the encoded `username:password`.
_SECRET_KEYS = {"bearer": ("prometheus-token", "token", "Bearer"), "basic": ("prometheus-basic", "basic", "Basic")}


def _secret_arg(secret: SecretRef) -> JSON:
    arg, key, _ = _SECRET_KEYS[secret.type]
    return {"name": arg, "valueFrom": {"secretKeyRef": {"name": secret.name, "key": key}}}


def _prometheus(analysis: Analysis, query: str) -> JSON:
    out: JSON = {"address": analysis.prometheus, "query": query}
    headers = [{"key": name, "value": value} for name, value in analysis.headers]
    if analysis.secret is not None:
        arg, _, scheme = _SECRET_KEYS[analysis.secret.type]
        headers.append({"key": "Authorization", "value": f"{scheme} {{{{args.{arg}}}}}"})
    if headers:
        out["headers"] = headers
    return out


def _query(metric: Metric, analysis: Analysis, traffic: Traffic) -> str:
    # Measured every interval, over at least a minute (queries.rate_window): a 30s window returns no data.
    return query(metric, traffic, durations.format_go(rate_window(analysis.interval)))


# The placeholders that become the Rollout's arguments (the others are N and the window).
_ARGS = {"namespace": "{{args.namespace}}", "ingress": "{{args.ingress}}"}


def _uses_args(query: str) -> bool:
    """Whether a custom query names a placeholder that becomes an argument."""
    return substitute(query, _ARGS) != query


def conditions(metric: Metric) -> tuple[str, str]:
    """(successCondition, failureCondition) from the metric's bounds, both false when there is no data.
    maxIncrease: the query gives the canary's excess over what stable allows, at most 0."""
    bounds = [] if metric.max_increase is None else ["result[0] <= 0"]
    if metric.max is not None:
        bounds.append(f"result[0] <= {_number(metric.max)}")
    if metric.min is not None:
        bounds.append(f"result[0] >= {_number(metric.min)}")
    within = " && ".join(bounds) or "true"
    measured = "len(result) > 0 && !isNaN(result[0])"
    return f"{measured} && {within}", f"{measured} && !({within})"


def _number(value: float) -> str:
    """A plain decimal the expression language reads: 1 -> "1", 0.5 -> "0.5", 1e-05 -> "0.00001"."""
    number = float(value)
    if number.is_integer():
        return str(int(number))
    from decimal import Decimal  # here: only a fractional bound needs it, and it costs ~1 ms at start-up

    return format(Decimal(repr(number)), "f")


def _needs_args(analysis: Analysis) -> bool:
    """The built-ins, and custom queries with `{{ namespace }}` or `{{ ingress }}`, read the arguments."""
    return any(metric.builtin or _uses_args(metric.query or "") for metric in analysis.metrics)


def _copy(data: JSON) -> JSON:
    """A fresh dict tree: a YAML emitter would turn shared objects into anchors and aliases."""
    return {key: _copy(value) if isinstance(value, dict) else value for key, value in data.items()}


# Kustomize


def kustomize_config() -> Manifest:
    """Kustomize `configurations:` teaching it the Rollout's name references, labels and replicas.

    Declared once in the base's kustomization; kustomize carries a base's configurations up into the overlays
    that build it, so `namePrefix`, `nameSuffix`, `namespace` and `labels` in an overlay need nothing extra.
    `images:` needs no entry: kustomize sets images in every `containers` list of any kind.
    """
    return {
        "nameReference": _name_references(),
        "commonLabels": _label_fields(selectors=True),
        "templateLabels": _label_fields(selectors=False),
        "commonAnnotations": [{"path": "spec/template/metadata/annotations", "create": True, "kind": "Rollout"}],
        "replicas": [{"path": "spec/replicas", "create": True, "kind": "Rollout"}],
    }


_ROLLOUT_REFERENCES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    # (kind, group, version, paths in a Rollout)
    ("Service", "", "v1", (
        "spec/strategy/canary/canaryService",
        "spec/strategy/canary/stableService",
        "spec/strategy/blueGreen/activeService",
        "spec/strategy/blueGreen/previewService",
    )),
    ("Ingress", "networking.k8s.io", "v1", (
        "spec/strategy/canary/trafficRouting/nginx/stableIngress",
        "spec/strategy/canary/trafficRouting/nginx/stableIngresses",
        # the blue-green `ingress` analysis argument names the preview Ingress
        "spec/strategy/blueGreen/prePromotionAnalysis/args/value",
        "spec/strategy/blueGreen/postPromotionAnalysis/args/value",
    )),
    ("AnalysisTemplate", "argoproj.io", "v1alpha1", (
        "spec/strategy/canary/analysis/templates/templateName",
        "spec/strategy/canary/steps/analysis/templates/templateName",
        "spec/strategy/blueGreen/prePromotionAnalysis/templates/templateName",
        "spec/strategy/blueGreen/postPromotionAnalysis/templates/templateName",
    )),
    ("ConfigMap", "", "v1", (
        "spec/template/spec/volumes/configMap/name",
        "spec/template/spec/volumes/projected/sources/configMap/name",
        "spec/template/spec/containers/env/valueFrom/configMapKeyRef/name",
        "spec/template/spec/containers/envFrom/configMapRef/name",
        "spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name",
        "spec/template/spec/initContainers/envFrom/configMapRef/name",
    )),
    ("Secret", "", "v1", (
        "spec/template/spec/volumes/secret/secretName",
        "spec/template/spec/volumes/projected/sources/secret/name",
        "spec/template/spec/containers/env/valueFrom/secretKeyRef/name",
        "spec/template/spec/containers/envFrom/secretRef/name",
        "spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name",
        "spec/template/spec/initContainers/envFrom/secretRef/name",
        "spec/template/spec/imagePullSecrets/name",
    )),
    ("ServiceAccount", "", "v1", ("spec/template/spec/serviceAccountName",)),
    ("PersistentVolumeClaim", "", "v1", ("spec/template/spec/volumes/persistentVolumeClaim/claimName",)),
    ("PriorityClass", "scheduling.k8s.io", "v1", ("spec/template/spec/priorityClassName",)),
)


def _name_references() -> list[JSON]:
    out = [_reference(*reference, "Rollout") for reference in _ROLLOUT_REFERENCES]
    # kustomize's own scaleTargetRef entries list Deployment, ReplicaSet and StatefulSet, not Rollout.
    out.append(
        _reference("Rollout", "argoproj.io", "v1alpha1", ("spec/scaleTargetRef/name",), "HorizontalPodAutoscaler")
    )
    return out


def _reference(kind: str, group: str, version: str, paths: tuple[str, ...], referrer: str) -> JSON:
    api_version = f"{group}/{version}" if group else version
    return name_reference(kind, api_version, tuple((referrer, path) for path in paths))


_AFFINITY_SELECTORS = tuple(
    f"spec/template/spec/affinity/{affinity}/{term}"
    for affinity in ("podAffinity", "podAntiAffinity")
    for term in (
        "preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        "requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
    )
)


def _label_fields(selectors: bool) -> list[JSON]:
    """commonLabels (labels with includeSelectors) reach selectors and pod labels; templateLabels only pods."""
    fields: list[JSON] = []
    if selectors:
        fields.append({"path": "spec/selector/matchLabels", "create": True, "kind": "Rollout"})
    fields.append({"path": "spec/template/metadata/labels", "create": True, "kind": "Rollout"})
    if selectors:
        fields.extend({"path": path, "create": False, "kind": "Rollout"} for path in _AFFINITY_SELECTORS)
    return fields


# -- the Engine record's hooks (render/engines/__init__.py) ------------------------------------------------------

render_sides = sides.one_template
config_readers = sides.one_reader
new_version = sides.same_name
longest_wait = longest_step_seconds

# Flux's health check of the Rollout (wiring writes it with `wait: true`): Flux's default check needs a Ready
# condition, which a Rollout lacks. A git-driven Rollout holding at a weight is Paused on purpose: that is its
# desired state. Its status may not be read before the controller has seen the commit, or Flux reports Ready
# from the phase the previous commit left (a stale Paused): `status.observedGeneration` is a string, so Flux
# skips its own generation check; the expressions compare it with `string(metadata.generation)`, as Argo CD and
# Argo Rollouts' GetRolloutPhase do. `has()` guards every status field: Flux waits out the whole timeout on a
# field that does not exist yet.
_SEEN = "has(status.observedGeneration) && status.observedGeneration == string(metadata.generation)"
HEALTH_CHECK = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Rollout",
    "current": f"{_SEEN} && has(status.phase) && status.phase in ['Healthy', 'Paused']",
    "inProgress": f"!({_SEEN}) || !has(status.phase) || status.phase == 'Progressing'",
    "failed": f"{_SEEN} && has(status.phase) && status.phase == 'Degraded'",
}


def by_hand(release: Release, env: Environment, verb: str) -> str:
    """How a person steps a controller-progressed Rollout."""
    return f"`kubectl argo rollouts {verb} {release.name} -n {env.namespace}`"


def rolling_marker(release: Release) -> tuple[str, str]:
    """(kind, name) of the object a rolling overlay deletes from the base."""
    return "rollout", release.name


def rolling_outage(release: Release, to_rolling: bool) -> str:
    """What switching a released environment to (or from) a rolling update in one commit breaks."""
    if to_rolling:
        return "the pruned Rollout takes every serving pod with it before the new Deployment has one up"
    return "the pruned Deployment takes every serving pod with it before the Rollout has one up"
