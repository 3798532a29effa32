"""The package's own paths and dotted names, where prose names them, exist (issue 27 item 8).

Modules move (the repo split, the wiring split, the kustomize package); a docstring, a comment or a page of
docs/ that still says `generator/wiring.py` or `generator.render.queries` sends a reader nowhere. Checked:
every `generator/....py` and `tests/....py` path, every `<sub-package>/<module>.py` path (DESIGN.md's tables
write them so), and every dotted `generator.x.y` name in the package's docstrings and comments and in
docs/**/*.md. A dotted name must reach a module, then (when it goes on) a top-level name that module defines or
imports.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "generator"
SUBPACKAGES = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))
PATH = re.compile(
    r"(?<![\w./-])((?:generator/(?:[\w-]+/)*|tests/(?:[\w-]+/)*|(?:" + "|".join(SUBPACKAGES) + r")/(?:[\w-]+/)*)[\w-]+\.py)\b"
)
DOTTED = re.compile(r"(?<![\w.])generator(?:\.\w+)+")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def top_level_names(path: Path) -> set[str]:
    """What `module.NAME` may name: definitions, assignments and imports at any depth outside functions (an
    `if TYPE_CHECKING:` or `try:` block included)."""
    names: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update((a.asname or a.name).split(".")[0] for a in node.names)
            for field in ("body", "orelse", "finalbody", "handlers"):
                if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    visit([n for n in getattr(node, field, []) if isinstance(n, ast.stmt)])
            for handler in getattr(node, "handlers", []):
                visit(handler.body)

    visit(ast.parse(path.read_text()).body)
    return names


def prose(path: Path) -> Iterator[tuple[int, str]]:
    """(line, text) of every docstring and comment of a module; the whole text of a page."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".py":
        for number, line in enumerate(text.splitlines(), 1):
            yield number, line
        return
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc is not None:
                yield getattr(node.body[0], "lineno", 1), doc
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string


def path_exists(ref: str) -> bool:
    return (ROOT / ref).is_file() or (PACKAGE / ref).is_file()


def dotted_exists(ref: str) -> bool:
    parts = ref.split(".")
    for end in range(len(parts), 0, -1):
        module = ".".join(parts[:end])
        if module in MODULES:
            return end == len(parts) or parts[end] in top_level_names(MODULES[module])
    return False


def stale(files: list[Path]) -> list[str]:
    found = []
    for path in files:
        for line, text in prose(path):
            where = f"{path.relative_to(ROOT)}:{line}"
            found += [f"{where}: {m.group(1)}" for m in PATH.finditer(text) if not path_exists(m.group(1))]
            found += [f"{where}: {m.group(0)}" for m in DOTTED.finditer(text) if not dotted_exists(m.group(0))]
    return found


def test_paths_and_dotted_names_in_the_package_and_docs_exist() -> None:
    files = sorted(PACKAGE.rglob("*.py")) + sorted((ROOT / "docs").rglob("*.md"))
    found = stale(files)
    assert found == [], "these name what no longer exists: point them at where it lives now\n" + "\n".join(found)


def test_the_scan_catches_a_moved_module() -> None:
    text = ("generator/wiring.py and generator.render.queries and render/queries.py and generator.model.NO_SUCH; "
            "generator/render/emit.py, render/emit.py, generator.render.emit.emit, generator.facts, ruamel/yaml/x.py, "
            "tests/test_layers.py, tests/test_cli_quick.py")
    assert [m.group(1) for m in PATH.finditer(text) if not path_exists(m.group(1))] == [
        "generator/wiring.py", "render/queries.py", "tests/test_cli_quick.py"]
    assert [m.group(0) for m in DOTTED.finditer(text) if not dotted_exists(m.group(0))] == [
        "generator.render.queries", "generator.model.NO_SUCH"]
