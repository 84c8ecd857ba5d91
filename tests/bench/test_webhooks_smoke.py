"""bench/webhooks.py at a tiny size: anvil, the API under granian and the job runner as real processes; every paid
order minted once on the chain and every figure printed (no timing assertion: CI machines are shared). Runs on the
suite's kind of database (its own scratch database on PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.run import figures, number, run_bench

WEBHOOK_FIGURES = ["webhooks_per_s", "p50_ms", "p99_ms", "orders_paid", "mints", "duplicate_mints", "lost"]


@pytest.mark.slow
def test_webhooks_bench_mints_every_paid_order_once_and_prints_every_figure(database_url: str,
                                                                            tmp_path: Path) -> None:
    url = database_url if database_url.startswith("postgresql") else f"sqlite:///{tmp_path / 'bench.db'}"
    lines = run_bench("webhooks.py", "-n", "20", "--concurrency", "4", "--database-url", url,
                      "--settle-timeout", "240", data_dir=tmp_path)
    found = {name: number(value) for name, value in figures(lines[-1], WEBHOOK_FIGURES).items()}
    assert found["webhooks_per_s"] > 0 and found["p99_ms"] >= found["p50_ms"] > 0
    assert (found["orders_paid"], found["mints"], found["duplicate_mints"], found["lost"]) == (20, 20, 0, 0)
    assert lines[-2] == "errors=0"
