"""Pull-request mode (`git: {mode: pull-request}` in rollgen.yaml): for teams whose branch is protected.

Each action of one environment is committed on the branch `rollgen/<release>/<env>` and pushed there, never
on the protected branch itself; the first push of that branch runs git.pullRequest.command once to open the
pull request. The step counts only once it reaches the protected branch:
  - the decision reads the protected branch as the remote has it (fetched first, the local branch caught up);
  - while the branch holds commits the protected branch lacks (its pull request unmerged), `advance` holds,
    saying "awaiting merge", and a person's action (release, promote, abort) is committed on top of the
    branch, which is updated, never force-pushed;
  - after the merge, the pause of the step runs from the moment the state file reached the protected branch
    (the merge commit's time), not from the commit on the pull-request branch;
  - a pull request closed unmerged is noticed through git.pullRequest.stateCommand (CLOSED), or when its
    branch was deleted; the action then starts the branch again from the protected branch.
  - a squash or rebase merge leaves the branch's commits out of the protected branch: merged all the same when
    stateCommand says MERGED, or when the protected branch holds every file the branch changed as the branch has
    it (Repo.landed); the next action starts a new round from the protected branch;
  - the pull request owed by a new round is noted in the git dir before the branch is pushed: a run killed
    before the pull-request command ran, or whose command failed, has the next run open it (once). Replacing the old
    branch is a push with a lease on the commit we saw, and only when every commit on it is rollgen's own for
    this release and environment: someone else's commits are never pushed over.
The local checkout stays on the protected branch: each commit is made on a detached HEAD at the branch's tip
and the checkout is put back afterwards, whatever happens.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from collections.abc import Sequence
from generator.records import replace
from datetime import datetime, timezone
from typing import Any

from generator.gitops.clean import ensure_clean
from generator.gitops.push import fetch_and_catch_up
from generator.gitops.workflow import (
    Outcome,
    Request,
    commit_environment,
    environments_of,
    report,
    tidy,
)
from generator.spec.config import Config
from generator.errors import EXIT_OK, EXIT_USER, RollgenError
from generator.gitops.repo import GitError, Repo, clean_env, redact_output
from generator.model import Environment, EnvState, Release
from generator.clock import format_time
from generator.plan.progression import Plan

PREFIX = "rollgen"


def branch_name(release: str, env: str) -> str:
    return f"{PREFIX}/{release}/{env}"


def execute_pull_requests(repo: Repo, config: Config, target: str, request: Request, fmt: str) -> int:
    with repo.lock():
        tidy(repo, config)
        outcomes = act(repo, config, target, request)
    report(outcomes, False, fmt)
    return EXIT_USER if any(o.result == "refused" for o in outcomes) else EXIT_OK


def act(repo: Repo, config: Config, target: str, request: Request) -> list[Outcome]:
    """The request's environments, each on its own branch; call with the lock held."""
    release = request.load(repo, config)
    ensure_clean(repo, config, release)
    fetch_and_catch_up(repo, config, target)
    release = request.load(repo, config)  # the protected branch's version of the spec
    return [_one_env(repo, config, target, release, env, request) for env in environments_of(release, request)]


