"""bench/kyc_queue.py runs end to end on a tiny database and prints every figure (no timing assertion: the
figures are for the README's benchmark table, measured on purpose; here only that the script works and the claim
race has exactly one winner). Runs on the suite's database kind: its own scratch database on PostgreSQL."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_kyc_queue_benchmark_prints_its_figures(database_url: str, tmp_path: Path) -> None:
    url = database_url if database_url.startswith("postgresql") else f"sqlite:///{tmp_path / 'bench.db'}"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PRIMSELL_DATA_DIR")}
    result = subprocess.run([sys.executable, "bench/kyc_queue.py", "-n", "300", "--samples", "10",
                             "--database-url", url, "--racers", "20"],
                            cwd=ROOT, env=env | {"PRIMSELL_DATA_DIR": str(tmp_path / "var")}, capture_output=True,
                            text=True, timeout=600)
    print(result.stdout)
    assert result.returncode == 0, result.stderr[-3000:]
    last = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"queue_page_p99_ms=\d+\.\d case_page_p99_ms=\d+\.\d claim_winners=1", last), last
    assert "open cases:" in result.stdout and "claim race on case" in result.stdout
