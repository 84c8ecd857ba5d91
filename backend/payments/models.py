"""Payment tables: every Stripe-format event received (once per event id), refunds we asked for, and the
sandbox provider's own sessions and refunds (so reconciliation and refunds work offline)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

import backend.orders.models  # noqa: F401 - payment_refund references shop_order
from backend.db import UTCDateTime, enum_type, utcnow
from backend.workflow.models import BigId


class PaymentEvent(SQLModel, table=True):
    """A verified webhook event, stored raw. The UNIQUE event id is what makes a redelivery a no-op."""

    __tablename__ = "payment_event"

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    event_id: str = Field(max_length=255, unique=True)
    type: str = Field(max_length=80)
    livemode: bool = False
    order_id: int | None = Field(default=None, index=True)  # from metadata when present; set when handled
    payment_intent_id: str | None = Field(default=None, max_length=255, index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    outcome: str = Field(default="", max_length=500)  # what the subscriber did ("paid", "ignored: ...")
    received_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    processed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class RefundStatus(StrEnum):
    PENDING = "pending"  # to be sent to the provider
    SUBMITTING = "submitting"  # a worker is calling the provider (retried after a timeout if it died)
    SUBMITTED = "submitted"  # the provider accepted it and will confirm (charge.refunded)
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # gave up after the configured attempts; an admin sees it on the order
    CANCELED = "canceled"  # never sent: nothing was left to refund (e.g. a dispute returned the money first)


class PaymentRefund(SQLModel, table=True):
    """One refund of one payment. `idempotency_key` is sent to the provider, so a retry never refunds twice."""

    __tablename__ = "payment_refund"
    __table_args__ = (Index("ix_payment_refund_status_next", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int | None = Field(default=None, foreign_key="shop_order.id", index=True, ondelete="SET NULL")
    payment_intent_id: str = Field(max_length=255, index=True)
    idempotency_key: str = Field(max_length=120, unique=True)
    amount_minor: int
    currency: str = Field(max_length=3)
    reason: str = Field(default="", max_length=500)
    requested_by: str = Field(default="system", max_length=80)
    # "primsell" when we asked for it; "provider" when it was seen only in a charge.refunded event.
    origin: str = Field(default="primsell", max_length=16)
    status: RefundStatus = Field(
        default=RefundStatus.PENDING, sa_column=Column(enum_type(RefundStatus), nullable=False)
    )
    provider_refund_id: str = Field(default="", max_length=255)
    attempts: int = 0
    # Of `attempts`, those that could not reach the provider (or that it asked us to repeat later: rate limited,
    # its own outage): they back off like the others but do not spend REFUND_MAX_ATTEMPTS.
    unreachable_attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    last_error: str = Field(default="", max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class SandboxSession(SQLModel, table=True):
    """The sandbox provider's Checkout Session (Stripe's shape, stored locally: no real money)."""

    __tablename__ = "sandbox_session"

    id: str = Field(primary_key=True, max_length=64)  # "cs_sandbox_..."
    idempotency_key: str = Field(max_length=120, unique=True)
    order_id: int
    client_reference_id: str = Field(max_length=64)
    metadata_: dict[str, Any] = Field(default_factory=dict, sa_column=Column("metadata", JSON, nullable=False))
    line_items: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    amount_total: int
    currency: str = Field(max_length=3)  # lower case, as Stripe reports it
    status: str = Field(default="open", max_length=16)  # open | complete | expired
    payment_status: str = Field(default="unpaid", max_length=16)  # unpaid | paid
    payment_intent_id: str = Field(max_length=64)
    success_url: str = Field(default="", max_length=2000)
    cancel_url: str = Field(default="", max_length=2000)
    amount_refunded: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class SandboxRefund(SQLModel, table=True):
    __tablename__ = "sandbox_refund"

    id: str = Field(primary_key=True, max_length=64)  # "re_sandbox_..."
    idempotency_key: str = Field(max_length=120, unique=True)
    payment_intent_id: str = Field(max_length=64, index=True)
    amount: int
    status: str = Field(default="succeeded", max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
