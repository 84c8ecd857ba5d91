"""Campaigns: one NFT collection a brand sells, with its price, supply, royalty, sale window and branding."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column
from sqlmodel import Field, SQLModel

from backend.db import UTCDateTime, enum_type, utcnow


class CampaignStatus(StrEnum):
    DRAFT = "draft"  # being prepared; its public page is not reachable
    PUBLISHED = "published"  # public page live; sells inside its sale window
    PAUSED = "paused"  # public page live, sale stopped by the brand
    ARCHIVED = "archived"  # over; kept for history


class SalePhase(StrEnum):
    """What a buyer sees, derived from status, sale window and supply (never stored)."""

    NOT_PUBLISHED = "not_published"
    NOT_STARTED = "not_started"
    ON_SALE = "on_sale"
    PAUSED = "paused"
    SOLD_OUT = "sold_out"
    ENDED = "ended"


class Campaign(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint("price_minor >= 0", name="ck_campaign_price_nonneg"),
        CheckConstraint("supply_cap > 0", name="ck_campaign_supply_pos"),
        CheckConstraint("sold_count >= 0 AND sold_count <= supply_cap", name="ck_campaign_sold_within_cap"),
        CheckConstraint("royalty_bps >= 0 AND royalty_bps <= 10000", name="ck_campaign_royalty_bps"),
    )

    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brand.id", index=True, ondelete="CASCADE")
    slug: str = Field(max_length=64, unique=True, index=True)  # public URL: /c/<slug>
    name: str = Field(max_length=120)
    description: str = Field(default="", max_length=5000)
    image_url: str = Field(default="", max_length=500)
    # Money in minor units of `currency` (cents for USD/EUR), never float.
    price_minor: int
    currency: str = Field(default="USD", max_length=3)
    supply_cap: int
    # 0 means no per-wallet limit.
    per_wallet_cap: int = 0
    sale_starts_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    sale_ends_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    royalty_bps: int = 0
    royalty_receiver: str = Field(default="", max_length=42)  # EIP-55 checksummed address
    chain: str = Field(default="local", max_length=32)  # key of a chain configuration
    # Branding overrides; empty means "use the brand's".
    primary_color: str = Field(default="", max_length=7)
    accent_color: str = Field(default="", max_length=7)
    logo_url: str = Field(default="", max_length=500)
    # Identity checks for buyers (backend.kyc.gates.CampaignKyc): "none", "every_buyer", or "above_amount" = a
    # buyer whose orders of this campaign would total more than kyc_threshold_minor (minor units of `currency`).
    kyc_requirement: str = Field(default="none", max_length=16)
    kyc_threshold_minor: int = 0
    status: CampaignStatus = Field(default=CampaignStatus.DRAFT, sa_type=enum_type(CampaignStatus), index=True)
    # Tokens reserved by orders (paid or awaiting payment); the checkout reserves atomically against supply_cap.
    sold_count: int = 0
    created_by: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))

    @property
    def supply_left(self) -> int:
        return max(0, self.supply_cap - self.sold_count)

    def sale_phase(self, now: datetime | None = None) -> SalePhase:
        now = now or utcnow()
        if self.status is CampaignStatus.DRAFT:
            return SalePhase.NOT_PUBLISHED
        if self.status is CampaignStatus.ARCHIVED:
            return SalePhase.ENDED
        if self.sale_ends_at is not None and now >= self.sale_ends_at:
            return SalePhase.ENDED
        if self.supply_left == 0:
            return SalePhase.SOLD_OUT
        if self.sale_starts_at is not None and now < self.sale_starts_at:
            return SalePhase.NOT_STARTED
        if self.status is CampaignStatus.PAUSED:
            return SalePhase.PAUSED
        return SalePhase.ON_SALE
