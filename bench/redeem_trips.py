"""SQL round trips and in-process CPU per staff redemption: bench/redeem.py's set-up (brand, staff, perk, tokens, signed
codes) on a scratch database, then the API's redeem call (`redeem_now`: the bearer's actor, then `scan_code`) in this
process, without HTTP, counting what reaches the database driver per call.

Usage: python bench/redeem_trips.py [-n 2000] [--database-url URL] [--profile FILE]

Counted per call, for accepted redemptions and for replays (refused "already used") apart: statements (SQLAlchemy's
before_cursor_execute), BEGIN / COMMIT / ROLLBACK, pool pings (the SELECT 1 of a connection that sat idle:
backend.db.PING_AFTER_IDLE_S), connection check-outs. On PostgreSQL each of these but the check-out is a round trip
to the server (psycopg sends BEGIN with the transaction's first statement as a query of its own). cpu_us = this
process's CPU time per call (time.process_time), single-threaded; db_cpu_us = the CPU of this database's PostgreSQL
backends per call.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.redeem import BENCH_KEY, PASSWORD, cpu_sample, cpu_used_us, seed  # noqa: E402
from bench.scratch import drop_scratch_database, use_scratch_database  # noqa: E402

SCRATCH_DB = "primsell_bench_redeem_trips"


class Trips:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.statements: Counter[str] = Counter()

    def install(self, engine) -> None:  # type: ignore[no-untyped-def]
        from sqlalchemy import event

        @event.listens_for(engine, "before_cursor_execute")
        def _statement(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
            self.counts["statement"] += 1
            self.statements[" ".join(statement.split())[:90]] += 1

        for name in ("begin", "commit", "rollback"):
            event.listen(engine, name, lambda conn, _n=name: self.counts.__setitem__(_n, self.counts[_n] + 1))
        event.listen(engine.pool, "checkout", lambda *a: self.counts.__setitem__("checkout",
                                                                                  self.counts["checkout"] + 1))
        dialect = engine.dialect
        ping = dialect.do_ping

        def counted_ping(dbapi_connection):  # type: ignore[no-untyped-def]
            self.counts["ping"] += 1
            return ping(dbapi_connection)

        dialect.do_ping = counted_ping

    def reset(self) -> None:
        self.counts.clear()
        self.statements.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=2000, help="distinct codes")
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL (a scratch database is made)")
    parser.add_argument("--profile", default=None, help="write a cProfile of the accepted calls to this file")
    args = parser.parse_args()
    url = use_scratch_database(args.database_url, SCRATCH_DB, PRIMSELL_SECRET_KEY=BENCH_KEY,
                               RATE_LIMIT_API_PER_ACCOUNT="1000000/minute", REDIS_URL="")
    try:
        from backend.api.reward_schemas import RedeemRequest
        from backend.api.routes.rewards import redeem_now
        from backend.auth.service import login
        from backend.db import get_engine
        from backend.workflow import outbox

        outbox.load_subscribers()  # as the bench's server (bench.webhooks:bench_app): events fan out to deliveries
        emails, batch = seed(args.n, 1)
        token = login(emails[0], PASSWORD, ip="127.0.0.1").access_token
        for warm in ("warm-up", *batch[:20]):  # compiled-statement caches, the pool's connection
            redeem_now(token, RedeemRequest(code=warm))
        trips = Trips()
        trips.install(get_engine())
        profile = None
        if args.profile:
            import cProfile

            profile = cProfile.Profile(time.process_time)  # CPU, not the waits on the database
        for label, work, status in (("accepted", batch[20:], "redeemed"), ("replay", batch[20:], "refused")):
            trips.reset()
            db_before = cpu_sample([os.getpid()], own_backend=True)["db"]
            began = time.process_time()
            if profile is not None and label == "accepted":
                profile.enable()
            for code in work:
                assert redeem_now(token, RedeemRequest(code=code)).status == status
            if profile is not None:
                profile.disable()
            cpu_us = (time.process_time() - began) / len(work) * 1e6
            db_after = cpu_sample([os.getpid()], own_backend=True)["db"]
            db_us = cpu_used_us({"db": db_before}, {"db": db_after})["db"] / len(work)
            per = {name: count / len(work) for name, count in sorted(trips.counts.items())}
            round_trips = sum(v for k, v in per.items() if k != "checkout")
            print(f"{label}: round_trips={round_trips:.2f} " + " ".join(f"{k}={v:.2f}" for k, v in per.items())
                  + f" cpu_us={cpu_us:.0f} db_cpu_us={db_us:.0f}")
            for statement, count in trips.statements.most_common():
                print(f"    {count / len(work):.2f}  {statement}")
        if profile is not None:
            profile.dump_stats(args.profile)
        print(f"{get_engine().dialect.name}")
    finally:
        if args.database_url:
            drop_scratch_database(url, SCRATCH_DB)


if __name__ == "__main__":
    main()
