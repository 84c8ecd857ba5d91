"""The Reflex app: mounts the HTTP API and adds the pages of the surfaces this deployment serves (PRIMSELL_SURFACES)."""

import reflex as rx

from backend.api.app import create_api
from backend.monitoring.sentry import init_sentry
from backend.settings import get_settings
from primsell.pages.registry import add_surface_pages

init_sentry()  # a no-op unless SENTRY_DSN is set

app = rx.App(
    api_transformer=create_api(),
    stylesheets=["/styles.css"],
)

add_surface_pages(app, "home")
for surface in get_settings().surfaces:
    add_surface_pages(app, surface)
