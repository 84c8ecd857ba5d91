"""`RedeemFastPath` answers POST /api/v1/rewards/redeem (staff redeeming holders' codes) from in front of the API's
middleware, routing and response models, as `WebhookFastPath` does for Stripe's deliveries: it is the counters'
busiest call, and that machinery was about a third of each one's CPU (bench/redeem.py).

It gives the route's answers, in the route's order: the body limit (413), the per-IP API limit (429), JSON only
(415), no NUL characters (422), malformed JSON (400), the request model (422 with field paths), then the bearer
token (401) and the per-account limit, then the redemption on the counter's threads. Unexpected errors are logged
and recorded like the API's (500 `internal_error`). The FastAPI route stays for the OpenAPI document and for other
methods on the path.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.api.deps import _is_json, _nul_paths, limit_api_calls
from backend.api.errors import (
    error_response,
    internal_error_response,
    payload_too_large_response,
    request_field_errors,
)
from backend.api.middleware import ClientDisconnected, PayloadTooLarge, read_body
from backend.api.reward_schemas import RedeemRequest, ScanOut
from backend.auth.client_ip import client_ip as resolve_client_ip
from backend.errors import DomainError, NotAuthenticated, RateLimited, ValidationFailed
from backend.settings import get_settings

log = logging.getLogger(__name__)

PATH = "/api/v1/rewards/redeem"


class RedeemFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        try:
            response = await self._answer(scope, receive)
        except ClientDisconnected:
            return
        except Exception as exc:
            log.exception("Unhandled error in POST %s", PATH)
            await run_in_threadpool(_record, exc)
            response = internal_error_response()
        await response(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive) -> Response:
        settings = get_settings()
        limit = settings.max_body_bytes
        headers = _headers(scope)
        try:
            body = await read_body(scope, receive, limit)
        except PayloadTooLarge:
            return payload_too_large_response(limit)
        try:
            peer = scope["client"][0] if scope.get("client") else None
            limit_api_calls(resolve_client_ip(peer, headers.get('x-forwarded-for', [])))
            if not _is_json(_first(headers, "content-type")):
                return error_response(415, "unsupported_media_type",
                                      "Send the request body as JSON (Content-Type: application/json).")
            try:
                parsed: Any = json.loads(body)
            except (ValueError, RecursionError):
                return error_response(400, "malformed_json", "The request body is not valid JSON.")
            found: dict[str, str] = {}
            _nul_paths(parsed, "", found)
            if found:
                raise ValidationFailed("Please fix the highlighted fields.", fields=found)
            try:
                request = RedeemRequest.model_validate(parsed)
            except ValidationError as exc:
                errors = [dict(e, loc=("body", *e["loc"])) for e in exc.errors()]
                return error_response(422, "validation_error", "Please fix the highlighted fields.",
                                      request_field_errors(errors))
            token = _bearer(_first(headers, "authorization"))
            loop = asyncio.get_running_loop()
            from backend.api.routes.rewards import _counter_pool, redeem_now

            result = await loop.run_in_executor(_counter_pool(), redeem_now, token, request)
        except DomainError as exc:
            extra: dict[str, str] = {}
            if isinstance(exc, RateLimited):
                extra["Retry-After"] = str(exc.retry_after_s)
            if isinstance(exc, NotAuthenticated):
                extra["WWW-Authenticate"] = "Bearer"
            return error_response(exc.status, exc.code, exc.message, exc.fields, extra)
        return Response(result.model_dump_json(), media_type="application/json")


def _headers(scope: Scope) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in scope["headers"]:
        found.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return found


def _first(headers: dict[str, list[str]], name: str) -> str:
    values = headers.get(name)
    return values[0] if values else ""


def _bearer(authorization: str) -> str | None:
    """As FastAPI's HTTPBearer(auto_error=False): the credentials of a "Bearer <token>" header, else None."""
    scheme, _, credentials = authorization.partition(" ")
    if not authorization or scheme.lower() != "bearer" or not credentials:
        return None
    return credentials


def _record(exc: Exception) -> None:
    from backend.monitoring.errors import record_error

    record_error(f"request:POST {PATH}", exc)


__all__ = ["PATH", "RedeemFastPath", "ScanOut"]
