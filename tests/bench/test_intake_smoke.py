"""bench/intake.py at a tiny size on the suite's kind of database (its own scratch database on PostgreSQL): every
event stored once with its delivery, every figure printed (no timing assertion)."""

from __future__ import annotations

from pathlib import Path

from tests.bench.run import figures, number, run_bench


def test_intake_bench_stores_every_event_once_and_prints_every_figure(database_url: str, tmp_path: Path) -> None:
    url = database_url if database_url.startswith("postgresql") else f"sqlite:///{tmp_path / 'bench.db'}"
    lines = run_bench("intake.py", "-n", "40", "--groups", "1,8", "--database-url", url, data_dir=tmp_path)
    found = figures(lines[-1], ["verify_us", "store_us_g1", "db_us_g1", "store_us_g8", "db_us_g8", "backend", "lost"])
    on_postgres = url.startswith("postgresql")
    assert found["backend"] == ("postgresql" if on_postgres else "sqlite")
    for name in ("verify_us", "store_us_g1", "store_us_g8"):
        assert number(found[name]) > 0, name
    assert (number(found["db_us_g1"]) > 0) is on_postgres  # PostgreSQL's backends did the database's work
    assert found["lost"] == "0"
    assert lines[-2].startswith("stored=480 deliveries=480 of 480 "), lines[-2]
