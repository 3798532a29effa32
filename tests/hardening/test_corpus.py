"""Every case of the bad-input corpus through the real CLI, three ways: `validate`, `render --out` into a config
repo that already holds a rendered release, and `release --repo` on that repo (a real git repository).

Each must exit 1 and print exactly the expected problems, one `FILE:LINE:COL: $.path: message` line each, and
nothing else but validate's summary; no traceback; and leave the repository exactly as it was: every file of the
work tree and of .git (HEAD, refs, index, objects) byte for byte, except rollgen's own lock and caches in
.git/rollgen/.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.cli import main
from tests.conftest import git
from tests.hardening.corpus import BASE, BASE_CONFIG, CASES, CONFIG, SPEC, Case

LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<path>\$\S*): (?P<message>.+)$")
SUMMARY = re.compile(r"^\d+ files?, \d+ problems?$")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config repo with the valid BASE released (two environments committed): what the cases must not touch."""
    repo = tmp_path_factory.mktemp("corpus") / "template"
    repo.mkdir()
    git(repo, "init", "-q", "--initial-branch=main")
    (repo / CONFIG).write_text(BASE_CONFIG)
    (repo / "releases").mkdir()
    (repo / "releases" / "hello.yaml").write_text(BASE)
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "init")
    assert main(["release", str(repo / "releases" / "hello.yaml"), "--repo", str(repo)]) == 0
    assert (repo / "apps" / "hello" / "overlays" / "prod" / "kustomization.yaml").is_file()
    return repo


def snapshot(repo: Path) -> dict[str, bytes]:
    """Every file of the work tree and the git dir, but rollgen's lock and caches."""
    out = {}
    for path in sorted(repo.rglob("*")):
        rel = path.relative_to(repo).as_posix()
        if path.is_file() and not rel.startswith(".git/rollgen/"):
            out[rel] = path.read_bytes()
    return out


def changed(before: dict[str, bytes], after: dict[str, bytes]) -> list[str]:
    return sorted(rel for rel in before.keys() | after.keys() if before.get(rel) != after.get(rel))


def commands(repo: Path) -> Iterator[list[str]]:
    spec = str(repo / SPEC)
    yield ["validate", spec]
    yield ["render", spec, "--out", str(repo)]
    yield ["release", spec, "--repo", str(repo)]


@pytest.fixture(scope="module")
def shared(template: Path) -> Path:
    """One copy of the template for the cases that only bring a spec (the snapshots still compare each case)."""
    repo = template.parent / "shared"
    shutil.copytree(template, repo, symlinks=True)
    return repo


def place(case: Case, template: Path, shared: Path, where: Path) -> Path:
    if case.config == BASE_CONFIG and not case.extra:
        (shared / SPEC).write_bytes(case.spec)
        return shared
    repo = where / "repo"  # a fresh folder: the rollgen.yaml and profiles that commands cache by folder differ
    shutil.copytree(template, repo, symlinks=True)
    (repo / SPEC).write_bytes(case.spec)
    (repo / CONFIG).write_text(case.config)
    for rel, data in case.extra.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_bytes(data)
    return repo


def check_output(case: Case, repo: Path, command: str, out: str, err: str) -> None:
    text = out + err
    assert "Traceback" not in text and "internal error" not in text, text
    lines = [line for line in text.splitlines() if not (command == "validate" and SUMMARY.match(line))]
    found = []
    for line in lines:
        match = LINE.match(line)
        assert match, f"{command}: not a FILE:LINE:COL: $.path: message line: {line[:300]!r}"
        found.append(match)
    shown = "\n".join(line[:300] for line in lines)
    assert len(found) == len(case.expect), f"{command}:\n{shown}"
    for match, expected in zip(found, case.expect, strict=True):
        # the spec as given on the command line or relative to the repository; other files either way too
        assert match["file"] in (expected.file, str(repo / expected.file)), f"{command}:\n{shown}"
        assert (int(match["line"]), int(match["col"]), match["path"]) == (
            expected.line, expected.column, expected.path
        ), f"{command}:\n{shown}"
        assert expected.fragment in match["message"], f"{command}:\n{shown}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_refused_everywhere_and_nothing_written(
    case: Case, template: Path, shared: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = place(case, template, shared, tmp_path)
    before = snapshot(repo)
    capsys.readouterr()
    for argv in commands(repo):
        code = main(argv)
        out, err = capsys.readouterr()
        check_output(case, repo, argv[0], out, err)
        assert code == 1, f"{argv[0]} exited {code}"
        assert changed(before, snapshot(repo)) == [], f"{argv[0]} wrote"


def test_the_corpus_is_large_and_varied() -> None:
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)
    assert len({(c.spec, c.config, tuple(c.extra.items())) for c in CASES}) == len(CASES)


def test_the_template_is_valid(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The corpus's edits are what is wrong, not the spec they start from."""
    (tmp_path / "hello.yaml").write_text(BASE)
    assert main(["validate", str(tmp_path / "hello.yaml")]) == 0
    assert capsys.readouterr().out == ""
