"""Checks across releases: two specs with one name, two releases claiming one host and path.

One spec cannot see these: each is valid alone. Two specs named alike would write the same `apps/<name>`, the
second silently taking over the first's files and progression; two releases routing the same host and path
through one ingress class split its traffic in ways neither's canary weight describes (a release renamed
mid-canary: the new name at 100% while the old one still holds its 10%).

`rollgen validate` of a folder runs them over the specs it validates; `rollgen release` runs them for the
spec it releases, against the other specs of the config repo's `releases/` and the releases already deployed
under `apps/` (a renamed release's old name lives only there).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.errors import Problem, json_path
from generator.spec.loader import Document, PathTuple
from generator.model import Environment, Release
from generator.router_facts import DEFAULT, facts

if TYPE_CHECKING:
    from generator.spec.config import Config
    from generator.gitops.repo import Repo

# (ingress class, host, path): what the ingress controller routes by; one owner each.
Route = tuple[str, str, str]


@dataclass(frozen=True)
class Scope:
    """How a route matches beyond its (class, host, path): Exact or Prefix, and the router that reads it."""

    exact: bool = False
    router: str = DEFAULT


def _covers(prefix: str, path: str) -> bool:
    """Whether Istio's uri `prefix` matches requests for `path`: a string prefix (`/api` takes `/apix` too)."""
    return path.startswith(prefix)


def overlap(a: Route, a_scope: Scope, b: Route, b_scope: Scope) -> bool:
    """Whether two routes claim requests the routers cannot give to one of them by a defined rule.

    One class and host, and the same path: always. Nested paths (`/` and `/api`): only where either route is
    Istio's. ingress-nginx and the Gateway API give a request to the longest matching path whatever object holds
    it, so `/api` of one release inside `/` of another is well defined there. Istio merges the VirtualServices of
    one host on a gateway in creation order, so an older `/` takes `/api` too (and its prefix is a string
    prefix: `/api` takes `/apix`)."""
    if a[:2] != b[:2]:
        return False
    if a[2] == b[2]:
        return True
    if not (facts(a_scope.router).nested_paths_by_creation or facts(b_scope.router).nested_paths_by_creation):
        return False
    return (not a_scope.exact and _covers(a[2], b[2])) or (not b_scope.exact and _covers(b[2], a[2]))


@dataclass(frozen=True)
class Claim:
    """A release environment's route, and where it is written (a spec's field, or a generated folder)."""

    release: str
    environment: str
    route: Route
    file: str
    line: int
    column: int
    path: str  # JSON path in `file`, "$" for a generated folder
    scope: Scope = Scope()

    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.column}" if self.line else self.file


@dataclass(frozen=True)
class Loaded:
    """A valid spec: its document (to locate fields) and its model."""

    doc: Document
    release: Release


# -- names ----------------------------------------------------------------------------------------------------


def name_clashes(specs: Sequence[Loaded]) -> list[Problem]:
    """A problem at metadata.name of every spec whose name another spec also has, naming the others."""
    by_name: dict[str, list[Loaded]] = {}
    for spec in specs:
        by_name.setdefault(spec.release.name, []).append(spec)
    problems = []
    for name, group in by_name.items():
        if len(group) < 2:
            continue
        for spec in group:
            others = ", ".join(_name_at(o) for o in group if o is not spec)
            problems.append(_problem(spec.doc, ("metadata", "name"), (
                f"release {name!r} is also the metadata.name of {others}; two specs of one name would write the "
                f"same apps/{name}/, the later taking over the other's files and progression: rename one"
            )))  # fmt: skip
    return problems


def _name_at(spec: Loaded) -> str:
    line, column = spec.doc.locate(("metadata", "name"))
    return f"{spec.doc.source}:{line}:{column}"


# -- routes ---------------------------------------------------------------------------------------------------


def spec_claims(spec: Loaded) -> Iterator[Claim]:
    """Each environment's (class, host, path), located at the host field that sets it."""
    release, data = spec.release, spec.doc.data
    entries = data.get("spec", {}).get("environments") or []
    for env in release.environments:
        at: PathTuple = ("spec", "ingress", "host")
        for i, entry in enumerate(entries):
            if isinstance(entry, dict) and entry.get("name") == env.name and "host" in entry:
                at = ("spec", "environments", i, "host")
        line, column = spec.doc.locate(at)
        route = _route(release, env)
        yield Claim(release.name, env.name, route, spec.doc.source, line, column, json_path(at), _scope(release))


