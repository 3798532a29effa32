"""The positioned loader: plain YAML 1.2 data, exact positions, and every file-level mistake as a Problem."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from generator.errors import InvalidInput, Problem
from generator.spec.loader import MAX_ALIAS_NODES, MAX_BYTES, Document, load_file, load_single, load_text

ROOT = Path(__file__).resolve().parents[2]
YAML_FILES = sorted((ROOT / "examples").glob("*.yaml")) + sorted((ROOT / "overlays").glob("*.yaml"))


def problems_of(text: str | bytes) -> list[Problem]:
    with pytest.raises(InvalidInput) as info:
        load_text(text, "spec.yaml")
    return info.value.problems


def only_problem(text: str | bytes) -> Problem:
    problems = problems_of(text)
    assert len(problems) == 1, problems
    return problems[0]


def one(text: str) -> Document:
    docs = load_text(text, "spec.yaml")
    assert len(docs) == 1
    return docs[0]


def assert_plain(value: Any) -> None:
    assert type(value) in (dict, list, str, int, float, bool, type(None)), type(value)
    if isinstance(value, dict):
        for key, item in value.items():
            assert type(key) is str
            assert_plain(item)
    elif isinstance(value, list):
        for item in value:
            assert_plain(item)


# --- data ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: p.name)
def test_data_matches_ruamel_yaml_on_shipped_files(path: Path) -> None:
    # The loader runs on LibYAML for speed; ruamel.yaml (YAML 1.2) is the reference for what the data is.
    expected = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    [doc] = load_file(path)
    assert doc.data == expected
    assert_plain(doc.data)


@pytest.mark.parametrize(
    "scalar",
    ["012", "0o12", "0x1F", "1_000", "0b11", "-0", "+1", "1.5", "1e3", "1.", ".5", "-.inf", ".NaN", "yes",
     "no", "on", "off", "y", "~", "Null", "TRUE", "False", "1:30", "0.5.1", ".", "v1", "5m", "1e", "0x"],
)  # fmt: skip
def test_scalars_resolve_like_ruamel_yaml_1_2(scalar: str) -> None:
    expected = YAML(typ="safe", pure=True).load(f"a: {scalar}\n")["a"]
    got = one(f"a: {scalar}\n").data["a"]
    if isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(got)
    else:
        assert (type(got), got) == (type(expected), expected)


def test_timestamps_stay_strings() -> None:
    assert one("since: 2024-05-01\nat: 2024-05-01T10:00:00Z\n").data == {
        "since": "2024-05-01",
        "at": "2024-05-01T10:00:00Z",
    }


def test_explicit_core_tags_convert() -> None:
    data = one("a: !!str 5\nb: !!int '7'\nc: !!float 3\nd: !!bool 'true'\ne: !!null ''\n").data
    assert data == {"a": "5", "b": 7, "c": 3.0, "d": True, "e": None}
    assert type(data["c"]) is float


def test_merge_keys_written_keys_win() -> None:
    doc = one("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n")
    assert doc.data["m"] == {"x": 1, "y": 3}
    assert doc.locate(("m", "y")) == (4, 6)
    assert doc.locate(("m", "x")) == (1, 14)


def test_aliases_within_budget_are_expanded() -> None:
    doc = one("steps: &s [{weight: 5}, {weight: 50}]\nprod: {steps: *s}\n")
    assert doc.data["prod"]["steps"] == [{"weight": 5}, {"weight": 50}]


def test_utf8_bom_is_accepted_and_columns_ignore_it() -> None:
    [doc] = load_text("\ufeffa: 1\nb: x\n".encode(), "spec.yaml")
    assert doc.data == {"a": 1, "b": "x"}
    assert doc.locate(("a",)) == (1, 4)


# --- positions ----------------------------------------------------------------------------------------

SPEC = """\
apiVersion: rollgen.io/v1alpha1
kind: Release
metadata:
  name: hello
spec:
  strategy:
    canary:
      steps:
        - {weight: 5, pause: 5m}
        - weight: 20
          pause: 10m
  labels:
    "app.kubernetes.io/part-of": shop
  query: |
    sum(rate(x[1m]))
