"""Argo CD and Flux objects that point the GitOps controller at the generated overlays.

What lands in the output folder, and who owns it (writer.write_tree's owned roots):

    argocd/<N>/application_<app>.yaml         one Application per environment         argocd.mode: applications
    apps/<N>/overlays/<E>/argocd-params.yaml  what the ApplicationSet's git generator   argocd.mode: applicationset
                                              reads for that environment
    argocd/applicationset_<name>.yaml         the ApplicationSet                      repo-level
    argocd/application_<root>.yaml            app of apps: Argo CD syncs argocd/      repo-level
    flux/<N>/kustomization_<app>.yaml         one Kustomization per environment
    flux/gitrepository_<name>.yaml            the source                              repo-level
    flux/kustomization_<root>.yaml            applies flux/ itself                    repo-level

A release's files sit in its own folders, so a command that commits one release owns `argocd/<N>` and `flux/<N>`
and nothing of the others. They exist for released environments only (those with a state file; see
generator/pipeline.py), like the overlays they point at: the ApplicationSet's git files generator then finds
exactly the released overlays, and no Application or Kustomization names a path that is not there. Repo-level files come from rollgen.yaml alone and are written by `rollgen init` and
by `rollgen render` of the whole releases folder, which owns all of `argocd/` and `flux/` and so prunes what a
removed release or a changed setting left behind.

Everything here is pure (data in, data out) except `for_render`/`for_config`, which read rollgen.yaml.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from generator.records import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from generator import durations, names
from generator.redaction import safe_url as safe_url
from generator.spec.config import CONFIG_FILE
from generator.render.engines import Manifest, engine_for, renderer_for
from generator.errors import RollgenError
from generator.model import Environment, EnvState, Release, engine_label

if TYPE_CHECKING:
    from generator.spec.config import Config

IN_CLUSTER = "https://kubernetes.default.svc"
PARAMS_FILE = "argocd-params.yaml"
ARGOCD_DIR = "argocd"
FLUX_DIR = "flux"
DEFAULT_REVISION = "main"
MANAGED_BY = {"app.kubernetes.io/managed-by": "rollgen"}
ARGOCD_FINALIZER = "resources-finalizer.argocd.argoproj.io"
RESPECT_IGNORES = "RespectIgnoreDifferences=true"

Mode = Literal["applications", "applicationset"]

# -- settings (rollgen.yaml `argocd:` and `flux:`, validated with the rest of it by generator.spec.config) ------

@dataclass(frozen=True)
class ArgoCD:
    repo_url: str
    revision: str = DEFAULT_REVISION
    mode: Mode = "applications"
    namespace: str = "argocd"
    project: str = "default"
    destination: tuple[tuple[str, str], ...] = (("server", IN_CLUSTER),)  # server or name
    automated: bool = True
    prune: bool = True
    self_heal: bool = True
    sync_options: tuple[str, ...] = ("CreateNamespace=true", "ApplyOutOfSyncOnly=true")
    appset_name: str = "rollgen"
    root_name: str | None = "rollgen"


@dataclass(frozen=True)
class Flux:
    url: str
    branch: str = DEFAULT_REVISION
    namespace: str = "flux-system"
    source_name: str = "rollgen"
    source_interval: str = "1m"
    secret_ref: str | None = None
    interval: str = "1m"
    timeout: str = "5m"
    prune: bool = True
    wait: bool = True
    root_name: str | None = "rollgen"


@dataclass(frozen=True)
class Wiring:
    """What rollgen.yaml asks for. `prefix` is the output folder inside the repo ("" or "deploy/"): the
    controllers see repo-relative paths."""

    argocd: ArgoCD | None = None
    flux: Flux | None = None
    prefix: str = ""
    tick: str | None = None  # rollgen.yaml tick.path, repo-relative: the in-cluster tick's package

    @property
    def enabled(self) -> bool:
        return self.argocd is not None or self.flux is not None


def argocd_settings(data: Mapping[str, Any], default_revision: str = DEFAULT_REVISION) -> ArgoCD:
    """Validated `argocd:` data as settings; the repo URL loses its user name (see safe_url)."""
    destination = (
        (("name", str(data["destinationName"])),)
        if data.get("destinationName")
        else (("server", str(data.get("destinationServer", IN_CLUSTER))),)
    )
    options = data.get("syncOptions")
    return ArgoCD(
        repo_url=safe_url(str(data["repoURL"]), "argocd.repoURL"),
        revision=str(data.get("targetRevision", default_revision)),
        mode=data.get("mode", "applications"),
        namespace=str(data.get("namespace", "argocd")),
        project=str(data.get("project", "default")),
        destination=destination,
        automated=bool(data.get("automated", True)),
        prune=bool(data.get("prune", True)),
        self_heal=bool(data.get("selfHeal", True)),
        sync_options=ArgoCD.sync_options if options is None else tuple(str(o) for o in options),
        appset_name=str(data.get("applicationSetName", "rollgen")),
        root_name=_root_name(data.get("rootApplication", "rollgen")),
    )


def flux_settings(data: Mapping[str, Any], default_branch: str = DEFAULT_REVISION) -> Flux:
    return Flux(
        url=safe_url(str(data["url"]), "flux.url"),
        branch=str(data.get("branch", default_branch)),
        namespace=str(data.get("namespace", "flux-system")),
        source_name=str(data.get("sourceName", "rollgen")),
        source_interval=str(data.get("sourceInterval", "1m")),
        secret_ref=str(data["secretRef"]) if data.get("secretRef") else None,
        interval=str(data.get("interval", "1m")),
        timeout=str(data.get("timeout", "5m")),
        prune=bool(data.get("prune", True)),
        wait=bool(data.get("wait", True)),
        root_name=_root_name(data.get("rootKustomization", "rollgen")),
    )


def _root_name(value: Any) -> str | None:
    return None if value is False else str(value)


def from_config(config: Config) -> Wiring:
    """The wiring rollgen.yaml asks for (spec.config.load has validated its `argocd:`/`flux:` sections)."""
    revision = config.branch or DEFAULT_REVISION
    argocd, flux = config.argocd, config.flux
    return Wiring(
        argocd=argocd_settings(argocd, revision) if argocd is not None and argocd.get("enabled", True) else None,
        flux=flux_settings(flux, revision) if flux is not None and flux.get("enabled", True) else None,
        prefix=config.output_prefix(),
        tick=config.tick,
    )


# -- credentials never reach a generated file (generator.redaction.safe_url) -----------------------------------


def scp_to_ssh(url: str) -> str | None:
    """`git@github.com:acme/x.git` as `ssh://git@github.com/acme/x.git`, which Flux needs; None when `url` is
    not scp-like. (A relative scp path is relative to the login's home; on a git forge that is the same.)"""
    if "://" in url or ":" not in url:
        return None
    host, _, path = url.partition(":")
    if not host or "/" in host or not path:
        return None
    return f"ssh://{host}/{path.lstrip('/')}"


# -- where the controllers look ------------------------------------------------------------------------------


def overlay_path(release: Release, env: Environment, prefix: str = "") -> str:
    return f"{prefix}apps/{release.name}/overlays/{env.name}"


def app_name(release: Release, env: Environment) -> str:
    return names.app(release.name, env.name)


def _labels(release: Release | None = None, env: Environment | None = None) -> dict[str, str]:
    labels = dict(MANAGED_BY)
    if release is not None:
        labels["rollgen.io/release"] = release.name
    if env is not None:
        labels["rollgen.io/environment"] = env.name
    return labels


# -- ignoreDifferences: exactly the fields a controller changes after git declared them ------------------------

# The Rollouts controller adds this key to the selector of every Service a Rollout routes through.
POD_TEMPLATE_HASH = "/spec/selector/rollouts-pod-template-hash"
_ROLLOUT_SERVICES = ("stableService", "canaryService", "activeService", "previewService")


def ignore_differences(release: Release, env: Environment,
                       manifests: Iterable[Manifest] | None = None) -> list[dict[str, Any]]:
    """The ignoreDifferences rules for one environment, derived from what rollgen writes there.

    A rule is emitted only where git declares the field a controller then changes; Argo CD would otherwise
    report the environment OutOfSync forever and, with self-heal, undo the controller:
    - Argo Rollouts adds `rollouts-pod-template-hash` to the selectors of the Services its Rollout names;
    - Flagger scales its target Deployment to 0: a conflict only if git set `spec.replicas`. The Flagger
      renderer never does (an HPA sizes the target), so a Flagger release normally gets no rule at all;
    - an HPA changes `spec.replicas` of its target, again only a conflict if git set them (no renderer does).
    """
    if manifests is None:
        from generator.render.workload_render import render_environment  # a rolling-update environment has no Rollout

        manifests = render_environment(renderer_for(release.engine), release, env, EnvState.initial(env)).manifests
    objects = list(manifests)
    # and the router's: the route weights (and header routes) a controller edits, e.g. Argo Rollouts in an
    # HTTPRoute or a VirtualService (generator/routers); none where rollgen itself writes the weights.
    from generator.render.routers import router_for

    router_rules = router_for(release.router).ignore_rules(objects)
    rules = [*_rollout_service_rules(objects), *_scaled_replica_rules(release, objects), *router_rules]
    unique = {json.dumps(rule, sort_keys=True): rule for rule in rules}
    return [unique[key] for key in sorted(unique)]


def _rollout_service_rules(objects: Sequence[Manifest]) -> Iterator[dict[str, Any]]:
    services = {o["metadata"]["name"] for o in objects if o.get("kind") == "Service"}
    for rollout in (o for o in objects if o.get("kind") == "Rollout"):
        strategy = rollout.get("spec", {}).get("strategy", {})
        for spec in strategy.values():
            for field in _ROLLOUT_SERVICES:
                name = spec.get(field) if isinstance(spec, Mapping) else None
                if name in services:
                    yield {"group": "", "kind": "Service", "name": name, "jsonPointers": [POD_TEMPLATE_HASH]}


def _scaled_replica_rules(release: Release, objects: Sequence[Manifest]) -> Iterator[dict[str, Any]]:
    scaled = {(o["spec"]["scaleTargetRef"]["kind"], o["spec"]["scaleTargetRef"]["name"])
              for o in objects if o.get("kind") == "HorizontalPodAutoscaler"}
    for obj in objects:
        key = (obj.get("kind"), obj["metadata"]["name"])
        if "replicas" not in obj.get("spec", {}):
            continue
        flagger_target = release.engine == "flagger" and key[0] == "Deployment"
        if flagger_target or key in scaled:
            group = str(obj["apiVersion"]).rpartition("/")[0]
            yield {"group": group, "kind": key[0], "name": key[1], "jsonPointers": ["/spec/replicas"]}


# -- Argo CD --------------------------------------------------------------------------------------------------


def _sync_policy(argo: ArgoCD, respect_ignores: bool) -> dict[str, Any]:
    policy: dict[str, Any] = {}
    if argo.automated:
        policy["automated"] = {"prune": argo.prune, "selfHeal": argo.self_heal}
    options = list(argo.sync_options)
    if respect_ignores and RESPECT_IGNORES not in options:
        options.append(RESPECT_IGNORES)  # without it a sync still writes the ignored fields back
    if options:
        policy["syncOptions"] = options
    return policy


def _destination(argo: ArgoCD, namespace: str) -> dict[str, str]:
    return {**dict(argo.destination), "namespace": namespace}


def env_destination(argo: ArgoCD, env: Environment) -> dict[str, str]:
    """Where an environment's Application deploys: its own cluster (environments[].cluster, an Argo CD cluster
    name), else the repo's default destination."""
    if env.cluster:
        return {"name": env.cluster, "namespace": env.namespace}
    return _destination(argo, env.namespace)


def application(release: Release, env: Environment, argo: ArgoCD, prefix: str = "") -> Manifest:
    ignores = ignore_differences(release, env)
    spec: dict[str, Any] = {
        "project": argo.project,
        "source": {"repoURL": argo.repo_url, "path": overlay_path(release, env, prefix),
                   "targetRevision": argo.revision},
        "destination": env_destination(argo, env),
        "syncPolicy": _sync_policy(argo, bool(ignores)),
    }
    if ignores:
        spec["ignoreDifferences"] = ignores
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": app_name(release, env),
            "namespace": argo.namespace,
            "labels": _labels(release, env),
            "finalizers": [ARGOCD_FINALIZER],
        },
        "spec": spec,
    }


