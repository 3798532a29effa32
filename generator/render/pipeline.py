"""The recipe in one place (release_tree): render -> layout -> emit -> wiring -> kept files -> state files.
Writing is the caller's (gitops/writer.py); what the recipe needs from the output folder and git (the wiring,
the files kept for retired environments, the pinned specs, the refusals that read the committed tree) is given
to it by gitops/tree.py, the one caller every command goes through.

Which environments a tree holds (one rule, used by `rollgen render`, `rollgen init` and the committing
commands): in a config repository an environment is rendered, with its wiring, only once `rollgen release`
has deployed it (its state file exists), so releasing one environment never adds, changes or prunes
another's files. Outside a config repository (`rollgen render spec --out DIR` to preview or to feed another
tool) every environment is rendered, at its committed state where DIR holds one, else at its initial state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from generator.records import replace
from pathlib import Path

from generator.render import state as state_file
from generator.render.emit import emit
from generator.errors import RollgenError
from generator.render.layout import layout
from generator.model import BlueGreenStrategy, EnvState, Release


def app_root(release: Release) -> str:
    """The folder of the output tree that belongs to one release (what the writer may prune)."""
    return app_root_of(release.name)


def app_root_of(name: str) -> str:
    return f"apps/{name}"


def render_files(
    release: Release, states: Mapping[str, EnvState], pinned: Mapping[str, Release] | None = None
) -> dict[str, bytes]:
    """`pinned`: the environments rendered from the spec they were last acted on (layout.layout)."""
    return {path: emit(doc, release.source) for path, doc in layout(release, states, pinned).items()}


def release_tree(
    release: Release,
    states: Mapping[str, EnvState],
    pinned: Mapping[str, Release] | None = None,
    *,
    wiring: Callable[[Release], Mapping[str, bytes]] | None = None,
    kept: Mapping[str, bytes] | None = None,
    state_files: bool = False,
    check: Callable[[Release, Mapping[str, bytes]], None] | None = None,
) -> dict[str, bytes]:
    """Every file of the release's environments that have a state, relative to the output folder.

    `pinned`: environments rendered from the spec they were last acted on (layout.layout); `check`: called with
    the rendered release and its files before the wiring is added (a refusal raises); `wiring`: the Argo CD /
    Flux files of the rendered environments; `kept`: files kept as they are (environments gone from the spec);
    `state_files`: each state's file too (the committing commands write them; a render leaves them as they are).
    """
    deployed = released(release, states)
    files: dict[str, bytes] = {}
    if deployed.environments:
        files = render_files(deployed, states, pinned)
        if check is not None:
            check(deployed, files)
        if wiring is not None:
            files.update(wiring(deployed))
    files.update(kept or {})
    if state_files:
        colours = isinstance(release.strategy, BlueGreenStrategy)
        for name, env_state in states.items():
            files[state_file.relpath(release.name, name)] = state_file.dump(env_state, release.source, colours=colours)
    return files


def released(release: Release, states: Mapping[str, EnvState]) -> Release:
    """The release narrowed to the environments that have a state, in spec order (none: nothing to render)."""
    return replace(release, environments=tuple(env for env in release.environments if env.name in states))


def states_or_initial(out_dir: Path, release: Release) -> dict[str, EnvState]:
    """Each environment's committed progression state; an environment without a state file is initial."""
    committed = committed_states(out_dir, release)
    return {env.name: committed.get(env.name) or EnvState.initial(env) for env in release.environments}


# Deleting a state file is no way out: without one, the environment counts as never released, and the next
# `rollgen release` deploys the spec's image straight to stable, with no canary.
_KEEP_IT = ("Do not delete it: without it the next release deploys the spec's image straight to stable, skipping "
            "the canary")


def _restore(path: Path) -> str:
    """How to put a state file back: a hand edit not committed yet comes back from HEAD; one committed (a bad
    merge, a push past the hooks) from the commit before it, which `git log` lists."""
    return (
        f"restore it from git history (git checkout HEAD -- {path} undoes an uncommitted edit; "
        f"git log -p -- {path} shows the versions rollgen committed, git checkout COMMIT -- {path} and a commit "
        f"restore one). {_KEEP_IT}"
    )


def committed_states(out_dir: Path, release: Release) -> dict[str, EnvState]:
    """The state files that exist, by environment (what `rollgen release` has deployed)."""
    app_dir = out_dir / app_root(release)
    out = {}
    for env in release.environments:
        path = state_file.state_path(app_dir, env.name)
        try:
            found = state_file.load_state(path, _display(path))
        except state_file.CorruptState as exc:
            raise RollgenError(f"{exc}; the progression state is not what rollgen writes: {_restore(path)}") from exc
        except (OSError, ValueError) as exc:
            raise RollgenError(f"the progression state {path} is unreadable ({exc}): {_restore(path)}") from exc
        if found is not None:
            out[env.name] = found
    return out


def _display(path: Path) -> str:
    """The state file as messages name it: relative to the working directory when under it."""
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)
