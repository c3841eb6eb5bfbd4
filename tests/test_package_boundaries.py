"""Packages talk to each other only through core: no module of a package or of the example
plugin, tests included, imports a sibling, and core imports none of them. ``nox -s alone`` runs
each one without its siblings installed; this also finds imports in code that no test runs."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
FOLDERS = {src.name: src.parents[1] for src in ROOT.glob("*/*/src/metaticket_*")}


def imported(path: Path) -> set[str]:
    """Top-level names of the absolute imports in ``path``, wherever they stand."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_every_package_is_checked():
    assert set(FOLDERS) >= {"metaticket_core", "metaticket_datasets", "metaticket_metasgd"}


@pytest.mark.parametrize("package", sorted(FOLDERS))
def test_imports_no_sibling(package):
    siblings = set(FOLDERS) - {package, "metaticket_core"}
    found = {
        str(path.relative_to(ROOT)): sorted(imported(path) & siblings)
        for path in FOLDERS[package].rglob("*.py")
    }
    assert {path: names for path, names in found.items() if names} == {}
