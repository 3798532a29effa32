"""Engine renderers: pure functions from (release, environment, state) to Kubernetes objects.

Each engine lives in its own module and is registered here by name; modules are imported on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from generator.records import dataclass
from typing import Any

from generator.model import Engine, EnvState, Environment, Image, Release

Manifest = dict[str, Any]


@dataclass(frozen=True)
class ImageSlot:
    """A container image the overlay sets through kustomize `images:`.

    Renderers write `name` (a placeholder such as "hello" or "hello-canary") as the container image, so that
    the environment's real image lives in the overlay's `images:` where image-updating tools edit it.
    """

    name: str
    image: Image


@dataclass(frozen=True)
class Rendered:
    manifests: tuple[Manifest, ...]  # complete objects for one environment, metadata.namespace set
    images: tuple[ImageSlot, ...]
    # Extra files the base needs besides resources, e.g. kustomize `configurations:` for Rollouts:
    # file name -> document. Written once per release into the base.
    kustomize_configurations: tuple[tuple[str, Manifest], ...] = ()


Renderer = Callable[[Release, Environment, EnvState], Rendered]

RENDERERS: dict[Engine, str] = {
    "deployments": "generator.render.engines.deployments",
    "argo-rollouts": "generator.render.engines.argo_rollouts",
    "flagger": "generator.render.engines.flagger",
}


def renderer_for(engine: Engine) -> Renderer:
    module = importlib.import_module(RENDERERS[engine])
    render: Renderer = module.render
    return render
