"""/admin/campaigns/[campaign]/sales: the campaign's secondary sales, paged by the backend, filtered by marketplace,
status and date, searched by address or transaction hash, and exported as CSV with the same filters."""

from __future__ import annotations

import asyncio
from decimal import ROUND_HALF_UP, Decimal

import reflex as rx

from backend.chain.config import ChainConfig, chain_config
from backend.errors import DomainError, NotFound
from backend.money import money_text
from backend.sales.models import SaleStatus
from backend.sales.service import SaleRow, SalesContext, list_sales, sales_context, units_text
from primsell import routes
from primsell.format import short_hex, utc_datetime
from primsell.state.session import current_actor
from primsell.state.table import DateRangeMixin, PagedTableMixin

STATUSES = [s.value for s in SaleStatus]
STATUS_LABELS = {"confirmed": "Confirmed", "unverified": "Unverified", "reverted": "Reverted"}


def campaign_id_from_path(path: str, suffix: str) -> int:
    """/admin/campaigns/12/<suffix> -> 12 (0 if the path is not one)."""
    parts = path.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-1] == suffix and parts[-2].isdigit():
        return int(parts[-2])
    return 0


def amount_text(amount: int | None, decimals: int, symbol: str) -> str:
    """An exact amount in whole units with its currency ("0.046 ETH"); "" when unknown."""
    if amount is None:
        return ""
    return f"{units_text(amount, decimals)} {symbol}"


def usd_cents_text(cents: int | None) -> str:
    return "" if cents is None else money_text(cents, "USD")


def _explorer(chain: str) -> ChainConfig | None:
    try:
        return chain_config(chain)
    except DomainError:
        return None


def sale_rows(items: list[SaleRow], context: SalesContext) -> list[dict[str, str]]:
    explorer = _explorer(context.chain)

    def address_url(address: str | None) -> str:
        return (explorer.address_url(address) if explorer else None) or ""

    rows = []
    for sale in items:
        shortfall = sale.shortfall
        rows.append({
            "id": str(sale.id),
            "sold_at": utc_datetime(sale.sold_at),
            "marketplace": sale.marketplace,
            "token": f"#{sale.token_id}",
            "token_url": routes.token_metadata(context.slug, sale.token_id),
            "image": context.image_url,
            "quantity": str(sale.quantity) if sale.quantity != 1 else "",
            "price": amount_text(sale.price, sale.decimals, sale.currency),
            "value_usd": usd_cents_text(sale.value_usd_cents),
            "seller": short_hex(sale.seller), "seller_full": sale.seller, "seller_url": address_url(sale.seller),
            "buyer": short_hex(sale.buyer), "buyer_full": sale.buyer, "buyer_url": address_url(sale.buyer),
            "tx": short_hex(sale.tx_hash), "tx_full": sale.tx_hash,
            "tx_url": (explorer.tx_url(sale.tx_hash) if explorer else None) or "",
            "owed": amount_text(sale.royalty_owed, sale.decimals, sale.currency),
            "paid": amount_text(sale.royalty_paid, sale.decimals, sale.currency),
            "shortfall": amount_text(shortfall, sale.decimals, sale.currency),
            "short": "yes" if shortfall is not None and shortfall > 0 else "",
            "status": sale.status,
            "sources": ", ".join(sale.sources),
        })
    return rows


def percent_text(value: Decimal | None) -> str:
    return "" if value is None else f"{value.quantize(Decimal('0.1'), ROUND_HALF_UP)}%"


class AdminCampaignSalesState(PagedTableMixin, DateRangeMixin, rx.State):
    page_size: int = 20
    campaign_id: int = 0
    campaign_name: str = ""
    not_found: bool = False
    marketplace_filter: str = ""
    status_filter: str = ""
    marketplace_options: list[str] = []
    _context: SalesContext | None = None

    @rx.var
    def campaign_url(self) -> str:
        return routes.admin_campaign(self.campaign_id) if self.campaign_id else routes.ADMIN

    @rx.var
    def royalties_url(self) -> str:
        return routes.admin_campaign_royalties(self.campaign_id) if self.campaign_id else routes.ADMIN

    @rx.var
    def filtered(self) -> bool:
        return bool(self.marketplace_filter or self.status_filter or self.date_from or self.date_to or self.search)

    @rx.var
    def export_url(self) -> str:
        """A plain link to the API's streamed export (signed in by the session cookie), with these filters."""
        if not self.campaign_id:
            return ""
        date_from, date_to = self._day_range()
        params: dict[str, str | int] = {}
        if self.marketplace_filter:
            params["marketplace"] = self.marketplace_filter
        if self.status_filter:
            params["status"] = self.status_filter
        if date_from is not None:
            params["from"] = date_from.isoformat()
        if date_to is not None:
            params["to"] = date_to.isoformat()
        if self.search.strip():
            params["search"] = self.search.strip()
        return routes.api_campaign_sales_export(self.campaign_id, params)

    async def _fetch(self) -> None:
        actor = await current_actor(self)
        if actor is None or not self.campaign_id:
            self.rows, self.total = [], 0
            return
        date_from, date_to = self._day_range()
        try:
            if self._context is None:
                self._context = await asyncio.to_thread(sales_context, actor, self.campaign_id)
                self.campaign_name = self._context.name
                self.marketplace_options = self._context.marketplaces
            page = await asyncio.to_thread(
                list_sales, actor, self.campaign_id, limit=self.page_size, offset=self.offset,
                marketplace=self.marketplace_filter or None, status=self.status_filter or None,
                date_from=date_from, date_to=date_to, search=self.search)
        except NotFound:
            self.not_found, self.rows, self.total = True, [], 0
            return
        except DomainError as exc:
            self.rows, self.total, self.load_error = [], 0, exc.message
            return
        self.rows, self.total = sale_rows(page.items, self._context), page.total

    @rx.event
    async def load_sales(self):
        """on_load: the campaign from the path, filters from the link (?status=, ?marketplace=), first page."""
        self.campaign_id = campaign_id_from_path(self.router.url.path, "sales")
        query = self.router.url.query_parameters
        self.status_filter = query.get("status", "") if query.get("status", "") in STATUSES else ""
        self.marketplace_filter = query.get("marketplace", "")[:32]
        self.date_from = self.date_to = self.date_error = self.search = ""
        self.not_found, self._context, self.campaign_name = False, None, ""
        async for update in self._reload():
            yield update

    @rx.event
    async def set_marketplace_filter(self, value: str):
        self.marketplace_filter = value if value in self.marketplace_options else ""
        async for update in self._reload():
            yield update

    @rx.event
    async def set_status_filter(self, value: str):
        self.status_filter = value if value in STATUSES else ""
        async for update in self._reload():
            yield update

    @rx.event
    async def clear_filters(self):
        self.marketplace_filter = self.status_filter = self.date_from = self.date_to = self.date_error = ""
        async for update in self._reload():
            yield update
