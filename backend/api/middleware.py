"""ASGI middleware for the API's paths only: a request-body size cap and a last-resort 500 in the error shape.

Both wrap the whole outer app (Reflex is mounted inside it), so they step aside for anything outside `/api/`.
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.api.errors import internal_error_response, payload_too_large_response
from backend.settings import get_settings

log = logging.getLogger(__name__)

API_PREFIX = "/api/"


def _is_api(scope: Scope) -> bool:
    return scope["type"] == "http" and scope["path"].startswith(API_PREFIX)


class PayloadTooLarge(HTTPException):
    """Raised from `receive` when a body without (or lying about) Content-Length runs past the limit.

    An HTTPException so that FastAPI's body reader re-raises it unchanged instead of turning it into a 400.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes.")
        self.limit = limit


def declared_too_large(scope: Scope, limit: int) -> bool:
    """Does the request's Content-Length already say its body is over `limit`?"""
    declared = dict(scope["headers"]).get(b"content-length")
    try:
        return declared is not None and int(declared) > limit
    except ValueError:
        return False  # the server rejects a malformed Content-Length before we see it


def limited(receive: Receive, limit: int) -> Receive:
    """`receive` that raises PayloadTooLarge as soon as the body read so far passes `limit` bytes."""
    received = 0

    async def limited_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise PayloadTooLarge(limit)
        return message

    return limited_receive


class BodySizeLimitMiddleware:
    """Refuse bodies over settings.max_body_bytes: at once by Content-Length, else while streaming them in."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_api(scope):
            await self.app(scope, receive, send)
            return
        limit = get_settings().max_body_bytes
        if declared_too_large(scope, limit):
            await payload_too_large_response(limit)(scope, receive, send)
            return

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited(receive, limit), tracking_send)
        except PayloadTooLarge as exc:
            # Reached only when the body was read outside FastAPI's handler (which answers it itself).
            if started:
                raise
            await payload_too_large_response(exc.limit)(scope, receive, send)


class UnexpectedErrorMiddleware:
    """Log any unhandled exception once and answer 500 `internal_error` without its text."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_api(scope):
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("Unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            await internal_error_response()(scope, receive, send)
