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

Short write locks. On SQLite every transaction holds the database's one write lock (BEGIN IMMEDIATE), so a
relay transaction that runs 500 orders' subscribers (milliseconds of CPU each) keeps every webhook acknowledgement
waiting for seconds. `relay()` (the daemon's and kick's entry) therefore runs passes bounded in time as well
as in count: each pass stops running subscribers after RELAY_PASS_BUDGET_S and commits what it ran (the rest
stay pending, untouched), claims only about as many deliveries as fit in that budget (measured cost per
delivery), and on SQLite leaves a short gap between passes so that a waiting writer of another process gets
the lock. `relay_pass()` called on its own keeps its count-only bound unless given `budget_s`.

The web process's kick thread (relaying soon after a commit) is backend.workflow.kick; the Operations page's
and the retention cleaner's reads and commands on these tables are backend.workflow.outbox_admin.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, String, any_, bindparam, delete, event, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from backend.bulk import allocate_ids, insert_many
from backend.db import UTCDateTime, get_engine, session_scope, utcnow
from backend.faults import crash_point
from backend.workflow.models import DeliveryStatus, OutboxDelivery, OutboxEvent, ProcessedEvent
from backend.workflow.sql import claim_batch, db_now, dialect_name, insert_ignore

log = logging.getLogger(__name__)

# The one place that says which modules hold subscribers; each reacts to topics via @subscriber.
# Later issues append their modules (e.g. "backend.orders.subscribers").
SUBSCRIBER_MODULES: tuple[str, ...] = ("backend.orders.subscribers", "backend.sales.royalties")


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
        warm_up = getattr(importlib.import_module(module), "warm_up", None)
        if warm_up is not None:  # heavy lazy imports, done now rather than inside a relay transaction
            warm_up()
    _registry.loaded = True


def subscriptions() -> dict[str, list[str]]:
    """topic -> subscriber names: the table of who reacts to what (shown on the Operations page)."""
    load_subscribers()
    with _registry_lock:
        return {topic: list(names) for topic, names in sorted(_registry.topics.items()) if names}


def handlers() -> dict[str, Handler]:
    """subscriber name -> its function (the events map, docs/EVENTS.md, shows where each one lives)."""
    load_subscribers()
    with _registry_lock:
        return dict(_registry.handlers)


def _subscribers_for(topic: str) -> list[str]:
    load_subscribers()
    return list(_registry.topics.get(topic, ()))


def has_subscribers(topic: str) -> bool:
    """Whether an event of `topic` gets deliveries (a writer that inserts events past `emit_many` must not skip
    them)."""
    return bool(_subscribers_for(topic))


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


@dataclass(frozen=True)
class NewEvent:
    """One event for `emit_many`: the arguments of `emit`."""

    topic: str
    payload: dict[str, Any]
    entity: tuple[str, Any] | None = None
    key: str | None = None


_INSERT_EVENTS = insert(OutboxEvent).returning(OutboxEvent.id, sort_by_parameter_order=True)  # type: ignore[arg-type]
_INSERT_DELIVERIES = insert(OutboxDelivery)
_EVENT_TABLE = OutboxEvent.__table__  # type: ignore[attr-defined]
BULK_EMIT_MIN = 50  # events in one emit_many from which ids are allocated first and the rows bulk-inserted


