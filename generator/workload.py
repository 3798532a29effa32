"""The workload: spec.container, spec.pod, spec.security, spec.config, spec.disruptionBudget, spec.patches and an
environment's rolling update, merged per environment and applied to the pod templates every engine renders.

The container and pod fields are Kubernetes' own shapes (schemas/gen/k8s_workload.py takes them from the
Kubernetes OpenAPI), so they pass through as data; this module only merges them, fills in what rollgen knows (a
probe's port, the config mounts) and applies the security profile.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from generator.records import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from generator.model import Environment, Release

JSON = dict[str, Any]
Security = Literal["restricted", "baseline", "none"]

DEFAULT_SECURITY: Security = "restricted"
RELEASE_LABEL = "rollgen.io/release"  # on every pod of a release, whatever the engine (PDB selector)
TMP_VOLUME = "tmp"
CONFIG_FILES_VOLUME = "config-files"
# restricted: a non-root user id above the range images and hosts usually assign (checkov CKV_K8S_40 wants >= 10000)
RESTRICTED_UID = 10001
PROBES = ("readinessProbe", "livenessProbe", "startupProbe")
# Argo CD and Flux prune what the last build no longer holds; a pod still running the previous template needs
# the previous ConfigMap, so the generated ones are never pruned (old ones are left to a person to delete).
# Prune=false alone leaves the Application OutOfSync while an old one lingers; IgnoreExtraneous keeps it Synced.
GENERATED_CONFIG_ANNOTATIONS = {
    "argocd.argoproj.io/compare-options": "IgnoreExtraneous",
    "argocd.argoproj.io/sync-options": "Prune=false",
    "kustomize.toolkit.fluxcd.io/prune": "disabled",
}


@dataclass(frozen=True)
class PodConfig:
    files: tuple[tuple[str, str], ...] = ()  # (file name, content), sorted
    literals: tuple[tuple[str, str], ...] = ()  # (key, value), sorted
    mount_path: str | None = None

    def __bool__(self) -> bool:
        return bool(self.files or self.literals)


@dataclass(frozen=True)
class Workload:
    """What runs in the pod, merged for one environment (or the release-level defaults, for the base)."""

    container: JSON = field(default_factory=dict)
    pod: JSON = field(default_factory=dict)
    security: Security = DEFAULT_SECURITY
    config: PodConfig = PodConfig()
    disruption_budget: JSON | None = None
    patches: tuple[JSON, ...] = ()
    rolling_update: JSON | None = None  # environments[].strategy.rollingUpdate: a plain Deployment here
    session_affinity: str | None = None
    session_affinity_config: JSON | None = None

    def __hash__(self) -> int:
        # The model is hashable (and frozen); the Kubernetes fields are plain JSON data, hashed as text.
        return hash(json.dumps(self._fields(), sort_keys=True))

    def _fields(self) -> JSON:
        """Every field as JSON data, the config's too (as dataclasses.asdict gave it)."""
        config = self.config
        return {
            "container": self.container,
            "pod": self.pod,
            "security": self.security,
            "config": {"files": config.files, "literals": config.literals, "mount_path": config.mount_path},
            "disruption_budget": self.disruption_budget,
            "patches": self.patches,
            "rolling_update": self.rolling_update,
            "session_affinity": self.session_affinity,
            "session_affinity_config": self.session_affinity_config,
        }


# -- building from the spec ----------------------------------------------------------------------------------


def build_workload(spec: Mapping[str, Any]) -> Workload:
    """The release-level workload of a schema-valid spec."""
    service = spec["service"]
    return Workload(
        container=drop_removed_env(dict(spec.get("container", {}))),
        pod=spec.get("pod", {}),
        security=spec.get("security", DEFAULT_SECURITY),
        config=build_config(spec.get("config")),
        disruption_budget=dict(spec["disruptionBudget"]) if "disruptionBudget" in spec else None,
        patches=tuple(spec.get("patches", [])),
        session_affinity=service.get("sessionAffinity"),
        session_affinity_config=service.get("sessionAffinityConfig"),
    )


