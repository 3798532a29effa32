"""`rollgen plan NAME|SPEC [--env E] [--action A]`, and `--dry-run` on release/advance/promote/abort: what the
next commit would hold, and nothing written (generator/gitops/dryrun.py does the work).

`plan` without --action shows the next action: what `rollgen release` would commit (a first deploy, a new
canary, a configuration change), else what the scheduled `rollgen advance` would. Exit 0 whether or not there
is something to do (it says which); 1 when the action would be refused.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from generator.gitops.run import execute
from generator.gitops.specs import load_committed, named_release
from generator.gitops.workflow import Request, now_from
from generator.model import Environment, EnvState, Release
from generator.plan.progression import Hold, Plan, Transition

ACTIONS = ("next", "release", "advance", "promote", "abort")


def run(args: argparse.Namespace) -> int:
    request = Request(
        repo=args.repo,
        load=_loader(args.name),
        environments=[args.env] if args.env else None,
        plan=planner(args.action, args.repo),
        now=now_from(args.now),
        push=False,
        render_on_hold=args.action in ("next", "release"),
        dry_run=True,
    )
    return execute(request, args.format)


def _loader(name: str) -> Any:
    """NAME finds the spec as `advance` does; a path to a spec (releases/hello.yaml) is loaded as `release` does."""
    if name.endswith((".yaml", ".yml")):  # a release name is a DNS label: it has no dot
        spec = Path(name)
        return lambda repo, config: load_committed(repo, config, spec, then="release it")
    return named_release(name)


def planner(action: str, repo: Path | None = None) -> Any:
    """The planner the command of that name uses (pod inputs carried and pod changes started, as there); the
    gates reach Prometheus as the rollgen.yaml of `repo` says."""
    from generator.plan import progression
    from generator.plan.gates import evaluate, repo_clients
    from generator.plan.workload_progression import with_pods

    gate = partial(evaluate, client=repo_clients(repo))
    if action == "release":
        return with_pods(progression.plan_release, starts=True)
    if action == "advance":
        return with_pods(partial(progression.plan_advance, gate=gate))
    if action == "promote":
        return with_pods(partial(progression.plan_promote, full=False))
    if action == "abort":
        return with_pods(progression.plan_abort)
    return partial(plan_next, repo=repo)


def plan_next(
    release: Release, env: Environment, current: EnvState | None, now: datetime, repo: Path | None = None
) -> Plan:
    """What `release` would commit; when it holds, what the scheduled `advance` would."""
    first: Plan = planner("release", repo)(release, env, current, now)
    if not isinstance(first, Hold) or current is None:
        return first
    then: Plan = planner("advance", repo)(release, env, current, now)
    return then if isinstance(then, Transition) else first
