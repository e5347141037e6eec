"""No import cycles inside hotdemo: the graph of module-level imports (what runs when a module
is imported; imports inside functions are deferred and not counted, nor are the implicit
imports of parent packages) has no cycle, and every module imports alone."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "hotdemo"


def module_names() -> Dict[str, Path]:
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        parts = list(p.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _top_level_imports(tree: ast.Module):
    """Import nodes that run at import time: the module body and the blocks in it (if / try /
    with / class bodies), not function bodies, not ``if TYPE_CHECKING:``."""
    todo: List[ast.AST] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
        elif isinstance(node, (ast.If, ast.Try, ast.With, ast.ClassDef, ast.For, ast.While)):
            for field in ("body", "orelse", "finalbody", "handlers"):
                for child in getattr(node, field, []) or []:
                    todo.extend(child.body if isinstance(child, ast.ExceptHandler) else [child])


def import_graph() -> Dict[str, Set[str]]:
    mods = module_names()
    graph: Dict[str, Set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in _top_level_imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            graph[mod].update(t for t in targets if t in mods and t != mod)
    return graph


def find_cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    cycles, state, stack = [], {}, []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycles.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    return cycles


def test_no_import_cycles():
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_graph_sees_known_edges():
    g = import_graph()
    assert "hotdemo.lift.registry" in g["hotdemo.lift.checkpoint"]
    assert "hotdemo.io.torchfile" in g["hotdemo.pose2d.checkpoints"]
    assert "hotdemo.pose2d.spec" in g["hotdemo.pose2d.families.hrnet"]
    assert find_cycles({"a": {"b"}, "b": {"a"}}) == [["a", "b", "a"]]


FAMILY_MODULES = ["hotdemo.core.registry", "hotdemo.io.torchfile", "hotdemo.lift.registry", "hotdemo.lift.checkpoint",
                  "hotdemo.lift.spec", "hotdemo.pose2d.registry", "hotdemo.pose2d.spec", "hotdemo.pose2d.checkpoints",
                  "hotdemo.pose2d.resolve", "hotdemo.pose2d.onnx_estimator", "hotdemo.pose2d.sniff"] + [
    f"hotdemo.{p.parent.parent.name}.families.{p.stem}" for p in sorted(PKG.glob("*/families/*.py"))
    if p.stem != "__init__"]


def test_family_modules_import_alone():
    """Each module imported first, with no hotdemo module loaded before it (one interpreter, hotdemo's
    modules dropped between imports): an import cycle shows as a partially initialised module."""
    code = ("import importlib, sys\n"
            "for m in sys.argv[1:]:\n"
            "    for k in [k for k in sys.modules if k == 'hotdemo' or k.startswith('hotdemo.')]:\n"
            "        del sys.modules[k]\n"
            "    importlib.import_module(m)\n")
    r = subprocess.run([sys.executable, "-c", code, *FAMILY_MODULES], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, f"importing one of {FAMILY_MODULES} alone failed:\n{r.stderr[-2000:]}"
