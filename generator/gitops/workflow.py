"""What release/advance/promote/abort share: plan one environment, render, write, commit; push with retries.

The recipe for one attempt:
  lock the work tree -> repair a crashed run's leftovers or refuse a dirty tree (clean.py) -> (--push) fetch and
     catch up
  -> for each environment: read its state, plan (plan/progression.py), render the release (tree.py, the recipe
     of render/pipeline.py) with the new state, write the tree (writer.py) and commit only the release's files
  -> (--push) push; when the remote moved meanwhile, drop our commits and start the attempt over, so the
     decision is taken again from the remote's state instead of stepping twice.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from generator.records import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from generator.render import state as state_file
from generator.spec.config import Config
from generator.errors import RollgenError, UsageError
from generator.gitops.clean import CleanGate, Dirty, ensure_clean
from generator.gitops.repo import GitError, Repo
from generator.gitops.specs import NamedRelease
from generator.gitops.tree import files_to_commit, owned_roots, pinned_for
from generator.model import BlueGreenStrategy, Environment, EnvState, Release, engine_label
from generator.plan.progression import Hold, Plan, Refusal, Transition
from generator.plan.shapes import step_count
from generator.clock import format_time, parse_time

if TYPE_CHECKING:
    from generator.gitops.messages import Record
    from generator.freeze import Freeze, Window
    from generator.plan.order import Wait

Planner = Callable[[Release, Environment, "EnvState | None", datetime], Plan]
Loader = Callable[[Repo, Config], Release]
Result = Literal["committed", "nothing-to-do", "refused", "planned"]


@dataclass(frozen=True)
class Outcome:
    release: str
    environment: str
    result: Result
    text: str  # the commit subject, or the reason nothing happened
    action: str | None = None
    commit: str | None = None
    state: EnvState | None = None
    preview: dict[str, Any] | None = None  # --dry-run / `rollgen plan`: what the commit would hold (plan.py)
    colours: bool = True  # the release is blue-green: its state has a live colour (state_file.public)
    waiting: Wait | None = None  # environments[].after: what it waits for (plan/order.py)
    frozen: Freeze | None = None  # a change freeze holds it (generator/freeze.py)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "release": self.release,
            "environment": self.environment,
            "result": self.result,
            "action": self.action,
            "commit": self.commit,
            ("subject" if self.result in ("committed", "planned") else "reason"): self.text,
        }
        if self.preview is not None:
            out["plan"] = self.preview
        if self.waiting is not None:
            out["waiting"] = self.waiting.as_json()
        if self.frozen is not None:
            out["frozen"] = self.frozen.as_json()
        if self.state is not None:
            out["state"] = state_file.public(self.state, self.colours)
        return out


@dataclass(frozen=True)
class Request:
    """One command's ask: which release (loaded inside the lock, again on every attempt), which environments."""

    repo: Path
    load: Loader
    environments: Sequence[str] | None  # None: every environment of the release
    plan: Planner
    now: datetime
    push: bool
    render_on_hold: bool = False  # `release` commits spec changes even when the progression holds
    dry_run: bool = False  # plan only: nothing is written, committed or pushed (gitops/dryrun.py)
    kind: str = ""  # the command ("advance", ...): pull-request mode holds `advance` while a step awaits merge
    # environments[].after (plan/order.py), when the upstream has not promoted and soaked the version yet:
    # "wait" (no commit, exit 0: a tick, or `release` of every environment), "refuse" (`release --env E`: exit 1),
    # "override" (`release --env E --out-of-order`: committed, with the trailer Rollgen-Override: order)
    order: str = "wait"
    # `rollback`: edits the spec to agree with the transition, before the commit; returns the spec's repository
    # path when it changed (committed with the generated files), else None
    edit_spec: Callable[[Repo, Config, Release, str, Transition], str | None] | None = None
    freeze: tuple[Window, ...] = ()  # rollgen.yaml's change freezes (generator/freeze.py), set once it is loaded


# -- entry point --------------------------------------------------------------------------------------------


