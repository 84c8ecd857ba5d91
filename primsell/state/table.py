"""PagedTableMixin: the state behind components.table.data_table (sort, search, page, loading), paged by the backend;
DateRangeMixin: a table's from/to day filters."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import reflex as rx

from primsell.state.session import ANONYMOUS, FORBIDDEN, SessionState


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
        it), else None. A tab signed out, or no longer allowed here, keeps no rows."""
        self.load_error = ""
        await self._fetch()
        self.loading = False
        session = await self.get_state(SessionState)
        if session.status in (ANONYMOUS, FORBIDDEN):
            self.rows, self.total = [], 0
        return self._to_sign_in() if session.status == ANONYMOUS else None

    async def _reload(self):  # type: ignore[no-untyped-def]
        """The first page again (a filter changed); the handlers run it with `async for update in self._reload()`."""
        self.page, self.loading = 1, True
        yield
        yield await self._refresh()

    @rx.event
    async def sort_by_column(self, key: str):
        if self.sort_by == key:
            self.descending = not self.descending
        else:
            self.sort_by, self.descending = key, False
        async for update in self._reload():
            yield update

    @rx.event
    async def set_search(self, value: str):
        self.search = value
        async for update in self._reload():
            yield update

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


def parse_day(value: str) -> date | None:
    """A date input's YYYY-MM-DD; anything else is None."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def day_range(date_from: str, date_to: str) -> tuple[datetime | None, datetime | None]:
    """Whole UTC days, both ends included: the backend's upper bound is exclusive, so it is the next midnight."""
    start, end = parse_day(date_from), parse_day(date_to)
    return (datetime.combine(start, datetime.min.time(), UTC) if start else None,
            datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC) if end else None)


class DateRangeMixin(rx.State, mixin=True):
    """A paged table's "from" and "to" day filters (date inputs, whole UTC days); a valid change reads the first page
    again (the table state's PagedTableMixin._reload), an invalid one says why in `date_error`."""

    date_from: str = ""
    date_to: str = ""
    date_error: str = ""

    def _day_range(self) -> tuple[datetime | None, datetime | None]:
        return day_range(self.date_from, self.date_to)

    def _check_dates(self) -> bool:
        start, end = parse_day(self.date_from), parse_day(self.date_to)
        if (self.date_from and start is None) or (self.date_to and end is None):
            self.date_error = "Enter dates as YYYY-MM-DD."
        elif start and end and start > end:
            self.date_error = "The start date is after the end date."
        else:
            self.date_error = ""
        return self.date_error == ""

    @rx.event
    async def set_date_from(self, value: str):
        self.date_from = value
        if self._check_dates():
            async for update in self._reload():  # type: ignore[attr-defined]
                yield update

    @rx.event
    async def set_date_to(self, value: str):
        self.date_to = value
        if self._check_dates():
            async for update in self._reload():  # type: ignore[attr-defined]
                yield update
