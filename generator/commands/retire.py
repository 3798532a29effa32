"""`rollgen retire NAME --env E --repo DIR [--push]`: take down an environment the spec no longer has.

Removes the environment's generated files (its overlay, its state, its Argo CD Application / Flux
Kustomization) in one commit of its own, `Rollgen-Action: retire`; with the release's last deployed
environment, its base and wiring folders too. Refused while the spec still lists the environment (remove it
from the spec first: the spec says what should run). Works for a release whose spec is gone as well (deleted,
or renamed: the old name's environments keep running until retired). See generator/gitops/retire.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator import names
from generator.render import state as state_file
from generator.gitops.specs import find_spec, load_spec
from generator.gitops.workflow import (
    Outcome,
    check_output,
    commit_or_restore,
    current_branch,
    report,
    tidy,
)
from generator.spec.config import Config
from generator.errors import EXIT_OK, EXIT_USER, InvalidInput, RollgenError
from generator.gitops.repo import GitError, Journal, Repo
from generator.gitops.repo_config import repo_config


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except InvalidInput as exc:  # the release's spec is broken: its problems, as `validate` prints them
        from generator.spec.report import format_json, format_text

        if args.format == "json":
            sys.stdout.write(format_json(exc.problems))
        else:
            sys.stderr.write(format_text(exc.problems))
        return EXIT_USER


def _run(args: argparse.Namespace) -> int:

    repo = Repo.discover(args.repo)
    config = repo_config(repo)
    check_output(repo, config)
    with repo.lock():
        tidy(repo, config)
        branch = current_branch(repo, config)
        outcome, pushed = _attempts(repo, config, branch, args)
    report([outcome], pushed, args.format)
    return EXIT_USER if outcome.result == "refused" else EXIT_OK


def _attempts(repo: Repo, config: Config, branch: str, args: argparse.Namespace) -> tuple[Outcome, bool]:
    if not args.push:
        return retire(repo, config, args.name, args.env), False
    from generator.gitops import push

    def work() -> tuple[Outcome, list[str]]:
        outcome = retire(repo, config, args.name, args.env)
        return outcome, [outcome.commit] if outcome.commit else []

    return push.with_retries(repo, config, branch, work)


def retire(repo: Repo, config: Config, name: str, env: str) -> Outcome:
    from generator.gitops.retire import deployed_environments, environment_files, leftover_files, state_of

    out = config.output_dir
    if not _deployed(repo, config, name):
        return Outcome(name, env, "refused", (
            f"no release {name!r} is deployed in {config.output_prefix()}apps/: retire takes down an environment of "
            "a deployed release, named exactly (rollgen status lists them)"
        ))  # fmt: skip
    source, spec_envs = _spec_environments(repo, config, name)
    if env in spec_envs:
        return Outcome(name, env, "refused", (
            f"{source} still lists environment {env}; remove it from the spec's environments first (the spec says "
            f"what runs), then retire it"
        ))  # fmt: skip
    deployed = deployed_environments(out, name)
    files = environment_files(out, name, env)
    if not files and not _already_gone(repo, config.output_prefix(), name, env, []):
        return Outcome(name, env, "nothing-to-do", f"nothing to retire: {name} has no files for environment {env}")
    if deployed == [env] or not deployed:
        files = sorted(set(files) | set(leftover_files(out, name)))  # the last one: the base goes too
    prefix = config.output_prefix()
    paths = [prefix + rel for rel in files if _removable(out, rel)]
    paths += _already_gone(repo, prefix, name, env, paths)  # a retire killed mid-way deleted these
    _confine(paths, prefix, name, env, whole=deployed == [env] or not deployed)
    dirty = [c.path for c in repo.changes(paths)]
    journal = repo.journal(name)
    if dirty and not _interrupted(repo, journal, dirty):
        shown = "\n".join(f"  {p}" for p in dirty[:20])
        raise RollgenError(f"uncommitted changes to {name}/{env}'s files:\n{shown}\ncommit or discard them first")
    image = _image(repo, state_of(out, name, env))
    journal.record(dict.fromkeys(paths))
    for rel in paths:
        (repo.root / rel).unlink(missing_ok=True)
    _prune_folders(out, files)
    message = _message(config, name, env, image, source)
    commit = commit_or_restore(repo, config, name, paths, message)
    if commit is None:
        return Outcome(name, env, "nothing-to-do", "nothing to retire: HEAD already lacks these files")
    return Outcome(name, env, "committed", message.split("\n", 1)[0], "retire", commit)


def _deployed(repo: Repo, config: Config, name: str) -> bool:
    """Whether `name` is a release rollgen deployed: its folder apps/NAME is in the work tree (a real folder), or
    in HEAD (a retire of its last environment killed after its deletions)."""
    app = config.output_dir / "apps" / name
    if app.is_dir() and not app.is_symlink():
        return True
    return bool(repo.tracked([f"{config.output_prefix()}apps/{name}"]))


def _confine(paths: list[str], prefix: str, name: str, env: str, whole: bool) -> None:
    """Every path retire deletes is the environment's overlay or its own wiring (with the last environment, the
    release's folders): a bug that reached further would delete what nobody named, so it stops here."""
    from generator.wiring import ARGOCD_DIR, FLUX_DIR

    app = names.app(name, env)
    allowed: tuple[str, ...] = (f"{prefix}apps/{name}/overlays/{env}/", f"{prefix}{ARGOCD_DIR}/{name}/application_{app}.yaml",
               f"{prefix}{FLUX_DIR}/{name}/kustomization_{app}.yaml")
    if whole:
        allowed += (f"{prefix}apps/{name}/", f"{prefix}{ARGOCD_DIR}/{name}/", f"{prefix}{FLUX_DIR}/{name}/")
    outside = [p for p in paths if not p.startswith(allowed) or "/../" in f"/{p}/" or "/./" in f"/{p}/"]
    if outside:
        raise AssertionError(f"retire {name} --env {env} would delete {outside[:3]}, outside what it owns")


