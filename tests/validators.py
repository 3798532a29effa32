"""Real consumers for generated manifests: upstream CRD schemas, Kubernetes' own schemas, `kubectl kustomize`.

A test that only compares our output with our own expectations cannot notice that we misunderstood the API;
these validators hold the output to what the upstream projects publish (see ../shared/crds/SOURCES.md).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tests.conftest import EXAMPLES, ROOT, require_crd, require_tool

KUBERNETES_VERSION = "1.32"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the CRD files are large: LibYAML when present

# (apiVersion group, kind) -> the CRD file under ../shared/crds that defines it
CRD_FILES: dict[tuple[str, str], str] = {
    ("argoproj.io", "Rollout"): "argo-rollouts/rollout-crd.yaml",
    ("argoproj.io", "AnalysisTemplate"): "argo-rollouts/analysis-template-crd.yaml",
    ("argoproj.io", "ClusterAnalysisTemplate"): "argo-rollouts/cluster-analysis-template-crd.yaml",
    ("flagger.app", "Canary"): "flagger/canaries.flagger.app.yaml",
    ("flagger.app", "MetricTemplate"): "flagger/metrictemplates.flagger.app.yaml",
    ("flagger.app", "AlertProvider"): "flagger/alertproviders.flagger.app.yaml",
    ("argoproj.io", "Application"): "argo-cd/application-crd.yaml",
    ("argoproj.io", "ApplicationSet"): "argo-cd/applicationset-crd.yaml",
    ("argoproj.io", "AppProject"): "argo-cd/appproject-crd.yaml",
    ("kustomize.toolkit.fluxcd.io", "Kustomization"): "flux/kustomize.toolkit.fluxcd.io_kustomizations.yaml",
    ("source.toolkit.fluxcd.io", "GitRepository"): "flux/source.toolkit.fluxcd.io_gitrepositories.yaml",
    ("gateway.networking.k8s.io", "HTTPRoute"): "gateway-api/gateway.networking.k8s.io_httproutes.yaml",
    ("networking.istio.io", "VirtualService"): "istio/virtualservices.networking.istio.io.yaml",
    ("networking.istio.io", "DestinationRule"): "istio/destinationrules.networking.istio.io.yaml",
}

# Kustomize's own config files are read by kustomize, never applied to a cluster.
SKIPPED_GROUPS = ("kustomize.config.k8s.io",)

_DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}

# What the API server checks in ObjectMeta; a CRD schema only says `metadata: {type: object}`.
OBJECT_META: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "pattern": _DNS_SUBDOMAIN, "maxLength": 253},
        "generateName": {"type": "string"},
        "namespace": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63},
        "labels": {
            "type": "object",
            "additionalProperties": {"type": "string", "pattern": _LABEL_VALUE, "maxLength": 63},
        },
        "annotations": _STRING_MAP,
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {"type": "array", "items": {"type": "object"}},
    },
    "additionalProperties": False,
    "anyOf": [{"required": ["name"]}, {"required": ["generateName"]}],
}

_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
# OpenAPI keywords that only annotate, or that jsonschema does not know; x-kubernetes-* are handled apart.
_DROPPED = {"description", "example", "externalDocs", "nullable", "format", "default", "title"}


def openapi_to_json_schema(node: Any, structural: bool = True) -> Any:
    """Translate one CRD `openAPIV3Schema` node into JSON Schema with the API server's strictness.

    `structural` is False inside anyOf/oneOf/allOf/not: those branches only restate constraints on fields
    declared outside them (Kubernetes structural schemas), so they must not close objects.
    """
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties"):
            out[key] = {name: openapi_to_json_schema(sub, structural) for name, sub in value.items()}
        elif key in ("items", "additionalProperties"):
            out[key] = openapi_to_json_schema(value, structural)
        elif key in ("anyOf", "oneOf", "allOf"):
            out[key] = [openapi_to_json_schema(sub, structural=False) for sub in value]
        elif key == "not":
            out[key] = openapi_to_json_schema(value, structural=False)
        elif key.startswith("x-kubernetes-") or key in _DROPPED:
            # x-kubernetes-validations are CEL rules: not evaluated here.
            continue
        else:
            out[key] = value
    if node.get("format") in _INT_RANGES and node.get("type") == "integer":
        low, high = _INT_RANGES[node["format"]]
        out.setdefault("minimum", low)
        out.setdefault("maximum", high)
    if node.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
    preserve = bool(node.get("x-kubernetes-preserve-unknown-fields"))
    if preserve and "type" not in out:
        return {}
    if node.get("nullable"):
        types = out.get("type")
        if types is not None:
            out["type"] = [*(types if isinstance(types, list) else [types]), "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    # Kubernetes prunes unknown fields by default instead of rejecting them (kubectl's server-side field
    # validation only warns). Rejecting them here is stricter on purpose: an unknown field in our output is a
    # typo or a misplaced key that the cluster would silently drop, so the tests must see it.
    if (
        structural
        and "properties" in node
        and node.get("type", "object") == "object"
        and "additionalProperties" not in node
        and not preserve
    ):
        out["additionalProperties"] = False
    return out


@functools.cache
def _crd_documents(filename: str) -> tuple[dict[str, Any], ...]:
    path = require_crd(filename)
    with path.open(encoding="utf-8") as fh:
        docs = [d for d in yaml.load_all(fh, Loader=_LOADER) if d]
    return tuple(d for d in docs if d.get("kind") == "CustomResourceDefinition")


def _split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


@functools.cache
def crd_validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    """A validator for `kind` at `api_version` built from the upstream CRD's openAPIV3Schema."""
    group, version = _split_api_version(api_version)
    filename = CRD_FILES.get((group, kind))
    if filename is None:
        raise KeyError(f"no CRD known for {api_version} {kind}")
    for crd in _crd_documents(filename):
        spec = crd["spec"]
        if spec["group"] != group or spec["names"]["kind"] != kind:
            continue
        for served in spec["versions"]:
            if served["name"] == version and served.get("served", True):
                return _build_validator(served["schema"]["openAPIV3Schema"], api_version, kind)
        raise KeyError(f"{filename} defines {kind} but does not serve {version}")
    raise KeyError(f"{filename} does not define {group} {kind}")


