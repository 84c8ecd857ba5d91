"""/admin/orders: the brand's orders, paged and sorted by the backend, filtered by status, campaign and date, searched
by email, wallet or transaction hash, and exported as CSV with the same filters (a link to the API's streamed
export)."""

from __future__ import annotations

import asyncio

import reflex as rx

from backend.campaigns.service import list_campaigns
from backend.errors import DomainError, Forbidden, NotAuthenticated
from backend.money import money_text
from backend.orders.admin import OrderRow, list_orders
from backend.workflow.machines import OrderState
from primsell import routes
from primsell.format import short_hex, utc_datetime
from primsell.state.session import ANONYMOUS, SessionState, current_actor_and_brand
from primsell.state.table import DateRangeMixin, PagedTableMixin

STATUSES = [s.value for s in OrderState]
MAX_CAMPAIGN_OPTIONS = 100


def order_rows(items: list[OrderRow]) -> list[dict[str, str]]:
    return [
        {
            "id": str(o.id),
            "public_id": o.public_id,
            "created_at": utc_datetime(o.created_at),
            "campaign": o.campaign_name,
            "status": o.status,
            "email": o.email,
            "wallet": short_hex(o.wallet_address),
            "wallet_full": o.wallet_address,
            "custodial": "yes" if o.custodial else "",
            "quantity": str(o.quantity),
            "amount": money_text(o.amount_minor, o.currency),
            "refunded": money_text(o.refunded_minor, o.currency) if o.refunded_minor else "",
            "tx": short_hex(o.tx_hash),
            "tx_full": o.tx_hash,
            "detail_url": routes.admin_order(o.id),
        }
        for o in items
    ]


class AdminOrdersState(PagedTableMixin, DateRangeMixin, rx.State):
    page_size: int = 20
    forbidden: bool = False
    status_filter: str = ""
    campaign_filter: str = ""  # a campaign id, "" for all
    # The campaign filter's choices: the first MAX_CAMPAIGN_OPTIONS by name, narrowed by `campaign_search`.
    campaign_options: list[dict[str, str]] = []
    campaign_options_total: int = 0  # how many campaigns match `campaign_search` (may be more than shown)
    campaign_search: str = ""
    _campaign_filter_name: str = ""  # so the chosen campaign stays in the list whatever the search shows
    brand_id: int = 0  # whose orders the export link asks for (the API checks the session's permission again)

    @rx.var
    def campaign_options_note(self) -> str:
        shown = sum(1 for c in self.campaign_options if not c.get("kept"))
        if self.campaign_options_total > shown:
            return (f"Showing the first {shown} of {self.campaign_options_total} campaigns: type a name to find "
                    "another.")
        return ""

    @rx.var
    def export_url(self) -> str:
        """"Export CSV" is a plain link: the API streams every matching order (not just this page), signed in by
        the HttpOnly session cookie, instead of a file built in memory and pushed over the websocket."""
        if not self.brand_id:
            return ""
        date_from, date_to = self._day_range()
        params: dict[str, str | int] = {"brand_id": self.brand_id}
        if self.status_filter:
            params["status"] = self.status_filter
        if self.campaign_filter.isdigit():
            params["campaign_id"] = self.campaign_filter
        if date_from is not None:
            params["date_from"] = date_from.isoformat()
        if date_to is not None:
            params["date_to"] = date_to.isoformat()
        if self.search.strip():
            params["search"] = self.search.strip()
        return routes.api_orders_export(params)

    @rx.var
    def campaign_search_shown(self) -> bool:
        return self.campaign_options_total > MAX_CAMPAIGN_OPTIONS or self.campaign_search != ""

    @rx.var
    def filtered(self) -> bool:
        return bool(self.status_filter or self.campaign_filter or self.date_from or self.date_to or self.search)

    def _filters(self) -> dict:
        date_from, date_to = self._day_range()
        return {
            "status": self.status_filter or None,
            "campaign_id": int(self.campaign_filter) if self.campaign_filter.isdigit() else None,
            "date_from": date_from,
            "date_to": date_to,
            "search": self.search,
            "sort": self.sort_by,
            "descending": self.descending,
        }

    async def _fetch(self) -> None:
        actor, brand_id = await current_actor_and_brand(self)
        self.brand_id = brand_id
        if actor is None:
            self.rows, self.total = [], 0
            return
        try:
            page = await asyncio.to_thread(list_orders, actor, brand_id, **self._filters(), limit=self.page_size,
                                           offset=self.offset)
        except (Forbidden, NotAuthenticated):
            self.forbidden, self.rows, self.total = True, [], 0
            return
        except DomainError as exc:
            self.rows, self.total, self.load_error = [], 0, exc.message
            return
        self.forbidden = False
        self.rows, self.total = order_rows(page.items), page.total
        if self.campaign_filter and page.items and not self._campaign_filter_name:
            self._campaign_filter_name = page.items[0].campaign_name  # a filter from the link: name it

    @rx.event
    async def load_orders(self):
        """on_load: filters from the link (?campaign=, ?status=), then the first page, newest first."""
        query = self.router.url.query_parameters
        campaign, status = query.get("campaign", ""), query.get("status", "")
        self.campaign_filter = campaign if campaign.isdigit() else ""
        self._campaign_filter_name = ""
        self.status_filter = status if status in STATUSES else ""
        self.date_from = self.date_to = self.date_error = self.search = ""
        self.sort_by, self.descending, self.forbidden = "created_at", True, False
        async for update in self._reload():
            yield update

    async def _load_campaign_options(self):  # type: ignore[no-untyped-def]
        actor, brand_id = await current_actor_and_brand(self)
        if actor is None:
            session = await self.get_state(SessionState)
            return SessionState.to_sign_in if session.status == ANONYMOUS else None
        try:
            page = await asyncio.to_thread(list_campaigns, actor, brand_id, search=self.campaign_search,
                                           sort="name", descending=False, limit=MAX_CAMPAIGN_OPTIONS)
        except DomainError:
            self.campaign_options, self.campaign_options_total = [], 0
            return None
        options = [{"id": str(c.id), "name": c.name} for c in page.items]
        if self.campaign_filter and all(o["id"] != self.campaign_filter for o in options):
            # The chosen campaign is not among these (a search, or past the first ones): keep it choosable.
            options.insert(0, {"id": self.campaign_filter, "kept": "1",
                               "name": self._campaign_filter_name or f"Campaign #{self.campaign_filter}"})
        self.campaign_options, self.campaign_options_total = options, page.total
        return None

    @rx.event
    async def load_campaign_options(self):
        """on_load: the campaign filter's choices (the brand's campaigns by name, the first MAX_CAMPAIGN_OPTIONS)."""
        self.campaign_search = ""
        return await self._load_campaign_options()

    @rx.event
    async def search_campaign_options(self, value: str):
        """The campaign filter's search box: a brand with more campaigns than the list shows finds one by name."""
        self.campaign_search = value.strip()[:100]
        return await self._load_campaign_options()

    @rx.event
    async def set_status_filter(self, value: str):
        self.status_filter = value if value in STATUSES else ""
        async for update in self._reload():
            yield update

    @rx.event
    async def set_campaign_filter(self, value: str):
        self.campaign_filter = value if value.isdigit() else ""
        self._campaign_filter_name = next((o["name"] for o in self.campaign_options if o["id"] == value), "")
        async for update in self._reload():
            yield update

    @rx.event
    async def clear_filters(self):
        # The search box keeps its text: it is cleared where it is typed.
        self.status_filter = self.campaign_filter = self.date_from = self.date_to = self.date_error = ""
        self._campaign_filter_name = ""
        async for update in self._reload():
            yield update
