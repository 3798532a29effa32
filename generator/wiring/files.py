"""The wiring's files: a release's (argocd/<N>, flux/<N>, the params files), the repo-level ones (from rollgen.yaml
alone), the argocd.mode switch refused, and what `rollgen render` adds in a config repo (for_render)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from generator.records import dataclass
from pathlib import Path
from typing import Any

from generator.errors import RollgenError
from generator.model import Environment, Release
from generator.spec.config import CONFIG_FILE
from generator.wiring.argocd import ARGOCD_FINALIZER, application, applicationset, overlay_params, repo_destination
from generator.wiring.argocd import root_application, root_sync_policy
from generator.wiring.flux import folder_kustomization, git_repository, kustomization, root_kustomization
from generator.wiring.settings import ARGOCD_DIR, FLUX_DIR, PARAMS_FILE, Mode, Wiring, app_name, for_config, wiring_labels


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
            "metadata": {"name": TICK, "namespace": argo.namespace, "labels": wiring_labels(),
                         "finalizers": [ARGOCD_FINALIZER]},
            "spec": {
                "project": argo.project,
                "source": {"repoURL": argo.repo_url, "path": path, "targetRevision": argo.revision},
                "destination": repo_destination(argo, TICK),
                "syncPolicy": root_sync_policy(argo),
            },
        }
    if flux is not None:
        out[f"{FLUX_DIR}/kustomization_{TICK}.yaml"] = folder_kustomization(flux, TICK, path)
    return out


def wiring_files(release: Release, wiring: Wiring) -> dict[str, bytes]:
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

    def check(self, release: Release) -> None:
        """Refuse what no environment of the release may be wired as (released or not: see wiring_files).

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
