"""generator.spec.schemacheck answers exactly as jsonschema does, so that spec/schema.py may skip jsonschema on a yes.

The differential test: every example (valid and invalid), shipped profile and `rollgen init` config, each
mutated every way that reaches a keyword of its schema: every field deleted; replaced by a value of every JSON
type, by the boundary values of the schema at that place (minimum/maximum +-1, strings of minLength/maxLength
+-1 characters, every enum and const value and near misses), and by variants of its own value (a trailing
newline, which Python's `$` accepts, other case, one character more or less); every allowed field that is
absent added, and unknown ones; label keys of every shape; lists and mappings at their size limits and past
them. Deterministic: no randomness, the same documents on every run.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Hashable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from generator.spec import schemacheck
from generator.spec import release as spec
from generator.errors import InvalidInput
from generator.spec.loader import load_file
from tests.imports import imported

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = {name: json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text()) for name in ("release", "profile", "config")}
PathTuple = tuple[str | int, ...]

FULL_PROFILE = {
    "apiVersion": "rollgen.io/v1alpha1",
    "kind": "Profile",
    "metadata": {"name": "gold"},
    "spec": {
        "replicas": 7,
        "labels": {"tier": "gold", "example.com/team": "a"},
        "steps": [{"weight": 10, "pause": "30s"}, {"weight": 60}],
        "settleDelay": "2m",
        "autoscaling": {"minReplicas": 2, "maxReplicas": 9, "cpu": 70},
    },
}
FULL_CONFIG = {
    "apiVersion": "rollgen.io/v1alpha1",
    "kind": "Config",
    "releases": "releases",
    "output": "out",
    "profiles": "profiles",
    "git": {"remote": "origin", "branch": "main", "pushAttempts": 3, "pushBackoff": "2s"},
    "commit": {"author": {"name": "rollgen", "email": "rollgen@example.com"}, "template": "{action}"},
    "argocd": {},
    "flux": {},
}

# A value of every JSON type, and the YAML 1.2 numbers a file can hold (.nan, .inf).
ANY_TYPE: tuple[Any, ...] = (
    None, True, False, 0, -1, 1, 1.0, 1.5, math.nan, math.inf, -math.inf, "", "x", "X-Canary", "5m", "a b",
    "hello", "ghcr.io/a/b:v1", "/abs", "../up", [], ["x"], [{}], {}, {"a": 1},
)  # fmt: skip
LABEL_KEYS = (
    "bad key", "example.com/x", "a" * 63, "a" * 64, "-x", "x-", "Ab_c.d", "a/b/c", "/x", "x/",
    "a" * 253 + "/y", "a" * 254 + "/y", "é", "x\n",
)  # fmt: skip


def load_bases() -> dict[str, list[Any]]:
    bases: dict[str, list[Any]] = {"release": [], "profile": [FULL_PROFILE], "config": [FULL_CONFIG]}
    sources = {
        "release": sorted((ROOT / "examples").glob("*.yaml")) + sorted((ROOT / "examples" / "invalid").glob("*.yaml")),
        "profile": sorted((ROOT / "overlays").glob("*.yaml")),
        "config": sorted((ROOT / "generator" / "init_templates").glob("config*.yaml")),
    }
    for name, paths in sources.items():
        for path in paths:
            try:
                bases[name] += [doc.data for doc in load_file(path)]
            except InvalidInput:  # file-level mistakes (syntax, duplicate keys, ...) never reach a schema
                continue
    return bases


# --- where a value sits in the schema ---------------------------------------------------------------------------


def expand(root: Mapping[str, Any], schema: Any) -> list[Mapping[str, Any]]:
    """The schema and every schema applying to the same value through $ref, allOf, anyOf and not."""
    if not isinstance(schema, Mapping):
        return []
    out = [schema]
    if "$ref" in schema:
        target: Any = root
        for part in str(schema["$ref"]).removeprefix("#/").split("/"):
            target = target[part]
        out += expand(root, target)
    for keyword in ("allOf", "anyOf"):
        for sub in schema.get(keyword, []):
            out += expand(root, sub)
    if "not" in schema:
        out += expand(root, schema["not"])
    return out


def schemas_at(root: Mapping[str, Any], path: PathTuple) -> list[Mapping[str, Any]]:
    current = expand(root, root)
    for part in path:
        below: list[Any] = []
        for schema in current:
            if isinstance(part, int):
                below.append(schema.get("items"))
            elif part in schema.get("properties", {}):
                below.append(schema["properties"][part])
            else:
                below.append(schema.get("additionalProperties"))
        current = [each for sub in below for each in expand(root, sub)]
    return current


# --- mutations ----------------------------------------------------------------------------------------------------


def nodes(data: Any, path: PathTuple = ()) -> Iterator[tuple[PathTuple, Any]]:
    yield path, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from nodes(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from nodes(value, (*path, index))


def with_value(data: Any, path: PathTuple, value: Any) -> Any:
    """A copy of `data` with `value` at `path` (containers copied along the path only)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy: Any = dict(data) if isinstance(data, dict) else list(data)
    copy[head] = with_value(data[head], rest, value) if rest else value
    return copy


