"""Outbox throughput: N events go write -> relay -> a trivial idempotent subscriber, on a fresh database.

Usage: python bench/outbox.py [-n 20000] [--database-url URL] [--tx-size 50]
Default database: a temp SQLite file. A PostgreSQL URL names the server: a scratch database
`primsell_bench_outbox_<pid>` is created there, migrated, and dropped at the end (two runs do not collide).
A writer thread commits events in transactions of --tx-size while the relay runs concurrently; the rate is
N / (first write -> last delivery).
Last line: events_per_s=<n> backend=<sqlite|postgresql> lost=<n> duplicated=<n>
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.scratch import drop_scratch_database, use_scratch_database

SCRATCH_DB = f"primsell_bench_outbox_{os.getpid()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--events", type=int, default=20000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--tx-size", type=int, default=50, help="events per writer transaction")
    parser.add_argument("--batch-size", type=int, default=500, help="relay claim batch")
    args = parser.parse_args()

    url = use_scratch_database(args.database_url, SCRATCH_DB)
    from backend import db
    from backend.workflow import outbox

    backend = db.get_engine().dialect.name
    # The application's subscribers are imported before timing, as a running relay daemon has them: the first
    # emit would otherwise import them (web3 and eth-account, seconds of CPU) inside the measured window.
    outbox.load_subscribers()

    effects: list[int] = []

    @outbox.subscriber("bench.happened", name="bench.counter")
    def count(session, event):  # type: ignore[no-untyped-def]
        if outbox.processed_once(session, event):
            effects.append(event.payload["n"])

    written = threading.Event()

    def writer() -> None:
        n = 0
        while n < args.events:
            with db.session_scope() as session:
                for _ in range(min(args.tx_size, args.events - n)):
                    # Three events per entity (like created/paid/fulfilled of one order): the per-entity order check
                    # is on the path.
                    outbox.emit(session, "bench.happened", {"n": n}, entity=("bench", n // 3))
                    n += 1
        written.set()

    started = time.perf_counter()
    thread = threading.Thread(target=writer)
    thread.start()
    delivered = 0
    while True:
        done = written.is_set()  # read before the pass: a pass that saw no rows proves nothing about later commits
        step = outbox.relay_pass(args.batch_size)
        delivered += step.delivered
        if done and step.claimed == 0:
            break
        if step.claimed == 0:
            time.sleep(0.002)
    elapsed = time.perf_counter() - started
    thread.join()

    seen = Counter(effects)
    lost = args.events - len(seen)
    duplicated = sum(c - 1 for c in seen.values())
    print(f"events={args.events} seconds={elapsed:.2f} delivered={delivered} database={db.get_engine().url!r}")
    db.set_engine(None)
    drop_scratch_database(url, SCRATCH_DB)
    print(f"events_per_s={args.events / elapsed:.0f} backend={backend} lost={lost} duplicated={duplicated}")
    return 0 if lost == 0 and duplicated == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
