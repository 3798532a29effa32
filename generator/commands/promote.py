"""`rollgen promote NAME --env E --repo DIR [--full] [--push]`: a person's approval.

Passes the current pause (the next step, or promotion after the last); `--full` goes straight to promotion.
During the nginx engine's promotion it passes the settle delay. Gates are not consulted: a person decided.
A controller-driven release is refused (exit 1) with the controller's own command.
"""

from __future__ import annotations

import argparse
from functools import partial

from generator.gitops.run import execute
from generator.gitops.specs import named_release
from generator.gitops.workflow import Request, now_from
from generator.plan.progression import plan_promote
from generator.plan.workload_progression import with_pods


def run(args: argparse.Namespace) -> int:
    request = Request(
        repo=args.repo,
        load=named_release(args.name),
        environments=[args.env],
        plan=with_pods(partial(plan_promote, full=args.full)),
        now=now_from(args.now),
        push=args.push,
        dry_run=args.dry_run,
    )
    return execute(request, args.format)
