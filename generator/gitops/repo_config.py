"""A config repository's rollgen.yaml, for a Repo: git knows nothing of rollgen.yaml, so reading it is here,
above the git modules, not a Repo method."""

from __future__ import annotations

from typing import TYPE_CHECKING

from generator.spec.config import Config, load

if TYPE_CHECKING:
    from generator.gitops.repo import Repo


def repo_config(repo: Repo) -> Config:
    """The repository's rollgen.yaml, validated; the schema check is skipped while the file is as it was when it
    last passed (the marker in .git/rollgen/cache)."""
    return load(repo.root, validated=repo.rollgen_dir / "cache" / "config-validated")