def for_environment(base: Workload, entry: Mapping[str, Any]) -> Workload:
    """The release's workload with an environment entry's overrides merged in."""
    container = merge_container(base.container, entry.get("container", {}))
    pod = deep_merge(base.pod, entry.get("pod", {}))
    strategy = entry.get("strategy", {})
    return Workload(
        container=container,
        pod=pod,
        security=entry.get("security", base.security),
        config=merge_config(base.config, entry.get("config")),
        disruption_budget=dict(entry["disruptionBudget"]) if "disruptionBudget" in entry else base.disruption_budget,
        patches=base.patches + tuple(entry.get("patches", [])),
        rolling_update=dict(strategy["rollingUpdate"]) if "rollingUpdate" in strategy else None,
        session_affinity=base.session_affinity,
        session_affinity_config=base.session_affinity_config,
    )


def build_config(config: Mapping[str, Any] | None) -> PodConfig:
    if not config:
        return PodConfig()
    return PodConfig(
        files=tuple(sorted(config.get("files", {}).items())),
        literals=tuple(sorted(config.get("literals", {}).items())),
        mount_path=config.get("mountPath"),
    )


def merge_config(base: PodConfig, override: Mapping[str, Any] | None) -> PodConfig:
    """Files and literals merge by key (the environment's win); the mount path is replaced when given."""
    if not override:
        return base
    files = {**dict(base.files), **override.get("files", {})}
    literals = {**dict(base.literals), **override.get("literals", {})}
    return PodConfig(tuple(sorted(files.items())), tuple(sorted(literals.items())), override.get("mountPath", base.mount_path))


def deep_merge(base: Any, override: Any) -> Any:
    """Mappings merge key by key (recursively); anything else, lists included, is replaced by the override.

    The result shares the inputs' values: the spec's data is never changed after loading, and
    complete_pod_template copies what it completes."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = deep_merge(base[key], value) if key in base else value
        return out
    return override


def merge_container(base: JSON, override: Mapping[str, Any]) -> JSON:
    """As `merge`, except `env`: merged by name, an entry with `value: null` removing the variable."""
    out = deep_merge(base, {k: v for k, v in override.items() if k != "env"})
    if "env" in override:
        out["env"] = merge_env(base.get("env", []), override["env"])
    return drop_removed_env(out)


def merge_env(base: Sequence[JSON], override: Sequence[JSON]) -> list[JSON]:
    """By name: an override replaces the base entry in place; new names are appended in the override's order."""
    merged = {entry["name"]: entry for entry in base}
    for entry in override:
        merged[entry["name"]] = entry
    return list(merged.values())


def is_removal(entry: Mapping[str, Any]) -> bool:
    return "value" in entry and entry["value"] is None and "valueFrom" not in entry


def drop_removed_env(container: JSON) -> JSON:
    if "env" in container:
        container["env"] = [entry for entry in container["env"] if not is_removal(entry)]
        if not container["env"]:
            del container["env"]
    return container


def copied(value: Any) -> Any:
    """A copy of JSON data (mappings, lists, scalars): what the completion below may change. Several times
    faster than copy.deepcopy, which a render calls for every pod template."""
    if isinstance(value, dict):
        return {key: copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copied(item) for item in value]
    return value


# -- names -------------------------------------------------------------------------------------------------------


def config_env_name(release_name: str) -> str:
    return f"{release_name}-config-env"


def config_files_name(release_name: str) -> str:
    return f"{release_name}-config-files"


def config_mount_path(release_name: str, config: PodConfig) -> str:
    return config.mount_path or f"/etc/{release_name}"


# -- the pod template ----------------------------------------------------------------------------------------


def complete_pod_template(release: Release, env: Environment, template: JSON) -> JSON:
    """The engine's bare pod template (labels; one container with name, image and ports) with the workload."""
    work = env.workload
    pod_spec: JSON = template["spec"]
    container: JSON = pod_spec["containers"][0]
    container.update(copied(work.container))
    pod_fields = {k: copied(v) for k, v in work.pod.items() if k != "annotations"}
    add_config(release.name, work.config, container, pod_fields)
    default_probe_ports(container, release.service_port_name, release.container_port)
    apply_security(work.security, container, pod_fields)
    # containers first, as Kubernetes prints a pod spec, then the pod fields in the spec's order.
    template["spec"] = {"containers": pod_spec["containers"], **pod_fields}
    annotations = work.pod.get("annotations")
    if annotations:
        template["metadata"]["annotations"] = dict(sorted(annotations.items()))
    return template


