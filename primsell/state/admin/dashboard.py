"""The admin dashboard: the current brand's campaigns in a paged, sortable, searchable table."""

from __future__ import annotations

import asyncio

import reflex as rx

from backend.campaigns.models import CampaignStatus
from backend.campaigns.service import list_campaigns
from backend.errors import DomainError
from backend.money import format_amount
from primsell import routes
from primsell.state.session import SessionState
from primsell.state.table import PagedTableMixin


class AdminDashboardState(PagedTableMixin, rx.State):
    status_filter: str = ""

    async def _fetch(self) -> None:
        session = await self.get_state(SessionState)
        actor = session.actor()
        if not session.allowed("admin") or actor is None or not session.brand_id:
            self.rows, self.total = [], 0
            return
        status = CampaignStatus(self.status_filter) if self.status_filter else None
        try:
            page = await asyncio.to_thread(
                list_campaigns,
                actor,
                session.brand_id,
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
                "price": format_amount(c.price_minor, c.currency),
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
        await self._refresh()

    @rx.event
    async def set_status_filter(self, value: str):
        self.status_filter = value if value in {s.value for s in CampaignStatus} else ""
        self.page = 1
        self.loading = True
        yield
        await self._refresh()
