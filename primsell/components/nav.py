"""Navigation: the admin sidebar links, the brand switcher and the signed-in user's menu."""

from __future__ import annotations

import reflex as rx

from primsell import routes
from primsell.state.session import SessionState

ADMIN_LINKS = (
    ("Campaigns", routes.ADMIN, "layout-dashboard"),
    ("New campaign", routes.ADMIN_CAMPAIGN_NEW, "circle-plus"),
    ("Brand settings", routes.ADMIN_BRAND, "palette"),
    ("Members", routes.ADMIN_MEMBERS, "users"),
)


def nav_link(label: str, href: str, icon: str) -> rx.Component:
    path = SessionState.router.url.path
    active = (path == href) | (path == href + "/")
    return rx.link(
        rx.hstack(rx.icon(icon, size=16), rx.text(label, size="2"), align="center", spacing="2"),
        href=href,
        underline="none",
        padding="0.5em 0.75em",
        border_radius="6px",
        width="100%",
        color=rx.cond(active, rx.color("accent", 11), rx.color("gray", 12)),
        background=rx.cond(active, rx.color("accent", 3), "transparent"),
        _hover={"background": rx.color("accent", 4)},
    )


def admin_sidebar() -> rx.Component:
    return rx.vstack(
        rx.hstack(rx.icon("gem", size=20, color=rx.color("accent", 9)), rx.heading("Primsell", size="4"),
                  align="center"),
        rx.text("Brand admin", size="1", color_scheme="gray"),
        rx.divider(),
        *[nav_link(*link) for link in ADMIN_LINKS],
        # Every admin role with a brand holds ORDER_READ there (the page and the backend check it again).
        rx.cond(SessionState.has_brand, nav_link("Orders", routes.ADMIN_ORDERS, "receipt")),
        rx.cond(
            SessionState.can_read_operations,
            nav_link("Operations", routes.ADMIN_OPERATIONS, "activity"),
        ),
        rx.cond(
            SessionState.can_read_operations,
            nav_link("Reconciliation", routes.ADMIN_RECONCILIATION, "scale"),
        ),
        rx.cond(SessionState.is_platform_admin, nav_link("Chain", routes.ADMIN_CHAIN, "link")),
        width="220px",
        min_width="220px",
        height="100vh",
        position="sticky",
        top="0",
        padding="1.25em",
        spacing="2",
        border_right=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 2),
        as_="nav",
        aria_label="Admin navigation",
    )


def brand_switcher() -> rx.Component:
    many = (SessionState.brands.length() > 1) | SessionState.is_platform_admin
    return rx.cond(
        SessionState.has_brand,
        rx.cond(
            many,
            rx.el.select(
                rx.foreach(SessionState.brands, lambda b: rx.el.option(b["name"], value=b["id"])),
                value=SessionState.brand_id.to_string(),
                on_change=SessionState.switch_brand,
                aria_label="Brand",
                class_name="native-select",
                id="brand-switcher",
            ),
            rx.badge(SessionState.brand_name, variant="surface", size="2"),
        ),
    )


def user_menu(login_surface: str) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.text(SessionState.email, size="2", weight="medium", id="signed-in-email"),
            rx.text(SessionState.role_label, size="1", color_scheme="gray"),
            spacing="0",
            align="end",
        ),
        rx.button(rx.icon("log-out", size=14), "Sign out", variant="soft", size="2", on_click=SessionState.sign_out),
        align="center",
        spacing="3",
    )
