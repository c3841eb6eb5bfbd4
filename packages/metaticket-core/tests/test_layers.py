"""Core's layers stay one-way and its import cycles small; old module paths keep working.

The import graph is read from the source with ``ast``: every import counts, at module level, in
functions and under ``TYPE_CHECKING``, relative or absolute.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from pathlib import Path

import pytest

import metaticket_core
from metaticket_core.moved import MOVED

ROOT = Path(metaticket_core.__file__).parent
LAYERS = ("api", "engine", "app")  # lowest first


def module_names() -> dict[str, Path]:
    """Every module of core by dotted name (a package by its own name)."""
    names = {}
    for path in ROOT.rglob("*.py"):
        parts = ("metaticket_core", *path.relative_to(ROOT).with_suffix("").parts)
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def imported(module: str, path: Path, known: set[str]) -> set[str]:
    """The modules of core that ``module`` imports (``from a import b`` counts ``a.b`` when it
    is a module, else ``a``)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            targets.update(f"{base}.{alias.name}" for alias in node.names)
            targets.add(base)
    found = set()
    for target in targets:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != module:
            found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    names = module_names()
    return {module: imported(module, path, set(names)) for module, path in names.items()}


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's components of ``graph``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for after in graph[node]:
            if after not in index:
                visit(after)
                low[node] = min(low[node], low[after])
            elif after in stack:
                low[node] = min(low[node], index[after])
        if low[node] == index[node]:
            component: set[str] = set()
            while node not in component:
                component.add(stack.pop())
            components.append(component)

    for node in graph:
        if node not in index:
            visit(node)
    return components


def layer(module: str) -> int | None:
    part = module.split(".")[1] if "." in module else ""
    return LAYERS.index(part) if part in LAYERS else None


def test_the_graph_sees_every_kind_of_import():
    graph = import_graph()
    assert "metaticket_core.api.registry" in graph["metaticket_core.api.config"]  # in a function
    assert "metaticket_core.engine.runs" in graph["metaticket_core.engine.loggers"]  # TYPE_CHECKING
    assert "metaticket_core.engine.checkpoint" in graph["metaticket_core.app.inference"]  # from ..x
    assert "metaticket_core.app.commands.options" in graph["metaticket_core.app.commands.train"]


def test_largest_import_cycle_is_at_most_three_modules():
    largest = max(strongly_connected(import_graph()), key=len)
    assert len(largest) <= 3, sorted(largest)


def test_no_layer_imports_a_higher_one():
    upward = [
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        for target in targets
        if layer(module) is not None and (layer(target) or 0) > layer(module)
    ]
    assert upward == []


def test_every_module_is_in_a_layer():
    loose = {"metaticket_core", "metaticket_core.__main__", "metaticket_core.moved"}
    assert {m for m in module_names() if layer(m) is None} == loose


def test_the_plugin_api_is_exported_from_the_package():
    for name in metaticket_core.__all__:
        assert getattr(metaticket_core, name) is not None, name
    assert metaticket_core.Task is importlib.import_module("metaticket_core.api.tasks").Task
    with pytest.raises(AttributeError, match="no attribute 'Taks'"):
        _ = metaticket_core.Taks


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("metaticket_core.tasks", "metaticket_core.api.tasks"),
        ("metaticket_core.trainer", "metaticket_core.engine.trainer"),
        ("metaticket_core.testing", "metaticket_core.app.testing"),
        ("metaticket_core.commands.train", "metaticket_core.app.commands.train"),
    ],
)
def test_an_old_module_path_is_the_new_module_with_a_warning(monkeypatch, old, new):
    monkeypatch.delitem(sys.modules, old, raising=False)
    with pytest.warns(DeprecationWarning) as warned:  # a moved parent package warns too
        __import__(old)  # as an import statement does
    assert sys.modules[old] is importlib.import_module(new)
    assert sys.modules[new].__spec__.name == new  # the module keeps its own spec
    assert f"{old} moved to {new};" in str(warned[-1].message)
    assert {w.filename for w in warned} == {__file__}  # the importing line, not importlib's


def test_every_old_path_is_a_module_at_its_new_path():
    for old, new in MOVED.items():
        assert importlib.util.find_spec(f"metaticket_core.{new}") is not None, old
