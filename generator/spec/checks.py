"""Meaning checks: what the schema cannot say. They run only on data the schema has accepted.

Each check returns Problems located at the precise field; messages say what is wrong and how to fix it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from generator import durations
from generator.errors import Problem
from generator import names
from generator.facts import BUILTIN_METRICS, has
from generator.spec.enginechecks import (
    check_cookie_header,
    check_flagger_blue_green_metrics,
    check_load_test_engine,
    check_nginx_autoscaling,
    check_preview_metrics,
    check_progression,
    check_strategy_engine,
    explicit_interval,
    flagger_environment_steps,
    flagger_steps,
    nginx_environment_autoscaling,
    starving_analysis,
)
from generator.spec.findings import (
    Data,
    Finding,
    Generated,
    JsonPath,
    Located,
    did_you_mean,
    environment_analysis,
    metric_key_of,
    locate,
    strategy_kind,
    with_engine_name,
)

if TYPE_CHECKING:
    from generator.spec.profiles import Profile


DNS_LABEL_MAX = 63  # Services, namespaces, label values: anything that becomes a DNS label
OBJECT_NAME_MAX = 253  # other object names (DNS subdomains)
RESERVED_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/managed-by")
RESERVED_PREFIX = "rollgen.io/"


def check(
    data: Data, doc: Located, profiles: Mapping[str, Profile], generated: Generated | None = None
) -> list[Problem]:
    """Every meaning problem of a schema-valid release spec, in document order (patch targets only with
    `generated`: see spec.findings.Generated)."""
    from generator.spec.routerchecks import check_router

    findings = list(check_router(data))
    data = with_engine_name(data)  # the rules below know the spec's `nginx` by the model's name, deployments
    findings += [finding for rule in RULES for finding in rule(data)]
    findings += check_environments(data, profiles)
    if any("after" in entry or "soak" in entry for entry in data["spec"].get("environments", [])):
        from generator.spec.orderchecks import check_order  # environments[].after / soak

        findings += check_order(data)
    if uses_workload_rules(data["spec"]):
        from generator.spec import workload_checks  # container, pod, security and patch rules

        findings += workload_checks.check_workload(data, profiles, generated)
    problems = [locate(doc, finding) for finding in findings]
    return sorted(set(problems), key=lambda p: (p.line, p.column, p.path, p.message))


WORKLOAD_FIELDS = ("container", "pod", "security", "patches", "autoscaling", "config")


def uses_workload_rules(spec: Data) -> bool:
    """Whether any workload rule can apply (generator/spec/workload_checks.py is imported only then)."""
    entries = [spec, *spec.get("environments", [])]
    return any(key in entry for entry in entries for key in WORKLOAD_FIELDS)


# --- routing and blue-green hosts ------------------------------------------------------------------------------


def check_sticky_routing(data: Data) -> Iterator[Finding]:
    """ingress-nginx's balancer reads session affinity before any canary rule (balancer.lua): a client pinned to
    stable by its affinity cookie never reaches the canary by header or cookie, and one pinned to the canary
    stays there whatever it sends. So sticky and header/cookie routing cannot both hold."""
    canary = data["spec"]["strategy"].get("canary")
    if canary is None or not canary.get("sticky") or not has(data["spec"]["engine"], "sticky"):
        return
    from generator.router_facts import DEFAULT, facts

    if facts(data["spec"].get("router", DEFAULT)).no_sticky:
        return  # the routers without sticky sessions refuse sticky itself (routerchecks)
    routes = [key for key in ("header", "cookie") if key in canary]
    if routes:
        named = " and ".join(routes)
        yield Finding(
            ("spec", "strategy", "canary", "sticky"),
            f"sticky sessions switch off {named} routing: ingress-nginx sends a client with a session-affinity "
            f"cookie to the backend it is pinned to before it reads any {named} rule, so returning browsers "
            f"ignore them. Remove sticky, or remove {named}",
            at_key=True,
        )


def check_header_values(data: Data) -> Iterator[Finding]:
    kind = strategy_kind(data)
    strategy = data["spec"]["strategy"][kind]
    if strategy.get("headerValue") == "never":
        yield Finding(
            ("spec", "strategy", kind, "headerValue"),
            "with headerValue set, ingress-nginx sends requests whose header equals it to the canary, so 'never' "
            "would mean the opposite of its usual meaning: choose another value, or remove headerValue",
        )


def check_blue_green_hosts(data: Data) -> Iterator[Finding]:
    strategy = data["spec"]["strategy"].get("blueGreen")
    if strategy is not None and strategy.get("previewHost") == data["spec"]["ingress"]["host"]:
        yield Finding(
            ("spec", "strategy", "blueGreen", "previewHost"),
            "the preview host must differ from ingress.host: two Ingresses cannot own the same host and path",
        )


def check_preview_tls_secret(data: Data) -> Iterator[Finding]:
    strategy = data["spec"]["strategy"].get("blueGreen")
    if strategy is None or "previewTlsSecret" not in strategy or "previewHost" in strategy:
        return
    if not any("previewHost" in entry for entry in data["spec"].get("environments", [])):
        yield Finding(
            ("spec", "strategy", "blueGreen", "previewTlsSecret"),
            "previewTlsSecret secures the preview Ingress, and without a previewHost (here or on an environment) "
            "there is none: set previewHost, or remove previewTlsSecret",
            at_key=True,
        )


def check_preview_tls_reuse(data: Data) -> Iterator[Finding]:
    """A preview Ingress would reuse ingress.tlsSecret, whose certificate names the main host: a `*.example.com`
    wildcard does not cover `preview.hello.example.com`, and ingress-nginx would then serve its default,
    self-signed certificate. Only the user knows the certificate, so the secret must be named."""
    spec = data["spec"]
    strategy = spec["strategy"].get("blueGreen")
    secret = spec["ingress"].get("tlsSecret")
    if strategy is None or secret is None or "previewTlsSecret" in strategy:
        return
    places: list[tuple[JsonPath, str]] = []
    if "previewHost" in strategy:
        places.append((("spec", "strategy", "blueGreen", "previewHost"), strategy["previewHost"]))
    for index, entry in enumerate(spec.get("environments", [])):
        if "previewHost" in entry:
            places.append((("spec", "environments", index, "previewHost"), entry["previewHost"]))
    for at, host in places:
        yield Finding(
            at,
            f"the preview Ingress for {host} would reuse ingress.tlsSecret {secret!r}, whose certificate may not "
            f"name this host (a wildcard *.example.com does not cover preview.hello.example.com): set "
            f"strategy.blueGreen.previewTlsSecret, to {secret!r} itself if its certificate covers {host}",
        )


# --- steps ------------------------------------------------------------------------------------------------------


def check_steps(steps: Sequence[Data], at: JsonPath) -> Iterator[Finding]:
    """Weights strictly increasing (the schema already bounds each to 1..99)."""
    for index in range(1, len(steps)):
        weight, previous = steps[index]["weight"], steps[index - 1]["weight"]
        if weight <= previous:
            yield Finding(
                (*at, index, "weight"),
                f"weight {weight} does not increase on the previous step's {previous}: "
                "weights must grow strictly from step to step",
            )


def check_spec_steps(data: Data) -> Iterator[Finding]:
    canary = data["spec"]["strategy"].get("canary")
    if canary is not None:
        at: JsonPath = ("spec", "strategy", "canary", "steps")
        yield from check_steps(canary["steps"], at)
        if has(data["spec"]["engine"], "one-clock"):
            yield from flagger_steps(canary["steps"], at, explicit_interval(data))


# --- analysis ---------------------------------------------------------------------------------------------------


def check_analysis(data: Data) -> Iterator[Finding]:
    analysis = data["spec"].get("analysis")
    if analysis is not None:
        yield from _check_analysis(data, analysis, analysis, ("spec", "analysis"))
    for index, entry in enumerate(data["spec"].get("environments") or []):
        if "analysis" in entry:
            yield from check_environment_analysis(data, entry, ("spec", "environments", index, "analysis"))


def check_environment_analysis(data: Data, entry: Data, at: JsonPath) -> Iterator[Finding]:
    """An environment's analysis, as merged over the release's (findings.environment_analysis): each of its own
    metrics is checked as it will be measured, at its own place in the entry."""
    merged = environment_analysis(data["spec"].get("analysis"), entry) or {}
    missing = [key for key in ("prometheus", "metrics") if not merged.get(key)]
    if missing:
        yield Finding(at, f"without spec.analysis, an environment's analysis needs {' and '.join(missing)}")
        return
    yield from _check_analysis(data, entry["analysis"], merged, at)


def _check_analysis(data: Data, own: Data, merged: Data, at: JsonPath) -> Iterator[Finding]:
    """`own`: the analysis as written at `at`; `merged`: what is in force there (the same for the release's)."""
    if "interval" in own and durations.parse(own["interval"]) == 0:
        yield Finding((*at, "interval"), "the analysis interval must be at least 1s")
    in_force = {metric_key_of(metric): metric for metric in merged["metrics"]}
    seen: dict[str, int] = {}
    for index, metric in enumerate(own.get("metrics", [])):
        where: JsonPath = (*at, "metrics", index)
        key = metric_key_of(metric)
        if key in seen:
            also = " (one entry may hold it to max/min, another to maxIncrease)" if "maxIncrease" not in metric else ""
            yield Finding(
                (*where, "name"),
                f"metric {metric['name']!r} is already defined as metrics[{seen[key]}]: metric names must be unique{also}",
            )
        seen.setdefault(key, index)
        yield from check_metric(in_force[key], where)
        yield from check_increase(data, in_force[key], where)


def check_increase(data: Data, metric: Data, at: JsonPath) -> Iterator[Finding]:
    """maxIncrease compares the canary's and stable's requests, which rollgen tells apart for the built-ins."""
    if "maxIncrease" not in metric:
        return
    if "max" in metric or "min" in metric:
        yield Finding(
            (*at, "maxIncrease"),
            "maxIncrease goes in a metric entry of its own: keep max/min here and add "
            f"{{name: {metric['name']}, maxIncrease: ...}} as another entry",
            at_key=True,
        )
    elif metric["name"] not in BUILTIN_METRICS:
        yield Finding(
            (*at, "maxIncrease"),
            "maxIncrease compares the canary with stable, which rollgen can tell apart only for the built-in "
            f"metrics ({', '.join(BUILTIN_METRICS)}): use max or min on a custom query",
            at_key=True,
        )
    elif strategy_kind(data) == "blueGreen":
        yield Finding(
            (*at, "maxIncrease"),
            "a blue-green preview gets no share of the real traffic to hold against stable: use max",
            at_key=True,
        )


WARNINGS: tuple[Callable[[Data], Iterator[Finding]], ...] = (starving_analysis,)


def warnings(data: Data, doc: Located) -> list[Problem]:
    """Located warnings of a spec that has no problems: nothing is refused, the message says the risk."""
    data = with_engine_name(data)  # the rules know the spec's `nginx` as deployments
    return [locate(doc, finding) for rule in WARNINGS for finding in rule(data)]


def check_unbuildable_text(data: Data) -> Iterator[Finding]:
    """Free text (a query; the Prometheus URL's path) must not hold control characters: kustomize's YAML
    writer cannot write some of them back (U+007F, U+FFFE), or changes them (U+0085 becomes a line break),
    so the overlay would no longer build, or build something else, in Argo CD or Flux."""
    places: list[tuple[JsonPath, Data]] = [(("spec", "analysis"), data["spec"].get("analysis", {}))]
    for e, entry in enumerate(data["spec"].get("environments") or []):
        places.append((("spec", "environments", e, "analysis"), entry.get("analysis", {})))
    fields: list[tuple[JsonPath, str]] = []
    for at, analysis in places:
        fields.append(((*at, "prometheus"), analysis.get("prometheus", "")))
        for index, metric in enumerate(analysis.get("metrics", [])):
            fields.append(((*at, "metrics", index, "query"), metric.get("query", "")))
    for at, text in fields:
        bad = next((ch for ch in text if _unbuildable(ch)), None)
        if bad is not None:
            yield Finding(at, (
                f"character U+{ord(bad):04X} at position {text.index(bad) + 1} is a control character, which "
                "kustomize cannot always write back (U+007F fails the build, U+0085 turns into a line break): "
                "remove it"
            ))  # fmt: skip


def _unbuildable(ch: str) -> bool:
    code = ord(ch)
    return (code < 0x20 and ch not in "\t\n") or 0x7F <= code <= 0x9F or code in (0xFFFE, 0xFFFF)


def check_metric(metric: Data, at: JsonPath) -> Iterator[Finding]:
    name = metric["name"]
    if name in BUILTIN_METRICS:
        yield from check_builtin_metric(metric, at)
    elif "query" not in metric:
        yield Finding(
            at,
            f"custom metric {name!r} needs a query (PromQL returning one number); "
            f"the built-in metrics are {', '.join(BUILTIN_METRICS)}{did_you_mean(name, BUILTIN_METRICS)}",
        )
    if "max" in metric and "min" in metric and metric["max"] < metric["min"]:
        yield Finding((*at, "max"), f"max ({metric['max']}) is below min ({metric['min']}): no value could pass")


def check_builtin_metric(metric: Data, at: JsonPath) -> Iterator[Finding]:
    name = metric["name"]
    if "query" in metric:
        yield Finding(
            (*at, "query"),
            f"{name!r} is built in and takes no query: remove query, or give the metric another name",
            at_key=True,
        )
    if "min" in metric:
        yield Finding((*at, "min"), f"the built-in {name!r} takes only max: remove min", at_key=True)
    if "max" not in metric and "maxIncrease" in metric:
        return
    if "max" not in metric:
        unit = "percent of 5xx answers" if name == "error-rate" else "average milliseconds"
        yield Finding(at, f"the built-in {name!r} needs max (the highest acceptable {unit})")
    elif name == "error-rate" and not 0 <= metric["max"] <= 100:
        yield Finding((*at, "max"), "error-rate is a percent: max must be between 0 and 100")
    elif metric["max"] < 0:
        yield Finding((*at, "max"), f"{name} max must not be negative")


# --- names and labels -------------------------------------------------------------------------------------------


def derived_names(data: Data) -> list[tuple[str, str, int]]:
    """(object, name, limit) for every object the release creates or makes a controller create."""
    name, engine, kind = data["metadata"]["name"], data["spec"]["engine"], strategy_kind(data)
    out = [("Service", service, DNS_LABEL_MAX) for service in names.services(engine, kind, name)]
    if has(engine, "owns-canary-route") and kind == "canary":
        out.append(("Ingress (created by Argo Rollouts)", names.rollout_canary_ingress(name), OBJECT_NAME_MAX))
    own = [m for entry in data["spec"].get("environments") or [] for m in entry.get("analysis", {}).get("metrics", [])]
    for metric in [*data["spec"].get("analysis", {}).get("metrics", []), *own]:
        # Flagger's `latency` is a MetricTemplate too (engines/flagger.py: one meaning for the bound)
        key = metric_key_of(metric)
        if key not in BUILTIN_METRICS or (has(engine, "latency-template") and metric["name"] == "latency"):
            out.append(("metric template", names.metric_template(name, key), OBJECT_NAME_MAX))
    return out


def check_derived_names(data: Data) -> Iterator[Finding]:
    name = data["metadata"]["name"]
    too_long = [(obj, derived, limit) for obj, derived, limit in derived_names(data) if len(derived) > limit]
    if not too_long:
        return
    obj, derived, limit = max(too_long, key=lambda item: len(item[1]) - item[2])
    allowed = len(name) - (len(derived) - limit)
    yield Finding(
        ("metadata", "name"),
        f"the {obj} name {derived!r} would be {len(derived)} characters, over Kubernetes' limit of {limit}: "
        f"shorten metadata.name to at most {allowed} characters",
    )


def check_label_keys(labels: Mapping[str, str], at: JsonPath) -> Iterator[Finding]:
    for key in labels:
        if key in RESERVED_LABELS or key.startswith(RESERVED_PREFIX):
            yield Finding(
                (*at, key),
                f"label {key!r} is set by rollgen (it selects the pods and marks what rollgen manages): remove it",
                at_key=True,
            )
        elif len(key.split("/")[0]) > OBJECT_NAME_MAX:
            yield Finding((*at, key), "a label key prefix has at most 253 characters", at_key=True)


def check_release_labels(data: Data) -> Iterator[Finding]:
    yield from check_label_keys(data["metadata"].get("labels", {}), ("metadata", "labels"))


def check_autoscaling(scaling: Data | None, at: JsonPath) -> Iterator[Finding]:
    if scaling is not None and scaling["minReplicas"] > scaling["maxReplicas"]:
        yield Finding(
            (*at, "maxReplicas"),
            f"maxReplicas ({scaling['maxReplicas']}) is below minReplicas ({scaling['minReplicas']})",
        )


def check_release_autoscaling(data: Data) -> Iterator[Finding]:
    yield from check_autoscaling(data["spec"].get("autoscaling"), ("spec", "autoscaling"))


def check_required_digests(data: Data) -> Iterator[Finding]:
    """spec.requireDigest: a tag alone names whatever was pushed under it last; a digest names one image."""
    spec = data["spec"]
    if spec.get("requireDigest") is not True:
        return
    images: list[tuple[JsonPath, Any]] = [(("spec", "image"), spec.get("image"))]
    for index, env in enumerate(spec.get("environments", [])):
        if isinstance(env, dict) and "image" in env:
            images.append((("spec", "environments", index, "image"), env["image"]))
    for path, image in images:
        if isinstance(image, str) and "@sha256:" not in image:
            yield Finding(path, f"spec.requireDigest is true: {image!r} needs a digest (...@sha256:<64 hex digits>)")


RULES: tuple[Callable[[Data], Iterator[Finding]], ...] = (
    check_progression,
    check_strategy_engine,
    check_sticky_routing,
    check_header_values,
    check_cookie_header,
    check_blue_green_hosts,
    check_preview_tls_secret,
    check_preview_tls_reuse,
    check_nginx_autoscaling,
    check_spec_steps,
    check_analysis,
    check_load_test_engine,
    check_unbuildable_text,
    check_flagger_blue_green_metrics,
    check_preview_metrics,
    check_derived_names,
    check_release_labels,
    check_release_autoscaling,
    check_required_digests,
)


# --- environments -----------------------------------------------------------------------------------------------


def check_environments(data: Data, profiles: Mapping[str, Profile]) -> list[Finding]:
    out: list[Finding] = []
    first_index: dict[str, int] = {}
    for index, entry in enumerate(data["spec"].get("environments", [])):
        at: JsonPath = ("spec", "environments", index)
        if entry["name"] in first_index:
            out.append(
                Finding(
                    (*at, "name"),
                    f"environment {entry['name']!r} is already defined as environments[{first_index[entry['name']]}]: "
                    "environment names must be unique",
                )
            )
        first_index.setdefault(entry["name"], index)
        out += check_environment(data, entry, at, profiles)
    out += check_environment_targets(data)
    out += check_disruption_budgets(data, profiles)
    return out


def check_disruption_budgets(data: Data, profiles: Mapping[str, Profile]) -> Iterator[Finding]:
    """A PodDisruptionBudget that allows no eviction when the environment runs its usual pods (its replicas, or
    the HPA's minReplicas) blocks every node drain (cluster upgrades, the autoscaler's scale-down) for good: the
    disruption controller allows `healthy - desired` evictions, desired being minAvailable, or the pods less
    maxUnavailable (percentages of the pods, rounded up)."""
    spec = data["spec"]
    found: dict[tuple[JsonPath, str, str, int], list[str]] = {}
    for index, entry in enumerate(spec.get("environments") or [{}]):
        budget = entry.get("disruptionBudget", spec.get("disruptionBudget"))
        if not budget:
            continue
        pods = usual_pods(spec, entry, profiles.get(entry.get("profile", "")))
        key, value = next(iter(budget.items()))
        if pods - desired_healthy(key, value, pods) > 0:
            continue
        own = "disruptionBudget" in entry
        where: JsonPath = ("spec", "environments", index, "disruptionBudget", key) if own else ("spec", "disruptionBudget", key)
        found.setdefault((where, key, str(value), pods), []).append(repr(entry["name"]) if entry else "")
    for (where, key, value, pods), envs in found.items():
        scope = f" (environment {', '.join(envs)})" if any(envs) else ""
        count = "1 pod" if pods == 1 else f"{pods} pods"
        yield Finding(where, (
            f"{key}: {value} with {count}{scope} never allows an eviction: a node "
            f"drain (cluster upgrade, autoscaler scale-down) would wait for ever; allow at least one (minAvailable "
            f"below {pods}, or maxUnavailable: 1), or run more replicas"
        ))  # fmt: skip


def usual_pods(spec: Data, entry: Data, profile: Profile | None) -> int:
    """The pods an environment runs outside a rollout: the HPA's floor with autoscaling, else its replicas
    (the entry's, the profile's, the release's raised to the profile's floor: spec.build's precedence)."""
    scaling = entry.get("autoscaling") or (None if profile is None or profile.autoscaling is None else {
        "minReplicas": profile.autoscaling.min_replicas
    }) or spec.get("autoscaling")  # fmt: skip
    if scaling:
        return int(scaling["minReplicas"])
    if "replicas" in entry:
        return int(entry["replicas"])
    if profile is not None and profile.replicas is not None:
        return profile.replicas
    base = int(spec.get("replicas", 1))
    return base if profile is None or profile.min_replicas is None else max(base, profile.min_replicas)


def desired_healthy(key: str, value: int | str, pods: int) -> int:
    """The pods the budget keeps (Kubernetes' disruption controller scales a percentage rounding up)."""
    if isinstance(value, str) and value.endswith("%"):
        scaled = -(-int(value[:-1]) * pods // 100)
    else:
        scaled = int(value)
    return scaled if key == "minAvailable" else pods - scaled


def check_environment_targets(data: Data) -> Iterator[Finding]:
    """Every environment renders the same object names: two in one namespace of one cluster would be owned by two
    Argo CD Applications (or Flux Kustomizations) at once. Replicas and hosts would flip on every sync, one
    environment's canary step would move the other's traffic, and pruning one would delete the other's objects."""
    release_namespace = data["metadata"]["namespace"]
    seen: dict[tuple[str | None, str], str] = {}
    for index, entry in enumerate(data["spec"].get("environments", [])):
        target = (entry.get("cluster"), entry.get("namespace", release_namespace))
        other = seen.setdefault(target, entry["name"])
        if other == entry["name"]:
            continue
        where = "the default cluster" if target[0] is None else f"cluster {target[0]!r}"
        key = "namespace" if "namespace" in entry else "name"
        yield Finding(
            ("spec", "environments", index, key),
            f"environment {entry['name']!r} would deploy the same objects as environment {other!r} into namespace "
            f"{target[1]!r} on {where}: both Argo CD Applications (or Flux Kustomizations) would own them, "
            "overwrite each other on every sync, and pruning one would delete the other's. Give this environment "
            "its own namespace (environments[].namespace) or cluster (environments[].cluster)",
        )


def check_wiring_name(data: Data, entry: Data, at: JsonPath) -> Iterator[Finding]:
    """Argo CD Applications and Flux Kustomizations are named `N-E`, and both tools copy that name into a label
    on every object they apply (app.kubernetes.io/instance, kustomize.toolkit.fluxcd.io/name)."""
    name = names.app(data["metadata"]["name"], entry["name"])
    if entry["name"] != names.DEFAULT_ENVIRONMENT and len(name) > DNS_LABEL_MAX:
        allowed = len(entry["name"]) - (len(name) - DNS_LABEL_MAX)
        yield Finding(
            (*at, "name"),
            f"the Argo CD Application and Flux Kustomization name {name!r} would be {len(name)} characters, and "
            f"both tools copy it into a label of at most {DNS_LABEL_MAX}: shorten this environment name to at most "
            f"{allowed} characters, or metadata.name",
        )


def check_environment(data: Data, entry: Data, at: JsonPath, profiles: Mapping[str, Profile]) -> list[Finding]:
    out = list(check_profile_name(entry, at, profiles))
    out += check_wiring_name(data, entry, at)
    out += check_environment_fields(data, entry, at)
    out += check_label_keys(entry.get("labels", {}), (*at, "labels"))
    out += check_autoscaling(entry.get("autoscaling"), (*at, "autoscaling"))
    profile = profiles.get(entry.get("profile", ""))
    if has(data["spec"]["engine"], "git-replicas"):
        out += nginx_environment_autoscaling(entry, at, profile)
    if strategy_kind(data) == "canary" and has(data["spec"]["engine"], "one-clock"):
        out += flagger_environment_steps(data, entry, at, profile)
    return out


def check_profile_name(entry: Data, at: JsonPath, profiles: Mapping[str, Profile]) -> Iterator[Finding]:
    name = entry.get("profile")
    if name is not None and name not in profiles:
        known = sorted(profiles)
        yield Finding(
            (*at, "profile"),
            f"unknown profile {name!r}{did_you_mean(name, known)} (known profiles: {', '.join(known) or 'none'}; "
            "a config repo adds its own in the folder its rollgen.yaml names under profiles:)",
        )


def check_environment_fields(data: Data, entry: Data, at: JsonPath) -> Iterator[Finding]:
    kind = strategy_kind(data)
    if "steps" in entry:
        if kind != "canary":
            yield Finding(
                (*at, "steps"), f"steps apply only to a canary strategy, not {kind}: remove them", at_key=True
            )
        else:
            yield from check_steps(entry["steps"], (*at, "steps"))
    if "previewHost" in entry and kind != "blueGreen":
        yield Finding(
            (*at, "previewHost"),
            f"previewHost applies only to a blueGreen strategy, not {kind}: remove it",
            at_key=True,
        )
    if kind == "blueGreen":
        yield from check_environment_preview(data, entry, at)


def check_environment_preview(data: Data, entry: Data, at: JsonPath) -> Iterator[Finding]:
    host = entry.get("host", data["spec"]["ingress"]["host"])
    preview = entry.get("previewHost", data["spec"]["strategy"]["blueGreen"].get("previewHost"))
    if preview is not None and preview == host:
        where: JsonPath = (*at, "previewHost") if "previewHost" in entry else (*at, "host")
        yield Finding(
            where,
            f"this environment's preview host and host are both {host!r}: two Ingresses cannot own the same host "
            "and path; give the environment its own previewHost",
        )