def emit_many(session: Session | Connection, events: Sequence[NewEvent]) -> list[int]:
    """`emit` for a batch on a hot path (the webhook intake): the same rows, written at once without ORM objects,
    in two statements (events, then their deliveries) whose compiled forms are cached; from BULK_EMIT_MIN events
    without keys, the events' ids are allocated first and both go in as plain bulk inserts (backend.bulk).
    Returns the event ids. `session` may also be a Core connection inside its transaction (the webhook intake's).

    The ORM path (SQLModel objects, a flush) was a large share of the intake's CPU per webhook (the figure: the
    README's "Measurements behind the code")."""
    if not events:
        return []
    now = utcnow()
    rows = [{
        "topic": e.topic, "payload": e.payload, "key": e.key, "created_at": now,
        "entity_type": e.entity[0] if e.entity else None, "entity_id": str(e.entity[1]) if e.entity else None,
    } for e in events]
    connection = session if isinstance(session, Connection) else session.connection()
    if len(rows) >= BULK_EMIT_MIN and all(row["key"] is None for row in rows):
        # A big batch (the sales ledger's): ids first, then one plain bulk insert (COPY on PostgreSQL).
        # Keyed events stay on the statement below, whose duplicate key is an IntegrityError as the callers expect.
        ids = allocate_ids(connection, _EVENT_TABLE, len(rows))
        for row, event_id in zip(rows, ids, strict=True):
            row["id"] = event_id
        insert_many(connection, _EVENT_TABLE, rows)
    else:
        ids = list(connection.execute(_INSERT_EVENTS, rows).scalars())
    deliveries = [
        _delivery_row(event_id, name, _entity_key(row["entity_type"], row["entity_id"]), now)
        for event_id, row in zip(ids, rows, strict=True) for name in _subscribers_for(row["topic"])
    ]
    insert_many(connection, OutboxDelivery.__table__, deliveries)  # type: ignore[attr-defined]
    return ids


def _entity_key(entity_type: str | None, entity_id: str | None) -> str | None:
    return f"{entity_type}:{entity_id}" if entity_type is not None else None


def _delivery_row(event_id: int, subscriber_name: str, entity_key: str | None, now: datetime) -> dict[str, Any]:
    return {
        "event_id": event_id, "subscriber": subscriber_name, "entity_key": entity_key,
        "status": DeliveryStatus.PENDING, "attempts": 0, "next_attempt_at": now,
        "last_error": "", "created_at": now, "delivered_at": None,
    }


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
        entity_key = _entity_key(ev.entity_type, ev.entity_id)
        rows.extend(_delivery_row(ev.id, name, entity_key, now) for name in _subscribers_for(ev.topic))
    session.info["outbox_new"] = keep
    if rows:
        session.connection().execute(_INSERT_DELIVERIES, rows)


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
    # More may be due right away: the walk filled its limit, or the pass stopped at its time budget.
    more: bool = False

    def __iadd__(self, other: RelayResult) -> RelayResult:
        self.claimed += other.claimed
        self.delivered += other.delivered
        self.failed += other.failed
        self.dead += other.dead
        self.more = other.more
        return self


