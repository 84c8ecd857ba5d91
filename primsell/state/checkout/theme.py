"""The checkout shell's brand theme: the brand's name, logo and colours, set by the page that knows the campaign (the
campaign page from what it shows, the order page from the order's campaign) and read by the shell."""

from __future__ import annotations

import asyncio

import reflex as rx

from backend.campaigns.service import PublicCampaign, get_public_campaign
from backend.errors import NotFound
from backend.validation import SLUG_RE

DEFAULT_PRIMARY = "#4F46E5"
DEFAULT_ACCENT = "#F59E0B"


class CheckoutThemeState(rx.State):
    brand_name: str = ""
    logo_url: str = ""
    primary_color: str = DEFAULT_PRIMARY
    accent_color: str = DEFAULT_ACCENT

    @rx.event
    async def load_theme(self, slug: str):
        """The order page themes its shell in the colours of the order's campaign."""
        slug = slug.lower()
        try:
            public = await asyncio.to_thread(get_public_campaign, slug) if SLUG_RE.match(slug) else None
        except NotFound:
            public = None
        await set_theme(self, public)


async def set_theme(state: rx.State, public: PublicCampaign | None) -> None:
    """Theme the shell in this campaign's colours (its brand's where it has none); None: Primsell's own."""
    theme = state if isinstance(state, CheckoutThemeState) else await state.get_state(CheckoutThemeState)
    if public is None:
        theme.brand_name, theme.logo_url = "", ""
        theme.primary_color, theme.accent_color = DEFAULT_PRIMARY, DEFAULT_ACCENT
        return
    theme.brand_name, theme.logo_url = public.brand_name, public.logo_url
    theme.primary_color, theme.accent_color = public.primary_color, public.accent_color
