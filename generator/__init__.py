"""rollgen: progressive-delivery manifests from a release spec, promoted through git."""

from __future__ import annotations

__version__ = "0.1.0"