def overlay_params(release: Release, env: Environment, argo: ArgoCD | None = None) -> dict[str, Any]:
    """What the ApplicationSet's git files generator reads from apps/N/overlays/E/argocd-params.yaml.

    No `path` key: the generator sets `.path` itself (the folder holding the file: the overlay). The destination
    is per environment (environments[].cluster): both keys are always there, one empty, because the template
    names both and an empty string is an unset field once Argo CD reads the Application."""
    destination = env_destination(argo or ArgoCD(repo_url=""), env)
    return {
        "app": app_name(release, env),
        "release": release.name,
        "environment": env.name,
        "namespace": env.namespace,
        "destinationServer": destination.get("server", ""),
        "destinationName": destination.get("name", ""),
        "engine": engine_label(release.engine),
        "ignoreDifferences": ignore_differences(release, env),
    }


# Argo CD's own Go template (not ours): the environment's ignoreDifferences, as JSON, when it has any.
_IGNORE_PATCH = "{{- if .ignoreDifferences }}\nspec:\n  ignoreDifferences: {{ toJson .ignoreDifferences }}\n{{- end }}\n"


def applicationset(argo: ArgoCD, prefix: str = "") -> Manifest:
    """One ApplicationSet for every release and environment, driven by the params file in each overlay."""
    template = {
        "metadata": {
            "name": "{{ .app }}",
            "labels": {**MANAGED_BY, "rollgen.io/release": "{{ .release }}",
                       "rollgen.io/environment": "{{ .environment }}"},
            "finalizers": [ARGOCD_FINALIZER],
        },
        "spec": {
            "project": argo.project,
            "source": {"repoURL": argo.repo_url, "path": "{{ .path.path }}", "targetRevision": argo.revision},
            # Each overlay's params file says where it goes (overlay_params): the repo default or its cluster.
            "destination": {"server": "{{ .destinationServer }}", "name": "{{ .destinationName }}",
                            "namespace": "{{ .namespace }}"},
            "syncPolicy": _sync_policy(argo, True),
        },
    }
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": argo.appset_name, "namespace": argo.namespace, "labels": _labels()},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"git": {
                "repoURL": argo.repo_url,
                "revision": argo.revision,
                "files": [{"path": f"{prefix}apps/*/overlays/*/{PARAMS_FILE}"}],
            }}],
            "template": template,
            "templatePatch": _IGNORE_PATCH,
        },
    }