def _build_validator(openapi: dict[str, Any], api_version: str, kind: str) -> jsonschema.protocols.Validator:
    schema = openapi_to_json_schema(openapi)
    properties = schema.setdefault("properties", {})
    properties["apiVersion"] = {"enum": [api_version]}
    properties["kind"] = {"enum": [kind]}
    properties["metadata"] = OBJECT_META
    schema["required"] = sorted({*schema.get("required", ()), "apiVersion", "kind", "metadata"})
    schema["additionalProperties"] = False
    # OpenAPI v3.0 schemas are closest to draft 4 (boolean exclusiveMinimum; no `const`).
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def describe(doc: Any) -> str:
    if not isinstance(doc, dict):
        return repr(doc)
    meta = doc.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return f"{doc.get('kind')}/{name}"


def _json_path(path: Any) -> str:
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def validate_manifest(doc: Any) -> list[str]:
    """Every way `doc` would be refused (or silently mangled) by the cluster, as readable lines."""
    if not isinstance(doc, dict) or not isinstance(doc.get("apiVersion"), str) or not isinstance(doc.get("kind"), str):
        return [f"{describe(doc)}: not a Kubernetes object (apiVersion and kind must be strings)"]
    api_version, kind = doc["apiVersion"], doc["kind"]
    group, _ = _split_api_version(api_version)
    if group in SKIPPED_GROUPS:
        return []
    if (group, kind) in CRD_FILES:
        try:
            validator = crd_validator(api_version, kind)
        except KeyError as exc:
            return [f"{describe(doc)}: {exc.args[0]}"]
        errors = sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
        return [f"{describe(doc)}: {_json_path(e.absolute_path)}: {_short(e.message)}" for e in errors]
    return _validate_core(doc)


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."


def _validate_core(doc: dict[str, Any]) -> list[str]:
    import kubernetes_validate

    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{describe(doc)}: {_json_path(exc.absolute_path)}: {_short(exc.message)}"]
    except kubernetes_validate.SchemaNotFoundError as exc:
        return [f"{describe(doc)}: unknown kind: {exc.message}"]
    return []


