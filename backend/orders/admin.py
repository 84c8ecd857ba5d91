"""Admin order reads: the order list and its CSV export, one order's whole timeline, a campaign dashboard. Each
checks the actor's permission for the brand before reading anything. (The refund commands: backend.orders.refunds.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlmodel import Session

from backend.auth.acl import Actor, Permission, load_in_brand, require_in_brand
from backend.campaigns.access import load_campaign
from backend.campaigns.models import Campaign
from backend.csv_safe import csv_text
from backend.db import session_scope
from backend.errors import ValidationFailed
from backend.kyc.gates import standing as kyc_standing
from backend.money import CURRENCY_EXPONENTS, money_text, to_decimal
from backend.orders import minting
from backend.orders.models import Order
from backend.orders.refunds import REFUNDABLE, refund_failed_for_good
from backend.pagination import Page, check_page
from backend.payments.models import PaymentEvent, PaymentRefund
from backend.workflow.machines import OrderState
from backend.workflow.transitions import history

SORTABLE = {
    "created_at": Order.created_at, "amount": Order.amount_minor, "status": Order.state,
    "email": Order.email, "quantity": Order.quantity, "paid_at": Order.paid_at,
}


@dataclass(frozen=True)
class OrderRow:
    id: int
    public_id: str
    campaign_id: int
    campaign_name: str
    status: str
    email: str
    wallet_address: str
    custodial: bool
    quantity: int
    amount_minor: int
    currency: str
    refunded_minor: int
    tx_hash: str
    token_ids: list[str]
    created_at: datetime
    paid_at: datetime | None


def _row(order: Order, campaign_name: str, tx_hash: str = "") -> OrderRow:
    """`tx_hash`: the mint transaction in flight, shown until the mint is confirmed and Order.mint_tx_hash set."""
    return OrderRow(order.id, order.public_id, order.campaign_id, campaign_name, order.state.value,  # type: ignore[arg-type]
                    order.email, order.wallet_address, order.custodial, order.quantity, order.amount_minor,
                    order.currency, order.refunded_minor, order.mint_tx_hash or tx_hash,
                    [str(t) for t in order.token_ids or []], order.created_at, order.paid_at)


def _filters(brand_id: int, status: OrderState | str | None, campaign_id: int | None, date_from: datetime | None,
             date_to: datetime | None, search: str) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Order.brand_id == brand_id]  # type: ignore[list-item]
    if status:
        try:
            where.append(Order.state == OrderState(status))  # type: ignore[arg-type]
        except ValueError as exc:
            raise ValidationFailed("Unknown status.", fields={"status": f"one of {', '.join(OrderState)}"}) from exc
    if campaign_id is not None:
        where.append(Order.campaign_id == campaign_id)  # type: ignore[arg-type]
    if date_from is not None:
        where.append(Order.created_at >= date_from)  # type: ignore[arg-type]
    if date_to is not None:
        where.append(Order.created_at < date_to)  # type: ignore[arg-type]
    term = search.strip().lower()
    if term:
        # autoescape: `_` and `%` in the term are literal characters (first_last@x.com), not LIKE wildcards.
        matches = [Order.email.contains(term, autoescape=True),  # type: ignore[attr-defined]
                   func.lower(Order.wallet_address).contains(term, autoescape=True),
                   func.lower(Order.mint_tx_hash).contains(term, autoescape=True),
                   Order.public_id == term]
        if HEXISH.match(term):
            # Order.mint_tx_hash is set once the mint confirms: a mint in flight is found by its transaction's hash.
            matches.append(Order.mint_key.in_(minting.mint_keys_with_tx_hash(term)))  # type: ignore[union-attr]
        where.append(or_(*matches))
    return where


HEXISH = re.compile(r"^(0x)?[0-9a-f]+$")


def _in_flight_hashes(session: Session, orders: list[Order]) -> dict[int, str]:
    """The current mint transaction hash of the orders still minting, by order id (one query for the page)."""
    keys = {o.mint_key: o.id for o in orders if o.state is OrderState.MINTING and not o.mint_tx_hash and o.mint_key}
    if not keys:
        return {}
    return {keys[key]: tx_hash for key, tx_hash in minting.mint_tx_hashes(session, list(keys)).items()}  # type: ignore[misc]


def _query(actor: Actor | None, brand_id: int, status: OrderState | str | None, campaign_id: int | None,
           date_from: datetime | None, date_to: datetime | None, search: str, sort: str, descending: bool) -> Any:
    require_in_brand(actor, Permission.ORDER_READ, brand_id)
    if sort not in SORTABLE:
        raise ValidationFailed("Unknown sort column.", fields={"sort": f"one of {', '.join(sorted(SORTABLE))}"})
    column = SORTABLE[sort]
    where = _filters(brand_id, status, campaign_id, date_from, date_to, search)
    query = select(Order, Campaign.name).join(Campaign, Campaign.id == Order.campaign_id).where(and_(*where))
    query = query.order_by(column.desc() if descending else column.asc(),  # type: ignore[union-attr]
                           Order.id.desc() if descending else Order.id.asc())  # type: ignore[union-attr]
    return query, where


def list_orders(actor: Actor | None, brand_id: int, *, status: OrderState | str | None = None,
                campaign_id: int | None = None, date_from: datetime | None = None, date_to: datetime | None = None,
                search: str = "", sort: str = "created_at", descending: bool = True, limit: int = 20,
                offset: int = 0) -> Page[OrderRow]:
    """One page of the brand's orders. `search` matches email, wallet, the mint's tx hash (substring; a mint in
    flight too) or the public id."""
    query, where = _query(actor, brand_id, status, campaign_id, date_from, date_to, search, sort, descending)
    limit, offset = check_page(limit, offset)
    with session_scope() as session:
        total = session.execute(select(func.count()).select_from(Order).where(and_(*where))).scalar_one()
        rows = session.execute(query.limit(limit).offset(offset)).all()
        in_flight = _in_flight_hashes(session, [o for o, _ in rows])
        return Page([_row(o, name, in_flight.get(o.id, "")) for o, name in rows],  # type: ignore[arg-type]
                    int(total), limit, offset)


def _decimal_text(amount: int, currency: str) -> str:
    if currency not in CURRENCY_EXPONENTS:
        return str(amount)
    exponent = CURRENCY_EXPONENTS[currency]
    return str(to_decimal(amount, currency).quantize(Decimal(1).scaleb(-exponent)))


CSV_COLUMNS = ["order_id", "public_id", "created_at", "status", "campaign", "email", "wallet_address", "custodial",
               "quantity", "currency", "amount", "refunded", "crypto_asset", "crypto_amount", "tx_hash", "token_ids",
               "paid_at"]


# Orders per page of an export: each page is read in its own short transaction and sent as one chunk.
EXPORT_PAGE = 500


def stream_orders_csv(actor: Actor | None, brand_id: int, *, status: OrderState | str | None = None,
                      campaign_id: int | None = None, date_from: datetime | None = None,
                      date_to: datetime | None = None, search: str = "", descending: bool = True) -> Iterator[str]:
    """Every matching order as CSV chunks (money as exact decimal strings, 12.50, never float), for a streamed
    download: memory stays at one page of EXPORT_PAGE orders whatever the export's size, and no transaction stays
    open while the client reads. Orders come by id (the order they were placed in), newest first unless
    `descending=False`, read page after page by id (keyset), so an order changing meanwhile is written once and
    orders placed after the export began are not in it. Permission and filters are checked here, before the
    first chunk, so a refusal is an error response, not a broken download."""
    require_in_brand(actor, Permission.ORDER_READ, brand_id)
    where = _filters(brand_id, status, campaign_id, date_from, date_to, search)
    return _csv_chunks(where, descending)


def _csv_chunks(where: list[ColumnElement[bool]], descending: bool) -> Iterator[str]:
    yield csv_text([CSV_COLUMNS])
    with session_scope() as session:  # the newest order when the export began: nothing placed later
        ceiling = session.execute(select(func.max(Order.id)).where(and_(*where))).scalar_one()
    if ceiling is None:
        return
    last: int | None = None
    while True:
        page = [*where, Order.id <= ceiling]  # type: ignore[operator]
        if last is not None:
            page.append(Order.id < last if descending else Order.id > last)  # type: ignore[operator]
        with session_scope() as session:
            rows = session.execute(
                select(Order, Campaign.name).join(Campaign, Campaign.id == Order.campaign_id).where(and_(*page))
                .order_by(Order.id.desc() if descending else Order.id.asc())  # type: ignore[union-attr]
                .limit(EXPORT_PAGE)).all()
            if not rows:
                return
            chunk = csv_text([_csv_row(order, name) for order, name in rows])
            last = rows[-1][0].id
        yield chunk
        if len(rows) < EXPORT_PAGE:
            return


def _csv_row(order: Order, campaign_name: str) -> list[Any]:
    return [
        order.id, order.public_id, order.created_at.isoformat(), order.state.value, campaign_name,
        order.email, order.wallet_address, "yes" if order.custodial else "no", order.quantity,
        order.currency, _decimal_text(order.amount_minor, order.currency),
        _decimal_text(order.refunded_minor, order.currency), order.crypto_asset,
        "" if order.crypto_amount is None else format(order.crypto_amount, "f"), order.mint_tx_hash,
        " ".join(str(t) for t in order.token_ids or []), order.paid_at.isoformat() if order.paid_at else "",
    ]


# -- one order ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # "created" | "state" | "payment_event" | "refund" | "mint"
    title: str
    detail: str = ""
    actor: str = ""


@dataclass(frozen=True)
class OrderDetail:
    order: OrderRow
    payment_provider: str
    payment_session_id: str
    payment_intent_id: str
    paid_amount_minor: int | None
    failure_reason: str
    refund_reason: str
    mint_key: str
    expires_at: datetime
    timeline: list[TimelineEntry] = field(default_factory=list)
    can_refund: bool = False
    can_retry_refund: bool = False  # its refund failed for good: an admin may send it again (retry_refund)
    # Whether the buyer's identity is verified (KYC) now: all a brand may know of it (no documents, no details).
    buyer_verified: bool = False


def order_detail(actor: Actor | None, order_id: int) -> OrderDetail:
    """The whole story of one order in one place: transitions (with who), payment events, refunds, the mint."""
    with session_scope() as session:
        order = load_in_brand(session, actor, Order, order_id, Permission.ORDER_READ, visible=Permission.ORDER_READ,
                              not_found="This order does not exist.")
        campaign = session.get(Campaign, order.campaign_id)
        timeline = [TimelineEntry(order.created_at, "created", "Order placed",
                                  f"{order.quantity} x {money_text(order.unit_price_minor, order.currency)} = "
                                  f"{money_text(order.amount_minor, order.currency)} by {order.email}",
                                  "consumer")]
        timeline += [TimelineEntry(h.at, "state", f"{h.from_state} -> {h.to_state}", h.reason, h.actor)
                     for h in history(actor, "order", order.id, session=session)]  # type: ignore[arg-type]
        events = session.execute(select(PaymentEvent).where(PaymentEvent.order_id == order.id)
                                 .order_by(PaymentEvent.id)).scalars().all()
        timeline += [TimelineEntry(e.received_at, "payment_event", e.type, f"{e.event_id}: {e.outcome or 'pending'}",
                                   "stripe") for e in events]
        refunds = session.execute(select(PaymentRefund).where(PaymentRefund.order_id == order.id)
                                  .order_by(PaymentRefund.id)).scalars().all()
        timeline += [TimelineEntry(r.created_at, "refund", f"Refund {r.status.value}",
                                   f"{_decimal_text(r.amount_minor, r.currency)} {r.currency}: {r.reason}"
                                   + (f" (last error: {r.last_error})" if r.last_error else ""), r.requested_by)
                     for r in refunds]
        if order.minted_at is not None:
            timeline.append(TimelineEntry(order.minted_at, "mint", "Minted",
                                          f"tx {order.mint_tx_hash}; tokens {', '.join(map(str, order.token_ids))}",
                                          "chain"))
        timeline.sort(key=lambda entry: entry.at)
        return OrderDetail(
            order=_row(order, campaign.name if campaign else "",
                       _in_flight_hashes(session, [order]).get(order.id, "")),  # type: ignore[arg-type]
            payment_provider=order.payment_provider, payment_session_id=order.payment_session_id or "",
            payment_intent_id=order.payment_intent_id or "", paid_amount_minor=order.paid_amount_minor,
            failure_reason=order.failure_reason, refund_reason=order.refund_reason, mint_key=order.mint_key or "",
            expires_at=order.expires_at, timeline=timeline,
            can_refund=order.state in REFUNDABLE and bool(actor and actor.can(Permission.ORDER_REFUND, order.brand_id)),
            can_retry_refund=refund_failed_for_good(session, order)
            and bool(actor and actor.can(Permission.ORDER_REFUND, order.brand_id)),
            buyer_verified=kyc_standing(session, order.user_id).verified,
        )



# -- campaign dashboard ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CampaignDashboard:
    campaign_id: int
    campaign_name: str
    currency: str
    revenue_minor: dict[str, int]  # paid minus refunded, per currency
    refunded_minor: dict[str, int]
    orders_by_status: dict[str, int]
    tokens_minted: int
    tokens_reserved: int  # campaign.sold_count: paid or awaiting payment
    supply_cap: int
    supply_left: int


PAID_STATES = (OrderState.PAID, OrderState.MINTING, OrderState.MINTED, OrderState.FULFILLED,
               OrderState.REFUND_PENDING, OrderState.REFUNDED, OrderState.DISPUTED)


def campaign_dashboard(actor: Actor | None, campaign_id: int) -> CampaignDashboard:
    with session_scope() as session:
        campaign = load_campaign(session, actor, campaign_id, Permission.ORDER_READ)
        by_status = {state.value: int(n) for state, n in session.execute(
            select(Order.state, func.count()).where(Order.campaign_id == campaign_id).group_by(Order.state))}
        revenue: dict[str, int] = {}
        refunded: dict[str, int] = {}
        for currency, paid, back in session.execute(
            select(Order.paid_currency, func.coalesce(func.sum(Order.paid_amount_minor), 0),
                   func.coalesce(func.sum(Order.refunded_minor), 0))
            .where(Order.campaign_id == campaign_id, Order.paid_at.is_not(None),  # type: ignore[union-attr]
                   Order.state.in_(PAID_STATES))  # type: ignore[attr-defined]
            .group_by(Order.paid_currency)
        ):
            revenue[currency] = int(paid) - int(back)
            refunded[currency] = int(back)
        minted = session.execute(select(func.coalesce(func.sum(Order.quantity), 0)).where(
            Order.campaign_id == campaign_id, Order.minted_at.is_not(None))).scalar_one()  # type: ignore[union-attr]
        return CampaignDashboard(campaign.id, campaign.name, campaign.currency, revenue, refunded,  # type: ignore[arg-type]
                                 by_status, int(minted), campaign.sold_count, campaign.supply_cap, campaign.supply_left)
