"""The transactional outbox: `emit` in the writer's transaction, `@subscriber` registration, and the relay
that delivers every event to every subscriber at least once (retries, backoff, dead letters, per-entity order).

Delivery rows are fanned out when the event is flushed (one per subscribed handler), so the relay claims
deliveries directly. A subscriber runs inside the relay's transaction under a savepoint: its database effect,
its `processed_once` marker and the delivery's status commit together. Subscribers must be quick database
work; a network call is the next step of the workflow (a daemon), never done while the claim is held.

A relay pass walks the due deliveries in id order up to its batch size (an index range scan, whatever the
backlog), then holds back those whose (subscriber, entity) still has an earlier pending delivery outside the
batch. Several events of one entity may go in one batch, in id order. When a subscriber fails, the batch's
savepoint is rolled back and the batch is redone one delivery at a time: a subscriber may be called again for
a delivery whose first call was rolled back (the effects a subscriber commits are what is ordered and
exactly-once), and the later events of a failed delivery's entity wait for its next attempt.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (BigInteger, String, and_, any_, bindparam, delete, event, exists, func, insert, select,
                        update)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from backend.db import UTCDateTime, session_scope, utcnow
from backend.errors import NotFound
from backend.workflow.models import DeliveryStatus, OutboxDelivery, OutboxEvent, ProcessedEvent
from backend.workflow.sql import claim_batch, db_now, dialect_name, insert_ignore

log = logging.getLogger(__name__)

# The one place that says which modules hold subscribers; each reacts to topics via @subscriber.
# Later issues append their modules (e.g. "backend.orders.subscribers").
SUBSCRIBER_MODULES: tuple[str, ...] = ("backend.orders.subscribers",)


@dataclass(frozen=True)
class Event:
    """What a subscriber receives: the event plus which delivery this is."""

    id: int
    topic: str
    payload: dict[str, Any]
    entity_type: str | None
    entity_id: str | None
    key: str | None
    created_at: datetime
    subscriber: str
    attempt: int
    # Set by the relay when it has already recorded (subscriber, event) as processed in this transaction:
    # True the first time, False for a repeat. None: `processed_once` records it itself.
    first_delivery: bool | None = None


Handler = Callable[[Session, Event], None]


@dataclass
class _Registry:
    handlers: dict[str, Handler] = field(default_factory=dict)
    topics: dict[str, list[str]] = field(default_factory=dict)
    loaded: bool = False


_registry = _Registry()
_registry_lock = threading.Lock()


def subscriber(*topics: str, name: str | None = None) -> Callable[[Handler], Handler]:
    """Register `fn(session, event)` for `topics` under a stable name (default module.function)."""
    if not topics:
        raise ValueError("a subscriber needs at least one topic")

    def register(fn: Handler) -> Handler:
        sub_name = name or f"{fn.__module__}.{fn.__qualname__}"
        with _registry_lock:
            existing = _registry.handlers.get(sub_name)
            if existing is not None and existing is not fn:
                raise ValueError(f"subscriber name {sub_name!r} is already registered")
            _registry.handlers[sub_name] = fn
            for topic in topics:
                names = _registry.topics.setdefault(topic, [])
                if sub_name not in names:
                    names.append(sub_name)
        return fn

    return register


def unregister(name: str) -> None:
    """Remove a subscriber (tests; a retired subscriber's pending deliveries then dead-letter)."""
    with _registry_lock:
        _registry.handlers.pop(name, None)
        for names in _registry.topics.values():
            if name in names:
                names.remove(name)


def load_subscribers() -> None:
    if _registry.loaded:
        return
    for module in SUBSCRIBER_MODULES:
        importlib.import_module(module)
    _registry.loaded = True


def subscriptions() -> dict[str, list[str]]:
    """topic -> subscriber names: the table of who reacts to what (shown on the Operations page)."""
    load_subscribers()
    with _registry_lock:
        return {topic: list(names) for topic, names in sorted(_registry.topics.items()) if names}


def _subscribers_for(topic: str) -> list[str]:
    load_subscribers()
    return list(_registry.topics.get(topic, ()))


# -- writing ------------------------------------------------------------------------------------------------------

def emit(
    session: Session,
    topic: str,
    payload: dict[str, Any],
    *,
    entity: tuple[str, Any] | None = None,
    key: str | None = None,
) -> OutboxEvent:
    """Write a domain event (past tense, e.g. "order.paid") in the caller's transaction.

    `key` is an idempotency key: a second emit with the same key fails the transaction (unique constraint),
    which is what a duplicate webhook should do. Deliveries are written when the session flushes.
    """
    entity_type, entity_id = (entity[0], str(entity[1])) if entity else (None, None)
    row = OutboxEvent(topic=topic, payload=payload, entity_type=entity_type, entity_id=entity_id, key=key)
    session.add(row)
    session.info.setdefault("outbox_new", []).append(row)
    return row


@event.listens_for(OrmSession, "after_flush")
def _fan_out(session: OrmSession, _ctx: Any) -> None:
    pending: list[OutboxEvent] | None = session.info.get("outbox_new")
    if not pending:
        return
    rows: list[dict[str, Any]] = []
    keep: list[OutboxEvent] = []
    now = utcnow()
    for ev in pending:
        if ev.id is None:
            keep.append(ev)
            continue
        entity_key = f"{ev.entity_type}:{ev.entity_id}" if ev.entity_type is not None else None
        for name in _subscribers_for(ev.topic):
            rows.append({
                "event_id": ev.id, "subscriber": name, "entity_key": entity_key,
                "status": DeliveryStatus.PENDING, "attempts": 0, "next_attempt_at": now,
                "last_error": "", "created_at": now, "delivered_at": None,
            })
    session.info["outbox_new"] = keep
    if rows:
        session.connection().execute(insert(OutboxDelivery), rows)


@event.listens_for(OrmSession, "after_rollback")
def _forget(session: OrmSession) -> None:
    session.info.pop("outbox_new", None)


def processed_once(session: Session, event: Event) -> bool:
    """Mark (subscriber, event) processed in the subscriber's transaction; False if it already was.

    Subscribers start with `if not processed_once(session, event): return`, so a second delivery of the
    same event changes nothing. Call it once per delivery.
    """
    if event.first_delivery is not None:
        return event.first_delivery
    return insert_ignore(
        session, ProcessedEvent.__table__,
        {"subscriber": event.subscriber, "event_id": event.id, "created_at": utcnow()},
        ["subscriber", "event_id"],
    ) == 1


# -- relaying -----------------------------------------------------------------------------------------------------

@dataclass
class RelayResult:
    claimed: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0

    def __iadd__(self, other: RelayResult) -> RelayResult:
        self.claimed += other.claimed
        self.delivered += other.delivered
        self.failed += other.failed
        self.dead += other.dead
        return self


def backoff(attempts: int, base_s: float, max_s: float) -> timedelta:
    """Delay before attempt `attempts + 1`: base * 2^(attempts-1), capped."""
    return timedelta(seconds=min(max_s, base_s * (2 ** max(0, attempts - 1))))


def _one_of(session: Session, column: Any, values: Iterable[Any]) -> Any:
    """`column IN (values)`; on PostgreSQL `column = ANY(:array)`: one parameter, so one cached statement and
    no per-value parameter handling however many values a batch has."""
    values = list(values)
    if dialect_name(session) == "postgresql":
        return column == any_(bindparam(None, values, type_=postgresql.ARRAY(column.type)))
    return column.in_(values)


# Columns of a walked delivery row; `_events` and the relay index them by position (tuples are cheap).
_ID, _SUBSCRIBER, _ATTEMPTS, _EVENT_ID, _ENTITY_KEY = 0, 1, 2, 3, 10


def _due_query(now: datetime) -> Any:
    """Due deliveries in id order. The walk stops at the claim limit (`claim_batch` adds LIMIT); per-entity
    order is checked afterwards for the walked rows only (`_hold_back`), so a pass costs the same however
    large the backlog is."""
    d = OutboxDelivery
    return (
        select(d.id, d.subscriber, d.attempts, OutboxEvent.id, OutboxEvent.topic, OutboxEvent.payload,
               OutboxEvent.entity_type, OutboxEvent.entity_id, OutboxEvent.key, OutboxEvent.created_at,
               d.entity_key)
        .join(OutboxEvent, OutboxEvent.id == d.event_id)
        .where(d.status == DeliveryStatus.PENDING, d.next_attempt_at <= now)
        .order_by(d.id)
    )


def _hold_back(session: Session, rows: list[Any], now: datetime) -> tuple[list[Any], list[dict[str, Any]]]:
    """Per-entity order: split the walked rows into those that may run now and those that must wait.

    A delivery waits while an earlier delivery of its (subscriber, entity) is still pending and is not in
    this batch: backing off, or claimed by another relay (PostgreSQL skips locked rows). Earlier deliveries
    in the batch run first, in id order. Delivered and dead deliveries hold nothing back; events without an
    entity never wait. One index probe (subscriber, entity_key, id) over the batch's entities only.

    A waiting delivery cannot run before its blocker's next attempt, so its own next attempt is moved there
    (returned as updates): the next walks step over it instead of finding it blocked again and again.
    """
    keyed = [r for r in rows if r[_ENTITY_KEY] is not None]
    if not keyed:
        return rows, []
    d = OutboxDelivery.__table__
    pending = session.execute(
        select(d.c.id, d.c.subscriber, d.c.entity_key, d.c.next_attempt_at)
        .where(d.c.status == DeliveryStatus.PENDING,
               _one_of(session, d.c.subscriber, {r[_SUBSCRIBER] for r in keyed}),
               _one_of(session, d.c.entity_key, {r[_ENTITY_KEY] for r in keyed}),
               d.c.id <= max(r[_ID] for r in keyed))
    ).all()
    in_batch = {r[_ID] for r in rows}
    # (subscriber, entity_key) -> (id, next attempt) of its earliest pending delivery outside the batch
    blockers: dict[tuple[str, str], tuple[int, datetime]] = {}
    for delivery_id, sub_name, entity_key, next_at in pending:
        if delivery_id in in_batch:
            continue
        known = blockers.get((sub_name, entity_key))
        if known is None or delivery_id < known[0]:
            blockers[(sub_name, entity_key)] = (delivery_id, next_at)
    if not blockers:
        return rows, []
    ready: list[Any] = []
    deferred: list[dict[str, Any]] = []
    for row in rows:
        blocker = blockers.get((row[_SUBSCRIBER], row[_ENTITY_KEY]))
        if blocker is None or row[_ID] < blocker[0]:
            ready.append(row)
        elif blocker[1] > now:
            deferred.append({"b_id": row[_ID], "b_next": blocker[1]})
    return ready, deferred


def relay_pass(batch_size: int | None = None, *, max_attempts: int | None = None,
               on_error: Callable[[str, BaseException, dict[str, Any]], None] | None = None) -> RelayResult:
    """Claim one bounded batch of due deliveries, run their subscribers, record the outcomes; one transaction."""
    from backend.settings import get_settings

    settings = get_settings()
    batch_size = batch_size or settings.outbox_batch_size
    max_attempts = max_attempts or settings.outbox_max_attempts
    result = RelayResult()
    failures: list[tuple[str, BaseException, dict[str, Any]]] = []
    with session_scope() as session:
        now = db_now(session)
        walked = claim_batch(session, _due_query(now), batch_size, of=OutboxDelivery)
        # `claimed` counts every walked row, so `relay` keeps going while the walk fills whole batches.
        result.claimed = len(walked)
        if not walked:
            return result
        rows, deferred = _hold_back(session, walked, now)
        load_subscribers()
        delivered: list[int] = [r[_ID] for r in rows]
        failed: list[dict[str, Any]] = []
        failure = _run_fast(session, rows, now) if rows else None
        if failure is not None:
            delivered, failed, held = _run_careful(session, rows, now, max_attempts, settings, failures, failure)
            deferred += held
            result.dead = sum(1 for f in failed if f["b_status"] is DeliveryStatus.DEAD)
        d = OutboxDelivery.__table__
        if delivered:
            session.execute(
                update(d).where(_one_of(session, d.c.id, delivered))
                .values(status=DeliveryStatus.DELIVERED, delivered_at=now, attempts=d.c.attempts + 1)
            )
        if failed:
            session.execute(
                update(d).where(d.c.id == bindparam("b_id")).values(
                    attempts=bindparam("b_attempts"), status=bindparam("b_status"),
                    next_attempt_at=bindparam("b_next"), last_error=bindparam("b_error"),
                ),
                failed,
            )
        if deferred:
            session.execute(
                update(d).where(d.c.id == bindparam("b_id"), d.c.status == DeliveryStatus.PENDING)
                .values(next_attempt_at=bindparam("b_next")),
                deferred,
            )
        result.delivered, result.failed = len(delivered), len(failed)
    # After commit: the error log write must not share the fate of the relay's transaction.
    from backend.monitoring.errors import record_error

    for source, exc, context in failures:
        (on_error or record_error)(source, exc, context)
    return result


def _events(rows: list[Any], first: set[tuple[Any, ...]] | None) -> list[Event]:
    return [
        Event(ev_id, topic, payload, etype, eid, key, created, sub_name, attempts + 1,
              None if first is None else (sub_name, ev_id) in first)
        for (_, sub_name, attempts, ev_id, topic, payload, etype, eid, key, created, *_rest) in rows
    ]


def _run_fast(session: Session, rows: list[Any], now: datetime) -> tuple[int, BaseException] | None:
    """The whole batch under one savepoint, processed markers written in one statement. Returns None when
    every subscriber succeeded, else (index of the failed delivery, its error): then nothing of the batch
    is kept and the batch is redone one by one, without calling the failed delivery a second time."""
    index = -1
    try:
        with session.begin_nested():
            first = _mark_processed(session, rows, now)
            handlers = _registry.handlers
            for index, ev in enumerate(_events(rows, first)):
                handler = handlers.get(ev.subscriber)
                if handler is None:
                    raise LookupError(f"no subscriber named {ev.subscriber!r} is registered")
                handler(session, ev)
    except Exception as exc:  # noqa: BLE001 - recorded by _run_careful
        return index, exc
    return None


def _mark_processed(session: Session, rows: list[Any], now: datetime) -> set[tuple[Any, ...]]:
    """Write the batch's processed markers in one statement; returns the (subscriber, event_id) pairs that
    were new. The statement is the same for every batch (cached): on PostgreSQL it unnests two arrays, on
    SQLite it is an executemany that SQLAlchemy sends as multi-row INSERTs ("insertmanyvalues")."""
    table = ProcessedEvent.__table__
    if dialect_name(session) == "postgresql":
        source = select(
            func.unnest(bindparam(None, [r[_SUBSCRIBER] for r in rows], type_=postgresql.ARRAY(String))),
            func.unnest(bindparam(None, [r[_EVENT_ID] for r in rows], type_=postgresql.ARRAY(BigInteger))),
            bindparam(None, now, type_=UTCDateTime),
        )
        stmt = postgresql.insert(table).from_select(["subscriber", "event_id", "created_at"], source)
        params: list[dict[str, Any]] | None = None
    else:
        stmt = sqlite.insert(table)
        params = [{"subscriber": r[_SUBSCRIBER], "event_id": r[_EVENT_ID], "created_at": now} for r in rows]
    stmt = stmt.on_conflict_do_nothing(index_elements=["subscriber", "event_id"]).returning(
        table.c.subscriber, table.c.event_id)
    return {tuple(row) for row in session.connection().execute(stmt, params)}


def _run_careful(session: Session, rows: list[Any], now: datetime, max_attempts: int, settings: Any,
                 failures: list[tuple[str, BaseException, dict[str, Any]]],
                 known_failure: tuple[int, BaseException],
                 ) -> tuple[list[int], list[dict[str, Any]], list[dict[str, Any]]]:
    """One savepoint per delivery, so a failing subscriber costs only its own delivery. A delivery that will
    be retried holds back the later deliveries of its (subscriber, entity) in the batch: they are not run,
    and wait (third list) until its next attempt."""
    delivered: list[int] = []
    failed: list[dict[str, Any]] = []
    held: list[dict[str, Any]] = []
    retrying: dict[tuple[str, str], datetime] = {}  # (subscriber, entity_key) -> next attempt of its failure
    failed_index, failed_exc = known_failure
    for index, (row, ev) in enumerate(zip(rows, _events(rows, None), strict=True)):
        delivery_id, attempts, entity_key = row[_ID], row[_ATTEMPTS], row[_ENTITY_KEY]
        if entity_key is not None and (ev.subscriber, entity_key) in retrying:
            held.append({"b_id": delivery_id, "b_next": retrying[(ev.subscriber, entity_key)]})
            continue
        handler = _registry.handlers.get(ev.subscriber)
        try:
            if index == failed_index:
                raise failed_exc
            if handler is None:
                raise LookupError(f"no subscriber named {ev.subscriber!r} is registered")
            with session.begin_nested():
                handler(session, ev)
        except Exception as exc:  # noqa: BLE001 - a subscriber's failure is recorded, never propagated
            tries = attempts + 1
            dead = tries >= max_attempts
            next_at = now + backoff(tries, settings.outbox_backoff_base_s, settings.outbox_backoff_max_s)
            failed.append({
                "b_id": delivery_id,
                "b_attempts": tries,
                "b_status": DeliveryStatus.DEAD if dead else DeliveryStatus.PENDING,
                "b_next": next_at,
                "b_error": f"{type(exc).__name__}: {exc}"[:1000],
            })
            if entity_key is not None and not dead:
                retrying[(ev.subscriber, entity_key)] = next_at
            failures.append((f"subscriber:{ev.subscriber}", exc,
                             {"event_id": ev.id, "topic": ev.topic, "attempt": tries, "dead": dead}))
        else:
            delivered.append(delivery_id)
    return delivered, failed, held


def relay(*, batch_size: int | None = None, max_batches: int = 20,
          keep_going: Callable[[], bool] = lambda: True) -> RelayResult:
    """Relay passes until the queue has nothing due, `max_batches` is reached, or `keep_going()` says stop."""
    batch_size = batch_size or _settings().outbox_batch_size
    total = RelayResult()
    for _ in range(max_batches):
        step = relay_pass(batch_size)
        total += step
        if step.claimed < batch_size or not keep_going():
            break
    return total


def _settings() -> Any:
    from backend.settings import get_settings

    return get_settings()


# -- kick: the fast path right after a web request commits -------------------------------------------------------

_kick_lock = threading.Lock()
_kick_thread: threading.Thread | None = None
_kick_again = False


def kick() -> None:
    """Run relay passes soon in a background thread (call after commit). The daemon stays the guarantee:
    a kick that fails or never runs only means the event waits for the next `outbox_relay` tick."""
    global _kick_thread, _kick_again
    with _kick_lock:
        if _kick_thread is not None and _kick_thread.is_alive():
            _kick_again = True
            return
        _kick_again = False
        _kick_thread = threading.Thread(target=_kick_loop, name="outbox-kick", daemon=True)
        _kick_thread.start()


def _kick_loop() -> None:
    global _kick_thread, _kick_again
    while True:
        try:
            relay(max_batches=5)
        except Exception:  # noqa: BLE001
            log.exception("outbox kick failed; the outbox_relay daemon will deliver")
        with _kick_lock:
            if not _kick_again:
                _kick_thread = None
                return
            _kick_again = False


def wait_for_kick(timeout: float = 10.0) -> None:
    """Block until a kicked relay has finished (tests, and graceful shutdown)."""
    thread = _kick_thread
    if thread is not None:
        thread.join(timeout)


# -- operations ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Backlog:
    pending: int
    due: int
    dead: int
    oldest_pending_at: datetime | None


def backlog(session: Session) -> Backlog:
    d = OutboxDelivery
    now = utcnow()
    pending, oldest, due = session.execute(
        select(func.count(), func.min(d.created_at),
               func.count().filter(d.next_attempt_at <= now))
        .where(d.status == DeliveryStatus.PENDING)
    ).one()
    dead = session.execute(select(func.count()).where(d.status == DeliveryStatus.DEAD)).scalar_one()
    return Backlog(int(pending), int(due), int(dead), oldest)


@dataclass(frozen=True)
class DeadLetter:
    event_id: int
    topic: str
    entity: str | None
    subscriber: str
    attempts: int
    last_error: str
    created_at: datetime
    failed_at: datetime


def dead_letters(session: Session, *, limit: int = 50, offset: int = 0) -> list[DeadLetter]:
    d = OutboxDelivery
    rows = session.execute(
        select(d.event_id, OutboxEvent.topic, d.entity_key, d.subscriber, d.attempts, d.last_error,
               OutboxEvent.created_at, d.next_attempt_at)
        .join(OutboxEvent, OutboxEvent.id == d.event_id)
        .where(d.status == DeliveryStatus.DEAD)
        .order_by(d.id.desc()).limit(max(1, min(limit, 200))).offset(max(0, offset))  # type: ignore[union-attr]
    ).all()
    return [DeadLetter(*row) for row in rows]


def retry_dead(session: Session, event_id: int) -> int:
    """Put an event's dead deliveries back in the queue with a fresh attempt budget."""
    d = OutboxDelivery.__table__
    count = session.execute(
        update(d).where(d.c.event_id == event_id, d.c.status == DeliveryStatus.DEAD)
        .values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=utcnow())
    ).rowcount  # type: ignore[attr-defined]
    if not count:
        raise NotFound(f"event {event_id} has no dead deliveries")
    return int(count)


