"""`rollgen validate` through `main([...])`: exit codes, exact lines, JSON, folders, and never a traceback."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from generator.cli import main
from tests.imports import imported

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
VALID = sorted(EXAMPLES.glob("*.yaml"))
INVALID = sorted((EXAMPLES / "invalid").glob("*.yaml"))
EXPECT = re.compile(rb"^# expect: ", re.MULTILINE)
HELLO = (EXAMPLES / "hello-rollouts-canary.yaml").read_text(encoding="utf-8")


def validate(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main(["validate", *map(str, args)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "internal error" not in err
    return code, out, err


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


# --- valid input --------------------------------------------------------------------------------------


def test_valid_spec_exits_0_and_prints_only_the_summary(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    spec = write(tmp_path, "hello.yaml", HELLO)
    assert validate(capsys, spec) == (0, "", "1 file, 0 problems\n")


def test_every_valid_example_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = validate(capsys, *VALID)
    assert (code, out, err) == (0, "", f"{len(VALID)} files, 0 problems\n")


# --- loader-level mistakes, exact positions -------------------------------------------------------------

LOADER_CASES = {
    "duplicate key": (
        HELLO.replace("  replicas: 3\n", "  replicas: 3\n  replicas: 4\n"),
        (
            "14:3: $.spec.replicas: duplicate key 'replicas' (first at line 13); YAML would silently keep only "
            "the last one: remove one of them"
        ),
    ),
    "syntax": (
        HELLO.replace("  image: ghcr.io/kmaster8/hello:v2\n", "  image: ghcr.io/kmaster8/hello: v2\n"),
        (
            "12:32: $: YAML syntax error: mapping values are not allowed in this context; quote the value if it "
            "contains ': ', or fix the indentation"
        ),
    ),
    "tab": (
        HELLO.replace("    host: hello.example.com\n", "\thost: hello.example.com\n"),
        "17:1: $: YAML syntax error:",
    ),
    "non-string key": (
        HELLO.replace("  labels: {team: web}\n", "  labels: {team: web, 2024: yes}\n"),
        "8:23: $.metadata.labels: key '2024' is an integer, not a string; quote it: '2024'",
    ),
    "python tag": (
        HELLO.replace("  replicas: 3\n", "  replicas: !!python/object/apply:os.system [id]\n"),
        "13:13: $.spec.replicas: unknown tag !!python/object/apply:os.system; remove it",
    ),
    "several documents": (HELLO + "---\n" + HELLO, "45:1: $: expected one document, found 2"),
    "empty": ("# nothing yet\n", "1:1: $: the file holds no YAML document"),
    "non-UTF-8": (HELLO.encode().replace(b"team: web", b"team: w\xe9b"), "8:19: $: byte 0xe9 is not valid UTF-8"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "3:1: $: file contains a NUL byte"),
    "alias bomb": (
        HELLO.replace(
            "  labels: {team: web}\n",
            "  labels: {team: web}\nx:\n  a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
            + "".join(f"  {n}: &{n} [" + ", ".join([f"*{p}"] * 10) + "]\n" for p, n in zip("abc", "bcd")),
        ),
        "13:6: $.x.d[",
    ),
}


@pytest.mark.parametrize("case", LOADER_CASES, ids=list(LOADER_CASES))
def test_loader_mistake_is_one_located_line(capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str) -> None:
    text, expected = LOADER_CASES[case]
    spec = write(tmp_path, "spec.yaml", text)
    code, out, err = validate(capsys, spec)
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 1, out
    assert lines[0].startswith(f"{spec}:{expected}"), lines[0]
    assert err == "1 file, 1 problem\n"


def test_too_big(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    spec = write(tmp_path, "big.yaml", HELLO + "# padding padding padding\n" * 50_000)
    code, out, _ = validate(capsys, spec)
    size = spec.stat().st_size
    assert code == 1
    assert out.startswith(f"{spec}:1:1: $: file is {size} bytes; the limit is 1 MiB")


# --- schema-level mistakes ----------------------------------------------------------------------------


def test_schema_problems_are_located_and_all_reported(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = HELLO.replace("      steps:\n", "      stpes:\n").replace("  containerPort: 5050\n", "  containerPort: 0\n")
    spec = write(tmp_path, "hello.yaml", text)
    code, out, err = validate(capsys, spec)
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith(f"{spec}:14:18: $.spec.containerPort: ")
    assert any(line.startswith(f"{spec}:24:7: $.spec.strategy.canary.stpes: ") and "'steps'" in line for line in lines)
    assert err == f"1 file, {len(lines)} problems\n"


def test_every_invalid_example_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = validate(capsys, *INVALID)
    assert code == 1
    expected = sum(len(EXPECT.findall(path.read_bytes()[:2000])) for path in INVALID)
    lines = out.splitlines()
    assert len(lines) == expected
    assert {line.split(":", 1)[0] for line in lines} == {str(path) for path in INVALID}
    assert err == f"{len(INVALID)} files, {expected} problems\n"


# --- folders and paths --------------------------------------------------------------------------------


def mixed_folder(root: Path) -> Path:
    folder = root / "releases"
    write(folder, "a-good.yaml", HELLO)
    write(folder, "team/b-good.yml", HELLO.replace("name: hello", "name: hello-b"))
    write(folder, "team/c-bad.yaml", HELLO.replace("  replicas: 3\n", "  replicas: three\n"))
    write(folder, "team/d-broken.yaml", "kind: Release\nspec: [\n")
    write(folder, "not-a-release.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    write(folder, "nested-kind.yaml", "items:\n  - kind: Release\n")
    write(folder, "notes.txt", "kind: Release\n")
    write(folder, ".hidden/e.yaml", HELLO)
    write(folder, "build/.f.yaml", HELLO)
    return folder


def test_folder_with_mixed_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = mixed_folder(tmp_path)
    code, out, err = validate(capsys, folder)
    assert code == 1
    assert err == "4 files, 2 problems\n"
    lines = out.splitlines()
    assert lines[0].startswith(f"{folder}/team/c-bad.yaml:13:13: $.spec.replicas: ")
    assert lines[1] == (
        f"{folder}/team/d-broken.yaml:3:1: $: YAML syntax error: did not find expected node content "
        "(while parsing a flow node started at line 3); a value is missing here: close the bracket or quote "
        "opened above, or quote the value"
    )


def test_files_are_taken_as_given(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    other = write(tmp_path, "configmap.yaml", "apiVersion: v1\nkind: ConfigMap\n")
    code, out, _ = validate(capsys, other)
    assert code == 1
    assert out.startswith(f"{other}:")


def test_missing_path_and_empty_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, out, err = validate(capsys, tmp_path / "nope.yaml", tmp_path / "empty")
    assert code == 1
    assert out.splitlines() == [
        (
            f"{tmp_path / 'empty'}: no release specs here: looked for .yaml/.yml files with a top-level "
            "`kind: Release`"
        ),
        f"{tmp_path / 'nope.yaml'}: no such file or folder; check the path",
    ]
    assert err == "0 files, 2 problems\n"


def test_same_file_twice_is_checked_once(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    spec = write(tmp_path, "x.yaml", HELLO.replace("  replicas: 3\n", "  replicas: three\n"))
    code, out, err = validate(capsys, spec, tmp_path)
    assert code == 1
    assert len(out.splitlines()) == 1
    assert err == "1 file, 1 problem\n"


def test_relative_paths_are_shown_as_given(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mixed_folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    _, out, _ = validate(capsys, "releases")
    assert out.startswith("releases/team/c-bad.yaml:13:13: ")


# --- JSON -----------------------------------------------------------------------------------------------


def test_json_format(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = mixed_folder(tmp_path)
    code = main(["validate", "--format", "json", str(folder)])
    out, err = capsys.readouterr()
    assert code == 1
    report = json.loads(out)
    assert report["summary"] == {"files": 4, "problems": 2, "valid": False}
    first = report["problems"][0]
    assert set(first) == {"file", "line", "column", "path", "message"}
    assert (first["file"], first["line"], first["column"], first["path"]) == (
        f"{folder}/team/c-bad.yaml", 13, 13, "$.spec.replicas",
    )  # fmt: skip
    assert err == "4 files, 2 problems\n"


def test_json_format_when_valid(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    spec = write(tmp_path, "hello.yaml", HELLO)
    assert main(["validate", "--format", "json", str(spec)]) == 0
    out, _ = capsys.readouterr()
    assert json.loads(out) == {"problems": [], "summary": {"files": 1, "problems": 0, "valid": True}}


# --- config repositories ------------------------------------------------------------------------------

CUSTOM_PROFILE = """\
apiVersion: rollgen.io/v1alpha1
kind: Profile
metadata:
  name: canary-lite
