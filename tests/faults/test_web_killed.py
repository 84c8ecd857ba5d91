"""The web process killed with SIGKILL during a webhook burst: every delivery it acknowledged (2xx) is processed;
every one it did not is redelivered by the provider (this test plays Stripe) to a restarted web process and processed
once. Two kills: one planted (backend.faults: the process dies after committing a group of deliveries, before
answering them: stored, never acknowledged), one from outside at a seeded moment of the burst.

The API runs in granian (the ASGI server Reflex runs) in its own process; the burst is bench/webhooks.py's
(signed checkout.session.completed events over concurrent keep-alive connections). The relaying is done here once
the web process is gone, so what counts is only what the killed process committed.
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from sqlalchemy import func, select

from backend.chain.models import MintRequest
from backend.db import session_scope
from backend.faults import ENV
from backend.orders.models import Order
from backend.payments.models import PaymentEvent
from backend.workflow.models import OutboxEvent
from bench.webhooks import BenchOrder, completion_bodies, make_orders, post_all
from tests.factories import make_brand, make_campaign
from tests.faults.support import kill_group, serve_api, wait_for
from tests.payments.support import BUYER_LIMITS_OFF, count, settle

N = 60
CONCURRENCY = 12
TIMEOUT_S = 120


def _stored_event_ids() -> set[str]:
    with session_scope() as session:
        return set(session.execute(select(PaymentEvent.event_id)).scalars())


def _event_id(body: bytes) -> str:
    import json

    return str(json.loads(body)["id"])


class _HeldBurst:
    """A burst's bodies, handed to `post_all` in order until `hold_at`; the next one waits until `release` is set,
    and so does the sender's event loop (deliveries already sent stay in flight). The kill from outside then lands
    mid-burst however fast the process answers: on a loaded machine the whole burst was once answered before the
    test's poll noticed that part of it was stored. What comes after the release finds the process dead."""

    def __init__(self, bodies: list[bytes], hold_at: int) -> None:
        self.bodies = bodies
        self.hold_at = hold_at
        self.release = threading.Event()

    def __len__(self) -> int:
        return len(self.bodies)

    def __iter__(self) -> Iterator[bytes]:
        for i, body in enumerate(self.bodies):
            if i == self.hold_at:
                self.release.wait(TIMEOUT_S)
            yield body


def _burst(url: str, bodies: Sequence[bytes]) -> list[int]:
    return asyncio.run(post_all(url, bodies, CONCURRENCY))[1]  # type: ignore[arg-type]


def _redeliver_until_acknowledged(url: str, bodies: list[bytes]) -> None:
    """The provider retries every delivery it has no 2xx for (here at once, and again until each is answered)."""
    left = list(bodies)
    for _ in range(10):
        statuses = _burst(url, left)
        left = [b for b, s in zip(left, statuses, strict=True) if s != 200]
        if not left:
            return
    raise AssertionError(f"{len(left)} deliveries never acknowledged by the restarted web process")


def _check_round(name: str, orders: list[BenchOrder], bodies: dict[int, bytes], statuses: list[int],
                 log: Path) -> set[int]:
    """After a kill: every acknowledged delivery is stored (and, relayed here, pays its order). Returns the ids of
    the orders whose delivery was not acknowledged."""
    stored = _stored_event_ids()
    acknowledged = {o.id for o, s in zip(orders, statuses, strict=True) if s == 200}
    missing = [o.id for o in orders if o.id in acknowledged and _event_id(bodies[o.id]) not in stored]
    assert not missing, f"{name}: acknowledged but not stored: {missing}"
    settle()
    with session_scope() as session:
        paid = set(session.execute(select(Order.id).where(Order.paid_at.is_not(None))).scalars())  # type: ignore[union-attr]
    assert acknowledged <= paid, f"{name}: acknowledged but not paid: {sorted(acknowledged - paid)}"
    print(f"{name}: {len(acknowledged)} acknowledged, {len(stored)} stored in all, "
          f"{len(orders) - len(acknowledged)} to redeliver")
    return {o.id for o in orders} - acknowledged


