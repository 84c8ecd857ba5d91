"""bench/chain_index.py at tiny sizes: it runs end to end on anvil and prints every figure (no timing assertion: CI
machines are shared; the figures are for `make bench`)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_chain_index_bench_prints_its_figures_and_misses_nothing(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "chain_index.py"), "--transfers", "60", "--fills", "12",
         "--sellers", "3", "--fills-per-block", "5", "--database-url", f"sqlite:///{tmp_path / 'bench.db'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    last = run.stdout.strip().splitlines()[-1]
    figures = re.fullmatch(r"logs_per_s=(\d+) sales=(\d+) missed=(\d+)", last)
    assert figures, run.stdout
    assert int(figures[1]) > 0
    assert (int(figures[2]), int(figures[3])) == (12, 0)
    assert "72 logs (60 transfers, 12 sales)" in run.stdout
