"""`rollgen advance NAME --env E --repo DIR [--now T] [--push]`: the scheduled tick.

One step further when the current step's pause has elapsed since its commit (the state's `since`) and the
gates pass; after the last step, promotion; the nginx engine's second promotion commit after the settle delay.
Nothing to do (a pause still running, an indefinite pause, nothing in flight, a controller-driven release,
no metric data yet) exits 0 and says why. A failed gate check commits the count (`check`), or an abort once
there are more than analysis.failureLimit of them, naming the metrics in a Rollgen-Gate trailer; when the gates
cannot be evaluated (Prometheus unreachable or refusing a query) nothing is committed and it exits 1.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from generator.gitops.run import execute
from generator.gitops.specs import named_release
from generator.gitops.workflow import Request, now_from
from generator.errors import UsageError
from generator.plan.gates import evaluate, repo_clients
from generator.plan.order import advance_planner

if TYPE_CHECKING:
    import argparse


def run(args: argparse.Namespace) -> int:
    if getattr(args, "cluster", None) is not None and not args.all:
        raise UsageError("--cluster picks the environments of `advance --all`: add --all, or give NAME --env E")
    if args.all:
        from generator.commands import advance_all

        return advance_all.run(args)
    if getattr(args, "metrics_file", None) is not None:
        raise UsageError("--metrics-file goes with --all (the tick writes it after ticking every release)")
    if args.name is None or args.env is None:
        raise UsageError("advance needs NAME and --env E (or --all for every in-flight environment)")
    request = Request(
        repo=args.repo,
        load=named_release(args.name),
        environments=[args.env],
        plan=advance_planner(partial(evaluate, client=repo_clients(args.repo))),
        now=now_from(args.now),
        push=args.push,
        dry_run=args.dry_run,
        kind="advance",
    )
    return execute(request, args.format)
