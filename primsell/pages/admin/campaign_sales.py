"""/admin/campaigns/[campaign]/sales: the campaign's secondary sales with their royalty owed / paid / shortfall,
filters (marketplace, status, dates), search by address or tx hash, paging and CSV export."""

import reflex as rx

from primsell import routes
from primsell.components.campaign_nav import campaign_nav
from primsell.components.table import Column, csv_export_button, data_table, date_filter, filter_select
from primsell.pages.admin.campaign_chain import hash_link
from primsell.pages.registry import admin_page
from primsell.state.admin.campaign_sales import STATUS_LABELS, STATUSES, AdminCampaignSalesState

COLUMNS = [
    Column("sold_at", "Sold"),
    Column("marketplace", "Marketplace"),
    Column("token", "Token"),
    Column("price", "Price"),
    Column("parties", "Seller → buyer"),
    Column("royalty", "Royalty owed / paid"),
    Column("status", "Status"),
    Column("sources", "Sources"),
]
SALE_STATUS_COLORS = {"confirmed": "green", "unverified": "amber", "reverted": "gray"}


def sale_status_badge(status: rx.Var) -> rx.Component:
    cases = [(key, rx.badge(STATUS_LABELS[key], color_scheme=color, variant="soft"))
             for key, color in SALE_STATUS_COLORS.items()]
    return rx.match(status, *cases, rx.badge(status, color_scheme="gray", variant="soft"))


def token_cell(row: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.cond(row["image"] != "", rx.image(src=row["image"], width="28px", height="28px", border_radius="4px",
                                             alt="")),
        rx.link(row["token"], href=row["token_url"], is_external=True, size="2", data_testid="sale-token"),
        rx.cond(row["quantity"] != "", rx.text("qty ", row["quantity"], size="1", color_scheme="gray")),
        spacing="2",
        align="center",
    )


def royalty_cell(row: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.text(rx.cond(row["owed"] != "", "owed " + row["owed"], "owed: not computed yet"), size="2"),
        rx.cond(row["paid"] != "",
                rx.text("paid ", row["paid"], size="1", color_scheme=rx.cond(row["short"] != "", "red", "green")),
                rx.text("paid: unknown until the chain confirms", size="1", color_scheme="gray")),
        rx.cond(row["short"] != "", rx.text("short ", row["shortfall"], size="1", color_scheme="red",
                                            data_testid="sale-shortfall")),
        spacing="0",
    )


def sale_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.vstack(rx.text(row["sold_at"], size="2"),
                                hash_link(row["tx_full"], row["tx_url"], row["tx"]), spacing="1")),
        rx.table.cell(rx.text(row["marketplace"], size="2", data_testid="sale-marketplace")),
        rx.table.cell(token_cell(row)),
        rx.table.cell(rx.vstack(
            rx.text(row["price"], size="2", weight="medium", data_testid="sale-price"),
            rx.cond(row["value_usd"] != "", rx.text(row["value_usd"], size="1", color_scheme="gray")),
            spacing="0",
        )),
        rx.table.cell(rx.vstack(hash_link(row["seller_full"], row["seller_url"], row["seller"]),
                                hash_link(row["buyer_full"], row["buyer_url"], row["buyer"]), spacing="1")),
        rx.table.cell(royalty_cell(row)),
        rx.table.cell(sale_status_badge(row["status"])),
        rx.table.cell(rx.text(row["sources"], size="1", color_scheme="gray", data_testid="sale-sources")),
        data_testid="sale-row",
    )


def filters() -> rx.Component:
    state = AdminCampaignSalesState
    return rx.vstack(
        rx.hstack(
            filter_select(state.marketplace_filter, state.set_marketplace_filter, "Filter by marketplace",
                    "All marketplaces", [rx.foreach(state.marketplace_options, lambda m: rx.el.option(m, value=m))],
                    "marketplace-filter"),
            filter_select(state.status_filter, state.set_status_filter, "Filter by status", "All statuses",
                    [rx.el.option(STATUS_LABELS[s], value=s) for s in STATUSES], "sale-status-filter"),
            date_filter("From", state.date_from, state.set_date_from, "sales-date-from"),
            date_filter("To", state.date_to, state.set_date_to, "sales-date-to"),
            rx.cond(
                (state.marketplace_filter != "") | (state.status_filter != "") | (state.date_from != "")
                | (state.date_to != ""),
                rx.button(rx.icon("x", size=14), "Clear filters", variant="ghost", size="1",
                          on_click=state.clear_filters),
            ),
            spacing="3",
            align="center",
            wrap="wrap",
        ),
        rx.cond(state.date_error != "", rx.text(state.date_error, color_scheme="red", size="1",
                                                id="sales-date-error")),
        spacing="1",
        width="100%",
    )


def export_link() -> rx.Component:
    return csv_export_button(AdminCampaignSalesState.export_url, AdminCampaignSalesState.date_error,
                             "sales-export-csv")


def _content() -> rx.Component:
    state = AdminCampaignSalesState
    return rx.vstack(
        rx.link(rx.hstack(rx.icon("arrow-left", size=14), rx.text("Campaigns"), align="center", spacing="1"),
                href=routes.ADMIN, size="2"),
        rx.hstack(
            rx.vstack(rx.heading("Sales", size="6"),
                      rx.text(state.campaign_name, color_scheme="gray", size="2"), spacing="1"),
            rx.spacer(),
            export_link(),
            width="100%",
            align="center",
        ),
        campaign_nav(state.campaign_id, "sales"),
        rx.text("Secondary sales found on the chain and on OpenSea and Rarible. Unverified: only a marketplace "
                "reported it so far, so what was paid to you is not known yet.", size="1", color_scheme="gray"),
        filters(),
        data_table(
            state,
            COLUMNS,
            sale_row,
            empty_message=rx.cond(state.filtered, "No sales match these filters.", "No secondary sales yet."),
            search_placeholder="Search address or tx hash (0x…)",
        ),
        spacing="4",
        width="100%",
    )


@admin_page(route=routes.ADMIN_CAMPAIGN_SALES, title="Sales", on_load=AdminCampaignSalesState.load_sales)
def campaign_sales() -> rx.Component:
    return rx.cond(
        AdminCampaignSalesState.not_found,
        rx.callout("This campaign does not exist or belongs to another brand.", icon="circle-alert",
                   color_scheme="red", id="sales-not-found"),
        _content(),
    )
