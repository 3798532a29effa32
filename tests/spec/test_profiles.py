"""Profiles: the shipped ones, a config repo's own, and bad profile files reported with positions."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator import resources
from generator.errors import InvalidInput
from generator.model import Autoscaling, Step
from generator.spec.profiles import Profile, load_profiles

GOOD = """\
apiVersion: rollgen.io/v1alpha1
kind: Profile
metadata:
  name: {name}
spec:
  replicas: 7
  labels: {{tier: gold}}
  steps:
    - {{weight: 10, pause: 30s}}
    - {{weight: 60}}
  settleDelay: 2m
  autoscaling: {{minReplicas: 2, maxReplicas: 9, cpu: 70}}
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def refused(folder: Path) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        load_profiles([folder])
    return [p.format() for p in caught.value.problems]


def test_builtin_profiles() -> None:
    profiles = load_profiles()
    assert {"dev", "staging", "prod"} <= set(profiles)
    assert profiles["dev"].replicas == 1 and profiles["dev"].steps
    assert profiles["prod"].min_replicas == 3 and profiles["prod"].replicas is None and ("environment", "prod") in profiles["prod"].labels
    assert all(p.source.startswith(str(resources.profiles_dir())) for p in profiles.values())


def test_builtin_profile_files_start_with_the_schema_modeline() -> None:
    for path in resources.profiles_dir().glob("*.yaml"):
        assert path.read_text().splitlines()[0] == "# yaml-language-server: $schema=../schemas/profile.schema.json"


def test_a_profile_is_built_from_its_file(tmp_path: Path) -> None:
    write(tmp_path, "gold.yaml", GOOD.format(name="gold"))
    profile = load_profiles([tmp_path])["gold"]
    assert profile == Profile(
        name="gold",
        source=str(tmp_path / "gold.yaml"),
        replicas=7,
        labels=(("tier", "gold"),),
        steps=(Step(10, 30), Step(60, None)),
        settle_delay=120,
        autoscaling=Autoscaling(2, 9, 70),
    )


def test_extra_dirs_override_builtins_by_name_and_later_dirs_win(tmp_path: Path) -> None:
    write(tmp_path / "a", "prod.yaml", GOOD.format(name="prod"))
    write(tmp_path / "b", "prod.yaml", GOOD.format(name="prod").replace("replicas: 7", "replicas: 9"))
    assert load_profiles([tmp_path / "a"])["prod"].replicas == 7
    assert load_profiles([tmp_path / "a", tmp_path / "b"])["prod"].replicas == 9
    assert load_profiles()["prod"].min_replicas == 3  # the built-ins are not changed by loading others


def test_an_empty_profile_spec_is_allowed(tmp_path: Path) -> None:
    write(tmp_path, "plain.yml", "apiVersion: rollgen.io/v1alpha1\nkind: Profile\nmetadata: {name: plain}\nspec: {}\n")
    assert load_profiles([tmp_path])["plain"] == Profile(name="plain", source=str(tmp_path / "plain.yml"))


def test_other_files_are_ignored(tmp_path: Path) -> None:
    write(tmp_path, "README.md", "# profiles\n")
    assert set(load_profiles([tmp_path])) == set(load_profiles())


def test_unknown_field_in_a_profile(tmp_path: Path) -> None:
    write(tmp_path, "gold.yaml", GOOD.format(name="gold").replace("  replicas: 7", "  replica: 7"))
    assert refused(tmp_path) == [
        f"{tmp_path / 'gold.yaml'}:6:3: $.spec.replica: unknown field 'replica'; did you mean 'replicas'?"
    ]


def test_release_fields_are_not_profile_fields(tmp_path: Path) -> None:
    write(tmp_path, "gold.yaml", GOOD.format(name="gold").replace("  replicas: 7", "  image: x:1"))
    (problem,) = refused(tmp_path)
    assert ":6:3: $.spec.image: unknown field 'image'; allowed here: autoscaling, labels," in problem


def test_profile_meaning_problems(tmp_path: Path) -> None:
    text = GOOD.format(name="gold").replace("weight: 60", "weight: 10").replace("tier: gold", "rollgen.io/x: y")
    write(tmp_path, "gold.yaml", text)
    path = tmp_path / "gold.yaml"
    assert refused(tmp_path) == [
        f"{path}:7:12: $.spec.labels['rollgen.io/x']: label 'rollgen.io/x' is set by rollgen "
        "(it selects the pods and marks what rollgen manages): remove it",
        f"{path}:10:16: $.spec.steps[1].weight: weight 10 does not increase on the previous step's 10: "
        "weights must grow strictly from step to step",
    ]


def test_profile_name_must_match_its_file(tmp_path: Path) -> None:
    write(tmp_path, "gold.yaml", GOOD.format(name="silver"))
    (problem,) = refused(tmp_path)
    assert problem.startswith(f"{tmp_path / 'gold.yaml'}:4:9: $.metadata.name: profile 'silver' is in gold.yaml")


def test_a_release_is_not_a_profile(tmp_path: Path) -> None:
    write(tmp_path, "gold.yaml", GOOD.format(name="gold").replace("kind: Profile", "kind: Release"))
    assert refused(tmp_path) == [f"{tmp_path / 'gold.yaml'}:2:7: $.kind: must be 'Profile', got 'Release'"]


def test_every_bad_file_is_reported_together(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "apiVersion: rollgen.io/v1alpha1\nkind: Profile\nkind: Profile\n")
    write(tmp_path, "b.yaml", GOOD.format(name="b").replace("replicas: 7", "replicas: -1"))
    write(tmp_path, "c.yaml", GOOD.format(name="c"))
    problems = refused(tmp_path)
    assert len(problems) == 2
    assert problems[0].startswith(f"{tmp_path / 'a.yaml'}:3:1: $.kind: duplicate key 'kind'")
    assert problems[1].startswith(f"{tmp_path / 'b.yaml'}:6:13: $.spec.replicas: -1 is out of range")


def test_a_missing_profiles_folder_is_a_problem(tmp_path: Path) -> None:
    assert refused(tmp_path / "nope") == [
        f"{tmp_path / 'nope'}: the profiles folder does not exist: create it or fix the path"
    ]


def test_prod_means_three_pods_at_least() -> None:
    """The prod profile's words ("three pods at least") and its behaviour agree: 4 stays 4, 1 becomes 3."""
    from dataclasses import replace

    from generator.spec.build import build_environment
    from tests.factories import make_release

    prod = load_profiles()["prod"]
    for asked, got in ((1, 3), (3, 3), (4, 4)):
        release = replace(make_release(), replicas=asked)
        assert build_environment(release, {"name": "prod", "profile": "prod"}, {"prod": prod}).replicas == got
    release = replace(make_release(), replicas=4)  # an environment's own number still wins
    assert build_environment(release, {"name": "prod", "profile": "prod", "replicas": 2}, {"prod": prod}).replicas == 2