def _one_env(
    repo: Repo, config: Config, target: str, release: Release, env: str, request: Request
) -> Outcome:
    branch = branch_name(release.name, env)
    tip = repo.fetch(config.remote, branch)
    # The local branch caught up with the remote's: the remote's commits, then local ones not pushed yet (a
    # `set-image --commit` on a protected branch): those travel in the pull request with the action's commit.
    base = repo.head()
    if base is None:
        raise RollgenError(f"{target} has no commit yet; commit the spec on it first")
    recovered = _recover(repo, config, branch, target, release.name, env, tip, base)
    diverged = tip is not None and not repo.is_ancestor(tip, base)
    landed = diverged and repo.landed(str(tip), base)  # a squash or rebase merge: its tree is in target
    state = _state(repo, config, branch, target) if diverged and not landed else ""
    merged = not diverged or landed or state == "MERGED"
    closed = state == "CLOSED"
    pending = diverged and not merged and not closed
    if pending:
        subject = repo.text("log", "-1", "--format=%s", str(tip)).strip()
        if request.kind == "advance":
            reason = f"awaiting merge: {branch} ({subject}) is not in {target} yet; the next step waits for it"
            return Outcome(release.name, env, "nothing-to-do", recovered + reason)
        start = str(tip)
    else:
        if closed:
            _refuse_foreign(repo, release.name, env, branch, str(tip), base)
        start = base
    planner = request.plan if pending else _from_merge(repo, base, config, release, request)
    single = replace(request, environments=[env], plan=planner, push=False)
    outcome = _on_detached(repo, target, start, lambda: commit_environment(repo, config, release, env, single))
    if outcome.result != "committed" or outcome.commit is None:
        return replace(outcome, text=recovered + outcome.text) if recovered else outcome
    # A new round replaces the branch: after a close, or a squash or rebase merge (its commits are not in target)
    lease = str(tip) if diverged and not pending else None
    if not pending:  # a new round for this branch: no pull request of it is open; one is owed from here on
        _owed(repo, release.name, env).write_text(outcome.commit)
    _push(repo, config, branch, outcome.commit, lease=lease)
    note = f"pushed to {branch}"
    if not pending:
        opened = _open(repo, config, branch, target, release.name, env, outcome.commit)
        if opened:  # still owed: the next run opens it (a forge down for a minute must not leave it unopened)
            return replace(outcome, result="refused", text=f"{outcome.text}: {note}, but {opened}; the next run "
                           f"tries again, or open the pull request for {branch} by hand")
        _owed(repo, release.name, env).unlink(missing_ok=True)
        note += ", pull request opened"
    return replace(outcome, text=f"{recovered}{outcome.text} ({note}; awaiting merge into {target})")


def _owed(repo: Repo, release: str, env: str) -> Path:
    """Where a run notes the commit whose pull request it is about to open (names are DNS labels: no dot), so
    that a run killed between the branch's push and the pull-request command is made good by the next one."""
    folder = repo.rollgen_dir / "pull-requests"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{release}.{env}"


def _recover(
    repo: Repo, config: Config, branch: str, target: str, release: str, env: str, tip: str | None, base: str
) -> str:
    """Open the pull request an earlier run (killed, or its command failed) pushed the branch for but did not
    open; what to say ("" when nothing was owed). The commit must be on the remote's branch and not merged
    yet; else nothing is owed."""
    owed = _owed(repo, release, env)
    try:
        commit = owed.read_text().strip()
    except OSError:
        return ""
    if tip is None or repo.run("cat-file", "-e", f"{commit}^{{commit}}", check=False).returncode != 0 or \
            not repo.is_ancestor(commit, tip) or repo.landed(tip, base):
        owed.unlink(missing_ok=True)
        return ""
    failed = _open(repo, config, branch, target, release, env, commit)
    owed.unlink(missing_ok=True)  # tried twice: a second failure (one opened by hand meanwhile?) is a person's
    if failed:
        raise RollgenError(f"an earlier run pushed {branch} without opening its pull request, and {failed}: "
                           "open it by hand")
    return f"opened the pull request of {branch} an earlier run had pushed; "


# -- deciding from the protected branch ------------------------------------------------------------------------


def _from_merge(repo: Repo, base: str, config: Config, release: Release, request: Request) -> Any:
    """The command's planner, with the state's `since` moved to when its file reached the protected branch."""
    from generator.render.state import relpath

    def plan(rel: Release, env: Environment, current: EnvState | None, now: datetime) -> Plan:
        if current is not None:
            path = config.output_prefix() + relpath(rel.name, env.name)
            landed = repo.text("log", "-1", "--first-parent", "--format=%cI", base, "--", path).strip()
            if landed:
                moment = format_time(datetime.fromisoformat(landed).astimezone(timezone.utc))
                if not current.since or moment > current.since:
                    current = replace(current, since=moment)
        return request.plan(rel, env, current, now)

    return plan


