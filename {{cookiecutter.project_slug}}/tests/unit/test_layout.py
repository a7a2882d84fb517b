"""The package's shape: your modules apart from the loop's, and no module importing itself in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

import {{ cookiecutter.package_name }} as package

ROOT = Path(package.__file__).parent
YOURS = {"source", "features", "estimators"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module of the package `path` imports, at the top or inside a function."""
    name = module_name(path)
    package_of = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package_of.split(".")[: len(package_of.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if not base.startswith(package.__name__):
                continue
            for alias in node.names:  # `from . import x` imports the module x, `from .x import y` the module x
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in MODULES else base)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith(package.__name__)}
    return {module for module in found if module in MODULES and module != name}


MODULES = {module_name(path): path for path in ROOT.rglob("*.py")}


def test_no_module_imports_itself_through_others() -> None:
    graph = {name: imports(path) for name, path in MODULES.items()}
    cycles = []

    def visit(name: str, trail: list[str]) -> None:
        for other in sorted(graph[name]):
            if other in trail:
                cycles.append(" -> ".join([*trail[trail.index(other) :], other]))
            elif other not in done:
                visit(other, [*trail, other])
        done.add(name)

    done: set[str] = set()
    for name in sorted(graph):
        if name not in done:
            visit(name, [name])
    assert not cycles, cycles


# What the loop may use of your modules (loop/__init__.py states it): a template update relies on nothing else.
CONTRACT = {
    "source": {"load", "clean"},
    "features": {"feature_kinds", "build_preprocessor"},
    "estimators": {"ESTIMATORS", "SCALED", "TRUSTED_TYPES"},
}


def used_of_yours(path: Path) -> set[tuple[str, str]]:
    """(your module, name) pairs a loop module uses: `from .. import m` then `m.name`, or `from ..m import name`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases, used = {}, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level >= 2:
            if node.module is None:
                aliases |= {alias.asname or alias.name: alias.name for alias in node.names if alias.name in YOURS}
            elif node.module in YOURS:
                used |= {(node.module, alias.name) for alias in node.names}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            used.add((aliases[node.value.id], node.attr))
    return used


def test_your_modules_are_at_the_top_and_the_loop_uses_only_the_contract() -> None:
    top = {path.stem for path in ROOT.glob("*.py")} - {"__init__", "__main__"}
    assert top == YOURS
    used = set().union(*(used_of_yours(path) for path in (ROOT / "loop").rglob("*.py")))
    beyond = {(module, name) for module, name in used if name not in CONTRACT[module] and not name.startswith("__")}
    assert not beyond, beyond
    assert {module for module, _ in used} == YOURS  # the contract is in use, all of it
    assert imports(ROOT / "estimators.py") == set()  # your models depend on nothing of the loop
