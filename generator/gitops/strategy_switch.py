"""An environment released one way may not be switched to or from `strategy.rollingUpdate` by a commit.

A live cluster cannot follow such a switch without an outage (REFERENCE.md "Immutable or owned objects"):
- Flagger: the Canary is pruned, and Kubernetes garbage-collects what Flagger created under it (the Services and
  `N-primary`, which serve), while the target Deployment `N` is still at the 0 replicas Flagger gave it;
- Argo Rollouts: the Rollout is pruned and its ReplicaSets, every serving pod, go with it before the new
  Deployment has a pod up;
- plain Deployments: the stable Deployment `N` changes its selector (`rollgen.io/track`), which is immutable, so
  the apply fails (a blue-green's colours are pruned, every pod with them).
And back the same ways. The way that keeps serving is done by hand (docs/live-cluster.md, "Switching an
environment to or from a rolling update"); rollgen refuses, located, while the output folder still holds the
environment's other layout.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from generator import names
from generator.errors import InvalidInput, Problem, json_path
from generator.model import BlueGreenStrategy, Environment, Release

DOC = 'docs/live-cluster.md "Switching an environment to or from a rolling update"'


def marker(release: Release) -> tuple[str, str]:
    """(kind, name) of the engine object a rolling overlay deletes from the base."""
    if release.engine == "flagger":
        return "canary", release.name
    if release.engine == "argo-rollouts":
        return "rollout", release.name
    if isinstance(release.strategy, BlueGreenStrategy):
        return "deployment", names.colour(release.name, "blue")
    return "deployment", names.canary(release.name)


def was_rolling(app_dir: Path, release: Release, env: str) -> bool | None:
    """Whether the environment's committed overlay is a rolling update; None when it was not released (no state
    file) or the base does not hold this engine's object (another engine wrote it: not this check's to judge)."""
    from generator.render.state import STATE_FILE

    overlay = app_dir / "overlays" / env
    kind, name = marker(release)
    if not (overlay / STATE_FILE).is_file() or not (app_dir / "base" / f"{kind}_{name}.yaml").is_file():
        return None
    return (overlay / f"delete_{kind}_{name}.yaml").is_file()


def refuse_strategy_switch(
    out_dir: Path, release: Release, environments: Iterable[Environment], root: Path | None = None
) -> None:
    """Raise InvalidInput, located in the spec (its path as given, relative to `root` when it is not absolute),
    for every released environment whose rolling update the spec turns on or off."""
    app_dir = out_dir / "apps" / release.name
    problems = []
    for env in environments:
        before = was_rolling(app_dir, release, env.name)
        now = env.workload.rolling_update is not None
        if before is not None and before != now:
            problems.append(_problem(release, env, now, root))
    if problems:
        raise InvalidInput(problems)


def _problem(release: Release, env: Environment, to_rolling: bool, root: Path | None) -> Problem:
    from generator.spec.loader import load_single

    index = [e.name for e in release.environments].index(env.name)
    at: tuple[str | int, ...] = ("spec", "environments", index)
    at += ("strategy", "rollingUpdate") if to_rolling else ("name",)
    try:
        path = Path(release.source)
        line, column = load_single(root / path if root is not None else path).locate(at)
    except (InvalidInput, OSError):
        line, column = 0, 0
    what = f"{release.engine} {release.strategy.kind}"
    if to_rolling:
        change = "switching it to strategy.rollingUpdate"
        outage = _outage(release)
    else:
        change = f"switching it from a rolling update to the {what}"
        outage = _outage_back(release)
    message = (
        f"environment {env.name!r} is released {'with the ' + what if to_rolling else 'as a rolling update'}; "
        f"{change} in one commit is an outage: {outage}. Do it by hand as {DOC} says, or give the new layout to "
        "a new environment"
    )
    return Problem(release.source, line, column, json_path(at), message)


def _outage(release: Release) -> str:
    if release.engine == "flagger":
        return (
            "the pruned Canary takes Flagger's Services and the primary Deployment with it, and the Deployment "
            f"{release.name} is still at the 0 replicas Flagger gave it"
        )
    if release.engine == "argo-rollouts":
        return "the pruned Rollout takes every serving pod with it before the new Deployment has one up"
    if isinstance(release.strategy, BlueGreenStrategy):
        return "the pruned colour Deployments take every serving pod with them"
    return f"the Deployment {release.name} would change its selector, which Kubernetes refuses (it is immutable)"


def _outage_back(release: Release) -> str:
    if release.engine == "flagger":
        return (
            f"the Service {release.name} the rolling update serves through is pruned before Flagger has started a "
            "primary and made its own"
        )
    if release.engine == "argo-rollouts":
        return "the pruned Deployment takes every serving pod with it before the Rollout has one up"
    if isinstance(release.strategy, BlueGreenStrategy):
        return f"the pruned Deployment {release.name} takes every serving pod with it"
    return f"the Deployment {release.name} would change its selector, which Kubernetes refuses (it is immutable)"
