"""bench/mint_throughput.py at a tiny size: it deploys its own collection on anvil, mints through the dispatcher and
the monitor, and prints its figure (no timing assertion: CI machines are shared)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.run import figures, number, run_bench


@pytest.mark.slow
def test_mint_throughput_bench_mints_every_request_and_prints_its_figure(tmp_path: Path) -> None:
    lines = run_bench("mint_throughput.py", "--requests", "24", "--batch-size", "10",
                      "--database-url", f"sqlite:///{tmp_path / 'bench.db'}", data_dir=tmp_path)
    assert number(figures(lines[-1], ["tokens_per_s"])["tokens_per_s"]) > 0
    assert "collection deployed; minting 24 tokens in batches of 10" in lines[0]
    assert lines[-2].startswith("24 tokens confirmed in "), lines[-2]