def without(data: Any, path: PathTuple) -> Any:
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    if isinstance(parent, dict):
        smaller: Any = {key: value for key, value in parent.items() if key != path[-1]}
    else:
        smaller = [value for index, value in enumerate(parent) if index != path[-1]]
    return with_value(data, path[:-1], smaller)


def boundaries(schemas: list[Mapping[str, Any]]) -> Iterator[Any]:
    for schema in schemas:
        for keyword in ("minimum", "maximum"):
            if keyword in schema:
                bound = schema[keyword]
                yield from (bound - 1, bound, bound + 1, float(bound), bound - 0.5, bound + 0.5)
        for keyword in ("minLength", "maxLength"):
            if keyword in schema:
                size = schema[keyword]
                yield from ("a" * max(size - 1, 0), "a" * size, "a" * (size + 1), "1" * size, "é" * size)
        for option in [*schema.get("enum", []), *([schema["const"]] if "const" in schema else [])]:
            yield from (option, option.upper(), option + "\n", option[:-1], option + "x")


def variants(value: Any) -> Iterator[Any]:
    if isinstance(value, str):
        yield from (value + "\n", "\n" + value, value.upper(), value + " ", value + "é", value[:-1], value + "-",
                    "-" + value, value + ".", value + "_", value + "/", value + ":", value * 2)  # fmt: skip
    elif isinstance(value, bool):
        yield from (not value, int(value), str(value).lower())
    elif isinstance(value, (int, float)):
        yield from (value + 1, value - 1, -value, float(value), value + 0.5, str(value))
    elif isinstance(value, list) and value:
        yield from (value[:1], value[::-1], [*value, value[-1]])


def added_keys(mapping: dict[str, Any], schemas: list[Mapping[str, Any]]) -> Iterator[tuple[str, Any]]:
    yield "bogus", "v"
    yield "Name", "v"
    for schema in schemas:
        for key in schema.get("properties", {}):
            if key not in mapping:
                yield from ((key, "v"), (key, 1), (key, True), (key, {}))
        if "propertyNames" in schema:
            yield from ((key, "v") for key in LABEL_KEYS)


def resized(mapping_or_list: Any, schemas: list[Mapping[str, Any]]) -> Iterator[Any]:
    for schema in schemas:
        if isinstance(mapping_or_list, list) and mapping_or_list:
            for size in (schema.get("minItems"), schema.get("maxItems")):
                if size is not None:
                    yield from ([mapping_or_list[0]] * n for n in (max(size - 1, 0), size, size + 1))
        if isinstance(mapping_or_list, dict):
            for size in (schema.get("minProperties"), schema.get("maxProperties")):
                if size is not None:
                    for n in (max(size - 1, 0), size, size + 1):
                        yield {**{f"k{i}": "v" for i in range(n - len(mapping_or_list))}, **mapping_or_list}
                        yield dict(list(mapping_or_list.items())[:n])


