"""The campaign page's Orders section: revenue per currency, orders by status and minted vs supply, read once when
the section mounts and again on Refresh."""

from __future__ import annotations

import asyncio

import reflex as rx

from backend.errors import DomainError
from backend.money import money_text
from backend.orders.admin import CampaignDashboard, campaign_dashboard
from primsell import routes
from primsell.components.timeline import state_label
from primsell.state.session import SessionState, current_actor


def chart_rows(d: CampaignDashboard) -> list[dict[str, int | str]]:
    """Minted vs supply as three bars that add up to the supply: minted, held (paid or awaiting payment, not
    minted yet) and still available."""
    held = max(0, d.tokens_reserved - d.tokens_minted)
    return [
        {"name": "Minted", "tokens": d.tokens_minted},
        {"name": "Held", "tokens": held},
        {"name": "Available", "tokens": d.supply_left},
    ]


class AdminCampaignOrdersState(rx.State):
    campaign_id: int = 0
    loaded: bool = False
    loading: bool = False
    section_error: str = ""
    revenue: list[dict[str, str]] = []  # [{"currency", "net", "refunded"}]
    by_status: list[dict[str, str]] = []  # [{"status", "label", "count"}]
    order_count: int = 0
    minted: int = 0
    supply_cap: int = 0
    chart: list[dict[str, int | str]] = []
    orders_url: str = routes.ADMIN_ORDERS

    def _show(self, d: CampaignDashboard) -> None:
        currencies = sorted(set(d.revenue_minor) | set(d.refunded_minor))
        self.revenue = [
            {"currency": c, "net": money_text(d.revenue_minor.get(c, 0), c),
             "refunded": money_text(d.refunded_minor.get(c, 0), c) if d.refunded_minor.get(c) else ""}
            for c in currencies
        ]
        self.by_status = [{"status": s, "label": state_label(s), "count": str(n)}
                          for s, n in sorted(d.orders_by_status.items(), key=lambda item: (-item[1], item[0]))]
        self.order_count = sum(d.orders_by_status.values())
        self.minted, self.supply_cap = d.tokens_minted, d.supply_cap
        self.chart = chart_rows(d)

    @rx.event
    async def load_dashboard(self):
        """on_mount of the section (the campaign is loaded by then) and the Refresh button."""
        raw = self.router.url.path.rstrip("/").rsplit("/", 1)[-1]
        self.campaign_id = int(raw) if raw.isdigit() else 0
        self.orders_url = routes.admin_orders(self.campaign_id or None)
        self.loading = True
        yield
        actor = await current_actor(self)
        if actor is None:
            self.loading = False
            yield SessionState.to_sign_in
            return
        if not self.campaign_id:
            self.loading = False
            return
        try:
            dashboard = await asyncio.to_thread(campaign_dashboard, actor, self.campaign_id)
        except DomainError as exc:
            self.section_error = exc.message
        else:
            self.section_error = ""
            self._show(dashboard)
        self.loaded, self.loading = True, False
