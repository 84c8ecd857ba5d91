"""bench/redeem.py at a tiny size: it runs end to end over HTTP and prints every figure (no timing assertion: CI
machines are shared; the figures are for the README's table)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_redeem_bench_prints_its_figures_and_redeems_nothing_twice(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "redeem.py"), "-n", "60", "--concurrency", "8", "--workers", "2",
         "--database-url", f"sqlite:///{tmp_path / 'bench.db'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    lines = run.stdout.strip().splitlines()
    figures = re.fullmatch(r"redeems_per_s=(\d+) p99_ms=(\d+) double_redeems=(\d+)", lines[-1])
    assert figures, run.stdout
    assert int(figures[1]) > 0 and int(figures[3]) == 0
    assert lines[-2] == "redemption_rows=60 tokens_redeemed=60 missed=0"
    assert "outcomes=redeemed:60,refused:6" in lines[-3]
