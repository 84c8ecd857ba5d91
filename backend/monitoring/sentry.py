"""Sentry via sentry-sdk when SENTRY_DSN is set: exceptions, and one cron check-in per daemon run.

With no DSN nothing is initialised and every function here is a cheap no-op.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from typing import Any

import sentry_sdk
from sentry_sdk.crons import monitor

from backend.monitoring.scrub import scrub_context


def _before_send(event: dict[str, Any], _hint: dict[str, Any]) -> dict[str, Any]:
    # Requests and user data never leave: the error log's scrubbing rules apply to what Sentry gets too.
    event.pop("user", None)
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("cookies", None)
        request.pop("data", None)
        if isinstance(request.get("headers"), dict):
            request["headers"] = scrub_context(request["headers"])
    return event


def init_sentry(dsn: str | None = None, *, transport: Any = None, environment: str | None = None,
                release: str | None = None) -> bool:
    """Initialise from `dsn` or settings; returns whether Sentry is on. `transport` is for tests."""
    if dsn is None:
        from backend.settings import get_settings

        settings = get_settings()
        dsn = settings.sentry_dsn.get_secret_value() if settings.sentry_dsn else None
        environment = environment or settings.env.value
    if not dsn:
        return False
    options: dict[str, Any] = {
        "dsn": dsn,
        "environment": environment,
        "release": release,
        "before_send": _before_send,
        "default_integrations": transport is None,
    }
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(**options)
    return True


def enabled() -> bool:
    return sentry_sdk.get_client().is_active()


def capture_exception(exc: BaseException, **context: Any) -> None:
    if not enabled():
        return
    with sentry_sdk.new_scope() as scope:
        for key, value in context.items():
            scope.set_extra(key, value)
        sentry_sdk.capture_exception(exc)


@contextmanager
def cron_checkin(job_name: str, monitor_config: Mapping[str, Any] | None = None) -> Iterator[None]:
    """`in_progress` then `ok` or `error` for one daemon run (monitor slug = job name)."""
    ctx = monitor(monitor_slug=job_name, monitor_config=dict(monitor_config) if monitor_config else None) \
        if enabled() else nullcontext()
    with ctx:
        yield
