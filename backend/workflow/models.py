"""Workflow tables: state-transition history, the transactional outbox, its deliveries and the
"processed (subscriber, event)" markers that make subscribers idempotent."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from backend.db import UTCDateTime, enum_type, utcnow

# SQLite only autoincrements INTEGER PRIMARY KEY: BIGINT there would break it.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class StateTransition(SQLModel, table=True):
    __tablename__ = "state_transition"
    __table_args__ = (Index("ix_state_transition_entity", "entity_type", "entity_id", "id"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    entity_type: str = Field(max_length=40)
    entity_id: str = Field(max_length=64)
    from_state: str = Field(max_length=32)
    to_state: str = Field(max_length=32)
    trigger: str = Field(max_length=40)
    actor: str = Field(max_length=80)  # "user:<id>" or "daemon:<name>" or "system"
    reason: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class OutboxEvent(SQLModel, table=True):
    """A domain event written in the same transaction as the change it describes."""

    __tablename__ = "outbox_event"

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    topic: str = Field(max_length=80, index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    entity_type: str | None = Field(default=None, max_length=40)
    entity_id: str | None = Field(default=None, max_length=64)
    # Idempotency key: emitting the same key twice is refused by the database (a duplicate webhook).
    key: str | None = Field(default=None, max_length=200, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"  # gave up after the configured attempts; an operator may retry it


class OutboxDelivery(SQLModel, table=True):
    """One (event, subscriber) pair: the unit the relay claims, retries and dead-letters."""

    __tablename__ = "outbox_delivery"
    __table_args__ = (
        UniqueConstraint("event_id", "subscriber", name="uq_outbox_delivery_event_subscriber"),
        # Partial indexes over the pending rows only: they stay small however many deliveries are kept.
        Index("ix_outbox_delivery_pending", "id", "next_attempt_at",
              postgresql_where=text("status = 'pending'"), sqlite_where=text("status = 'pending'")),
        Index("ix_outbox_delivery_pending_entity", "subscriber", "entity_key", "id",
              postgresql_where=text("status = 'pending'"), sqlite_where=text("status = 'pending'")),
        Index("ix_outbox_delivery_status", "status"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    event_id: int = Field(
        # Indexed by uq_outbox_delivery_event_subscriber (its leading column).
        sa_column=Column(BigId, ForeignKey("outbox_event.id", ondelete="CASCADE"), nullable=False)
    )
    subscriber: str = Field(max_length=120)
    # "type:id" of the event's entity; deliveries of one entity to one subscriber go in event order.
    entity_key: str | None = Field(default=None, max_length=110)
    status: DeliveryStatus = Field(
        default=DeliveryStatus.PENDING, sa_column=Column(enum_type(DeliveryStatus), nullable=False)
    )
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    last_error: str = Field(default="", max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class ProcessedEvent(SQLModel, table=True):
    """Subscriber `subscriber` has applied event `event_id`: written in the same transaction as the effect."""

    __tablename__ = "processed_event"

    subscriber: str = Field(max_length=120, primary_key=True)
    event_id: int = Field(sa_column=Column(BigId, primary_key=True, autoincrement=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