def route_clashes(mine: Iterable[Claim], theirs: Iterable[Claim]) -> list[tuple[Claim, Claim]]:
    """Pairs (one of mine, one of theirs) whose routes overlap (`overlap`), between different releases; each of
    mine once, with the first of theirs it overlaps."""
    others = list(theirs)
    pairs = ((claim, _first_overlap(claim, others)) for claim in mine)
    return [(claim, other) for claim, other in pairs if other is not None]


def clash_problem(claim: Claim, other: Claim) -> Problem:
    cls, host, path = claim.route
    if path == other.route[2]:
        return Problem(claim.file, claim.line, claim.column, claim.path, (
            f"{claim.release}/{claim.environment} routes {host}{path} (ingress class {cls}), which release "
            f"{other.release}/{other.environment} already routes ({other.where()}); one host and path has one "
            f"release: give one another host or path, or retire the other first (a renamed release keeps its old "
            f"name's files until `rollgen retire`)"
        ))  # fmt: skip
    return Problem(claim.file, claim.line, claim.column, claim.path, (
        f"{claim.release}/{claim.environment} routes {host}{path}, which overlaps {host}{other.route[2]} of "
        f"release {other.release}/{other.environment} ({other.where()}); Istio merges the routes of one host in "
        f"creation order, so the older prefix takes the other's requests: give one another host, or paths "
        f"neither of which starts with the other"
    ))  # fmt: skip


def cross_problems(specs: Sequence[Loaded]) -> list[Problem]:
    """Duplicate names and route clashes among a set of specs (validate of a folder).

    Each spec's claims meet only the earlier claims on their own class and host (no other can overlap), so a
    fleet costs its size, not its square; the problems come in the order a spec-by-spec comparison finds them."""
    problems = name_clashes(specs)
    earlier: dict[tuple[str, str], list[tuple[int, Claim]]] = {}  # (class, host) -> claims so far, numbered
    count = 0
    for spec in specs:
        claims = list(spec_claims(spec))
        groups = {claim.route[:2]: earlier.get(claim.route[:2], []) for claim in claims}
        for claim in claims:
            other = _first_overlap(claim, (c for _, c in groups[claim.route[:2]]))
            if other is not None:
                problems.append(clash_problem(claim, other))
        for _, claim in sorted(numbered for group in groups.values() for numbered in group):
            other = _first_overlap(claim, claims)
            if other is not None:
                problems.append(clash_problem(claim, other))
        for claim in claims:
            earlier.setdefault(claim.route[:2], []).append((count, claim))
            count += 1
    return list(dict.fromkeys(problems))


def _first_overlap(claim: Claim, others: Iterable[Claim]) -> Claim | None:
    return next((other for other in others if other.release != claim.release
                 and overlap(claim.route, claim.scope, other.route, other.scope)), None)


# -- what is deployed -----------------------------------------------------------------------------------------


def deployed_claims(app_dir: Path, release: str, environments: Iterable[str], display: str) -> Iterator[Claim]:
    """The routes a deployed release's generated Ingress holds, per environment (its base's rules, or the
    rules its overlay's patch replaces them with). Read as rollgen writes them; anything else is skipped."""
    base = _base_ingress(app_dir / "base")
    if base is None:
        return
    cls, base_rules = base
    for env in environments:
        rules = _patched_rules(app_dir / "overlays" / env) or base_rules
        for host, path in _routes(rules):
            yield Claim(release, env, (cls, host, path), f"{display}/overlays/{env}", 0, 0, "$")


def _base_ingress(folder: Path) -> tuple[str, Any] | None:
    main = folder / f"ingress_{folder.parent.name}.yaml"
    doc = _read_yaml(main)
    if not isinstance(doc, dict) or doc.get("kind") != "Ingress" or not isinstance(doc.get("spec"), dict):
        return None
    return str(doc["spec"].get("ingressClassName") or "nginx"), doc["spec"].get("rules")


def _patched_rules(overlay: Path) -> Any:
    patch = _read_yaml(overlay / f"patch_ingress_{overlay.parent.parent.name}.yaml")
    for op in patch if isinstance(patch, list) else ():
        if isinstance(op, dict) and op.get("op") == "replace" and op.get("path") == "/spec/rules":
            return op.get("value")
    return None


