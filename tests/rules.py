"""What clusters and controllers enforce beyond schemas (Kubernetes, ingress-nginx, Argo Rollouts, Flagger,
Argo CD, Flux; written down in REFERENCE.md of the shared folder, see README.md "Tests") as checks on built
manifests (the output of `kubectl kustomize`).

Each rule takes the documents of one built overlay and returns its violations as readable lines naming the
object and the rule, so a failing test says what a cluster or controller would have done with the output.
Schema validity is validators.py's job; these are the facts a schema cannot express.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

Doc = dict[str, Any]
Rule = Callable[[list[Doc]], list[str]]

NGINX = "nginx.ingress.kubernetes.io/"
NGINX_CANARY_ANNOTATIONS = {
    "canary",
    "canary-weight",
    "canary-weight-total",
    "canary-by-header",
    "canary-by-header-value",
    "canary-by-header-pattern",
    "canary-by-cookie",
    "affinity-canary-behavior",
}
DEPRECATED_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
# ingress-nginx silently replaces header values and cookie names outside this set by its default.
NGINX_TOKEN = re.compile(r"[A-Za-z0-9\-._~/:]+")
HTTP_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
SYNC_WAVE = "argocd.argoproj.io/sync-wave"
FLUX_RECONCILE = "kustomize.toolkit.fluxcd.io/reconcile"
POD_TEMPLATE_HASH = "rollouts-pod-template-hash"
FLAGGER_DURATION = re.compile(r"^[0-9]+(m|s)")
FLAGGER_SELECTOR_LABELS = ("app", "name", "app.kubernetes.io/name")
FLAGGER_PLACEHOLDER = re.compile(r"\{\{\s*(namespace|target|service|ingress|interval|variables\.[A-Za-z0-9_]+)\s*\}\}")
ROLLOUT_STEP_ACTIONS = {"setWeight", "pause", "analysis", "experiment", "setCanaryScale", "setHeaderRoute",
                        "setMirrorRoute", "plugin"}
WORKLOAD_KINDS = ("Deployment", "Rollout", "StatefulSet", "DaemonSet", "ReplicaSet")
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "IngressClass",
                  "ClusterAnalysisTemplate", "PriorityClass", "StorageClass", "PersistentVolume"}


# -- helpers ------------------------------------------------------------------------------------------------


def name_of(doc: Doc) -> str:
    return str((doc.get("metadata") or {}).get("name", ""))


def ident(doc: Doc) -> str:
    return f"{doc.get('kind')}/{name_of(doc)}"


def of_kind(docs: Iterable[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d.get("kind") == kind]


def find(docs: Iterable[Doc], kind: str, name: str) -> Doc | None:
    return next((d for d in docs if d.get("kind") == kind and name_of(d) == name), None)


def annotations_of(doc: Doc) -> dict[str, Any]:
    return dict((doc.get("metadata") or {}).get("annotations") or {})


def labels_of(doc: Doc) -> dict[str, Any]:
    return dict((doc.get("metadata") or {}).get("labels") or {})


def dig(doc: Any, *path: str | int, default: Any = None) -> Any:
    for part in path:
        if isinstance(part, int):
            if not isinstance(doc, list) or part >= len(doc):
                return default
        elif not isinstance(doc, dict) or part not in doc:
            return default
        doc = doc[part]
    return doc


def pod_labels(workload: Doc) -> dict[str, Any]:
    return dict(dig(workload, "spec", "template", "metadata", "labels", default={}) or {})


def selector_labels(workload: Doc) -> dict[str, Any]:
    return dict(dig(workload, "spec", "selector", "matchLabels", default={}) or {})


def service_selector(service: Doc) -> dict[str, Any]:
    return dict(dig(service, "spec", "selector", default={}) or {})


def is_subset(small: Mapping[str, Any], big: Mapping[str, Any]) -> bool:
    return all(key in big and big[key] == value for key, value in small.items())


def ingress_paths(ingress: Doc) -> Iterator[tuple[str, str, str, str]]:
    """(host, path, pathType, backend Service name) for every path of every rule."""
    for rule in dig(ingress, "spec", "rules", default=[]) or []:
        for path in dig(rule, "http", "paths", default=[]) or []:
            yield (
                str(rule.get("host", "")),
                str(path.get("path", "")),
                str(path.get("pathType", "")),
                str(dig(path, "backend", "service", "name", default="")),
            )


def is_canary_ingress(ingress: Doc) -> bool:
    return bool(annotations_of(ingress).get(NGINX + "canary") == "true")


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.removesuffix("%")
        if re.fullmatch(r"-?[0-9]+", text):
            return int(text)
    return None


def _rollout_nginx(rollout: Doc) -> dict[str, Any] | None:
    nginx = dig(rollout, "spec", "strategy", "canary", "trafficRouting", "nginx")
    return nginx if isinstance(nginx, dict) else None


def _rollout_stable_ingresses(rollout: Doc) -> list[str]:
    nginx = _rollout_nginx(rollout) or {}
    names = list(nginx.get("stableIngresses") or [])
    if nginx.get("stableIngress"):
        names.insert(0, nginx["stableIngress"])
    return [str(n) for n in names]


# -- ingress-nginx ------------------------------------------------------------------------------------------


def _nginx_annotation_maps(docs: list[Doc]) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(owner, annotations, prefix) for Ingresses and for the annotations a Rollout hands to ingress-nginx."""
    for ingress in of_kind(docs, "Ingress"):
        yield ident(ingress), annotations_of(ingress), NGINX
    for rollout in of_kind(docs, "Rollout"):
        nginx = _rollout_nginx(rollout) or {}
        for field in ("additionalIngressAnnotations", "canaryIngressAnnotations"):
            if isinstance(nginx.get(field), dict):
                yield f"{ident(rollout)} trafficRouting.nginx.{field}", nginx[field], ""


def nginx_annotation_values(docs: list[Doc]) -> list[str]:
    """ingress-nginx annotation values are strings; canary annotations are known names with sane values."""
    out = []
    for owner, annos, prefix in _nginx_annotation_maps(docs):
        for key, value in annos.items():
            if prefix and not key.startswith(prefix):
                continue
            short = key[len(prefix):]
            if not isinstance(value, str):
                out.append(f"{owner}: annotation {key} is {type(value).__name__} {value!r}; must be a string")
                continue
            if short.startswith("canary") and short not in NGINX_CANARY_ANNOTATIONS:
                out.append(f"{owner}: {key} is not an ingress-nginx canary annotation (typo?)")
            out.extend(_nginx_value_problem(owner, key, short, value))
    return out


