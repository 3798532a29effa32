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
generator/render/pipeline.py), like the overlays they point at: the ApplicationSet's git files generator then
finds exactly the released overlays, and no Application or Kustomization names a path that is not there. Repo-level files come from rollgen.yaml alone and are written by `rollgen init` and
by `rollgen render` of the whole releases folder, which owns all of `argocd/` and `flux/` and so prunes what a
removed release or a changed setting left behind.

Everything here is pure (data in, data out) except `for_render`/`for_config`, which read rollgen.yaml.

The modules: settings (rollgen.yaml's sections as settings, names and paths), argocd, flux, files (a release's
and the repo's files, the argocd.mode switch, `rollgen render` into a config repo). This package re-exports
their public names: callers import `generator.wiring`.
"""

from __future__ import annotations

from generator.wiring.argocd import ARGOCD_FINALIZER, POD_TEMPLATE_HASH, RESPECT_IGNORES
from generator.wiring.argocd import application, applicationset, env_destination, ignore_differences
from generator.wiring.argocd import overlay_params, root_application
from generator.wiring.files import MODE_SWITCH_DOC, TICK, RenderWiring, for_render, other_mode_files
from generator.wiring.files import refuse_mode_switch, refuse_root_clashes, release_documents, wiring_files
from generator.wiring.files import release_roots, repo_documents, repo_files, tick_documents, whole_fleet
from generator.wiring.flux import git_repository, health_timeout, kubeconfig_secret
from generator.wiring.flux import kustomization, root_kustomization
from generator.wiring.settings import ARGOCD_DIR, DEFAULT_REVISION, FLUX_DIR, IN_CLUSTER, MANAGED_BY, PARAMS_FILE
from generator.wiring.settings import ArgoCD, Flux, Mode, Wiring, app_name, argocd_settings, flux_settings
from generator.wiring.settings import for_config, from_config, overlay_path, safe_url, scp_to_ssh

__all__ = [
    "ARGOCD_DIR", "ARGOCD_FINALIZER", "DEFAULT_REVISION", "FLUX_DIR", "IN_CLUSTER",
    "MANAGED_BY", "MODE_SWITCH_DOC", "PARAMS_FILE", "POD_TEMPLATE_HASH", "RESPECT_IGNORES", "TICK",
    "ArgoCD", "Flux", "Mode", "RenderWiring", "Wiring",
    "app_name", "application", "applicationset", "argocd_settings", "env_destination", "flux_settings",
    "for_config", "for_render", "from_config", "git_repository", "health_timeout", "ignore_differences",
    "kubeconfig_secret", "kustomization", "other_mode_files", "overlay_params", "overlay_path",
    "refuse_mode_switch", "refuse_root_clashes", "release_documents", "release_roots", "wiring_files",
    "repo_documents", "repo_files", "root_application", "root_kustomization", "safe_url", "scp_to_ssh",
    "tick_documents", "whole_fleet",
]  # fmt: skip
