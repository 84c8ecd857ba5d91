"""The admin dashboard: the current brand's campaigns in a paged, sortable, searchable table."""

from __future__ import annotations

import asyncio

import reflex as rx

from backend.campaigns.models import CampaignStatus
from backend.campaigns.service import list_campaigns
from backend.errors import DomainError
from backend.money import money_text
from primsell import routes
from primsell.state.session import SessionState, current_actor, current_brand
from primsell.state.table import PagedTableMixin


class AdminDashboardState(PagedTableMixin, rx.State):
    status_filter: str = ""

    async def _fetch(self) -> None:
        actor = await current_actor(self)
        brand_id = await current_brand(self)
        if actor is None or not brand_id:
            self.rows, self.total = [], 0
            return
        status = CampaignStatus(self.status_filter) if self.status_filter else None
        try:
            page = await asyncio.to_thread(
                list_campaigns,
                actor,
                brand_id,
                status=status,
                search=self.search,
                sort=self.sort_by,
                descending=self.descending,
                limit=self.page_size,
                offset=self.offset,
            )
        except DomainError as exc:
            self.rows, self.total, self.load_error = [], 0, exc.message
            return
        self.total = page.total
        self.rows = [
            {
                "id": str(c.id),
                "name": c.name,
                "slug": c.slug,
                "status": c.status.value,
                "phase": c.sale_phase().value,
                "price": money_text(c.price_minor, c.currency),
                "supply": f"{c.sold_count:,} / {c.supply_cap:,}",
                "edit_url": routes.admin_campaign(c.id),  # type: ignore[arg-type]
                "public_url": routes.campaign_page(c.slug),
            }
            for c in page.items
        ]

    @rx.event
    async def load_campaigns(self):
        self.loading = True
        yield
        yield await self._refresh()

    @rx.event
    async def set_status_filter(self, value: str):
        self.status_filter = value if value in {s.value for s in CampaignStatus} else ""
        self.page = 1
        self.loading = True
        yield
        yield await self._refresh()


class AdminDashboardRoyaltiesState(rx.State):
    """The dashboard's brand-wide royalties card: owed, paid and shortfall per currency across every campaign."""

    loaded: bool = False
    load_error: str = ""
    campaigns: int = 0
    sales: int = 0
    currencies: list[dict[str, str]] = []

    @rx.event
    async def load_summary(self):
        """on_mount of the card."""
        from backend.sales.service import brand_summary
        from primsell.state.admin.campaign_royalties import figures_row

        actor = await current_actor(self)
        if actor is None:
            yield SessionState.to_sign_in
            return
        brand_id = await current_brand(self)
        if not brand_id:
            self.loaded = True
            return
        try:
            summary = await asyncio.to_thread(brand_summary, actor, brand_id)
        except DomainError as exc:
            self.load_error, self.loaded = exc.message, True
            return
        self.load_error = ""
        self.campaigns, self.sales = summary.campaigns, summary.sales
        self.currencies = [figures_row(f) for f in summary.currencies]
        self.loaded = True