def _nginx_value_problem(owner: str, key: str, short: str, value: str) -> list[str]:
    if short == "canary" and value not in ("true", "false"):
        return [f"{owner}: {key} is {value!r}; must be \"true\" or \"false\""]
    if short in ("canary-weight", "canary-weight-total") and not re.fullmatch(r"[0-9]+", value):
        return [f"{owner}: {key} is {value!r}; must be a whole number"]
    if short == "affinity-canary-behavior" and value not in ("sticky", "legacy"):
        return [f"{owner}: {key} is {value!r}; must be sticky or legacy"]
    return []


def nginx_canary_weight_range(docs: list[Doc]) -> list[str]:
    out = []
    for ingress in of_kind(docs, "Ingress"):
        annos = annotations_of(ingress)
        weight, total = _as_int(annos.get(NGINX + "canary-weight")), _as_int(annos.get(NGINX + "canary-weight-total"))
        total = 100 if total is None else total
        if weight is not None and not 0 <= weight <= total:
            out.append(f"{ident(ingress)}: canary-weight {weight} is outside 0..{total}")
    return out


def nginx_canary_matches_main(docs: list[Doc]) -> list[str]:
    """A canary Ingress repeats the main Ingress's host, path, pathType and class, and routes elsewhere."""
    out = []
    mains = [i for i in of_kind(docs, "Ingress") if not is_canary_ingress(i)]
    for canary in filter(is_canary_ingress, of_kind(docs, "Ingress")):
        for host, path, path_type, backend in ingress_paths(canary):
            found = [(m, p) for m in mains for p in ingress_paths(m) if p[0] == host and p[1] == path]
            if not found:
                out.append(f"{ident(canary)}: no main Ingress serves host {host!r} path {path!r}; "
                           "ingress-nginx ignores a canary without one")
                continue
            for main, (_, _, main_type, main_backend) in found:
                if main_type != path_type:
                    out.append(f"{ident(canary)}: pathType {path_type} differs from {ident(main)}'s {main_type}")
                if dig(main, "spec", "ingressClassName") != dig(canary, "spec", "ingressClassName"):
                    out.append(f"{ident(canary)}: ingressClassName differs from {ident(main)}'s")
                if main_backend == backend:
                    out.append(f"{ident(canary)}: routes to Service {backend}, the same as {ident(main)}")
    return out


def nginx_one_canary_per_host_path(docs: list[Doc]) -> list[str]:
    seen: Counter[tuple[str, str]] = Counter()
    for canary in filter(is_canary_ingress, of_kind(docs, "Ingress")):
        seen.update({(host, path) for host, path, _, _ in ingress_paths(canary)})
    return [f"{count} canary Ingresses for host {host!r} path {path!r}; ingress-nginx uses only one"
            for (host, path), count in sorted(seen.items()) if count > 1]


def nginx_header_cookie_charset(docs: list[Doc]) -> list[str]:
    """Header values and cookie names outside [A-Za-z0-9-._~/:]+ are silently replaced by ingress-nginx."""
    out = []
    for owner, annos, prefix in _nginx_annotation_maps(docs):
        for short in ("canary-by-header-value", "canary-by-cookie"):
            value = annos.get(prefix + short)
            if value is not None and not NGINX_TOKEN.fullmatch(str(value)):
                out.append(f"{owner}: {short} {value!r} has characters outside [A-Za-z0-9-._~/:]")
        header = annos.get(prefix + "canary-by-header")
        if header is not None and not HTTP_HEADER_NAME.fullmatch(str(header)):
            out.append(f"{owner}: canary-by-header {header!r} is not an HTTP header name")
    return out


def nginx_ingress_class(docs: list[Doc]) -> list[str]:
    out = []
    for ingress in of_kind(docs, "Ingress"):
        if DEPRECATED_CLASS_ANNOTATION in annotations_of(ingress):
            out.append(f"{ident(ingress)}: uses the deprecated {DEPRECATED_CLASS_ANNOTATION} annotation")
        if not dig(ingress, "spec", "ingressClassName"):
            out.append(f"{ident(ingress)}: spec.ingressClassName is not set")
    return out


# -- what ingress-nginx does with the annotations (tests/balancer.py) --------------------------------------------


def _routings(docs: list[Doc]) -> Iterator[tuple[str, Any]]:
    """(owner, balancer.Routing) for each canary route: a canary Ingress with its main Ingress, and a Rollout's
    additionalIngressAnnotations with its stable Ingress (the controller writes that canary Ingress)."""
    from tests import balancer

    ingresses = of_kind(docs, "Ingress")
    for canary in (i for i in ingresses if is_canary_ingress(i)):
        paths = {p[:3] for p in ingress_paths(canary)}
        for main in (i for i in ingresses if not is_canary_ingress(i)):
            if paths & {p[:3] for p in ingress_paths(main)}:
                routing = balancer.Routing(balancer.strip(annotations_of(main)), balancer.strip(annotations_of(canary)))
                yield ident(canary), routing
    for rollout in of_kind(docs, "Rollout"):
        nginx = _rollout_nginx(rollout) or {}
        for name in _rollout_stable_ingresses(rollout):
            main = find(docs, "Ingress", name)
            extra = nginx.get("additionalIngressAnnotations") or {}
            if main is not None:
                canary = {str(k): str(v) for k, v in extra.items()}
                yield ident(rollout), balancer.Routing(balancer.strip(annotations_of(main)), canary)


def nginx_routes_reach_the_canary(docs: list[Doc]) -> list[str]:
    """Every header/cookie route the output declares reaches the canary in balancer.lua's order, also for a
    client whose affinity cookie pins it to stable (sticky sessions are checked before any canary rule)."""
    from tests import balancer

    out = []
    for owner, routing in _routings(docs):
        for promise, request in balancer.promised_requests(routing):
            if balancer.route(routing, request) != "canary":
                out.append(f"{owner}: a returning client pinned to stable by session affinity sends {promise!r} "
                           "and ingress-nginx still routes it to stable")
    return out


