"""Reflex configuration: one app, `primsell`. Which surfaces it serves comes from PRIMSELL_SURFACES (backend/settings.py)."""

import os

import reflex as rx

config = rx.Config(
    app_name="primsell",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    # Several web processes share UI state through Redis when REDIS_URL is set; otherwise it stays in-process.
    redis_url=os.environ.get("REDIS_URL") or None,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(appearance="light", accent_color="violet", gray_color="slate", radius="medium")
        ),
    ],
    # Primsell serves no sitemap: most of its pages sit behind sign-in.
    disable_plugins=[rx.plugins.SitemapPlugin],
)
