"""The clean gate: a release's generated files must be as HEAD holds them before a command writes them, unless
a crashed run left exactly them (its journal explains every change), which are then put back first.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from generator.errors import RollgenError
from generator.gitops.repo import Journal, Repo, StatusEntry
from generator.gitops.tree import owned_roots_of
from generator.model import Release
from generator.spec.config import Config


def ensure_clean(repo: Repo, config: Config, release: Release, changes: Sequence[StatusEntry] | None = None) -> None:
    """Refuse uncommitted changes to the release's generated files, unless a crashed run left exactly them.
    `changes`: the `git status` of the release's folders, when the caller already has it (CleanGate)."""
    owned = owned_paths(config, release.name)
    app = owned[0]  # apps/<name>
    journal = repo.journal(release.name)
    dirty = dirty_paths(repo, repo.changes(owned) if changes is None else changes)
    if not dirty:
        journal.clear()
        return
    leftovers = _leftovers(repo, journal, dirty)
    if leftovers is None:
        shown = "\n".join(f"  {p}" for p in dirty[:20]) + ("\n  ..." if len(dirty) > 20 else "")
        raise RollgenError(
            f"uncommitted changes to {release.name}'s generated files:\n{shown}\n"
            f"commit or discard them first (git status -- {app}; git checkout -- {app})"
        )
    repo.restore(leftovers)
    journal.clear()
    print(f"rollgen: {release.name}: put back {len(leftovers)} file(s) an interrupted run had written", file=sys.stderr)


def owned_paths(config: Config, name: str) -> list[str]:
    """owned_roots as repository paths."""
    return [config.output_prefix() + root for root in owned_roots_of(name)]


def dirty_paths(repo: Repo, changes: Sequence[StatusEntry]) -> list[str]:
    """The changes rollgen must not write over: all but untracked files it did not generate (a person's own).
    The one rule of ensure_clean, CleanGate and the dry run's refusal."""
    from generator.render.files import starts_generated

    return [c.path for c in changes if not c.untracked or starts_generated(repo.root / c.path)]


class Dirty(Exception):
    """CleanGate found uncommitted changes in the release's folders (raised before anything was written)."""


class CleanGate:
    """ensure_clean's `git status`, started now and waited for when called, before the first file is written.
    Called on a clean tree it clears the release's journal, as ensure_clean does, and returns; otherwise it raises
    Dirty and `changes` holds what the status found, for ensure_clean."""

    def __init__(self, repo: Repo, config: Config, name: str) -> None:
        self._repo = repo
        self._journal = repo.journal(name)
        self._status = repo.start_changes(owned_paths(config, name))
        self.changes: list[StatusEntry] | None = None

    def __enter__(self) -> CleanGate:
        return self

    def __exit__(self, *exc: object) -> None:
        self._status.result(check=False)

    def dirty(self) -> bool:
        if self.changes is None:
            self.changes = self._status.changes()
        return bool(dirty_paths(self._repo, self.changes))

    def __call__(self) -> None:
        settled = self.changes is not None
        if self.dirty():
            raise Dirty
        if not settled:
            self._journal.clear()


def _leftovers(repo: Repo, journal: Journal, dirty: list[str]) -> list[str] | None:
    """The dirty paths when an interrupted run's journal explains every one of them, else None."""
    if journal.load() is None:
        return None
    if all(journal.explains(repo.root, path) for path in dirty):
        return dirty
    return None

