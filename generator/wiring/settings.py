"""rollgen.yaml's `argocd:` and `flux:` sections as settings, and what every wiring module names: the folders,
an environment's overlay path and Application/Kustomization name, the labels.

The sections are validated with the rest of rollgen.yaml by generator.spec.config against
schemas/config.schema.json, which also holds their defaults (spec.config.section puts them under the data);
this reads validated data only.
"""

from __future__ import annotations

from collections.abc import Mapping
from generator.records import dataclass
from typing import TYPE_CHECKING, Any, Literal

from generator import names
from generator.redaction import safe_url as safe_url
from generator.model import Environment, Release
from generator.spec.config import section

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
    """rollgen.yaml `argocd:`; made by argocd_settings, with the schema's defaults."""

    repo_url: str
    revision: str
    mode: Mode
    namespace: str
    project: str
    destination: tuple[tuple[str, str], ...]  # server or name
    automated: bool
    prune: bool
    self_heal: bool
    sync_options: tuple[str, ...]
    appset_name: str
    root_name: str | None


@dataclass(frozen=True)
class Flux:
    """rollgen.yaml `flux:`; made by flux_settings, with the schema's defaults."""

    url: str
    branch: str
    namespace: str
    source_name: str
    source_interval: str
    secret_ref: str | None
    interval: str
    timeout: str
    prune: bool
    wait: bool
    root_name: str | None


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
    given = section(data, "argocd")
    destination = (
        (("name", str(data["destinationName"])),)
        if data.get("destinationName")
        else (("server", str(given["destinationServer"])),)
    )
    return ArgoCD(
        repo_url=safe_url(str(data["repoURL"]), "argocd.repoURL"),
        revision=str(data.get("targetRevision", default_revision)),
        mode=given["mode"],
        namespace=str(given["namespace"]),
        project=str(given["project"]),
        destination=destination,
        automated=bool(given["automated"]),
        prune=bool(given["prune"]),
        self_heal=bool(given["selfHeal"]),
        sync_options=tuple(str(option) for option in given["syncOptions"]),
        appset_name=str(given["applicationSetName"]),
        root_name=_root_name(given["rootApplication"]),
    )


def flux_settings(data: Mapping[str, Any], default_branch: str = DEFAULT_REVISION) -> Flux:
    """Validated `flux:` data as settings; the URL loses its user name (see safe_url)."""
    given = section(data, "flux")
    return Flux(
        url=safe_url(str(data["url"]), "flux.url"),
        branch=str(data.get("branch", default_branch)),
        namespace=str(given["namespace"]),
        source_name=str(given["sourceName"]),
        source_interval=str(given["sourceInterval"]),
        secret_ref=str(data["secretRef"]) if data.get("secretRef") else None,
        interval=str(given["interval"]),
        timeout=str(given["timeout"]),
        prune=bool(given["prune"]),
        wait=bool(given["wait"]),
        root_name=_root_name(given["rootKustomization"]),
    )


def _root_name(value: Any) -> str | None:
    return None if value is False else str(value)


def from_config(config: Config) -> Wiring:
    """The wiring rollgen.yaml asks for (spec.config.load has validated its `argocd:`/`flux:` sections)."""
    revision = config.branch or DEFAULT_REVISION
    argocd = config.argocd if config.argocd is not None and section(config.argocd, "argocd")["enabled"] else None
    flux = config.flux if config.flux is not None and section(config.flux, "flux")["enabled"] else None
    return Wiring(
        argocd=argocd_settings(argocd, revision) if argocd is not None else None,
        flux=flux_settings(flux, revision) if flux is not None else None,
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


def wiring_labels(release: Release | None = None, env: Environment | None = None) -> dict[str, str]:
    labels = dict(MANAGED_BY)
    if release is not None:
        labels["rollgen.io/release"] = release.name
    if env is not None:
        labels["rollgen.io/environment"] = env.name
    return labels