def root_application(argo: ArgoCD, root_name: str, prefix: str = "") -> Manifest:
    """App of apps: Argo CD applies argocd/ itself, so adding or removing a release's Application is a commit.

    Applied once by hand (`kubectl apply -f argocd/application_<root>.yaml`); it then manages itself too."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": root_name, "namespace": argo.namespace, "labels": _labels(),
                     "finalizers": [ARGOCD_FINALIZER]},
        "spec": {
            "project": argo.project,
            "source": {"repoURL": argo.repo_url, "path": f"{prefix}{ARGOCD_DIR}", "targetRevision": argo.revision,
                       "directory": {"recurse": True}},
            "destination": {"server": IN_CLUSTER, "namespace": argo.namespace},
            "syncPolicy": _root_sync_policy(argo),
        },
    }


def _root_sync_policy(argo: ArgoCD) -> dict[str, Any]:
    # Applications live in Argo CD's own namespace: nothing to create, nothing to ignore.
    return {"automated": {"prune": argo.prune, "selfHeal": argo.self_heal}} if argo.automated else {}


# -- Flux -----------------------------------------------------------------------------------------------------

_GO_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_GO_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def health_timeout(release: Release, env: Environment, flux: Flux) -> str:
    """The Kustomization timeout: flux.timeout for the objects to become ready, plus the longest time the
    engine stays InProgress on its own (a step's pause and analysis, Flagger's whole run). A shorter timeout
    turns the Kustomization Ready=False while the step is still healthy."""
    longest = engine_for(release.engine).longest_wait(release, env)
    if not longest:
        return flux.timeout
    configured = math.ceil(sum(float(n) * _GO_UNIT[u] for n, u in _GO_PART.findall(flux.timeout)))
    return durations.format_go(configured + longest)


def git_repository(flux: Flux) -> Manifest:
    spec: dict[str, Any] = {"interval": flux.source_interval, "url": flux.url, "ref": {"branch": flux.branch}}
    if flux.secret_ref:
        spec["secretRef"] = {"name": flux.secret_ref}
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": flux.source_name, "namespace": flux.namespace, "labels": _labels()},
        "spec": spec,
    }


def kustomization(release: Release, env: Environment, flux: Flux, prefix: str = "") -> Manifest:
    spec: dict[str, Any] = {
        "interval": flux.interval,
        "path": f"./{overlay_path(release, env, prefix)}",
        "prune": flux.prune,
        "sourceRef": {"kind": "GitRepository", "name": flux.source_name},
        "targetNamespace": env.namespace,
        "timeout": health_timeout(release, env, flux) if flux.wait else flux.timeout,
    }
    if env.cluster:
        # A remote cluster: the kubeconfig in Secret `<cluster>-kubeconfig` (Cluster API's name for it).
        spec["kubeConfig"] = {"secretRef": {"name": kubeconfig_secret(env.cluster)}}
    if flux.wait:
        spec["wait"] = True
        expr = engine_for(release.engine).health_check  # Rollouts and Canaries lack the Ready condition Flux reads
        if expr is not None:
            spec["healthCheckExprs"] = [dict(expr)]
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": app_name(release, env), "namespace": flux.namespace, "labels": _labels(release, env)},
        "spec": spec,
    }


def kubeconfig_secret(cluster: str) -> str:
    return f"{cluster}-kubeconfig"


def root_kustomization(flux: Flux, root_name: str, prefix: str = "") -> Manifest:
    """Applies flux/ (Flux generates the kustomization.yaml for a plain folder): releases come and go by commit.

    Applied once by hand together with the GitRepository; it then manages both, and itself."""
    return _folder_kustomization(flux, root_name, f"{prefix}{FLUX_DIR}")


def _folder_kustomization(flux: Flux, name: str, path: str) -> Manifest:
    """A Flux Kustomization applying one folder of the repo from the GitRepository, with the config's settings."""
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": flux.namespace, "labels": _labels()},
        "spec": {
            "interval": flux.interval,
            "path": f"./{path}",
            "prune": flux.prune,
            "sourceRef": {"kind": "GitRepository", "name": flux.source_name},
            "timeout": flux.timeout,
        },
    }


