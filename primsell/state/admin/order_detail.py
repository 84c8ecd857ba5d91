"""/admin/orders/[order]: one order's whole story (state transitions with who, payment events, refunds, the mint)
and the manual refund behind a confirmation with a reason."""

from __future__ import annotations

import asyncio

import reflex as rx

from backend.errors import DomainError, Forbidden, NotAuthenticated, NotFound
from backend.money import money_text
from backend.orders.admin import OrderDetail, TimelineEntry, order_detail
from backend.orders.refunds import refund_order, retry_refund
from primsell import routes
from primsell.format import utc_datetime
from primsell.state.session import SessionState, current_actor

REASON_MIN, REASON_MAX = 3, 500


def timeline_entry_row(entry: TimelineEntry) -> dict[str, str]:
    """Display-ready; a state change also carries its two states so the page can badge them."""
    row = {"at": utc_datetime(entry.at, seconds=True), "kind": entry.kind,
           "title": entry.title, "detail": entry.detail, "actor": entry.actor, "from": "", "to": ""}
    if entry.kind == "state" and " -> " in entry.title:
        row["from"], row["to"] = entry.title.split(" -> ", 1)
    return row


class AdminOrderDetailState(rx.State):
    order_id: int = 0
    loaded: bool = False
    not_found: bool = False
    forbidden: bool = False
    # The order (display-ready).
    public_id: str = ""
    order_page_url: str = ""
    campaign_name: str = ""
    campaign_url: str = ""
    status: str = ""
    email: str = ""
    buyer_verified: bool = False
    wallet_address: str = ""
    custodial: bool = False
    quantity: int = 0
    amount: str = ""
    paid_amount: str = ""
    refunded: str = ""
    tx_hash: str = ""
    token_ids: list[str] = []
    created_at: str = ""
    paid_at: str = ""
    expires_at: str = ""
    payment_provider: str = ""
    payment_session_id: str = ""
    payment_intent_id: str = ""
    failure_reason: str = ""
    refund_reason: str = ""
    entries: list[dict[str, str]] = []
    can_refund: bool = False
    can_retry_refund: bool = False  # the refund failed for good: it may be sent again
    retrying_refund: bool = False
    # The refund dialog.
    refund_open: bool = False
    refund_text: str = ""
    refund_error: str = ""
    refunding: bool = False

    def _show(self, d: OrderDetail) -> None:
        o = d.order
        self.public_id, self.status = o.public_id, o.status
        self.order_page_url = routes.order_page(o.public_id)
        self.campaign_name, self.campaign_url = o.campaign_name, routes.admin_campaign(o.campaign_id)
        self.email, self.wallet_address, self.custodial = o.email, o.wallet_address, o.custodial
        self.buyer_verified = d.buyer_verified
        self.quantity, self.amount = o.quantity, money_text(o.amount_minor, o.currency)
        self.paid_amount = money_text(d.paid_amount_minor, o.currency) if d.paid_amount_minor is not None else ""
        self.refunded = money_text(o.refunded_minor, o.currency) if o.refunded_minor else ""
        self.tx_hash, self.token_ids = o.tx_hash, list(o.token_ids)
        self.created_at, self.paid_at = utc_datetime(o.created_at), utc_datetime(o.paid_at)
        self.expires_at = utc_datetime(d.expires_at)
        self.payment_provider, self.payment_session_id = d.payment_provider, d.payment_session_id
        self.payment_intent_id = d.payment_intent_id
        self.failure_reason, self.refund_reason = d.failure_reason, d.refund_reason
        self.entries = [timeline_entry_row(e) for e in d.timeline]
        self.can_refund, self.can_retry_refund = d.can_refund, d.can_retry_refund

    @rx.event
    async def load_order(self):
        raw = self.router.url.path.rstrip("/").rsplit("/", 1)[-1]
        self.order_id = int(raw) if raw.isdigit() else 0
        self.loaded, self.not_found, self.forbidden = False, False, False
        self.refund_open, self.refund_text, self.refund_error, self.refunding = False, "", "", False
        actor = await current_actor(self)
        if actor is None:
            return SessionState.to_sign_in
        if not self.order_id:
            self.not_found, self.loaded = True, True
            return None
        try:
            detail = await asyncio.to_thread(order_detail, actor, self.order_id)
        except NotFound:
            self.not_found = True
        except (Forbidden, NotAuthenticated):
            # Another brand's order reads the same as a missing one.
            self.not_found = True
        else:
            self._show(detail)
        self.loaded = True
        return None

    @rx.event
    def set_refund_open(self, value: bool):
        self.refund_open = bool(value) and self.can_refund
        self.refund_error = ""

    @rx.event
    def set_refund_text(self, value: str):
        self.refund_text = value[:REASON_MAX]
        if self.refund_error and len(self.refund_text.strip()) >= REASON_MIN:
            self.refund_error = ""

    @rx.event
    async def refund(self):
        reason = self.refund_text.strip()
        if not REASON_MIN <= len(reason) <= REASON_MAX:
            self.refund_error = f"Give a reason ({REASON_MIN} to {REASON_MAX} characters): the buyer sees it."
            return
        actor = await current_actor(self)
        if actor is None:
            yield SessionState.to_sign_in
            return
        if self.refunding:
            return
        self.refunding = True
        yield
        try:
            await asyncio.to_thread(refund_order, actor, self.order_id, reason)
            detail = await asyncio.to_thread(order_detail, actor, self.order_id)
        except DomainError as exc:
            self.refunding = False
            self.refund_error = exc.fields.get("reason", "") or exc.message
            return
        self._show(detail)
        self.refunding, self.refund_open, self.refund_text = False, False, ""
        yield rx.toast.success("Refund issued: the buyer gets the full amount back.")

    @rx.event
    async def retry_refund(self):
        """Send again a refund the provider refused for good (a new refund with its own key)."""
        actor = await current_actor(self)
        if actor is None:
            yield SessionState.to_sign_in
            return
        if self.retrying_refund:
            return
        self.retrying_refund = True
        yield
        try:
            await asyncio.to_thread(retry_refund, actor, self.order_id)
            detail = await asyncio.to_thread(order_detail, actor, self.order_id)
        except DomainError as exc:
            self.retrying_refund = False
            yield rx.toast.error(exc.message)
            return
        self._show(detail)
        self.retrying_refund = False
        if detail.order.status == "refunded":
            yield rx.toast.success("Refund sent: the buyer gets the rest of the payment back.")
        else:
            yield rx.toast.warning("The refund was queued again; the provider has not confirmed it yet.")