def test_web_process_killed_in_a_webhook_burst_loses_no_acknowledged_event_and_processes_each_once(
        configure, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed = int(os.environ.get("PRIMSELL_FAULT_SEED", random.randrange(1 << 30)))
    print(f"fault seed {seed} (PRIMSELL_FAULT_SEED={seed} replays it)")
    rng = random.Random(seed)
    configure(**BUYER_LIMITS_OFF, ORDER_TTL_SECONDS=3600, ORDER_UNPAID_HOLD_SECONDS=3600)
    campaign = make_campaign(make_brand(), supply_cap=3 * N)
    log = tmp_path / "web.log"
    all_orders: list[BenchOrder] = []
    all_bodies: dict[int, bytes] = {}

    # Round 1: the process dies right after committing the burst's k-th group of deliveries, before answering them.
    # The k-1 single deliveries before the burst are each a group of their own, acknowledged.
    k = rng.randint(2, 4)
    orders = make_orders(campaign.slug, N)
    bodies = completion_bodies(orders)
    env = {**os.environ, ENV: f"webhook.stored@{k}"}
    web, url = serve_api(log, env)
    try:
        first = [_burst(url, [bodies[o.id]])[0] for o in orders[:k - 1]]
        assert first == [200] * (k - 1)
        result: list[list[int]] = []
        sender = threading.Thread(target=lambda: result.append(_burst(url, [bodies[o.id] for o in orders[k - 1:]])))
        sender.start()
        wait_for(lambda: "fault point webhook.stored reached" in log.read_text(), TIMEOUT_S,
                 "the planted kill", log)
    finally:
        kill_group(web)  # granian's main process, whose worker the planted kill ended
    sender.join(TIMEOUT_S)
    assert not sender.is_alive() and result, "the burst did not end after the kill"
    rest = result[0]
    statuses = first + rest
    assert 200 not in rest, "the burst's first group was answered: the planted kill did not happen before it"
    assert len(_stored_event_ids()) > k - 1, "the group that died unanswered was not committed"
    unanswered = _check_round("planted kill", orders, bodies, statuses, log)
    all_orders += orders
    all_bodies |= bodies

    # Round 2: a second burst, the process SIGKILLed from outside once a seeded share of it is stored.
    orders = make_orders(campaign.slug, N)
    bodies = completion_bodies(orders)
    before = len(_stored_event_ids())
    kill_after = rng.randint(N // 5, N // 2)
    # Held once kill_after + CONCURRENCY bodies are out: by then at least kill_after + 1 have been answered.
    burst = _HeldBurst([bodies[o.id] for o in orders], kill_after + CONCURRENCY)
    web, url = serve_api(log)
    result = []
    try:
        sender = threading.Thread(target=lambda: result.append(_burst(url, burst)))
        sender.start()
        wait_for(lambda: len(_stored_event_ids()) - before >= kill_after or not sender.is_alive(), TIMEOUT_S,
                 "part of the burst stored", log, poll=0.02)
    finally:
        kill_group(web)
        burst.release.set()
    sender.join(TIMEOUT_S)
    assert not sender.is_alive() and result, "the burst did not end after the kill"
    assert result[0].count(200) < N, "the whole burst was answered before the kill"
    unanswered |= _check_round("outside kill", orders, bodies, result[0], log)
    all_orders += orders
    all_bodies |= bodies

    # The provider redelivers what was not acknowledged, and (as Stripe may) some of what was, to a new process.
    again = [all_bodies[i] for i in sorted(unanswered)]
    again += [all_bodies[o.id] for o in rng.sample(all_orders, 10) if o.id not in unanswered]
    web, url = serve_api(log)
    try:
        _redeliver_until_acknowledged(url, again)
    finally:
        kill_group(web)
    settle()

    # Every order paid exactly once: one stored event each, one order.paid, one mint request.
    with session_scope() as session:
        events_per_order = dict(session.execute(select(PaymentEvent.order_id, func.count())
                                                .group_by(PaymentEvent.order_id)).all())
        paid = session.execute(select(func.count()).where(Order.paid_at.is_not(None))).scalar_one()  # type: ignore[union-attr]
        unprocessed = session.execute(select(func.count()).where(PaymentEvent.processed_at.is_(None))).scalar_one()  # type: ignore[union-attr]
    assert events_per_order == {o.id: 1 for o in all_orders}
    assert unprocessed == 0
    assert paid == 2 * N
    assert count(OutboxEvent, OutboxEvent.topic == "order.paid") == 2 * N
    assert count(MintRequest) == 2 * N
