"""/admin/campaigns/[campaign]/royalties: royalty owed vs paid per marketplace and over time (charts), the leakage
in % and in money, and the sales that left the most unpaid."""

import reflex as rx

from primsell import routes
from primsell.components.campaign_nav import campaign_nav
from primsell.pages.admin.campaign_sales import sale_status_badge
from primsell.pages.registry import admin_page
from primsell.state.admin.campaign_royalties import AdminCampaignRoyaltiesState


def _figure(label: str, value: rx.Var, test_id: str, color: str = "") -> rx.Component:
    props = {"color_scheme": color} if color else {}
    return rx.vstack(rx.text(label, size="1", color_scheme="gray"),
                     rx.text(value, size="5", weight="bold", data_testid=test_id, **props), spacing="0")


def currency_card(row: rx.Var) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(rx.heading(row["currency"], size="3"), rx.text(row["sales"], " sales (", row["verified"],
                                                                    " confirmed)", size="1", color_scheme="gray"),
                      align="baseline", spacing="2"),
            rx.flex(
                _figure("Owed", row["owed"], "royalty-owed"),
                _figure("Paid", row["paid"], "royalty-paid", "green"),
                _figure("Shortfall", row["shortfall"], "royalty-shortfall", "red"),
                _figure("Leakage", row["leakage"], "royalty-leakage", "red"),
                _figure("Shortfall in USD", row["shortfall_usd"], "royalty-shortfall-usd"),
                gap="2em",
                wrap="wrap",
            ),
            rx.text("Owed but not confirmed on the chain yet: ", row["unverified_owed"], "; royalty not computed yet "
                    "for ", row["pending"], " sales.", size="1", color_scheme="gray"),
            spacing="3",
            width="100%",
        ),
        width="100%",
        data_testid="royalty-currency",
    )


def marketplace_table() -> rx.Component:
    return rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(label) for label in
                                       ("Marketplace", "Sales", "Owed", "Paid", "Shortfall", "Leakage")])),
        rx.table.body(rx.foreach(AdminCampaignRoyaltiesState.marketplaces, lambda m: rx.table.row(
            rx.table.cell(m["label"]), rx.table.cell(m["sales"]), rx.table.cell(m["owed"]),
            rx.table.cell(m["paid"]), rx.table.cell(m["shortfall"]), rx.table.cell(m["leakage"]),
            data_testid="royalty-marketplace-row",
        ))),
        variant="surface",
        width="100%",
    )


def by_marketplace_chart() -> rx.Component:
    return rx.vstack(
        rx.text("Owed vs paid per marketplace (", AdminCampaignRoyaltiesState.main_currency, ", confirmed sales)",
                size="2", weight="medium"),
        rx.recharts.bar_chart(
            rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
            rx.recharts.x_axis(data_key="marketplace"),
            rx.recharts.y_axis(),
            rx.recharts.graphing_tooltip(),
            rx.recharts.legend(),
            rx.recharts.bar(data_key="owed", name="Owed", fill=rx.color("blue", 8), is_animation_active=False),
            rx.recharts.bar(data_key="paid", name="Paid", fill=rx.color("green", 8), is_animation_active=False),
            data=AdminCampaignRoyaltiesState.by_marketplace_chart,
            width="100%",
            height=260,
        ),
        width="100%",
        id="royalty-marketplace-chart",
    )


def over_time_chart() -> rx.Component:
    return rx.vstack(
        rx.text("Owed vs paid per day (", AdminCampaignRoyaltiesState.main_currency, ", confirmed sales)", size="2",
                weight="medium"),
        rx.recharts.line_chart(
            rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
            rx.recharts.x_axis(data_key="day"),
            rx.recharts.y_axis(),
            rx.recharts.graphing_tooltip(),
            rx.recharts.legend(),
            rx.recharts.line(data_key="owed", name="Owed", stroke=rx.color("blue", 9), is_animation_active=False),
            rx.recharts.line(data_key="paid", name="Paid", stroke=rx.color("green", 9), is_animation_active=False),
            data=AdminCampaignRoyaltiesState.over_time_chart,
            width="100%",
            height=260,
        ),
        width="100%",
        id="royalty-time-chart",
    )