def _spec_environments(repo: Repo, config: Config, name: str) -> tuple[str, list[str]]:
    """The spec of `name` and its environments; no environments when no spec names the release any more."""
    try:
        spec = find_spec(repo, config, name)
    except RollgenError:
        return "no spec", []
    release = load_spec(repo, config, spec)
    if release.name != name:  # the spec its files name now says another name: renamed
        return f"{release.source} (now release {release.name})", []
    return release.source, [e.name for e in release.environments]


def _already_gone(repo: Repo, prefix: str, name: str, env: str, found: list[str]) -> list[str]:
    """Files of the environment that HEAD holds but the work tree lacks (an interrupted retire's deletions)."""
    from generator.wiring import ARGOCD_DIR, FLUX_DIR

    app = names.app(name, env)
    specs = [f"{prefix}apps/{name}/overlays/{env}", f"{prefix}{ARGOCD_DIR}/{name}/application_{app}.yaml",
             f"{prefix}{FLUX_DIR}/{name}/kustomization_{app}.yaml"]
    return sorted(p for p in repo.tracked(specs) if p not in found and not (repo.root / p).exists())


def _removable(out: Path, rel: str) -> bool:
    """rollgen's own files only: generated ones, and the state files (never a person's file)."""
    from generator.render.files import starts_generated

    path = out / rel
    return starts_generated(path) or path.name == state_file.STATE_FILE


def _interrupted(repo: Repo, journal: Journal, dirty: list[str]) -> bool:
    """A retire killed before its commit left exactly these files deleted: the re-run finishes it."""
    return journal.load() is not None and all(journal.explains(repo.root, path) for path in dirty)


def _prune_folders(out: Path, files: list[str]) -> None:
    for folder in sorted({(out / rel).parent for rel in files}, key=lambda p: -len(p.parts)):
        for empty in (folder, *folder.parents):
            if empty == out or not empty.is_relative_to(out):
                break
            try:
                empty.rmdir()  # only when empty: a person's file keeps its folder
            except OSError:
                break


def _image(repo: Repo, path: Path) -> str:
    """The environment's stable image, from its state file; from HEAD's when a retire killed mid-way deleted it
    (its re-run records the same image the first would have)."""
    try:
        found = state_file.load_state(path)
        if found is None and path.parent.is_relative_to(repo.root):
            data = repo.read_blobs([f"HEAD:{path.relative_to(repo.root).as_posix()}"])[0]
            found = state_file.parse_state(data) if data is not None else None
    except (OSError, ValueError, GitError):
        return "unknown"
    return found.stable_image.ref if found is not None else "unknown"


def _message(config: Config, name: str, env: str, image: str, source: str) -> str:
    from generator.gitops.messages import Record, compose

    record = Record(
        release=name,
        environment=env,
        action="retire",
        step=0,
        steps=0,
        weight=0,
        image=image,
        summary=f"retire {env}: its overlay, state and wiring removed",
        details=f"{env} is no longer an environment of {name} ({source}); `rollgen retire` took it down.",
        extra=(("engine", ""), ("source", source), ("phase", "retired"), ("stable_image", image),
               ("canary_image", ""), ("since", "")),
    )
    return compose(record, config.commit_template)
