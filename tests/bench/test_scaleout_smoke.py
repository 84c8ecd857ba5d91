"""bench/scaleout.py at a tiny size: the two-phase webhook storm on the scale-out topology (two Reflex web processes on
Redis, two runners, PostgreSQL) runs to its last line and prints every figure (no timing or ratio assertion: CI
machines are shared)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.scaleout import CPU_ROLES
from tests.bench.run import figures, number, run_bench
from tests.conftest import TEST_DB

SCALEOUT_FIGURES = ["webhooks_per_s", "one_process_webhooks_per_s", "p99_ms", "duplicate_mints", "lost"]


@pytest.mark.slow
@pytest.mark.skipif(TEST_DB != "postgresql", reason="the scale-out topology runs on PostgreSQL only: several "
                    "processes on several machines cannot share SQLite (run with PRIMSELL_TEST_DB=postgresql)")
def test_scaleout_bench_prints_every_figure_and_mints_each_order_once(database_url: str, tmp_path: Path) -> None:
    lines = run_bench("scaleout.py", "-n", "30", "--concurrency", "8", "--database-url", database_url,
                      "--redis-url", "redis://127.0.0.1:6379/14", "--settle-timeout", "240", data_dir=tmp_path)
    found = {name: number(value) for name, value in figures(lines[-1], SCALEOUT_FIGURES).items()}
    assert found["webhooks_per_s"] > 0 and found["one_process_webhooks_per_s"] > 0 and found["p99_ms"] > 0
    assert (found["duplicate_mints"], found["lost"]) == (0, 0)
    runs = figures(lines[-2], ["job_runs", "runners", "overlaps"])
    assert (runs["runners"], runs["overlaps"]) == ("2", "0"), lines[-2]
    assert lines[-3].startswith("# ratio="), lines[-3]
    assert lines[-4].startswith("# ceiling: "), lines[-4]
    splits = [line for line in lines if line.startswith("#   cores used:")]
    assert len(splits) == 2, lines  # one per storm
    for split in splits:
        cores = figures(split.removeprefix("#   cores used: "), list(CPU_ROLES))
        assert number(cores["web"]) > 0, split