def kustomize_build(path: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize <path>` parsed into documents; a failed build is an AssertionError with its stderr."""
    kubectl = require_tool("kubectl")
    proc = subprocess.run(
        [kubectl, "kustomize", str(path)], capture_output=True, text=True, check=False, timeout=120
    )
    if proc.returncode != 0:
        raise AssertionError(f"kubectl kustomize {path} failed (exit {proc.returncode}):\n{proc.stderr}")
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


# -- the examples through the real pipeline ------------------------------------------------------------------

CANARY_IMAGE_TAG = "v9-canary"  # the image a progressing state rolls out, distinct from every example's image


def valid_examples() -> list[Path]:
    """examples/*.yaml (examples/invalid/ holds the specs that must be refused)."""
    return sorted(EXAMPLES.glob("*.yaml"))


def example_spec(example: Path) -> dict[str, Any]:
    # LibYAML's loader where PyYAML has it: test modules call this at collection, in every xdist worker
    with example.open(encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return data


def example_environments(example: Path) -> list[str]:
    """Environment names straight from the spec file, so parametrizing needs nothing of the package."""
    envs = example_spec(example)["spec"].get("environments") or [{"name": "default"}]
    return [str(env["name"]) for env in envs]


def is_rolling_environment(example: Path, env_name: str) -> bool:
    """environments[].strategy.rollingUpdate: a plain Deployment there, no canary and no live weight."""
    for env in example_spec(example)["spec"].get("environments") or []:
        if env["name"] == env_name:
            return "rollingUpdate" in (env.get("strategy") or {})
    return False


def canary_environments(example: Path) -> list[str]:
    return [env for env in example_environments(example) if not is_rolling_environment(example, env)]


def example_engine(example: Path) -> str:
    """The engine as the model names it: a spec's `nginx` is the deployments engine."""
    engine = str(example_spec(example)["spec"]["engine"])
    return "deployments" if engine == "nginx" else engine


def example_router(example: Path) -> str:
    return str(example_spec(example)["spec"].get("router", "ingress-nginx"))


def is_git_progression(example: Path) -> bool:
    spec = example_spec(example)["spec"]
    default = "git" if example_engine(example) == "deployments" else "controller"
    return bool(spec.get("progression", default) == "git")


@contextlib.contextmanager
def _in_root() -> Iterator[None]:
    """Specs are named relative to the checkout, as a user would: the path lands in every file's header."""
    before = Path.cwd()
    os.chdir(ROOT)
    try:
        yield
    finally:
        os.chdir(before)


def render_example(example: Path, out: Path) -> Path:
    """`rollgen render examples/<file> --out <out>`; returns out/apps/<name>."""
    from generator.cli import main

    relative = example.resolve().relative_to(ROOT)
    with _in_root():
        code = main(["render", str(relative), "--out", str(out.resolve())])
    if code != 0:
        raise AssertionError(f"rollgen render {relative} --out {out} exited {code} (its stderr is above)")
    return out / "apps" / str(example_spec(example)["metadata"]["name"])


def progressing_state(example: Path, env_name: str, step: int = 2) -> Any:
    """An EnvState rolling a new image out in `env_name`, at `step` (clamped to the steps there are)."""
    from generator.model import CanaryStrategy, EnvState, Image
    from generator.render.loading import load_release

    with _in_root():
        release = load_release(example.resolve().relative_to(ROOT))
    env = release.environment(env_name)
    canary = Image(env.image.repository, CANARY_IMAGE_TAG, None)
    if isinstance(release.strategy, CanaryStrategy) and env.steps:
        step = min(step, len(env.steps))
        weight = env.steps[step - 1].weight
    else:
        step, weight = 1, 0
    from generator.workload import pod_inputs

    pods = pod_inputs(env.workload)  # what a real state records: stable and canary run the spec's pod inputs
    return EnvState(phase="progressing", stable_image=env.image, canary_image=canary, step=step, weight=weight,
                    since="2025-01-01T00:00:00Z", stable_pod=pods, canary_pod=pods)


def write_state(app_dir: Path, env_name: str, state: Any) -> Path:
    from generator.render.state import state_path, to_dict

    path = state_path(app_dir, env_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(to_dict(state), sort_keys=False), encoding="utf-8")
    return path


def render_progressing(example: Path, out: Path, step: int = 2) -> dict[str, Any]:
    """Render, put every environment in a progressing state at `step`, render again; env name -> state."""
    app_dir = render_example(example, out)
    states = {env: progressing_state(example, env, step) for env in example_environments(example)}
    for env, state in states.items():
        write_state(app_dir, env, state)
    render_example(example, out)
    return states


@functools.cache
def crd_schema(api_version: str, kind: str) -> dict[str, Any]:
    """The upstream CRD's openAPIV3Schema for `kind` at `api_version` (as served)."""
    group, version = _split_api_version(api_version)
    for crd in _crd_documents(CRD_FILES[(group, kind)]):
        if crd["spec"]["group"] == group and crd["spec"]["names"]["kind"] == kind:
            for served in crd["spec"]["versions"]:
                if served["name"] == version:
                    schema: dict[str, Any] = served["schema"]["openAPIV3Schema"]
                    return schema
    raise KeyError(f"no CRD serves {api_version} {kind}")


def with_server_defaults(doc: dict[str, Any]) -> dict[str, Any]:
    """What the API server stores for `doc`: the CRD's structural defaults filled in where a field is absent
    (apiextensions defaulting: an absent property with a `default` gets it, then is defaulted in turn)."""
    return _defaulted(copy.deepcopy(doc), crd_schema(doc["apiVersion"], doc["kind"]))


def _defaulted(node: Any, schema: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        for key, sub in schema.get("properties", {}).items():
            if key not in node and "default" in sub:
                node[key] = copy.deepcopy(sub["default"])
            if key in node:
                node[key] = _defaulted(node[key], sub)
    elif isinstance(node, list) and "items" in schema:
        return [_defaulted(item, schema["items"]) for item in node]
    return node
