"""Reflex configuration: one app, `primsell`. Which surfaces it serves comes from PRIMSELL_SURFACES
(backend/settings.py)."""

from urllib.parse import urlsplit

import reflex as rx

from backend.exposure import default_bind_host
from backend.settings import get_settings


def _allowed_origins() -> list[str]:
    """Only our own origin may make credentialed cross-origin calls (Reflex's default is "*").

    Reflex applies the same list to its websocket, so a local URL is allowed under both loopback names.
    """
    public = urlsplit(get_settings().public_url.rstrip("/"))
    origins = [f"{public.scheme}://{public.netloc}"]
    loopback = {"localhost": "127.0.0.1", "127.0.0.1": "localhost"}
    if public.hostname in loopback:
        port = f":{public.port}" if public.port else ""
        origins.append(f"{public.scheme}://{loopback[public.hostname]}{port}")
    return origins


config = rx.Config(
    app_name="primsell",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    # Several web processes share UI state through Redis when REDIS_URL is set; otherwise it stays in-process.
    redis_url=get_settings().redis_url or None,
    cors_allowed_origins=_allowed_origins(),
    # Development listens on 127.0.0.1 only unless PRIMSELL_DEV_ALLOW_REMOTE=1; the app checks the address it is
    # given (REFLEX_BACKEND_HOST / --backend-host) when it starts (backend/exposure.py).
    backend_host=default_bind_host(),
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(appearance="light", accent_color="violet", gray_color="slate", radius="medium")
        ),
    ],
    # Primsell serves no sitemap: most of its pages sit behind sign-in.
    disable_plugins=[rx.plugins.SitemapPlugin],
)
