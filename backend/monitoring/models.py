"""The structured error log: one row per distinct failure (fingerprint), counted, with first and last seen."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from backend.db import UTCDateTime
from backend.workflow.models import BigId


class ErrorLogEntry(SQLModel, table=True):
    __tablename__ = "error_log"

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    fingerprint: str = Field(max_length=64, unique=True)
    source: str = Field(max_length=120)  # "daemon:<name>" or "request:<route>" or "subscriber:<name>"
    # The brand the failure is about (from its context), or None for a platform-level one. Brand admins see their
    # brands' rows only; the fingerprint includes it, so two brands' failures never share a row.
    brand_id: int | None = Field(default=None, index=True)
    exc_type: str = Field(max_length=120)
    message: str = Field(max_length=1000)  # scrubbed
    context: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # scrubbed
    count: int = 1
    first_seen: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    last_seen: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
