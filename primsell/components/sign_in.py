"""The sign-in form shared by /admin/login and /kyc/login."""

from __future__ import annotations

import reflex as rx

from primsell.components.forms import form_error, submit_button, text_field
from primsell.state.sign_in import AuthSignInState


def sign_in_form(surface: str, title: str, subtitle: str) -> rx.Component:
    errors = AuthSignInState.field_errors
    return rx.center(
        rx.card(
            rx.form(
                rx.vstack(
                    rx.heading(title, size="6"),
                    rx.text(subtitle, color_scheme="gray", size="2"),
                    form_error(AuthSignInState.form_error),
                    text_field("Email", "email", errors, type="email", placeholder="you@example.com",
                               auto_complete="username"),
                    text_field("Password", "password", errors, type="password", auto_complete="current-password"),
                    submit_button("Sign in", AuthSignInState.signing_in, "Signing in…", width="100%", size="3"),
                    spacing="4",
                    width="100%",
                ),
                on_submit=lambda form: AuthSignInState.submit_sign_in(form, surface),
                reset_on_submit=False,
                no_validate=True,
            ),
            width="100%",
            max_width="400px",
            padding="2em",
        ),
        padding="3em 1em",
        width="100%",
    )
