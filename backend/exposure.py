"""What a non-production Primsell exposes, and to whom: development is safe to expose by mistake.

- The server binds a loopback address in development (and tests) unless PRIMSELL_DEV_ALLOW_REMOTE=1 (or
  `serve --allow-remote-dev`) says otherwise: `check_bind_host`, called by `python -m backend serve` and by the
  web app itself when it starts (so a bare `reflex run --backend-host 0.0.0.0` is refused too).
- The development mailbox (every password link) and the sandbox pay page answer only loopback peers or a signed-in
  platform admin (backend/api/local_only.py), whatever the bind address.
- The production web process never holds CUSTODY_SEED (only the job runner does).
"""

from __future__ import annotations

import ipaddress

from backend.settings import ConfigurationError, Settings, get_settings

LOOPBACK_HOST = "127.0.0.1"
ANY_HOST = "0.0.0.0"


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 (also IPv4-mapped) and the name `localhost`; False for anything else or None."""
    if not host:
        return False
    value = host.strip().strip("[]").lower()
    if value == "localhost":
        return True
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def default_bind_host(settings: Settings | None = None) -> str:
    """Loopback in development and tests (unless remote access was asked for), every interface in production."""
    settings = settings or get_settings()
    return ANY_HOST if settings.is_production or settings.dev_allow_remote else LOOPBACK_HOST


def check_bind_host(host: str, settings: Settings | None = None) -> None:
    """Refuse to serve a non-production Primsell on a non-loopback address unless that was asked for explicitly:
    development serves the mailbox of password links and a pay page where anyone pays with a test card."""
    settings = settings or get_settings()
    if settings.is_production or settings.dev_allow_remote or is_loopback(host):
        return
    raise ConfigurationError(
        f"PRIMSELL_ENV={settings.env.value} refuses to listen on {host}: development is meant for this machine "
        "(its mailbox shows every password link). Listen on 127.0.0.1, or say you mean it with "
        "PRIMSELL_DEV_ALLOW_REMOTE=1 (`python -m backend serve --allow-remote-dev`); the mailbox and the sandbox "
        "pay page still answer only this machine or a signed-in platform admin.")


def check_web_process(bind_host: str, settings: Settings | None = None) -> None:
    """What the web app checks when it starts: its bind address, and that production gave it no CUSTODY_SEED."""
    settings = settings or get_settings()
    check_bind_host(bind_host, settings)
    if settings.is_production and settings.custody_seed is not None and settings.custody_seed.get_secret_value():
        raise ConfigurationError(
            "CUSTODY_SEED is set for the production web process: only the job runner may hold it. Remove it from "
            "the web process's environment and .env; the web process needs CUSTODY_XPUB only.")
