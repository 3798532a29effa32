"""Derived object names (docs/DESIGN.md "Object names"): one function a name, from the release name `N`.

The renderers, the routers, the gates' placeholders and the spec's length checks all name objects through
here, so a name cannot drift between what is written and what is measured or checked. The spec layer needs
them before anything is rendered (a too-long name is refused, located), hence the base layer.
"""

from __future__ import annotations

from collections.abc import Callable

from generator.facts import SERVICES, STABLE_SERVICE, Colour, EngineName

# The controller names these itself: Argo Rollouts' canary Ingress is `<rollout>-<stableIngress>-canary`,
# Flagger's primary Deployment and Service `N-primary`.


def canary(name: str) -> str:
    """The canary track (deployments), the canary Service (argo-rollouts, Flagger's), the canary route."""
    return f"{name}-canary"


def preview(name: str) -> str:
    """Blue-green: the preview Service and the preview Ingress/route (previewHost)."""
    return f"{name}-preview"


def stable(name: str) -> str:
    """argo-rollouts canary: the stable Service."""
    return f"{name}-stable"


def active(name: str) -> str:
    """argo-rollouts blue-green: the active Service."""
    return f"{name}-active"


def stable_version(engine: EngineName, name: str) -> str:
    """The Service in front of the stable pods of a canary: what maxIncrease holds the canary against."""
    return _ROLES[STABLE_SERVICE[engine]](name)


def primary(name: str) -> str:
    """What Flagger creates for the primary (Deployment, Service)."""
    return f"{name}-primary"


def colour(name: str, which: Colour) -> str:
    """deployments blue-green: the Deployment (and image placeholder) of one colour."""
    return f"{name}-{which}"


def rollout_canary_ingress(name: str) -> str:
    """The canary Ingress Argo Rollouts creates from the stable Ingress `N`."""
    return f"{name}-{name}-canary"


def metric_template(name: str, metric: str) -> str:
    """A Flagger MetricTemplate."""
    return f"{name}-{metric}"


DEFAULT_ENVIRONMENT = "default"  # the one environment of a spec without `environments`


def app(name: str, env: str) -> str:
    """The Argo CD Application and the Flux Kustomization of an environment: `N-E`, plain `N` for the default
    environment."""
    return name if env == DEFAULT_ENVIRONMENT else f"{name}-{env}"


def services(engine: EngineName, kind: str, name: str) -> tuple[str, ...]:
    """Every Service of a release (written, or created by its controller), for strategy `kind` (an A/B test
    names what a canary does): generator.facts.SERVICES's roles, named here."""
    roles = SERVICES[engine]
    return tuple(_ROLES[role](name) for role in roles.get(kind, roles["canary"]))


def _release(name: str) -> str:
    return name


# generator.facts names a Service by its role; each role is named by one function above.
_ROLES: dict[str, Callable[[str], str]] = {
    "release": _release, "canary": canary, "preview": preview, "stable": stable, "active": active, "primary": primary,
}