def _routes(rules: Any) -> Iterator[tuple[str, str]]:
    for rule in rules if isinstance(rules, list) else ():
        if not isinstance(rule, dict) or not isinstance(rule.get("host"), str):
            continue
        paths = rule.get("http", {}).get("paths") if isinstance(rule.get("http"), dict) else None
        for entry in paths if isinstance(paths, list) else ():
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                yield rule["host"], entry["path"]


def _read_yaml(path: Path) -> Any:
    from generator.yaml_import import yaml

    from generator.render.files import starts_generated

    if path.is_symlink() or not starts_generated(path):
        return None
    try:
        return yaml.load(path.read_bytes(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except (OSError, yaml.YAMLError):
        return None


def _problem(doc: Document, at: PathTuple, message: str) -> Problem:
    line, column = doc.locate(at)
    return Problem(doc.source, line, column, json_path(at), message)


# -- `rollgen release` ----------------------------------------------------------------------------------------


def refuse_clashes(repo: Repo, config: Config, spec: Path, display: str) -> None:
    """Raise InvalidInput, located in the released spec, when another spec has its name or another release
    (specified, or only deployed) already routes one of its environments' hosts and paths."""
    from generator.errors import InvalidInput

    mine = _load(spec, display, config)
    if mine is None:
        return  # the release's own load reports what is wrong with it
    others = _other_specs(repo, config, spec, mine.release)
    problems = name_clashes([mine, *[o for o in others if o.release.name == mine.release.name]])
    problems = [p for p in problems if p.file == mine.doc.source]
    theirs = [claim for other in others for claim in spec_claims(other)]
    theirs += _deployed(config, exclude=mine.release.name)
    problems += [clash_problem(claim, other) for claim, other in route_clashes(spec_claims(mine), theirs)]
    if problems:
        raise InvalidInput(list(dict.fromkeys(problems)))


def _other_specs(repo: Repo, config: Config, spec: Path, mine: Release) -> list[Loaded]:
    """The valid specs of releases/ other than `spec` that share its name or one of its routes (the invalid
    ones are validate's to report). Compared through the release cache first (`load_spec`: a few ms for a
    hundred specs); only those involved are parsed again, to locate what the message names."""
    from generator.gitops.specs import load_spec
    from generator.errors import InvalidInput
    from generator.spec.release import specs_under

    me = spec.resolve()
    found = specs_under(config.releases_dir) if config.releases_dir.is_dir() else []
    routes = [(_route(mine, env), _scope(mine)) for env in mine.environments]
    out = []
    for path in found:
        if path.resolve() == me or path.is_symlink():
            continue
        try:
            other = load_spec(repo, config, path)
        except (InvalidInput, OSError):
            continue
        if other.name != mine.name and not any(
            overlap(_route(other, env), _scope(other), route, scope)
            for env in other.environments
            for route, scope in routes
        ):
            continue
        loaded = _load(path, _display(repo, path), config)
        if loaded is not None:
            out.append(loaded)
    return out


def _route(release: Release, env: Environment) -> Route:
    return (release.ingress.class_name, env.host, release.ingress.path)


def _scope(release: Release) -> Scope:
    return Scope(release.ingress.path_type == "Exact", release.router)


def _deployed(config: Config, exclude: str) -> list[Claim]:
    from generator.render.state import STATE_FILE

    apps = config.output_dir / "apps"
    claims: list[Claim] = []
    for app in sorted(apps.iterdir()) if apps.is_dir() and not apps.is_symlink() else ():
        if app.name == exclude or app.is_symlink() or not app.is_dir():
            continue
        envs = sorted(p.parent.name for p in app.glob(f"overlays/*/{STATE_FILE}"))
        display = f"{config.output_prefix()}apps/{app.name}"
        claims.extend(deployed_claims(app, app.name, envs, display))
    return claims


def _load(path: Path, display: str, config: Config) -> Loaded | None:
    from generator.errors import InvalidInput
    from generator.spec.loader import load_single
    from generator.spec.profiles import load_profiles
    from generator.render.loading import check_document
    from generator.spec.release import build_release

    try:
        profiles = load_profiles([config.profiles_dir] if config.profiles_dir else [])
        doc = load_single(path, display)
        if check_document(doc, profiles):
            return None
        return Loaded(doc, build_release(doc, profiles))
    except (InvalidInput, OSError):
        return None


def _display(repo: Repo, path: Path) -> str:
    try:
        return path.resolve().relative_to(repo.root.resolve()).as_posix()
    except ValueError:
        return str(path)
