"""Derived object names (docs/DESIGN.md "Object names"): one function a name, from the release name `N`.

The renderers, the routers, the gates' placeholders and the spec's length checks all name objects through
here, so a name cannot drift between what is written and what is measured or checked. The spec layer needs
them before anything is rendered (a too-long name is refused, located), hence the base layer.
"""

from __future__ import annotations

from generator.model import Colour, Engine, other_colour

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


def stable_version(engine: Engine, name: str) -> str:
    """The Service in front of the stable pods of a canary: what maxIncrease holds the canary against."""
    if engine == "argo-rollouts":
        return stable(name)
    return primary(name) if engine == "flagger" else name


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


def services(engine: Engine, kind: str, name: str) -> tuple[str, ...]:
    """Every Service of a release (written, or created by its controller), for strategy `kind` (an A/B test
    names what a canary does)."""
    if engine == "deployments":
        return (name, preview(name) if kind == "blueGreen" else canary(name))
    if engine == "argo-rollouts":
        return (active(name), preview(name)) if kind == "blueGreen" else (stable(name), canary(name))
    return (name, primary(name), canary(name))


def new_version(engine: Engine, name: str, blue_green: bool, active_colour: Colour) -> str:
    """The workload running the new version (Flagger's `{{ target }}`): the deployments engine's canary track
    or idle colour; the Rollout or Flagger's target `N` otherwise (its canary pods share the name)."""
    if engine != "deployments":
        return name
    return colour(name, other_colour(active_colour)) if blue_green else canary(name)
