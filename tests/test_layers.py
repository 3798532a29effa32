"""The package's import graph follows docs/DESIGN.md "Layers": no cycle, and no module imports a higher layer.

Every import counts, at the top of a module or inside a function (a lazy import is still a dependency); only
the ones under `if TYPE_CHECKING:` are left out, since they never run.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "generator"
DESIGN = ROOT / "docs" / "DESIGN.md"


def layers() -> list[list[str]]:
    """The layers, lowest first, from the fenced block under DESIGN.md's "## Layers": one line a layer, its
    modules or sub-packages separated by spaces (a sub-package stands for every module in it)."""
    text = DESIGN.read_text()
    section = text.split("\n## Layers", 1)[1]
    block = re.search(r"```\n(.*?)```", section, re.S)
    assert block, "DESIGN.md's Layers section has no fenced block"
    out = []
    for line in block.group(1).splitlines():
        names = line.split(":", 1)[-1].split()
        if names:
            out.append(names)
    return out


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports(path: Path, known: set[str]) -> set[str]:
    """The package's modules that this module imports, by their full names."""
    tree = ast.parse(path.read_text())
    skip = _type_checking_lines(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", 0) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name in known}


def layer_of(module: str, table: list[list[str]]) -> int:
    short = module.removeprefix("generator.")
    for index, names in enumerate(table):
        for name in names:
            if short == name or short.startswith(name + "."):
                return index
    raise AssertionError(f"{module} is in no layer of DESIGN.md's Layers section: add it there")


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports(path, known) - {name} for name, path in mods.items()}


def test_every_module_has_a_layer() -> None:
    table = layers()
    for name in modules():
        if name != "generator":
            layer_of(name, table)


def test_no_module_imports_a_higher_layer() -> None:
    table = layers()
    upward = []
    for name, deps in graph().items():
        if name == "generator":
            continue
        mine = layer_of(name, table)
        for dep in sorted(deps):
            if dep != "generator" and layer_of(dep, table) > mine:
                upward.append(f"{name} (layer {mine}) imports {dep} (layer {layer_of(dep, table)})")
    assert not upward, "\n".join(upward)


def test_no_import_cycles() -> None:
    edges = graph()
    # a package's __init__ is imported whenever one of its modules is: only count explicit edges
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(edges.get(node, ())):
            if state.get(dep) == 1:
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_no_command_module_imports_another() -> None:
    """Commands are thin: what two commands share lives below them (render `init` and `render` share through
    gitops/tree.py, `rollback` edits the image through gitops/image_edit.py, as `set-image` does). One command
    in two modules is one command: `advance` hands `--all` to advance_all."""
    same = {("generator.commands.advance", "generator.commands.advance_all")}
    found = [f"{name} imports {dep}" for name, deps in graph().items() if name.startswith("generator.commands.")
             for dep in sorted(deps) if dep.startswith("generator.commands.") and dep != "generator.commands"
             and (name, dep) not in same]
    assert not found, "\n".join(found)


def test_workflow_is_imported_by_its_public_names() -> None:
    """gitops/workflow.py is imported by the names it makes public: never a `_private` one."""
    found = []
    for name, path in modules().items():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "generator.gitops.workflow":
                found += [f"{name}: {alias.name}" for alias in node.names if alias.name.startswith("_")]
    assert not found, "\n".join(found)
