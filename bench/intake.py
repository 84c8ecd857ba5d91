"""The webhook intake's two steps in-process, without HTTP: the request's check (`_verified`: the signature and the
JSON) and the intake thread's store (`_store`: one transaction per group), by group size, as CPU per webhook in this
process and, on PostgreSQL, in the database's backends.

Usage: python bench/intake.py [-n 4000] [--groups 1,8,32] [--database-url URL]
Default database: a temp SQLite file (its work is this process's). A PostgreSQL URL names the server: a scratch
database `primsell_bench_intake_<pid>` is made there, migrated, and dropped at the end.

Why by group size: under a webhook storm the intake commits what is waiting, a few to a few dozen deliveries at a
time, and a group's fixed cost (a transaction, three statements, their round trips) is spread over that many.
Every stored event is counted afterwards (one payment event and one outbox delivery each), so a store that lost or
doubled one fails the run.
Last line: verify_us=<n> store_us_g<G>=<n> db_us_g<G>=<n> ... backend=<sqlite|postgresql> lost=<n>
(db_us: PostgreSQL's backends, per webhook; 0 on SQLite, whose work is in store_us)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.scaleout import cpu_seconds_by_role
from bench.scratch import drop_scratch_database, use_scratch_database

SCRATCH_DB = f"primsell_bench_intake_{os.getpid()}"
WARM_UP = 200  # events stored before timing each group size (statement caches, prepared statements)


def signed_events(first: int, count: int) -> list[tuple[bytes, str]]:
    """`count` checkout.session.completed deliveries (body, Stripe-Signature), each for its own order id."""
    from backend.payments import sandbox
    from backend.payments.signing import sign

    deliveries = []
    for i in range(first, first + count):
        event = sandbox.build_event("checkout.session.completed", {
            "id": f"cs_bench_{i}", "object": "checkout.session", "payment_intent": f"pi_bench_{i}",
            "amount_total": 2500, "currency": "usd", "payment_status": "paid", "status": "complete",
            "metadata": {"order_id": str(i + 1)}, "customer_details": {"email": f"buyer{i}@example.com"}})
        body = json.dumps(event, separators=(",", ":")).encode()
        deliveries.append((body, sign(body)))
    return deliveries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--events", type=int, default=4000, help="timed events per group size")
    parser.add_argument("--groups", default="1,8,32", help="group sizes, comma-separated")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    args = parser.parse_args()
    groups = [int(g) for g in args.groups.split(",")]

    url = use_scratch_database(args.database_url, SCRATCH_DB)
    from sqlalchemy import func, select

    from backend import db
    from backend.payments import webhooks
    from backend.payments.models import PaymentEvent
    from backend.workflow import outbox
    from backend.workflow.models import OutboxDelivery

    backend = db.get_engine().dialect.name
    on_postgres = backend == "postgresql"
    outbox.load_subscribers()  # as the intake thread does before its first group

    deliveries = signed_events(0, (WARM_UP + args.events) * len(groups))
    started = time.process_time()
    pending = [webhooks._verified(body, signature) for body, signature in deliveries]
    verify_us = (time.process_time() - started) / len(pending) * 1e6

    line = [f"verify_us={verify_us:.0f}"]
    at = 0
    for size in groups:
        for k in range(at, at + WARM_UP, size):
            webhooks._store(pending[k:min(k + size, at + WARM_UP)])
        at += WARM_UP
        cpu, database = time.process_time(), cpu_seconds_by_role()["postgres"] if on_postgres else 0.0
        for k in range(at, at + args.events, size):
            webhooks._store(pending[k:min(k + size, at + args.events)])
        store_us = (time.process_time() - cpu) / args.events * 1e6
        db_us = (cpu_seconds_by_role()["postgres"] - database) / args.events * 1e6 if on_postgres else 0.0
        at += args.events
        print(f"group={size} events={args.events} store_us={store_us:.0f} db_us={db_us:.0f}")
        line += [f"store_us_g{size}={store_us:.0f}", f"db_us_g{size}={db_us:.0f}"]

    with db.session_scope() as session:
        events = session.execute(select(func.count()).select_from(PaymentEvent)).scalar_one()
        handed_on = session.execute(select(func.count()).select_from(OutboxDelivery)).scalar_one()
    lost = len(pending) - min(events, handed_on)
    print(f"stored={events} deliveries={handed_on} of {len(pending)} database={db.get_engine().url!r}")
    db.set_engine(None)
    drop_scratch_database(url, SCRATCH_DB)
    print(" ".join([*line, f"backend={backend}", f"lost={lost}"]))
    return 0 if events == handed_on == len(pending) else 1


if __name__ == "__main__":
    sys.exit(main())
