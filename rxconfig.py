"""Reflex configuration: one app, `primsell`. Which surfaces it serves comes from PRIMSELL_SURFACES (backend/settings.py)."""

import os

import reflex as rx

config = rx.Config(
    app_name="primsell",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    # Several web processes share UI state through Redis when REDIS_URL is set; otherwise it stays in-process.
    redis_url=os.environ.get("REDIS_URL") or None,
    # Primsell keeps its own tables and migrations (backend/); Reflex's built-in database support is unused.
    disable_plugins=["reflex.plugins.sitemap.SitemapPlugin"],
)
