"""The order_expirer's work: send queued refunds to the provider, reconcile unpaid orders past their TTL with
the provider (a lost webhook must not lose a payment), and expire the rest, releasing their supply.

Network calls happen between transactions; every step is safe to run twice or from two runners (refunds
carry their idempotency key, order changes are version-guarded transitions under a row lock).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update

from backend.db import session_scope, utcnow
from backend.monitoring.errors import record_error
from backend.orders import fulfilment
from backend.orders.locks import lock_order
from backend.orders.models import Order
from backend.payments.models import PaymentRefund, RefundStatus
from backend.payments.provider import PaymentProvider, PaymentProviderError, get_provider
from backend.settings import get_settings
from backend.workflow.machines import OrderState
from backend.workflow.outbox import backoff
from backend.workflow.sql import claim_batch

log = logging.getLogger(__name__)

EXPIRER = "daemon:order_expirer"
SUBMIT_TIMEOUT = timedelta(minutes=5)  # a "submitting" refund older than this was abandoned by a dead worker


# -- refunds ---------------------------------------------------------------------------------------------------------

def issue_refunds(*, limit: int | None = None, refund_ids: list[int] | None = None,
                  provider: PaymentProvider | None = None, now: datetime | None = None) -> int:
    """Send due refunds to the payment provider; returns how many were sent (successfully or not)."""
    settings = get_settings()
    limit = limit or settings.order_expirer_batch_size
    now = now or utcnow()
    r = PaymentRefund
    with session_scope() as session:
        query = select(r.id, r.payment_intent_id, r.amount_minor, r.idempotency_key, r.order_id, r.attempts).where(
            r.status.in_([RefundStatus.PENDING, RefundStatus.SUBMITTING]), r.next_attempt_at <= now,  # type: ignore[attr-defined]
        ).order_by(r.id)
        if refund_ids is not None:
            query = query.where(r.id.in_(refund_ids))  # type: ignore[union-attr]
        claimed = claim_batch(session, query, limit, of=PaymentRefund)
        if claimed:
            session.execute(update(PaymentRefund).where(r.id.in_([c[0] for c in claimed]))  # type: ignore[union-attr]
                            .values(status=RefundStatus.SUBMITTING, attempts=r.attempts + 1,
                                    next_attempt_at=now + SUBMIT_TIMEOUT, updated_at=now))
    if not claimed:
        return 0
    provider = provider or get_provider()
    for refund_id, payment_intent, amount, key, order_id, attempts in claimed:
        try:
            result = provider.refund(payment_intent, amount, idempotency_key=key,
                                     metadata={"order_id": str(order_id or "")})
        except PaymentProviderError as exc:
            _refund_failed(refund_id, order_id, attempts + 1, exc, settings.refund_max_attempts)
            continue
        with session_scope() as session:
            status = RefundStatus.SUCCEEDED if result.status == "succeeded" else RefundStatus.SUBMITTED
            moved = session.execute(
                update(PaymentRefund).where(PaymentRefund.id == refund_id,
                                            PaymentRefund.status == RefundStatus.SUBMITTING)
                .values(status=status, provider_refund_id=result.id, last_error="", updated_at=utcnow())
            ).rowcount  # type: ignore[attr-defined]
            if moved and status is RefundStatus.SUCCEEDED and order_id is not None:
                order = lock_order(session, order_id=order_id)
                if order is not None:
                    fulfilment.confirm_refunded(session, order, result.amount)
    return len(claimed)


def _refund_failed(refund_id: int, order_id: int | None, attempts: int, exc: PaymentProviderError,
                   max_attempts: int) -> None:
    settings = get_settings()
    give_up = not exc.retryable or attempts >= max_attempts
    now = utcnow()
    with session_scope() as session:
        session.execute(
            update(PaymentRefund).where(PaymentRefund.id == refund_id, PaymentRefund.status == RefundStatus.SUBMITTING)
            .values(status=RefundStatus.FAILED if give_up else RefundStatus.PENDING, last_error=exc.message[:1000],
                    next_attempt_at=now + backoff(attempts, settings.outbox_backoff_base_s,
                                                  settings.outbox_backoff_max_s),
                    updated_at=now)
        )
    if give_up:
        record_error("payments:refund_failed", exc, {"refund_id": refund_id, "order_id": order_id,
                                                     "attempts": attempts})


# -- expiry and reconciliation ------------------------------------------------------------------------------------------

def expire_and_reconcile(*, limit: int | None = None, provider: PaymentProvider | None = None,
                         now: datetime | None = None) -> int:
    """Unpaid orders past their TTL: ask the provider first (paid -> completed; open -> expire the session),
    then expire what is still unpaid. Returns how many orders changed."""
    limit = limit or get_settings().order_expirer_batch_size
    now = now or utcnow()
    with session_scope() as session:
        due = session.execute(
            select(Order.id, Order.payment_session_id).where(
                Order.state.in_(fulfilment.PAYABLE), Order.expires_at <= now,  # type: ignore[attr-defined]
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
                    remote = provider.expire_session(session_id)
            except PaymentProviderError as exc:
                if exc.retryable:
                    log.warning("order %s: provider unreachable during reconciliation (%s); next run", order_id, exc)
                    continue
                remote = None  # the provider does not know the session: nothing can be paid on it
        with session_scope() as session:
            order = lock_order(session, order_id=order_id)
            if order is None or order.state not in fulfilment.PAYABLE:
                continue
            if remote is not None and remote.status == "complete" and remote.payment_status in ("paid",
                                                                                               "no_payment_required"):
                outcome = fulfilment.apply_payment_completed(session, order, remote.as_event_object(),
                                                             source="reconciliation")
            else:
                outcome = fulfilment.expire_order(session, order, "not paid in time", actor=EXPIRER)
            changed += 1
            log.info("order %s reconciled: %s", order_id, outcome)
    return changed


def run_upkeep(*, provider: PaymentProvider | None = None, now: datetime | None = None) -> int:
    """One order_expirer tick: reconcile/expire, then send refunds (including those just queued)."""
    changed = expire_and_reconcile(provider=provider, now=now)
    return changed + issue_refunds(provider=provider, now=now)
