"""The layout keeps its promises (docs/architecture.md): data flows one way between the stage
wings and no module is over 450 lines (import cycles: tests/test_import_cycles.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import hotdemo

PKG = Path(hotdemo.__file__).resolve().parent

#: wings in data-flow order: a module may import its own wing and the wings before it
LAYERS = ["core", "io", "detect", "pose2d", "lift", "post", "render", "io.formats", "app"]


def _modules():
    mods = {}
    for p in sorted(PKG.rglob("*.py")):
        rel = p.relative_to(PKG.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = p
    return mods


MODULES = _modules()


def _layer(mod: str) -> int:
    rest = mod.split(".")[1:]
    if rest[:2] == ["io", "formats"]:
        return LAYERS.index("io.formats")
    if rest and rest[0] in LAYERS:
        return LAYERS.index(rest[0])
    return LAYERS.index("app")  # pipeline, frontend, batch, live, doctor, cli, train, _compat


def _imports(mod: str, top_level_only: bool):
    """The hotdemo modules ``mod`` imports: (target, line)."""
    tree = ast.parse(MODULES[mod].read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("hotdemo"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                yield (sub if sub in MODULES else node.module), node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("hotdemo"):
                    yield alias.name, node.lineno


def test_no_relative_imports_hide_the_graph():
    rel = [f"{m}:{n.lineno}" for m in MODULES for n in ast.walk(ast.parse(MODULES[m].read_text(encoding="utf-8")))
           if isinstance(n, ast.ImportFrom) and n.level > 0]
    assert rel == []


def test_data_flows_one_way_between_the_wings():
    """No wing imports a later one, at module level or inside a function (the old-name shim
    hotdemo._compat excepted: it maps old names onto every wing)."""
    wrong = []
    for mod in MODULES:
        if mod == "hotdemo._compat":
            continue
        for target, line in _imports(mod, top_level_only=False):
            if target in ("hotdemo", "hotdemo._compat"):
                continue
            if _layer(target) > _layer(mod):
                wrong.append(f"{mod}:{line} imports {target}")
    assert wrong == []


def test_no_module_over_450_lines():
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > 450}
    assert long == {}
