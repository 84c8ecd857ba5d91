"""/admin: the brand's campaigns with status, sale phase, price and supply."""

import reflex as rx

from primsell import routes
from primsell.components.badges import phase_badge, status_badge
from primsell.components.table import Column, data_table
from primsell.pages.admin.decorator import admin_page
from primsell.state.admin.dashboard import AdminDashboardState as S
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
        value=S.status_filter,
        on_change=S.set_status_filter,
        aria_label="Filter by status",
        class_name="native-select",
    )


@admin_page(route=routes.ADMIN, title="Campaigns", on_load=S.load_campaigns)
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
        rx.cond(
            SessionState.has_brand,
            data_table(
                S,
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