# -- the files ------------------------------------------------------------------------------------------------


def release_documents(release: Release, wiring: Wiring) -> dict[str, Any]:
    """A release's wiring, by path relative to the output folder: one entry per environment and controller."""
    out: dict[str, Any] = {}
    argo, flux = wiring.argocd, wiring.flux
    refuse_root_clashes(release, wiring)
    for env in release.environments:
        app = app_name(release, env)
        if argo is not None and argo.mode == "applications":
            out[f"{ARGOCD_DIR}/{release.name}/application_{app}.yaml"] = application(release, env, argo, wiring.prefix)
        if argo is not None and argo.mode == "applicationset":
            out[f"apps/{release.name}/overlays/{env.name}/{PARAMS_FILE}"] = overlay_params(release, env, argo)
        if flux is not None:
            out[f"{FLUX_DIR}/{release.name}/kustomization_{app}.yaml"] = kustomization(release, env, flux, wiring.prefix)
    return out


def refuse_root_clashes(release: Release, wiring: Wiring) -> None:
    """Refuse a release whose environment would be wired under the root Application/Kustomization's name.

    Checked for every environment of the spec, released or not, so the mistake shows on the first render
    (and in the render-check hook) rather than on the day that environment is first released."""
    roots = {wiring.argocd.root_name if wiring.argocd else None, wiring.flux.root_name if wiring.flux else None}
    for env in release.environments:
        _refuse_root_clash(release, env, app_name(release, env), roots)