def nginx_no_idle_canary(docs: list[Doc]) -> list[str]:
    """A canary Ingress whose Service selects only Deployments scaled to 0 has no endpoints: ingress-nginx
    logs "no alternative balancer" at ERROR on every request."""
    out = []
    for canary in (i for i in of_kind(docs, "Ingress") if is_canary_ingress(i)):
        for *_, service_name in ingress_paths(canary):
            service = find(docs, "Service", service_name)
            if service is None:
                continue
            selected = [d for d in of_kind(docs, "Deployment") if is_subset(service_selector(service), pod_labels(d))]
            if selected and all(dig(d, "spec", "replicas") == 0 for d in selected):
                out.append(f"{ident(canary)}: its Service {service_name} has no pods (replicas 0): "
                           "ingress-nginx logs 'no alternative balancer' for every request")
    return out


def no_ignored_settings(docs: list[Doc]) -> list[str]:
    """Nothing the controllers ignore: maxSurge/maxUnavailable with trafficRouting (Argo Rollouts), and
    `affinity-canary-behavior: sticky`, ingress-nginx's default."""
    out = []
    for rollout in of_kind(docs, "Rollout"):
        canary = dig(rollout, "spec", "strategy", "canary", default={}) or {}
        if canary.get("trafficRouting"):
            out += [f"{ident(rollout)}: {k} is ignored with trafficRouting" for k in ("maxSurge", "maxUnavailable")
                    if k in canary]
    for owner, annos, prefix in _nginx_annotation_maps(docs):
        if annos.get(prefix + "affinity-canary-behavior") == "sticky":
            out.append(f"{owner}: affinity-canary-behavior sticky is ingress-nginx's default")
    return out


NGINX_RULES: tuple[Rule, ...] = (
    nginx_annotation_values,
    nginx_canary_weight_range,
    nginx_canary_matches_main,
    nginx_one_canary_per_host_path,
    nginx_header_cookie_charset,
    nginx_ingress_class,
    nginx_routes_reach_the_canary,
    nginx_no_idle_canary,
    no_ignored_settings,
)


# -- nginx engine -------------------------------------------------------------------------------------------


def nginx_engine_services_select_one_track(docs: list[Doc]) -> list[str]:
    """Each Service of the nginx engine selects exactly one Deployment (one track or one colour)."""
    out = []
    deployments = of_kind(docs, "Deployment")
    for service in of_kind(docs, "Service"):
        selector = service_selector(service)
        selected = [ident(d) for d in deployments if selector and is_subset(selector, pod_labels(d))]
        if len(selected) != 1:
            out.append(f"{ident(service)}: selects the pods of {len(selected)} Deployments {selected}; "
                       "a track's Service must select exactly one")
    return out


NGINX_ENGINE_RULES: tuple[Rule, ...] = (nginx_engine_services_select_one_track,)


# -- Argo Rollouts ------------------------------------------------------------------------------------------


def rollout_services(docs: list[Doc]) -> list[str]:
    """canaryService/stableService (activeService/previewService) differ, exist and select the Rollout's pods."""
    out = []
    for rollout in of_kind(docs, "Rollout"):
        strategy = dig(rollout, "spec", "strategy", default={}) or {}
        if "canary" in strategy:
            out.extend(_service_pair(docs, rollout, strategy["canary"] or {}, "stableService", "canaryService",
                                     required=_rollout_nginx(rollout) is not None))
        if "blueGreen" in strategy:
            out.extend(_service_pair(docs, rollout, strategy["blueGreen"] or {}, "activeService", "previewService",
                                     required=False))
            if not (strategy["blueGreen"] or {}).get("activeService"):
                out.append(f"{ident(rollout)}: blueGreen.activeService is required")
    return out


def _service_pair(docs: list[Doc], rollout: Doc, spec: dict[str, Any], first: str, second: str,
                  required: bool) -> list[str]:
    out = []
    names = {field: spec.get(field) for field in (first, second)}
    for field, name in names.items():
        if not name:
            if required:
                out.append(f"{ident(rollout)}: {field} is required with nginx traffic routing")
            continue
        service = find(docs, "Service", name)
        if service is None:
            out.append(f"{ident(rollout)}: {field} {name!r} is not a Service in the output")
        elif not is_subset(service_selector(service), pod_labels(rollout)):
            out.append(f"{ident(service)}: selector {service_selector(service)} is not a subset of "
                       f"{ident(rollout)}'s pod template labels")
    if names[first] and names[first] == names[second]:
        out.append(f"{ident(rollout)}: {first} and {second} are both {names[first]!r}; they must differ")
    return out


def rollout_stable_ingress(docs: list[Doc]) -> list[str]:
    """One of stableIngress/stableIngresses; each exists and routes to the stableService."""
    out = []
    for rollout in of_kind(docs, "Rollout"):
        nginx = _rollout_nginx(rollout)
        if nginx is None:
            continue
        if nginx.get("stableIngress") and nginx.get("stableIngresses"):
            out.append(f"{ident(rollout)}: trafficRouting.nginx sets both stableIngress and stableIngresses")
        names = _rollout_stable_ingresses(rollout)
        if not names:
            out.append(f"{ident(rollout)}: trafficRouting.nginx names no stableIngress")
        stable = dig(rollout, "spec", "strategy", "canary", "stableService")
        for name in names:
            ingress = find(docs, "Ingress", name)
            if ingress is None:
                out.append(f"{ident(rollout)}: stableIngress {name!r} is not an Ingress in the output")
            elif not any(backend == stable for *_, backend in ingress_paths(ingress)):
                out.append(f"{ident(ingress)}: does not route to the stableService {stable!r} of {ident(rollout)}")
    return out


def rollout_no_canary_ingress(docs: list[Doc]) -> list[str]:
    """The controller writes the canary Ingress and its annotations; git must not."""
    out = []
    canary_names = {f"{name_of(r)}-{i}-canary" for r in of_kind(docs, "Rollout") for i in _rollout_stable_ingresses(r)}
    for ingress in of_kind(docs, "Ingress"):
        if name_of(ingress) in canary_names:
            out.append(f"{ident(ingress)}: is the canary Ingress the Rollouts controller creates")
        canary_annos = sorted(k for k in annotations_of(ingress)
                              if k.startswith(NGINX) and k[len(NGINX):] in NGINX_CANARY_ANNOTATIONS)
        if canary_annos:
            out.append(f"{ident(ingress)}: carries canary annotations {canary_annos}; the controller sets them")
    return out


