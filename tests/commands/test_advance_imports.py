"""`rollgen advance` imports only what a step uses (issue 16 item 3: one advance within 1.2x raw git).

A scheduled tick runs `advance` for every in-flight environment, so its start-up is paid on every one: no
dataclasses (inspect, ast, dis, tokenize: records come from generator.records), no jsonschema for a valid
rollgen.yaml and spec, no Jinja2 without a commit-message template, no tempfile or random; hashlib only when a digest
is made (generator.fingerprint imports it in the function that hashes). The step itself is checked too, so the test
cannot pass by failing early.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import git
from tests.factories import V2, ConfigRepo, at, spec_text
from tests.factories import make_config_repo
from tests.imports import imported

# tempfile: the writer stages files without it; random: only a rejected push sleeps
NOT_ON_THE_PATH = ("dataclasses", "jsonschema", "jinja2", "inspect", "ast", "tempfile", "random")


def _advance_in_a_fresh_process(repo: ConfigRepo) -> list[str]:
    """The modules one advance loads beyond the interpreter's own start-up (tests/imports.py)."""
    code = (
        "from generator.cli import main\n"
        f"code = main(['advance', 'hello', '--env', 'prod', '--repo', {str(repo.path)!r}, '--now', {at(6)!r}])\n"
        "assert code == 0, code\n"
    )
    return sorted(imported(code)[1])


def test_advance_imports_nothing_a_step_does_not_use(
    git_remote: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_config_repo(git_remote[1], capsys)
    repo.write_spec(spec_text())
    assert repo.release()[0] == 0
    repo.write_spec(spec_text(V2), "v2")
    assert repo.release(now=at(0))[0] == 0  # step 1 of 3: 10%, its 5m pause elapsed at at(6)
    before = repo.head()
    loaded = _advance_in_a_fresh_process(repo)
    assert git(repo.path, "rev-parse", "HEAD^").strip() == before  # one step, committed
    assert repo.trailers()["Rollgen-Step"] == "2/3"
    assert [m for m in loaded if m.split(".")[0] in NOT_ON_THE_PATH] == []


def test_hashlib_is_imported_only_by_what_hashes() -> None:
    """hashlib loads OpenSSL's libcrypto (~3 ms): importing the modules that hash must not import it, a digest does."""
    code = (
        "import generator.cli, generator.fingerprint, generator.render.cache\n"
        "import generator.commands.advance, generator.commands.validate, generator.spec.config\n"
    )
    assert "hashlib" not in imported(code)[1]  # beyond the interpreter's own start-up (tests/imports.py)
    digest = code + "generator.fingerprint.fingerprint(b'x').hexdigest()\nimport sys\nprint('hashlib' in sys.modules)\n"
    assert imported(digest)[0].split() == ["True"]