def top_unpaid() -> rx.Component:
    return rx.vstack(
        rx.heading("Top unpaid sales", size="3", as_="h2"),
        rx.cond(
            AdminCampaignRoyaltiesState.top_unpaid.length() == 0,
            rx.text("No confirmed sale left its royalty unpaid.", size="2", color_scheme="gray", id="no-unpaid"),
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(label) for label in
                                               ("Sold", "Marketplace", "Token", "Price", "Owed", "Paid", "Short",
                                                "Status")])),
                rx.table.body(rx.foreach(AdminCampaignRoyaltiesState.top_unpaid, lambda r: rx.table.row(
                    rx.table.cell(r["sold_at"]), rx.table.cell(r["marketplace"]),
                    rx.table.cell(rx.link(r["token"], href=r["token_url"], is_external=True)),
                    rx.table.cell(r["price"]), rx.table.cell(r["owed"]), rx.table.cell(r["paid"]),
                    rx.table.cell(rx.text(r["shortfall"], color_scheme="red")),
                    rx.table.cell(sale_status_badge(r["status"])),
                    data_testid="unpaid-row",
                ))),
                variant="surface",
                width="100%",
            ),
        ),
        width="100%",
        spacing="2",
    )


def _content() -> rx.Component:
    return rx.vstack(
        rx.cond(
            AdminCampaignRoyaltiesState.currencies.length() == 0,
            rx.callout("No secondary sales yet: royalties appear here once the collection trades.", icon="info",
                       id="royalties-empty"),
            rx.vstack(
                rx.foreach(AdminCampaignRoyaltiesState.currencies, currency_card),
                rx.grid(by_marketplace_chart(), over_time_chart(), columns=rx.breakpoints(initial="1", md="2"),
                        spacing="4", width="100%"),
                marketplace_table(),
                top_unpaid(),
                spacing="4",
                width="100%",
            ),
        ),
        spacing="4",
        width="100%",
    )


@admin_page(route=routes.ADMIN_CAMPAIGN_ROYALTIES, title="Royalties",
            on_load=AdminCampaignRoyaltiesState.load_royalties)
def campaign_royalties() -> rx.Component:
    state = AdminCampaignRoyaltiesState
    return rx.vstack(
        rx.link(rx.hstack(rx.icon("arrow-left", size=14), rx.text("Campaigns"), align="center", spacing="1"),
                href=routes.ADMIN, size="2"),
        rx.cond(
            state.not_found,
            rx.callout("This campaign does not exist or belongs to another brand.", icon="circle-alert",
                       color_scheme="red", id="royalties-not-found"),
            rx.vstack(
                rx.hstack(
                    rx.vstack(rx.heading("Royalties", size="6"),
                              rx.text(state.campaign_name, color_scheme="gray", size="2"), spacing="1"),
                    rx.spacer(),
                    rx.icon_button(rx.cond(state.loading, rx.spinner(size="1"), rx.icon("refresh-cw", size=14)),
                                   on_click=state.load_royalties, disabled=state.loading, variant="ghost",
                                   aria_label="Refresh royalties"),
                    width="100%",
                    align="center",
                ),
                campaign_nav(state.campaign_id, "royalties"),
                rx.text("Owed comes from the collection's royaltyInfo at each sale's block; paid from what the "
                        "sale's transaction actually sent to the royalty receiver. Leakage = shortfall / owed over "
                        "the sales the chain confirmed.", size="1", color_scheme="gray"),
                rx.cond(state.load_error != "",
                        rx.callout(state.load_error, color_scheme="red", icon="triangle_alert")),
                rx.cond(~state.loaded, rx.hstack(rx.spinner(), rx.text("Loading…"), align="center"), _content()),
                spacing="4",
                width="100%",
            ),
        ),
        spacing="4",
        width="100%",
    )