def _refuse_root_clash(release: Release, env: Environment, app: str, roots: set[str | None]) -> None:
    if app in roots:
        raise RollgenError(
            f"{release.source}: environment {env.name} of release {release.name} would be wired as {app!r}, the "
            "name of the root Application/Kustomization; set argocd.rootApplication / flux.rootKustomization "
            "in rollgen.yaml to another name"
        )


# -- switching argocd.mode ------------------------------------------------------------------------------------

MODE_SWITCH_DOC = 'docs/live-cluster.md "Switching argocd.mode"'


# The output folders a fleet-wide command has checked once (whole_fleet): their other commands skip the listing.
_CHECKED: set[tuple[Path, str]] = set()


class whole_fleet:
    """`with whole_fleet(config.output_dir, wiring):` refuses an argocd.mode switch once, for a command that then
    writes many releases (advance --all): the listing covers the whole apps/ tree, so once per release made the
    tick grow with the square of the fleet. Nothing the command writes can add the other mode's files."""

    def __init__(self, out_dir: Path, wiring: Wiring) -> None:
        self.key = (out_dir, wiring.argocd.mode if wiring.argocd is not None else "")
        refuse_mode_switch(out_dir, wiring)

    def __enter__(self) -> None:
        _CHECKED.add(self.key)

    def __exit__(self, *exc: object) -> None:
        _CHECKED.discard(self.key)


