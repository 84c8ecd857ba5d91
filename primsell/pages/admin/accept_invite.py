"""/admin/accept-invite?token=...: the link from an invitation email. An account without a password chooses one; an
account with a password signs in with it to accept."""

import reflex as rx

from primsell import routes
from primsell.components.forms import form_error, submit_button, text_field
from primsell.pages.registry import admin_public_page
from primsell.state.admin.accept_invite import AdminAcceptInviteState


def _choose_password() -> rx.Component:
    e = AdminAcceptInviteState.field_errors
    return rx.vstack(
        rx.text(
            "Choose a password for ",
            rx.text.strong(AdminAcceptInviteState.email),
            " to finish setting up your account.",
            color_scheme="gray",
            size="2",
        ),
        text_field("Your name (optional)", "display_name", e, auto_complete="name"),
        text_field("Password", "password", e, type="password", auto_complete="new-password"),
        text_field("Repeat password", "confirm", e, type="password", auto_complete="new-password"),
        submit_button("Join", AdminAcceptInviteState.saving, "Joining…", width="100%", id="accept-submit"),
        spacing="4",
        width="100%",
    )


def _sign_in_to_accept() -> rx.Component:
    return rx.vstack(
        rx.text(
            "Sign in as ",
            rx.text.strong(AdminAcceptInviteState.email, id="invite-email"),
            " to accept.",
            color_scheme="gray",
            size="2",
        ),
        text_field(
            "Password",
            "password",
            AdminAcceptInviteState.field_errors,
            type="password",
            auto_complete="current-password",
        ),
        submit_button(
            "Sign in and join", AdminAcceptInviteState.saving, "Signing in…", width="100%", id="accept-submit"
        ),
        spacing="4",
        width="100%",
    )


@admin_public_page(
    route=routes.ADMIN_ACCEPT_INVITE, title="Accept invitation", on_load=AdminAcceptInviteState.check_token
)
def accept_invite() -> rx.Component:
    return rx.center(
        rx.card(
            rx.cond(
                ~AdminAcceptInviteState.loaded,
                rx.hstack(rx.spinner(), rx.text("Checking your invitation…")),
                rx.cond(
                    AdminAcceptInviteState.valid,
                    rx.form(
                        rx.vstack(
                            rx.heading(
                                "Join ",
                                AdminAcceptInviteState.brand_name,
                                " on Primsell",
                                size="6",
                                id="invite-heading",
                            ),
                            rx.text(
                                "You were invited as ", rx.text.strong(AdminAcceptInviteState.role_label), ".", size="2"
                            ),
                            form_error(AdminAcceptInviteState.form_error),
                            rx.cond(AdminAcceptInviteState.needs_password, _choose_password(), _sign_in_to_accept()),
                            spacing="4",
                            width="100%",
                        ),
                        on_submit=AdminAcceptInviteState.accept,
                        reset_on_submit=False,
                        no_validate=True,
                    ),
                    rx.vstack(
                        rx.heading("This invitation cannot be used", size="5", id="invite-invalid"),
                        rx.text(AdminAcceptInviteState.problem),
                        rx.link("Go to sign in", href=routes.ADMIN_LOGIN),
                    ),
                ),
            ),
            max_width="420px",
            width="100%",
            padding="2em",
        ),
        padding="3em 1em",
        width="100%",
    )