def rollout_no_pod_template_hash(docs: list[Doc]) -> list[str]:
    return [f"{ident(s)}: selector uses {POD_TEMPLATE_HASH}, which the Rollouts controller manages"
            for s in of_kind(docs, "Service") if POD_TEMPLATE_HASH in service_selector(s)]


def rollout_steps(docs: list[Doc]) -> list[str]:
    """One action a step; setWeight within 0..maxTrafficWeight; no header/mirror routes with nginx."""
    out = []
    for rollout in of_kind(docs, "Rollout"):
        canary = dig(rollout, "spec", "strategy", "canary")
        if not isinstance(canary, dict):
            continue
        top = _as_int(dig(canary, "trafficRouting", "maxTrafficWeight")) or 100
        for index, step in enumerate(canary.get("steps") or []):
            where = f"{ident(rollout)}: steps[{index}]"
            actions = sorted(step) if isinstance(step, dict) else []
            if len(actions) != 1:
                out.append(f"{where} has {len(actions)} actions {actions}; a step takes exactly one")
            unknown = [a for a in actions if a not in ROLLOUT_STEP_ACTIONS]
            if unknown:
                out.append(f"{where}: unknown step action {unknown}")
            if "setWeight" in actions:
                weight = step["setWeight"]
                if not isinstance(weight, int) or isinstance(weight, bool) or not 0 <= weight <= top:
                    out.append(f"{where}: setWeight {weight!r} is outside 0..{top}")
            for route in ("setHeaderRoute", "setMirrorRoute"):
                if route in actions and _rollout_nginx(rollout) is not None:
                    out.append(f"{where}: {route} is not supported with nginx traffic routing")
    return out


def rollout_update_bounds(docs: list[Doc]) -> list[str]:
    """maxSurge and maxUnavailable not both 0; progressDeadlineSeconds > minReadySeconds."""
    out = []
    for rollout in of_kind(docs, "Rollout"):
        canary = dig(rollout, "spec", "strategy", "canary")
        # both default to 25%: only both set to 0 stalls the update
        if isinstance(canary, dict) and _as_int(canary.get("maxSurge")) == 0 == _as_int(canary.get("maxUnavailable")):
            out.append(f"{ident(rollout)}: maxSurge and maxUnavailable are both 0; the update cannot proceed")
        spec = rollout.get("spec") or {}
        deadline, ready = spec.get("progressDeadlineSeconds"), spec.get("minReadySeconds")
        if deadline is not None and ready is not None and not deadline > ready:
            out.append(f"{ident(rollout)}: progressDeadlineSeconds {deadline} must exceed minReadySeconds {ready}")
    return out


def analysis_refs(rollout: Doc) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """(where, template ref, is step analysis) for every analysis template a Rollout names."""
    strategy = dig(rollout, "spec", "strategy", default={}) or {}
    canary = strategy.get("canary") or {}
    for index, step in enumerate(canary.get("steps") or []):
        for ref in dig(step, "analysis", "templates", default=[]) or []:
            yield f"steps[{index}].analysis", ref, True
    for ref in dig(canary, "analysis", "templates", default=[]) or []:
        yield "canary.analysis", ref, False
    blue_green = strategy.get("blueGreen") or {}
    for field in ("prePromotionAnalysis", "postPromotionAnalysis"):
        for ref in dig(blue_green, field, "templates", default=[]) or []:
            yield f"blueGreen.{field}", ref, True


def rollout_analysis_templates(docs: list[Doc]) -> list[str]:
    """templateName names an AnalysisTemplate in the output; step analysis measures a finite `count`."""
    out = []
    for rollout in of_kind(docs, "Rollout"):
        for where, ref, finite in analysis_refs(rollout):
            kind = "ClusterAnalysisTemplate" if ref.get("clusterScope") else "AnalysisTemplate"
            template = find(docs, kind, str(ref.get("templateName")))
            if template is None:
                out.append(f"{ident(rollout)}: {where} templateName {ref.get('templateName')!r} "
                           f"is not a {kind} in the output")
                continue
            for metric in dig(template, "spec", "metrics", default=[]) or []:
                count = _as_int(metric.get("count"))
                if finite and (count is None or count <= 0) and metric.get("interval"):
                    out.append(f"{ident(template)}: metric {metric.get('name')!r} has no finite count; "
                               f"as {ident(rollout)}'s {where} it would never finish")
    return out


ARGO_ROLLOUTS_RULES: tuple[Rule, ...] = (
    rollout_services,
    rollout_stable_ingress,
    rollout_no_canary_ingress,
    rollout_no_pod_template_hash,
    rollout_steps,
    rollout_update_bounds,
    rollout_analysis_templates,
)


# -- Flagger ------------------------------------------------------------------------------------------------


def _canary_names(canary: Doc) -> tuple[str, str, str | None]:
    """(target Deployment, apex Service, Ingress) of a Flagger Canary."""
    target = str(dig(canary, "spec", "targetRef", "name", default=""))
    service = str(dig(canary, "spec", "service", "name", default="") or target)
    ingress = dig(canary, "spec", "ingressRef", "name")
    return target, service, str(ingress) if ingress else None


def flagger_generated_objects(docs: list[Doc]) -> list[str]:
    """Objects Flagger creates and owns: written to git they fight the controller."""
    out = []
    for canary in of_kind(docs, "Canary"):
        target, service, ingress = _canary_names(canary)
        owned = [("Deployment", f"{target}-primary"), ("Service", service), ("Service", f"{service}-primary"),
                 ("Service", f"{service}-canary")]
        if ingress:
            owned.append(("Ingress", f"{ingress}-canary"))
        for kind, name in owned:
            if find(docs, kind, name) is not None:
                out.append(f"{kind}/{name}: Flagger creates it for {ident(canary)}; it must not be in git")
    return out


def flagger_ingress_routes_to_apex(docs: list[Doc]) -> list[str]:
    out = []
    for canary in of_kind(docs, "Canary"):
        _, service, ingress_name = _canary_names(canary)
        if dig(canary, "spec", "provider") == "nginx" and not ingress_name:
            out.append(f"{ident(canary)}: provider nginx needs an ingressRef")
        if not ingress_name:
            continue
        ingress = find(docs, "Ingress", ingress_name)
        if ingress is None:
            out.append(f"{ident(canary)}: ingressRef {ingress_name!r} is not an Ingress in the output")
            continue
        backends = {backend for *_, backend in ingress_paths(ingress)}
        if backends != {service}:
            out.append(f"{ident(ingress)}: routes to {sorted(backends)}; Flagger needs the apex Service {service!r}")
        canary_annos = sorted(k for k in annotations_of(ingress) if k.startswith(NGINX + "canary"))
        if canary_annos:
            out.append(f"{ident(ingress)}: carries {canary_annos}; Flagger writes them on the canary Ingress it "
                       "creates, and on the main Ingress they make it a canary")
    return out


