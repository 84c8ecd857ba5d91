"""Checkout and order routes. `router` (prefix /api/v1/checkout): quote, start a checkout, the order page by its
public id. `admin_router` (prefix /api/v1/orders): the signed-in consumer's orders and the brand admin's list,
CSV export, detail with timeline, refund and campaign dashboard. Include both with `api.include_router(...)`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from backend.api.deps import V1_DEPENDENCIES, ClientIp, CurrentActor, bearer_scheme, current_actor
from backend.auth.acl import Actor
from backend.auth.ratelimit import get_rate_limiter
from backend.auth.service import WEB_SESSION_COOKIE, actor_for_web_session
from backend.db import utcnow
from backend.errors import NotAuthenticated
from backend.orders import admin, service
from backend.settings import get_settings

router = APIRouter(prefix="/api/v1/checkout", dependencies=V1_DEPENDENCIES, tags=["checkout"])
admin_router = APIRouter(prefix="/api/v1/orders", dependencies=V1_DEPENDENCIES, tags=["orders"])

MAX_ID = 2**31 - 1


class CheckoutRequest(BaseModel):
    campaign_slug: str = Field(max_length=64)
    quantity: int = Field(ge=1, le=1000)
    email: str = Field(max_length=254)
    # Omit (or null) for "keep it for me": a custodial wallet tied to the email's account.
    wallet_address: str | None = Field(default=None, max_length=64)


class RefundRequest(BaseModel):
    reason: str = Field(max_length=500)


def _plain(value: Any) -> Any:
    """Dataclasses to JSON-ready dicts; Decimals as strings (never float)."""
    from dataclasses import asdict, is_dataclass
    from decimal import Decimal

    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    return value


@router.get("/quote")
def get_quote(campaign_slug: Annotated[str, Query(max_length=64)],
              quantity: Annotated[int, Query(ge=1, le=1000)] = 1) -> dict[str, Any]:
    return _plain(service.quote(campaign_slug, quantity))


@router.post("", status_code=201)
def start_checkout(body: CheckoutRequest, ip: ClientIp) -> dict[str, Any]:
    return _plain(service.start_checkout(body.campaign_slug, body.quantity, body.email, body.wallet_address, ip))


@router.get("/orders/{public_id}")
def get_order(public_id: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    return _plain(service.get_order_public(public_id))


@admin_router.get("/mine")
def my_orders(actor: CurrentActor, limit: Annotated[int, Query(ge=-MAX_ID, le=MAX_ID)] = 20,
              offset: Annotated[int, Query(ge=-MAX_ID, le=MAX_ID)] = 0) -> dict[str, Any]:
    page = service.list_orders_for_user(actor, limit=limit, offset=offset)
    return {"items": _plain(page.items), "total": page.total, "limit": page.limit, "offset": page.offset}


@admin_router.get("")
def list_orders(actor: CurrentActor, brand_id: Annotated[int, Query(ge=1, le=MAX_ID)],
                status: str | None = None, campaign_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                date_from: datetime | None = None, date_to: datetime | None = None,
                search: Annotated[str, Query(max_length=200)] = "", sort: str = "created_at",
                order: Literal["asc", "desc"] = "desc", limit: Annotated[int, Query(ge=-MAX_ID, le=MAX_ID)] = 20,
                offset: Annotated[int, Query(ge=-MAX_ID, le=MAX_ID)] = 0) -> dict[str, Any]:
    page = admin.list_orders(actor, brand_id, status=status, campaign_id=campaign_id, date_from=date_from,
                             date_to=date_to, search=search, sort=sort, descending=order == "desc", limit=limit,
                             offset=offset)
    return {"items": _plain(page.items), "total": page.total, "limit": page.limit, "offset": page.offset}


def bearer_or_web_session(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Actor:
    """The bearer token's caller, else the web session cookie's: the admin's "Export CSV" is a plain link.

    Only for reads: a cross-site page can make the browser send the (SameSite=Lax) cookie on a navigation, but
    cannot read the answer (CORS admits our own origin only), and a download changes nothing."""
    if credentials is not None and credentials.credentials:
        return current_actor(credentials)
    actor = actor_for_web_session(request.cookies.get(WEB_SESSION_COOKIE))
    if actor is None:
        raise NotAuthenticated("Sign in to continue: send Authorization: Bearer <access token>.")
    get_rate_limiter().hit(get_settings().api_rate_per_account, f"api:acct:{actor.user_id}")
    return actor


@admin_router.get("/export.csv", response_class=StreamingResponse)
def export_orders(actor: Annotated[Actor, Depends(bearer_or_web_session)],
                  brand_id: Annotated[int, Query(ge=1, le=MAX_ID)], status: str | None = None,
                  campaign_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                  date_from: datetime | None = None, date_to: datetime | None = None,
                  search: Annotated[str, Query(max_length=200)] = "",
                  order: Literal["asc", "desc"] = "desc") -> StreamingResponse:
    """Every matching order as CSV, streamed page by page (newest first by default)."""
    chunks = admin.stream_orders_csv(actor, brand_id, status=status, campaign_id=campaign_id, date_from=date_from,
                                     date_to=date_to, search=search, descending=order == "desc")
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="orders-brand-{brand_id}-{stamp}.csv"',
        "Cache-Control": "no-store",
    })


@admin_router.get("/dashboard/{campaign_id}")
def dashboard(actor: CurrentActor, campaign_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> dict[str, Any]:
    return _plain(admin.campaign_dashboard(actor, campaign_id))


@admin_router.get("/{order_id}")
def order_detail(actor: CurrentActor, order_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> dict[str, Any]:
    return _plain(admin.order_detail(actor, order_id))


@admin_router.post("/{order_id}/refund")
async def refund(actor: CurrentActor, order_id: Annotated[int, Path(ge=1, le=MAX_ID)],
                 body: RefundRequest) -> dict[str, Any]:
    return _plain(await run_in_threadpool(admin.refund_order, actor, order_id, body.reason))
