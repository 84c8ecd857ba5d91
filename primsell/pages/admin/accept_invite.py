"""/admin/accept-invite?token=...: set a password for an invited account."""

import reflex as rx

from primsell import routes
from primsell.components.forms import form_error, submit_button, text_field
from primsell.pages.admin.decorator import admin_public_page
from primsell.state.admin.accept_invite import AdminAcceptInviteState as S


@admin_public_page(route=routes.ADMIN_ACCEPT_INVITE, title="Accept invitation", on_load=S.check_token)
def accept_invite() -> rx.Component:
    e = S.field_errors
    return rx.center(
        rx.card(
            rx.cond(
                S.has_token,
                rx.form(
                    rx.vstack(
                        rx.heading("Join your team on Primsell", size="6"),
                        rx.text("Choose a password to finish setting up your account.", color_scheme="gray", size="2"),
                        form_error(S.form_error),
                        text_field("Your name (optional)", "display_name", e, auto_complete="name"),
                        text_field("Password", "password", e, type="password", auto_complete="new-password"),
                        text_field("Repeat password", "confirm", e, type="password", auto_complete="new-password"),
                        submit_button("Set password", S.saving, width="100%"),
                        spacing="4",
                        width="100%",
                    ),
                    on_submit=S.accept,
                    reset_on_submit=False,
                    no_validate=True,
                ),
                rx.vstack(
                    rx.heading("This invitation link is incomplete", size="5"),
                    rx.text("Open the full link you were sent, or ask your brand admin for a new one."),
                    rx.link("Go to sign in", href=routes.ADMIN_LOGIN),
                ),
            ),
            max_width="420px",
            width="100%",
            padding="2em",
        ),
        padding="3em 1em",
        width="100%",
    )
