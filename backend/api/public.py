"""What the public read endpoints share (the order status, the public campaign and quote, token metadata): a per-IP
rate limit, since each call reads the database, and HTTP caching: an ETag (a repeated GET with If-None-Match gets
304 and no body) and a Cache-Control header chosen per endpoint."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from backend.api.deps import client_ip
from backend.auth.ratelimit import limit_per_network
from backend.settings import get_settings

# Cache-Control values. Minted tokens' metadata changes only when its campaign is edited; the public campaign and
# the quote move with every sale (supply left, the exchange rate), so caches may keep them only a few seconds; the
# order status is the buyer's (private) and changes at any moment (revalidate every time).
METADATA_CACHE = "public, max-age=300"
LIVE_PUBLIC_CACHE = "public, max-age=5"
PRIVATE_REVALIDATE = "private, no-cache"
NO_STORE = "no-store"

NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the If-None-Match header named the current ETag."}}


def limit_public_reads(request: Request) -> None:
    limit_per_network(get_settings().public_read_rate_per_ip, "public:ip", client_ip(request))


def limit_metadata_reads(request: Request) -> None:
    limit_per_network(get_settings().metadata_rate_per_ip, "metadata:ip", client_ip(request))


def _matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110's weak comparison: any listed tag (W/ or not) equal to ours, or "*"."""
    tags = [tag.strip() for tag in if_none_match.split(",")]
    return any(tag == "*" or tag.removeprefix("W/") == etag for tag in tags)


def cached_json(request: Request, content: Any, cache_control: str, *, etag: bool = True) -> Response:
    """`content` as JSON with `cache_control` and (unless `etag` is False: content that differs on every call) a
    strong ETag of its bytes; 304 without a body when the request's If-None-Match already names that ETag."""
    response = JSONResponse(content, headers={"Cache-Control": cache_control})
    if not etag:
        return response
    tag = '"' + hashlib.sha256(response.body).hexdigest()[:32] + '"'
    response.headers["ETag"] = tag
    if _matches(request.headers.get("if-none-match", ""), tag):
        return Response(status_code=304, headers={"ETag": tag, "Cache-Control": cache_control})
    return response
