"""ASGI middleware for the API's paths only: a request-body size cap and a last-resort 500 in the error shape.

Both wrap the whole outer app (Reflex is mounted inside it), so they step aside for anything outside `/api/` (except
Reflex's upload endpoint, whose bodies the size cap also bounds).
"""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.api.errors import error_response, internal_error_response, payload_too_large_response
from backend.settings import get_settings

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
# Bodies that may be larger than API_MAX_BODY_BYTES: identity documents (the API's multipart submission, and the web
# form's uploads through Reflex's /_upload endpoint, one file each), bounded by the KYC file limit instead.
KYC_SUBMISSIONS_PATH = "/api/v1/kyc/submissions"
REFLEX_UPLOAD_PATH = "/_upload"
_MULTIPART_OVERHEAD = 256 * 1024


def _is_api(scope: Scope) -> bool:
    return scope["type"] == "http" and scope["path"].startswith(API_PREFIX)


def body_limit(scope: Scope) -> int | None:
    """The body limit of a request's path, or None for paths this middleware leaves alone (the web app's)."""
    if scope["type"] != "http":
        return None
    settings = get_settings()
    path = scope["path"]
    if path == KYC_SUBMISSIONS_PATH:
        return 3 * settings.kyc_max_file_bytes + _MULTIPART_OVERHEAD
    if path == REFLEX_UPLOAD_PATH:
        return settings.kyc_max_file_bytes + _MULTIPART_OVERHEAD
    return settings.max_body_bytes if path.startswith(API_PREFIX) else None


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


class ClientDisconnected(Exception):
    """The client went away before its whole request body arrived: nobody to answer."""


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole request body, for the ASGI fast paths that answer without FastAPI: PayloadTooLarge past `limit`
    (at once by Content-Length, else while reading), ClientDisconnected if the client leaves first."""
    if declared_too_large(scope, limit):
        raise PayloadTooLarge(limit)
    receive = limited(receive, limit)
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


class BodySizeLimitMiddleware:
    """Refuse bodies over their path's limit (`body_limit`): at once by Content-Length, else while streaming them in."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = body_limit(scope)
        if limit is None:
            await self.app(scope, receive, send)
            return
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
        except Exception as exc:
            log.exception("Unhandled error in %s %s", scope.get("method"), scope.get("path"))
            await run_in_threadpool(_record, scope, exc)
            if started:
                raise
            await internal_error_response()(scope, receive, send)


def _record(scope: Scope, exc: Exception) -> None:
    """The error log and Sentry, under the route's template (a path can carry ids and tokens)."""
    from backend.monitoring.errors import record_error

    route = getattr(scope.get("route"), "path", None) or "unmatched"
    record_error(f"request:{scope.get('method')} {route}", exc)


class UnroutableApiPathMiddleware:
    """Answer `/api/` paths holding a line feed (`%0A`) in the API's error shape.

    Reflex mounts everything (our API included) inside its own outer Starlette app, whose route patterns (`.*`)
    stop at a line feed: such a path never reaches the API and got a plain-text "Not Found". No route of ours has a
    line feed in a valid path, so 404 is the API's own answer. Wraps the outermost app (primsell.primsell.PrimsellApp).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _is_api(scope) and "\n" in scope["path"]:
            await error_response(404, "not_found", "Not found.")(scope, receive, send)
            return
        await self.app(scope, receive, send)