# How long one relay transaction may run subscribers before it commits what it ran (the write lock on SQLite,
# the claimed rows' locks on PostgreSQL). An acknowledgement waits at most about this long behind a relay.
RELAY_PASS_BUDGET_S = 0.008
# SQLite: the pause between two passes of `relay()`, so a writer of another process that polls for the lock
# (backend.db polls BEGIN IMMEDIATE every millisecond) gets it before the next pass.
RELAY_YIELD_S = 0.003
# Claim limits of budgeted passes: before any cost is known, and the least ever claimed.
_FIRST_CLAIM, _MIN_CLAIM = 16, 4
# Measured seconds of subscriber work per delivery (moving average, this process): sizes the next claim.
_cost_per_delivery: float | None = None


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
    return (
        select(OutboxDelivery.id, OutboxDelivery.subscriber, OutboxDelivery.attempts, OutboxEvent.id, OutboxEvent.topic,
               OutboxEvent.payload,
               OutboxEvent.entity_type, OutboxEvent.entity_id, OutboxEvent.key, OutboxEvent.created_at,
               OutboxDelivery.entity_key)
        .join(OutboxEvent, OutboxEvent.id == OutboxDelivery.event_id)
        .where(OutboxDelivery.status == DeliveryStatus.PENDING, OutboxDelivery.next_attempt_at <= now)
        .order_by(OutboxDelivery.id)
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
    delivery_table = OutboxDelivery.__table__
    pending = session.execute(
        select(delivery_table.c.id, delivery_table.c.subscriber, delivery_table.c.entity_key,
               delivery_table.c.next_attempt_at)
        .where(delivery_table.c.status == DeliveryStatus.PENDING,
               _one_of(session, delivery_table.c.subscriber, {r[_SUBSCRIBER] for r in keyed}),
               _one_of(session, delivery_table.c.entity_key, {r[_ENTITY_KEY] for r in keyed}),
               delivery_table.c.id <= max(r[_ID] for r in keyed))
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
               on_error: Callable[[str, BaseException, dict[str, Any]], None] | None = None,
               budget_s: float | None = None) -> RelayResult:
    """Claim one bounded batch of due deliveries, run their subscribers, record the outcomes; one transaction.

    With `budget_s`, the pass stops running subscribers once that much time has gone (after at least one
    delivery) and commits what it ran; the deliveries it did not reach stay pending as they were.
    """
    from backend.settings import get_settings

    settings = get_settings()
    batch_size = batch_size or settings.outbox_batch_size
    max_attempts = max_attempts or settings.outbox_max_attempts
    result = RelayResult()
    failures: list[tuple[str, BaseException, dict[str, Any]]] = []
    load_subscribers()  # before the transaction: the first load imports the subscribers' modules
    with session_scope() as session:
        now = db_now(session)
        walked = claim_batch(session, _due_query(now), batch_size, of=OutboxDelivery)
        # `claimed` counts every walked row, so `relay` keeps going while the walk fills whole batches.
        result.claimed = len(walked)
        result.more = len(walked) >= batch_size
        if not walked:
            return result
        rows, deferred = _hold_back(session, walked, now)
        started = time.perf_counter()
        deadline = started + budget_s if budget_s is not None else None
        delivered: list[int] = []
        failed: list[dict[str, Any]] = []
        ran = len(rows)
        failure = None
        if rows:
            ran, failure = _run_fast(session, rows, now, deadline)
        if failure is not None:
            delivered, failed, held, ran = _run_careful(session, rows, now, max_attempts, settings, failures,
                                                        failure, deadline)
            deferred += held
            result.dead = sum(1 for f in failed if f["b_status"] is DeliveryStatus.DEAD)
        else:
            delivered = [r[_ID] for r in rows[:ran]]
        if ran < len(rows):
            result.more = True
        if budget_s is not None and ran:
            _record_cost((time.perf_counter() - started) / ran)
        delivery_table = OutboxDelivery.__table__
        if delivered:
            session.execute(
                update(delivery_table).where(_one_of(session, delivery_table.c.id, delivered))
                .values(status=DeliveryStatus.DELIVERED, delivered_at=now, attempts=delivery_table.c.attempts + 1)
            )
        if failed:
            session.execute(
                update(delivery_table).where(delivery_table.c.id == bindparam("b_id")).values(
                    attempts=bindparam("b_attempts"), status=bindparam("b_status"),
                    next_attempt_at=bindparam("b_next"), last_error=bindparam("b_error"),
                ),
                failed,
            )
        if deferred:
            session.execute(
                update(delivery_table).where(delivery_table.c.id == bindparam("b_id"),
                                             delivery_table.c.status == DeliveryStatus.PENDING)
                .values(next_attempt_at=bindparam("b_next")),
                deferred,
            )
        result.delivered, result.failed = len(delivered), len(failed)
        crash_point("relay.pass")
    # After commit: the error log write must not share the fate of the relay's transaction.
    from backend.monitoring.errors import record_error

    for source, exc, context in failures:
        (on_error or record_error)(source, exc, context)
    return result


def _record_cost(per_delivery: float) -> None:
    global _cost_per_delivery
    known = _cost_per_delivery
    _cost_per_delivery = per_delivery if known is None else 0.7 * known + 0.3 * per_delivery


def _claim_limit(batch_size: int) -> int:
    """How many deliveries a budgeted pass should claim: about what fits in the budget, with some slack for
    rows held back; never more than `batch_size`."""
    cost = _cost_per_delivery
    if cost is None:
        return min(batch_size, _FIRST_CLAIM)
    return max(min(batch_size, _MIN_CLAIM), min(batch_size, int(RELAY_PASS_BUDGET_S / max(cost, 1e-5) * 1.25) + 1))


def _events(rows: list[Any], first: set[tuple[Any, ...]] | None) -> list[Event]:
    return [
        Event(ev_id, topic, payload, etype, eid, key, created, sub_name, attempts + 1,
              None if first is None else (sub_name, ev_id) in first)
        for (_, sub_name, attempts, ev_id, topic, payload, etype, eid, key, created, *_rest) in rows
    ]


def _run_fast(session: Session, rows: list[Any], now: datetime, deadline: float | None,
              ) -> tuple[int, tuple[int, BaseException] | None]:
    """The batch under one savepoint, processed markers written in one statement. Returns (how many rows
    ran, None) when every subscriber it ran succeeded, else (_, (index of the failed delivery, its error)):
    then nothing of the batch is kept and the batch is redone one by one, without calling the failed
    delivery a second time. Past `deadline` it stops (after one delivery at least) and takes back the
    markers of the rows it did not reach, so they run normally later."""
    index = -1
    try:
        with session.begin_nested():
            first = _mark_processed(session, rows, now)
            handlers = _registry.handlers
            events = _events(rows, first)
            for index, ev in enumerate(events):
                handler = handlers.get(ev.subscriber)
                if handler is None:
                    raise LookupError(f"no subscriber named {ev.subscriber!r} is registered")
                handler(session, ev)
                if deadline is not None and index + 1 < len(events) and time.perf_counter() > deadline:
                    _unmark(session, [(e.subscriber, e.id) for e in events[index + 1:] if e.first_delivery])
                    return index + 1, None
    except Exception as exc:  # noqa: BLE001 - recorded by _run_careful
        return index, (index, exc)
    return len(rows), None


def _unmark(session: Session, pairs: list[tuple[str, int]]) -> None:
    """Take back processed markers, one DELETE per subscriber: `subscriber = ? AND event_id IN (...)` is a search
    of the primary key, where SQLite scans the whole table for a row-value `(subscriber, event_id) IN (...)`."""
    by_subscriber: dict[str, list[int]] = {}
    for subscriber, event_id in pairs:
        by_subscriber.setdefault(subscriber, []).append(event_id)
    table = ProcessedEvent.__table__
    for subscriber, event_ids in by_subscriber.items():
        session.execute(delete(table).where(table.c.subscriber == subscriber, table.c.event_id.in_(event_ids)))


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
                 known_failure: tuple[int, BaseException], deadline: float | None,
                 ) -> tuple[list[int], list[dict[str, Any]], list[dict[str, Any]], int]:
    """One savepoint per delivery, so a failing subscriber costs only its own delivery. A delivery that will
    be retried holds back the later deliveries of its (subscriber, entity) in the batch: they are not run,
    and wait (third list) until its next attempt. Past `deadline` it stops once the known failure is
    recorded; the fourth value is how many rows it went through (the rest stay pending, untouched)."""
    delivered: list[int] = []
    failed: list[dict[str, Any]] = []
    held: list[dict[str, Any]] = []
    retrying: dict[tuple[str, str], datetime] = {}  # (subscriber, entity_key) -> next attempt of its failure
    failed_index, failed_exc = known_failure
    for index, (row, ev) in enumerate(zip(rows, _events(rows, None), strict=True)):
        if deadline is not None and index > failed_index and time.perf_counter() > deadline:
            return delivered, failed, held, index
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
                             {"event_id": ev.id, "topic": ev.topic, "attempt": tries, "dead": dead,
                              "entity": entity_key}))
        else:
            delivered.append(delivery_id)
    return delivered, failed, held, len(rows)


def relay(*, batch_size: int | None = None, max_batches: int = 20,
          keep_going: Callable[[], bool] = lambda: True) -> RelayResult:
    """Time-bounded relay passes (RELAY_PASS_BUDGET_S each) until nothing is due, a pass makes no progress,
    `max_batches` x `batch_size` deliveries have been walked, or `keep_going()` says stop."""
    batch_size = batch_size or _settings().outbox_batch_size
    total = RelayResult()
    walked, limit = 0, max_batches * batch_size
    yield_s = RELAY_YIELD_S if get_engine().dialect.name == "sqlite" else 0.0
    while walked < limit:
        step = relay_pass(_claim_limit(batch_size), budget_s=RELAY_PASS_BUDGET_S)
        total += step
        walked += step.claimed
        if not step.more or step.delivered + step.failed == 0 or not keep_going():
            break
        if yield_s:
            time.sleep(yield_s)
    return total


def _settings() -> Any:
    from backend.settings import get_settings

    return get_settings()
