"""The import graph of backend/ has no circles. Only module-level imports count (what runs when a module is
imported, `if TYPE_CHECKING:` blocks excepted); an import inside a function is a lazy edge and is allowed, as are
modules named in strings (`importlib.import_module`, e.g. the outbox's SUBSCRIBER_MODULES).

    .venv/bin/python -m tests.unit.test_import_cycles [--lazy]

prints the circles (with --lazy, counting imports inside functions too)."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "backend"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(node: ast.AST, lazy: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
        return
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and not lazy:
        return
    if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
        children: list[ast.AST] = list(node.orelse)
    else:
        children = list(ast.iter_child_nodes(node))
    for child in children:
        yield from _runtime_imports(child, lazy)


def import_graph(lazy: bool = False) -> dict[str, set[str]]:
    """module -> the backend modules it imports (a `from package import name` of a submodule names the submodule)."""
    paths = {_module_name(p): p for p in (ROOT / PACKAGE).rglob("*.py") if "migrations" not in p.parts}
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets: set[str] = set()
        for node in _runtime_imports(ast.parse(path.read_text()), lazy):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
                continue
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parent + ([base] if base else []))
            targets.update(f"{base}.{a.name}" if f"{base}.{a.name}" in paths else base for a in node.names)
        graph[module] = {t for t in targets if t in paths and t != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(found)


def test_backend_has_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def test_the_check_finds_a_cycle_and_ignores_lazy_and_type_only_imports() -> None:
    graph = import_graph()
    assert "backend.chain.txmanager" in graph["backend.chain.mints"]  # edges are really read
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import x\ndef f():\n    import y\nimport z\n"
    assert [n.names[0].name for n in _runtime_imports(ast.parse(source), lazy=False)
            if isinstance(n, ast.Import)] == ["z"]


if __name__ == "__main__":
    lazy = "--lazy" in sys.argv[1:]
    found = cycles(import_graph(lazy=lazy))
    for component in found:
        print(" <-> ".join(component))
    print(f"{len(found)} import cycle(s) in {PACKAGE}/ ({'every import' if lazy else 'module-level imports'})")
    sys.exit(1 if found else 0)