def refuse_mode_switch(out_dir: Path, wiring: Wiring) -> None:
    """Refuse to write while the output folder still holds the other argocd.mode's generated wiring.

    Writing would prune it: Applications carrying resources-finalizer.argocd.argoproj.io delete every workload
    they own (an ApplicationSet deletes its Applications, which do the same), and the new mode then redeploys
    everything from scratch. The documented migration orphans them in the cluster first and then removes those
    files by hand; once they are gone, rollgen writes the new mode's wiring."""
    argo = wiring.argocd
    if argo is None or (out_dir, argo.mode) in _CHECKED:
        return
    left = other_mode_files(out_dir, argo.mode)
    if not left:
        return
    other = "applicationset" if argo.mode == "applications" else "applications"
    shown = ", ".join(left[:3]) + (f" and {len(left) - 3} more" if len(left) > 3 else "")
    raise RollgenError(
        f"{CONFIG_FILE}: argocd.mode is {argo.mode}, but {shown} still wire the releases in mode {other}. Writing "
        "now would prune them, and the resources-finalizer of the Applications they manage would delete every "
        "workload before the new wiring recreates it: an outage. Orphan them in the cluster first, then remove "
        f"those files and render again: see {MODE_SWITCH_DOC}"
    )


def other_mode_files(out_dir: Path, mode: Mode) -> list[str]:
    """The generated wiring files of the mode that is not `mode`, relative to the output folder."""
    if mode == "applicationset":
        patterns = [f"{ARGOCD_DIR}/*/application_*.yaml"]  # argocd/application_<root>.yaml is both modes'
    else:
        patterns = [f"{ARGOCD_DIR}/applicationset_*.yaml", f"apps/*/overlays/*/{PARAMS_FILE}"]
    from generator.render.files import starts_generated

    found = {p for pattern in patterns for p in out_dir.glob(pattern)}
    return sorted(p.relative_to(out_dir).as_posix() for p in found if not p.is_symlink() and starts_generated(p))


