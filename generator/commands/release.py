"""`rollgen release SPEC --repo DIR [--env E] [--retry] [--push]`: render the spec into the repo and commit.

First deploy goes straight to stable; a new image starts a canary (or a blue-green preview) at step 1; the same
image is nothing to do unless the spec's other settings changed, which are committed as a configuration
update. Without --env, every environment of the spec, one commit each, in the spec's order.
"""

from __future__ import annotations

import argparse
from functools import partial

from pathlib import Path

from generator.commands._progress import Request, execute, load_spec, now_from, spec_display
from generator.config import Config
from generator.gitops import Repo
from generator.model import Release
from generator.progression import plan_release


def run(args: argparse.Namespace) -> int:
    request = Request(
        repo=args.repo,
        load=partial(_load, args.spec),
        environments=[args.env] if args.env else None,
        plan=partial(plan_release, retry=args.retry),
        now=now_from(args.now),
        push=args.push,
        dry_run=args.dry_run,
        render_on_hold=True,
    )
    return execute(request, args.format)


def _load(spec: Path, repo: Repo, config: Config) -> Release:
    """The spec's release, refused (located) when another spec has its name or another release already routes
    one of its hosts and paths (generator/clashes.py)."""
    from generator.clashes import refuse_clashes

    release = load_spec(repo, config, spec)
    refuse_clashes(repo, config, spec, spec_display(repo, spec))
    return release
