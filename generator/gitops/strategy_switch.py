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

from generator.errors import InvalidInput, Problem, json_path
from generator.model import Environment, Release
from generator.render.engines import engine_for

DOC = 'docs/live-cluster.md "Switching an environment to or from a rolling update"'


def marker(release: Release) -> tuple[str, str]:
    """(kind, name) of the engine object a rolling overlay deletes from the base."""
    return engine_for(release.engine).rolling_marker(release)


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
    else:
        change = f"switching it from a rolling update to the {what}"
    outage = engine_for(release.engine).rolling_outage(release, to_rolling)
    message = (
        f"environment {env.name!r} is released {'with the ' + what if to_rolling else 'as a rolling update'}; "
        f"{change} in one commit is an outage: {outage}. Do it by hand as {DOC} says, or give the new layout to "
        "a new environment"
    )
    return Problem(release.source, line, column, json_path(at), message)
