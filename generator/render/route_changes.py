"""Refuse a change to a route the Argo Rollouts controller owns, once the environment is released.

An Argo Rollouts canary routed by gateway-api or istio declares its HTTPRoute / VirtualService at 100/0 and lets
the controller edit it. Argo CD ignores the routes the controller rewrites (`ignoreDifferences` on the atomic
`spec.rules` / `spec.http`, with RespectIgnoreDifferences: the whole list comes from the live object), and Flux
only creates the object (`kustomize.toolkit.fluxcd.io/ssa: IfNotPresent`, routers.FLUX_CREATE_ONLY). So what the
route carries besides the weights (the Services' port, the path, the host, the gateway) never reaches the cluster
after the first sync: a `service.port` change would even leave the live route pointing at a port the Services no
longer have. rollgen refuses it, located, and docs/live-cluster.md "Changing a route Argo Rollouts owns" is the
way to do it: the live route is changed by hand, then the generated route file is removed, and the next render
writes the new one (there is no old file to compare with).

The comparison reads the route as the overlay builds it from the files on disk and from the rendered ones: the
base object with the overlay's JSON patch applied (rollgen's own layout: add/replace/remove on mappings).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from generator.errors import InvalidInput, Problem, json_path
from generator.model import CanaryStrategy, Environment, Release
from generator.render.engines import engine_for
from generator.render.routers import router_for
from generator.render.state import STATE_FILE
from generator.router_facts import facts

DOC = 'docs/live-cluster.md "Changing a route Argo Rollouts owns"'

JSON = dict[str, Any]
PathTuple = tuple[str | int, ...]


def refuse_route_changes(out_dir: Path, release: Release, files: Mapping[str, bytes]) -> None:
    """Raise InvalidInput, located in the spec, when a released environment's controller-owned route would change
    in anything but its weights. `files` are the rendered files, relative to `out_dir`."""
    kind = facts(release.router).controller_route
    if not kind or not owned_route(release):
        return
    problems = [problem for env in release.environments for problem in _changes(out_dir, release, env, kind, files)]
    if problems:
        raise InvalidInput(problems)


def owned_route(release: Release) -> bool:
    """Whether the release has a route the Argo Rollouts controller owns (the only one checked here)."""
    return (
        engine_for(release.engine).owns_canary_route
        and bool(facts(release.router).controller_route)
        and isinstance(release.strategy, CanaryStrategy)
    )


def _changes(
    out_dir: Path, release: Release, env: Environment, kind: str, files: Mapping[str, bytes]
) -> Iterator[Problem]:
    app = f"apps/{release.name}"
    overlay = f"{app}/overlays/{env.name}"
    base = f"{app}/base/{kind.lower()}_{release.name}.yaml"
    patch = f"{overlay}/patch_{kind.lower()}_{release.name}.yaml"
    if not _regular(out_dir / overlay / STATE_FILE) or base not in files:
        return  # not released, or nothing rendered for it
    before = _route(_read(out_dir / base), _read(out_dir / patch))
    if before is None:
        return  # no route on disk: the first render, or the documented change (the file removed by hand)
    after = _route(_load(files[base]), _load(files.get(patch)))
    if after is None:
        return
    carried = router_for(release.router).carried
    if carried is None:
        return
    try:
        old, new = carried(before), carried(after)
    except (AttributeError, TypeError):
        return  # a route file edited by hand into another shape: the writer's own checks report it
    for aspect, at, what in _aspects(release, env):
        if old[aspect] != new[aspect]:
            yield _problem(out_dir, release, at, _message(release, env, kind, what, old[aspect], new[aspect]))
            return


def _aspects(release: Release, env: Environment) -> Iterator[tuple[str, PathTuple, str]]:
    yield "port", ("spec", "service", "port"), "service.port"
    yield "path", ("spec", "ingress", "path"), "ingress.path"
    index = next((i for i, e in enumerate(release.environments) if e.name == env.name), 0)
    own = env.host != release.ingress.host  # set for the environment (its entry or its profile)
    yield "host", ("spec", "environments", index, "host") if own else ("spec", "ingress", "host"), "host"
    yield "gateway", ("spec", str(facts(release.router).section)), "gateway"


def _message(release: Release, env: Environment, kind: str, what: str, old: Any, new: Any) -> str:
    return (
        f"{release.name}/{env.name} is released, and its {kind} {release.name} belongs to the Argo Rollouts "
        f"controller: Argo CD keeps the live routes and Flux only creates the object, so this {what} change "
        f"({_shown(old)} -> {_shown(new)}) would never reach the cluster"
        + (", and the live route would point at a port the Services no longer have" if what == "service.port" else "")
        + f": change the live route first, then remove the generated route file and render again, see {DOC}"
    )


def _shown(value: Any) -> str:
    if isinstance(value, list) and len(value) == 1 and not isinstance(value[0], (dict, list)):
        return str(value[0])
    import json

    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _problem(out_dir: Path, release: Release, at: PathTuple, message: str) -> Problem:
    line, column = _locate(out_dir, release, at)
    return Problem(release.source, line, column, json_path(at), message)


def _locate(out_dir: Path, release: Release, at: PathTuple) -> tuple[int, int]:
    """Where `at` is in the spec (its nearest existing ancestor); 1:1 when the spec cannot be read."""
    from generator.spec.loader import load_single

    source = Path(release.source)
    folder = out_dir.resolve()
    candidates = [source] if source.is_absolute() else [source, *(p / source for p in (folder, *folder.parents))]
    for path in candidates:
        if _regular(path):
            try:
                return load_single(path, release.source).locate(at)
            except (InvalidInput, OSError):
                break
    return 1, 1


# -- the route as the overlay builds it -------------------------------------------------------------------------


def _regular(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _read(path: Path) -> Any:
    return _load(path.read_bytes()) if _regular(path) else None


def _load(data: bytes | None) -> Any:
    if data is None:
        return None
    from generator.yaml_import import yaml

    try:
        return yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        return None


def _route(base: Any, ops: Any) -> JSON | None:
    if not isinstance(base, dict):
        return None
    for op in ops if isinstance(ops, list) else ():
        if isinstance(op, dict) and str(op.get("path", "")).startswith("/spec"):
            _apply(base, op)
    return base


def _apply(doc: JSON, op: JSON) -> None:
    """One op of rollgen's overlay patches (add, replace, remove on mappings; lists are replaced whole)."""
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in str(op["path"]).split("/")[1:]]
    node: Any = doc
    for token in tokens[:-1]:
        node = node.get(token) if isinstance(node, dict) else None
        if node is None:
            return
    if not isinstance(node, dict) or not tokens:
        return
    if op.get("op") == "remove":
        node.pop(tokens[-1], None)
    elif op.get("op") in ("add", "replace"):
        node[tokens[-1]] = op.get("value")
