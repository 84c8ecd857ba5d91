"""Sales ledger tables: one `sale` row per secondary sale whatever reported it, the sources that reported it
(`sale_source`), append-only reversal entries (`sale_reversal`), and the pollers' cursors (`sales_cursor`).

Amounts (price, royalties) are exact integers in the currency's base units, stored as decimal text (`Wei`):
exact on SQLite and PostgreSQL alike, whatever their size."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

import backend.brands.models
import backend.campaigns.models  # noqa: F401  (the foreign keys' tables, for processes that import only this)
from backend.chain.models import Wei
from backend.db import UTCDateTime, enum_type, utcnow
from backend.fx.models import ExactDecimal
from backend.workflow.models import BigId

NO_LOG_INDEX = -1  # log_index_key of the first sale no chain report has placed yet (marketplace reports only);
# more fills of the same token in the same transaction take -2, -3, ...


class SaleStatus(StrEnum):
    CONFIRMED = "confirmed"  # the chain reported it: price and royalty paid are facts
    UNVERIFIED = "unverified"  # only marketplaces reported it: royalty paid unknown, checked again later
    REVERTED = "reverted"  # every source withdrew it, or its transaction left the canonical chain


class Sale(SQLModel, table=True):
    __tablename__ = "sale"
    __table_args__ = (
        # tx_hash first: the key also serves the ledger's look-up by transaction hash (no separate index to keep).
        UniqueConstraint("tx_hash", "chain_id", "collection", "token_id", "log_index_key", name="uq_sale_key"),
        Index("ix_sale_campaign_sold", "campaign_id", "sold_at"),
        Index("ix_sale_brand_sold", "brand_id", "sold_at"),
        Index("ix_sale_next_check", "next_check_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    chain_id: int = Field(sa_type=BigInteger)
    tx_hash: str = Field(max_length=66)
    collection: str = Field(max_length=42)
    token_id: int = Field(sa_column=Column(Wei, nullable=False))
    log_index: int | None = None
    log_index_key: int = NO_LOG_INDEX  # log_index, or -1, -2, ...: part of the unique key (NULLs are never equal)
    # Indexed by ix_sale_campaign_sold and ix_sale_brand_sold (their leading columns).
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    brand_id: int = Field(foreign_key="brand.id", ondelete="CASCADE")
    quantity: int = 1
    price: int = Field(sa_column=Column(Wei, nullable=False))
    currency_address: str = Field(max_length=42)
    currency_symbol: str = Field(max_length=16)
    currency_decimals: int
    marketplace: str = Field(max_length=32)
    seller: str = Field(max_length=42)
    buyer: str = Field(max_length=42)
    sold_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    block_number: int | None = Field(default=None, sa_type=BigInteger)
    block_hash: str | None = Field(default=None, max_length=66)
    order_hash: str | None = Field(default=None, max_length=66)
    status: SaleStatus = Field(default=SaleStatus.UNVERIFIED, sa_type=enum_type(SaleStatus))
    # Value at the time of the sale, with the rate used (None: no price was available yet).
    value_usd_cents: int | None = Field(default=None, sa_type=BigInteger)
    value_eur_cents: int | None = Field(default=None, sa_type=BigInteger)
    fx_rate_usd: Decimal | None = Field(default=None, sa_column=Column(ExactDecimal))
    fx_rate_eur: Decimal | None = Field(default=None, sa_column=Column(ExactDecimal))
    fx_source: str = Field(default="", max_length=20)
    royalty_receiver: str | None = Field(default=None, max_length=42)
    royalty_owed: int | None = Field(default=None, sa_column=Column(Wei, nullable=True))
    royalty_paid: int | None = Field(default=None, sa_column=Column(Wei, nullable=True))  # None: unknown, never assumed
    royalty_bps_mismatch: bool = False
    fees: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # [[recipient, "amount"]]
    royalty_computed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    next_check_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class SaleSource(SQLModel, table=True):
    """A source that reported a sale. A sale's `sources` are its rows not reverted."""

    __tablename__ = "sale_source"
    __table_args__ = (UniqueConstraint("sale_id", "source", name="uq_sale_source_sale_source"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    sale_id: int = Field(sa_column=Column(BigId, ForeignKey("sale.id", ondelete="CASCADE"), nullable=False))
    source: str = Field(max_length=16)
    external_id: str = Field(default="", max_length=200)
    first_seen_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    last_seen_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    reverted: bool = False


class SaleReversal(SQLModel, table=True):
    """Append-only: the sale left the totals at `reversed_at` (and came back at `restored_at`, if it did)."""

    __tablename__ = "sale_reversal"

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    sale_id: int = Field(sa_column=Column(BigId, ForeignKey("sale.id", ondelete="CASCADE"), nullable=False,
                                          index=True))
    source: str = Field(max_length=16)  # whose withdrawal completed the reversal
    reason: str = Field(default="", max_length=200)
    reversed_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    restored_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class SalesCursor(SQLModel, table=True):
    """Where a poller is in one source's feed of one collection, and what it learnt about the collection there.

    A walk reads the feed from `last_event_at` less the look-back window up to now. `cursor` is the source's
    paging cursor while a walk is unfinished (the run's page budget ran out, or a page failed), with the walk's
    lower bound `walk_after` and the newest event it has seen `walk_high`; `last_event_at` moves to `walk_high`
    when the walk ends. `walk_low` is the oldest event the walk has seen: when a newest-first walk is given up on a
    failing cursor, the older part it left is walked next with `walk_before` as its upper bound (and the given-up
    walk's `walk_high` kept), and `last_event_at` moves only when that part is done or given up too. `source_ref`
    is the source's own id of the collection (OpenSea's slug). `not_before`: the source asked us to wait
    (Retry-After)."""

    __tablename__ = "sales_cursor"
    __table_args__ = (UniqueConstraint("source", "collection", name="uq_sales_cursor_source_collection"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    source: str = Field(max_length=16)
    collection: str = Field(max_length=42)
    source_ref: str | None = Field(default=None, max_length=200)
    cursor: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    walk_after: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    walk_before: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    walk_high: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    walk_low: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    cursor_failures: int = 0  # consecutive failed reads of `cursor`
    last_event_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    last_run_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    last_error: str = Field(default="", max_length=500)
    not_before: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    events_seen: int = Field(default=0, sa_type=BigInteger)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


__all__ = ["NO_LOG_INDEX", "Sale", "SaleReversal", "SaleSource", "SaleStatus", "SalesCursor"]
