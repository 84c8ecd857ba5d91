"""Exchange rates as fetched (value, time, source) and the provider's throttle state."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Index, Numeric, String, types
from sqlmodel import Field, SQLModel

from backend.db import UTCDateTime
from backend.workflow.models import BigId


class ExactDecimal(types.TypeDecorator[Decimal]):
    """NUMERIC(38, 18) on PostgreSQL; text on SQLite, whose NUMERIC goes through float and loses digits."""

    impl = Numeric(38, 18, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(64))
        return dialect.type_descriptor(Numeric(38, 18, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> Any:
        if value is None:
            return None
        value = Decimal(value)
        return format(value, "f") if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(str(value))


class FxRate(SQLModel, table=True):
    __tablename__ = "fx_rate"
    __table_args__ = (Index("ix_fx_rate_pair_fetched", "base", "quote", "fetched_at"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    base: str = Field(max_length=10)
    quote: str = Field(max_length=10)
    value: Decimal = Field(sa_column=Column(ExactDecimal(), nullable=False))
    fetched_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    source: str = Field(max_length=20)


class FxProviderState(SQLModel, table=True):
    """Set from Retry-After (429/418) and the used-weight header: the refresher skips until `not_before`."""

    __tablename__ = "fx_provider_state"

    provider: str = Field(max_length=20, primary_key=True)
    not_before: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    reason: str = Field(default="", max_length=200)
    used_weight: int = 0
    updated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
