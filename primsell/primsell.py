"""The Reflex app: mounts the HTTP API and adds the pages of the surfaces this deployment serves (PRIMSELL_SURFACES)."""

import reflex as rx
from starlette.types import ASGIApp

from backend.api.app import create_api
from backend.api.middleware import UnroutableApiPathMiddleware
from backend.exposure import check_web_process
from backend.monitoring.log_scrub import install_log_scrubbing
from backend.monitoring.sentry import init_sentry
from backend.settings import get_settings
from primsell.pages.registry import add_surface_pages

# Development refuses a non-loopback address unless told; production refuses a web process holding CUSTODY_SEED.
check_web_process(rx.config.get_config().backend_host)
install_log_scrubbing()  # the web worker's log lines (uvicorn sets its handlers up, not us) carry no secrets
init_sentry()  # a no-op unless SENTRY_DSN is set


class PrimsellApp(rx.App):
    """rx.App, with one ASGI layer outside the outer app that Reflex builds around the API (see the middleware)."""

    def __call__(self) -> ASGIApp:
        return UnroutableApiPathMiddleware(super().__call__())


app = PrimsellApp(
    api_transformer=create_api(),
    stylesheets=["/styles.css"],
)

add_surface_pages(app, "home")
for surface in get_settings().surfaces:
    add_surface_pages(app, surface)
