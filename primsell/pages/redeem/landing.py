"""/redeem: enter a reward code; links to My rewards (holders) and the staff scanner."""

import reflex as rx

from primsell import routes
from primsell.components.forms import form_error, submit_button, text_field
from primsell.pages.registry import redeem_page
from primsell.state.redeem.landing import RedeemLandingState


@redeem_page(route=routes.REDEEM, title="Redeem a reward", on_load=RedeemLandingState.reset_form)
def redeem() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("Enter your reward code", size="6"),
                rx.text("Type the code from your reward, exactly as shown.", color_scheme="gray", size="2"),
                form_error(RedeemLandingState.form_error),
                text_field("Reward code", "code", RedeemLandingState.field_errors, placeholder="e.g. AURORA-7Q2K-91XZ",
                           auto_complete="off", max_length=40, style={"textTransform": "uppercase"}),
                submit_button("Redeem", RedeemLandingState.checking, "Checking…", width="100%", size="3"),
                rx.hstack(
                    rx.link(rx.button(rx.icon("gift", size=14), "My rewards", variant="soft"),
                            href=routes.REDEEM_REWARDS, id="my-rewards-link"),
                    rx.link(rx.button(rx.icon("scan-line", size=14), "Staff: scan a code", variant="ghost"),
                            href=routes.REDEEM_SCAN),
                    spacing="3",
                ),
                spacing="4",
                width="100%",
            ),
            on_submit=RedeemLandingState.submit_code,
            reset_on_submit=False,
            no_validate=True,
        ),
        padding="2em",
        width="100%",
    )
