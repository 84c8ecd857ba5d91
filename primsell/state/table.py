"""PagedTableMixin: the state behind components.table.data_table (sort, search, page, loading), paged by the backend."""

from __future__ import annotations

import math

import reflex as rx

from primsell.state.session import ANONYMOUS, SessionState


class PagedTableMixin(rx.State, mixin=True):
    """Rows are display-ready strings; the concrete state's `_fetch` calls ONE backend list service."""

    rows: list[dict[str, str]] = []
    sort_by: str = "created_at"
    descending: bool = True
    search: str = ""
    page: int = 1
    page_size: int = 10
    total: int = 0
    loading: bool = True
    load_error: str = ""

    @rx.var
    def page_count(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))

    @rx.var
    def has_previous(self) -> bool:
        return self.page > 1

    @rx.var
    def has_next(self) -> bool:
        return self.page < max(1, math.ceil(self.total / self.page_size))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    async def _fetch(self) -> None:  # pragma: no cover - every table state overrides it
        raise NotImplementedError

    def _to_sign_in(self):  # type: ignore[no-untyped-def]
        """Where a signed-out tab goes: the surface's sign-in page (a page outside the signed-in surfaces says its
        own)."""
        return SessionState.to_sign_in

    async def _refresh(self):  # type: ignore[no-untyped-def]
        """Fetch the current page; returns `_to_sign_in()` when `_fetch` found the tab signed out (the handlers yield
        it), else None."""
        self.load_error = ""
        await self._fetch()
        self.loading = False
        session = await self.get_state(SessionState)
        return self._to_sign_in() if session.status == ANONYMOUS else None

    @rx.event
    async def sort_by_column(self, key: str):
        if self.sort_by == key:
            self.descending = not self.descending
        else:
            self.sort_by, self.descending = key, False
        self.page = 1
        self.loading = True
        yield
        yield await self._refresh()

    @rx.event
    async def set_search(self, value: str):
        self.search = value
        self.page = 1
        self.loading = True
        yield
        yield await self._refresh()

    @rx.event
    async def next_page(self):
        if self.page < self.page_count:
            self.page += 1
            self.loading = True
            yield
            yield await self._refresh()

    @rx.event
    async def previous_page(self):
        if self.page > 1:
            self.page -= 1
            self.loading = True
            yield
            yield await self._refresh()
