"""/: the home page, linking to the surfaces this deployment serves."""

import reflex as rx

from backend.settings import get_settings
from primsell import routes
from primsell.pages.registry import home_page

SURFACE_CARDS = {
    "admin": ("Brand admin", "Create and run your NFT campaigns.", routes.ADMIN, "layout-dashboard"),
    "checkout": ("Campaign page", "See the demo campaign as a buyer does.", routes.campaign_page("aurora-founders"),
                 "shopping-bag"),
    "redeem": ("Redeem a reward", "See your NFT's perks, or scan a holder's code.", routes.REDEEM, "gift"),
    "kyc": ("KYC review", "Review identity checks.", routes.KYC, "scan-face"),
}


def _card(surface: str) -> rx.Component:
    title, text, href, icon = SURFACE_CARDS[surface]
    return rx.link(
        rx.card(
            rx.vstack(rx.icon(icon, size=24, color=rx.color("accent", 9)), rx.heading(title, size="4"),
                      rx.text(text, color_scheme="gray", size="2"), spacing="2"),
            width="100%",
            padding="1.5em",
        ),
        href=href,
        underline="none",
        id=f"home-{surface}",
        width="100%",
    )


@home_page(route=routes.HOME, title="Home")
def home() -> rx.Component:
    surfaces = get_settings().surfaces
    return rx.center(
        rx.vstack(
            rx.heading("Primsell", size="8"),
            rx.text("Brands run NFT campaigns: card checkout, minting, royalties and rewards.", color_scheme="gray"),
            rx.grid(*[_card(s) for s in surfaces], columns=rx.breakpoints(initial="1", sm="2"), spacing="4",
                    width="100%"),
            spacing="5",
            max_width="760px",
            width="100%",
            padding="3em 1em",
        ),
        width="100%",
    )