def mutations(data: Any, root: Mapping[str, Any]) -> Iterator[tuple[Hashable, Any]]:
    """(key, mutated document) pairs; of the mutations with the same key only the first is asked, which keeps
    the 53 near-identical examples from costing 53 times. Our schemas relate the fields of a mapping only
    through which keys it has (required, dependentRequired, anyOf of required, min/maxProperties), never through
    their values, so: putting the same value at the same place is the same case whatever its siblings hold,
    while deleting or adding a key is a new case for every set of keys it leaves. The valid examples come first,
    so a value is first tried in a document that is otherwise valid."""
    yield ("document", as_key(data)), data
    for path, value in nodes(data):
        schemas = schemas_at(root, path)
        if path:
            smaller = without(data, path)
            yield (place(path), "<deleted>", keys_at(smaller, path[:-1])), smaller
        for replacement in (*ANY_TYPE, *boundaries(schemas), *variants(value), *resized(value, schemas)):
            yield (place(path), as_key(replacement)), with_value(data, path, replacement)
        if isinstance(value, dict):
            for key, added in added_keys(value, schemas):
                mutated = with_value(data, (*path, key), added)
                yield (place((*path, key)), as_key(added), keys_at(mutated, path)), mutated


def place(path: PathTuple) -> PathTuple:
    """The path as the schema sees it: every item of a list is checked by the same `items`."""
    return tuple("[]" if isinstance(part, int) else part for part in path)


def as_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


def keys_at(data: Any, path: PathTuple) -> Hashable:
    """The keys of the mapping at `path` (the length of a list), which is all its siblings add to a mutation."""
    for part in path:
        data = data[part]
    return tuple(sorted(data)) if isinstance(data, dict) else len(data) if isinstance(data, list) else None


# --- the tests ----------------------------------------------------------------------------------------------------


def describe(data: Any) -> str:
    return json.dumps(data, default=str)[:400]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_answers_equal_jsonschema_on_every_mutation(name: str) -> None:
    schema = SCHEMAS[name]
    quick = schemacheck.compile_schema(schema)
    # What spec.quick_check uses: `$ref` targets and properties compiled when a document first reaches them. One
    # check answers every mutation, as in a long-lived process: each answer must be the eager one whatever was
    # compiled before it.
    lazy = schemacheck.compile_schema(schema, lazy_refs=True)
    # The oracle is the validator spec/schema.py falls back on (local $refs inlined: three times faster than as written,
    # and test_schema holds the two to the same errors); every 25th document is also asked of the schema as written.
    inlined = Draft202012Validator(spec.inline_refs(schema, schema.get("$defs", {})))
    written = Draft202012Validator(schema)
    cases: dict[Hashable, Any] = {}
    for base in load_bases()[name]:
        for key, mutated in mutations(base, schema):
            cases.setdefault(key, mutated)
    disagreements: list[str] = []
    answers = {True: 0, False: 0}
    for index, mutated in enumerate(cases.values()):
        answer = quick(mutated)
        answers[answer] += 1
        if lazy(mutated) != answer:
            disagreements.append(f"lazily compiled says {not answer}, eagerly {answer}: {describe(mutated)}")
        truth = inlined.is_valid(mutated)
        if answer != truth or (index % 25 == 0 and written.is_valid(mutated) != truth):
            disagreements.append(f"schemacheck says {answer}, jsonschema {truth}: {describe(mutated)}")
    assert not disagreements, f"{len(disagreements)} of {len(cases)}:\n" + "\n".join(disagreements[:10])
    # Both answers must be well represented, or the mutations do not reach the keywords.
    assert min(answers.values()) > len(cases) // 50, answers


def test_boundaries_that_python_and_json_schema_see_differently() -> None:
    check = schemacheck.compile_schema(SCHEMAS["release"]["$defs"]["dnsLabel"] | {"$defs": {}})
    truth = Draft202012Validator(SCHEMAS["release"]["$defs"]["dnsLabel"])
    for value in ["hello", "hello\n", "a" * 63, "a" * 64, "é", "", 1, True, None]:
        assert check(value) == truth.is_valid(value), value
    number = schemacheck.compile_schema({"type": "integer", "minimum": 1, "maximum": 99})
    assert [number(v) for v in (1, 1.0, 99.0, 1.5, True, math.nan, math.inf, 0, 100)] == [
        True, True, True, False, False, False, False, False, False,
    ]  # fmt: skip
    bounds = {"minimum": 1, "maximum": 2}  # jsonschema errs on `x < minimum`: NaN passes
    values = [math.nan, math.inf, -math.inf, 1, 2, 0, 3, 1.5, True, "x", None]
    assert [schemacheck.compile_schema(bounds)(v) for v in values] == [
        Draft202012Validator(bounds).is_valid(v) for v in values
    ]
    const = schemacheck.compile_schema({"enum": [1, "a", [True], {"k": None}]})
    assert [const(v) for v in (1.0, True, "a", [True], [1], {"k": None}, {"k": 0})] == [
        True, False, True, True, False, True, False,
    ]  # fmt: skip


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_shipped_schema_compiles(name: str) -> None:
    """Else spec/schema.py would fall back to jsonschema on every document and the hook would be slow again."""
    schemacheck.compile_schema(SCHEMAS[name])
    assert spec.quick_check(f"{name}.schema.json") is not None


