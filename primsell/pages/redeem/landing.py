"""/redeem: where a holder and the staff at the counter each start. A reward's code is not typed by the holder: it is
a short-lived QR code shown on My rewards (signed in, or with a connected wallet), which the staff scan or type on
the scanner page."""

import reflex as rx

from primsell import routes
from primsell.pages.registry import redeem_page


def _path(icon: str, title: str, text: str, button: str, href: str, element_id: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.icon(icon, size=24, color=rx.color("accent", 9)),
            rx.heading(title, size="4"),
            rx.text(text, color_scheme="gray", size="2"),
            rx.link(rx.button(button, size="3", width="100%"), href=href, id=element_id, width="100%"),
            spacing="3",
            width="100%",
        ),
        padding="1.5em",
        width="100%",
    )


@redeem_page(route=routes.REDEEM, title="Redeem a reward")
def redeem() -> rx.Component:
    return rx.vstack(
        rx.heading("Redeem a reward", size="6"),
        rx.text("The perks of an NFT are redeemed with a code that changes every minute, so a screenshot cannot be "
                "used twice.", color_scheme="gray", size="2"),
        rx.grid(
            _path("gift", "I hold an NFT", "Sign in, or connect the wallet that holds it, to see its perks and show "
                  "a perk's code at the counter.", "My rewards", routes.REDEEM_REWARDS, "my-rewards-link"),
            _path("scan-line", "Staff at the counter", "Scan the holder's code with this device's camera, or type "
                  "it. Sign in with your brand account.", "Scan a code", routes.REDEEM_SCAN, "scan-link"),
            columns=rx.breakpoints(initial="1", sm="2"),
            spacing="4",
            width="100%",
        ),
        spacing="4",
        width="100%",
    )
