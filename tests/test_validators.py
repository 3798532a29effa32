"""The harness can fail: every rule catches a small hand-written bad manifest set and passes a good one."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests import rules
from tests.rules import Doc
from tests.validators import (
    crd_validator,
    kustomize_build,
    openapi_to_json_schema,
    validate_manifest,
)

NS = "test"
LABELS = {"app.kubernetes.io/name": "hello"}


def meta(name: str, annotations: dict[str, Any] | None = None, **labels: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "namespace": NS, "labels": {**LABELS, **labels}}
    if annotations is not None:
        out["annotations"] = annotations
    return out


def deployment(name: str, replicas: int | None = 1, **labels: str) -> Doc:
    spec: dict[str, Any] = {} if replicas is None else {"replicas": replicas}
    spec["selector"] = {"matchLabels": {**LABELS, **labels}}
    spec["template"] = {
        "metadata": {"labels": {**LABELS, **labels}},
        "spec": {"containers": [{"name": "hello", "image": "hello", "ports": [{"name": "http", "containerPort": 5050}]}]},
    }
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(name, **labels), "spec": spec}


def service(name: str, **selector: str) -> Doc:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(name),
        "spec": {"selector": {**LABELS, **selector}, "ports": [{"name": "http", "port": 5000, "targetPort": "http"}]},
    }


def ingress(name: str, backend: str, annotations: dict[str, Any] | None = None, host: str = "hello.example.com",
            path: str = "/", path_type: str = "Prefix") -> Doc:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": meta(name, annotations),
        "spec": {
            "ingressClassName": "nginx",
            "rules": [{"host": host, "http": {"paths": [
                {"path": path, "pathType": path_type,
                 "backend": {"service": {"name": backend, "port": {"name": "http"}}}}]}}],
        },
    }


def canary_annotations(weight: str = "20", **extra: Any) -> dict[str, Any]:
    out = {"nginx.ingress.kubernetes.io/canary": "true", "nginx.ingress.kubernetes.io/canary-weight": weight}
    out.update({f"nginx.ingress.kubernetes.io/{k.replace('_', '-')}": v for k, v in extra.items()})
    return out


def with_tls(ingress_doc: Doc) -> Doc:
    hosts = [rule["host"] for rule in ingress_doc["spec"]["rules"]]
    ingress_doc["spec"]["tls"] = [{"hosts": hosts, "secretName": "hello-tls"}]
    return ingress_doc


def nginx_good() -> list[Doc]:
    return [
        deployment("hello", **{"rollgen.io/track": "stable"}),
        deployment("hello-canary", **{"rollgen.io/track": "canary"}),
        service("hello", **{"rollgen.io/track": "stable"}),
        service("hello-canary", **{"rollgen.io/track": "canary"}),
        with_tls(ingress("hello", "hello")),
        with_tls(ingress("hello-canary", "hello-canary",
                         canary_annotations(canary_by_header="X-Canary", canary_by_cookie="canary"))),
    ]


def rollout(**canary_overrides: Any) -> Doc:
    canary: dict[str, Any] = {
        "canaryService": "hello-canary",
        "stableService": "hello-stable",
        "trafficRouting": {"nginx": {"stableIngress": "hello",
                                     "additionalIngressAnnotations": {"canary-by-header": "X-Canary"}}},
        "steps": [{"setWeight": 5}, {"pause": {"duration": "5m"}}, {"analysis": {"templates": [{"templateName": "hello"}]}},
                  {"setWeight": 50}, {"pause": {}}],
    }
    canary.update(canary_overrides)
    template = deployment("hello")["spec"]["template"]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": meta("hello", {"argocd.argoproj.io/sync-wave": "1"}),
        "spec": {"replicas": 3, "selector": {"matchLabels": dict(LABELS)}, "template": template,
                 "strategy": {"canary": canary}},
    }


def analysis_template(count: Any = 5) -> Doc:
    metric: dict[str, Any] = {
        "name": "error-rate",
        "interval": "1m",
        "failureLimit": 1,
        "successCondition": "result[0] <= 0.01",
        "provider": {"prometheus": {"address": "http://prometheus.monitoring:9090", "query": "sum(x)"}},
    }
    if count is not None:
        metric["count"] = count
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": meta("hello", {"argocd.argoproj.io/sync-wave": "0"}),
        "spec": {"metrics": [metric]},
    }


def rollouts_good() -> list[Doc]:
    return [rollout(), service("hello-stable"), service("hello-canary"), ingress("hello", "hello-stable"),
            analysis_template()]


def canary_resource(**analysis_overrides: Any) -> Doc:
    analysis: dict[str, Any] = {
        "interval": "1m",
        "threshold": 2,
        "stepWeights": [5, 20, 50],
        "metrics": [
            {"name": "request-success-rate", "interval": "1m", "thresholdRange": {"min": 99}},
            {"name": "p99", "interval": "1m", "templateRef": {"name": "hello-p99"}, "thresholdRange": {"max": 0.5}},
        ],
    }
    analysis.update(analysis_overrides)
    return {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "metadata": meta("hello", {"argocd.argoproj.io/sync-wave": "1"}),
        "spec": {
            "provider": "nginx",
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "hello"},
            "ingressRef": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "hello"},
            "autoscalerRef": {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "name": "hello"},
            "progressDeadlineSeconds": 600,
            "service": {"port": 5000, "targetPort": "http"},
            "analysis": analysis,
        },
    }


P99 = 'histogram_quantile(0.99, sum(rate(x_bucket{namespace="{{ namespace }}",ingress="{{ ingress }}"}[{{ interval }}])) by (le))'


def metric_template(query: str = P99) -> Doc:
    return {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "MetricTemplate",
        "metadata": meta("hello-p99", {"argocd.argoproj.io/sync-wave": "0"}),
        "spec": {"provider": {"type": "prometheus", "address": "http://prometheus.monitoring:9090"}, "query": query},
    }


def hpa() -> Doc:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta("hello"),
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "hello"},
                 "minReplicas": 2, "maxReplicas": 4,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                                                               "target": {"type": "Utilization", "averageUtilization": 80}}}]},
    }


def flagger_good() -> list[Doc]:
    return [deployment("hello", replicas=None), ingress("hello", "hello"), canary_resource(), metric_template(), hpa()]


REPO = "https://git.example.com/config.git"


def application(**spec_overrides: Any) -> Doc:
    spec: dict[str, Any] = {
        "project": "default",
        "source": {"repoURL": REPO, "path": "apps/hello/overlays/prod", "targetRevision": "main"},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": NS},
        "syncPolicy": {"automated": {"prune": True, "selfHeal": True}, "syncOptions": ["RespectIgnoreDifferences=true"]},
        "ignoreDifferences": [{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}],
    }
    spec.update(spec_overrides)
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "hello-prod", "namespace": "argocd"}, "spec": spec}


def flux_kustomization() -> Doc:
    return {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "hello-prod", "namespace": "flux-system"},
            "spec": {"interval": "1m", "path": "./apps/hello/overlays/prod", "prune": True, "wait": True,
                     "sourceRef": {"kind": "GitRepository", "name": "rollgen"},
                     "healthCheckExprs": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                                           "current": "status.phase == 'Healthy'"}]}}


def git_repository() -> Doc:
    return {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "rollgen", "namespace": "flux-system"},
            "spec": {"interval": "1m", "url": REPO, "ref": {"branch": "main"}}}


def rollouts_wired() -> list[Doc]:
    return [*rollouts_good(), application(), flux_kustomization(), git_repository()]


GOOD = {"nginx": nginx_good, "argo-rollouts": rollouts_good, "flagger": flagger_good, "wired": rollouts_wired}
ENGINE_OF = {"wired": "argo-rollouts"}  # a good set named for what it adds, checked as its engine


# -- the good sets pass everything ---------------------------------------------------------------------------


@pytest.mark.parametrize("engine", sorted(GOOD))
def test_good_sets_pass_every_rule(engine: str) -> None:
    assert rules.check_all(GOOD[engine](), ENGINE_OF.get(engine, engine)) == []


@pytest.mark.parametrize("engine", sorted(GOOD))
def test_good_sets_pass_the_schemas(engine: str) -> None:
    assert [line for doc in GOOD[engine]() for line in validate_manifest(doc)] == []


# -- each rule catches its bad case --------------------------------------------------------------------------


def _find(docs: list[Doc], kind: str, name: str) -> Doc:
    doc = rules.find(docs, kind, name)
    assert doc is not None
    return doc


def _annos(docs: list[Doc], kind: str, name: str) -> dict[str, Any]:
    return _find(docs, kind, name)["metadata"].setdefault("annotations", {})


def _canary_spec(docs: list[Doc]) -> dict[str, Any]:
    return _find(docs, "Rollout", "hello")["spec"]["strategy"]["canary"]


def _bad_weight_int(docs: list[Doc]) -> None:
    _annos(docs, "Ingress", "hello-canary")["nginx.ingress.kubernetes.io/canary-weight"] = 20


def _bad_canary_bool(docs: list[Doc]) -> None:
    _annos(docs, "Ingress", "hello-canary")["nginx.ingress.kubernetes.io/canary"] = True


def _bad_annotation_typo(docs: list[Doc]) -> None:
    _annos(docs, "Ingress", "hello-canary")["nginx.ingress.kubernetes.io/canary-by-headers"] = "X-Canary"


def _bad_weight_range(docs: list[Doc]) -> None:
    _annos(docs, "Ingress", "hello-canary")["nginx.ingress.kubernetes.io/canary-weight"] = "120"


def _bad_canary_path_type(docs: list[Doc]) -> None:
    _find(docs, "Ingress", "hello-canary")["spec"]["rules"][0]["http"]["paths"][0]["pathType"] = "Exact"


def _bad_canary_host(docs: list[Doc]) -> None:
    _find(docs, "Ingress", "hello-canary")["spec"]["rules"][0]["host"] = "other.example.com"


def _bad_canary_class(docs: list[Doc]) -> None:
    _find(docs, "Ingress", "hello-canary")["spec"]["ingressClassName"] = "internal"


def _bad_canary_same_service(docs: list[Doc]) -> None:
    path = _find(docs, "Ingress", "hello-canary")["spec"]["rules"][0]["http"]["paths"][0]
    path["backend"]["service"]["name"] = "hello"


def _bad_two_canaries(docs: list[Doc]) -> None:
    docs.append(ingress("hello-canary-2", "hello-canary", canary_annotations()))


def _bad_header_value(docs: list[Doc]) -> None:
    _annos(docs, "Ingress", "hello-canary")["nginx.ingress.kubernetes.io/canary-by-header-value"] = "yes please"


def _bad_cookie_name(docs: list[Doc]) -> None:
    _annos(docs, "Ingress", "hello-canary")["nginx.ingress.kubernetes.io/canary-by-cookie"] = "can;ary"


def _bad_header_name(docs: list[Doc]) -> None:
    _annos(docs, "Ingress", "hello-canary")["nginx.ingress.kubernetes.io/canary-by-header"] = "X Canary"


def _bad_class_annotation(docs: list[Doc]) -> None:
    _annos(docs, "Ingress", "hello")["kubernetes.io/ingress.class"] = "nginx"


def _bad_no_class(docs: list[Doc]) -> None:
    del _find(docs, "Ingress", "hello")["spec"]["ingressClassName"]


def _bad_service_selects_both(docs: list[Doc]) -> None:
    del _find(docs, "Service", "hello")["spec"]["selector"]["rollgen.io/track"]


def _bad_same_services(docs: list[Doc]) -> None:
    _canary_spec(docs)["canaryService"] = "hello-stable"


def _bad_missing_service(docs: list[Doc]) -> None:
    docs.remove(_find(docs, "Service", "hello-canary"))


def _bad_no_canary_service(docs: list[Doc]) -> None:
    del _canary_spec(docs)["canaryService"]


def _bad_rollout_selector(docs: list[Doc]) -> None:
    _find(docs, "Service", "hello-stable")["spec"]["selector"]["tier"] = "web"


def _bad_stable_ingress_missing(docs: list[Doc]) -> None:
    _canary_spec(docs)["trafficRouting"]["nginx"]["stableIngress"] = "nope"


def _bad_stable_ingress_backend(docs: list[Doc]) -> None:
    path = _find(docs, "Ingress", "hello")["spec"]["rules"][0]["http"]["paths"][0]
    path["backend"]["service"]["name"] = "hello-canary"


def _bad_both_stable_ingresses(docs: list[Doc]) -> None:
    _canary_spec(docs)["trafficRouting"]["nginx"]["stableIngresses"] = ["hello"]


def _bad_rollout_canary_ingress(docs: list[Doc]) -> None:
    docs.append(ingress("hello-hello-canary", "hello-canary"))


def _bad_rollout_canary_annotation(docs: list[Doc]) -> None:
    _annos(docs, "Ingress", "hello")["nginx.ingress.kubernetes.io/canary-weight"] = "0"


def _bad_pod_template_hash(docs: list[Doc]) -> None:
    _find(docs, "Service", "hello-canary")["spec"]["selector"]["rollouts-pod-template-hash"] = "abc"


def _bad_two_actions(docs: list[Doc]) -> None:
    _canary_spec(docs)["steps"][0] = {"setWeight": 5, "pause": {}}


def _bad_set_weight_range(docs: list[Doc]) -> None:
    _canary_spec(docs)["steps"][0] = {"setWeight": 101}


def _bad_set_weight_over_max(docs: list[Doc]) -> None:
    _canary_spec(docs)["trafficRouting"]["maxTrafficWeight"] = 40


def _bad_header_route(docs: list[Doc]) -> None:
    _canary_spec(docs)["steps"].append({"setHeaderRoute": {"name": "h", "match": []}})


def _bad_surge(docs: list[Doc]) -> None:
    _canary_spec(docs).update(maxSurge=0, maxUnavailable="0%")


def _bad_sticky_with_header(docs: list[Doc]) -> None:
    _annos(docs, "Ingress", "hello")["nginx.ingress.kubernetes.io/affinity"] = "cookie"


def _bad_idle_canary(docs: list[Doc]) -> None:
    _find(docs, "Deployment", "hello-canary")["spec"]["replicas"] = 0


def _bad_ignored_surge(docs: list[Doc]) -> None:
    _canary_spec(docs).update(maxSurge="25%")


def _bad_default_sticky(docs: list[Doc]) -> None:
    _annos(docs, "Ingress", "hello-canary")["nginx.ingress.kubernetes.io/affinity-canary-behavior"] = "sticky"


def _bad_deadline(docs: list[Doc]) -> None:
    _find(docs, "Rollout", "hello")["spec"].update(progressDeadlineSeconds=30, minReadySeconds=30)


def _bad_infinite_count(docs: list[Doc]) -> None:
    del _find(docs, "AnalysisTemplate", "hello")["spec"]["metrics"][0]["count"]


def _bad_template_name(docs: list[Doc]) -> None:
    docs.remove(_find(docs, "AnalysisTemplate", "hello"))


def _bad_primary(docs: list[Doc]) -> None:
    docs.append(deployment("hello-primary", replicas=None))


def _bad_apex_service(docs: list[Doc]) -> None:
    docs.append(service("hello"))


def _bad_canary_service_flagger(docs: list[Doc]) -> None:
    docs.append(service("hello-canary"))


def _bad_flagger_canary_ingress(docs: list[Doc]) -> None:
    docs.append(ingress("hello-canary", "hello-canary", canary_annotations()))


def _bad_flagger_backend(docs: list[Doc]) -> None:
    path = _find(docs, "Ingress", "hello")["spec"]["rules"][0]["http"]["paths"][0]
    path["backend"]["service"]["name"] = "hello-primary"


def _bad_flagger_ingress_canary(docs: list[Doc]) -> None:
    _annos(docs, "Ingress", "hello")["nginx.ingress.kubernetes.io/canary"] = "true"


def _bad_flagger_selector(docs: list[Doc]) -> None:
    target = _find(docs, "Deployment", "hello")
    target["spec"]["selector"]["matchLabels"] = {"tier": "hello"}
    target["spec"]["template"]["metadata"]["labels"]["tier"] = "hello"


def _bad_flagger_replicas(docs: list[Doc]) -> None:
    _find(docs, "Deployment", "hello")["spec"]["replicas"] = 2


def _bad_flagger_reconcile(docs: list[Doc]) -> None:
    _annos(docs, "Deployment", "hello")["kustomize.toolkit.fluxcd.io/reconcile"] = "disabled"


def _analysis(docs: list[Doc]) -> dict[str, Any]:
    return _find(docs, "Canary", "hello")["spec"]["analysis"]


def _bad_flagger_duration(docs: list[Doc]) -> None:
    _analysis(docs)["interval"] = "1h"


def _bad_flagger_two_modes(docs: list[Doc]) -> None:
    _analysis(docs).update(stepWeight=10, maxWeight=50)


def _bad_flagger_no_mode(docs: list[Doc]) -> None:
    del _analysis(docs)["stepWeights"]


def _bad_flagger_half_mode(docs: list[Doc]) -> None:
    del _analysis(docs)["stepWeights"]
    _analysis(docs)["stepWeight"] = 10


def _bad_flagger_match_weights(docs: list[Doc]) -> None:
    _analysis(docs)["match"] = [{"headers": {"x-canary": {"exact": "insider"}}}]


def _bad_flagger_two_headers(docs: list[Doc]) -> None:
    del _analysis(docs)["stepWeights"]
    _analysis(docs).update(iterations=10, match=[{"headers": {"x-canary": {"exact": "insider"}}},
                                                 {"headers": {"x-beta": {"exact": "yes"}}}])


def _bad_flagger_template_ref(docs: list[Doc]) -> None:
    docs.remove(_find(docs, "MetricTemplate", "hello-p99"))


def _bad_flagger_query(docs: list[Doc]) -> None:
    _find(docs, "MetricTemplate", "hello-p99")["spec"]["query"] = "sum(x{ns=\"{{ namespce }}\"})"


def _bad_no_namespace(docs: list[Doc]) -> None:
    del docs[0]["metadata"]["namespace"]


def _bad_orphan_service(docs: list[Doc]) -> None:
    docs.append(service("lost", tier="none"))


def _bad_workload_selector(docs: list[Doc]) -> None:
    docs[0]["spec"]["selector"]["matchLabels"]["extra"] = "x"


def _bad_backend_missing(docs: list[Doc]) -> None:
    docs.append(ingress("other", "nowhere", host="other.example.com"))


def _bad_backend_port(docs: list[Doc]) -> None:
    path = _find(docs, "Ingress", "hello")["spec"]["rules"][0]["http"]["paths"][0]
    path["backend"]["service"]["port"] = {"name": "web"}


def _bad_tls_host(docs: list[Doc]) -> None:
    _find(docs, "Ingress", "hello")["spec"]["tls"] = [{"hosts": ["other.example.com"], "secretName": "hello-tls"}]


def _bad_hpa_target(docs: list[Doc]) -> None:
    _find(docs, "HorizontalPodAutoscaler", "hello")["spec"]["scaleTargetRef"]["name"] = "gone"


def _bad_wave_int(docs: list[Doc]) -> None:
    _annos(docs, "Rollout", "hello")["argocd.argoproj.io/sync-wave"] = 1


def _bad_wave_order(docs: list[Doc]) -> None:
    _annos(docs, "AnalysisTemplate", "hello")["argocd.argoproj.io/sync-wave"] = "1"


def _bad_wave_order_flagger(docs: list[Doc]) -> None:
    del _annos(docs, "MetricTemplate", "hello-p99")["argocd.argoproj.io/sync-wave"]
    del _annos(docs, "Canary", "hello")["argocd.argoproj.io/sync-wave"]


def _bad_app_source(docs: list[Doc]) -> None:
    del _find(docs, "Application", "hello-prod")["spec"]["source"]["targetRevision"]


def _bad_app_project(docs: list[Doc]) -> None:
    del _find(docs, "Application", "hello-prod")["spec"]["project"]


def _bad_app_destination(docs: list[Doc]) -> None:
    _find(docs, "Application", "hello-prod")["spec"]["destination"] = {"server": "https://kubernetes.default.svc"}


def _bad_app_respect(docs: list[Doc]) -> None:
    _find(docs, "Application", "hello-prod")["spec"]["syncPolicy"]["syncOptions"] = []


def _bad_flux_health(docs: list[Doc]) -> None:
    _find(docs, "Kustomization", "hello-prod")["spec"]["healthCheckExprs"] = []


def _bad_flux_prune(docs: list[Doc]) -> None:
    del _find(docs, "Kustomization", "hello-prod")["spec"]["prune"]


def _bad_git_ref(docs: list[Doc]) -> None:
    del _find(docs, "GitRepository", "rollgen")["spec"]["ref"]


# (rule, engine whose good set is broken, breaker, text expected in the violation)
CASES: list[tuple[rules.Rule, str, Callable[[list[Doc]], None], str]] = [
    (rules.nginx_annotation_values, "nginx", _bad_weight_int, "must be a string"),
    (rules.nginx_annotation_values, "nginx", _bad_canary_bool, "must be a string"),
    (rules.nginx_annotation_values, "nginx", _bad_annotation_typo, "not an ingress-nginx canary annotation"),
    (rules.nginx_canary_weight_range, "nginx", _bad_weight_range, "outside 0..100"),
    (rules.nginx_canary_matches_main, "nginx", _bad_canary_path_type, "pathType Exact differs"),
    (rules.nginx_canary_matches_main, "nginx", _bad_canary_host, "no main Ingress"),
    (rules.nginx_canary_matches_main, "nginx", _bad_canary_class, "ingressClassName differs"),
    (rules.nginx_canary_matches_main, "nginx", _bad_canary_same_service, "the same as"),
    (rules.nginx_one_canary_per_host_path, "nginx", _bad_two_canaries, "2 canary Ingresses"),
    (rules.nginx_header_cookie_charset, "nginx", _bad_header_value, "canary-by-header-value"),
    (rules.nginx_header_cookie_charset, "nginx", _bad_cookie_name, "canary-by-cookie"),
    (rules.nginx_header_cookie_charset, "nginx", _bad_header_name, "not an HTTP header name"),
    (rules.nginx_ingress_class, "nginx", _bad_class_annotation, "deprecated"),
    (rules.nginx_ingress_class, "nginx", _bad_no_class, "ingressClassName is not set"),
    (rules.nginx_engine_services_select_one_track, "nginx", _bad_service_selects_both, "2 Deployments"),
    (rules.rollout_services, "argo-rollouts", _bad_same_services, "must differ"),
    (rules.rollout_services, "argo-rollouts", _bad_missing_service, "not a Service in the output"),
    (rules.rollout_services, "argo-rollouts", _bad_no_canary_service, "canaryService is required"),
    (rules.rollout_services, "argo-rollouts", _bad_rollout_selector, "not a subset"),
    (rules.rollout_stable_ingress, "argo-rollouts", _bad_stable_ingress_missing, "not an Ingress in the output"),
    (rules.rollout_stable_ingress, "argo-rollouts", _bad_stable_ingress_backend, "does not route to the stableService"),
    (rules.rollout_stable_ingress, "argo-rollouts", _bad_both_stable_ingresses, "both stableIngress and"),
    (rules.rollout_no_canary_ingress, "argo-rollouts", _bad_rollout_canary_ingress, "controller creates"),
    (rules.rollout_no_canary_ingress, "argo-rollouts", _bad_rollout_canary_annotation, "carries canary annotations"),
    (rules.rollout_no_pod_template_hash, "argo-rollouts", _bad_pod_template_hash, "rollouts-pod-template-hash"),
    (rules.rollout_steps, "argo-rollouts", _bad_two_actions, "exactly one"),
    (rules.rollout_steps, "argo-rollouts", _bad_set_weight_range, "outside 0..100"),
    (rules.rollout_steps, "argo-rollouts", _bad_set_weight_over_max, "outside 0..40"),
    (rules.rollout_steps, "argo-rollouts", _bad_header_route, "not supported with nginx"),
    (rules.rollout_update_bounds, "argo-rollouts", _bad_surge, "both 0"),
    (rules.nginx_routes_reach_the_canary, "nginx", _bad_sticky_with_header, "pinned to stable"),
    (rules.nginx_routes_reach_the_canary, "argo-rollouts", _bad_sticky_with_header, "pinned to stable"),
    (rules.nginx_no_idle_canary, "nginx", _bad_idle_canary, "no alternative balancer"),
    (rules.no_ignored_settings, "argo-rollouts", _bad_ignored_surge, "maxSurge is ignored with trafficRouting"),
    (rules.no_ignored_settings, "nginx", _bad_default_sticky, "ingress-nginx's default"),
    (rules.rollout_update_bounds, "argo-rollouts", _bad_deadline, "must exceed minReadySeconds"),
    (rules.rollout_analysis_templates, "argo-rollouts", _bad_infinite_count, "no finite count"),
    (rules.rollout_analysis_templates, "argo-rollouts", _bad_template_name, "is not a AnalysisTemplate"),
    (rules.flagger_generated_objects, "flagger", _bad_primary, "Deployment/hello-primary: Flagger creates"),
    (rules.flagger_generated_objects, "flagger", _bad_apex_service, "Service/hello: Flagger creates"),
    (rules.flagger_generated_objects, "flagger", _bad_canary_service_flagger, "Service/hello-canary: Flagger"),
    (rules.flagger_generated_objects, "flagger", _bad_flagger_canary_ingress, "Ingress/hello-canary: Flagger"),
    (rules.flagger_ingress_routes_to_apex, "flagger", _bad_flagger_backend, "apex Service 'hello'"),
    (rules.flagger_ingress_routes_to_apex, "flagger", _bad_flagger_ingress_canary, "Flagger writes them"),
    (rules.flagger_target, "flagger", _bad_flagger_selector, "Flagger cannot find its pods"),
    (rules.flagger_target, "flagger", _bad_flagger_replicas, "sets spec.replicas"),
    (rules.flagger_target, "flagger", _bad_flagger_reconcile, "reconcile: disabled"),
    (rules.flagger_analysis, "flagger", _bad_flagger_duration, "^[0-9]+(m|s)"),
    (rules.flagger_analysis, "flagger", _bad_flagger_two_modes, "exactly one of"),
    (rules.flagger_analysis, "flagger", _bad_flagger_no_mode, "exactly one of"),
    (rules.flagger_analysis, "flagger", _bad_flagger_half_mode, "go together"),
    (rules.flagger_analysis, "flagger", _bad_flagger_match_weights, "cannot be combined with weights"),
    (rules.flagger_analysis, "flagger", _bad_flagger_two_headers, "only one of each"),
    (rules.flagger_references, "flagger", _bad_flagger_template_ref, "is not a MetricTemplate"),
    (rules.flagger_query_placeholders, "flagger", _bad_flagger_query, "not Flagger placeholders"),
    (rules.every_object_namespaced, "nginx", _bad_no_namespace, "no metadata.namespace"),
    (rules.services_select_workloads, "nginx", _bad_orphan_service, "matches the pods of no workload"),
    (rules.workload_selectors_match_templates, "nginx", _bad_workload_selector, "not a subset of its template"),
    (rules.ingress_backends_exist, "nginx", _bad_backend_missing, "'nowhere' is not in the output"),
    (rules.ingress_backends_exist, "nginx", _bad_backend_port, "no port named 'web'"),
    (rules.ingress_tls_covers_hosts, "nginx", _bad_tls_host, "host 'hello.example.com' is not in spec.tls"),
    (rules.autoscaler_targets_exist, "flagger", _bad_hpa_target, "is not in the output"),
    (rules.sync_waves, "argo-rollouts", _bad_wave_int, "must be a string"),
    (rules.sync_waves, "argo-rollouts", _bad_wave_order, "not earlier than Rollout/hello"),
    (rules.sync_waves, "flagger", _bad_wave_order_flagger, "not earlier than Canary/hello"),
    (rules.argocd_applications, "wired", _bad_app_source, "lacks ['targetRevision']"),
    (rules.argocd_applications, "wired", _bad_app_project, "spec.project is required"),
    (rules.argocd_applications, "wired", _bad_app_destination, "needs server or name, and namespace"),
    (rules.argocd_applications, "wired", _bad_app_respect, "RespectIgnoreDifferences"),
    (rules.flux_objects, "wired", _bad_flux_health, "no healthCheckExprs for Rollout"),
    (rules.flux_objects, "wired", _bad_flux_prune, "lacks ['prune']"),
    (rules.flux_objects, "wired", _bad_git_ref, "GitRepository/rollgen: spec lacks ['ref']"),
]


@pytest.mark.parametrize(("rule", "engine", "breaker", "expected"), CASES,
                         ids=[f"{c[0].__name__}-{c[2].__name__[5:]}" for c in CASES])
def test_rule_catches_bad_set(rule: rules.Rule, engine: str, breaker: Callable[[list[Doc]], None],
                              expected: str) -> None:
    good = GOOD[engine]()
    assert rule(good) == []
    bad = copy.deepcopy(good)
    breaker(bad)
    violations = rule(bad)
    assert any(expected in line for line in violations), violations
    assert any(expected in line for line in rules.check_all(bad, ENGINE_OF.get(engine, engine)))


def test_every_rule_has_a_failing_case() -> None:
    all_rules = {*rules.GENERAL_RULES, *rules.WIRING_RULES, *rules.NGINX_RULES, *(r for rs in rules.ENGINE_RULES.values() for r in rs)}
    covered = {case[0] for case in CASES}
    assert sorted(r.__name__ for r in all_rules - covered) == []


def test_replicas_allowed_when_argocd_ignores_them() -> None:
    docs = flagger_good()
    _bad_flagger_replicas(docs)
    assert rules.flagger_target(docs)
    docs.append({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "hello", "namespace": "argocd"},
        "spec": {"ignoreDifferences": [{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}],
                 "syncPolicy": {"syncOptions": ["RespectIgnoreDifferences=true"]}},
    })
    assert rules.flagger_target(docs) == []


def test_metric_queries_must_match_the_spec() -> None:
    docs = flagger_good()
    assert rules.flagger_metric_queries(docs, {"hello-p99": P99}) == []
    _find(docs, "MetricTemplate", "hello-p99")["spec"]["query"] = P99.replace("{{ namespace }}", "test")
    assert rules.flagger_metric_queries(docs, {"hello-p99": P99})
    assert rules.flagger_metric_queries(docs, {"hello-missing": P99})


def test_flagger_ab_test_with_one_header_and_cookie_passes() -> None:
    docs = flagger_good()
    del _analysis(docs)["stepWeights"]
    _analysis(docs).update(iterations=10, match=[{"headers": {"x-canary": {"exact": "insider"}}},
                                                 {"headers": {"cookie": {"exact": "canary"}}}])
    assert rules.check_all(docs, "flagger") == []
    assert [line for doc in docs for line in validate_manifest(doc)] == []


# -- schemas -------------------------------------------------------------------------------------------------


def test_crd_invalid_rollout_rejected() -> None:
    bad = rollout(steps=[{"setWeight": "x"}])
    bad["spec"]["strategy"]["canary"]["canaryServce"] = "typo"
    problems = validate_manifest(bad)
    assert any("steps[0].setWeight" in p and "'x' is not of type 'integer'" in p for p in problems), problems
    assert any("'canaryServce' was unexpected" in p for p in problems), problems


def test_crd_rejects_unknown_top_level_and_metadata_fields() -> None:
    bad = rollout()
    bad["status2"] = {}
    bad["metadata"]["label"] = {"a": "b"}
    bad["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] = 1
    problems = validate_manifest(bad)
    assert any("'status2' was unexpected" in p for p in problems), problems
    assert any("'label' was unexpected" in p for p in problems), problems
    assert any("sync-wave: 1 is not of type 'string'" in p for p in problems), problems


def test_crd_checks_api_version_and_kind() -> None:
    bad = rollout()
    bad["apiVersion"] = "argoproj.io/v1beta1"
    assert any("does not serve v1beta1" in p for p in validate_manifest(bad))


def test_crd_valid_rollout_accepted() -> None:
    assert validate_manifest(rollout()) == []


def test_crd_int_or_string_and_preserve_unknown() -> None:
    good = rollout(maxSurge="25%", maxUnavailable=0, steps=[{"pause": {"duration": 30}}, {"pause": {"duration": "1h"}}])
    assert validate_manifest(good) == []
    bad = rollout(steps=[{"pause": {"duration": 1.5}}])
    assert validate_manifest(bad)


def test_openapi_translation() -> None:
    schema = openapi_to_json_schema({
        "type": "object",
        "properties": {
            "a": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
            "b": {"type": "string", "nullable": True, "enum": ["x"]},
            "c": {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {"d": {"type": "string"}}},
            "e": {"x-kubernetes-preserve-unknown-fields": True},
            "f": {"type": "object", "additionalProperties": {"type": "string"}},
            "g": {"type": "integer", "format": "int32"},
        },
        "oneOf": [{"properties": {"a": {"type": "string"}}, "type": "object"}, {"required": ["b"]}],
    })
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert props["a"]["type"] == ["integer", "string"]
    assert props["b"]["type"] == ["string", "null"] and props["b"]["enum"] == ["x", None]
    assert "additionalProperties" not in props["c"]
    assert props["e"] == {}
    assert props["f"]["additionalProperties"] == {"type": "string"}
    assert props["g"]["maximum"] == 2**31 - 1
    assert "additionalProperties" not in schema["oneOf"][0]  # branches restate, they do not close objects


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [("argoproj.io/v1alpha1", k) for k in ("Rollout", "AnalysisTemplate", "Application", "ApplicationSet", "AppProject")]
    + [("flagger.app/v1beta1", k) for k in ("Canary", "MetricTemplate")]
    + [("kustomize.toolkit.fluxcd.io/v1", "Kustomization"), ("source.toolkit.fluxcd.io/v1", "GitRepository"),
       ("gateway.networking.k8s.io/v1", "HTTPRoute")],
)
def test_every_crd_builds_a_validator(api_version: str, kind: str) -> None:
    assert crd_validator(api_version, kind) is crd_validator(api_version, kind)  # cached


# Examples in the style of each project's own documentation: the strict translation must accept them.
UPSTREAM_EXAMPLES: list[Doc] = [
    {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
     "metadata": {"name": "guestbook", "namespace": "argocd"},
     "spec": {"project": "default",
              "source": {"repoURL": "https://github.com/argoproj/argocd-example-apps.git", "targetRevision": "HEAD",
                         "path": "guestbook"},
              "destination": {"server": "https://kubernetes.default.svc", "namespace": "guestbook"},
              "ignoreDifferences": [{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}],
              "syncPolicy": {"automated": {"prune": True, "selfHeal": True},
                             "syncOptions": ["CreateNamespace=true", "RespectIgnoreDifferences=true"]}}},
    {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
     "metadata": {"name": "cluster-addons", "namespace": "argocd"},
     "spec": {"goTemplate": True, "goTemplateOptions": ["missingkey=error"],
              "generators": [{"git": {"repoURL": "https://github.com/argoproj/argo-cd.git", "revision": "HEAD",
                                      "directories": [{"path": "applicationset/examples/git-generator-directory/cluster-addons/*"}]}}],
              "template": {"metadata": {"name": "{{.path.basename}}"},
                           "spec": {"project": "my-project",
                                    "source": {"repoURL": "https://github.com/argoproj/argo-cd.git",
                                               "targetRevision": "HEAD", "path": "{{.path.path}}"},
                                    "destination": {"server": "https://kubernetes.default.svc",
                                                    "namespace": "{{.path.basename}}"}}}}},
    {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
     "metadata": {"name": "podinfo", "namespace": "flux-system"},
     "spec": {"interval": "10m", "targetNamespace": "default", "sourceRef": {"kind": "GitRepository", "name": "podinfo"},
              "path": "./kustomize", "prune": True, "timeout": "1m",
              "healthCheckExprs": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                                    "current": "status.phase == 'Healthy'"}]}},
    {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
     "metadata": {"name": "podinfo", "namespace": "default"},
     "spec": {"interval": "5m0s", "url": "https://github.com/stefanprodan/podinfo", "ref": {"branch": "master"}}},
    {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
     "metadata": {"name": "foo-route", "namespace": "default"},
     "spec": {"parentRefs": [{"name": "example-gateway"}], "hostnames": ["foo.example.com"],
              "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/login"}}],
                         "backendRefs": [{"name": "foo-svc", "port": 8080, "weight": 90},
                                         {"name": "foo-svc-canary", "port": 8080, "weight": 10}]}]}},
]


@pytest.mark.parametrize("doc", UPSTREAM_EXAMPLES, ids=lambda d: d["kind"])
def test_upstream_examples_pass(doc: Doc) -> None:
    assert validate_manifest(doc) == []


def test_core_kinds_are_strict() -> None:
    bad = service("hello")
    bad["spec"]["selecter"] = {}
    assert any("'selecter' was unexpected" in p for p in validate_manifest(bad))
    assert validate_manifest(service("hello")) == []


def test_unknown_kind_is_an_error_and_kustomize_config_skipped() -> None:
    assert validate_manifest({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})
    assert validate_manifest({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}) == []
    assert validate_manifest(["not", "a", "mapping"])


def test_kustomize_build_reports_failures(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [missing.yaml]\n")
    with pytest.raises(AssertionError, match="kubectl kustomize .* failed"):
        kustomize_build(tmp_path)


def test_kustomize_build_parses_documents(tmp_path: Path) -> None:
    import yaml

    (tmp_path / "svc.yaml").write_text(yaml.safe_dump(service("hello")))
    (tmp_path / "kustomization.yaml").write_text("resources: [svc.yaml]\nnamePrefix: team-\n")
    docs = kustomize_build(tmp_path)
    assert [rules.ident(d) for d in docs] == ["Service/team-hello"]