def repo_documents(wiring: Wiring) -> dict[str, Any]:
    """The repo-level wiring (from rollgen.yaml alone), by path relative to the output folder."""
    out: dict[str, Any] = {}
    argo, flux = wiring.argocd, wiring.flux
    if argo is not None and argo.mode == "applicationset":
        out[f"{ARGOCD_DIR}/applicationset_{argo.appset_name}.yaml"] = applicationset(argo, wiring.prefix)
    if argo is not None and argo.root_name:
        out[f"{ARGOCD_DIR}/application_{argo.root_name}.yaml"] = root_application(argo, argo.root_name, wiring.prefix)
    if flux is not None:
        out[f"{FLUX_DIR}/gitrepository_{flux.source_name}.yaml"] = git_repository(flux)
        if flux.root_name:
            out[f"{FLUX_DIR}/kustomization_{flux.root_name}.yaml"] = root_kustomization(flux, flux.root_name, wiring.prefix)
    if wiring.tick is not None:
        out.update(tick_documents(wiring, wiring.tick))
    return out


TICK = "rollgen-tick"  # the tick's Application / Kustomization, and the namespace its package declares


def tick_documents(wiring: Wiring, path: str) -> dict[str, Any]:
    """The in-cluster tick (rollgen init --tick kubernetes) wired like a release: an Application and a
    Kustomization applying its folder. Its path is the repo's, outside apps/: rollgen never canaries it."""
    out: dict[str, Any] = {}
    argo, flux = wiring.argocd, wiring.flux
    if argo is not None:
        out[f"{ARGOCD_DIR}/application_{TICK}.yaml"] = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": TICK, "namespace": argo.namespace, "labels": _labels(),
                         "finalizers": [ARGOCD_FINALIZER]},
            "spec": {
                "project": argo.project,
                "source": {"repoURL": argo.repo_url, "path": path, "targetRevision": argo.revision},
                "destination": _destination(argo, TICK),
                "syncPolicy": _root_sync_policy(argo),
            },
        }
    if flux is not None:
        out[f"{FLUX_DIR}/kustomization_{TICK}.yaml"] = _folder_kustomization(flux, TICK, path)
    return out


def release_files(release: Release, wiring: Wiring) -> dict[str, bytes]:
    from generator.render.emit import emit

    return {path: emit(doc, release.source) for path, doc in release_documents(release, wiring).items()}


def repo_files(wiring: Wiring) -> dict[str, bytes]:
    from generator.render.emit import emit

    return {path: emit(doc, CONFIG_FILE) for path, doc in repo_documents(wiring).items()}


def release_roots(name: str) -> list[str]:
    """What a command that writes one release owns besides apps/<name>: its wiring folders."""
    return [f"{ARGOCD_DIR}/{name}", f"{FLUX_DIR}/{name}"]


