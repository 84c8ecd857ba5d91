"""bench/gas.py runs end to end on anvil and prints every figure (its sizes are the fixed scenarios of the
contracts README; no timing is asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.run import figures, number, run_bench

GAS_FIGURES = ["gas_per_token_distinct50", "baseline_distinct50", "gas_per_token_same100", "baseline_same100",
               "transfer", "baseline_transfer"]


@pytest.mark.slow
def test_gas_bench_prints_every_figure(tmp_path: Path) -> None:
    lines = run_bench("gas.py", "--anvil", data_dir=tmp_path)
    gas = {name: number(value) for name, value in figures(lines[-1], GAS_FIGURES).items()}
    assert all(value > 21_000 / 100 for value in gas.values()), gas  # at least a share of a transaction's base cost
    assert lines[-2].startswith("targets: "), lines[-2]
