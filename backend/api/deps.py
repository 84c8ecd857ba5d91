"""FastAPI dependencies shared by the routes: client IP, API rate limits, JSON-only bodies, input hygiene,
same-origin checks for the cookie endpoints, and the bearer-token Actor."""

from __future__ import annotations

import email.message
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from backend.api.errors import UnsupportedMediaType
from backend.auth.acl import Actor
from backend.auth.client_ip import client_ip as resolve_client_ip
from backend.auth.ratelimit import get_rate_limiter, limit_per_network
from backend.auth.service import authenticate_access_token
from backend.errors import Forbidden, NotAuthenticated, ValidationFailed
from backend.settings import get_settings

# auto_error=False: a missing header is answered by our own 401 in the standard error shape.
bearer_scheme = HTTPBearer(auto_error=False, description="An access token from POST /api/v1/auth/login.")
# The same header for routes a guest may call too; the OpenAPI document shows it as an optional HTTPBearer
# (backend.api.openapi), found by this scheme name.
OPTIONAL_BEARER_SCHEME = "OptionalHTTPBearer"
optional_bearer_scheme = HTTPBearer(auto_error=False, scheme_name=OPTIONAL_BEARER_SCHEME)

_BODY_METHODS = {"POST", "PUT", "PATCH"}


def client_ip(request: Request) -> str:
    """The socket peer, or, behind TRUSTED_PROXIES, the right-most X-Forwarded-For hop that is not one of them."""
    return resolve_client_ip(request.client.host if request.client else None,
                             request.headers.getlist("x-forwarded-for"))


def limit_api_calls(ip: str) -> None:
    """The API's per-IP limit: one budget for the routes and the redeem fast path (which bypasses FastAPI)."""
    limit_per_network(get_settings().api_rate_per_ip, "api:ip", ip)


def limit_api_per_ip(request: Request) -> None:
    limit_api_calls(client_ip(request))


def _is_json(content_type: str) -> bool:
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def require_json(request: Request) -> None:
    """Bodies must be JSON. This is also the CSRF guard of the cookie endpoints: a cross-site HTML form cannot
    send Content-Type: application/json, and a script must first pass a CORS preflight."""
    if request.method in _BODY_METHODS and not _is_json(request.headers.get("content-type", "")):
        raise UnsupportedMediaType("Send the request body as JSON (Content-Type: application/json).")


def _nul_paths(value: Any, path: str, found: dict[str, str]) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            found.setdefault(path or "body", "must not contain NUL characters")
    elif isinstance(value, dict):
        for key, item in value.items():
            _nul_paths(key, path or "body", found)
            _nul_paths(item, f"{path}.{key}" if path else str(key), found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _nul_paths(item, f"{path}.{index}" if path else str(index), found)


async def reject_nul_characters(request: Request) -> None:
    """PostgreSQL text cannot hold NUL; refuse it here as bad input instead of failing in the database."""
    found: dict[str, str] = {}
    for name, value in request.path_params.items():
        _nul_paths(value, name, found)
    for name, value in request.query_params.multi_items():
        _nul_paths(name, name, found)
        _nul_paths(value, name, found)
    if request.method in _BODY_METHODS and _is_json(request.headers.get("content-type", "")):
        try:
            # Already parsed (and cached) by FastAPI for routes with a body; other routes ignore their body.
            body = await request.json()
        except (ValueError, RecursionError):
            body = None
        _nul_paths(body, "", found)
    if found:
        raise ValidationFailed("Please fix the highlighted fields.", fields=found)


def require_same_origin(request: Request) -> None:
    """Cookie endpoints refuse a browser's cross-site call even if a permissive CORS policy lets it through."""
    origin = request.headers.get("origin")
    if origin is None:
        return  # not a browser's cross-origin fetch (browsers send Origin on every cross-origin POST)
    allowed = {_origin(get_settings().public_url), _origin(str(request.base_url))}
    if origin.rstrip("/").lower() not in allowed:
        raise Forbidden("This request must come from the Primsell site itself.")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def current_actor(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Actor:
    """The caller behind `Authorization: Bearer <access token>`, counted against the per-account API limit."""
    return bearer_actor(credentials.credentials if credentials is not None else None)


def bearer_actor(token: str | None, *, session: Session | None = None) -> Actor:
    """`current_actor` for a bearer token's credentials (None: none sent), read in `session`'s transaction when
    given (the redeem fast path's one transaction per scan)."""
    if not token:
        raise NotAuthenticated("Sign in to continue: send Authorization: Bearer <access token>.")
    actor = authenticate_access_token(token, session=session)
    get_rate_limiter().hit(get_settings().api_rate_per_account, f"api:acct:{actor.user_id}")
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


def optional_actor(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(optional_bearer_scheme)],
) -> Actor | None:
    """The bearer token's caller when one is sent (a bad or revoked token is still a 401), else a guest."""
    return current_actor(credentials) if credentials is not None and credentials.credentials else None


OptionalActor = Annotated[Actor | None, Depends(optional_actor)]
ClientIp = Annotated[str, Depends(client_ip)]

# Run on every /api/v1 request, in this order: the per-IP limit first so that refused work stays cheap.
V1_DEPENDENCIES = [Depends(limit_api_per_ip), Depends(require_json), Depends(reject_nul_characters)]