def purge_delivered(session: Session, older_than: timedelta, limit: int, now: datetime | None = None) -> int:
    """Delete up to `limit` events older than `older_than` whose deliveries all succeeded (deliveries and
    processed markers go with them). Pending and dead events are kept whatever their age."""
    cutoff = (now or utcnow()) - older_than
    d = OutboxDelivery
    unfinished = exists().where(and_(d.event_id == OutboxEvent.id, d.status != DeliveryStatus.DELIVERED))
    ids = session.execute(
        select(OutboxEvent.id).where(OutboxEvent.created_at < cutoff, ~unfinished)
        .order_by(OutboxEvent.id).limit(limit)  # type: ignore[union-attr]
    ).scalars().all()
    if not ids:
        return 0
    session.execute(delete(ProcessedEvent).where(ProcessedEvent.event_id.in_(ids)))  # type: ignore[attr-defined]
    session.execute(delete(OutboxDelivery).where(OutboxDelivery.event_id.in_(ids)))  # type: ignore[attr-defined]
    session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(ids)))  # type: ignore[union-attr]
    return len(ids)


def counts_by_subscriber(session: Session) -> Iterable[tuple[str, str, int]]:
    d = OutboxDelivery
    return session.execute(select(d.subscriber, d.status, func.count()).group_by(d.subscriber, d.status)).all()
