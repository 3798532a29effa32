"""The reference pages (docs/reference/) are what generator.docs writes from the schemas and the parser, every
schema field says what it is for, and every command's --help has a description and an example that parses."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator import docs, helptext
from generator.cli import COMMANDS, build_parser
from tests.conftest import ROOT, require_tool


def test_the_reference_pages_are_current() -> None:
    stale = docs.stale()
    assert not stale, f"{', '.join(stale)}: stale; run `python -m generator.docs` and commit the result"


def test_the_refusals_reference_lists_a_refused_outcome() -> None:
    """An action refused as a workflow outcome (release --env of an environment that waits for another) exits 1
    like a raised refusal, so the reference lists its message too."""
    messages = docs.refusal_messages(docs.REFUSING)["generator/gitops/workflow.py"]
    assert any("by itself once it can" in message for message in messages), messages


@pytest.mark.slow
def test_check_names_a_stale_page_and_how_to_regenerate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(docs, "ROOT", tmp_path)
    monkeypatch.setattr(docs, "REFERENCE", tmp_path / "docs" / "reference")
    for name in ("schemas", "examples", "generator"):
        (tmp_path / name).symlink_to(ROOT / name)
    assert docs.main([]) == 0
    assert docs.main(["--check"]) == 0
    spec = tmp_path / "docs" / "reference" / "spec.md"
    spec.write_text(spec.read_text().replace("| `weight` |", "| `weigth` |"))
    assert docs.main(["--check"]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == (
        "docs/reference/spec.md: stale; run `python -m generator.docs` and commit the result")


def _documented_fields(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, property schema) of every property outside the Kubernetes definitions, which
    schemas/gen/k8s_workload.py generates without descriptions (the docs link Kubernetes' reference)."""
    defs = schema.get("$defs", {})

    def walk(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
        if isinstance(node, dict):
            for name, prop in node.get("properties", {}).items():
                yield f"{where}.{name}", prop
            for key, value in node.items():
                yield from walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for item in node:
                yield from walk(item, where)

    yield from walk({"properties": schema.get("properties", {})}, "root")
    for name, definition in defs.items():
        if not name.startswith("k8s.") and "k8s_workload" not in definition.get("$comment", ""):
            yield from walk(definition, name)


@pytest.mark.parametrize("name", ["release.schema.json", "config.schema.json", "profile.schema.json"])
def test_every_schema_field_has_a_description(name: str) -> None:
    schema = json.loads((ROOT / "schemas" / name).read_text())
    defs = schema.get("$defs", {})
    missing = []
    for where, prop in _documented_fields(schema):
        ref = prop.get("$ref", "").removeprefix("#/$defs/")
        if not prop.get("description") and not defs.get(ref, {}).get("description"):
            missing.append(where)
    assert not missing, f"fields without a description in schemas/{name}: {missing}"


def test_the_spec_reference_has_a_row_for_every_field() -> None:
    schema = json.loads((ROOT / "schemas" / "release.schema.json").read_text())
    page = docs.spec_reference()
    for name, definition in schema["$defs"].items():
        for field in definition.get("properties", {}) if not name.startswith("k8s.") else ():
            assert f"| `{field}`" in page, f"{name}.{field}"


def test_the_commands_reference_lists_every_command_and_option() -> None:
    page = docs.commands_reference()
    parser = build_parser()
    [sub] = [a for a in parser._actions if hasattr(a, "choices") and isinstance(a.choices, dict)]
    for name, command in sub.choices.items():
        assert f"## rollgen {name}\n" in page
        for action in command._actions:
            for option in action.option_strings:
                assert f"`{option}`" in page or option in ("-h", "--help"), (name, option)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_command_help_has_a_description_and_an_example_that_parses(
        command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert command in helptext.HELP, f"add {command}'s description and example to generator/helptext.py"
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([command, "--help"])
    assert done.value.code == 0
    shown = capsys.readouterr().out
    assert "\nexample:\n" in shown
    description, examples = helptext.HELP[command]
    assert description.split()[0] in shown
    for line in examples.splitlines():
        words = shlex.split(line)
        assert words[:2] == ["rollgen", command], line
        parsed = build_parser().parse_args(words[1:])  # exits 2 on a mistake in the example
        assert parsed.command == command


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("*.yaml")), ids=lambda p: p.name)
def test_each_example_says_what_it_shows_and_deploys_to_realistic_namespaces(example: Path) -> None:
    lines = example.read_text().splitlines()
    assert lines[0].startswith("# yaml-language-server: $schema=")
    first = lines[1]
    assert first.startswith("# ") and len(first.split()) >= 6, f"{example.name}: say what the example shows"
    assert "blog" not in first and "hello app" not in first
    documents = yaml.safe_load(example.read_text())
    namespaces = [documents["metadata"]["namespace"]]
    namespaces += [env["namespace"] for env in documents["spec"].get("environments", []) if "namespace" in env]
    for namespace in namespaces:
        assert namespace not in ("test", "default") and not namespace.startswith("test-"), (example.name, namespace)


def _anchors(page: Path) -> set[str]:
    """The anchors GitHub (and mkdocs) give the page's headings: lower case, punctuation but - and _ dropped."""
    headings = re.findall(r"^#+ (.+)$", re.sub(r"```.*?```", "", page.read_text(), flags=re.S), flags=re.M)
    return {re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("page", [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))],
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_link_between_the_pages_resolves(page: Path) -> None:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name}: {target}"
        if anchor and linked.suffix == ".md":
            assert anchor in _anchors(linked), f"{page.name}: {target}"


@pytest.mark.slow
def test_the_documentation_site_builds_strict(tmp_path: Path) -> None:
    """mkdocs.yml: every page in the navigation, no broken link or anchor (warnings fail under --strict)."""
    mkdocs = require_tool("mkdocs")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([mkdocs, "build", "--strict", "--site-dir", str(tmp_path / "site")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "reference" / "spec" / "index.html").is_file()
    listed = set(re.findall(r":\s+([\w/.-]+\.md)\s*$", (ROOT / "mkdocs.yml").read_text(), flags=re.M))
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert pages == listed, f"pages not in mkdocs.yml's nav: {sorted(pages - listed)}"


def test_every_spec_a_guide_shows_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A guide's ```yaml block that is a whole release spec (or profile) validates as it is shown."""
    from generator.cli import main

    shown = []
    for page in sorted((ROOT / "docs").glob("*.md")):
        for block in re.findall(r"```yaml\n(.*?)```", page.read_text(), flags=re.S):
            if re.search(r"^kind: Release$", block, flags=re.M):
                shown.append((page.name, block))
    assert shown, "docs/writing-a-spec.md shows a whole spec"
    for number, (page, block) in enumerate(shown):
        spec = tmp_path / f"spec-{number}.yaml"
        spec.write_text(block)
        assert main(["validate", str(spec)]) == 0, (page, capsys.readouterr().out)
