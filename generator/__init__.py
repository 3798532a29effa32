"""rollgen: progressive-delivery manifests from a release spec, promoted through git."""

from __future__ import annotations

# The one place the version is written: pyproject.toml reads it (hatch's version source), so the wheel, `rollgen
# --version` and the pins `rollgen init` writes agree. A release is the tag v<__version__> (release workflow).
__version__ = "0.2.0"

# Where rollgen's source lives: `rollgen init` pins its workflow's install and its pre-commit hooks to this URL at
# the tag v<__version__> (rollgen is installed from git, or from a wheel, until a package index release exists).
REPO_URL = "https://github.com/rollgen/rollgen"


def pinned_requirement() -> str:
    """What pip installs for this very rollgen: the project's git URL at this version's tag."""
    return f"rollgen @ git+{REPO_URL}@v{__version__}"