def now_from(text: str | None) -> datetime:
    if not text:
        return datetime.now(timezone.utc)
    from generator.clock import parse_rfc3339

    try:
        given = parse_rfc3339(text)
    except ValueError as exc:
        raise UsageError(f"--now: {exc}") from None
    _warn_if_far(given, datetime.now(timezone.utc))
    return given


FAR_AHEAD = 3600  # seconds: a --now this far ahead of the machine's clock is a demo's timeline, or a typo


def _warn_if_far(given: datetime, clock: datetime) -> None:
    """Every --now that parses is used (tests and demos drive timelines years ahead), but one far ahead of the
    clock is said aloud: a mistyped year, recorded as a step's start, holds every later pause until then (recorded
    times never go backwards). One behind the clock is a replayed timeline; one behind the time the state already
    records is said aloud where it is used (_monotonic)."""
    ahead = (given - clock).total_seconds()
    if ahead < FAR_AHEAD:
        return
    from generator.plan.progression import format_duration

    days = int(ahead // 86400)
    far = f"{days} days" if days >= 2 else format_duration(int(ahead) // 60 * 60)
    print(f"rollgen: warning: --now {format_time(given)} is {far} ahead of this machine's clock "
          f"({format_time(clock)}); it is used as given, and the pauses after it count from it", file=sys.stderr)


def tidy(repo: Repo, config: Config) -> None:
    """What an interrupted run left behind, cleared first thing under rollgen's lock."""
    where = config.branch or repo.branch() or repo.rebase_branch() or ""
    for path in repo.remove_stale_locks(config.remote, where):
        print(f"rollgen: removed {path}: a git process killed while it held it left it behind", file=sys.stderr)
    if repo.repair_rebase():
        print("rollgen: undid the catch-up rebase an interrupted run had started", file=sys.stderr)


def check_output(repo: Repo, config: Config) -> None:
    """The output folder is a real folder of the work tree: through a symlink, rollgen would write elsewhere
    (perhaps outside the repository) and git cannot commit files beyond a symlink anyway."""
    real = repo.root.resolve().joinpath(*Path(config.output).parts)
    if config.output_dir.resolve() != real:
        raise RollgenError(
            f"refusing to write into rollgen.yaml's output folder {config.output!r}: a symlink on the way leads to "
            f"{config.output_dir.resolve()}; make {config.output!r} a real folder of the repository"
        )


def current_branch(repo: Repo, config: Config) -> str:
    current = repo.branch()
    if current is None:
        raise RollgenError(f"{repo.root}: HEAD is detached; check out the branch rollgen commits on")
    if config.branch and current != config.branch:
        raise RollgenError(
            f"{repo.root} is on branch {current}, but rollgen.yaml says git.branch: {config.branch}; "
            f"check out {config.branch} (or change git.branch)"
        )
    return current


def attempts(repo: Repo, config: Config, branch: str, request: Request) -> tuple[list[Outcome], bool]:
    if not request.push:
        return _overlapped(repo, config, request), False
    from generator.gitops import push

    loaded: list[tuple[Release, str | None]] = []

    def prepare() -> None:  # before catching up: a crash's leftovers would block the merge
        release = request.load(repo, config)
        ensure_clean(repo, config, release)
        loaded[:] = [(release, repo.head())]

    def work() -> tuple[list[Outcome], list[str]]:
        release, before = loaded[0]
        if repo.head() != before:  # the remote may have changed the spec too: decide from its version
            release = request.load(repo, config)
        outcomes = [commit_environment(repo, config, release, env, request)
                    for env in environments_of(release, request)]
        return outcomes, [o.commit for o in outcomes if o.commit]

    return push.with_retries(repo, config, branch, work, prepare)


def _overlapped(repo: Repo, config: Config, request: Request) -> list[Outcome]:
    """The environments' outcomes, with ensure_clean's `git status` running while the release is loaded, planned
    and rendered (in a 40,000-file repository it takes as long as all of that): it is waited for before the first
    file is written. If it finds anything (a crashed run's leftovers to put back, a person's edits to refuse), what
    was decided meanwhile may rest on those files: it is dropped, and ensure_clean runs and the release is loaded
    and decided again, as without the overlap. The release's own errors are reported as ever."""
    name = request.load.name if isinstance(request.load, NamedRelease) else None
    release = request.load(repo, config) if name is None else None  # a spec path: named once it is read
    with CleanGate(repo, config, name or cast(Release, release).name) as gate:
        if release is None:
            release = request.load(repo, config)
        try:
            outcomes = [commit_environment(repo, config, release, env, request, gate)
                        for env in environments_of(release, request)]
            gate()  # nothing written: dirty files are refused all the same
            return outcomes
        except Dirty:
            pass
        except Exception:
            if not gate.dirty():  # a clean tree: what went wrong was not a leftover's doing
                raise
        changes = gate.changes
    ensure_clean(repo, config, release, changes)
    release = request.load(repo, config)
    return [commit_environment(repo, config, release, env, request) for env in environments_of(release, request)]


def environments_of(release: Release, request: Request) -> list[str]:
    names = [env.name for env in release.environments]
    if request.environments is None:
        if any(env.after for env in release.environments):  # an upstream first: what follows it reads its state
            from generator.plan.order import in_order

            return in_order(release, names)
        return names
    unknown = [name for name in request.environments if name not in names]
    if unknown:
        raise RollgenError(
            f"{release.name} has no environment {', '.join(unknown)}; its environments are: {', '.join(names)}"
        )
    return list(request.environments)


# -- one environment ----------------------------------------------------------------------------------------


def decide(
    release: Release, env_name: str, states: dict[str, EnvState], request: Request
) -> Outcome | tuple[Plan, Transition]:
    """What the request does to one environment: an Outcome when nothing is to be written (refused, or a hold),
    else the plan and the transition whose files are to be written."""
    env = release.environment(env_name)
    current = states.get(env_name)
    plan = request.plan(release, env, current, request.now)
    if request.freeze:
        frozen = _frozen(release, env_name, current, request, plan)
        if frozen is not None:
            return frozen
    if env.after is not None and request.order != "override":
        waiting = _waiting(release, env, states, request, plan)
        if waiting is not None:
            return waiting
    if env.after is not None and request.order == "override" and isinstance(plan, Transition):
        from generator.plan.order import starts_version, wait_for

        if starts_version(plan) and wait_for(release, env, states, request.now) is not None:
            plan = replace(plan, override="order")
    if isinstance(plan, Transition):  # a clock behind the step: act all the same (abort above all)
        plan = _monotonic(plan, current, request.now, f"{release.name}/{env_name}")
    if isinstance(plan, Refusal):
        return Outcome(release.name, env_name, "refused", plan.reason, state=current, colours=colours(release))
    if isinstance(plan, Hold) and (not request.render_on_hold or current is None):
        return Outcome(release.name, env_name, "nothing-to-do", plan.reason, state=current, colours=colours(release))
    return plan, plan if isinstance(plan, Transition) else _reconfigure(release, env, states[env_name])


# What a freeze lets through: taking traffic off a canary (an abort, a failed gate's count and its abort) and a
# rollback; never a start, a step, a promotion or a configuration change.
THAWED = ("abort", "check", "rollback")


def _frozen(release: Release, env_name: str, current: EnvState | None, request: Request, plan: Plan) -> Outcome | None:
    """The environment's outcome when a freeze window is in force and the plan would commit anything but an abort,
    a gate's check or a rollback: no commit, exit 0, which window and until when."""
    from generator.freeze import active_freeze

    commits = isinstance(plan, Transition) or (isinstance(plan, Hold) and request.render_on_hold and current)
    if not commits or isinstance(plan, Transition) and plan.action in THAWED:
        return None
    freeze = active_freeze(request.freeze, request.now)
    if freeze is None:
        return None
    return Outcome(release.name, env_name, "nothing-to-do", freeze.message(), state=current, frozen=freeze,
                   colours=colours(release))


def _waiting(release: Release, env: Environment, states: dict[str, EnvState], request: Request, plan: Plan
             ) -> Outcome | None:
    """The environment's outcome while the one it follows has not promoted and soaked the version the plan would
    put into it (plan/order.py): no commit; refused when a person asked for this environment by name."""
    from generator.plan.order import starts_version, wait_for

    wait = wait_for(release, env, states, request.now) if starts_version(plan) else None
    if wait is None:
        return None
    current = states.get(env.name)
    if request.order == "refuse":
        return Outcome(release.name, env.name, "refused",
                       f"{wait.reason}; `rollgen advance` starts {env.name} by itself once it can "
                       f"(--out-of-order releases it now, recorded in the commit)",
                       state=current, waiting=wait, colours=colours(release))
    return Outcome(release.name, env.name, "nothing-to-do", f"waiting: {wait.reason}", state=current, waiting=wait,
                   colours=colours(release))


def _adopted(repo: Repo, config: Config, release: Release, states: dict[str, EnvState], env_name: str, blob: str
             ) -> str:
    """The spec blob `release`'s configuration update records for the environment: the current spec's when it
    changes what the environment builds, else the one it has (a spec edit elsewhere, in another environment's
    entry, is no commit here: only the recorded blob would change)."""
    old = states[env_name].spec_blob
    if not old or old == blob:
        return old or ""
    overlay = f"apps/{release.name}/overlays/{env_name}/"
    # as it was: this environment from its own recorded spec too (when git has it; else take the new one)
    before = files_to_commit(config, release, states,
                             pinned_for(repo, config, release, states, None, blob, strict=False))
    after = files_to_commit(config, release, states, pinned_for(repo, config, release, states, env_name, blob))
    mine = [path for path in {*before, *after} if path.startswith(overlay) and not path.endswith(state_file.STATE_FILE)]
    return blob if any(before.get(path) != after.get(path) for path in mine) else old


@dataclass(frozen=True)
class Written:
    """One environment's files written for its transition, not committed yet (`paths` empty: nothing changed)."""

    transition: Transition
    message: str
    paths: list[str]
    unchanged: Outcome  # what to report when `paths` is empty




def write_one(
    repo: Repo, config: Config, release: Release, env_name: str, request: Request,
    gate: Callable[[], None] | None = None,
) -> Outcome | Written:
    """Decide, then write the files: what `commit_environment` and `advance --all` share before they commit. An Outcome when
    the request is refused or holds. `gate`, when given, is called before anything is written (CleanGate)."""
    states = deployed_states(config, release)
    current = states.get(env_name)
    decided = decide(release, env_name, states, request)
    if isinstance(decided, Outcome):
        return decided
    plan, transition = decided
    from generator.gitops.pinned import recorded, spec_blob

    blob = spec_blob(repo.root, release)  # this environment takes the spec as it is now (gitops/pinned.py)
    if isinstance(plan, Hold):  # a configuration update: only if the spec changed this environment's build
        blob = _adopted(repo, config, release, states, env_name, blob)
    blob = recorded(repo, blob, states[env_name].spec_blob if env_name in states else "")
    transition = replace(transition, state=replace(transition.state, spec_blob=blob))
    states[env_name] = transition.state
    message = commit_message(config, release, env_name, transition)  # before writing: a bad template leaves no trace
    if gate is not None:
        gate()
    paths = write(repo, config, release, states, env_name, blob)
    reason = plan.reason if isinstance(plan, Hold) else "nothing to do: the generated files are unchanged"
    unchanged = Outcome(release.name, env_name, "nothing-to-do", reason, state=current, colours=colours(release))
    return Written(transition, message, paths, unchanged)


def commit_environment(
    repo: Repo, config: Config, release: Release, env_name: str, request: Request,
    gate: Callable[[], None] | None = None,
) -> Outcome:
    written = write_one(repo, config, release, env_name, request, gate)
    if isinstance(written, Outcome):
        return written
    if not written.paths:
        repo.journal(release.name).clear()
        return written.unchanged
    transition, message = written.transition, written.message
    if request.edit_spec is not None:  # rollback: the spec agrees with what runs, in the same commit
        spec = request.edit_spec(repo, config, release, env_name, transition)
        written = replace(written, paths=[*written.paths, spec] if spec else written.paths)
    commit = _commit(repo, config, release, written.paths, message)
    if commit is None:  # the files were rewritten to what HEAD already holds
        reason = "nothing to do: HEAD already holds this"
        return replace(written.unchanged, text=reason)
    subject = message.split("\n", 1)[0]
    return Outcome(release.name, env_name, "committed", subject, transition.action, commit, transition.state,
                   colours=colours(release))


def colours(release: Release) -> bool:
    """Whether the release's states have a live colour (a blue-green release's do)."""
    return isinstance(release.strategy, BlueGreenStrategy)


def _monotonic(transition: Transition, current: EnvState | None, now: datetime, where: str) -> Transition:
    """The transition with its recorded times never before the times already recorded: a clock behind the
    step (a 90 s skew between machines, a --now in the past) still acts, and says so. The state then records
    the latest time known, so the next pause is counted from no earlier than the step it follows began: a
    time from a clock far behind never makes the next runner find that pause long over."""
    floor = _recorded(current)
    if floor is None or now >= floor:
        return transition
    state, stamp = transition.state, format_time(floor)
    fixed = {name: stamp for name in ("since", "last_failure") if getattr(state, name) == format_time(now)}
    moved = replace(state, since=fixed.get("since", state.since), last_failure=fixed.get("last_failure", state.last_failure))
    print(f"rollgen: {where}: the time given ({format_time(now)}) is before the last recorded one ({stamp}): "
          f"a clock behind, or --now; acting all the same, and recording {stamp}", file=sys.stderr)
    return replace(transition, state=moved)


def _recorded(current: EnvState | None) -> datetime | None:
    """The latest time the state records (the step's start, a failed check), None when it records none."""
    times = []
    for text in (current.since, current.last_failure) if current is not None else ():
        try:
            if text:
                times.append(parse_time(text))
        except (ValueError, OverflowError):
            pass  # the state file's own problem, reported where it is read
    return max(times, default=None)


def _reconfigure(release: Release, env: Environment, state: EnvState) -> Transition:
    """The spec changed but the progression did not: the commit carries the new configuration only."""
    image = state.canary_image if state.phase == "progressing" and state.canary_image else state.stable_image
    weight = state.weight if state.phase == "progressing" else 100
    return Transition(
        action="deploy",
        state=state,
        summary="update the configuration (images and progression unchanged)",
        step=state.step,
        steps=step_count(release, env),
        weight=weight,
        image=image,
        details=f"{release.source} changed; {env.name} stays {state.phase}.",
    )


def deployed_states(config: Config, release: Release) -> dict[str, EnvState]:
    """The committed state of each environment that has one (an environment without one is not deployed)."""
    from generator.render.pipeline import committed_states

    return committed_states(config.output_dir, release)


def write(
    repo: Repo, config: Config, release: Release, states: dict[str, EnvState], acting: str | None = None,
    current: str = "",
) -> list[str]:
    """Render the release for its deployed environments, write it, return the repo paths that changed.

    Environments without a state are left out (render/pipeline.py), so releasing to staging neither deploys
    prod behind its back nor touches prod's files: `rollgen render` into the config repo leaves them out too.
    """
    from generator.gitops.writer import stale_files, write_tree

    files = files_to_commit(config, release, states, pinned_for(repo, config, release, states, acting, current))
    prefix = config.output_prefix()
    roots = owned_roots(release)
    going = {prefix + rel: None for rel in stale_files(config.output_dir, files, roots)}
    repo.journal(release.name).record({**{prefix + rel: body for rel, body in files.items()}, **going})
    result = write_tree(config.output_dir, files, roots)
    return sorted(prefix + rel for rel in (*result.written, *result.removed))


def commit_message(config: Config, release: Release, env_name: str, plan: Transition) -> str:
    from generator.gitops.messages import Record

    record = Record(
        release=release.name,
        environment=env_name,
        action=plan.action,
        step=plan.step,
        steps=plan.steps,
        weight=plan.weight,
        image=plan.image.ref,
        summary=plan.summary,
        details=plan.details,
        extra=template_extras(release, plan.state),
        gate=plan.gate,
        change=plan.change,
        override=plan.override,
    )
    return _composed(record, config)


def _composed(record: Record, config: Config) -> str:
    """The commit message; a commit.template that fails is reported at its place in rollgen.yaml."""
    from generator.gitops.messages import TemplateFailure, compose

    try:
        return compose(record, config.commit_template)
    except TemplateFailure as exc:
        raise RollgenError(exc.located(config.root)) from None


def _commit(repo: Repo, config: Config, release: Release, paths: list[str], message: str) -> str | None:
    """Commit what was written (commit_or_restore), and hold the commit to the trailers rollgen wrote."""
    commit = commit_or_restore(repo, config, release.name, paths, message)
    if commit is not None and not repo.verbatim:  # made by plumbing, no hook: the message is ours as written
        _check_recorded(repo, commit, repo.parent, message)
    return commit


def commit_or_restore(repo: Repo, config: Config, name: str, paths: list[str], message: str) -> str | None:
    """Commit the paths of release `name` whose change its journal records; if that fails, put the files back
    so the tree is as it was. Either way the journal is done with."""
    journal = repo.journal(name)
    try:
        commit = repo.commit(paths, message, config.author)
    except Exception:
        repo.restore(paths)
        journal.clear()
        raise
    journal.clear()
    return commit


def _check_recorded(repo: Repo, commit: str, parent: str | None, message: str) -> None:
    """The commit carries the trailers rollgen wrote: a commit-msg hook may rewrite the message, and a step
    without its trailers is invisible to `rollgen history` and to the next run's reading of what happened.
    If they are gone or changed, rollgen's own commit is undone (the tree as before) and the run refused."""
    from generator.gitops.messages import parse_trailers

    wanted = parse_trailers(message)
    recorded = parse_trailers(repo.text("log", "-1", "--format=%B", commit))
    lost = [key for key, value in wanted.items() if recorded.get(key) != value]
    if not lost:
        return
    why = (f"a commit-msg hook changed or removed rollgen's trailers ({', '.join(lost)}) in {commit[:12]}; "
           "let the hook keep the last paragraph's Rollgen-* lines (rollgen history reads them)")
    if parent is None:
        raise GitError(f"{why}. It is the repository's first commit: remove it by hand (git update-ref -d HEAD)")
    repo.undo_commit(commit, parent)
    raise GitError(f"{why}. rollgen undid its commit; the repository is as it was")


def template_extras(release: Release, state: EnvState) -> tuple[tuple[str, Any], ...]:
    return (
        ("engine", engine_label(release.engine)),
        ("source", release.source),
        ("phase", state.phase),
        ("stable_image", state.stable_image.ref),
        ("canary_image", state.canary_image.ref if state.canary_image else ""),
        ("since", state.since),
    )


# -- output -------------------------------------------------------------------------------------------------


def print_outcome(outcome: Outcome, held: str = "") -> None:
    """An environment's outcome as one line of text: the commit's subject and id, a refusal on stderr, or what
    holds it (after `held`: advance --all says "holds: ")."""
    where = f"{outcome.release}/{outcome.environment}"
    if outcome.result == "committed":
        print(f"{outcome.text} [{(outcome.commit or '')[:12]}]")
    elif outcome.result == "refused":
        print(f"rollgen: {where}: {outcome.text}", file=sys.stderr)
    else:
        print(f"{where}: {held}{outcome.text}")


def report(outcomes: Sequence[Outcome], pushed: bool, fmt: str) -> None:
    if fmt == "json":
        print(json.dumps({"results": [o.as_json() for o in outcomes], "pushed": pushed}, indent=2))
        return
    for outcome in outcomes:
        print_outcome(outcome)
    if pushed:
        print("pushed")


