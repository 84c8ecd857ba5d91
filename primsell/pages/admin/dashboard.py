"""/admin: the brand's campaigns with status, sale phase, price and supply."""

import reflex as rx

from primsell import routes
from primsell.components.badges import phase_badge, status_badge
from primsell.components.table import Column, data_table
from primsell.pages.registry import admin_page
from primsell.state.admin.dashboard import AdminDashboardRoyaltiesState, AdminDashboardState
from primsell.state.session import SessionState

COLUMNS = [
    Column("name", "Campaign", sortable=True),
    Column("status", "Status", sortable=True),
    Column("phase", "Sale phase"),
    Column("price_minor", "Price", sortable=True),
    Column("supply_cap", "Sold / supply", sortable=True),
    Column("actions", ""),
]


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.link(row["name"], href=row["edit_url"], weight="medium"),
                rx.text("/c/", row["slug"], size="1", color_scheme="gray"),
                spacing="0",
            )
        ),
        rx.table.cell(status_badge(row["status"])),
        rx.table.cell(phase_badge(row["phase"])),
        rx.table.cell(row["price"]),
        rx.table.cell(row["supply"]),
        rx.table.cell(
            rx.link(rx.hstack(rx.text("Public page"), rx.icon("external-link", size=12), align="center", spacing="1"),
                    href=row["public_url"], size="2", is_external=True),
        ),
        data_testid="campaign-row",
    )


def _status_filter() -> rx.Component:
    return rx.el.select(
        rx.el.option("All statuses", value=""),
        *[rx.el.option(label, value=value) for value, label in
          (("draft", "Draft"), ("published", "Published"), ("paused", "Paused"), ("archived", "Archived"))],
        value=AdminDashboardState.status_filter,
        on_change=AdminDashboardState.set_status_filter,
        aria_label="Filter by status",
        class_name="native-select",
    )


def royalties_card() -> rx.Component:
    """Brand-wide royalties across campaigns; each campaign's Royalties page has the detail."""
    return rx.card(
        rx.vstack(
            rx.hstack(rx.icon("coins", size=16), rx.heading("Royalties from secondary sales", size="3", as_="h2"),
                      align="center", spacing="2"),
            rx.cond(
                ~AdminDashboardRoyaltiesState.loaded,
                rx.hstack(rx.spinner(), rx.text("Loading…", size="2"), align="center"),
                rx.cond(
                    AdminDashboardRoyaltiesState.load_error != "",
                    rx.text(AdminDashboardRoyaltiesState.load_error, color_scheme="red", size="2"),
                    rx.cond(
                        AdminDashboardRoyaltiesState.currencies.length() == 0,
                        rx.text("No secondary sales yet.", size="2", color_scheme="gray", id="brand-royalties-empty"),
                        rx.vstack(
                            rx.text(AdminDashboardRoyaltiesState.sales, " sales across ",
                                    AdminDashboardRoyaltiesState.campaigns, " campaigns", size="1",
                                    color_scheme="gray"),
                            rx.foreach(AdminDashboardRoyaltiesState.currencies, lambda c: rx.hstack(
                                rx.text(c["currency"], weight="bold", size="2", min_width="60px"),
                                rx.text("owed ", c["owed"], size="2"),
                                rx.text("paid ", c["paid"], size="2", color_scheme="green"),
                                rx.text("short ", c["shortfall"], size="2", color_scheme="red"),
                                rx.text("leakage ", c["leakage"], size="2", color_scheme="red"),
                                spacing="4", wrap="wrap", data_testid="brand-royalty-row",
                            )),
                            spacing="2",
                        ),
                    ),
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="brand-royalties",
        on_mount=AdminDashboardRoyaltiesState.load_summary,
    )


@admin_page(route=routes.ADMIN, title="Campaigns", on_load=AdminDashboardState.load_campaigns)
def dashboard() -> rx.Component:
    new_button = rx.cond(
        SessionState.can_write_campaigns,
        rx.link(rx.button(rx.icon("plus", size=14), "New campaign"), href=routes.ADMIN_CAMPAIGN_NEW),
    )
    return rx.vstack(
        rx.hstack(
            rx.vstack(
                rx.heading("Campaigns", size="6"),
                rx.text(SessionState.brand_name, color_scheme="gray", size="2"),
                spacing="1",
            ),
            rx.spacer(),
            new_button,
            width="100%",
            align="center",
        ),
        rx.cond(SessionState.has_brand, royalties_card()),
        rx.cond(
            SessionState.has_brand,
            data_table(
                AdminDashboardState,
                COLUMNS,
                _row,
                empty_message="No campaigns yet. Create your first one.",
                search_placeholder="Search campaigns",
                toolbar=_status_filter(),
            ),
            rx.callout("You are not a member of any brand yet.", icon="info"),
        ),
        spacing="5",
        width="100%",
    )
