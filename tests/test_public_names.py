"""Names that hold one contract each (issue 27 items 7 and 8), read from the package's source with ast.

- No module of the package reaches into another's private names: neither `from generator.x import _y` nor
  `x._y` (or `getattr(x, "_y")`) on a module of the package. What a module lends another is public.
- No two public top-level functions or classes of the package share a name with different signatures: a
  reader who meets `release_files(...)` should not have to ask which one. Re-exports (`from m import X as X`)
  are not definitions and pass. The Engine and Router hooks are the exception on purpose: each engine module
  (and each router module) defines the same hook names, which the Engine / Router record collects.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "generator"

# The hooks each engine module defines for render/engines/__init__.py's Engine record, and each router module
# for render/routers/__init__.py's Router record: the same name in every such module, by design.
ENGINE_MODULES = {f"generator.render.engines.{name}" for name in ("argo_rollouts", "deployments", "flagger")}
ENGINE_HOOKS = {"render", "render_sides", "config_readers", "new_version", "longest_wait", "by_hand",
                "rolling_outage", "rolling_marker"}
ROUTER_MODULES = {f"generator.render.routers.{name}" for name in ("gateway_api", "ingress_nginx", "istio")}
ROUTER_HOOKS = {"weighted", "switched", "rollout_canary", "rollout_blue_green", "flagger", "ignore_rules",
                "live_weight", "carried", "builtin_query", "analysis_arg"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources() -> dict[str, ast.Module]:
    return {module_name(p): ast.parse(p.read_text(), str(p)) for p in sorted(PACKAGE.rglob("*.py"))}


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def absolute(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    """The module an ImportFrom names, relative imports resolved against `module`."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join([*base, node.module] if node.module else base)


def module_aliases(module: str, tree: ast.Module, known: set[str], is_package: bool) -> dict[str, str]:
    """Local name -> the package module it is bound to (`import generator.x as m`, `from generator import x`)."""
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "generator":
                    out[alias.asname or "generator"] = alias.name if alias.asname else "generator"
        elif isinstance(node, ast.ImportFrom):
            source = absolute(module, node, is_package)
            for alias in node.names:
                if f"{source}.{alias.name}" in known:
                    out[alias.asname or alias.name] = f"{source}.{alias.name}"
    return out


def dotted(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """`m.sub` as the module it names, when `m` is bound to one of the package's modules."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if isinstance(node, ast.Attribute):
        head = dotted(node.value, aliases)
        return f"{head}.{node.attr}" if head is not None else None
    return None


def private_reaches(module: str, tree: ast.Module, known: set[str], is_package: bool) -> list[str]:
    aliases = module_aliases(module, tree, known, is_package)
    found = []
    for node in ast.walk(tree):
        target, name = None, None
        if isinstance(node, ast.ImportFrom):
            source = absolute(module, node, is_package)
            if source.split(".")[0] == "generator":
                for alias in node.names:
                    if is_private(alias.name) and source != module:
                        found.append(f"{module}:{node.lineno}: from {source} import {alias.name}")
            continue
        if isinstance(node, ast.Attribute) and is_private(node.attr):
            target, name = dotted(node.value, aliases), node.attr
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
              and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
              and isinstance(node.args[1].value, str) and is_private(node.args[1].value)):
            target, name = dotted(node.args[0], aliases), node.args[1].value
        if target is not None and target in known and target != module:
            found.append(f"{module}:{node.lineno}: {target}.{name}")
    return found


def test_no_module_imports_another_modules_private_names() -> None:
    trees = sources()
    known = set(trees)
    packages = {module_name(p) for p in PACKAGE.rglob("__init__.py")}
    found = [line for module, tree in trees.items() for line in private_reaches(module, tree, known, module in packages)]
    assert found == [], "make these names public (or move what is shared to a module both import):\n" + "\n".join(found)


def test_the_private_name_scan_sees_each_way_in() -> None:
    """The scan above, on made-up modules: it must catch each form, and leave a module's own names alone."""
    known = {"generator", "generator.a", "generator.a.b", "generator.c"}
    text = (
        "import generator.a.b\n"
        "import generator.c as c\n"
        "from generator import a\n"
        "from generator.a import _hidden\n"
        "from . import _sibling\n"
        "x = generator.a.b._one\n"
        "y = c._two\n"
        "z = getattr(a, '_three')\n"
        "w = a.b._four\n"
        "import argparse\n"
        "v = argparse._HelpAction\n"
    )
    found = private_reaches("generator.c", ast.parse(text), known, False)
    assert [line.split(": ", 1)[1] for line in found] == [
        "from generator.a import _hidden", "from generator import _sibling", "generator.a.b._one",
        "generator.a._three", "generator.a.b._four",
    ]


def signature(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> str:
    """What a caller must know: parameters, their kinds, annotations and defaults, and the return type. Two
    classes of one name are two contracts unless one is the other (a re-export is no definition)."""
    if isinstance(node, ast.ClassDef):
        return f"class at line {node.lineno}"
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    return f"({ast.unparse(node.args)}){returns}"


def definitions(trees: dict[str, ast.Module]) -> dict[str, dict[str, str]]:
    """Public top-level function and class name -> {module: signature}."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for module, tree in trees.items():
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                out[node.name][module] = signature(node)
    return out


def hook(name: str, module: str) -> bool:
    return (name in ENGINE_HOOKS and module in ENGINE_MODULES) or (name in ROUTER_HOOKS and module in ROUTER_MODULES)


def clashes(defined: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    out = {}
    for name, where in defined.items():
        others = {module: sig for module, sig in where.items() if not hook(name, module)}
        hooks = {sig for module, sig in where.items() if hook(name, module)}
        classes = [sig for sig in others.values() if sig.startswith("class")]
        if len(set(others.values())) > 1 or len(classes) > 1 or (hooks and set(others.values()) - hooks):
            out[name] = where
    return out


def test_no_two_public_functions_share_a_name_with_different_contracts() -> None:
    found = clashes(definitions(sources()))
    shown = "\n".join(f"{name}: " + "; ".join(f"{m}{s}" for m, s in where.items()) for name, where in sorted(found.items()))
    assert not found, "give the more specific one a name that says what it does:\n" + shown


def test_the_name_scan_tells_contracts_apart() -> None:
    trees = {
        "generator.x": ast.parse("def load(path: str) -> int: ...\ndef same(a: int) -> int: ...\nclass Box: ..."),
        "generator.y": ast.parse("def load(root: str, strict: bool = False) -> int: ...\n"
                                 "def same(a: int) -> int: ...\nclass Box: ...\nfrom generator.x import load as load"),
        "generator.render.engines.flagger": ast.parse("def render(a: int) -> int: ..."),
        "generator.render.engines.deployments": ast.parse("def render(a: int, b: int = 0) -> int: ..."),
        "generator.report.html": ast.parse("def render(report: str) -> str: ..."),
        "generator.render.routers.istio": ast.parse("def weighted(a: int) -> int: ..."),
        "generator.render.routers.gateway_api": ast.parse("def weighted(b: str) -> int: ..."),
    }
    assert sorted(clashes(definitions(trees))) == ["Box", "load", "render"]