@pytest.mark.parametrize(
    "schema",
    [
        {"format": "email"},
        {"type": "object", "patternProperties": {"^x": {}}},
        {"prefixItems": [{}]},
        {"$ref": "https://example.com/other.json"},
        {"$ref": "#/$defs/missing"},
        {"$defs": {"loop": {"items": {"$ref": "#/$defs/loop"}}}, "$ref": "#/$defs/loop"},
        {"properties": {"a": {"$id": "nested"}}},
        {"type": "decimal"},
        {"items": 3},
    ],
)
def test_what_it_does_not_implement_is_refused(schema: dict[str, Any]) -> None:
    with pytest.raises(schemacheck.Unsupported):
        schemacheck.compile_schema(schema)


# Validating a valid spec (the pre-commit hook, on every commit) loads none of these: third-party packages only
# an invalid document (jsonschema and its dependencies) or other commands need, the layers above the spec layer,
# and standard modules only other paths need (dataclasses with inspect: records come from generator.records;
# hashlib, which loads OpenSSL: imported by generator.fingerprint and the render cache when they first hash).
# typing, argparse (with shutil and locale) and json are on the path: the start-up tricks that kept them off it cost
# more to maintain than they saved (issue 27 item 5).
NOT_ON_THE_VALIDATE_PATH = (
    "jsonschema", "referencing", "attrs", "attr", "rpds", "git", "jinja2", "ruamel",
    "generator.render", "generator.plan", "generator.wiring", "generator.gitops", "generator.workload",
    "generator.model", "generator.spec.build",  # engine facts come from generator.facts; no release is built
    "dataclasses", "inspect", "hashlib", "_hashlib", "tempfile", "subprocess",
)


def _imported_by_validate(cwd: Path, spec: str) -> tuple[str, list[str]]:
    """validate's exit code and the listed modules it loads beyond the interpreter's own start-up (tests/imports.py)."""
    script = (
        "from generator.cli import main\n"
        f"code = main(['validate', {spec!r}])\n"
        "print(code)\n"
    )
    out, loaded = imported(script, cwd=cwd)
    return out.splitlines()[-1], sorted(m for m in loaded if m.startswith(NOT_ON_THE_VALIDATE_PATH))


def test_a_valid_spec_is_validated_without_importing_jsonschema() -> None:
    assert _imported_by_validate(ROOT, "examples/hello-rollouts-canary.yaml") == ("0", [])


def test_in_a_config_repo_rollgen_yaml_is_read_without_importing_jsonschema(tmp_path: Path) -> None:
    """The real pre-commit setting: `rollgen validate releases/hello.yaml` in a repo `rollgen init` made, which
    also loads and checks rollgen.yaml (config.schema.json through the quick check)."""
    repo = tmp_path / "repo"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "generator", "init", str(repo)], env=env, capture_output=True, check=True)
    assert (repo / "rollgen.yaml").is_file()
    assert _imported_by_validate(repo, "releases/hello.yaml") == ("0", [])


def test_an_invalid_spec_still_gets_jsonschema_messages(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    text = (ROOT / "examples" / "hello-rollouts-canary.yaml").read_text().replace("weight: 50}", "weight: 100}")
    bad.write_text(text)
    script = (
        "import sys\n"
        "from generator.cli import main\n"
        f"code = main(['validate', {str(bad)!r}])\n"
        "print(code, 'jsonschema' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "out of range: must be from 1 to 99" in done.stdout
    assert done.stdout.splitlines()[-1] == "1 True"
