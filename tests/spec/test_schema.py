"""The JSON Schemas themselves, and how spec/schema.py turns their errors into located, fixable problems."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from generator import durations
from generator.render import loading
from generator.spec import release as spec
from generator.errors import Problem
from generator.spec.loader import load_single, load_text
from generator.model import Image
from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parents[2]
RELEASE = json.loads((ROOT / "schemas" / "release.schema.json").read_text())
PROFILE = json.loads((ROOT / "schemas" / "profile.schema.json").read_text())
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
INVALID = sorted((ROOT / "examples" / "invalid").glob("*.yaml"))

HELLO = """\
apiVersion: rollgen.io/v1alpha1
kind: Release
metadata:
  name: hello
  namespace: test
spec:
  engine: argo-rollouts
  image: ghcr.io/kmaster8/hello:v2
  containerPort: 5050
  service: {port: 5000}
  ingress: {host: hello.example.com}
  strategy:
    canary:
      steps:
        - {weight: 5, pause: 5m}
        - {weight: 50}
"""


def problems(text: str) -> list[Problem]:
    return loading.check_document(load_text(text, "spec.yaml")[0])


def formatted(text: str) -> list[str]:
    return [p.format() for p in problems(text)]


def def_schema(name: str) -> Draft202012Validator:
    return Draft202012Validator({"$defs": RELEASE["$defs"], "$ref": f"#/$defs/{name}"})


# --- the schema documents -------------------------------------------------------------------------------------


@pytest.mark.parametrize("schema", [RELEASE, PROFILE], ids=["release", "profile"])
def test_schema_is_valid_2020_12_with_id_and_title(schema: dict[str, Any]) -> None:
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].startswith("https://") and schema["title"] and schema["description"]


def test_profile_schema_shares_definitions_with_release_schema() -> None:
    for name, definition in PROFILE["$defs"].items():
        assert definition == RELEASE["$defs"][name], name


def object_schemas(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("type") == "object":
            yield node
        for value in node.values():
            yield from object_schemas(value)
    elif isinstance(node, list):
        for item in node:
            yield from object_schemas(item)


@pytest.mark.parametrize("schema", [RELEASE, PROFILE], ids=["release", "profile"])
def test_every_object_rejects_unknown_fields(schema: dict[str, Any]) -> None:
    for obj in object_schemas(schema):
        assert "additionalProperties" in obj, obj.get("title", obj)
        if "properties" in obj:
            assert obj["additionalProperties"] is False, obj.get("title")


def leaf_schemas(node: Any) -> Iterator[dict[str, Any]]:
    for obj in object_schemas(node):
        yield from obj.get("properties", {}).values()


@pytest.mark.parametrize("schema", [RELEASE, PROFILE], ids=["release", "profile"])
def test_every_field_is_typed(schema: dict[str, Any]) -> None:
    for field in leaf_schemas(schema):
        assert {"type", "const", "enum", "$ref"} & set(field), field


def patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        for value in node.values():
            yield from patterns(value)
    elif isinstance(node, list):
        for item in node:
            yield from patterns(item)


def test_patterns_mean_the_same_in_python_and_editors() -> None:
    # \d and \w match non-ASCII digits and letters in Python but not in ECMA-262 (editors): spell them out.
    for pattern in patterns(RELEASE):
        re.compile(pattern)
        assert "\\d" not in pattern and "\\w" not in pattern, pattern
        assert pattern.startswith("^") and pattern.endswith("$"), pattern


def test_pattern_fields_carry_an_error_message_for_editors_and_spec_py() -> None:
    for name, definition in RELEASE["$defs"].items():
        if "pattern" in definition:
            assert definition.get("errorMessage"), name


# --- what each definition accepts ----------------------------------------------------------------------------

ACCEPTS = {
    "dnsLabel": ["hello", "a", "hello-2", "x" * 63, "0abc"],
    "host": ["hello.example.com", "localhost", "a-b.c-d.example", "xn--bcher-kva.example"],
    "image": [
        "ghcr.io/kmaster8/hello:v2",
        "hello:1.0",
        "registry.local:5000/team/app:2024.01.01-rc_1",
        "docker.io/library/nginx@sha256:" + "a" * 64,
        "ghcr.io/org/app:v1@sha256:" + "0" * 64,
        "ghcr.io/org/my__app/sub-path:latest",
    ],
    "duration": ["30s", "5m", "1h", "1h30m", "1h0m5s", "0s", "90s"],
    "labelKey": ["team", "app.kubernetes.io/part-of", "example.com/a_b.c", "A" * 63, "x/" + "y" * 63],
    "labelValue": ["", "web", "v1.2.3", "a_b-c.d", "A" * 63],
    "headerName": ["X-Canary", "canary", "x.y~z"],
    "headerValue": ["always", "insider", "a/b:c", "v1.2_3~4"],
    "cookieName": ["canary", "my_cookie", "c.o-o~kie"],
    "portName": ["http", "web-2", "h" * 15],
    "objectName": ["nginx", "hello-tls", "a.b.c"],
}
REJECTS = {
    "dnsLabel": ["", "Hello", "hello_world", "-hello", "hello-", "x" * 64, "héllo", "a.b"],
    "host": ["*.example.com", "Hello.example.com", "hello.example.com:443", "https://hello.example.com", "a..b", ""],
    "image": [
        "ghcr.io/kmaster8/hello",
        "hello",
        "ghcr.io/Org/app:v1",
        "ghcr.io/org/app:",
        "ghcr.io/org/app:-bad",
        "ghcr.io/org/app@sha256:abc",
        "ghcr.io/org/app:v1 ",
        "registry.local:5000/app",
    ],
    "duration": ["", "5", "5min", "1d", "m", "1m1h", "-5m", "1.5h", "٣s"],
    "labelKey": ["", "-team", "team-", "a/b/c", "Example.com/x", "x" * 64, "/team", "a" * 254 + "/b"],
    "labelValue": ["web team", "-web", "web-", "x" * 64, "é"],
    "headerName": ["X Canary", "X_Canary", "X:Canary", "", "X/Canary"],
    "headerValue": ["yes please", "a;b", "a=b", "", "ü", "a,b"],
    "cookieName": ["can ary", "a;b", "a=b", "a/b", ""],
    "portName": ["HTTP", "h" * 16, "-http"],
    "objectName": ["Hello", "a_b", ""],
}


@pytest.mark.parametrize("name", sorted(ACCEPTS))
def test_definitions_accept(name: str) -> None:
    validator = def_schema(name)
    for value in ACCEPTS[name]:
        assert validator.is_valid(value), (name, value)


@pytest.mark.parametrize("name", sorted(REJECTS))
def test_definitions_reject(name: str) -> None:
    validator = def_schema(name)
    for value in REJECTS[name]:
        assert not validator.is_valid(value), (name, value)


def test_every_accepted_image_parses_in_the_model() -> None:
    for ref in ACCEPTS["image"]:
        assert Image.parse(ref).ref == ref


def test_every_accepted_duration_parses() -> None:
    for text in ACCEPTS["duration"]:
        durations.parse(text)


@pytest.mark.parametrize(
    "name, good, bad",
    [
        ("weight", [1, 99], [0, 100, 5.5, "5"]),
        ("replicas", [0, 1000], [-1, 1001, "3"]),
        ("port", [1, 65535], [0, 65536, "80"]),
    ],
)
def test_number_bounds(name: str, good: list[Any], bad: list[Any]) -> None:
    validator = (
        Draft202012Validator({"$defs": RELEASE["$defs"], "$ref": "#/$defs/step/properties/weight"})
        if name == "weight"
        else def_schema(name)
    )
    assert all(validator.is_valid(v) for v in good)
    assert not any(validator.is_valid(v) for v in bad)


def test_ingress_path_must_start_with_slash_and_be_plain() -> None:
    path_schema = RELEASE["$defs"]["ingress"]["properties"]["path"]
    validator = Draft202012Validator(path_schema)
    assert all(validator.is_valid(p) for p in ["/", "/api", "/api/v1_2-x/"])
    assert not any(validator.is_valid(p) for p in ["", "api", "/a b", "/a.b", "/(.*)", "/a?b"])


def test_prometheus_must_be_an_http_url() -> None:
    validator = Draft202012Validator(RELEASE["$defs"]["analysis"]["properties"]["prometheus"])
    assert validator.is_valid("http://prometheus.monitoring:9090")
    assert validator.is_valid("https://prom.example.com/api/prefix")
    assert not any(validator.is_valid(u) for u in ["prometheus:9090", "ftp://x", "http://", "http://a b"])


def test_inlined_validator_agrees_with_the_schema_as_written() -> None:
    written = Draft202012Validator(RELEASE)
    for path in EXAMPLES + INVALID:
        try:
            data = load_single(path).data
        except Exception:
            continue
        inlined = sorted(e.message for e in spec.validator(spec.RELEASE_SCHEMA).iter_errors(data))
        assert inlined == sorted(e.message for e in written.iter_errors(data)), path.name


def test_valid_examples_pass_check_jsonschema() -> None:
    """check-jsonschema (the usual schema hook) agrees with us on the bundled examples."""
    tool = require_tool("check-jsonschema")
    schema = ROOT / "schemas" / "release.schema.json"
    result = subprocess.run([tool, "--schemafile", str(schema), *map(str, EXAMPLES)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_validation_is_fast() -> None:
    docs = [load_single(path) for path in EXAMPLES]
    loading.check_document(docs[0])  # compile the validator, load profiles
    start = time.perf_counter()
    for index in range(500):
        loading.check_document(docs[index % len(docs)])
    assert time.perf_counter() - start < 2.0  # about 0.3 s on a laptop; generous for loaded CI machines


# --- messages ---------------------------------------------------------------------------------------------------


def test_clean_spec_has_no_problems() -> None:
    assert problems(HELLO) == []


def test_unknown_field_points_at_the_key_with_a_suggestion() -> None:
    text = HELLO.replace("  containerPort: 5050", "  containerPort: 5050\n  replcias: 2")
    assert formatted(text) == ["spec.yaml:10:3: $.spec.replcias: unknown field 'replcias'; did you mean 'replicas'?"]


def test_unknown_field_without_close_match_lists_the_allowed_ones() -> None:
    text = HELLO.replace("  name: hello", "  name: hello\n  owner: me")
    (problem,) = problems(text)
    assert problem.path == "$.metadata.owner"
    assert "allowed here: labels, name, namespace" in problem.message


def test_misspelt_required_field_is_one_problem() -> None:
    text = HELLO.replace("  image:", "  imgae:")
    assert formatted(text) == ["spec.yaml:8:3: $.spec.imgae: unknown field 'imgae'; did you mean 'image'?"]


def test_missing_field_points_at_its_parent() -> None:
    text = HELLO.replace("  ingress: {host: hello.example.com}\n", "")
    (problem,) = problems(text)
    assert (problem.line, problem.column, problem.path) == (7, 3, "$.spec.ingress")
    assert "required field 'ingress' is missing" in problem.message


def test_enum_suggests_the_closest_value() -> None:
    (problem,) = problems(HELLO.replace("engine: argo-rollouts", "engine: argo-rollout"))
    assert problem.message.endswith("did you mean 'argo-rollouts'?")
    assert (problem.line, problem.column) == (7, 11)


def test_exactly_one_strategy() -> None:
    (problem,) = problems(HELLO.replace("  strategy:\n", "  strategy:\n    blueGreen: {}\n"))
    assert problem.path == "$.spec.strategy"
    assert "exactly one of canary | blueGreen | abTest (found: blueGreen, canary)" in problem.message
    (problem,) = problems(HELLO.split("  strategy:")[0] + "  strategy: {}\n")
    assert "exactly one of canary | blueGreen | abTest (found: none)" in problem.message


def test_type_errors_name_both_types() -> None:
    (problem,) = problems(HELLO.replace("replicas", "x").replace("containerPort: 5050", 'containerPort: "5050"'))
    assert problem.message == "expected a whole number, got '5050'"


def test_bad_label_key_points_at_the_key() -> None:
    text = HELLO.replace("  namespace: test", "  namespace: test\n  labels:\n    'bad key': x")
    (problem,) = problems(text)
    assert (problem.line, problem.column, problem.path) == (7, 5, "$.metadata.labels['bad key']")
    assert "is not a Kubernetes label key" in problem.message


def test_every_problem_is_reported_in_document_order() -> None:
    text = HELLO.replace("name: hello", "name: Hello").replace("weight: 50", "weight: 500").replace("5000", "0")
    assert [p.path for p in problems(text)] == [
        "$.metadata.name",
        "$.spec.service.port",
        "$.spec.strategy.canary.steps[1].weight",
    ]


def test_long_values_are_cut_short_in_messages() -> None:
    (problem,) = problems(HELLO.replace("name: hello", "name: " + "h" * 70))
    assert "(70 characters, at most 63)" in problem.message
    assert len(problem.message) < 300


def test_meaning_checks_wait_for_a_schema_valid_document() -> None:
    text = HELLO.replace("weight: 50", "weight: 3").replace("name: hello", "name: Hello")
    assert [p.path for p in problems(text)] == ["$.metadata.name"]


def test_durations_parse_as_the_patterns_it_replaced() -> None:
    """durations.parse reads without regular expressions (a cold validate's cost); every answer must be what
    `re.match(r"^(?:\\d+h)?(?:\\d+m)?(?:\\d+s)?$")` and `re.findall(r"(\\d+)(h|m|s)")` gave, errors included."""
    import itertools
    import random

    def by_patterns(text: str) -> int | str:
        if not text or not re.match(r"^(?:\d+h)?(?:\d+m)?(?:\d+s)?$", text):
            return "ValueError"
        return sum(int(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in re.findall(r"(\d+)(h|m|s)", text))

    def parsed(text: str) -> int | str:
        try:
            return durations.parse(text)
        except ValueError:
            return "ValueError"

    alphabet = "019hms\n ٣²x"
    texts = ["".join(chars) for size in range(6) for chars in itertools.product(alphabet, repeat=size)]
    rng = random.Random(16)
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(6, 12))) for _ in range(20_000)]
    texts += ["1h30m", "90s", "1h2m3s\n", "10m\n\n", "٣m", "0s"]
    assert [text for text in texts if parsed(text) != by_patterns(text)] == []
