"""Benchmarks still run: each on a tiny size, on the suite's kind of database, printing every figure of its last
line (no timing is asserted: the suite's machine is shared)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from backend.db import get_engine, is_postgresql

ROOT = Path(__file__).resolve().parents[2]


def _database_url(tmp_path: Path) -> str:
    if is_postgresql():
        return get_engine().url.render_as_string(hide_password=False)  # the bench makes its own scratch database
    return f"sqlite:///{tmp_path / 'bench.db'}"


def test_sales_ingest_bench_prints_every_figure_and_loses_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PRIMSELL_DATA_DIR")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "sales_ingest.py"), "-n", "500", "--page", "100",
         "--database-url", _database_url(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env=env | {"PRIMSELL_DATA_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stdout + done.stderr
    last = done.stdout.strip().splitlines()[-1]
    figures = dict(re.findall(r"(\w+)=(\d+)", last))
    assert list(figures) == ["events_per_s", "rows", "duplicate_rows", "lost"], last
    assert int(figures["events_per_s"]) > 0
    assert (int(figures["rows"]), int(figures["duplicate_rows"]), int(figures["lost"])) == (290, 0, 0)
