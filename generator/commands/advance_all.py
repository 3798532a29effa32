"""`rollgen advance --all [--push]`: the scheduled tick for every in-flight environment of every release.

One process, one lock, one configuration load; every environment whose state file says progressing or
promoting is planned exactly as `rollgen advance NAME --env E` plans it, one commit for each that moves. A
summary line each: the commit, or why it holds, or why it failed. A release that fails (an invalid spec, a
gate that cannot be evaluated, a dirty tree) is reported and the others go on; the exit code is 1 when any
failed. With --push: one fetch and catch-up first, one push at the end; when the remote moved meanwhile, this
run's commits are dropped and every decision is taken again from the remote's state (as `advance` does),
up to git.pushAttempts times.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from generator.gitops.clean import ensure_clean
from generator.gitops.specs import named_release
from generator.gitops.workflow import (
    Outcome,
    print_outcome,
    Request,
    check_output,
    commit_environment,
    current_branch,
    now_from,
    tidy,
    colours,
    write_one,
)
from generator.spec.config import Config
from generator.plan.workload_progression import with_pods
from generator.errors import EXIT_OK, EXIT_USER, InvalidInput, RollgenError
from generator.gitops.repo import Repo
from generator.gitops.repo_config import repo_config
from generator.model import Release

if TYPE_CHECKING:
    import argparse

    from generator.plan.gates import Answers



@dataclass(frozen=True)
class Failure:
    release: str
    environment: str
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"release": self.release, "environment": self.environment, "result": "failed", "reason": self.reason}


@dataclass(frozen=True)
class Pending:
    """An environment whose files are written, its commit to be made with the others (batchcommit.py)."""

    outcome: Outcome  # committed, without its commit yet
    files: dict[str, bytes | None]
    message: str


Line = Outcome | Failure


def run(args: argparse.Namespace) -> int:
    from generator.plan.gates import Answers, clients, evaluate
    from generator.plan.order import advance_planner
    from generator.wiring import for_config, whole_fleet

    if args.name is not None:
        raise_usage("--all ticks every release: give no NAME")
    repo = Repo.discover(args.repo)
    config = repo_config(repo)
    answers = Answers(clients(config.prometheus))
    check_output(repo, config)
    branch = current_branch(repo, config)
    request = Request(
        repo=args.repo,
        load=_per_release,
        environments=None,
        # as `advance` (the pod inputs carried along, waiting environments started); the gates' queries are
        # sent ahead, concurrently (_prefetch), and answered from there
        plan=advance_planner(partial(evaluate, client=answers)),
        now=now_from(args.now),
        push=args.push,
        freeze=config.freeze,
    )
    only = Only(args.env, getattr(args, "cluster", None))
    if args.dry_run:
        return _dry_run(repo, config, request, only, args.format)
    with repo.lock(), whole_fleet(config.output_dir, for_config(config)):
        tidy(repo, config)
        if config.mode == "pull-request":
            lines, pushed = _pull_requests(repo, config, branch, replace(request, kind="advance"), only), False
        else:
            lines, pushed = _attempts(repo, config, branch, request, only, answers)
    report_lines(lines, pushed, args.format, None if only.cluster is None else (only.cluster, default_cluster(config)))
    if config.notify:  # the commits have landed (a refused push raised above): tell people (generator/notify)
        from generator.clock import format_time
        from generator.notify import after_tick

        after_tick(repo, config, lines, format_time(request.now), pushed)
    failed = sum(1 for line in lines if _failed(line))
    if getattr(args, "metrics_file", None) is not None:  # for a textfile collector (generator/metrics.py)
        from generator.metrics import write_after_tick

        moved = sum(1 for line in lines if isinstance(line, Outcome) and line.result == "committed")
        waits = {(line.release, line.environment) for line in lines if isinstance(line, Outcome) and line.waiting}
        write_after_tick(args.metrics_file, config, failed, moved, waits)
    return EXIT_USER if failed else EXIT_OK


@dataclass(frozen=True)
class Only:
    """Which in-flight environments this tick takes: by name (--env) and by cluster (--cluster)."""

    env: str | None = None
    cluster: str | None = None

    def on_cluster(self, config: Config, release: Release, env_name: str) -> bool:
        """Whether the environment is on --cluster. One without `cluster` is on rollgen.yaml's Argo CD
        destinationName, else on `in-cluster` (Argo CD's name for its own cluster). An environment the spec no
        longer has is on no cluster: `rollgen retire` takes it down."""
        if self.cluster is None:
            return True
        env = next((e for e in release.environments if e.name == env_name), None)
        if env is None:
            return False
        return (env.cluster or default_cluster(config)) == self.cluster


def default_cluster(config: Config) -> str:
    name = (config.argocd or {}).get("destinationName")
    return str(name) if name else IN_CLUSTER


IN_CLUSTER = "in-cluster"


def _state_files(apps: str) -> list[tuple[str, str, str]]:
    """(release, env, path) of every apps/*/overlays/*/rollgen-state.yaml, sorted; os.scandir, not
    pathlib's glob: a third of the time of a tick over 2,000 releases went to globbing."""
    import os

    from generator.render.state import STATE_FILE

    found = []
    try:
        releases = sorted(entry.name for entry in os.scandir(apps) if entry.is_dir(follow_symlinks=False))
    except OSError:
        return []
    for release in releases:
        overlays = os.path.join(apps, release, "overlays")
        try:
            envs = sorted(entry.name for entry in os.scandir(overlays) if entry.is_dir(follow_symlinks=False))
        except OSError:
            continue
        for env in envs:
            path = os.path.join(overlays, env, STATE_FILE)
            if os.path.lexists(path):
                found.append((release, env, path))
    return found


def _per_release(repo: Repo, config: Config) -> Any:
    raise AssertionError("advance --all loads each release by name")  # pragma: no cover


def raise_usage(message: str) -> None:
    from generator.errors import UsageError

    raise UsageError(message)


def in_flight(config: Config, only: Only) -> list[tuple[str, list[str]]]:
    """(release, its in-flight environments), sorted; an unreadable state file is an in-flight failure too."""
    import os
    import re
    from pathlib import Path

    from generator.render.state import load_state

    # at rest: stable, or aborted with its canary pods gone (step 0; plan.shapes.ready_first keeps them a tick)
    quiet = re.compile(rb"^phase: stable\r?$|^phase: aborted\r?$(?s:.*)^step: 0\r?$|^step: 0\r?$(?s:.*)^phase: aborted\r?$",
                       re.MULTILINE)
    by_release: dict[str, list[str]] = {}
    for release, env, path in _state_files(os.path.join(config.output_dir, "apps")):
        if only.env is not None and env != only.env:
            continue
        try:
            # Most environments are at rest: skip them without parsing YAML (6,000 state files in bench/advance).
            if not os.path.islink(path):
                with open(path, "rb") as fh:
                    if quiet.search(fh.read()):
                        continue
            state = load_state(Path(path))
        except (OSError, ValueError):
            state = None  # unreadable: reported as a failure of that environment when its release is loaded
        if state is None or state.in_flight or (state.phase == "aborted" and state.step > 0):
            by_release.setdefault(release, []).append(env)
    return sorted(by_release.items())


def _attempts(
    repo: Repo, config: Config, branch: str, request: Request, only: Only, answers: Answers | None = None
) -> tuple[list[Line], bool]:
    """The tick; with --push, through the push loop every pushing command shares (gitops/push.py): when the remote
    refuses, this tick's commits are dropped, not left for the next tick to stack more on."""
    if not request.push:
        return _tick_all(repo, config, request, only, answers), False
    from generator.gitops import push

    def work() -> tuple[list[Line], list[str]]:
        lines = _tick_all(repo, config, request, only, answers)
        return lines, [line.commit for line in lines if isinstance(line, Outcome) and line.commit]

    return push.with_retries(repo, config, branch, work)


def _pull_requests(repo: Repo, config: Config, target: str, request: Request, only: Only) -> list[Line]:
    """Pull-request mode: each in-flight environment, and each follower (environments[].after) that may start,
    through its own branch (gitops/pullrequest.py); a follower at rest is not reported."""
    from generator.gitops import pullrequest

    lines: list[Line] = []
    for name, envs in with_followers(repo, config, in_flight(config, only)):
        try:
            envs = _on_cluster(repo, config, name, envs, only)
            followers = _followers(config, named_release(name)(repo, config), envs, only)
            if envs or followers:
                asked = replace(request, load=named_release(name), environments=[*envs, *followers])
                lines.extend(o for o in pullrequest.act(repo, config, target, asked)
                             if o.environment not in followers or o.result != "nothing-to-do" or o.waiting)
        except RollgenError as exc:
            lines.extend(Failure(name, env, str(exc)) for env in envs)
    return lines


def _followers(config: Config, release: Release, envs: Sequence[str], only: Only) -> list[str]:
    """The environments of `release` that follow another (environments[].after) and are not in `envs`, on this
    tick's --env and --cluster: the tick starts them once their upstream has promoted and soaked."""
    return [e.name for e in release.environments if e.after is not None and e.name not in envs
            and only.env in (None, e.name) and only.on_cluster(config, release, e.name)]


def with_followers(repo: Repo, config: Config, flying: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    """`flying`, and every released release whose spec has an environment that follows another (environments[].after):
    the tick starts those. A spec is read only when its text names `after` at all (most do not: the tick stays
    one state file scan for them); the release is loaded and decided later, as the in-flight ones."""
    import os
    import re

    from generator.gitops.specs import find_spec

    names = {name for name, _ in flying}
    try:
        released = sorted(entry.name for entry in os.scandir(config.output_dir / "apps")
                          if entry.is_dir(follow_symlinks=False) and entry.name not in names)
    except OSError:
        return flying
    mentions = re.compile(rb"""\bafter["']?\s*:""")
    extra: list[tuple[str, list[str]]] = []
    for name in released:
        try:
            if mentions.search(find_spec(repo, config, name).read_bytes()):
                extra.append((name, []))
        except (OSError, RollgenError):
            continue  # no spec: nothing follows anything (in flight, its failure is reported where it is loaded)
    return sorted([*flying, *extra])


def _on_cluster(repo: Repo, config: Config, name: str, envs: list[str], only: Only) -> list[str]:
    if only.cluster is None:
        return envs
    release = named_release(name)(repo, config)
    return [env for env in envs if only.on_cluster(config, release, env)]


def _prefetch(repo: Repo, config: Config, request: Request, flying: Sequence[tuple[str, list[str]]], only: Only,
              answers: Answers) -> None:
    """Every query the gates of this tick will send, sent first, concurrently (a bounded number at a time):
    each in-flight environment planned as `advance` plans it, with a client that only notes its queries.
    Planning is pure, so this decides nothing; what it misses (a release that fails to load here) is asked
    when its gate runs, as before."""
    from pathlib import Path

    from generator.plan.gates import Recorder, evaluate
    from generator.plan.progression import plan_advance
    from generator.render.state import load_state, state_path

    recorder = Recorder()
    planner = with_pods(partial(plan_advance, gate=partial(evaluate, client=recorder)))
    for name, envs in flying:
        try:
            release = named_release(name)(repo, config)
        except RollgenError:
            continue
        for env_name in envs:
            env = next((e for e in release.environments if e.name == env_name), None)
            if env is None or release.analysis_for(env) is None or not only.on_cluster(config, release, env_name):
                continue
            try:
                planner(release, env, load_state(state_path(Path(config.output_dir, "apps", name), env_name)), request.now)
            except (RollgenError, ValueError):
                continue
    answers.prefetch(recorder.asks)


def _tick_all(repo: Repo, config: Config, request: Request, only: Only, answers: Answers | None = None) -> list[Line]:
    """Every in-flight environment, in release then environment order. Without commit hooks or signing, the
    files of every moving environment are written first and committed together by one `git fast-import`
    (one commit each still); otherwise each is committed as `advance` commits it."""
    from generator.gitops import batchcommit

    batched = batchcommit.usable(repo)
    lines: list[Line | Pending] = []
    pending: list[Pending] = []
    flying = with_followers(repo, config, in_flight(config, only))
    if answers is not None:
        _prefetch(repo, config, request, flying, only, answers)
    dirty = _dirty_releases(repo, config, [name for name, _ in flying])
    _prime_specs(repo, config, [name for name, _ in flying])
    try:
        for name, envs in flying:
            lines.extend(_tick_release(repo, config, request, name, envs, batched, name in dirty, only))
            pending = [line for line in lines if isinstance(line, Pending)]
        changes = [batchcommit.Change(p.message, p.files) for p in pending]
        commits = batchcommit.commit_all(repo, changes, config.author)
    except BaseException:
        repo.restore(sorted({path for p in pending for path in p.files}))
        _clear_journals(repo, pending)
        raise
    finally:
        repo.prime_committed([])
    _clear_journals(repo, pending)
    made = dict(zip(map(id, pending), commits))
    return [replace(line.outcome, commit=made[id(line)]) if isinstance(line, Pending) else line for line in lines]


def _prime_specs(repo: Repo, config: Config, names: Sequence[str]) -> None:
    """HEAD's version of every in-flight release's spec, read with one git process: each release's load compares
    its spec with it (an uncommitted edit is refused, specs.load_committed), a cat-file each otherwise."""
    from generator.gitops.specs import find_spec, spec_display

    displays = []
    for name in names:
        try:
            displays.append(spec_display(repo, find_spec(repo, config, name)))
        except RollgenError:
            continue  # reported when the release is loaded
    repo.prime_committed(displays)


def _dirty_releases(repo: Repo, config: Config, names: Sequence[str]) -> set[str]:
    """The releases with uncommitted changes under their folders, with one `git status` for all of them (a
    status costs a read of the whole index: 30 ms in a 90,000-file repository, per release otherwise)."""
    from generator.wiring import release_roots

    if not names:
        return set()
    prefix = config.output_prefix()
    owner = {prefix + root: name for name in names for root in (f"apps/{name}", *release_roots(name))}
    dirty = set()
    for change in repo.changes(sorted(owner)):
        parts = change.path[len(prefix) :].split("/") if change.path.startswith(prefix) else []
        if len(parts) >= 2:
            dirty.add(owner.get(prefix + "/".join(parts[:2]), ""))
    return dirty - {""}


def _clear_journals(repo: Repo, pending: Sequence[Pending]) -> None:
    for name in {p.outcome.release for p in pending}:
        repo.journal(name).clear()


def _tick_release(
    repo: Repo, config: Config, request: Request, name: str, envs: Sequence[str], batched: bool, dirty: bool = True,
    only: Only = Only(),
) -> list[Line | Pending]:
    """Every in-flight environment of one release, and every environment that follows another (environments[].after:
    the tick starts it once its upstream has promoted and soaked); whatever goes wrong stays with this release.
    `dirty`: the release's folders have uncommitted changes (refused, or repaired when a crashed run's journal
    explains them). A follower with nothing to do (its version already runs) is not reported."""
    lines: list[Line | Pending] = []
    followers: list[str] = []
    try:
        release = named_release(name)(repo, config)
        envs = [env for env in envs if only.on_cluster(config, release, env)]  # another cluster's tick takes the rest
        followers = _followers(config, release, envs, only)
        if dirty and (envs or followers):
            ensure_clean(repo, config, release)
    except InvalidInput as exc:
        more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
        reason = exc.problems[0].format() + more
        return [Failure(name, env, reason) for env in envs]
    except RollgenError as exc:
        return [Failure(name, env, str(exc) + _no_spec_hint(name, env, exc)) for env in envs]
    known = {env.name for env in release.environments}
    if followers:  # an upstream first: what follows it reads its state
        from generator.plan.order import in_order

        gone = [env for env in envs if env not in known]  # reported below
        envs = [*in_order(release, [e.name for e in release.environments if e.name in envs or e.name in followers]),
                *gone]
    for env in envs:
        if env not in known:  # in flight, but gone from the spec: this environment's trouble only
            lines.append(Failure(name, env, _gone(release, env)))
            continue
        try:
            single = replace(request, environments=[env])
            line = _written(repo, config, release, env, single) if batched else commit_environment(repo, config, release, env, single)
        except RollgenError as exc:  # a hook refusing this release's commit, an unreachable Prometheus, ...
            line = Failure(name, env, str(exc))
        if env in followers and isinstance(line, Outcome) and line.result == "nothing-to-do" and not line.waiting:
            continue  # at rest: its version already runs (or was aborted), as any environment at rest
        lines.append(line)
    return lines


def _no_spec_hint(name: str, env: str, exc: RollgenError) -> str:
    """A release in flight whose spec is gone cannot step; what can be done about it."""
    if not str(exc).startswith("no spec for release"):
        return ""
    return (f"; it cannot step without one: restore the spec, or `rollgen abort {name} --env {env}` (it acts on "
            "what runs)")


def _gone(release: Release, env: str) -> str:
    return (f"{release.name}/{env} is in flight but no longer in {release.source}, so it cannot step; put it back "
            f"in the spec, or `rollgen abort {release.name} --env {env}` (it acts on what runs), then "
            f"`rollgen retire {release.name} --env {env}`")


def _written(repo: Repo, config: Config, release: Release, env_name: str, request: Request) -> Line | Pending:
    """_progress._one for `advance`, up to writing the files: the commit is made with the others."""
    written = write_one(repo, config, release, env_name, replace(request, render_on_hold=False))
    if isinstance(written, Outcome):
        return written
    if not written.paths:  # the journal stays: it also covers this release's other environments, pending
        return written.unchanged
    files = {path: _read(repo, path) for path in written.paths}
    subject = written.message.split("\n", 1)[0]
    plan = written.transition
    outcome = Outcome(release.name, env_name, "committed", subject, plan.action, None, plan.state, colours=colours(release))
    return Pending(outcome, files, written.message)


def _read(repo: Repo, path: str) -> bytes | None:
    try:
        return (repo.root / path).read_bytes()
    except FileNotFoundError:
        return None


def _dry_run(repo: Repo, config: Config, request: Request, only: Only, fmt: str) -> int:
    """Every in-flight environment, and every follower (environments[].after), planned; nothing written
    (gitops/dryrun.py)."""
    from generator.gitops.dryrun import dry_run

    code = EXIT_OK
    for name, envs in with_followers(repo, config, in_flight(config, only)):
        try:
            envs = _on_cluster(repo, config, name, envs, only)
            release = named_release(name)(repo, config)
            followers = _followers(config, release, envs, only)
            if not envs and not followers:
                continue
            asked = [e.name for e in release.environments if e.name in envs or e.name in followers]
            asked += [env for env in envs if env not in asked]  # gone from the spec: dry_run says so
            single = replace(request, load=named_release(name), environments=asked, dry_run=True, push=False)
            code = max(code, dry_run(repo, config, single, fmt))
        except RollgenError as exc:
            print(f"rollgen: {name}: failed: {exc}", file=sys.stderr)
            code = EXIT_USER
    return code


def _failed(line: Line) -> bool:
    return isinstance(line, Failure) or line.result == "refused"


def report_lines(lines: Sequence[Line], pushed: bool, fmt: str, cluster: tuple[str, str] | None = None) -> None:
    """cluster: (--cluster, the cluster of environments without one), to say where nothing was in flight."""
    moved = sum(1 for line in lines if isinstance(line, Outcome) and line.result == "committed")
    held = sum(1 for line in lines if isinstance(line, Outcome) and line.result == "nothing-to-do")
    failed = sum(1 for line in lines if _failed(line))
    if fmt == "json":
        summary = {"committed": moved, "held": held, "failed": failed}
        print(json.dumps({"results": [line.as_json() for line in lines], "pushed": pushed, "summary": summary}, indent=2))
        return
    for line in lines:
        if isinstance(line, Failure):
            print(f"rollgen: {line.release}/{line.environment}: failed: {line.reason}", file=sys.stderr)
        else:
            print_outcome(line, held="holds: ")
    if not lines:
        print(_nothing_in_flight(cluster))
    tail = ", pushed" if pushed else ""
    print(f"advance --all: {moved} moved, {held} held, {failed} failed{tail}")


def _nothing_in_flight(cluster: tuple[str, str] | None) -> str:
    if cluster is None:
        return "nothing in flight: no environment is progressing or promoting"
    # a ticker whose --cluster is misspelt idles for ever: name the cluster, and the default one's name
    wanted, default = cluster
    return (f"nothing in flight on cluster {wanted}: no environment there is progressing or promoting "
            f"(environments[].cluster names the cluster; without it an environment is on {default})")
