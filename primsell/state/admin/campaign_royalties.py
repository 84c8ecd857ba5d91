"""/admin/campaigns/[campaign]/royalties: royalty owed vs paid per currency and marketplace, over time, the
leakage in % and in money, and the sales that left the most unpaid."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import reflex as rx

from backend.errors import DomainError, NotFound
from backend.sales.service import RoyaltyDashboard, RoyaltyFigures, royalty_dashboard, sales_context
from primsell import routes
from primsell.state.admin.campaign_sales import (
    amount_text,
    campaign_id_from_path,
    percent_text,
    sale_rows,
    usd_cents_text,
)
from primsell.state.session import SessionState, current_actor

CHART_PLACES = Decimal("0.000001")


def chart_number(amount: int, decimals: int) -> float:
    """A chart coordinate in whole units. Charts need numbers; every figure shown as text stays exact."""
    return float(Decimal(amount).scaleb(-decimals).quantize(CHART_PLACES))


def figures_row(figures: RoyaltyFigures, label: str = "") -> dict[str, str]:
    symbol, decimals = figures.currency, figures.decimals
    return {
        "label": label or symbol,
        "currency": symbol,
        "owed": amount_text(figures.owed, decimals, symbol),
        "paid": amount_text(figures.paid, decimals, symbol),
        "shortfall": amount_text(figures.shortfall, decimals, symbol),
        "unverified_owed": amount_text(figures.unverified_owed, decimals, symbol),
        "leakage": percent_text(figures.leakage_percent) or "—",
        "shortfall_usd": usd_cents_text(figures.shortfall_usd_cents),
        "sales": str(figures.sales),
        "verified": str(figures.verified_sales),
        "pending": str(figures.pending_sales),
    }


class AdminCampaignRoyaltiesState(rx.State):
    campaign_id: int = 0
    campaign_name: str = ""
    loaded: bool = False
    loading: bool = False
    not_found: bool = False
    load_error: str = ""
    currencies: list[dict[str, str]] = []
    marketplaces: list[dict[str, str]] = []  # one row per (marketplace, currency)
    main_currency: str = ""
    by_marketplace_chart: list[dict[str, float | str]] = []
    over_time_chart: list[dict[str, float | str]] = []
    top_unpaid: list[dict[str, str]] = []

    @rx.var
    def campaign_url(self) -> str:
        return routes.admin_campaign(self.campaign_id) if self.campaign_id else routes.ADMIN

    @rx.var
    def sales_url(self) -> str:
        return routes.admin_campaign_sales(self.campaign_id) if self.campaign_id else routes.ADMIN

    def _show(self, dashboard: RoyaltyDashboard) -> None:
        self.currencies = [figures_row(f) for f in dashboard.royalties.currencies]
        self.marketplaces = [figures_row(f, market) for market, figures in dashboard.royalties.marketplaces.items()
                             for f in figures]
        main = dashboard.currency
        self.main_currency = main.currency if main else ""
        self.by_marketplace_chart, self.over_time_chart = [], []
        if main is None:
            return
        key = (main.currency, main.currency_address, main.decimals)
        for market, figures in dashboard.royalties.marketplaces.items():
            for f in figures:
                if (f.currency, f.currency_address, f.decimals) == key:
                    self.by_marketplace_chart.append({
                        "marketplace": market, "owed": chart_number(f.paid + f.shortfall, f.decimals),
                        "paid": chart_number(f.paid, f.decimals)})
        self.over_time_chart = [{"day": d.day.isoformat(), "owed": chart_number(d.verified_owed, main.decimals),
                                 "paid": chart_number(d.paid, main.decimals)} for d in dashboard.days]

    @rx.event
    async def load_royalties(self):
        """on_load and the Refresh button."""
        self.campaign_id = campaign_id_from_path(self.router.url.path, "royalties")
        self.loading, self.load_error = True, ""
        yield
        actor = await current_actor(self)
        if actor is None:
            self.loading = False
            yield SessionState.to_sign_in
            return
        if not self.campaign_id:
            self.loading, self.not_found, self.loaded = False, True, True
            return
        try:
            context = await asyncio.to_thread(sales_context, actor, self.campaign_id)
            dashboard = await asyncio.to_thread(royalty_dashboard, actor, self.campaign_id)
        except NotFound:
            self.not_found = True
        except DomainError as exc:
            self.load_error = exc.message
        else:
            self.not_found = False
            self.campaign_name = context.name
            self._show(dashboard)
            self.top_unpaid = sale_rows(dashboard.top_unpaid, context)
        self.loaded, self.loading = True, False

