"""The order table: one purchase of `quantity` tokens of one campaign, its payment, mint and refund facts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index
from sqlmodel import Field, SQLModel

# The tables this one references, so its foreign keys resolve in any process that imports it (the job runner
# imports subscribers, not backend.models).
import backend.auth.models
import backend.brands.models
import backend.campaigns.models  # noqa: F401
from backend.db import UTCDateTime, enum_type, utcnow
from backend.fx.models import ExactDecimal
from backend.workflow.machines import OrderState

# States whose buyer can still pay: the payment page link stays useful, and money arriving is applied.
PAYABLE = (OrderState.CREATED, OrderState.AWAITING_PAYMENT, OrderState.PAYMENT_FAILED)


class Order(SQLModel, table=True):
    __tablename__ = "shop_order"  # "order" is an SQL keyword
    __state_machine__ = "order"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="ck_shop_order_quantity_pos"),
        CheckConstraint("amount_minor >= 0", name="ck_shop_order_amount_nonneg"),
        # The per-wallet cap counts a wallet's orders that still hold supply in one campaign.
        Index("ix_shop_order_campaign_wallet", "campaign_id", "wallet_address", "holds_supply"),
        Index("ix_shop_order_state_expires", "state", "expires_at"),
        Index("ix_shop_order_brand_created", "brand_id", "created_at"),
        # The unpaid-reservation caps count a network's orders holding supply, overall and in one campaign.
        Index("ix_shop_order_network_campaign", "client_network", "campaign_id", "holds_supply"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # What the consumer's link carries: unguessable (128 random bits), never the sequential id.
    public_id: str = Field(max_length=32, unique=True, index=True)
    brand_id: int = Field(foreign_key="brand.id", ondelete="CASCADE")
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    user_id: int | None = Field(default=None, foreign_key="app_user.id", index=True, ondelete="SET NULL")
    email: str = Field(max_length=254, index=True)
    wallet_address: str = Field(max_length=42, index=True)
    custodial: bool = False
    quantity: int
    unit_price_minor: int
    amount_minor: int
    currency: str = Field(max_length=3)
    # Crypto equivalent shown at checkout, with the rate snapshot it came from (absent if no price).
    crypto_asset: str = Field(default="", max_length=10)
    crypto_amount: Decimal | None = Field(default=None, sa_column=Column(ExactDecimal))
    fx_rate: Decimal | None = Field(default=None, sa_column=Column(ExactDecimal))
    fx_source: str = Field(default="", max_length=20)
    fx_fetched_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))

    state: OrderState = Field(default=OrderState.CREATED, sa_column=Column(enum_type(OrderState), nullable=False))
    version: int = 1
    # True while the order's quantity is counted in campaign.sold_count; reserving and releasing flip it in
    # the same transaction as the counter, so sold_count == sum(quantity of orders holding supply).
    holds_supply: bool = True

    payment_provider: str = Field(default="", max_length=16)
    payment_session_id: str | None = Field(default=None, max_length=255, unique=True)
    payment_url: str = Field(default="", max_length=2000)
    payment_intent_id: str | None = Field(default=None, max_length=255, index=True)
    paid_amount_minor: int | None = None
    paid_currency: str = Field(default="", max_length=3)
    paid_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))

    mint_key: str | None = Field(default=None, max_length=64, unique=True)  # set once, when the mint is requested
    mint_requested_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    mint_tx_hash: str = Field(default="", max_length=66, index=True)
    token_ids: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    minted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))

    # What the consumer reads on the order page when something went wrong (declined card, refund reason).
    failure_reason: str = Field(default="", max_length=500)
    refund_reason: str = Field(default="", max_length=500)
    refunded_minor: int = 0
    ip: str = Field(default="", max_length=64)
    # The buyer's network (the IPv4 address, or the IPv6 /64 around the address): what per-IP limits count.
    client_network: str = Field(default="", max_length=64)
    # When the buyer first followed the order's pay link: the short unpaid hold became the full TTL then.
    payment_opened_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
