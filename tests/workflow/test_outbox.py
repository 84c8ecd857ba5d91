"""The outbox: nothing lost across a crash, duplicates change nothing, failures retry then dead-letter without
blocking other subscribers, and one entity's events reach a subscriber in order."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.exc import IntegrityError

from backend.db import get_engine, is_postgresql, session_scope, set_engine, utcnow
from backend.monitoring.models import ErrorLogEntry
from backend.workflow import kick, outbox, outbox_admin
from backend.workflow.models import DeliveryStatus, OutboxDelivery, OutboxEvent, ProcessedEvent, StateTransition


@pytest.fixture
def register() -> Iterator[Callable[..., Callable]]:
    names: list[str] = []

    def add(name: str, *topics: str) -> Callable:
        def deco(fn: Callable) -> Callable:
            names.append(name)
            return outbox.subscriber(*topics, name=name)(fn)
        return deco

    yield add
    for name in names:
        outbox.unregister(name)


def _emit(topic: str, payload: dict, entity: tuple[str, int] | None = None, key: str | None = None) -> int:
    with session_scope() as session:
        ev = outbox.emit(session, topic, payload, entity=entity, key=key)
        session.flush()
        return ev.id


def _deliveries(subscriber: str) -> list[OutboxDelivery]:
    with session_scope() as session:
        return list(session.execute(select(OutboxDelivery).where(OutboxDelivery.subscriber == subscriber)
                                    .order_by(OutboxDelivery.id)).scalars())


def _drain(passes: int = 10) -> None:
    for _ in range(passes):
        if outbox.relay_pass(100).claimed == 0:
            return


def test_committed_event_survives_a_crash_before_delivery(register) -> None:  # type: ignore[no-untyped-def]
    seen: list[int] = []

    @register("t.survivor", "order.paid")
    def on_paid(session, event):  # type: ignore[no-untyped-def]
        if outbox.processed_once(session, event):
            seen.append(event.payload["order"])

    _emit("order.paid", {"order": 1}, ("order", 1))
    set_engine(None)  # the process "dies" after commit: every connection and in-memory state is gone
    assert seen == []
    _drain()
    assert seen == [1]
    assert [d.status for d in _deliveries("t.survivor")] == [DeliveryStatus.DELIVERED]


def test_relay_dying_mid_batch_loses_and_duplicates_nothing(register) -> None:  # type: ignore[no-untyped-def]
    applied: list[int] = []
    crash = {"armed": True}

    @register("t.crashy", "order.paid")
    def on_paid(session, event):  # type: ignore[no-untyped-def]
        if event.payload["order"] == 3 and crash["armed"]:
            crash["armed"] = False
            raise KeyboardInterrupt("process killed")  # not an Exception: nothing catches it, like a kill
        if outbox.processed_once(session, event):
            applied.append(event.payload["order"])

    for n in range(1, 6):
        _emit("order.paid", {"order": n}, ("order", n))
    with pytest.raises(KeyboardInterrupt):
        outbox.relay_pass(100)
    with session_scope() as session:  # the batch's transaction was rolled back: no effect was kept
        assert session.execute(select(ProcessedEvent)).first() is None
    applied.clear()  # effects of the rolled-back transaction never happened
    _drain()
    assert sorted(applied) == [1, 2, 3, 4, 5]


def test_duplicate_delivery_changes_nothing(register) -> None:  # type: ignore[no-untyped-def]
    applied: list[int] = []

    @register("t.idem", "reward.allocated")
    def on_allocated(session, event):  # type: ignore[no-untyped-def]
        if outbox.processed_once(session, event):
            applied.append(event.id)

    event_id = _emit("reward.allocated", {"reward": 9})
    _drain()
    with session_scope() as session:  # the delivery is handed out again (e.g. a lost acknowledgement)
        session.execute(update(OutboxDelivery).values(status=DeliveryStatus.PENDING))
    _drain()
    assert applied == [event_id]
    assert _deliveries("t.idem")[0].status is DeliveryStatus.DELIVERED


def test_same_idempotency_key_cannot_be_emitted_twice() -> None:
    _emit("order.paid", {"order": 1}, key="stripe:evt_1")
    with pytest.raises(IntegrityError):
        _emit("order.paid", {"order": 1}, key="stripe:evt_1")


def test_emit_many_writes_what_emit_writes_and_returns_ids_in_order(register) -> None:  # type: ignore[no-untyped-def]
    seen: list[tuple[str, dict, str | None]] = []

    @register("t.batch_a", "order.paid", "order.expired")
    @register("t.batch_b", "order.paid")
    def on_event(session, event):  # type: ignore[no-untyped-def]
        if outbox.processed_once(session, event):
            seen.append((event.subscriber, event.payload, event.topic))

    one_by_one = _emit("order.paid", {"order": 1}, ("order", 1), key="k-1")
    batch = [outbox.NewEvent("order.paid", {"order": n}, ("order", n), key=f"k-{n}") for n in range(2, 40)]
    batch.append(outbox.NewEvent("order.expired", {"order": 99}))
    with session_scope() as session:
        ids = outbox.emit_many(session, batch)
    with session_scope() as session:
        events = {e.id: e for e in session.execute(select(OutboxEvent)).scalars()}
        deliveries = session.execute(select(OutboxDelivery.event_id, OutboxDelivery.subscriber,
                                            OutboxDelivery.entity_key, OutboxDelivery.status)).all()
    assert [events[i].payload for i in ids] == [e.payload for e in batch]  # ids in the order given
    assert [(events[i].key, events[i].entity_type, events[i].entity_id) for i in ids[:2]] == [
        ("k-2", "order", "2"), ("k-3", "order", "3")]
    by_event: dict[int, list[tuple[str, str | None]]] = {}
    for event_id, subscriber, entity_key, status in deliveries:
        assert status is DeliveryStatus.PENDING
        by_event.setdefault(event_id, []).append((subscriber, entity_key))
    assert sorted(by_event[one_by_one]) == [("t.batch_a", "order:1"), ("t.batch_b", "order:1")]
    assert sorted(by_event[ids[0]]) == [("t.batch_a", "order:2"), ("t.batch_b", "order:2")]
    assert by_event[ids[-1]] == [("t.batch_a", None)]  # only its topic's subscribers; no entity
    _drain()
    assert len(seen) == 2 * 39 + 1
    with session_scope() as session, pytest.raises(IntegrityError):  # keys stay unique across both paths
        outbox.emit_many(session, [outbox.NewEvent("order.paid", {"order": 1}, key="k-1")])
    with session_scope() as session:
        assert outbox.emit_many(session, []) == []



def test_emit_many_bulk_path_allocates_ids_that_match_the_rows_and_fan_out(register) -> None:  # type: ignore[no-untyped-def]
    """From BULK_EMIT_MIN events without keys, ids are taken first and the rows bulk-inserted (COPY on
    PostgreSQL): the ids returned name the right rows, follow an ORM emit in the same transaction without a
    clash, every event gets its deliveries, and the relay delivers each once."""
    seen: list[int] = []

    @register("t.bulk", "order.paid")
    def on_event(session, event):  # type: ignore[no-untyped-def]
        if outbox.processed_once(session, event):
            seen.append(event.payload["order"])

    count = outbox.BULK_EMIT_MIN + 10
    before = _emit("order.paid", {"order": 0}, ("order", 0))
    batch = [outbox.NewEvent("order.paid", {"order": n, "note": f"n{n}"}, ("order", n)) for n in range(1, count + 1)]
    with session_scope() as session:
        orm_event = outbox.emit(session, "order.paid", {"order": -1}, entity=("order", -1))
        session.flush()
        ids = outbox.emit_many(session, batch)
        after_orm = outbox.emit(session, "order.paid", {"order": -2})
    with session_scope() as session:
        events = {e.id: e for e in session.execute(select(OutboxEvent)).scalars()}
        deliveries = session.execute(select(OutboxDelivery.event_id, OutboxDelivery.entity_key)
                                     .where(OutboxDelivery.subscriber == "t.bulk")).all()
    assert len(set(ids)) == count and min(ids) > max(before, orm_event.id)
    assert after_orm.id is not None and after_orm.id not in ids
    assert [events[i].payload for i in ids] == [e.payload for e in batch]
    assert [(events[i].entity_type, events[i].entity_id, events[i].key) for i in ids[:2]] == [
        ("order", "1", None), ("order", "2", None)]
    assert events[ids[0]].created_at.tzinfo is not None
    assert sorted(deliveries) == sorted([(before, "order:0"), (orm_event.id, "order:-1"), (after_orm.id, None)]
                                        + [(event_id, f"order:{n}") for n, event_id in enumerate(ids, start=1)])
    _drain()
    assert sorted(seen) == [-2, -1, *range(0, count + 1)]
    with session_scope() as session:  # the sequence (PostgreSQL) or max id (SQLite) moved on: a later emit fits
        assert outbox.emit_many(session, batch[:1])[0] > max(ids)

def test_failing_subscriber_is_retried_then_dead_lettered_without_blocking_others(register, configure) -> None:  # type: ignore[no-untyped-def]
    configure(OUTBOX_MAX_ATTEMPTS=3, OUTBOX_BACKOFF_BASE_SECONDS=0)
    calls = {"broken": 0}
    good: list[int] = []

    @register("t.broken", "order.paid")
    def broken(session, event):  # type: ignore[no-untyped-def]
        calls["broken"] += 1
        raise ValueError("mailer said no to buyer@example.com")

    @register("t.good", "order.paid")
    def fine(session, event):  # type: ignore[no-untyped-def]
        if outbox.processed_once(session, event):
            good.append(event.payload["order"])

    event_id = _emit("order.paid", {"order": 5}, ("order", 5))
    first = outbox.relay_pass(100)
    assert (first.delivered, first.failed) == (1, 1)
    assert good == [5]
    _drain()
    assert calls["broken"] == 3
    [dead] = _deliveries("t.broken")
    assert (dead.status, dead.attempts) == (DeliveryStatus.DEAD, 3)
    assert "ValueError" in dead.last_error
    with session_scope() as session:
        entry = session.execute(select(ErrorLogEntry)).scalars().one()
        assert (entry.source, entry.count) == ("subscriber:t.broken", 3)
        assert "buyer@example.com" not in entry.message
        assert [d.event_id for d in outbox_admin.dead_letters(session)] == [event_id]
    assert good == [5]  # the good subscriber ran once, not once per retry of the broken one


def test_failed_delivery_waits_for_its_backoff(register, configure) -> None:  # type: ignore[no-untyped-def]
    configure(OUTBOX_BACKOFF_BASE_SECONDS=30)

    @register("t.flaky", "kyc.submitted")
    def flaky(session, event):  # type: ignore[no-untyped-def]
        raise ConnectionError("down")

    _emit("kyc.submitted", {})
    before = utcnow()
    outbox.relay_pass(100)
    assert outbox.relay_pass(100).claimed == 0  # not due yet
    [d] = _deliveries("t.flaky")
    assert d.next_attempt_at >= before + timedelta(seconds=29)
    assert (d.status, d.attempts) == (DeliveryStatus.PENDING, 1)


def _history(order: int) -> list[str]:
    """What the "t.ordered" subscriber committed for an order, in commit order."""
    with session_scope() as session:
        return list(session.execute(
            select(StateTransition.to_state).where(StateTransition.entity_id == str(order))
            .order_by(StateTransition.id)  # type: ignore[arg-type]
        ).scalars())


def test_events_of_one_entity_reach_a_subscriber_in_order(register, configure) -> None:  # type: ignore[no-untyped-def]
    configure(OUTBOX_BACKOFF_BASE_SECONDS=0)
    calls: list[tuple[int, str]] = []  # every call, including calls whose transaction was rolled back
    fail_once = {"order.paid": True}

    @register("t.ordered", "order.created", "order.paid", "order.fulfilled")
    def track(session, event):  # type: ignore[no-untyped-def]
        calls.append((event.payload["order"], event.topic))
        if fail_once.pop(event.topic, False):
            raise RuntimeError("transient")
        session.add(StateTransition(entity_type="order", entity_id=str(event.payload["order"]), from_state="",
                                    to_state=event.topic, trigger="track", actor="test"))

    _emit("order.created", {"order": 1}, ("order", 1))
    _emit("order.paid", {"order": 1}, ("order", 1))
    _emit("order.fulfilled", {"order": 1}, ("order", 1))
    _emit("order.created", {"order": 2}, ("order", 2))
    _emit("order.paid", {"order": 2}, ("order", 2))
    outbox.relay_pass(100)
    # order 1: created went through, paid failed, so fulfilled waits (it is not even tried); order 2 is not
    # held back by order 1.
    assert (1, "order.fulfilled") not in calls
    assert _history(1) == ["order.created"]
    assert _history(2) == ["order.created", "order.paid"]
    _drain()
    assert _history(1) == ["order.created", "order.paid", "order.fulfilled"]
    assert _history(2) == ["order.created", "order.paid"]
    first_fulfilled = calls.index((1, "order.fulfilled"))
    assert (1, "order.paid") in calls[:first_fulfilled] and (1, "order.paid") not in calls[first_fulfilled:]


def test_entity_stuck_on_a_failing_event_holds_back_only_itself(register, configure) -> None:  # type: ignore[no-untyped-def]
    configure(OUTBOX_BACKOFF_BASE_SECONDS=60)
    broken = {"order:1": True}
    received: list[tuple[int, int]] = []

    @register("t.stuck", "order.changed")
    def track(session, event):  # type: ignore[no-untyped-def]
        if broken.get(f"order:{event.payload['order']}"):
            raise RuntimeError("down")
        received.append((event.payload["order"], event.payload["step"]))

    for step in range(250):  # a backlog of one entity behind its failing first event, longer than a batch
        _emit("order.changed", {"order": 1, "step": step}, ("order", 1))
    for step in range(3):
        _emit("order.changed", {"order": 2, "step": step}, ("order", 2))
    for _ in range(5):
        outbox.relay_pass(100)
    assert received == [(2, 0), (2, 1), (2, 2)]  # order 2 went past order 1's waiting events
    # The waiting events wait for the failing one's next attempt: later passes step over them.
    assert outbox.relay_pass(100).claimed == 0
    [head, *tail] = _deliveries("t.stuck")[:250]
    assert (head.status, head.attempts) == (DeliveryStatus.PENDING, 1)
    assert all(d.attempts == 0 and d.next_attempt_at >= head.next_attempt_at for d in tail)

    broken.clear()
    with session_scope() as session:  # time passes: the failed event is due again
        session.execute(update(OutboxDelivery).values(next_attempt_at=utcnow()))
    _drain()
    assert [s for o, s in received if o == 1] == list(range(250))


def test_delivery_waits_while_an_earlier_one_of_its_entity_is_claimed_elsewhere(register) -> None:  # type: ignore[no-untyped-def]
    if not is_postgresql():
        pytest.skip("SQLite relays never overlap (BEGIN IMMEDIATE): there is no concurrent claim to skip")
    received: list[str] = []

    @register("t.parallel", "order.created", "order.paid")
    def track(session, event):  # type: ignore[no-untyped-def]
        received.append(event.topic)

    _emit("order.created", {"order": 1}, ("order", 1))
    _emit("order.paid", {"order": 1}, ("order", 1))
    first = _deliveries("t.parallel")[0].id
    with session_scope() as other:  # another relay holds the first delivery
        other.execute(select(OutboxDelivery).where(OutboxDelivery.id == first).with_for_update())
        assert outbox.relay_pass(100).delivered == 0
    assert received == []
    _drain()
    assert received == ["order.created", "order.paid"]


def test_a_relay_pass_costs_the_same_number_of_statements_whatever_the_backlog(register) -> None:  # type: ignore[no-untyped-def]
    @register("t.counted", "order.paid")
    def on_paid(session, event):  # type: ignore[no-untyped-def]
        outbox.processed_once(session, event)

    def statements_of_one_pass(events: int) -> int:
        for n in range(events):
            _emit("order.paid", {"order": n}, ("order", n % 7))
        count = [0]

        def counter(*_args: object) -> None:
            count[0] += 1

        engine = get_engine()
        event.listen(engine, "before_cursor_execute", counter)
        try:
            assert outbox.relay_pass(500).delivered == events
        finally:
            event.remove(engine, "before_cursor_execute", counter)
        return count[0]

    assert statements_of_one_pass(5) == statements_of_one_pass(300)


def test_kick_delivers_right_after_commit(register) -> None:  # type: ignore[no-untyped-def]
    seen: list[int] = []

    @register("t.kicked", "order.minted")
    def on_minted(session, event):  # type: ignore[no-untyped-def]
        seen.append(event.id)

    event_id = _emit("order.minted", {"order": 3}, ("order", 3))
    kick.kick()
    kick.wait_for_kick()
    assert seen == [event_id]


def test_event_without_subscribers_needs_no_delivery() -> None:
    _emit("campaign.published", {"campaign": 1})
    assert outbox.relay_pass(100).claimed == 0


def test_a_pass_out_of_time_commits_what_it_ran_and_leaves_the_rest_for_later(register) -> None:  # type: ignore[no-untyped-def]
    """A budgeted pass stops running subscribers at its deadline: the rows it claimed but did not reach get their
    processed markers back (two subscribers, so the take-back spans more than one), stay pending and run exactly
    once later."""
    calls: list[tuple[str, int]] = []

    def slow(name: str) -> Callable:
        def on_tick(session, event):  # type: ignore[no-untyped-def]
            assert outbox.processed_once(session, event), "a delivery ran twice"
            calls.append((name, event.payload["n"]))
            time.sleep(0.004)
        return on_tick

    register("t.slow_a", "tick")(slow("a"))
    register("t.slow_b", "tick")(slow("b"))
    for n in range(8):
        _emit("tick", {"n": n}, ("tick", n))

    first = outbox.relay_pass(16, budget_s=0.01)
    assert first.claimed == 16 and 1 <= first.delivered < 16 and first.more
    with session_scope() as session:
        markers = session.execute(select(ProcessedEvent.subscriber, ProcessedEvent.event_id)).all()
        pending = session.execute(select(OutboxDelivery.id).where(
            OutboxDelivery.status == DeliveryStatus.PENDING)).all()
    assert len(markers) == first.delivered == len(calls)  # only what ran is marked
    assert len(pending) == 16 - first.delivered

    _drain()
    assert sorted(calls) == sorted((name, n) for name in "ab" for n in range(8))  # each exactly once
    assert all(d.status is DeliveryStatus.DELIVERED for d in _deliveries("t.slow_a") + _deliveries("t.slow_b"))
