"""The data table: sortable column headers, a search box, pagination (page x of y), and EMPTY and LOADING states.

It renders whatever a PagedTableMixin state holds; the rows are paged by the backend, never all loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import reflex as rx


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    sortable: bool = False


def _header(column: Column, state: type[rx.State]) -> rx.Component:
    if not column.sortable:
        return rx.table.column_header_cell(column.label)
    icon = rx.cond(
        state.sort_by == column.key,
        rx.cond(state.descending, rx.icon("arrow-down", size=14), rx.icon("arrow-up", size=14)),
        rx.icon("chevrons-up-down", size=14, opacity="0.4"),
    )
    return rx.table.column_header_cell(
        rx.hstack(rx.text(column.label), icon, spacing="1", align="center"),
        on_click=state.sort_by_column(column.key),
        cursor="pointer",
        aria_sort=rx.cond(
            state.sort_by == column.key, rx.cond(state.descending, "descending", "ascending"), "none"
        ),
    )


def _message_row(columns: list[Column], content: rx.Component, test_id: str) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.center(content, padding="2em", width="100%"),
            col_span=len(columns),
        ),
        data_testid=test_id,
    )


def data_table(
    state: type[rx.State],
    columns: list[Column],
    render_row: Callable[[rx.Var], rx.Component],
    *,
    empty_message: str,
    search_placeholder: str = "Search",
    searchable: bool = True,
    toolbar: rx.Component | None = None,
) -> rx.Component:
    search = (
        rx.input(
            rx.input.slot(rx.icon("search", size=14)),
            placeholder=search_placeholder,
            default_value=state.search,
            on_change=state.set_search.debounce(300),
            aria_label=search_placeholder,
            width="260px",
            name="table-search",
        )
        if searchable
        else rx.fragment()
    )
    body = rx.cond(
        state.loading,
        _message_row(columns, rx.hstack(rx.spinner(), rx.text("Loading…"), align="center"), "table-loading"),
        rx.cond(
            state.rows.length() == 0,
            _message_row(columns, rx.text(empty_message, color_scheme="gray"), "table-empty"),
            rx.foreach(state.rows, render_row),
        ),
    )
    return rx.vstack(
        rx.hstack(search, rx.spacer(), toolbar or rx.fragment(), width="100%", align="center"),
        rx.cond(state.load_error != "", rx.callout(state.load_error, color_scheme="red", icon="triangle_alert")),
        rx.table.root(
            rx.table.header(rx.table.row(*[_header(c, state) for c in columns])),
            rx.table.body(body),
            variant="surface",
            width="100%",
        ),
        rx.hstack(
            rx.text(state.total.to_string() + " total", size="2", color_scheme="gray"),
            rx.spacer(),
            rx.button(
                rx.icon("chevron-left", size=14), "Previous",
                variant="soft", size="1", disabled=~state.has_previous, on_click=state.previous_page,
            ),
            rx.text("Page ", state.page, " of ", state.page_count, size="2", data_testid="table-page"),
            rx.button(
                "Next", rx.icon("chevron-right", size=14),
                variant="soft", size="1", disabled=~state.has_next, on_click=state.next_page,
            ),
            width="100%",
            align="center",
            spacing="3",
        ),
        width="100%",
        spacing="3",
    )


# -- a table's filters and export (the orders and sales pages) ------------------------------------------------------

def filter_select(value: rx.Var, on_change, label: str, first: str, options, test_id: str) -> rx.Component:  # type: ignore[no-untyped-def]
    """A native select whose first option ("All ...", value "") means no filter."""
    return rx.el.select(rx.el.option(first, value=""), *options, value=value, on_change=on_change,
                        aria_label=label, class_name="native-select", id=test_id)


def date_filter(label: str, value: rx.Var, on_change, test_id: str) -> rx.Component:  # type: ignore[no-untyped-def]
    """One end of a DateRangeMixin's range: a labelled date input."""
    return rx.hstack(
        rx.el.label(rx.text(label, size="1", color_scheme="gray"), html_for=test_id),
        rx.input(type="date", value=value, on_change=on_change, id=test_id, size="2", width="150px"),
        align="center",
        spacing="1",
    )


def csv_export_button(url: rx.Var, date_error: rx.Var, test_id: str) -> rx.Component:
    """A plain download link (the browser sends the session cookie); disabled while the dates are invalid."""
    label = [rx.icon("download", size=14), "Export CSV"]
    return rx.cond(
        (url != "") & (date_error == ""),
        # reload_document: the browser itself fetches the link (and saves the attachment), not the client router.
        rx.link(rx.button(*label, variant="soft"), href=url, download="", reload_document=True, id=test_id),
        rx.button(*label, disabled=True, variant="soft", id=test_id),
    )
