"""Checkout and order routes. `router` (prefix /api/v1/checkout): quote, start a checkout (the service's abuse limits:
429 with Retry-After for too many attempts, 409 `reservation_limit_reached` for too many unpaid reservations), the
order by its public id (masked email; its payment URL only while it can be paid) and the order's pay link (starts
the order's full TTL, then redirects to the payment page). The public reads are rate-limited per IP and carry
caching headers (backend/api/public.py). `admin_router` (prefix /api/v1/orders): the signed-in consumer's orders and
the brand admin's list, CSV export, detail with timeline, refund and campaign dashboard. Include both with
`api.include_router(...)`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from backend.api.deps import (
    V1_DEPENDENCIES,
    ClientIp,
    CurrentActor,
    OptionalActor,
    bearer_scheme,
    current_actor,
)
from backend.api.public import (
    LIVE_PUBLIC_CACHE,
    NO_STORE,
    NOT_MODIFIED,
    PRIVATE_REVALIDATE,
    cached_json,
    limit_public_reads,
)
from backend.api.schemas import PageLimit, PageOffset, QueryDateTime
from backend.auth.acl import Actor
from backend.auth.ratelimit import get_rate_limiter
from backend.auth.service import WEB_SESSION_COOKIE, actor_for_web_session
from backend.db import utcnow
from backend.errors import NotAuthenticated
from backend.orders import admin, refunds, service
from backend.settings import get_settings
from backend.validation import (
    EMAIL_SCHEMA,
    OPTIONAL_ADDRESS_PATTERN,
    WHITESPACE_CLASS,
    ZERO_ADDRESS_PATTERN,
    padded_pattern,
)
from backend.workflow.machines import OrderState

router = APIRouter(prefix="/api/v1/checkout", dependencies=V1_DEPENDENCIES, tags=["checkout"])
admin_router = APIRouter(prefix="/api/v1/orders", dependencies=V1_DEPENDENCIES, tags=["orders"])

MAX_ID = 2**31 - 1

# The document's maximum is ORDER_MAX_QUANTITY (backend.api.openapi fills it in); 1000 only bounds the input.
Quantity = Annotated[int, Field(ge=1, le=1000, json_schema_extra={"x-primsell-max": "order_max_quantity"})]


class CheckoutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    campaign_slug: str = Field(max_length=64)
    quantity: Quantity
    email: str = Field(max_length=254, json_schema_extra=EMAIL_SCHEMA)
    # Omit (or null, or "") for "keep it for me": a custodial wallet tied to the email's account.
    wallet_address: str | None = Field(default=None, max_length=64, json_schema_extra={
        "pattern": OPTIONAL_ADDRESS_PATTERN, "not": {"pattern": ZERO_ADDRESS_PATTERN}})


class RefundRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # 3 to 500 characters once surrounding whitespace is stripped (what admin.refund_order checks).
    reason: str = Field(max_length=500, json_schema_extra={"pattern": padded_pattern(
        rf"[^{WHITESPACE_CLASS}\x00][^\x00]{{1,498}}[^{WHITESPACE_CLASS}\x00]")})


# The orders list's filters and sort keys, as the document states them ("": no status filter).
OrderStatusFilter = Annotated[str, Query(max_length=40,
                                         json_schema_extra={"enum": ["", *(state.value for state in OrderState)]})]
OrderSort = Annotated[str, Query(max_length=40, json_schema_extra={"enum": sorted(admin.SORTABLE)})]


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


PUBLIC_READ = [Depends(limit_public_reads)]


@router.get("/quote", dependencies=PUBLIC_READ, response_model=dict[str, Any])
def get_quote(request: Request, campaign_slug: Annotated[str, Query(max_length=64)],
              quantity: Annotated[int, Query(ge=1, le=1000, json_schema_extra={"x-primsell-max": "order_max_quantity"})]
              = 1) -> Response:
    # No ETag: the quote carries the time of its exchange rate, which the static demo rates renew on every call.
    return cached_json(request, _plain(service.quote(campaign_slug, quantity)), LIVE_PUBLIC_CACHE, etag=False)


@router.post("", status_code=201)
def start_checkout(body: CheckoutRequest, ip: ClientIp, actor: OptionalActor) -> dict[str, Any]:
    """Reserve the supply and open the payment session; send the buyer to `payment_url` (our pay link) within
    ORDER_UNPAID_HOLD_SECONDS, or the reservation lapses. A signed-in buyer's bearer token counts for campaigns that
    ask for KYC."""
    return _plain(service.start_checkout(body.campaign_slug, body.quantity, body.email, body.wallet_address, ip,
                                         actor=actor))


@router.get("/orders/{public_id}", dependencies=PUBLIC_READ, response_model=dict[str, Any], responses=NOT_MODIFIED)
def get_order(request: Request, public_id: Annotated[str, Path(max_length=64)]) -> Response:
    """The order as its page shows it (email masked); poll it with If-None-Match and back off while nothing
    changes."""
    return cached_json(request, _plain(service.get_order_public(public_id)), PRIVATE_REVALIDATE)


@router.get("/orders/{public_id}/pay", dependencies=PUBLIC_READ, status_code=303, response_class=RedirectResponse,
            responses={303: {"description": "To the payment page while the order can be paid (the first visit starts "
                                            "the order's full time to pay), else to the order page."}})
def pay_order(public_id: Annotated[str, Path(max_length=64)]) -> RedirectResponse:
    return RedirectResponse(service.open_payment(public_id), status_code=303, headers={"Cache-Control": NO_STORE})


@admin_router.get("/mine")
def my_orders(actor: CurrentActor, limit: PageLimit = 20, offset: PageOffset = 0) -> dict[str, Any]:
    page = service.list_orders_for_user(actor, limit=limit, offset=offset)
    return {"items": _plain(page.items), "total": page.total, "limit": page.limit, "offset": page.offset}


@admin_router.get("")
def list_orders(actor: CurrentActor, brand_id: Annotated[int, Query(ge=1, le=MAX_ID)],
                status: OrderStatusFilter = "", campaign_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                date_from: QueryDateTime | None = None, date_to: QueryDateTime | None = None,
                search: Annotated[str, Query(max_length=200)] = "", sort: OrderSort = "created_at",
                order: Literal["asc", "desc"] = "desc", limit: PageLimit = 20,
                offset: PageOffset = 0) -> dict[str, Any]:
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


@admin_router.get("/export.csv", response_class=StreamingResponse, responses={200: {
    "description": "The orders as CSV (a header row, then one row per order)",
    "content": {"text/csv": {"schema": {"type": "string"}}},
}})
def export_orders(actor: Annotated[Actor, Depends(bearer_or_web_session)],
                  brand_id: Annotated[int, Query(ge=1, le=MAX_ID)], status: OrderStatusFilter = "",
                  campaign_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                  date_from: QueryDateTime | None = None, date_to: QueryDateTime | None = None,
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
    await run_in_threadpool(refunds.refund_order, actor, order_id, body.reason)
    return _plain(await run_in_threadpool(admin.order_detail, actor, order_id))