spec:
  replicas: 1
"""


def test_profiles_of_the_config_repo_are_known(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    spec_text = HELLO.replace("profile: staging,", "profile: canary-lite,")
    outside = write(tmp_path / "loose", "hello.yaml", spec_text)
    code, out, _ = validate(capsys, outside)
    assert code == 1 and "unknown profile 'canary-lite'" in out

    repo = tmp_path / "repo"
    write(repo, "rollgen.yaml", "profiles: profiles\n")
    write(repo, "profiles/canary-lite.yaml", CUSTOM_PROFILE)
    spec = write(repo, "releases/hello.yaml", spec_text)
    assert validate(capsys, spec) == (0, "", "1 file, 0 problems\n")


def test_config_repo_search_stops_at_the_git_root(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write(tmp_path, "rollgen.yaml", "profiles: profiles\n")
    write(tmp_path, "profiles/canary-lite.yaml", CUSTOM_PROFILE)
    (tmp_path / "inner" / ".git").mkdir(parents=True)
    spec = write(tmp_path / "inner", "hello.yaml", HELLO.replace("profile: staging,", "profile: canary-lite,"))
    code, out, _ = validate(capsys, spec)
    assert code == 1 and "unknown profile 'canary-lite'" in out


# --- the hook path stays light ------------------------------------------------------------------------

HEAVY = ("git", "jinja2", "generator.render.engines", "generator.render.pipeline", "generator.render.layout", "generator.render.emit",
         "generator.gitops.writer", "generator.gitops.repo", "generator.plan.progression", "requests", "ruamel")  # fmt: skip


def test_validate_imports_nothing_it_does_not_use() -> None:
    code = (
        "from generator.cli import main\n"
        f"assert main(['validate', {str(VALID[0])!r}]) == 0\n"
    )
    loaded = imported(code)[1]  # beyond the interpreter's own start-up (tests/imports.py)
    assert [m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY)] == []


# --- report helpers -------------------------------------------------------------------------------------


def test_problems_sorted_by_file_then_position_and_deduplicated() -> None:
    from generator.errors import Problem
    from generator.spec.report import format_text

    a2 = Problem("a.yaml", 2, 1, "$.x", "late")
    a1 = Problem("a.yaml", 1, 9, "$.y", "early")
    b0 = Problem("b.yaml", 0, 0, "$", "missing")
    assert format_text([b0, a2, a1, a2]) == "a.yaml:1:9: $.y: early\na.yaml:2:1: $.x: late\nb.yaml: missing\n"


@pytest.mark.parametrize(
    ("word", "expected"),
    [("stpes", "steps"), ("containerport", "containerPort"), ("replica", "replicas"), ("zzz", None),
     ("imgae", "image"), ("svc", None), ("stp", None), ("replicasss", "replicas"), ("mage", "image")],
)
def test_suggest(word: str, expected: str | None) -> None:
    from generator.spec.report import did_you_mean_in_parens, suggest

    choices = ["steps", "containerPort", "replicas", "image"]
    assert suggest(word, choices) == expected
    assert did_you_mean_in_parens(word, choices) == (f" (did you mean {expected!r}?)" if expected else "")


def test_a_flagger_ab_test_that_can_starve_is_valid_with_a_located_warning(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Flagger fails a check that finds no data; an A/B test without a load test may see none (issue 17 item 3)."""
    text = (EXAMPLES / "hello-flagger-abtest.yaml").read_text(encoding="utf-8")
    starving = text.split("    # Only requests with X-Canary")[0] + text.split("rate: 5}\n")[1]
    spec = write(tmp_path, "ab.yaml", starving)
    code, out, err = validate(capsys, spec)
    assert (code, out) == (0, "")
    warning, summary = err.splitlines()
    assert warning.startswith(f"{spec}:24:16: $.spec.analysis.metrics[0].name: warning: the built-in 'error-rate'")
    assert "analysis.loadTest" in warning and summary == "1 file, 0 problems"
    assert validate(capsys, EXAMPLES / "hello-flagger-abtest.yaml")[2] == "1 file, 0 problems\n"
