"""`rollgen report`: one self-contained HTML page, through the CLI on a real repository's history, opened in
headless Chromium: the DOM holds every release, environment and action, the browser logs nothing on its console,
and a screenshot is taken (kept in $ROLLGEN_ARTIFACTS when set)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import git, require_tool
from tests.commands.test_advance_all import add_release, release
from tests.factories import V1, V2, ConfigRepo, at
from tests.factories import make_config_repo

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def repo(git_remote: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> ConfigRepo:
    """alpha: staging promoted, prod in flight; beta: aborted after a failed gate; gamma: deployed only."""
    found = make_config_repo(git_remote[1], capsys)
    for name, envs in (("alpha", ("staging", "prod")), ("beta", ("prod",)), ("gamma", ("prod",))):
        add_release(found, name, V1, envs)
        release(found, name, at(0))
    for name, envs in (("alpha", ("staging", "prod")), ("beta", ("prod",))):
        add_release(found, name, V2, envs)
        release(found, name, at(1))
    for command, name, env, minute in (("advance", "alpha", "prod", 7), ("promote", "alpha", "staging", 8),
                                       ("advance", "alpha", "staging", 10), ("abort", "beta", "prod", 9)):
        extra = ("--full",) if command == "promote" else ()
        code, _, err = found.rollgen(command, name, "--env", env, "--now", at(minute), *extra)
        assert code == 0, err
    # A failed gate as the tick records it (Rollgen-Gate), with a subject that must be escaped in the page.
    git(found.path, "commit", "-q", "--allow-empty", "-m",
        "beta/prod: <script>alert(1)</script> gate failed\n\nRollgen-Release: beta\nRollgen-Environment: prod\n"
        "Rollgen-Action: check\nRollgen-Step: 1/3\nRollgen-Weight: 10\nRollgen-Image: " + V2 + "\n"
        "Rollgen-Gate: error-rate=7.3 > 1; latency=812 > 500\n")
    return found


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = require_tool("chromium")
    profile = tmp_path / f"chromium-{len(list(tmp_path.glob('chromium-*')))}"
    return subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args],
                          capture_output=True, text=True, timeout=120)


def console_messages(stderr: str) -> list[str]:
    """What the page wrote to the browser console (errors, CSP violations, failed loads): Chromium logs each
    as a CONSOLE line on stderr."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Refused to" in line]


def commits_of(repo: ConfigRepo, name: str, env: str) -> int:
    log = git(repo.path, "log", "--format=%H", "-E", "--all-match", f"--grep=^Rollgen-Release: {name}$",
              f"--grep=^Rollgen-Environment: {env}$")
    return len(log.split())


@pytest.mark.slow
def test_the_report_in_chromium(repo: ConfigRepo, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    code, _, err = repo.rollgen("report", "--out", str(out), "--now", at(20))
    assert code == 0, err
    html = out.read_text()
    # Self-contained: no script, no resource from anywhere, every link inside the page.
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert re.findall(r'\b(?:src|href|xlink:href)="(?!#)', html) == []
    assert "@import" not in html and "url(" not in html
    assert "default-src 'none'" in html

    dumped = chromium(tmp_path, "--dump-dom", out.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    assert console_messages(dumped.stderr) == []
    dom = dumped.stdout
    for name, envs in (("alpha", ("staging", "prod")), ("beta", ("prod",)), ("gamma", ("prod",))):
        assert f'<section class="release" id="r-{name}" aria-labelledby="h-{name}"><h2 id="h-{name}">{name}</h2>' in dom
        for env in envs:
            article = re.search(rf'<article id="e-{name}-{env}".*?</article>', dom, re.S)
            assert article, (name, env)
            rows = re.findall(r"<tr><td>\d{4}-", article.group(0))
            assert len(rows) == commits_of(repo, name, env), (name, env)
            assert f"<title id=\"t-{name}-{env}\">Weight of the newest version over time, {name} / {env}</title>" in article.group(0)
    beta = re.search(r'<article id="e-beta-prod".*?</article>', dom, re.S)
    assert beta and "error-rate: 7.3 &gt; 1 (failed)" in beta.group(0) and "latency: 812 &gt; 500 (failed)" in beta.group(0)
    assert "rollgen bot" in beta.group(0) and "Test Author" in beta.group(0)  # who acted: the commits' authors
    now = re.search(r'<section aria-labelledby="now">.*?</section>', dom, re.S)
    assert now and "alpha / prod" in now.group(0) and "progressing: step 2/3, 25% on " + V2 in now.group(0)
    assert "alpha / staging" not in now.group(0) and "beta / prod" not in now.group(0)

    shot = tmp_path / "report.png"
    taken = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2600", "--hide-scrollbars", out.as_uri())
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert console_messages(taken.stderr) == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    artifacts = os.environ.get("ROLLGEN_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(artifacts) / "report.png")


@pytest.mark.slow
def test_the_console_check_sees_errors(tmp_path: Path) -> None:
    """The check above can fail: a page that logs an error, or loads what its policy forbids, is seen."""
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" "
                    "content=\"default-src 'none'; script-src 'unsafe-inline'\"></head><body>"
                    "<script>console.error('broken')</script><img src=\"https://example.invalid/x.png\"></body></html>")
    seen = console_messages(chromium(tmp_path, "--dump-dom", page.as_uri()).stderr)
    assert any("broken" in line for line in seen)
    assert any("Content Security Policy" in line or "Refused to" in line for line in seen)


def test_an_empty_repository(git_remote: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    repo = make_config_repo(git_remote[1], capsys)
    out = tmp_path / "empty.html"
    code, _, err = repo.rollgen("report", "--out", str(out))
    assert code == 0, err
    html = out.read_text()
    assert "0 releases, 0 environments, 0 actions" in html and "Nothing is in flight or waiting" in html


def test_an_environment_that_waits_for_its_upstream_is_shown_waiting(
    git_remote: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`after:` (issue 24) in the page as `status` shows it: prod, whose last canary aborted, waits for staging
    to promote the next version; qa, never deployed, waits for its first. Both are listed as waiting now, with
    what they wait for, not as an abort at rest or a retired environment."""
    from tests.plan.test_order import H, at as at_s, prod_aborted_then_v3

    repo = make_config_repo(git_remote[1], capsys)
    prod_aborted_then_v3(repo, "    - {name: qa, namespace: qa, after: prod}\n")
    out = tmp_path / "report.html"
    code, _, err = repo.rollgen("report", "--out", str(out), "--now", at_s(4 * H + 60))
    assert code == 0 and "1 release, 3 environments" in err, err
    html = out.read_text()
    now = html[html.index('<h2 id="now">'):html.index("</section>", html.index('<h2 id="now">'))]
    assert "3 environments in flight or waiting" in now, now
    assert "waiting: waits for staging to promote ghcr.io/kmaster8/hello:v3" in now
    assert "waiting: waits for prod to promote ghcr.io/kmaster8/hello:v3" in now
    prod = html[html.index('<h3 id="h-'):]
    prod = html[html.index("hello / prod</h3>"):]
    assert prod.index("<dt>Phase</dt><dd>waiting</dd>") < prod.index("</article>"), prod[:600]
    qa = html[html.index("hello / qa</h3>"):]
    assert qa.index("<dt>Phase</dt><dd>waiting</dd>") < qa.index("</article>") and "retired" not in qa[:qa.index("</article>")]
