"""Outgoing email: one row per message, written in the same transaction as what it tells about, so a committed
order always gets its receipt (and a rolled-back one never does). The `email_sender` daemon delivers them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from backend.db import UTCDateTime, enum_type, utcnow
from backend.workflow.models import BigId


class EmailStatus(StrEnum):
    QUEUED = "queued"  # to be sent (again, after a temporary failure)
    SENDING = "sending"  # a sender took it; taken again after a timeout if that sender died
    SENT = "sent"  # the SMTP server accepted it
    KEPT = "kept"  # no SMTP server configured (development): kept in the local mailbox
    FAILED = "failed"  # refused for good, or too many attempts (last_error says why)


class OutboundEmail(SQLModel, table=True):
    __tablename__ = "outbound_email"
    __table_args__ = (Index("ix_outbound_email_status_next", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    # What the message is about, e.g. "order-paid:42": queueing the same key again sends nothing more.
    key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=40, index=True)  # "order_paid", "account_link", ...
    user_id: int | None = Field(default=None, index=True)
    to_address: str = Field(max_length=320)
    subject: str = Field(max_length=200)
    body_text: str = Field(sa_column=Column(Text, nullable=False))
    # A body that carries a sign-in link is blanked once delivered or failed for good: the database does not keep
    # usable links (only the development mailbox's kept messages do).
    sensitive: bool = False
    status: EmailStatus = Field(default=EmailStatus.QUEUED, sa_column=Column(enum_type(EmailStatus), nullable=False))
    attempts: int = 0
    # Of `attempts`, those that found the SMTP server unreachable: they back off like the others but do not spend
    # EMAIL_MAX_ATTEMPTS (an outage must not turn queued mail into failed mail).
    unreachable_attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    last_error: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