"""


@pytest.mark.parametrize(
    ("path", "value", "key"),
    [
        ((), (1, 1), (1, 1)),
        (("kind",), (2, 7), (2, 1)),
        (("metadata",), (4, 3), (3, 1)),
        (("metadata", "name"), (4, 9), (4, 3)),
        (("spec", "strategy", "canary", "steps"), (9, 9), (8, 7)),
        (("spec", "strategy", "canary", "steps", 0), (9, 11), (9, 11)),
        (("spec", "strategy", "canary", "steps", 0, "pause"), (9, 30), (9, 23)),
        (("spec", "strategy", "canary", "steps", 1, "weight"), (10, 19), (10, 11)),
        (("spec", "strategy", "canary", "steps", 1, "pause"), (11, 18), (11, 11)),
        (("spec", "labels", "app.kubernetes.io/part-of"), (13, 34), (13, 5)),
        (("spec", "query"), (14, 10), (14, 3)),
    ],
)
def test_locate_value_and_key(path: tuple[str | int, ...], value: tuple[int, int], key: tuple[int, int]) -> None:
    doc = one(SPEC)
    assert doc.locate(path) == value
    assert doc.locate_key(path) == key


def test_missing_path_points_at_nearest_existing_ancestor() -> None:
    doc = one(SPEC)
    assert doc.locate(("spec", "strategy", "canary", "steps", 1, "nope")) == (10, 11)
    assert doc.locate(("spec", "strategy", "canary", "steps", 7, "weight")) == (9, 9)
    assert doc.locate(("spec", "image")) == (6, 3)
    assert doc.locate_key(("spec", "image")) == (6, 3)
    assert doc.locate(("nothing", "at", "all")) == (1, 1)


def test_document_fields() -> None:
    docs = load_text("a: 1\n---\nb: 2\n", "dir/x.yaml")
    assert [(d.source, d.index, d.data) for d in docs] == [("dir/x.yaml", 0, {"a": 1}), ("dir/x.yaml", 1, {"b": 2})]
    assert docs[1].locate(("b",)) == (3, 4)
    with pytest.raises(AttributeError):
        docs[0].data = {}  # type: ignore[misc]


# --- file-level mistakes ------------------------------------------------------------------------------


def test_duplicate_key_at_second_naming_first() -> None:
    problem = only_problem("spec:\n  image: a:v1\n  replicas: 2\n  image: a:v2\n")
    assert problem == Problem(
        "spec.yaml", 4, 3, "$.spec.image",
        "duplicate key 'image' (first at line 2); YAML would silently keep only the last one: remove one of them",
    )  # fmt: skip


def test_every_duplicate_and_bad_key_reported_together() -> None:
    problems = problems_of("a: 1\na: 2\nb:\n  5: x\n  true: y\n  ~: z\n  [l]: w\n  on: fine\n")
    assert [(p.line, p.column, p.path) for p in problems] == [
        (2, 1, "$.a"), (4, 3, "$.b"), (5, 3, "$.b"), (6, 3, "$.b"), (7, 3, "$.b"),
    ]  # fmt: skip
    assert problems[1].message == "key '5' is an integer, not a string; quote it: '5'"
    assert problems[2].message == "key 'true' is a boolean, not a string; quote it: 'true'"
    assert problems[4].message == "a key must be a plain string, not a list"


def test_alias_bomb_refused_at_the_alias() -> None:
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 6):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    problem = only_problem("\n".join(lines) + "\n")
    # l3 is the first list to expand past the budget (l2 is 1,111 nodes); a node's position is where
    # its anchor is written
    assert (problem.line, problem.column) == (4, 5)
    assert problem.path.startswith("$.l3[")
    assert f"aliases expand to more than {MAX_ALIAS_NODES} nodes" in problem.message


def test_recursive_alias_refused() -> None:
    problem = only_problem("a: &a\n  b: *a\n")
    assert (problem.line, problem.column, problem.path) == (2, 3, "$.a.b")
    assert "refers to a node that contains it" in problem.message


def test_merge_of_a_scalar_refused() -> None:
    problem = only_problem("x: &x 5\ny:\n  <<: *x\n")
    assert (problem.line, problem.column, problem.path) == (3, 3, "$.y")
    assert "merge key" in problem.message


@pytest.mark.parametrize(
    ("text", "line", "column", "tag"),
    [
        ("a: !!python/object:os.system x\n", 1, 4, "!!python/object:os.system"),
        ("a: 1\nb: !!python/object/apply:os.system ['ls']\n", 2, 4, "!!python/object/apply:os.system"),
        ("a:\n  b: !Ref x\n", 2, 6, "!Ref"),
        ("a: !!binary aGk=\n", 1, 4, "!!binary"),
        ("a: !!set {x: null}\n", 1, 4, "!!set"),
    ],
)
def test_unknown_tags_refused(text: str, line: int, column: int, tag: str) -> None:
    problem = only_problem(text)
    assert (problem.line, problem.column) == (line, column)
    assert problem.message.startswith(f"unknown tag {tag}; remove it")


def test_core_tag_with_wrong_text_refused() -> None:
    problem = only_problem("a: !!int five\n")
    assert (problem.line, problem.column, problem.path) == (1, 4, "$.a")
    assert problem.message == "'five' is not a valid !!int; fix the value or drop the tag"


@pytest.mark.parametrize(
    ("text", "line", "column", "says"),
    [
        ("a: 1\nb: c: d\n", 2, 5, "mapping values are not allowed"),
        ("a:\n\t- b\n", 2, 1, "indent with spaces"),
        ("a:\n  b: 1\n c: 2\n", 3, 2, "did not find expected key|expected <block end>"),  # LibYAML|Python
        ("a: [1, 2\nb: 3\n", 2, 2, "close it with ]"),
        ("a: 'open\n", 2, 1, "YAML syntax error"),
        ("a: *nowhere\n", 1, 4, "define the anchor"),
        ("a: @x\n", 1, 4, "quote the value"),
    ],
)
def test_syntax_errors_carry_parser_position(text: str, line: int, column: int, says: str) -> None:
    problem = only_problem(text)
    assert (problem.file, problem.line, problem.column, problem.path) == ("spec.yaml", line, column, "$")
    assert any(wording in problem.message for wording in says.split("|")), problem.message
    assert problem.message.startswith("YAML syntax error") or "character" in problem.message


def test_control_character_located_in_characters_not_bytes() -> None:
    problem = only_problem("name: héllo\nb: x\x07\n")
    assert (problem.line, problem.column) == (2, 5)
    assert "U+0007" in problem.message


def test_non_utf8_located_at_the_byte() -> None:
    problem = only_problem("name: hé\nimage: caf".encode() + b"\xe9\n")
    assert (problem.line, problem.column) == (2, 11)
    assert problem.message == "byte 0xe9 is not valid UTF-8; save the file as UTF-8"


def test_nul_bytes_mean_binary() -> None:
    problem = only_problem(b"a: 1\nb: \x00\x01\x02")
    assert (problem.line, problem.column, problem.path) == (2, 4, "$")
    assert "binary" in problem.message


def test_utf16_named() -> None:
    problem = only_problem("a: 1\n".encode("utf-16"))
    assert (problem.line, problem.column) == (1, 1)
    assert problem.message == "file is UTF-16-encoded; save it as UTF-8"


def test_size_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# padding\n" * (MAX_BYTES // 10 + 1))
    with pytest.raises(InvalidInput) as info:
        load_file(big)
    [problem] = info.value.problems
    size = big.stat().st_size
    assert problem == Problem(
        str(big), 1, 1, "$",
        f"file is {size} bytes; the limit is 1 MiB (1048576 bytes): a release spec is a few KiB, "
        "so check that this is the file you meant",
    )  # fmt: skip


def test_deep_nesting_refused_without_crashing_the_interpreter() -> None:
    # LibYAML's composer would overflow the C stack here; run it in a child so a regression cannot take
    # the test session down with it.
    code = (
        "from generator.spec.loader import load_text\n"
        "from generator.errors import InvalidInput\n"
        "try:\n"
        "    load_text('[' * 60000 + ']' * 60000, 'deep.yaml')\n"
        "except InvalidInput as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (
        "deep.yaml:1:101: $: the data nests more than 100 levels deep; a release spec needs fewer than ten"
    )


def test_moderate_nesting_past_the_limit_refused_in_process() -> None:
    problem = only_problem("- " * 150 + "x\n")
    assert "nests more than 100 levels" in problem.message


def test_unreadable_path(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as info:
        load_file(tmp_path, "folder.yaml")
    [problem] = info.value.problems
    assert (problem.file, problem.line, problem.column) == ("folder.yaml", 0, 0)
    assert problem.message.startswith("cannot read the file")


# --- one document -------------------------------------------------------------------------------------


def write(tmp_path: Path, text: str | bytes, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n", "\n\n"])
def test_load_single_empty(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    assert all(doc.data is None for doc in load_file(path))
    with pytest.raises(InvalidInput) as info:
        load_single(path, "spec.yaml")
    [problem] = info.value.problems
    assert (problem.line, problem.column, problem.path) == (1, 1, "$")
    assert problem.message.startswith("the file holds no YAML document")


def test_load_single_several(tmp_path: Path) -> None:
    path = write(tmp_path, "a: 1\n---\n# second\nb: 2\n---\nc: 3\n")
    assert len(load_file(path)) == 3
    with pytest.raises(InvalidInput) as info:
        load_single(path, "spec.yaml")
    [problem] = info.value.problems
    assert (problem.line, problem.column) == (4, 1)
    assert problem.message.startswith("expected one document, found 3; the second starts here")


def test_load_single_ignores_stray_separators(tmp_path: Path) -> None:
    doc = load_single(write(tmp_path, "---\na: 1\n---\n"))
    assert doc.data == {"a": 1}
    assert doc.index == 0


def test_display_name_defaults_to_path(tmp_path: Path) -> None:
    path = write(tmp_path, "a: 1\n")
    assert load_single(path).source == str(path)
    assert load_single(path, "releases/a.yaml").source == "releases/a.yaml"


def test_load_single_allow_empty_for_settings_files(tmp_path: Path) -> None:
    doc = load_single(write(tmp_path, "# every key is optional\n", "rollgen.yaml"), allow_empty=True)
    assert (doc.data, doc.index, doc.locate(("profiles",))) == (None, 0, (1, 1))


def test_problems_of_every_document_reported_together() -> None:
    problems = problems_of("a: 1\na: 2\n---\nb: !!binary x\n")
    assert [(p.line, p.column, p.path) for p in problems] == [(2, 1, "$.a"), (4, 4, "$.b")]


def test_pure_python_fallback_gives_the_same_results() -> None:
    # Where PyYAML is built without LibYAML, the loader runs on its pure-Python SafeLoader.
    code = (
        "import sys\n"
        "sys.modules['yaml._yaml'] = None\n"
        "from pathlib import Path\n"
        "from generator.spec import composer, loader\n"
        "from generator.errors import InvalidInput\n"
        "assert not composer.C_READER\n"
        "print(loader.load_file(Path('examples/hello-rollouts-canary.yaml'))[0].data['spec']['replicas'])\n"
        "for text in ['a: 1\\na: 2\\n', 'a: \\u00e9\\nb: \\x07\\n', 'a: 1\\nb: c: d\\n', '[' * 3000 + ']' * 3000]:\n"
        "    try:\n"
        "        loader.load_text(text, 'x')\n"
        "    except InvalidInput as exc:\n"
        "        print(*(f'{p.line}:{p.column}' for p in exc.problems))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["3", "2:1", "2:4", "2:5", "1:101"]


def _number_by_patterns(value: str) -> Any:
    """What `resolve_number` answered before its fast paths: both patterns, always."""
    import re

    from generator.spec import scalars

    if re.match(scalars.INT_RE, value) and value.strip("-+_"):
        return scalars.to_int(value)
    if value in scalars.SPECIAL_FLOATS:
        return scalars.SPECIAL_FLOATS[value]
    if re.match(scalars.FLOAT_RE, value):
        try:
            return float(value.replace("_", ""))
        except ValueError:  # `._` (it crashed with exit 3 before: now text)
            return value
    return value


def _same(one: Any, two: Any) -> bool:
    if isinstance(one, float) and isinstance(two, float) and math.isnan(one):
        return math.isnan(two)
    return type(one) is type(two) and one == two


def test_number_fast_paths_answer_as_the_patterns() -> None:
    """resolve_number answers digits and pattern-proof text without compiling INT_RE/FLOAT_RE (a cold
    validate's cost): every answer must be the patterns' own, on every short string over the characters they
    read plus a few they do not, and on random longer ones."""
    import itertools
    import random

    from generator.spec.scalars import resolve_number

    alphabet = "-+0189_.boxaeEfFsm ٣²\n"
    values = ["".join(chars) for size in range(1, 5) for chars in itertools.product(alphabet, repeat=size)]
    rng = random.Random(16)
    values += ["".join(rng.choice(alphabet) for _ in range(rng.randint(5, 14))) for _ in range(20_000)]
    values += [".inf", "-.Inf", ".NaN", "30s", "1h30m", "0x1F", "0o17", "012", "1_000", "1e3", "1.5e-3", "٣", "1\n"]
    for value in values:
        assert _same(_answer(resolve_number, value), _answer(_number_by_patterns, value)), value


def _answer(resolve: Any, value: str) -> Any:
    try:
        return resolve(value)
    except ValueError as exc:
        return f"ValueError: {exc}"


def test_a_float_shape_without_a_digit_is_text_not_a_crash(tmp_path: Path) -> None:
    """`._` matches FLOAT_RE but float(".") raises: it made `rollgen validate` exit 3 (a crash); it is text."""
    from generator.spec.scalars import resolve_number

    for value in ("._", "-._", "+.__"):
        assert resolve_number(value) == value
    spec = tmp_path / "hello.yaml"
    spec.write_text((ROOT / "examples" / "hello-rollouts-canary.yaml").read_text().replace("  replicas: 3", "  replicas: ._"))
    out = subprocess.run([sys.executable, "-m", "generator", "validate", str(spec)], cwd=ROOT, capture_output=True,
                         text=True, check=False)
    assert out.returncode == 1 and "hello.yaml:13:13: $.spec.replicas: expected a whole number, got '._'" in out.stdout
    assert "Traceback" not in out.stderr and "internal error" not in out.stderr
