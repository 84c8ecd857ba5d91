"""The KYC review queue: open cases oldest first (age and SLA colour, who holds each), filtered by status, country
and flag, searched by case number, email, name or document number, paged by the backend."""

from __future__ import annotations

import asyncio

import reflex as rx

from backend.errors import DomainError, Forbidden, NotAuthenticated
from backend.kyc.review import FLAGS, QueueRow, list_cases
from primsell import routes
from primsell.state.session import current_actor
from primsell.state.table import PagedTableMixin


def queue_rows(items: list[QueueRow]) -> list[dict[str, str]]:
    return [{
        "id": str(r.id), "url": routes.kyc_case(r.id), "person": r.legal_name, "email": r.email,
        "country": r.country, "state": r.state, "state_label": r.state_label, "flags": ", ".join(
            FLAGS.get(f, f) for f in r.flags), "age": r.age, "sla": r.sla, "held_by": r.held_by,
    } for r in items]


class KycQueueState(PagedTableMixin, rx.State):
    page_size: int = 20
    status_filter: str = "open"
    country_filter: str = ""
    flag_filter: str = ""
    forbidden: bool = False

    async def _fetch(self) -> None:
        actor = await current_actor(self)
        if actor is None:
            self.rows, self.total = [], 0
            return
        try:
            page = await asyncio.to_thread(list_cases, actor, status=self.status_filter, country=self.country_filter,
                                           flag=self.flag_filter, search=self.search, limit=self.page_size,
                                           offset=self.offset)
        except (Forbidden, NotAuthenticated):
            self.forbidden, self.rows, self.total = True, [], 0
            return
        except DomainError as exc:
            self.rows, self.total, self.load_error = [], 0, exc.message
            return
        self.forbidden = False
        self.rows, self.total = queue_rows(page.items), page.total

    @rx.event
    async def load_queue(self):
        self.loading = True
        yield
        await self._refresh()

    @rx.event
    async def set_status_filter(self, value: str):
        self.status_filter = value
        async for update in self._reload():
            yield update

    @rx.event
    async def set_country_filter(self, value: str):
        self.country_filter = value
        async for update in self._reload():
            yield update

    @rx.event
    async def set_flag_filter(self, value: str):
        self.flag_filter = value
        async for update in self._reload():
            yield update
