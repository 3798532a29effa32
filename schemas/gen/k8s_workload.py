#!/usr/bin/env python3
"""Generate the container and pod parts of schemas/release.schema.json from Kubernetes' own OpenAPI schemas.

    python schemas/gen/k8s_workload.py [--check]

Source: the JSON schemas that kubernetes-validate ships (`kubernetes_validate/kubernetes-json-schema/
v<KUBERNETES>-local-strict/_definitions.json`, themselves converted from the Kubernetes OpenAPI by the
kubernetes-json-schema project, the "strict" variant refusing unknown fields). The version is pinned below;
the generated definitions record it in their `$comment`.

What the conversion does, and why:
- leaves out ObjectMeta's server-set fields (managedFields, uid, ...);
- keeps the definitions reachable from Container and PodSpec, renamed `k8s.<Kind>` (e.g. `k8s.EnvVar`);
- leaves out of `spec.container` the fields rollgen owns (name, image, ports) and restartPolicy (init containers
  only), and out of `spec.pod` containers, ephemeralContainers, the deprecated serviceAccount and nodeName;
  `spec.pod` gains `annotations` (the pod template's annotations);
- drops descriptions and `x-kubernetes-*`/`format` annotations (size: the schema is read on every validate);
- makes a probe action's `port` optional: it defaults to the named container port;
- turns `type: [T, "null"]` into `type: T`: a spec writes values, not nulls. The one exception is EnvVar's
  `value`, where null means "remove this variable" in an environment override (generator/workload.py);
- turns IntOrString's and Quantity's `oneOf` into a type list (the branches are disjoint, so the meaning is
  the same, and generator/schemacheck.py implements it) and gives Quantity the apimachinery syntax as a
  pattern, so `memory: 256MB` is refused at the field instead of by the cluster;
- keeps `additionalProperties: false` everywhere, so an unknown field is refused with "did you mean";
- adds the `enum`s of ENUMS below. The source schemas carry none (the OpenAPI v2 they come from has no enums),
  so `imagePullPolicy: Sometimes` would pass here and be refused by the API server. Each list is the set of
  values the API server accepts for that field in Kubernetes 1.32, as the API reference lists them
  (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/, "Possible enum values" of
  Container, PodSpec, SecurityContext, PodSecurityContext, Toleration, TopologySpreadConstraint, ...) and as
  pkg/apis/core/validation/validation.go (release-1.32) enforces them (supportedPullPolicies,
  supportedPortProtocols, validateTaintEffect, ...). Only closed sets are listed: fields whose values are open
  (emptyDir.medium takes HugePages-<size>, resourceFieldRef.resource hugepages-<size>, fieldRef.fieldPath
  metadata.labels['<key>']) stay plain strings. An empty string, which the API server reads as "unset" for a
  toleration's operator and effect, is refused: leave the field out instead. Two values narrower than the
  Pod API's, because rollgen renders pod templates of Deployments and Rollouts: the pod's restartPolicy (a
  Deployment takes Always only) and an init container's restartPolicy (Always, i.e. a sidecar, is the only
  value a container may set).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

KUBERNETES = "1.32.0"
PREFIX = "io.k8s.api.core.v1."
ROOT = Path(__file__).resolve().parents[2]
RELEASE_SCHEMA = ROOT / "schemas" / "release.schema.json"

CONTAINER_OWNED = ("name", "image", "ports", "restartPolicy")
POD_OWNED = ("containers", "ephemeralContainers", "serviceAccount", "nodeName")
QUANTITY_PATTERN = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?[0-9]+)?$"
DROPPED = ("description", "format")
# Closed sets of values the API server accepts (sources in the docstring), by definition and field.
ENUMS: dict[str, dict[str, list[str]]] = {
    "Container": {
        "imagePullPolicy": ["Always", "IfNotPresent", "Never"],
        "terminationMessagePolicy": ["File", "FallbackToLogsOnError"],
        "restartPolicy": ["Always"],
    },
    "ContainerPort": {"protocol": ["TCP", "UDP", "SCTP"]},
    "HTTPGetAction": {"scheme": ["HTTP", "HTTPS"]},
    "ContainerResizePolicy": {
        "resourceName": ["cpu", "memory"],
        "restartPolicy": ["NotRequired", "RestartContainer"],
    },
    "SecurityContext": {"procMount": ["Default", "Unmasked"]},
    "SeccompProfile": {"type": ["RuntimeDefault", "Localhost", "Unconfined"]},
    "AppArmorProfile": {"type": ["RuntimeDefault", "Localhost", "Unconfined"]},
    "VolumeMount": {
        "mountPropagation": ["None", "HostToContainer", "Bidirectional"],
        "recursiveReadOnly": ["Disabled", "IfPossible", "Enabled"],
    },
    "ImageVolumeSource": {"pullPolicy": ["Always", "IfNotPresent", "Never"]},
    "PersistentVolumeClaimSpec": {"volumeMode": ["Filesystem", "Block"]},
    "NodeSelectorRequirement": {"operator": ["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]},
    "LabelSelectorRequirement": {"operator": ["In", "NotIn", "Exists", "DoesNotExist"]},
    "Toleration": {
        "operator": ["Exists", "Equal"],
        "effect": ["NoSchedule", "PreferNoSchedule", "NoExecute"],
    },
    "TopologySpreadConstraint": {
        "whenUnsatisfiable": ["DoNotSchedule", "ScheduleAnyway"],
        "nodeAffinityPolicy": ["Honor", "Ignore"],
        "nodeTaintsPolicy": ["Honor", "Ignore"],
    },
    "PodSecurityContext": {
        "fsGroupChangePolicy": ["OnRootMismatch", "Always"],
        "seLinuxChangePolicy": ["MountOption", "Recursive"],
        "supplementalGroupsPolicy": ["Merge", "Strict"],
    },
    "PodOS": {"name": ["linux", "windows"]},
    "PodSpec": {
        "dnsPolicy": ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"],
        "preemptionPolicy": ["PreemptLowerPriority", "Never"],
        "restartPolicy": ["Always"],
    },
}
# ObjectMeta (of an ephemeral volume's claim template): what the API server sets is no spec's business.
SERVER_SET_META = ("managedFields", "ownerReferences", "creationTimestamp", "deletionTimestamp",
                   "deletionGracePeriodSeconds", "generation", "resourceVersion", "selfLink", "uid")


def source_definitions() -> dict[str, Any]:
    import kubernetes_validate

    base = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    path = base / f"v{KUBERNETES}-local-strict" / "_definitions.json"
    defs: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["$defs"]
    return defs


def short(ref_name: str) -> str:
    return "k8s." + ref_name.rsplit(".", 1)[-1]


def convert(node: Any, defs: dict[str, Any], out: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [convert(item, defs, out) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = str(node["$ref"]).removeprefix("#/$defs/")
        special = special_def(name)
        if special is not None:
            return special
        target = short(name)
        if target not in out:
            out[target] = {}  # reserve first: a definition may refer back to one being converted
            definition = defs[name]
            if name.endswith("meta.v1.ObjectMeta"):
                definition = without(definition, SERVER_SET_META)
            out[target] = convert(definition, defs, out)
        return {"$ref": f"#/$defs/{target}"}
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key in DROPPED or key.startswith("x-kubernetes"):
            continue
        if key == "type" and isinstance(value, list):
            kept = [t for t in value if t != "null"]
            result[key] = kept[0] if len(kept) == 1 else kept
        elif key == "properties":
            result[key] = {name: convert(sub, defs, out) for name, sub in value.items()}
        else:
            result[key] = convert(value, defs, out)
    return result


def without(definition: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    properties = {k: v for k, v in definition["properties"].items() if k not in fields}
    kept = {k: v for k, v in definition.items() if k != "required"}  # Container's `name` is ours
    return {**kept, "properties": properties}


def special_def(name: str) -> dict[str, Any] | None:
    if name.endswith("intstr.IntOrString"):
        return {"type": ["string", "integer"]}
    if name.endswith("resource.Quantity"):
        return {"$ref": "#/$defs/k8s.Quantity"}
    return None


QUANTITY = {
    "title": "Quantity",
    "type": ["string", "number"],
    "pattern": QUANTITY_PATTERN,
    "errorMessage": "a Kubernetes quantity such as 100m, 0.5, 128Mi or 1Gi (binary suffixes Ki Mi Gi Ti; decimal k M G T)",
}


def generate() -> dict[str, Any]:
    defs = source_definitions()
    out: dict[str, Any] = {"k8s.Quantity": QUANTITY}
    container = convert(without(defs[PREFIX + "Container"], CONTAINER_OWNED), defs, out)
    pod = convert(without(defs[PREFIX + "PodSpec"], POD_OWNED), defs, out)
    # A probe's port defaults to the named container port (generator/workload.py fills it in).
    for action in ("k8s.HTTPGetAction", "k8s.TCPSocketAction", "k8s.GRPCAction"):
        out[action]["required"] = [r for r in out[action].get("required", []) if r != "port"]
        if not out[action]["required"]:
            del out[action]["required"]
    add_enums(out, {"Container": container, "PodSpec": pod})
    # EnvVar.value: null removes the variable (environment overrides).
    out["k8s.EnvVar"]["properties"]["value"]["type"] = ["string", "null"]
    comment = f"generated by schemas/gen/k8s_workload.py from Kubernetes {KUBERNETES} (kubernetes-validate)"
    owned_container = dict(container["properties"])
    owned_pod = dict(pod["properties"])
    owned_pod["annotations"] = {
        "title": "Pod annotations",
        "type": "object",
        "maxProperties": 64,
        "additionalProperties": {"type": "string"},
    }
    generated: dict[str, Any] = {
        "container": {
            "$comment": comment,
            "title": "Container",
            "description": "Kubernetes' own Container fields (no name, image or ports: rollgen owns those).",
            "type": "object",
            "additionalProperties": False,
            "properties": dict(sorted(owned_container.items())),
        },
        "pod": {
            "$comment": comment,
            "title": "Pod",
            "description": "Kubernetes' own PodSpec fields (no containers), plus annotations for the pod template.",
            "type": "object",
            "additionalProperties": False,
            "properties": dict(sorted(owned_pod.items())),
        },
    }
    # Container itself is reachable from PodSpec.initContainers: keep it, under its own name.
    for name in sorted(out):
        generated[name] = out[name]
        generated[name].setdefault("$comment", comment)
    return generated


def add_enums(out: dict[str, Any], inline: dict[str, dict[str, Any]]) -> None:
    """Put ENUMS on their fields. Container and PodSpec are also inlined as spec.container and spec.pod."""
    for definition, fields in ENUMS.items():
        targets = [out[short(definition)]] if short(definition) in out else []
        if definition in inline:
            targets.append(inline[definition])
        if not targets:
            raise SystemExit(f"ENUMS names {definition}, which is not reachable from Container or PodSpec")
        for field, values in fields.items():
            # spec.container has no restartPolicy (rollgen owns it); the init containers' k8s.Container has.
            props = [t["properties"][field] for t in targets if field in t["properties"]]
            if not props or any(prop.get("type") != "string" for prop in props):
                raise SystemExit(f"{definition}.{field} is not a string field in Kubernetes {KUBERNETES}")
            for prop in props:
                prop["enum"] = values


def merged_schema(generated: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(RELEASE_SCHEMA.read_text(encoding="utf-8"))
    defs = {k: v for k, v in schema["$defs"].items() if not k.startswith("k8s.") and k not in ("container", "pod")}
    defs.update(generated)
    schema["$defs"] = defs
    return schema


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the schema is not what this generates")
    args = parser.parse_args()
    text = json.dumps(merged_schema(generate()), indent=2, ensure_ascii=False) + "\n"
    if args.check:
        same = RELEASE_SCHEMA.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{RELEASE_SCHEMA} differs from what {__file__} generates")
        return 0 if same else 1
    RELEASE_SCHEMA.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