# -- rendering into a config repo ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderWiring:
    """The wiring `rollgen render` adds when it writes into a config repo's output folder.

    `whole_repo`: the paths rendered cover the repo's releases folder, so every release is there. Then the
    render also writes the repo-level files, owns all of argocd/ and flux/, and owns the apps/<name> folder of
    every release that is gone (its spec removed), so their generated files are pruned (state files stay:
    the writer never removes them). Otherwise it owns each rendered release's wiring folders only."""

    wiring: Wiring
    whole_repo: bool
    out_dir: Path

    def release_files(self, release: Release) -> dict[str, bytes]:
        return release_files(release, self.wiring)

    def check(self, release: Release) -> None:
        """Refuse what no environment of the release may be wired as (released or not: see release_files).

        The argocd.mode switch is a property of the whole output folder, refused once by for_render: checked
        here, it listed the whole apps/ tree once per release, and a fleet's render grew with its square."""
        refuse_root_clashes(release, self.wiring)

    def release_roots(self, name: str) -> list[str]:
        return [] if self.whole_repo else release_roots(name)

    def repo_files(self) -> dict[str, bytes]:
        return repo_files(self.wiring) if self.whole_repo else {}

    def shared_roots(self) -> list[str]:
        """The roots every release has files under (argocd/, flux/ of a whole repo), as repo_roots lists them."""
        return [d for d in (ARGOCD_DIR, FLUX_DIR) if self._wanted(d)] if self.whole_repo else []

    def repo_roots(self, rendered: Iterable[str]) -> list[str]:
        if not self.whole_repo:
            return []
        roots = self.shared_roots()
        apps = self.out_dir / "apps"
        keep = set(rendered)
        gone = sorted(p.name for p in apps.iterdir() if p.is_dir() and p.name not in keep) if apps.is_dir() else []
        return roots + [f"apps/{name}" for name in gone]

    def _wanted(self, folder: str) -> bool:
        enabled = self.wiring.argocd if folder == ARGOCD_DIR else self.wiring.flux
        return enabled is not None or (self.out_dir / folder).is_dir()


def for_config(config: Config) -> Wiring:
    """The wiring of a config repo; nothing enabled without rollgen.yaml."""
    return from_config(config) if config.present else Wiring(prefix=config.output_prefix())


def for_render(out_dir: Path, paths: Sequence[Path]) -> RenderWiring | None:
    """Wiring for `rollgen render PATH... --out DIR` when DIR is the output folder of a config repo (the nearest
    rollgen.yaml above it); None otherwise (rendering elsewhere, e.g. to preview, writes manifests only).

    Not None is also what makes DIR a config repo for the render: only released environments are rendered."""
    from generator.spec import config as config_module

    resolved = out_dir.resolve()
    root = config_module.config_root(resolved)
    if root is None:
        return None
    config = config_module.load(root)
    if config.output_dir.resolve() != resolved:
        return None
    releases = config.releases_dir.resolve()
    whole = any(p.resolve() == releases or p.resolve() in releases.parents for p in paths)
    wiring = for_config(config)
    refuse_mode_switch(out_dir, wiring)  # once for the whole render (see RenderWiring.check)
    return RenderWiring(wiring, whole, out_dir)


# -- kept for callers of the first version (tests/test_consumers.py) --------------------------------------------


def argocd_application(release: Release, env: Environment, settings: Mapping[str, Any], repo_url: str,
                       revision: str) -> Manifest:
    return application(release, env, argocd_settings({**settings, "repoURL": repo_url, "targetRevision": revision}))


def argocd_applicationset(settings: Mapping[str, Any], repo_url: str, revision: str) -> Manifest:
    return applicationset(argocd_settings({**settings, "repoURL": repo_url, "targetRevision": revision}))


def flux_git_repository(settings: Mapping[str, Any], repo_url: str, revision: str) -> Manifest:
    return git_repository(flux_settings({**settings, "url": repo_url, "branch": revision}))


def flux_kustomization(release: Release, env: Environment, settings: Mapping[str, Any]) -> Manifest:
    return kustomization(release, env, flux_settings({"url": "https://example.invalid/config.git", **settings}))
