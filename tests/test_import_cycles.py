"""The import graph of backend/ has no circles (backend/import_graph.py; `python -m backend imports` prints them)."""

from __future__ import annotations

import ast

from backend.__main__ import main
from backend.import_graph import _runtime_imports, cycles, import_graph


def test_backend_has_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def test_the_check_finds_a_cycle_and_ignores_lazy_and_type_only_imports() -> None:
    graph = import_graph()
    assert "backend.chain.txmanager" in graph["backend.chain.mints"]  # edges are really read
    assert "backend.orders.refunds" in graph["backend.orders.fulfilment"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import x\ndef f():\n    import y\nimport z\n"
    assert [n.names[0].name for n in _runtime_imports(ast.parse(source), lazy=False)
            if isinstance(n, ast.Import)] == ["z"]


def test_the_command_exits_non_zero_on_a_cycle(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["imports"]) == 0
    assert capsys.readouterr().out.strip().endswith("0 import cycle(s) in backend/ (module-level imports)")
    monkeypatch.setattr("backend.import_graph.import_graph", lambda lazy=False: {"a": {"b"}, "b": {"a"}})
    assert main(["imports"]) == 1
    assert capsys.readouterr().out.startswith("a <-> b\n1 import cycle(s)")
