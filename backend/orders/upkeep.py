"""The order_expirer's work: reconcile unpaid orders past their TTL (or past their short unpaid hold, when the
payment page was never opened) with the provider (a lost webhook must not lose a payment), expire the rest,
releasing their supply, then run the refund steps of backend.orders.refunds (send queued refunds, follow pending
ones).

Network calls happen between transactions; every step is safe to run twice or from two runners (refunds
carry their idempotency key, order changes are version-guarded transitions under a row lock).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from backend.db import session_scope, utcnow
from backend.orders import fulfilment
from backend.orders.locks import lock_order, lock_payment
from backend.orders.models import PAYABLE, Order
from backend.orders.refunds import check_submitted_refunds, issue_refunds
from backend.payments.factory import get_provider
from backend.payments.provider import CheckoutSession, PaymentProvider, PaymentProviderError
from backend.settings import get_settings

log = logging.getLogger(__name__)

EXPIRER = "daemon:order_expirer"
# A completed session still unpaid is an asynchronous payment (a bank debit) in flight: its supply stays held and
# the provider is asked again this often, for up to ASYNC_PAYMENT_MAX_WAIT after the order was placed.
ASYNC_PAYMENT_RECHECK = timedelta(hours=1)
ASYNC_PAYMENT_MAX_WAIT = timedelta(days=14)


# -- expiry and reconciliation ----------------------------------------------------------------------------------------

def expire_and_reconcile(*, limit: int | None = None, provider: PaymentProvider | None = None,
                         now: datetime | None = None) -> int:
    """Unpaid orders past their TTL: ask the provider first (paid -> completed; open -> expire the session),
    then expire what is still unpaid. Returns how many orders changed."""
    limit = limit or get_settings().order_expirer_batch_size
    now = now or utcnow()
    with session_scope() as session:
        due = session.execute(
            select(Order.id, Order.payment_session_id).where(
                Order.state.in_(PAYABLE), Order.expires_at <= now,  # type: ignore[attr-defined]
            ).order_by(Order.expires_at, Order.id).limit(limit)
        ).all()
    changed = 0
    for order_id, session_id in due:
        remote = None
        if session_id:
            provider = provider or get_provider()
            try:
                remote = provider.retrieve_session(session_id)
                if remote.status == "open":
                    # Close it at the provider first, so the buyer cannot pay after we give up the supply.
                    remote = _close_session(provider, session_id)
            except PaymentProviderError as exc:
                if exc.retryable:
                    log.warning("order %s: provider unreachable during reconciliation (%s); next run", order_id, exc)
                    continue
                remote = None  # the provider does not know the session: nothing can be paid on it
        with session_scope() as session:
            lock_payment(session, remote.payment_intent if remote is not None else None)  # as the webhooks do
            order = lock_order(session, order_id=order_id)
            if order is None or order.state not in PAYABLE:
                continue
            if remote is not None and remote.status == "complete" and remote.payment_status in ("paid",
                                                                                               "no_payment_required"):
                outcome = fulfilment.apply_payment_completed(session, order, remote.as_event_object(),
                                                             source="reconciliation")
            elif remote is not None and remote.status == "complete" and now < order.created_at + ASYNC_PAYMENT_MAX_WAIT:
                order.expires_at = now + ASYNC_PAYMENT_RECHECK  # the buyer paid; the money is on its way
                session.add(order)
                outcome = "awaiting an asynchronous payment"
            else:
                # An order whose payment page was never opened held its supply only briefly (the unpaid hold).
                reason = "not paid in time" if order.payment_opened_at else "payment page not opened in time"
                outcome = fulfilment.expire_order(session, order, reason, actor=EXPIRER)
            changed += 1
            log.info("order %s reconciled: %s", order_id, outcome)
    return changed


def _close_session(provider: PaymentProvider, session_id: str) -> CheckoutSession:
    """Expire an open session. A provider that refuses for good (the buyer paid a moment ago, so the session is no
    longer open) is asked for the session again: its answer decides, not the refusal."""
    try:
        return provider.expire_session(session_id)
    except PaymentProviderError as exc:
        if exc.retryable:
            raise
        log.info("session %s could not be expired (%s); reading it again", session_id, exc)
        return provider.retrieve_session(session_id)


def expire_orders_and_send_refunds(*, provider: PaymentProvider | None = None, now: datetime | None = None) -> int:
    """One order_expirer tick: reconcile/expire, send refunds (including those just queued), follow pending ones."""
    changed = expire_and_reconcile(provider=provider, now=now)
    sent = issue_refunds(provider=provider, now=now)
    return changed + sent + check_submitted_refunds(provider=provider, now=now)
