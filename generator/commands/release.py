"""`rollgen release SPEC --repo DIR [--env E] [--retry] [--push]`: render the spec into the repo and commit.

First deploy goes straight to stable; a new image starts a canary (or a blue-green preview) at step 1; the same
image is nothing to do unless the spec's other settings changed, which are committed as a configuration
update. Without --env, every environment of the spec, one commit each, in the spec's order.

The spec must be committed in the config repo as it is: an uncommitted edit, a spec git does not track yet, or
one outside the repository is refused, naming the file, so every release commit points at a spec commit that
says what it deployed (gitops/specs.py load_committed; advance, promote, abort and plan refuse alike).
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

from generator.gitops.run import execute
from generator.gitops.specs import load_committed, spec_display
from generator.gitops.workflow import Request, now_from
from generator.spec.config import Config
from generator.gitops.repo import Repo
from generator.model import Release
from generator.plan.progression import plan_release
from generator.plan.workload_progression import with_pods


def run(args: argparse.Namespace) -> int:
    request = Request(
        repo=args.repo,
        load=partial(_load, args.spec),
        environments=[args.env] if args.env else None,
        plan=with_pods(partial(plan_release, retry=args.retry), starts=True, retry=args.retry),
        now=now_from(args.now),
        push=args.push,
        dry_run=args.dry_run,
        render_on_hold=True,
        order="override" if args.out_of_order else "refuse" if args.env else "wait",
    )
    return execute(request, args.format)


def _load(spec: Path, repo: Repo, config: Config) -> Release:
    """The spec's release, refused when its file has uncommitted changes (the release must be what the repo
    holds), or (located) when another spec has its name or another release already routes one of its hosts and
    paths (generator/gitops/clashes.py)."""
    from generator.gitops.clashes import refuse_clashes

    release = load_committed(repo, config, spec, then="release it")  # its mistakes first: they need fixing
    refuse_clashes(repo, config, spec, spec_display(repo, spec))
    return release
