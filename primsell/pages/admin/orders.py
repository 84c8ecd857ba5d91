"""/admin/orders: the brand's orders with filters (status, campaign, dates), search, sorting, paging and CSV export."""

import reflex as rx

from primsell import routes
from primsell.components.layout import no_access
from primsell.components.table import Column, csv_export_button, data_table, date_filter, filter_select
from primsell.components.timeline import state_badge, state_label
from primsell.pages.registry import admin_page
from primsell.state.admin.orders import STATUSES, AdminOrdersState
from primsell.state.session import SessionState

COLUMNS = [
    Column("created_at", "Placed", sortable=True),
    Column("campaign", "Campaign"),
    Column("status", "Status", sortable=True),
    Column("email", "Buyer", sortable=True),
    Column("quantity", "Qty", sortable=True),
    Column("amount", "Amount", sortable=True),
    Column("tx", "Mint transaction"),
]


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(row["created_at"], href=row["detail_url"], size="2", weight="medium",
                              data_testid="order-link")),
        rx.table.cell(rx.text(row["campaign"], size="2")),
        rx.table.cell(state_badge(row["status"])),
        rx.table.cell(rx.vstack(
            rx.text(row["email"], size="2"),
            rx.cond(row["custodial"] != "", rx.text("custodial wallet", size="1", color_scheme="gray"),
                    rx.code(row["wallet"], size="1", variant="ghost", title=row["wallet_full"])),
            spacing="0",
        )),
        rx.table.cell(rx.text(row["quantity"], size="2")),
        rx.table.cell(rx.vstack(
            rx.text(row["amount"], size="2"),
            rx.cond(row["refunded"] != "", rx.text("refunded ", row["refunded"], size="1", color_scheme="amber")),
            spacing="0",
        )),
        rx.table.cell(rx.cond(row["tx"] != "", rx.code(row["tx"], size="1", variant="ghost", title=row["tx_full"]),
                              rx.text("—", size="2", color_scheme="gray"))),
        data_testid="order-row",
    )


def filters() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            filter_select(
                AdminOrdersState.status_filter,
                AdminOrdersState.set_status_filter,
                "Filter by status",
                "All statuses",
                [rx.el.option(state_label(s), value=s) for s in STATUSES],
                "status-filter",
            ),
            filter_select(
                AdminOrdersState.campaign_filter,
                AdminOrdersState.set_campaign_filter,
                "Filter by campaign",
                "All campaigns",
                [rx.foreach(AdminOrdersState.campaign_options, lambda c: rx.el.option(c["name"], value=c["id"]))],
                "campaign-filter",
            ),
            rx.cond(
                AdminOrdersState.campaign_search_shown,
                rx.input(
                    placeholder="Find a campaign",
                    default_value=AdminOrdersState.campaign_search,
                    on_change=AdminOrdersState.search_campaign_options.debounce(300),
                    aria_label="Find a campaign",
                    id="campaign-search",
                    size="2",
                    width="170px",
                ),
            ),
            date_filter("From", AdminOrdersState.date_from, AdminOrdersState.set_date_from, "date-from"),
            date_filter("To", AdminOrdersState.date_to, AdminOrdersState.set_date_to, "date-to"),
            rx.cond(
                (AdminOrdersState.status_filter != "")
                | (AdminOrdersState.campaign_filter != "")
                | (AdminOrdersState.date_from != "")
                | (AdminOrdersState.date_to != ""),
                rx.button(
                    rx.icon("x", size=14),
                    "Clear filters",
                    variant="ghost",
                    size="1",
                    on_click=AdminOrdersState.clear_filters,
                ),
            ),
            spacing="3",
            align="center",
            wrap="wrap",
        ),
        rx.cond(
            AdminOrdersState.date_error != "",
            rx.text(AdminOrdersState.date_error, color_scheme="red", size="1", id="date-error"),
        ),
        rx.cond(
            AdminOrdersState.campaign_options_note != "",
            rx.text(AdminOrdersState.campaign_options_note, color_scheme="gray", size="1", id="campaign-options-note"),
        ),
        spacing="1",
        width="100%",
    )


def export_button() -> rx.Component:
    return csv_export_button(AdminOrdersState.export_url, AdminOrdersState.date_error, "export-csv")


def _content() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.vstack(
                rx.heading("Orders", size="6"),
                rx.text(SessionState.brand_name, color_scheme="gray", size="2"),
                spacing="1",
            ),
            rx.spacer(),
            export_button(),
            width="100%",
            align="center",
        ),
        filters(),
        data_table(
            AdminOrdersState,
            COLUMNS,
            _row,
            empty_message=rx.cond(AdminOrdersState.filtered, "No orders match these filters.", "No orders yet."),
            search_placeholder="Search email, wallet or tx hash",
        ),
        spacing="4",
        width="100%",
    )


@admin_page(
    route=routes.ADMIN_ORDERS,
    title="Orders",
    on_load=[AdminOrdersState.load_orders, AdminOrdersState.load_campaign_options],
)
def orders() -> rx.Component:
    return rx.cond(
        AdminOrdersState.forbidden,
        no_access("orders list"),
        rx.cond(SessionState.has_brand, _content(), rx.callout("You are not a member of any brand yet.", icon="info")),
    )
