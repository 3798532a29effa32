"""rollgen.yaml's `argocd:` and `flux:` sections as settings, and what every wiring module names: the folders,
an environment's overlay path and Application/Kustomization name, the labels.

The sections are validated with the rest of rollgen.yaml by generator.spec.config (schemas/config.schema.json);
this reads validated data only.
"""

from __future__ import annotations

from collections.abc import Mapping
from generator.records import dataclass
from typing import TYPE_CHECKING, Any, Literal

from generator import names
from generator.redaction import safe_url as safe_url
from generator.model import Environment, Release

if TYPE_CHECKING:
    from generator.spec.config import Config

IN_CLUSTER = "https://kubernetes.default.svc"
PARAMS_FILE = "argocd-params.yaml"
ARGOCD_DIR = "argocd"
FLUX_DIR = "flux"
DEFAULT_REVISION = "main"
MANAGED_BY = {"app.kubernetes.io/managed-by": "rollgen"}

Mode = Literal["applications", "applicationset"]


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


def for_config(config: Config) -> Wiring:
    """The wiring of a config repo; nothing enabled without rollgen.yaml."""
    return from_config(config) if config.present else Wiring(prefix=config.output_prefix())



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


def labels(release: Release | None = None, env: Environment | None = None) -> dict[str, str]:
    labels = dict(MANAGED_BY)
    if release is not None:
        labels["rollgen.io/release"] = release.name
    if env is not None:
        labels["rollgen.io/environment"] = env.name
    return labels
