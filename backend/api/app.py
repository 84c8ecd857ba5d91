"""Builds Primsell's HTTP API. The web app passes it to `rx.App(api_transformer=create_api())`, which makes it
the outer ASGI app with Reflex mounted inside at "", so every `/api/...` path is answered here first."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.routing import Match, Mount

from backend.api.errors import install_error_handlers
from backend.api.middleware import BodySizeLimitMiddleware, UnexpectedErrorMiddleware
from backend.api.openapi import install_openapi
from backend.api.redeem_fast_path import RedeemFastPath
from backend.api.routes import (
    auth,
    brands,
    campaigns,
    dev_mailbox,
    health,
    kyc,
    metadata,
    orders,
    rewards,
    sales,
    sandbox_pay,
    siwe,
    stripe_webhook,
)
from backend.api.schemas import ErrorBody

DESCRIPTION = """
Primsell's REST API. Sign in with `POST /api/v1/auth/login`, then send `Authorization: Bearer <access_token>`.

Every error has one shape: `{"error": {"code": "...", "message": "...", "fields": {"field": "message"}}}`.
Money is an integer in minor units (`price_minor`) plus a `currency`; datetimes are ISO-8601 with a zone.
"""

CATCH_ALL_PATH = "/api/{rest:path}"
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody} for status in (400, 401, 403, 404, 409, 413, 415, 422, 429)
}


def _unknown_api_path(request: Request) -> None:
    """Answer unmatched `/api/...` paths here, in our error shape; otherwise they would fall through to Reflex.

    A path that exists with other methods gets 405 and an Allow header, as the router would have given.
    """
    # Ask every other route whether it would take this path with some other method (FastAPI's included
    # routers are opaque route objects, so probing is the one way that does not depend on their internals).
    allowed = {
        method
        for method in _ALL_METHODS
        for route in request.app.router.routes
        # The mounted web app takes every path with every method, so it says nothing about ours.
        if not isinstance(route, Mount) and getattr(route, "path", None) != CATCH_ALL_PATH
        and route.matches({**request.scope, "method": method})[0] is Match.FULL
    }
    if allowed:
        raise HTTPException(405, headers={"Allow": ", ".join(sorted(allowed))})
    raise HTTPException(404)


def create_api() -> FastAPI:
    api = FastAPI(
        title="Primsell API",
        version=health.app_version(),
        description=DESCRIPTION,
        docs_url="/api/docs",
        redoc_url="/api/redoc",
        openapi_url="/api/openapi.json",
        swagger_ui_oauth2_redirect_url="/api/docs/oauth2-redirect",
        responses=_ERROR_RESPONSES,
    )
    install_error_handlers(api)
    install_openapi(api)
    # Added last = outermost: the 500 guard also covers the size limit.
    api.add_middleware(BodySizeLimitMiddleware)
    api.add_middleware(UnexpectedErrorMiddleware)
    api.add_middleware(RedeemFastPath)  # the counters' redemptions skip the rest too
    api.add_middleware(stripe_webhook.WebhookFastPath)  # outermost of ours: Stripe's deliveries skip the rest
    api.include_router(health.router)
    api.include_router(auth.router)
    api.include_router(brands.router)
    api.include_router(brands.team_router)
    api.include_router(campaigns.router)
    api.include_router(campaigns.public_router)
    api.include_router(sales.router)
    api.include_router(metadata.router)
    api.include_router(orders.router)
    api.include_router(orders.admin_router)
    api.include_router(rewards.holder_router)  # before rewards.router: /rewards/mine is not a reward id
    api.include_router(rewards.router)
    api.include_router(siwe.router)
    api.include_router(stripe_webhook.router)
    api.include_router(sandbox_pay.router)
    api.include_router(dev_mailbox.router)
    api.include_router(kyc.router)
    api.include_router(kyc.webhook_router)
    # Must stay the last route: anything after it under /api/ would be unreachable.
    api.add_api_route(CATCH_ALL_PATH, _unknown_api_path, methods=_ALL_METHODS, include_in_schema=False)
    return api