def flagger_target(docs: list[Doc], handled_replicas: bool | None = None) -> list[str]:
    """The target exists, selects by app/name/app.kubernetes.io/name, leaves replicas and reconciliation alone.

    `handled_replicas` None: replicas are handled when an Argo CD Application in `docs` ignores
    /spec/replicas of Deployments with RespectIgnoreDifferences=true.
    """
    out = []
    if handled_replicas is None:
        handled_replicas = _argocd_ignores_replicas(docs)
    for canary in of_kind(docs, "Canary"):
        target_name, _, _ = _canary_names(canary)
        target = find(docs, "Deployment", target_name)
        if target is None:
            out.append(f"{ident(canary)}: targetRef {target_name!r} is not a Deployment in the output")
            continue
        if not any(key in selector_labels(target) for key in FLAGGER_SELECTOR_LABELS):
            out.append(f"{ident(target)}: selector {selector_labels(target)} uses none of "
                       f"{list(FLAGGER_SELECTOR_LABELS)}; Flagger cannot find its pods")
        if "replicas" in (target.get("spec") or {}) and not handled_replicas:
            out.append(f"{ident(target)}: sets spec.replicas; Argo CD/Flux would scale it back against Flagger")
        if "disabled" in (annotations_of(target).get(FLUX_RECONCILE), labels_of(target).get(FLUX_RECONCILE)):
            out.append(f"{ident(target)}: {FLUX_RECONCILE}: disabled stops image changes from reaching Flagger")
    return out


def _argocd_ignores_replicas(docs: list[Doc]) -> bool:
    for app in of_kind(docs, "Application"):
        options = dig(app, "spec", "syncPolicy", "syncOptions", default=[]) or []
        for ignore in dig(app, "spec", "ignoreDifferences", default=[]) or []:
            if (ignore.get("kind") == "Deployment" and "/spec/replicas" in (ignore.get("jsonPointers") or [])
                    and "RespectIgnoreDifferences=true" in options):
                return True
    return False


def flagger_analysis(docs: list[Doc]) -> list[str]:
    """Durations `^[0-9]+(m|s)`; exactly one of iterations, stepWeight+maxWeight, stepWeights; match alone."""
    out = []
    for canary in of_kind(docs, "Canary"):
        analysis = dig(canary, "spec", "analysis", default={}) or {}
        out.extend(_flagger_durations(canary, analysis))
        modes = [m for m, present in (("iterations", "iterations" in analysis),
                                       ("stepWeight+maxWeight", "stepWeight" in analysis or "maxWeight" in analysis),
                                       ("stepWeights", "stepWeights" in analysis)) if present]
        if len(modes) != 1:
            out.append(f"{ident(canary)}: analysis sets {modes or 'none'}; exactly one of iterations, "
                       "stepWeight+maxWeight or stepWeights")
        if ("stepWeight" in analysis) != ("maxWeight" in analysis):
            out.append(f"{ident(canary)}: analysis.stepWeight and maxWeight go together")
        if analysis.get("match") and any(k in analysis for k in ("stepWeight", "maxWeight", "stepWeights")):
            out.append(f"{ident(canary)}: analysis.match cannot be combined with weights")
        out.extend(_flagger_match(canary, analysis.get("match") or []))
    return out


def _flagger_durations(canary: Doc, analysis: dict[str, Any]) -> list[str]:
    fields = [("analysis.interval", analysis.get("interval"))]
    fields += [(f"analysis.metrics[{i}].interval", m.get("interval")) for i, m in enumerate(analysis.get("metrics") or [])]
    fields += [(f"analysis.webhooks[{i}].timeout", w.get("timeout")) for i, w in enumerate(analysis.get("webhooks") or [])]
    return [f"{ident(canary)}: {where} {value!r} does not match ^[0-9]+(m|s)"
            for where, value in fields if value is not None and not FLAGGER_DURATION.match(str(value))]


def _flagger_match(canary: Doc, match: list[dict[str, Any]]) -> list[str]:
    """With nginx Flagger uses one header and one cookie condition; values must survive ingress-nginx."""
    out = []
    headers = [(name, cond) for m in match for name, cond in (m.get("headers") or {}).items() if name != "cookie"]
    cookies = [cond for m in match for name, cond in (m.get("headers") or {}).items() if name == "cookie"]
    if dig(canary, "spec", "provider") == "nginx" and (len(headers) > 1 or len(cookies) > 1):
        out.append(f"{ident(canary)}: analysis.match has {len(headers)} header and {len(cookies)} cookie "
                   "conditions; with nginx only one of each is used")
    for name, cond in headers:
        value = (cond or {}).get("exact")
        if value is not None and not NGINX_TOKEN.fullmatch(str(value)):
            out.append(f"{ident(canary)}: match header {name} value {value!r} has characters outside [A-Za-z0-9-._~/:]")
    for cond in cookies:
        value = (cond or {}).get("exact")
        if value is not None and not NGINX_TOKEN.fullmatch(str(value)):
            out.append(f"{ident(canary)}: match cookie {value!r} has characters outside [A-Za-z0-9-._~/:]")
    return out


def flagger_references(docs: list[Doc]) -> list[str]:
    """autoscalerRef and metric templateRefs name objects in the output."""
    out = []
    for canary in of_kind(docs, "Canary"):
        scaler = dig(canary, "spec", "autoscalerRef", "name")
        if scaler and find(docs, "HorizontalPodAutoscaler", scaler) is None:
            out.append(f"{ident(canary)}: autoscalerRef {scaler!r} is not a HorizontalPodAutoscaler in the output")
        for metric in dig(canary, "spec", "analysis", "metrics", default=[]) or []:
            ref = dig(metric, "templateRef", "name")
            if ref and find(docs, "MetricTemplate", ref) is None:
                out.append(f"{ident(canary)}: metric {metric.get('name')!r} templateRef {ref!r} "
                           "is not a MetricTemplate in the output")
    return out


