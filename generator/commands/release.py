"""`rollgen release SPEC --repo DIR [--env E] [--retry] [--push]`: render the spec into the repo and commit.

First deploy goes straight to stable; a new image starts a canary (or a blue-green preview) at step 1; the same
image is nothing to do unless the spec's other settings changed, which are committed as a configuration
update. Without --env, every environment of the spec, one commit each, in the spec's order.
"""

from __future__ import annotations

import argparse
from functools import partial

from generator.commands._progress import Request, execute, load_spec, now_from
from generator.progression import plan_release
from generator.workload_progression import with_pods


def run(args: argparse.Namespace) -> int:
    request = Request(
        repo=args.repo,
        load=lambda repo, config: load_spec(repo, config, args.spec),
        environments=[args.env] if args.env else None,
        plan=with_pods(partial(plan_release, retry=args.retry), starts=True),
        now=now_from(args.now),
        push=args.push,
        render_on_hold=True,
    )
    return execute(request, args.format)
