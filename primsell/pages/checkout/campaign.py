"""/c/[campaign_slug]: the public campaign page with the phase banner; buying opens with the payments issue."""

import reflex as rx

from primsell import routes
from primsell.components.layout import checkout_shell
from primsell.pages.registry import surface_page
from primsell.state.checkout.campaign import CheckoutCampaignState as S

checkout_page = surface_page("checkout", checkout_shell)

PHASE_STYLE = {
    "on_sale": ("circle-check", "green"),
    "not_started": ("clock", "blue"),
    "sold_out": ("ban", "purple"),
    "ended": ("circle-stop", "gray"),
    "paused": ("circle-pause", "amber"),
}


def phase_banner() -> rx.Component:
    return rx.match(
        S.phase,
        *[
            (phase, rx.callout(S.phase_message, icon=icon, color_scheme=color, size="2", width="100%", id="phase-banner"))
            for phase, (icon, color) in PHASE_STYLE.items()
        ],
        rx.fragment(),
    )


def not_found() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("search-x", size=40, color=rx.color("gray", 9)),
            rx.heading("We couldn't find that campaign", size="6", id="campaign-not-found"),
            rx.text("The link may be mistyped, or the campaign is not public yet.", color_scheme="gray"),
            rx.link("Go to the Primsell home page", href=routes.HOME),
            align="center",
            spacing="3",
        ),
        min_height="50vh",
    )


def _fact(label: str, value: rx.Component | rx.Var) -> rx.Component:
    return rx.vstack(rx.text(label, size="1", color_scheme="gray"), rx.text(value, size="3", weight="medium"), spacing="0")


def campaign_view() -> rx.Component:
    return rx.flex(
        rx.box(
            rx.cond(
                S.image_url != "",
                rx.image(src=S.image_url, alt=S.name, width="100%", border_radius="16px",
                         border="4px solid var(--brand-accent)"),
                rx.center(rx.icon("image", size=48), height="320px", border_radius="16px", background=rx.color("gray", 3)),
            ),
            flex="1",
            min_width="280px",
        ),
        rx.vstack(
            rx.text(S.brand_name, size="2", weight="bold", style={"color": "var(--brand-primary)"}),
            rx.heading(S.name, size="8", id="campaign-name"),
            phase_banner(),
            rx.text(S.description, size="3", color_scheme="gray"),
            rx.text(S.price, size="7", weight="bold", id="campaign-price", style={"color": "var(--brand-primary)"}),
            rx.grid(
                _fact("Supply left", rx.text(S.supply_left, " of ", S.supply_cap, id="supply-left")),
                _fact("Per wallet", rx.cond(S.per_wallet_cap > 0, S.per_wallet_cap.to_string(), "No limit")),
                _fact("Sale opens", rx.cond(S.starts_at != "", S.starts_at, "When published")),
                _fact("Sale ends", rx.cond(S.ends_at != "", S.ends_at, "No end date")),
                columns="2",
                spacing="4",
                width="100%",
            ),
            rx.button("Checkout opens soon", size="4", width="100%", disabled=True, id="buy-button",
                      style={"background": "var(--brand-accent)", "opacity": "0.6", "color": "white"}),
            rx.text("Card payments for this campaign open shortly.", size="1", color_scheme="gray"),
            flex="1",
            min_width="280px",
            spacing="4",
            align="start",
        ),
        gap="2.5em",
        wrap="wrap",
        width="100%",
    )


@checkout_page(route=routes.CAMPAIGN_PAGE, title="Campaign", on_load=S.load_campaign)
def campaign_page() -> rx.Component:
    return rx.cond(
        ~S.loaded,
        rx.center(rx.spinner(size="3"), min_height="50vh"),
        rx.cond(S.not_found, not_found(), campaign_view()),
    )
