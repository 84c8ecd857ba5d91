"""/admin/brand: the brand's name, logo and colours with a live preview swatch."""

import reflex as rx

from primsell import routes
from primsell.components.forms import form_error, submit_button, text_field
from primsell.pages.registry import admin_page
from primsell.state.admin.brand import AdminBrandState
from primsell.state.session import SessionState


def preview() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text("Preview", size="1", color_scheme="gray"),
            rx.hstack(
                rx.cond(
                    AdminBrandState.logo_url != "",
                    rx.image(src=AdminBrandState.logo_url, alt="", width="32px", height="32px", border_radius="6px"),
                ),
                rx.text(AdminBrandState.name, weight="bold", color="white"),
                background=AdminBrandState.primary_color,
                padding="0.75em 1em",
                border_radius="8px",
                width="100%",
                align="center",
            ),
            rx.hstack(
                rx.box(
                    width="48px",
                    height="48px",
                    border_radius="8px",
                    background=AdminBrandState.primary_color,
                    id="swatch-primary",
                ),
                rx.box(
                    width="48px",
                    height="48px",
                    border_radius="8px",
                    background=AdminBrandState.accent_color,
                    id="swatch-accent",
                ),
                rx.button(
                    "Buy button", style={"background": AdminBrandState.accent_color, "color": "white"}, tab_index=-1
                ),
                align="center",
                spacing="3",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


@admin_page(route=routes.ADMIN_BRAND, title="Brand settings", on_load=AdminBrandState.load_brand)
def brand_settings() -> rx.Component:
    e = AdminBrandState.field_errors
    editable = SessionState.can_update_brand
    return rx.vstack(
        rx.heading("Brand settings", size="6"),
        form_error(AdminBrandState.form_error),
        rx.cond(
            AdminBrandState.loaded,
            rx.flex(
                rx.form(
                    rx.vstack(
                        text_field(
                            "Brand name",
                            "name",
                            e,
                            value=AdminBrandState.name,
                            on_change=AdminBrandState.set_name,
                            disabled=~editable,
                        ),
                        text_field(
                            "Logo URL",
                            "logo_url",
                            e,
                            value=AdminBrandState.logo_url,
                            on_change=AdminBrandState.set_logo_url,
                            disabled=~editable,
                        ),
                        text_field(
                            "Primary colour",
                            "primary_color",
                            e,
                            value=AdminBrandState.primary_color,
                            on_change=AdminBrandState.set_primary_color,
                            placeholder="#7C3AED",
                            disabled=~editable,
                        ),
                        text_field(
                            "Accent colour",
                            "accent_color",
                            e,
                            value=AdminBrandState.accent_color,
                            on_change=AdminBrandState.set_accent_color,
                            placeholder="#F59E0B",
                            disabled=~editable,
                        ),
                        rx.cond(editable, submit_button("Save brand", AdminBrandState.saving)),
                        spacing="4",
                        width="100%",
                    ),
                    on_submit=AdminBrandState.save_brand,
                    reset_on_submit=False,
                    flex="1",
                ),
                rx.box(preview(), flex="1", min_width="260px"),
                gap="2em",
                wrap="wrap",
                width="100%",
            ),
            rx.spinner(),
        ),
        spacing="4",
        width="100%",
    )
