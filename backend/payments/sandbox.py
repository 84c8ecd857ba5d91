"""SandboxProvider: the embedded payment provider used when no Stripe key is configured (no real money).

Its sessions and refunds live in our database. Its payment page (`/api/sandbox/pay/{session_id}`) pays or
declines by sending a correctly SIGNED Stripe-format event to the app's own webhook endpoint over HTTP, so the
real fulfilment path runs end to end. The sender is injectable (tests post through their TestClient).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select

from backend.db import session_scope, utcnow
from backend.errors import Conflict, NotFound
from backend.payments.models import SandboxRefund, SandboxSession
from backend.payments.provider import (
    ChargeRecord,
    CheckoutSession,
    PaymentProviderError,
    RefundRecord,
    RefundResult,
    SessionRequest,
)
from backend.payments.signing import sign
from backend.settings import get_settings
from backend.workflow.sql import dialect_name

log = logging.getLogger(__name__)

API_VERSION = "2025-09-30.clover"
SUCCESS_CARD = "4242424242424242"
# Test cards, as on Stripe's test-card page: each declines with its own reason.
DECLINE_CARDS = {
    "4000000000000002": ("card_declined", "generic_decline", "Your card was declined."),
    "4000000000009995": ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    "4000000000000069": ("expired_card", "expired_card", "Your card has expired."),
}

# (url, body, headers) -> HTTP status of the webhook's answer
Sender = Callable[[str, bytes, dict[str, str]], int]


def webhook_url() -> str:
    return f"{get_settings().public_url.rstrip('/')}/api/stripe/webhook"


def http_sender(url: str, body: bytes, headers: dict[str, str]) -> int:
    return httpx.post(url, content=body, headers=headers, timeout=10.0).status_code


_sender: Sender = http_sender


def set_sender(sender: Sender | None) -> None:
    """Where sandbox events go (tests: through their TestClient); None restores plain HTTP."""
    global _sender
    _sender = sender or http_sender


def _new_id(prefix: str) -> str:
    return f"{prefix}_sandbox_{secrets.token_hex(12)}"


def _session_obj(row: SandboxSession) -> CheckoutSession:
    return CheckoutSession(
        id=row.id, url=pay_page_url(row.id), status=row.status, payment_status=row.payment_status,
        amount_total=row.amount_total, currency=row.currency,
        payment_intent=row.payment_intent_id if row.status == "complete" else None,
        client_reference_id=row.client_reference_id, metadata=dict(row.metadata_),
    )


def pay_token(session_id: str) -> str:
    """The pay page's token for one session: an HMAC of the session id under the platform secret. Only the URL
    the buyer is sent to (their order's payment link) carries it, and the page's form posts it back, so a
    cross-site form that knows the session id alone cannot pay or cancel (CSRF)."""
    key = get_settings().require_secret("secret_key").encode()
    digest = hmac.new(key, b"sandbox-pay\x00" + session_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def pay_token_ok(session_id: str, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(pay_token(session_id), str(token))


def pay_page_url(session_id: str) -> str:
    base = get_settings().public_url.rstrip("/")
    return f"{base}/api/sandbox/pay/{session_id}?token={pay_token(session_id)}"


class SandboxProvider:
    name = "sandbox"

    def create_session(self, request: SessionRequest) -> CheckoutSession:
        with session_scope() as session:
            existing = session.execute(
                select(SandboxSession).where(SandboxSession.idempotency_key == request.idempotency_key)
            ).scalars().first()
            if existing is not None:  # the same request again: the same session, as Stripe's idempotency does
                return _session_obj(existing)
            row = SandboxSession(
                id=_new_id("cs"),
                idempotency_key=request.idempotency_key,
                order_id=request.order_id,
                client_reference_id=request.order_public_id,
                metadata_={"order_id": str(request.order_id), "order_public_id": request.order_public_id,
                           **request.metadata},
                line_items=[{"name": i.name, "unit_amount": i.unit_amount, "currency": i.currency.lower(),
                             "quantity": i.quantity} for i in request.line_items],
                amount_total=request.amount_total,
                currency=request.line_items[0].currency.lower(),
                payment_intent_id=_new_id("pi"),
                success_url=request.success_url,
                cancel_url=request.cancel_url,
                expires_at=request.expires_at,
            )
            session.add(row)
            session.flush()
            return _session_obj(row)

    def retrieve_session(self, session_id: str) -> CheckoutSession:
        with session_scope() as session:
            row = session.get(SandboxSession, session_id)
            if row is None:
                raise PaymentProviderError(f"No sandbox session {session_id}.", retryable=False, kind="invalid_request")
            return _session_obj(row)

    def expire_session(self, session_id: str) -> CheckoutSession:
        with session_scope() as session:
            row = _locked(session, session_id)
            if row is None:
                raise PaymentProviderError(f"No sandbox session {session_id}.", retryable=False, kind="invalid_request")
            if row.status == "open":
                row.status = "expired"
                session.add(row)
            return _session_obj(row)

    def refund(self, payment_intent: str, amount: int, *, idempotency_key: str,
               metadata: dict[str, str] | None = None) -> RefundResult:
        with session_scope() as session:
            existing = session.execute(
                select(SandboxRefund).where(SandboxRefund.idempotency_key == idempotency_key)).scalars().first()
            if existing is not None:
                return RefundResult(existing.id, existing.status, existing.amount)
            paid = session.execute(
                select(SandboxSession).where(SandboxSession.payment_intent_id == payment_intent,
                                             SandboxSession.payment_status == "paid")
            ).scalars().first()
            if paid is None:
                raise PaymentProviderError(f"No sandbox payment {payment_intent} to refund.", retryable=False,
                                           kind="invalid_request")
            if paid.amount_refunded + amount > paid.amount_total:
                raise PaymentProviderError("The refund is larger than what is left of the payment.",
                                           retryable=False, kind="invalid_request")
            paid.amount_refunded += amount
            row = SandboxRefund(id=_new_id("re"), idempotency_key=idempotency_key, payment_intent_id=payment_intent,
                                amount=amount, status="succeeded")
            session.add_all([paid, row])
            session.flush()
            return RefundResult(row.id, row.status, row.amount)

    def retrieve_refund(self, refund_id: str) -> RefundResult:
        with session_scope() as session:
            row = session.get(SandboxRefund, refund_id)
            if row is None:
                raise PaymentProviderError(f"No sandbox refund {refund_id}.", retryable=False, kind="invalid_request")
            return RefundResult(row.id, row.status, row.amount)


    # -- reconciliation: the sandbox's own records ----------------------------------------------------------------
    def list_charges(self, since: datetime) -> Iterator[ChargeRecord]:
        """Every paid sandbox session created since `since` (the sandbox takes the payment on its session)."""
        with session_scope() as session:
            rows = session.execute(
                select(SandboxSession).where(SandboxSession.payment_status == "paid",
                                             SandboxSession.created_at >= since)
                .order_by(SandboxSession.created_at)).scalars().all()
            charges = [ChargeRecord(id=row.id, payment_intent=row.payment_intent_id, amount=row.amount_total,
                                    currency=row.currency.upper(), created=row.created_at,
                                    metadata={str(k): str(v) for k, v in row.metadata_.items()}) for row in rows]
        yield from charges

    def list_refunds(self, since: datetime) -> Iterator[RefundRecord]:
        with session_scope() as session:
            rows = session.execute(
                select(SandboxRefund, SandboxSession.currency)
                .join(SandboxSession, SandboxSession.payment_intent_id == SandboxRefund.payment_intent_id,
                      isouter=True)
                .where(SandboxRefund.created_at >= since).order_by(SandboxRefund.created_at)).all()
            refunds = [RefundRecord(id=row.id, payment_intent=row.payment_intent_id, amount=row.amount,
                                    currency=(currency or "").upper(), status=row.status, created=row.created_at)
                       for row, currency in rows]
        yield from refunds


def _locked(session: Any, session_id: str) -> SandboxSession | None:
    stmt = select(SandboxSession).where(SandboxSession.id == session_id).execution_options(populate_existing=True)
    if dialect_name(session) == "postgresql":
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalars().first()


# -- the pay page's actions --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SandboxPage:
    session_id: str
    status: str
    payment_status: str
    amount_total: int
    currency: str
    line_items: list[dict[str, Any]]
    success_url: str
    cancel_url: str
    expires_at: datetime


def page(session_id: str) -> SandboxPage:
    with session_scope() as session:
        row = session.get(SandboxSession, session_id)
        if row is None:
            raise NotFound("This sandbox payment does not exist.")
        return SandboxPage(row.id, row.status, row.payment_status, row.amount_total, row.currency,
                           list(row.line_items), row.success_url, row.cancel_url, row.expires_at)


def build_event(kind: str, obj: dict[str, Any], *, created: int | None = None) -> dict[str, Any]:
    return {
        "id": _new_id("evt"), "object": "event", "api_version": API_VERSION,
        "created": created or int(time.time()), "livemode": False, "type": kind,
        "data": {"object": obj}, "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
    }


def session_event_object(row: SandboxSession) -> dict[str, Any]:
    return {
        "id": row.id, "object": "checkout.session", "mode": "payment", "status": row.status,
        "payment_status": row.payment_status, "amount_total": row.amount_total, "amount_subtotal": row.amount_total,
        "currency": row.currency, "client_reference_id": row.client_reference_id, "metadata": dict(row.metadata_),
        "payment_intent": row.payment_intent_id if row.status == "complete" else None,
        "success_url": row.success_url, "cancel_url": row.cancel_url,
        "expires_at": int(row.expires_at.timestamp()), "livemode": False,
    }


def send_event(event: dict[str, Any], sender: Sender | None = None) -> int:
    """Sign `event` like Stripe does and post it to our webhook; returns the webhook's HTTP status."""
    body = json.dumps(event, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "Stripe-Signature": sign(body),
               "User-Agent": "Primsell-Sandbox/1.0 (+https://stripe.com/docs/webhooks)"}
    status = (sender or _sender)(webhook_url(), body, headers)
    if status >= 300:
        log.warning("sandbox event %s got HTTP %s from the webhook", event["id"], status)
    return status


@dataclass(frozen=True)
class SandboxOutcome:
    outcome: str  # "paid" | "declined" | "expired"
    message: str
    redirect_url: str
    webhook_status: int | None  # None when the event could not be delivered (reconciliation catches up)


def _deliver(event: dict[str, Any], sender: Sender | None) -> int | None:
    try:
        return send_event(event, sender)
    except httpx.HTTPError as exc:
        log.warning("sandbox could not reach the webhook (%s); the order_expirer reconciles it", exc)
        return None


def pay(session_id: str, card_number: str = SUCCESS_CARD, *, sender: Sender | None = None) -> SandboxOutcome:
    """The buyer submits the sandbox card form: a test card that declines sends payment_intent.payment_failed
    (the session stays open, as on Stripe); any other card completes the session."""
    card = "".join(ch for ch in card_number if ch.isdigit()) or SUCCESS_CARD
    with session_scope() as session:
        row = _locked(session, session_id)
        if row is None:
            raise NotFound("This sandbox payment does not exist.")
        if row.status != "open":
            raise Conflict(f"This sandbox payment is already {row.status}.")
        if row.expires_at <= utcnow():
            raise Conflict("This sandbox payment session has expired.")
        if card in DECLINE_CARDS:
            code, decline_code, message = DECLINE_CARDS[card]
            event = build_event("payment_intent.payment_failed", {
                "id": row.payment_intent_id, "object": "payment_intent", "amount": row.amount_total,
                "currency": row.currency, "status": "requires_payment_method", "metadata": dict(row.metadata_),
                "last_payment_error": {"type": "card_error", "code": code, "decline_code": decline_code,
                                       "message": message},
            })
            outcome = SandboxOutcome("declined", message, "", None)
        else:
            row.status, row.payment_status = "complete", "paid"
            session.add(row)
            event = build_event("checkout.session.completed", session_event_object(row))
            outcome = SandboxOutcome("paid", "Payment succeeded (sandbox: no money moved).", row.success_url, None)
    # After the commit: the session is complete even if the webhook is unreachable right now.
    return SandboxOutcome(outcome.outcome, outcome.message, outcome.redirect_url, _deliver(event, sender))


def cancel(session_id: str, *, sender: Sender | None = None) -> SandboxOutcome:
    """The buyer lets the session expire: checkout.session.expired, as Stripe sends when it times out."""
    with session_scope() as session:
        row = _locked(session, session_id)
        if row is None:
            raise NotFound("This sandbox payment does not exist.")
        if row.status != "open":
            raise Conflict(f"This sandbox payment is already {row.status}.")
        row.status = "expired"
        session.add(row)
        event = build_event("checkout.session.expired", session_event_object(row))
        redirect = row.cancel_url
    return SandboxOutcome("expired", "The payment session was cancelled.", redirect, _deliver(event, sender))