def flagger_query_placeholders(docs: list[Doc]) -> list[str]:
    """Every `{{` in a MetricTemplate query opens a placeholder Flagger knows."""
    out = []
    for template in of_kind(docs, "MetricTemplate"):
        query = str(dig(template, "spec", "query", default=""))
        leftover = FLAGGER_PLACEHOLDER.sub("", query)
        if "{{" in leftover or "}}" in leftover:
            out.append(f"{ident(template)}: query has braces that are not Flagger placeholders: {query!r}")
    return out


def flagger_metric_queries(docs: list[Doc], expected: Mapping[str, str]) -> list[str]:
    """MetricTemplate name -> the query text the user wrote, placeholders intact."""
    out = []
    for name, query in sorted(expected.items()):
        template = find(docs, "MetricTemplate", name)
        if template is None:
            out.append(f"MetricTemplate/{name}: missing from the output")
            continue
        got = dig(template, "spec", "query")
        if str(got).strip() != query.strip():  # surrounding whitespace (a YAML block's last newline) is no change
            out.append(f"{ident(template)}: query {got!r} differs from the spec's {query!r}")
        elif "{{" in query and "{{" not in str(got):
            out.append(f"{ident(template)}: placeholders were expanded")
    return out


FLAGGER_RULES: tuple[Rule, ...] = (
    flagger_generated_objects,
    flagger_ingress_routes_to_apex,
    flagger_target,
    flagger_analysis,
    flagger_references,
    flagger_query_placeholders,
)


# -- general ------------------------------------------------------------------------------------------------


def every_object_namespaced(docs: list[Doc]) -> list[str]:
    return [f"{ident(d)}: has no metadata.namespace" for d in docs
            if d.get("kind") not in CLUSTER_SCOPED
            and not str(d.get("apiVersion", "")).startswith("kustomize.config.k8s.io")
            and not (d.get("metadata") or {}).get("namespace")]


def services_select_workloads(docs: list[Doc]) -> list[str]:
    """Each Service's selector is a subset of the pod labels of some workload in the output."""
    workloads = [d for d in docs if d.get("kind") in WORKLOAD_KINDS]
    out = []
    for service in of_kind(docs, "Service"):
        selector = service_selector(service)
        if selector and not any(is_subset(selector, pod_labels(w)) for w in workloads):
            out.append(f"{ident(service)}: selector {selector} matches the pods of no workload in the output")
    return out


def workload_selectors_match_templates(docs: list[Doc]) -> list[str]:
    """The API server refuses a Deployment whose selector does not match its own template."""
    return [f"{ident(w)}: selector {selector_labels(w)} is not a subset of its template labels {pod_labels(w)}"
            for w in docs if w.get("kind") in WORKLOAD_KINDS and dig(w, "spec", "template") is not None
            and not is_subset(selector_labels(w), pod_labels(w))]


def ingress_backends_exist(docs: list[Doc]) -> list[str]:
    """Every Ingress backend is a Service in the output (or one Flagger creates) with the named port."""
    flagger_made = {_canary_names(c)[1] for c in of_kind(docs, "Canary")}
    out = []
    for ingress in of_kind(docs, "Ingress"):
        for path in _ingress_path_dicts(ingress):
            name = dig(path, "backend", "service", "name")
            port = dig(path, "backend", "service", "port", default={}) or {}
            service = find(docs, "Service", str(name))
            if service is None:
                if name not in flagger_made:
                    out.append(f"{ident(ingress)}: backend Service {name!r} is not in the output")
                continue
            ports = dig(service, "spec", "ports", default=[]) or []
            if "name" in port and not any(p.get("name") == port["name"] for p in ports):
                out.append(f"{ident(ingress)}: {ident(service)} has no port named {port['name']!r}")
            if "number" in port and not any(p.get("port") == port["number"] for p in ports):
                out.append(f"{ident(ingress)}: {ident(service)} has no port {port['number']}")
    return out


def ingress_tls_covers_hosts(docs: list[Doc]) -> list[str]:
    """With `tls`, every rule host is listed there; ingress-nginx serves a host missing from it with its default
    (self-signed) certificate."""
    out = []
    for ingress in of_kind(docs, "Ingress"):
        tls = dig(ingress, "spec", "tls", default=[]) or []
        if not tls:
            continue
        covered = {host for entry in tls for host in entry.get("hosts") or []}
        for host in sorted({h for h, *_ in ingress_paths(ingress)} - covered):
            out.append(f"{ident(ingress)}: host {host!r} is not in spec.tls; it would get the default certificate")
    return out


def _ingress_path_dicts(ingress: Doc) -> Iterator[dict[str, Any]]:
    for rule in dig(ingress, "spec", "rules", default=[]) or []:
        yield from dig(rule, "http", "paths", default=[]) or []


def autoscaler_targets_exist(docs: list[Doc]) -> list[str]:
    out = []
    for hpa in of_kind(docs, "HorizontalPodAutoscaler"):
        ref = dig(hpa, "spec", "scaleTargetRef", default={}) or {}
        if find(docs, str(ref.get("kind")), str(ref.get("name"))) is None:
            out.append(f"{ident(hpa)}: scaleTargetRef {ref.get('kind')}/{ref.get('name')} is not in the output")
    return out


def _wave(doc: Doc) -> tuple[int | None, str | None]:
    """(wave, problem); Argo CD's default wave is 0."""
    value = annotations_of(doc).get(SYNC_WAVE)
    if value is None:
        return 0, None
    if not isinstance(value, str):
        return None, f"{ident(doc)}: {SYNC_WAVE} is {type(value).__name__} {value!r}; must be a string"
    if not re.fullmatch(r"-?[0-9]+", value):
        return None, f"{ident(doc)}: {SYNC_WAVE} {value!r} is not a whole number"
    return int(value), None


def _template_users(docs: list[Doc]) -> Iterator[tuple[Doc, Doc]]:
    """(template, user) for AnalysisTemplates named by Rollouts and MetricTemplates named by Canaries."""
    for rollout in of_kind(docs, "Rollout"):
        for _, ref, _ in analysis_refs(rollout):
            template = find(docs, "AnalysisTemplate", str(ref.get("templateName")))
            if template is not None:
                yield template, rollout
    for canary in of_kind(docs, "Canary"):
        for metric in dig(canary, "spec", "analysis", "metrics", default=[]) or []:
            template = find(docs, "MetricTemplate", str(dig(metric, "templateRef", "name")))
            if template is not None:
                yield template, canary


