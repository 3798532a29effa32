"""The README's quick start, run again as a reader would paste it into a shell (bash, in an empty folder, with
rollgen and kubectl on PATH): each command's output is what the README shows, commit hashes and the folder aside.
When a change alters an output on purpose, run the commands and paste the new output into README.md."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_tool

README = ROOT / "README.md"
STEP = "@@rollgen-readme-step@@"
SHOWN_AT = "/tmp/demo"  # the folder the README's run was in


def quick_start() -> list[tuple[str, str]]:
    """(command, output shown) for each `$ ` line of the console block under "## Quick start"."""
    section = README.read_text().split("\n## Quick start", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"```console\n(.*?)```", section, flags=re.S)
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            steps[-1][1].append(line)
    return [(command, "\n".join(shown)) for command, shown in steps]


def normalized(text: str, folder: Path) -> str:
    text = text.replace(str(folder), SHOWN_AT)
    return re.sub(r"\[[0-9a-f]{12}\]", "[commit]", text).strip("\n")


@pytest.mark.slow
def test_the_quick_start_runs_as_the_readme_shows(tmp_path: Path) -> None:
    require_tool("git")
    kubectl = require_tool("kubectl")
    steps = quick_start()
    assert len(steps) >= 8 and steps[0][0].startswith("git init")
    script = "".join(f"echo {STEP}\n{{ {command}\n}} 2>&1\n" for command, _ in steps)
    path = os.pathsep.join([str(Path(sys.executable).parent), str(Path(kubectl).parent), os.environ["PATH"]])
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env={**os.environ, "PATH": path},
                          capture_output=True, text=True, timeout=600, check=False)
    outputs = done.stdout.split(f"{STEP}\n")[1:]
    assert len(outputs) == len(steps), done.stdout + done.stderr
    for (command, shown), output in zip(steps, outputs):
        assert normalized(output, tmp_path) == normalized(shown, tmp_path), f"$ {command}"


def test_the_readme_stays_short_and_links_what_it_moved() -> None:
    text = README.read_text()
    assert len(text.splitlines()) <= 250
    for link in re.findall(r"\]\(((?:docs/)[^)#]+)", text):
        assert (ROOT / link).is_file(), link
    assert "python -m pytest -n auto -q" in text


def test_ci_runs_the_readmes_test_command_and_it_runs_every_test() -> None:
    section = README.read_text().split("\n## The two commands", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    test_command = block.splitlines()[1]
    ci_lines = (ROOT / ".ci" / "run").read_text().rstrip("\n").splitlines()
    assert ci_lines[-1] == test_command
    assert test_command.split()[:3] == ["python", "-m", "pytest"] and "--slow" in test_command.split()


@pytest.mark.slow
def test_the_quick_loop_leaves_out_the_slow_tests_and_slow_brings_them_back() -> None:
    def collected(*args: str) -> tuple[int, int]:
        """(tests collected, tests deselected) of `pytest --collect-only args`."""
        done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly", *args],
                              cwd=ROOT, capture_output=True, text=True, check=False)
        counts = re.fullmatch(r"(\d+)(?:/\d+)? tests? collected(?: \((\d+) deselected\))? in .*",
                              done.stdout.strip().splitlines()[-1])
        assert counts, done.stdout + done.stderr
        return int(counts[1]), int(counts[2] or 0)

    quick, marked = collected("tests/plan"), collected("tests/plan", "-m", "slow")
    everything = collected("tests/plan", "--slow")
    assert quick[1] > 0 and quick[0] + quick[1] == everything[0] and everything[1] == 0
    assert marked == (quick[1], quick[0])  # -m slow: exactly what the quick loop leaves out
    named = "tests/hardening/test_faults.py"  # a file named runs whole, its slow tests too
    assert collected(named) == collected(named, "--slow") and collected(named, "-m", "slow")[0] > 0
    hardening = collected("tests/hardening", "-m", "slow")  # all of it is slow
    assert hardening == (collected("tests/hardening", "--slow")[0], 0)
