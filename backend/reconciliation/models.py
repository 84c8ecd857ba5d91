"""Reconciliation tables: each run (who or what started it, its scope and outcome), its totals per brand and currency
(money in, refunded, net; tokens sold, minted, on chain), and the exceptions it found, each with its reason."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel

import backend.auth.models
import backend.brands.models  # noqa: F401 - the foreign keys below resolve in any process
from backend.db import UTCDateTime, enum_type, utcnow


class RunStatus(StrEnum):
    RUNNING = "running"
    CLEAN = "clean"  # every paid order minted, refunded or in flight; nothing orphaned
    EXCEPTIONS = "exceptions"
    FAILED = "failed"  # the run could not finish (the provider or the chain did not answer): nothing proven


class ExceptionKind(StrEnum):
    PAID_NOT_MINTED = "paid_not_minted"  # paid, neither minted nor refunded after RECONCILE_MINT_GRACE_HOURS
    MINTED_TWICE = "minted_twice"  # more tokens on chain for the order than it bought
    REFUNDED_AND_MINTED = "refunded_and_minted"
    AMOUNT_MISMATCH = "amount_mismatch"  # the provider's charge and the order's paid amount differ
    WRONG_RECIPIENT = "wrong_recipient"  # the order's tokens were minted to another address
    ORPHAN_TRANSFER = "orphan_transfer"  # a mint on a Primsell collection that no order (or mint request) accounts for
    ORPHAN_CHARGE = "orphan_charge"  # a provider charge with no order paid by it
    SUPPLY_MISMATCH = "supply_mismatch"  # totalSupply differs from the collection's mint and burn logs


class RunTrigger(StrEnum):
    NIGHTLY = "nightly"  # the reconciler daemon
    MANUAL = "manual"  # "Run now" on the admin page
    CLI = "cli"  # python -m backend reconcile


class ReconciliationRun(SQLModel, table=True):
    __tablename__ = "reconciliation_run"
    __table_args__ = (Index("ix_reconciliation_run_brand_started", "brand_id", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    trigger: RunTrigger = Field(sa_column=Column(enum_type(RunTrigger), nullable=False))
    requested_by: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    # The brand the run was limited to (a brand admin's "Run now"); None: the whole platform.
    brand_id: int | None = Field(default=None, foreign_key="brand.id", ondelete="CASCADE")
    since: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    provider: str = Field(default="", max_length=16)
    status: RunStatus = Field(default=RunStatus.RUNNING, sa_column=Column(enum_type(RunStatus), nullable=False))
    stage: str = Field(default="", max_length=80)  # what a running run is doing (the page's progress line)
    orders_checked: int = 0
    exception_count: int = 0
    error: str = Field(default="", max_length=1000)
    started_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class ReconciliationTotal(SQLModel, table=True):
    """One run's figures for one brand (None: money no order accounts for) in one currency. Tokens are counted on the
    row of their campaign's currency. They tie when money_in == orders_paid, refunded == orders_refunded and
    tokens_sold (of orders that keep their tokens) == tokens_minted == tokens_on_chain."""

    __tablename__ = "reconciliation_total"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(sa_column=Column(Integer, ForeignKey("reconciliation_run.id", ondelete="CASCADE"),
                                         nullable=False, index=True))
    brand_id: int | None = Field(default=None, index=True)  # no FK: a run's history outlives a deleted brand's rows
    currency: str = Field(max_length=3)
    money_in_minor: int = Field(default=0, sa_type=BigInteger)  # the provider's charges
    refunded_minor: int = Field(default=0, sa_type=BigInteger)  # the provider's succeeded refunds
    net_minor: int = Field(default=0, sa_type=BigInteger)
    orders_paid_minor: int = Field(default=0, sa_type=BigInteger)  # what our orders say was paid
    orders_refunded_minor: int = Field(default=0, sa_type=BigInteger)  # ... and refunded
    orders_paid: int = 0
    orders_minted: int = 0
    orders_refunded: int = 0
    orders_in_flight: int = 0
    oldest_in_flight_s: int | None = None
    tokens_sold: int = 0  # tokens of paid orders not refunded
    tokens_minted: int = 0  # tokens our rows say were minted for those orders
    tokens_on_chain: int = 0  # tokens the chain shows minted for those orders (Transfer logs, receipts, ownerOf)
    collections_supply: int = 0  # totalSupply of the brand's collections (all time)


class ReconciliationException(SQLModel, table=True):
    __tablename__ = "reconciliation_exception"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(sa_column=Column(Integer, ForeignKey("reconciliation_run.id", ondelete="CASCADE"),
                                         nullable=False, index=True))
    brand_id: int | None = Field(default=None, index=True)
    campaign_id: int | None = None
    order_id: int | None = None
    kind: ExceptionKind = Field(sa_column=Column(enum_type(ExceptionKind), nullable=False))
    reason: str = Field(max_length=500)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