def sync_waves(docs: list[Doc]) -> list[str]:
    """Sync-wave annotations are strings; templates sync in an earlier wave than the objects using them."""
    out = []
    for doc in docs:
        _, problem = _wave(doc)
        if problem:
            out.append(problem)
    pairs = {(ident(t), ident(u)): (t, u) for t, u in _template_users(docs)}
    for (template_id, user_id), (template, user) in sorted(pairs.items()):
        template_wave, user_wave = _wave(template)[0], _wave(user)[0]
        if template_wave is not None and user_wave is not None and not template_wave < user_wave:
            out.append(f"{template_id}: sync wave {template_wave} is not earlier than {user_id}'s {user_wave}; "
                       "Argo CD may create the user before its template")
    return out


# -- GitOps wiring (Argo CD, Flux) ---------------------------------------------------------------------------


def argocd_applications(docs: list[Doc]) -> list[str]:
    """project, source.{repoURL,path,targetRevision}, destination.{server|name,namespace}; ignoreDifferences only
    hold through a sync with RespectIgnoreDifferences=true (otherwise Argo CD still writes the ignored field)."""
    out = []
    for app in of_kind(docs, "Application"):
        spec = app.get("spec") or {}
        if not spec.get("project"):
            out.append(f"{ident(app)}: spec.project is required")
        source = spec.get("source") or {}
        missing = [f for f in ("repoURL", "path", "targetRevision") if not source.get(f)]
        if missing:
            out.append(f"{ident(app)}: spec.source lacks {missing}")
        destination = spec.get("destination") or {}
        if not (destination.get("server") or destination.get("name")) or not destination.get("namespace"):
            out.append(f"{ident(app)}: spec.destination needs server or name, and namespace")
        options = dig(spec, "syncPolicy", "syncOptions", default=[]) or []
        if spec.get("ignoreDifferences") and "RespectIgnoreDifferences=true" not in options:
            out.append(f"{ident(app)}: ignoreDifferences without RespectIgnoreDifferences=true is undone by every sync")
    return out


def _flux(docs: list[Doc], kind: str, group: str) -> list[Doc]:
    return [d for d in of_kind(docs, kind) if str(d.get("apiVersion", "")).startswith(group + "/")]


def flux_objects(docs: list[Doc]) -> list[str]:
    """Kustomization: interval, prune, sourceRef, path; health checks that understand the Rollouts and Canaries
    in `docs` (Flux's default checks wait for a Ready condition these kinds never have). GitRepository: interval,
    url, ref."""
    out = []
    for ks in _flux(docs, "Kustomization", "kustomize.toolkit.fluxcd.io"):
        spec = ks.get("spec") or {}
        missing = [f for f in ("interval", "prune", "sourceRef", "path") if f not in spec]
        if missing:
            out.append(f"{ident(ks)}: spec lacks {missing}")
        if spec.get("wait") or spec.get("healthChecks"):
            covered = {e.get("kind") for e in spec.get("healthCheckExprs") or []}
            for kind in ("Rollout", "Canary"):
                if of_kind(docs, kind) and kind not in covered:
                    out.append(f"{ident(ks)}: waits for health but has no healthCheckExprs for {kind}; "
                               "Flux would never see it ready")
    for repo in _flux(docs, "GitRepository", "source.toolkit.fluxcd.io"):
        missing = [f for f in ("interval", "url", "ref") if not (repo.get("spec") or {}).get(f)]
        if missing:
            out.append(f"{ident(repo)}: spec lacks {missing}")
    return out


WIRING_RULES: tuple[Rule, ...] = (argocd_applications, flux_objects)


GENERAL_RULES: tuple[Rule, ...] = (
    every_object_namespaced,
    services_select_workloads,
    workload_selectors_match_templates,
    ingress_backends_exist,
    ingress_tls_covers_hosts,
    autoscaler_targets_exist,
    sync_waves,
)

ENGINE_RULES: dict[str, tuple[Rule, ...]] = {
    "deployments": NGINX_ENGINE_RULES,
    "argo-rollouts": ARGO_ROLLOUTS_RULES,
    "flagger": FLAGGER_RULES,
}


# -- Routers: Gateway API and Istio (REFERENCE.md "Routers") ---------------------------------------------------

GATEWAY_PLUGIN = "argoproj-labs/gatewayAPI"
MAX_BACKEND_WEIGHT = 1_000_000


def _services(docs: list[Doc]) -> set[str]:
    return {name_of(s) for s in of_kind(docs, "Service")}


def _rollout_canary(docs: list[Doc]) -> Iterator[tuple[Doc, dict[str, Any]]]:
    for rollout in of_kind(docs, "Rollout"):
        canary = dig(rollout, "spec", "strategy", "canary")
        if isinstance(canary, dict):
            yield rollout, canary


def httproute_rules(docs: list[Doc]) -> list[str]:
    """Weights are int32 0..1,000,000; a split's weights add up to 100 (rollgen's percents); header-match rules
    point at one backend only; every backend is a Service in the overlay; a parent Gateway and a hostname."""
    out = []
    services = _services(docs)
    for route in of_kind(docs, "HTTPRoute"):
        if not dig(route, "spec", "parentRefs"):
            out.append(f"{ident(route)}: no parentRefs: it attaches to no Gateway")
        if not dig(route, "spec", "hostnames"):
            out.append(f"{ident(route)}: no hostnames: it would take every host of its Gateway")
        for index, rule in enumerate(dig(route, "spec", "rules", default=[])):
            refs = rule.get("backendRefs", [])
            weights = [_as_int(ref.get("weight", 1)) for ref in refs]
            if any(w is None or not 0 <= w <= MAX_BACKEND_WEIGHT for w in weights):
                out.append(f"{ident(route)}: rules[{index}]: a weight outside 0..{MAX_BACKEND_WEIGHT}: {weights}")
            if len(refs) > 1 and sum(w or 0 for w in weights) != 100:
                out.append(f"{ident(route)}: rules[{index}]: split weights {weights} do not add up to 100")
            has_headers = any(m.get("headers") for m in rule.get("matches", []))
            if has_headers and len(refs) != 1:
                out.append(f"{ident(route)}: rules[{index}]: a header match must route to one backend only")
            for ref in refs:
                if ref.get("name") not in services:
                    out.append(f"{ident(route)}: rules[{index}]: backend {ref.get('name')!r} is not a Service here")
    return out


