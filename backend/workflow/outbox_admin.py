"""Reads and commands on the outbox tables for the Operations page (backlog, dead letters, retry) and the
retention cleaner (purge delivered events). Emitting and relaying are backend.workflow.outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, select, update
from sqlmodel import Session

from backend.db import utcnow
from backend.errors import NotFound
from backend.workflow.models import DeliveryStatus, OutboxDelivery, OutboxEvent, ProcessedEvent


@dataclass(frozen=True)
class Backlog:
    pending: int
    due: int
    dead: int
    oldest_pending_at: datetime | None


def backlog(session: Session) -> Backlog:
    now = utcnow()
    pending, oldest, due = session.execute(
        select(func.count(), func.min(OutboxDelivery.created_at),
               func.count().filter(OutboxDelivery.next_attempt_at <= now))
        .where(OutboxDelivery.status == DeliveryStatus.PENDING)
    ).one()
    dead = session.execute(select(func.count()).where(OutboxDelivery.status == DeliveryStatus.DEAD)).scalar_one()
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


def dead_letters(session: Session, *, limit: int = 50, offset: int = 0,
                 brand_ids: list[int] | None = None) -> list[DeadLetter]:
    """Newest first; `brand_ids`: only those of entities owned by these brands (None: all)."""
    rows = session.execute(
        select(OutboxDelivery.event_id, OutboxEvent.topic, OutboxDelivery.entity_key, OutboxDelivery.subscriber,
               OutboxDelivery.attempts, OutboxDelivery.last_error,
               OutboxEvent.created_at, OutboxDelivery.next_attempt_at)
        .join(OutboxEvent, OutboxEvent.id == OutboxDelivery.event_id)
        .where(OutboxDelivery.status == DeliveryStatus.DEAD, *_of_brands(brand_ids))
        .order_by(OutboxDelivery.id.desc()).limit(max(1, min(limit, 200))).offset(max(0, offset))  # type: ignore[union-attr]
    ).all()
    return [DeadLetter(*row) for row in rows]


def _of_brands(brand_ids: list[int] | None) -> list[Any]:
    from backend.workflow.ownership import owned_by

    return [] if brand_ids is None else [owned_by(OutboxEvent.entity_type, OutboxEvent.entity_id, brand_ids)]


def dead_count(session: Session, brand_ids: list[int] | None = None) -> int:
    query = select(func.count()).select_from(OutboxDelivery).where(OutboxDelivery.status == DeliveryStatus.DEAD)
    if brand_ids is not None:
        query = query.join(OutboxEvent, OutboxEvent.id == OutboxDelivery.event_id).where(*_of_brands(brand_ids))
    return int(session.execute(query).scalar_one())


def retry_dead(session: Session, event_id: int, brand_ids: list[int] | None = None) -> int:
    """Put an event's dead deliveries back in the queue with a fresh attempt budget. `brand_ids`: only if the event's
    entity is owned by one of these brands (None: any event); otherwise it is not found."""
    if brand_ids is not None and session.execute(
            select(OutboxEvent.id).where(OutboxEvent.id == event_id, *_of_brands(brand_ids))).first() is None:
        raise NotFound(f"event {event_id} has no dead deliveries")
    delivery_table = OutboxDelivery.__table__
    count = session.execute(
        update(delivery_table).where(delivery_table.c.event_id == event_id,
                                     delivery_table.c.status == DeliveryStatus.DEAD)
        .values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=utcnow())
    ).rowcount  # type: ignore[attr-defined]
    if not count:
        raise NotFound(f"event {event_id} has no dead deliveries")
    return int(count)


def purge_delivered(session: Session, older_than: timedelta, limit: int, now: datetime | None = None) -> int:
    """Delete up to `limit` events older than `older_than` whose deliveries all succeeded (deliveries and
    processed markers go with them). Pending and dead events are kept whatever their age."""
    cutoff = (now or utcnow()) - older_than
    unfinished = exists().where(and_(OutboxDelivery.event_id == OutboxEvent.id,
                                     OutboxDelivery.status != DeliveryStatus.DELIVERED))
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