def _state(repo: Repo, config: Config, branch: str, target: str) -> str:
    """The pull request's state as git.pullRequest.stateCommand prints it (OPEN, CLOSED, MERGED), upper-case;
    "" without a stateCommand."""
    if config.pr_state_command is None:
        return ""
    out = _run(repo, config.pr_state_command, _words(branch, target, "", "", "", ""))
    if out.returncode != 0:
        raise RollgenError(f"git.pullRequest.stateCommand failed for {branch}: {_tail(out)}")
    return out.stdout.decode(errors="replace").strip().upper()


def _refuse_foreign(repo: Repo, release: str, env: str, branch: str, tip: str, base: str) -> None:
    """Starting a closed branch again replaces it: only when every commit on it is rollgen's for this env."""
    from generator.gitops.messages import parse_trailers

    messages = repo.text("log", "--format=%B%x1e", f"{base}..{tip}").split("\x1e")
    for message in (m for m in messages if m.strip()):
        trailers = parse_trailers(message)
        if trailers.get("Rollgen-Release") != release or trailers.get("Rollgen-Environment") != env:
            raise RollgenError(
                f"the pull request of {branch} was closed unmerged, and the branch holds commits that are not "
                f"rollgen's for {release}/{env}; rollgen does not push over them: delete or rename the branch, "
                "then run again"
            )


# -- committing on the branch ---------------------------------------------------------------------------------


def _on_detached(repo: Repo, target: str, start: str, work: Any) -> Outcome:
    repo.run("checkout", "-q", "--detach", start)
    try:
        outcome: Outcome = work()
        return outcome
    finally:
        repo.run("checkout", "-q", target)


def _push(repo: Repo, config: Config, branch: str, commit: str, lease: str | None) -> None:
    args = ["push", "--porcelain", config.remote, f"{commit}:refs/heads/{branch}"]
    if lease is not None:
        args.insert(2, f"--force-with-lease=refs/heads/{branch}:{lease}")
    out = repo.run(*args, check=False, env={"GIT_TERMINAL_PROMPT": "0"})
    if out.returncode != 0:
        report = redact_output(out.stdout).decode(errors="replace").strip()
        raise GitError(
            f"git push to {config.remote} {branch} failed (someone pushed to it meanwhile?): "
            f"{_tail(out) or report}; nothing was pushed, run again"
        )


def _open(repo: Repo, config: Config, branch: str, target: str, release: str, env: str, commit: str) -> str:
    """Run the pull-request command once; "" when it worked, else what went wrong (the caller says what next)."""
    message = repo.text("log", "-1", "--format=%B", commit)
    title, _, body = message.partition("\n")
    words = _words(branch, target, title.strip(), body.strip(), release, env)
    try:
        out = _run(repo, config.pr_command, words)
    except OSError as exc:
        return f"the pull-request command could not run ({exc})"
    if out.returncode != 0:
        return f"the pull-request command failed ({_tail(out)})"
    return ""


def _words(branch: str, base: str, title: str, body: str, release: str, env: str) -> dict[str, str]:
    return {"branch": branch, "base": base, "title": title, "body": body, "release": release, "environment": env}


def _run(repo: Repo, command: Sequence[str], values: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """Each word with its placeholders replaced (plain text replacement: a value is never parsed again, and
    no shell ever sees the words)."""
    import re

    pattern = re.compile(r"\{(" + "|".join(values) + r")\}")
    words = [pattern.sub(lambda match: values[match[1]], word) for word in command]
    return subprocess.run(words, cwd=repo.root, env=clean_env(), capture_output=True, check=False, timeout=300)


def _tail(out: subprocess.CompletedProcess[bytes]) -> str:
    return redact_output(out.stderr).decode(errors="replace").strip()[-500:]
