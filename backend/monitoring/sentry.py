"""Sentry via sentry-sdk when SENTRY_DSN is set: exceptions, and one cron check-in per daemon run.

With no DSN nothing is initialised and every function here is a cheap no-op.

What is sent: the exception's type, scrubbed message and stack (file, function, line: no local variables, no source
lines), the route, and scrubbed context. Never request bodies, cookies, users or frame variables: the client is
told not to collect them, and `_before_send` strips them again in case an integration or option adds them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from typing import Any

import sentry_sdk
from sentry_sdk.crons import monitor

from backend.monitoring.scrub import REDACTED, scrub_context, scrub_text, scrub_value

# Frame variables whose name says they may hold a credential: redacted whatever their value looks like.
_SECRET_NAME = re.compile(
    r"pass|pwd|secret|token|cookie|key|auth|session|seed|mnemonic|signature|credential|private|code|otp|email",
    re.IGNORECASE,
)


def _scrub_vars(variables: Any) -> Any:
    if not isinstance(variables, Mapping):
        return {}
    return {str(name)[:60]: REDACTED if _SECRET_NAME.search(str(name)) else scrub_value(value)
            for name, value in list(variables.items())[:50]}


def _scrub_stack(stacktrace: Any) -> None:
    for frame in (stacktrace or {}).get("frames", []) if isinstance(stacktrace, dict) else []:
        if "vars" in frame:
            frame["vars"] = _scrub_vars(frame["vars"])
        for source in ("pre_context", "context_line", "post_context"):  # source lines can hold literals
            frame.pop(source, None)


def _before_breadcrumb(crumb: dict[str, Any], _hint: dict[str, Any]) -> dict[str, Any]:
    if isinstance(crumb.get("message"), str):
        crumb["message"] = scrub_text(crumb["message"])
    if isinstance(crumb.get("data"), Mapping):
        crumb["data"] = scrub_context(crumb["data"])
    return crumb


def _before_send(event: dict[str, Any], _hint: dict[str, Any]) -> dict[str, Any]:
    # Requests and user data never leave: the error log's scrubbing rules apply to what Sentry gets too.
    event.pop("user", None)
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("cookies", None)
        request.pop("data", None)
        if isinstance(request.get("headers"), dict):
            request["headers"] = scrub_context(request["headers"])
        for text in ("query_string", "url"):
            if isinstance(request.get(text), str):
                request[text] = scrub_text(request[text])
    for holder in ("exception", "threads"):
        for value in (event.get(holder) or {}).get("values", []):
            if isinstance(value.get("value"), str):
                value["value"] = scrub_text(value["value"])
            _scrub_stack(value.get("stacktrace"))
    if isinstance(event.get("logentry"), dict):
        for text in ("message", "formatted"):
            if isinstance(event["logentry"].get(text), str):
                event["logentry"][text] = scrub_text(event["logentry"][text])
        event["logentry"].pop("params", None)
    if isinstance(event.get("message"), str):
        event["message"] = scrub_text(event["message"])
    if isinstance(event.get("extra"), Mapping):
        event["extra"] = scrub_context(event["extra"])
    crumbs = event.get("breadcrumbs")
    for crumb in (crumbs.get("values", []) if isinstance(crumbs, dict) else crumbs or []):
        _before_breadcrumb(crumb, {})
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
        "before_breadcrumb": _before_breadcrumb,
        # Nothing that can carry a password or token is collected in the first place.
        "include_local_variables": False,
        "include_source_context": False,
        "max_request_body_size": "never",
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