def default_probe_ports(container: JSON, port_name: str, port_number: int) -> None:
    """A probe without a port probes the named container port (gRPC takes numbers only)."""
    for probe_name in PROBES:
        probe = container.get(probe_name)
        if not isinstance(probe, dict):
            continue
        for action in ("httpGet", "tcpSocket"):
            if action in probe and "port" not in probe[action]:
                probe[action]["port"] = port_name
        if "grpc" in probe and "port" not in probe["grpc"]:
            probe["grpc"]["port"] = port_number


def add_config(name: str, config: PodConfig, container: JSON, pod: JSON) -> None:
    """Literals as environment variables (envFrom), files as a read-only volume; kustomize renames both
    references to the hashed ConfigMap names, so a change in the config changes the pod template."""
    if config.literals:
        container.setdefault("envFrom", []).append({"configMapRef": {"name": config_env_name(name)}})
    if config.files:
        pod.setdefault("volumes", []).append(
            {"name": CONFIG_FILES_VOLUME, "configMap": {"name": config_files_name(name)}}
        )
        container.setdefault("volumeMounts", []).append(
            {"name": CONFIG_FILES_VOLUME, "mountPath": config_mount_path(name, config), "readOnly": True}
        )


def apply_security(profile: Security, container: JSON, pod: JSON) -> None:
    """The profile's settings under the user's own: a field the spec sets is never overwritten, except that
    `restricted` always drops ALL capabilities (Pod Security Admission requires it, even beside an added
    NET_BIND_SERVICE). Init containers get the container settings admission checks; rollgen's own container
    also the read-only root with its /tmp and the pull policy."""
    if profile == "none":
        return
    pod_context = pod.setdefault("securityContext", {})
    pod_context.setdefault("seccompProfile", {"type": "RuntimeDefault"})
    pod.setdefault("automountServiceAccountToken", False)
    if profile == "restricted":
        pod_context.setdefault("runAsNonRoot", True)
        pod_context.setdefault("runAsUser", RESTRICTED_UID)
        pod_context.setdefault("runAsGroup", RESTRICTED_UID)
    secure_container(profile, container, own=True)
    for init in pod.get("initContainers", ()):
        secure_container(profile, init)
    if profile != "restricted":
        return
    context = container["securityContext"]
    # A digest-pinned image costs one registry check per start; Always also makes every pod prove its pull
    # credentials instead of reusing an image another tenant pulled onto the node.
    container.setdefault("imagePullPolicy", "Always")
    if context.get("readOnlyRootFilesystem") and not mounts_path(container, "/tmp"):
        pod.setdefault("volumes", []).append({"name": TMP_VOLUME, "emptyDir": {}})
        container.setdefault("volumeMounts", []).append({"name": TMP_VOLUME, "mountPath": "/tmp"})


def secure_container(profile: Security, container: JSON, own: bool = False) -> None:
    """A container's share of the profile (every container of the pod rollgen writes); rollgen's `own` also
    gets a read-only root (an init container's writes are the user's to decide)."""
    context = container.setdefault("securityContext", {})
    context.setdefault("allowPrivilegeEscalation", False)
    if profile == "baseline":
        # Root images (nginx) keep their default capabilities but never the dangerous NET_RAW.
        context.setdefault("capabilities", {"drop": ["NET_RAW"]})
        return
    capabilities = context.setdefault("capabilities", {})
    drop = capabilities.setdefault("drop", [])
    if "ALL" not in drop:
        drop.append("ALL")
    context.setdefault("privileged", False)
    if own:
        context.setdefault("readOnlyRootFilesystem", True)
    context.setdefault("runAsNonRoot", True)


def mounts_path(container: Mapping[str, Any], path: str) -> bool:
    return any(mount.get("mountPath") == path for mount in container.get("volumeMounts", []))


# -- other objects -------------------------------------------------------------------------------------------


def pod_disruption_budget(release: Release, env: Environment, metadata: JSON) -> JSON | None:
    """A PDB over every pod of the release. It selects `rollgen.io/release`, not `app.kubernetes.io/name`:
    Flagger rewrites the name label to `N-primary` on its primary pods but copies the others, and the nginx
    engine's stable and canary tracks, and every ReplicaSet of a Rollout, carry it too."""
    budget = env.workload.disruption_budget
    if budget is None:
        return None
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata,
        "spec": {**budget, "selector": {"matchLabels": {RELEASE_LABEL: release.name}}},
    }


