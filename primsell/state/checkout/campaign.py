"""The public campaign page /c/[campaign_slug]: one backend read, shown in the brand's colours."""

from __future__ import annotations

import asyncio
from datetime import datetime

import reflex as rx

from backend.campaigns.service import get_public_campaign
from backend.errors import NotFound
from backend.money import format_amount
from backend.validation import SLUG_RE

DEFAULT_PRIMARY = "#4F46E5"
DEFAULT_ACCENT = "#F59E0B"


def _when(value: datetime | None) -> str:
    return value.strftime("%d %b %Y, %H:%M UTC") if value else ""


class CheckoutCampaignState(rx.State):
    loaded: bool = False
    not_found: bool = False
    campaign_slug_shown: str = ""
    name: str = ""
    description: str = ""
    image_url: str = ""
    brand_name: str = ""
    logo_url: str = ""
    primary_color: str = DEFAULT_PRIMARY
    accent_color: str = DEFAULT_ACCENT
    price: str = ""
    supply_left: int = 0
    supply_cap: int = 0
    per_wallet_cap: int = 0
    phase: str = ""
    starts_at: str = ""
    ends_at: str = ""

    @rx.event
    async def load_campaign(self):
        self.loaded = False
        slug = self.router.url.path.rstrip("/").rsplit("/", 1)[-1].lower()
        if not SLUG_RE.match(slug):
            self.not_found, self.loaded = True, True
            return
        try:
            public = await asyncio.to_thread(get_public_campaign, slug)
        except NotFound:
            self.not_found, self.loaded = True, True
            self.brand_name, self.logo_url = "", ""
            self.primary_color, self.accent_color = DEFAULT_PRIMARY, DEFAULT_ACCENT
            return
        c = public.campaign
        self.not_found = False
        self.campaign_slug_shown = c.slug
        self.name, self.description, self.image_url = c.name, c.description, c.image_url
        self.brand_name, self.logo_url = public.brand_name, public.logo_url
        self.primary_color, self.accent_color = public.primary_color, public.accent_color
        self.price = format_amount(c.price_minor, c.currency)
        self.supply_left, self.supply_cap, self.per_wallet_cap = c.supply_left, c.supply_cap, c.per_wallet_cap
        self.phase = public.phase.value
        self.starts_at, self.ends_at = _when(c.sale_starts_at), _when(c.sale_ends_at)
        self.loaded = True

    @rx.var
    def phase_message(self) -> str:
        return {
            "on_sale": "On sale now" + (f" — ends {self.ends_at}" if self.ends_at else ""),
            "not_started": "Not on sale yet — opens " + (self.starts_at or "soon"),
            "sold_out": "Sold out — every token has been claimed",
            "ended": "This sale has ended",
            "paused": "Sale paused — check back soon",
        }.get(self.phase, "")
