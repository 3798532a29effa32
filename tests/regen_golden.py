"""Rewrite tests/golden/ from the examples with the real pipeline: `python tests/regen_golden.py`.

Review the resulting `git diff tests/golden` before committing: it is exactly what changed in generated output.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.render.test_golden import GOLDEN, golden_cases, read_tree, render_case


def main() -> int:
    cases = golden_cases()
    with tempfile.TemporaryDirectory(prefix="rollgen-golden-") as tmp:
        for folder, example, variant in cases:
            out = Path(tmp) / folder
            render_case(example, variant, out)
            if not read_tree(out):
                print(f"{folder}: rendering {example.name} produced no files", file=sys.stderr)
                return 1
        if GOLDEN.exists():
            shutil.rmtree(GOLDEN)
        GOLDEN.mkdir(parents=True)
        for folder, _, _ in cases:
            shutil.copytree(Path(tmp) / folder, GOLDEN / folder)
            print(f"wrote tests/golden/{folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
