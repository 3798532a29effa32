"""The entry point every committing command shares: load rollgen.yaml, then one of three ways to act.

`--dry-run` and `rollgen plan` go to dryrun.py (reads only), pull-request mode to pullrequest.py (each action on
its own branch), and the direct mode to workflow.py (lock, commit, push). The dispatch lives here, above the
three, so that none of them imports another's caller.
"""

from __future__ import annotations

import sys

from generator.records import replace

from generator.errors import EXIT_OK, EXIT_USER, InvalidInput
from generator.gitops.repo import Repo
from generator.gitops.repo_config import repo_config
from generator.gitops.workflow import Request, attempts, check_output, current_branch, report, tidy


def execute(request: Request, fmt: str) -> int:
    try:
        return _execute(request, fmt)
    except InvalidInput as exc:
        # A spec, profile or rollgen.yaml problem: the lines `rollgen validate` prints, one a problem (on stderr,
        # where a scheduled job's failures go), or its JSON.
        from generator.spec.report import format_json, format_text

        if fmt == "json":
            sys.stdout.write(format_json(exc.problems))
        else:
            sys.stderr.write(format_text(exc.problems))
        return EXIT_USER


def _execute(request: Request, fmt: str) -> int:

    repo = Repo.discover(request.repo)
    config = repo_config(repo)
    check_output(repo, config)
    request = replace(request, freeze=config.freeze)
    if request.dry_run:  # reads only: no lock file, no repair of leftovers, no fetch, no push
        from generator.gitops.dryrun import dry_run

        return dry_run(repo, config, request, fmt)
    if config.mode == "pull-request":  # each action on its own branch, counted from its merge
        from generator.gitops import pullrequest

        return pullrequest.execute_pull_requests(repo, config, current_branch(repo, config), request, fmt)
    with repo.lock():
        tidy(repo, config)
        branch = current_branch(repo, config)
        outcomes, pushed = attempts(repo, config, branch, request)
    report(outcomes, pushed, fmt)
    if config.notify:  # the commits have landed (a refused push raised above): tell people (generator/notify)
        from generator.clock import format_time
        from generator.notify import landed, new_waits

        # the environments this release leaves waiting for their upstream are told too (once: the tick not again)
        waits = new_waits(repo, outcomes, format_time(request.now))
        landed(repo, config, [o.commit for o in outcomes if o.result == "committed"], pushed, waits)
    return EXIT_USER if any(o.result == "refused" for o in outcomes) else EXIT_OK
