"""Layout shells, one per surface: admin (sidebar, top bar, brand switcher), checkout (brand colours), redeem, KYC."""

from __future__ import annotations

import reflex as rx

from primsell import routes
from primsell.components.nav import admin_sidebar, brand_switcher, user_menu
from primsell.state.checkout.theme import CheckoutThemeState
from primsell.state.session import FORBIDDEN, SessionState

FONT = "Inter, system-ui, -apple-system, 'Segoe UI', sans-serif"


def footer() -> rx.Component:
    return rx.center(
        rx.text("Powered by Primsell", size="1", color_scheme="gray"), padding="2em", width="100%", as_="footer"
    )


def page_loading() -> rx.Component:
    return rx.center(rx.hstack(rx.spinner(), rx.text("Loading…"), align="center"), min_height="60vh", width="100%")


def no_access(surface_name: str) -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(
                rx.icon("shield-x", size=36, color=rx.color("red", 9)),
                rx.heading("You don't have access to this area", size="5", id="no-access"),
                rx.text(
                    "You are signed in as ", rx.text.strong(SessionState.email),
                    f", which cannot use the {surface_name}. Sign in with another account or go back home.",
                    align="center",
                ),
                rx.hstack(
                    rx.button("Sign out", on_click=SessionState.sign_out),
                    rx.link(rx.button("Home", variant="soft"), href=routes.HOME),
                ),
                align="center",
                spacing="3",
            ),
            max_width="480px",
            padding="2em",
        ),
        min_height="100vh",
        width="100%",
    )


def _guarded(surface: str, surface_name: str, shell: rx.Component) -> rx.Component:
    """Show the shell only to an allowed session; nothing of the page renders (or loads) otherwise."""
    return rx.cond(
        SessionState.signed_in & (SessionState.surface == surface),
        shell,
        rx.cond(SessionState.status == FORBIDDEN, no_access(surface_name), page_loading()),
    )


def _signed_in_page(title: rx.Component, surface: str, content: rx.Component) -> rx.Component:
    """The top bar (what this is, the user menu) over the page's content: the admin and KYC shells."""
    return rx.vstack(
        rx.hstack(
            title,
            rx.spacer(),
            user_menu(surface),
            width="100%",
            padding="0.75em 1.5em",
            align="center",
            border_bottom=f"1px solid {rx.color('gray', 5)}",
            as_="header",
        ),
        rx.box(content, padding="1.5em", width="100%", max_width="1100px", as_="main"),
        width="100%",
        spacing="0",
    )


def admin_shell(content: rx.Component) -> rx.Component:
    shell = rx.hstack(
        admin_sidebar(),
        _signed_in_page(brand_switcher(), "admin", content),
        spacing="0",
        width="100%",
        align="start",
    )
    return _guarded("admin", "admin dashboard", shell)


def kyc_shell(content: rx.Component) -> rx.Component:
    title = rx.hstack(rx.icon("scan-face", size=20), rx.heading("Primsell KYC review", size="4"), align="center")
    shell = _signed_in_page(title, "kyc", content)
    return _guarded("kyc", "KYC review area", shell)


def public_shell(content: rx.Component) -> rx.Component:
    """Plain shell for the home page and the sign-in pages."""
    return rx.vstack(
        rx.hstack(
            rx.link(
                rx.hstack(rx.icon("gem", size=20), rx.heading("Primsell", size="4"), align="center"),
                href=routes.HOME,
                underline="none",
            ),
            padding="1em 1.5em",
            width="100%",
            as_="header",
        ),
        rx.box(content, width="100%", as_="main"),
        footer(),
        min_height="100vh",
        width="100%",
        spacing="0",
        background=rx.color("gray", 2),
    )


def redeem_shell(content: rx.Component) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.hstack(rx.icon("gift", size=20, color=rx.color("accent", 9)), rx.heading("Redeem a reward", size="4"),
                      align="center"),
            padding="1em 1.5em",
            width="100%",
            as_="header",
            border_bottom=f"1px solid {rx.color('gray', 5)}",
        ),
        rx.center(rx.box(content, width="100%", max_width="520px", padding="2em 1em"), width="100%", as_="main"),
        footer(),
        min_height="100vh",
        width="100%",
        spacing="0",
    )


def checkout_shell(content: rx.Component) -> rx.Component:
    """The public campaign pages, themed in the brand's primary and accent colours."""
    return rx.vstack(
        rx.hstack(
            rx.cond(
                CheckoutThemeState.logo_url != "",
                rx.image(src=CheckoutThemeState.logo_url, alt="", height="36px", width="36px", border_radius="8px"),
            ),
            rx.heading(CheckoutThemeState.brand_name, size="4", color="white"),
            padding="0.9em 1.5em",
            width="100%",
            align="center",
            background=CheckoutThemeState.primary_color,
            as_="header",
        ),
        rx.center(rx.box(content, width="100%", max_width="1000px", padding="2em 1em"), width="100%", as_="main"),
        footer(),
        min_height="100vh",
        width="100%",
        spacing="0",
        style={
            "--brand-primary": CheckoutThemeState.primary_color,
            "--brand-accent": CheckoutThemeState.accent_color,
        },
    )
