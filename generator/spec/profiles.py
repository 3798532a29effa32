"""Environment profiles: `kind: Profile` files supplying defaults that an environment entry overrides.

The built-ins ship in the project's `overlays/`; a config repo adds its own folders, which override the
built-ins by name. A profile is named by its `metadata.name`, which must match its file name.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from generator.records import dataclass
from pathlib import Path
from typing import Any

from generator.spec import checks
from generator import resources
from generator.spec.findings import Finding, Located, locate
from generator.errors import InvalidInput, Problem
from generator.spec.loader import load_single
from generator.profile_model import Autoscaling, Labels, Step, build_autoscaling, build_steps, optional_seconds, sorted_labels
from generator.spec.schema import PROFILE_SCHEMA, schema_problems

PROFILE_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Profile:
    name: str
    source: str  # the file it came from, for messages
    replicas: int | None = None
    min_replicas: int | None = None  # a floor under the release's replicas (an environment's own value wins)
    labels: Labels = ()
    steps: tuple[Step, ...] = ()  # empty: the release's own steps
    settle_delay: int | None = None  # seconds
    autoscaling: Autoscaling | None = None


def load_profiles(extra_dirs: Sequence[Path] = ()) -> dict[str, Profile]:
    """Built-in profiles, then each extra folder's in order, later ones replacing earlier ones by name.

    Raises InvalidInput with every problem of every profile file.
    """
    profiles = dict(builtin_profiles())
    problems: list[Problem] = []
    for folder in extra_dirs:
        found, bad = load_dir(folder)
        profiles.update(found)
        problems += bad
    if problems:
        raise InvalidInput(problems)
    return profiles


@functools.cache
def builtin_profiles() -> tuple[tuple[str, Profile], ...]:
    # Checked like a config repo's own, on every run: valid files pass spec.quick_check without importing
    # jsonschema (~1 ms for the three), and a mis-packaged or hand-edited one is reported, not a crash.
    found, problems = load_dir(resources.profiles_dir())
    if problems:  # shipped data is tested; reaching this is a packaging bug, reported like user input
        raise InvalidInput(problems)
    return tuple(sorted(found.items()))


def load_dir(folder: Path) -> tuple[dict[str, Profile], list[Problem]]:
    if not folder.is_dir():
        problem = Problem(str(folder), 0, 0, "$", "the profiles folder does not exist: create it or fix the path")
        return {}, [problem]
    found: dict[str, Profile] = {}
    problems: list[Problem] = []
    for path in sorted(p for p in folder.iterdir() if p.suffix in PROFILE_SUFFIXES and p.is_file()):
        try:
            profile = load_profile(path)
        except InvalidInput as exc:
            problems += exc.problems
            continue
        found[profile.name] = profile
    return found, problems


def load_profile(path: Path) -> Profile:
    doc = load_single(path)
    problems = schema_problems(doc, PROFILE_SCHEMA)
    if not problems:
        findings = list(meaning(doc.data, path))
        problems = sorted({locate(doc, finding) for finding in findings}, key=lambda p: (p.line, p.column))
    if problems:
        raise InvalidInput(problems)
    return build_profile(doc)


def meaning(data: dict[str, Any], path: Path) -> Iterator[Finding]:
    spec = data["spec"]
    name = data["metadata"]["name"]
    if name != path.stem:
        yield Finding(
            ("metadata", "name"),
            f"profile {name!r} is in {path.name}: name the file {name}{path.suffix} (or the profile {path.stem!r})",
        )
    yield from checks.check_steps(spec.get("steps", []), ("spec", "steps"))
    yield from checks.check_label_keys(spec.get("labels", {}), ("spec", "labels"))
    yield from checks.check_autoscaling(spec.get("autoscaling"), ("spec", "autoscaling"))


def build_profile(doc: Located) -> Profile:
    spec = doc.data["spec"]
    return Profile(
        name=doc.data["metadata"]["name"],
        source=doc.source,
        replicas=spec.get("replicas"),
        min_replicas=spec.get("minReplicas"),
        labels=sorted_labels(spec.get("labels", {})),
        steps=build_steps(spec.get("steps", [])),
        settle_delay=optional_seconds(spec.get("settleDelay")),
        autoscaling=build_autoscaling(spec.get("autoscaling")),
    )
