"""The campaign page's Orders section (included by campaign_form.py): net revenue per currency, orders by status,
and minted vs supply as a bar chart, with a link to the campaign's orders."""

import reflex as rx

from primsell.components.timeline import state_badge
from primsell.state.admin.campaign_orders import AdminCampaignOrdersState

# (colour, shade) per bar, in chart_rows' order.
BAR_COLORS = {"Minted": ("green", 9), "Held": ("amber", 9), "Available": ("gray", 6)}


def _revenue() -> rx.Component:
    return rx.vstack(
        rx.text("Net revenue", size="1", color_scheme="gray"),
        rx.cond(
            AdminCampaignOrdersState.revenue.length() == 0,
            rx.text("No paid orders yet", size="3", color_scheme="gray", id="campaign-revenue"),
            rx.vstack(
                rx.foreach(AdminCampaignOrdersState.revenue, lambda r: rx.hstack(
                    rx.text(r["net"], size="5", weight="bold"),
                    rx.cond(r["refunded"] != "", rx.text("after ", r["refunded"], " refunded", size="1",
                                                         color_scheme="gray")),
                    align="baseline", spacing="2",
                )),
                spacing="0",
                id="campaign-revenue",
            ),
        ),
        spacing="1",
        min_width="200px",
    )


def _by_status() -> rx.Component:
    return rx.vstack(
        rx.text("Orders by status (", AdminCampaignOrdersState.order_count, ")", size="1", color_scheme="gray"),
        rx.cond(
            AdminCampaignOrdersState.by_status.length() == 0,
            rx.text("No orders yet", size="2", color_scheme="gray"),
            rx.hstack(
                rx.foreach(
                    AdminCampaignOrdersState.by_status,
                    lambda s: rx.hstack(
                        state_badge(s["status"]),
                        rx.text(s["count"], size="2", weight="bold"),
                        spacing="1",
                        align="center",
                        data_testid="status-count",
                    ),
                ),
                spacing="3",
                wrap="wrap",
            ),
        ),
        spacing="2",
        flex="1",
    )


def supply_chart() -> rx.Component:
    return rx.vstack(
        rx.text(
            "Minted vs supply: ",
            rx.text.strong(AdminCampaignOrdersState.minted),
            " of ",
            AdminCampaignOrdersState.supply_cap,
            size="2",
            id="campaign-minted",
        ),
        rx.recharts.bar_chart(
            rx.recharts.cartesian_grid(stroke_dasharray="3 3", horizontal=False),
            rx.recharts.x_axis(type_="number", allow_decimals=False, domain=[0, AdminCampaignOrdersState.supply_cap]),
            rx.recharts.y_axis(data_key="name", type_="category", width=80),
            rx.recharts.graphing_tooltip(),
            rx.recharts.bar(
                *[rx.recharts.cell(fill=rx.color(color, shade)) for color, shade in BAR_COLORS.values()],
                data_key="tokens",
                name="Tokens",
                is_animation_active=False,
            ),
            data=AdminCampaignOrdersState.chart,
            layout="vertical",
            width="100%",
            height=150,
        ),
        rx.text(
            "Held: paid or awaiting payment, not minted yet. Available: still for sale.", size="1", color_scheme="gray"
        ),
        width="100%",
        spacing="2",
        id="supply-chart",
    )


def orders_section() -> rx.Component:
    """Mounted once the campaign is loaded; it reads its own data."""
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading("Orders", size="3", as_="h2"),
                rx.spacer(),
                rx.icon_button(
                    rx.cond(AdminCampaignOrdersState.loading, rx.spinner(size="1"), rx.icon("refresh-cw", size=14)),
                    on_click=AdminCampaignOrdersState.load_dashboard,
                    disabled=AdminCampaignOrdersState.loading,
                    variant="ghost",
                    size="1",
                    aria_label="Refresh orders",
                ),
                rx.link(
                    rx.button("View orders", rx.icon("arrow-right", size=14), variant="soft", size="1"),
                    href=AdminCampaignOrdersState.orders_url,
                    id="campaign-orders-link",
                ),
                width="100%",
                align="center",
                spacing="3",
            ),
            rx.cond(
                ~AdminCampaignOrdersState.loaded,
                rx.hstack(rx.spinner(), rx.text("Loading…", size="2"), align="center"),
                rx.cond(
                    AdminCampaignOrdersState.section_error != "",
                    rx.callout(
                        AdminCampaignOrdersState.section_error, icon="circle-alert", color_scheme="red", width="100%"
                    ),
                    rx.vstack(
                        rx.flex(_revenue(), _by_status(), gap="2em", wrap="wrap", width="100%"),
                        supply_chart(),
                        spacing="4",
                        width="100%",
                    ),
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="campaign-orders",
        on_mount=AdminCampaignOrdersState.load_dashboard,
    )
