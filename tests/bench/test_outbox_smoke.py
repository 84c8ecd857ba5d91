"""bench/outbox.py at a tiny size on the suite's kind of database (its own scratch database on PostgreSQL): every
event delivered once, every figure printed (no timing assertion)."""

from __future__ import annotations

from pathlib import Path

from tests.bench.run import figures, number, run_bench


def test_outbox_bench_delivers_every_event_once_and_prints_every_figure(database_url: str, tmp_path: Path) -> None:
    url = database_url if database_url.startswith("postgresql") else f"sqlite:///{tmp_path / 'bench.db'}"
    lines = run_bench("outbox.py", "-n", "300", "--tx-size", "20", "--batch-size", "50", "--database-url", url,
                      data_dir=tmp_path)
    found = figures(lines[-1], ["events_per_s", "backend", "lost", "duplicated"])
    assert number(found["events_per_s"]) > 0
    assert found["backend"] == url.split("+")[0].split(":")[0]
    assert (found["lost"], found["duplicated"]) == ("0", "0")
    assert lines[-2].startswith("events=300 ") and " delivered=300 " in lines[-2], lines[-2]
