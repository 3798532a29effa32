"""The README's quick start, run again as a reader would paste it into a shell (bash, in an empty folder, with
rollgen and kubectl on PATH): each command's output is what the README shows, commit hashes and the folder aside.
When a change alters an output on purpose, run the commands and paste the new output into README.md."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

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