def service_affinity(env: Environment, spec: JSON) -> JSON:
    """spec.service.sessionAffinity (and its config) on a Service spec."""
    work = env.workload
    if work.session_affinity:
        spec["sessionAffinity"] = work.session_affinity
    if work.session_affinity_config and work.session_affinity == "ClientIP":
        spec["sessionAffinityConfig"] = copied(work.session_affinity_config)
    return spec


def kustomize_entries(release_name: str, namespace: str, work: Workload) -> JSON:
    """configMapGenerator (with generatorOptions) for the config; the layout puts them into a kustomization.

    Each generator names the objects' namespace: kustomize renames a reference to the hashed name only when
    the ConfigMap and the referring pod template are in the same namespace. Files go in as literals
    (`name=content`), which kustomize stores exactly as a file of that content, so no extra files are written.
    """
    generators: list[JSON] = []
    if work.config.literals:
        generators.append({
            "name": config_env_name(release_name),
            "namespace": namespace,
            "literals": [kustomize_literal(k, v) for k, v in work.config.literals],
        })
    if work.config.files:
        generators.append({
            "name": config_files_name(release_name),
            "namespace": namespace,
            "literals": [kustomize_literal(k, v) for k, v in work.config.files],
        })
    if not generators:
        return {}
    return {
        "configMapGenerator": generators,
        "generatorOptions": {"annotations": dict(sorted(GENERATED_CONFIG_ANNOTATIONS.items()))},
    }


def kustomize_literal(key: str, value: str) -> str:
    """`key=value`, written so that kustomize reads the value back exactly. kustomize strips one pair of matching
    quotes around a literal's value (`'x'` and `"x"` both become `x`), so a value that starts and ends with the
    same quote gets one more pair for it to strip; every other value is written as it is."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return f'{key}="{value}"'
    return f"{key}={value}"


def kustomize_patches(work: Workload) -> list[JSON]:
    """The spec's patches as kustomization `patches:` entries (inline), in spec order.

    A strategic-merge patch without a target gets one from its own kind and name: kustomize would otherwise
    match its metadata exactly, namespace included, and a patch that leaves the namespace out (as one written
    for every environment must) would match nothing.
    """
    out: list[JSON] = []
    for patch in work.patches:
        entry: JSON = {"patch": patch["patch"]}
        target = patch.get("target") or implied_target(patch["patch"])
        if target:
            entry["target"] = dict(target)
        out.append(entry)
    return out


def implied_target(text: str) -> JSON | None:
    from generator.yaml_import import yaml

    try:
        body = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("kind"), str):
        return None
    target: JSON = {}
    group, _, version = str(body.get("apiVersion", "")).rpartition("/")
    if group:
        target["group"] = group
    if version:
        target["version"] = version
    target["kind"] = body["kind"]
    name = (body.get("metadata") or {}).get("name")
    if isinstance(name, str):
        target["name"] = name
    return target


def pod_inputs(work: Workload) -> str:
    """What runs in the pod besides the image, as canonical JSON text; "" for the default inputs (no container,
    pod or config fields, the default security), so that states of releases using none stay as they were."""
    data = {
        "container": work.container,
        "pod": work.pod,
        "security": work.security,
        "config": {
            "files": dict(work.config.files),
            "literals": dict(work.config.literals),
            **({"mountPath": work.config.mount_path} if work.config.mount_path else {}),
        },
    }
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return "" if text == DEFAULT_POD_INPUTS else text


DEFAULT_POD_INPUTS = json.dumps(
    {"config": {"files": {}, "literals": {}}, "container": {}, "pod": {}, "security": DEFAULT_SECURITY},
    sort_keys=True,
    separators=(",", ":"),
)


def workload_from(text: str, base: Workload) -> Workload:
    """The environment's workload with the recorded pod inputs in place of the spec's (the spec's own, in its
    key order, when they are the same)."""
    if text == pod_inputs(base):
        return base
    data: dict[str, Any] = json.loads(text) if text else {}
    config = data.get("config", {})
    return replace(
        base,
        container=data.get("container", {}),
        pod=data.get("pod", {}),
        security=data.get("security", DEFAULT_SECURITY),
        config=PodConfig(
            tuple(sorted(config.get("files", {}).items())),
            tuple(sorted(config.get("literals", {}).items())),
            config.get("mountPath"),
        ),
    )
