"""`rollgen abort NAME --env E --repo DIR [--push]`: all traffic back to stable, the canary scaled down.

Stable is untouched; a new release, or `rollgen release --retry` with the same image, starts over. Refused
(exit 1) during the nginx engine's promotion, when stable already runs the new image, and for a
controller-driven release (use the controller's abort). An invalid, deleted or renamed spec, or one changing a
released route the Argo Rollouts controller owns (render/route_changes.py), does not stop it:
it acts on what runs, with the spec of the commit that wrote the current files (gitops/running.py).
"""

from __future__ import annotations

import argparse

from generator.gitops.run import execute
from generator.gitops.running import RunningRelease
from generator.gitops.workflow import Request, now_from
from generator.plan.progression import plan_abort
from generator.plan.workload_progression import with_pods


def run(args: argparse.Namespace) -> int:
    request = Request(
        repo=args.repo,
        load=RunningRelease(args.name, [args.env]),
        environments=[args.env],
        plan=with_pods(plan_abort),
        now=now_from(args.now),
        push=args.push,
        dry_run=args.dry_run,
    )
    return execute(request, args.format)