def gateway_plugin_routes(docs: list[Doc]) -> list[str]:
    """The plugin's HTTPRoute exists, has one weighted rule with the Rollout's stable and canary Services at 100
    and 0 (the plugin edits them), and header routes are managedRoutes that setHeaderRoute steps name."""
    out = []
    for rollout, canary in _rollout_canary(docs):
        config = dig(canary, "trafficRouting", "plugins", GATEWAY_PLUGIN)
        if not isinstance(config, dict):
            continue
        names = [config["httpRoute"]] if "httpRoute" in config else [r.get("name") for r in config.get("httpRoutes", [])]
        for name in names:
            route = find(docs, "HTTPRoute", str(name))
            if route is None:
                out.append(f"{ident(rollout)}: the plugin's HTTPRoute {name!r} is not in the overlay")
                continue
            weighted = [r for r in dig(route, "spec", "rules", default=[]) if len(r.get("backendRefs", [])) == 2]
            pairs = [[(b.get("name"), b.get("weight")) for b in r["backendRefs"]] for r in weighted]
            expected = [(canary.get("stableService"), 100), (canary.get("canaryService"), 0)]
            if pairs != [expected]:
                out.append(f"{ident(route)}: the plugin needs one rule with {expected}, found {pairs}")
        out += _managed_routes(rollout, canary)
    return out


def _managed_routes(rollout: Doc, canary: dict[str, Any]) -> list[str]:
    managed = [m.get("name") for m in dig(canary, "trafficRouting", "managedRoutes", default=[])]
    used = [dig(step, "setHeaderRoute", "name") for step in canary.get("steps", []) if "setHeaderRoute" in step]
    return [f"{ident(rollout)}: setHeaderRoute {name!r} is not in managedRoutes" for name in used if name not in managed]


def virtual_service_rules(docs: list[Doc]) -> list[str]:
    """A route's weights add up to 100; header routes come before the weighted route and go to one destination;
    every destination host is a Service in the overlay (host-level routing, no subsets)."""
    out = []
    services = _services(docs)
    for service in of_kind(docs, "VirtualService"):
        seen_weighted = False
        for index, route in enumerate(dig(service, "spec", "http", default=[])):
            destinations = route.get("route", [])
            has_headers = any(m.get("headers") for m in route.get("match", []))
            if len(destinations) > 1:
                seen_weighted = True
                weights = [_as_int(d.get("weight", 0)) or 0 for d in destinations]
                if sum(weights) != 100:
                    out.append(f"{ident(service)}: http[{index}]: weights {weights} do not add up to 100")
            if has_headers and (seen_weighted or len(destinations) != 1):
                out.append(f"{ident(service)}: http[{index}]: a header route must come first, to one destination")
            for destination in destinations:
                host = dig(destination, "destination", "host")
                if host not in services:
                    out.append(f"{ident(service)}: http[{index}]: destination {host!r} is not a Service here")
                if dig(destination, "destination", "subset"):
                    out.append(f"{ident(service)}: http[{index}]: subsets need DestinationRules rollgen does not write")
    return out


def istio_rollout_routes(docs: list[Doc]) -> list[str]:
    """trafficRouting.istio names a VirtualService of the overlay and its routes; those hold the Rollout's
    stable and canary Services at 100 and 0 in git."""
    out = []
    for rollout, canary in _rollout_canary(docs):
        ref = dig(canary, "trafficRouting", "istio", "virtualService")
        if not isinstance(ref, dict):
            continue
        service = find(docs, "VirtualService", str(ref.get("name")))
        if service is None:
            out.append(f"{ident(rollout)}: VirtualService {ref.get('name')!r} is not in the overlay")
            continue
        routes = {r.get("name"): r for r in dig(service, "spec", "http", default=[])}
        for name in ref.get("routes", []):
            pairs = [(dig(d, "destination", "host"), d.get("weight")) for d in routes.get(name, {}).get("route", [])]
            expected = [(canary.get("stableService"), 100), (canary.get("canaryService"), 0)]
            if pairs != expected:
                out.append(f"{ident(service)}: route {name!r} must hold {expected}, found {pairs}")
        out += _managed_routes(rollout, canary)
    return out


def flagger_writes_its_routes(docs: list[Doc]) -> list[str]:
    """Flagger with gatewayapi or istio generates the HTTPRoute / VirtualService and DestinationRules itself."""
    out = []
    for canary in of_kind(docs, "Canary"):
        provider = str(dig(canary, "spec", "provider", default=""))
        target = str(dig(canary, "spec", "targetRef", "name", default=""))
        kinds = {"gatewayapi:v1": ("HTTPRoute",), "istio": ("VirtualService", "DestinationRule")}.get(provider, ())
        for kind in kinds:
            for name in (target, f"{target}-primary", f"{target}-canary"):
                if find(docs, kind, name) is not None:
                    out.append(f"{ident(canary)}: git writes {kind}/{name}, which Flagger generates and overwrites")
        if provider == "gatewayapi:v1" and not dig(canary, "spec", "service", "gatewayRefs"):
            out.append(f"{ident(canary)}: provider gatewayapi:v1 needs service.gatewayRefs")
        if provider in ("gatewayapi:v1", "istio") and dig(canary, "spec", "ingressRef"):
            out.append(f"{ident(canary)}: ingressRef is for provider nginx")
    return out


ROUTER_RULES: dict[str, tuple[Rule, ...]] = {
    "ingress-nginx": NGINX_RULES,
    "gateway-api": (httproute_rules, gateway_plugin_routes, flagger_writes_its_routes),
    "istio": (virtual_service_rules, istio_rollout_routes, flagger_writes_its_routes),
}


def check_all(docs: list[Doc], engine: str, router: str = "ingress-nginx") -> list[str]:
    """Every rule that applies to `engine`'s output routed by `router`."""
    out: list[str] = []
    engine = "deployments" if engine == "nginx" else engine  # a spec may still say nginx
    for rule in (*GENERAL_RULES, *WIRING_RULES, *ROUTER_RULES[router], *ENGINE_RULES[engine]):
        out.extend(f"[{rule.__name__}] {line}" for line in rule(docs))
    return out
