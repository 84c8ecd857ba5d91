"""The order_expirer's work: send queued refunds to the provider and follow those it left pending, reconcile unpaid
orders past their TTL (or past their short unpaid hold, when the payment page was never opened) with the provider
(a lost webhook must not lose a payment), and expire the rest, releasing their supply.

Network calls happen between transactions; every step is safe to run twice or from two runners (refunds
carry their idempotency key, order changes are version-guarded transitions under a row lock).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlmodel import Session

from backend.db import session_scope, utcnow
from backend.faults import crash_point
from backend.monitoring.errors import record_error
from backend.orders import fulfilment
from backend.orders.locks import lock_order, lock_payment
from backend.orders.models import Order
from backend.payments.factory import get_provider
from backend.payments.models import PaymentRefund, RefundStatus
from backend.payments.provider import (
    ALREADY_REFUNDED,
    CheckoutSession,
    PaymentProvider,
    PaymentProviderError,
    RefundResult,
)
from backend.settings import get_settings
from backend.workflow.machines import OrderState
from backend.workflow.outbox import backoff
from backend.workflow.sql import claim_batch

log = logging.getLogger(__name__)

EXPIRER = "daemon:order_expirer"
# A refund the provider accepted as "pending" is asked about again this often (its charge.refunded webhook
# settles it sooner; this covers a lost one).
REFUND_RECHECK = timedelta(minutes=10)
# A completed session still unpaid is an asynchronous payment (a bank debit) in flight: its supply stays held and
# the provider is asked again this often, for up to ASYNC_PAYMENT_MAX_WAIT after the order was placed.
ASYNC_PAYMENT_RECHECK = timedelta(hours=1)
ASYNC_PAYMENT_MAX_WAIT = timedelta(days=14)
# What a provider's refund status means here.
REFUND_OUTCOMES = {"succeeded": RefundStatus.SUCCEEDED, "failed": RefundStatus.FAILED,
                   "canceled": RefundStatus.FAILED}


# -- refunds ---------------------------------------------------------------------------------------------------------

def issue_refunds(*, limit: int | None = None, refund_ids: list[int] | None = None,
                  provider: PaymentProvider | None = None, now: datetime | None = None) -> int:
    """Send due refunds to the payment provider; returns how many were sent (successfully or not).

    A refund's amount is fixed when it is first sent: what is left of the payment then (a partial refund made at
    the provider in the meantime is not refunded twice), and the same on every retry (its idempotency key is only
    valid with the same parameters). Refunds of disputed orders wait (the provider refuses them until the dispute
    closes); a refund with nothing left to return is canceled, not sent."""
    settings = get_settings()
    limit = limit or settings.order_expirer_batch_size
    now = now or utcnow()
    r = PaymentRefund
    with session_scope() as session:
        query = (select(r.id, r.payment_intent_id, r.amount_minor, r.idempotency_key, r.order_id, r.attempts)
                 .outerjoin(Order, Order.id == r.order_id)
                 .where(r.status.in_([RefundStatus.PENDING, RefundStatus.SUBMITTING]),  # type: ignore[attr-defined]
                        r.next_attempt_at <= now,
                        or_(Order.id.is_(None), Order.state != OrderState.DISPUTED))  # type: ignore[union-attr]
                 .order_by(r.id))
        if refund_ids is not None:
            query = query.where(r.id.in_(refund_ids))  # type: ignore[union-attr]
        claimed = []
        for row in claim_batch(session, query, limit, of=PaymentRefund):
            amount = row[2] if row[5] else _amount_left(session, row[4], row[2])
            if amount <= 0:
                session.execute(update(PaymentRefund).where(r.id == row[0]).values(
                    status=RefundStatus.CANCELED, last_error="not sent: nothing was left to refund", updated_at=now))
                continue
            session.execute(update(PaymentRefund).where(r.id == row[0]).values(
                status=RefundStatus.SUBMITTING, attempts=r.attempts + 1, amount_minor=amount,
                next_attempt_at=now + timedelta(seconds=settings.refund_submit_timeout_s), updated_at=now))
            claimed.append((row[0], row[1], amount, row[3], row[4], row[5]))
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
        crash_point("refund.submit")  # the provider refunded; not recorded here
        _record_refund_outcome(refund_id, order_id, RefundStatus.SUBMITTING, result)
    return len(claimed)


def _amount_left(session: Session, order_id: int | None, amount: int) -> int:
    """What a refund not sent yet should ask for: its amount, at most what is left of the payment (0 when the order
    ended refunded some other way)."""
    order = session.get(Order, order_id) if order_id is not None else None
    if order is None:
        return amount
    if order.state is OrderState.REFUNDED:
        return 0
    return min(amount, fulfilment.left_to_refund(session, order))


def check_submitted_refunds(*, limit: int | None = None, provider: PaymentProvider | None = None,
                            now: datetime | None = None) -> int:
    """Ask the provider about refunds it accepted as pending and nobody confirmed since; returns how many settled."""
    limit = limit or get_settings().order_expirer_batch_size
    now = now or utcnow()
    r = PaymentRefund
    with session_scope() as session:
        due = session.execute(
            select(r.id, r.order_id, r.provider_refund_id).where(
                r.status == RefundStatus.SUBMITTED, r.next_attempt_at <= now, r.provider_refund_id != "")
            .order_by(r.next_attempt_at, r.id).limit(limit)
        ).all()
    settled = 0
    for refund_id, order_id, provider_refund_id in due:
        provider = provider or get_provider()
        try:
            result = provider.retrieve_refund(provider_refund_id)
        except PaymentProviderError as exc:
            log.warning("refund %s: could not ask the provider (%s); next run", refund_id, exc)
            result = None
        settled += _record_refund_outcome(refund_id, order_id, RefundStatus.SUBMITTED, result, now=now)
    return settled


def _record_refund_outcome(refund_id: int, order_id: int | None, expected: RefundStatus, result: RefundResult | None,
                           *, now: datetime | None = None) -> bool:
    """Store what the provider said of a refund (still `expected`); True when it is settled (succeeded or failed).

    Succeeded confirms the order's refund; failed or canceled is logged for an admin (the money is still with us);
    pending, or no answer, is asked about again after REFUND_RECHECK."""
    now = now or utcnow()
    status = REFUND_OUTCOMES.get(result.status, RefundStatus.SUBMITTED) if result else RefundStatus.SUBMITTED
    values: dict[str, object] = {"status": status, "next_attempt_at": now + REFUND_RECHECK, "updated_at": utcnow()}
    if result is not None:
        values.update(provider_refund_id=result.id, last_error="" if status is not RefundStatus.FAILED
                      else f"the provider reports the refund {result.status}")
    with session_scope() as session:
        moved = session.execute(update(PaymentRefund).where(PaymentRefund.id == refund_id,
                                                            PaymentRefund.status == expected).values(**values)
                                ).rowcount  # type: ignore[attr-defined]
        if moved and status is RefundStatus.SUCCEEDED and order_id is not None:
            order = lock_order(session, order_id=order_id)
            if order is not None:
                fulfilment.confirm_refunded(session, order)
    if moved and status is RefundStatus.FAILED:
        record_error("payments:refund_failed", RuntimeError(str(values["last_error"])),
                     {"refund_id": refund_id, "order_id": order_id})
    return bool(moved) and status is not RefundStatus.SUBMITTED


def _refund_failed(refund_id: int, order_id: int | None, attempts: int, exc: PaymentProviderError,
                   max_attempts: int) -> None:
    if exc.provider_code == ALREADY_REFUNDED:
        _already_refunded(refund_id, order_id)
        return
    settings = get_settings()
    now = utcnow()
    with session_scope() as session:
        # An attempt that did not reach the provider backs off like the others but spends no REFUND_MAX_ATTEMPTS:
        # a provider outage must not turn a refund we owe into a failed one.
        unreachable = int(session.execute(select(PaymentRefund.unreachable_attempts)
                                          .where(PaymentRefund.id == refund_id)).scalar_one()) + int(exc.unreachable)
        give_up = not exc.retryable or attempts - unreachable >= max_attempts
        session.execute(
            update(PaymentRefund).where(PaymentRefund.id == refund_id, PaymentRefund.status == RefundStatus.SUBMITTING)
            .values(status=RefundStatus.FAILED if give_up else RefundStatus.PENDING, last_error=exc.message[:1000],
                    unreachable_attempts=unreachable,
                    next_attempt_at=now + backoff(attempts, settings.outbox_backoff_base_s,
                                                  settings.outbox_backoff_max_s),
                    updated_at=now)
        )
    if give_up:
        record_error("payments:refund_failed", exc, {"refund_id": refund_id, "order_id": order_id,
                                                     "attempts": attempts})


def _already_refunded(refund_id: int, order_id: int | None) -> None:
    """The provider refused the refund because the payment is back with the buyer in full already (refunded in its
    dashboard, and that charge.refunded event not here yet or lost): the rest is recorded as refunded there."""
    now = utcnow()
    with session_scope() as session:
        refund = session.get(PaymentRefund, refund_id)
        if refund is None or refund.status is not RefundStatus.SUBMITTING:
            return
        refund.status, refund.updated_at = RefundStatus.CANCELED, now
        refund.last_error = "not needed: the provider reports the payment refunded in full already"
        session.add(refund)
        order = lock_order(session, order_id=order_id) if order_id is not None else None
        if order is None:
            return
        left = fulfilment.left_to_refund(session, order)
        if left > 0:
            fulfilment.record_provider_refund(session, order_id=order.id, payment_intent=refund.payment_intent_id,
                                              amount=left, currency=refund.currency,
                                              key=f"provider-already-{refund_id}")
        fulfilment.confirm_refunded(session, order)
    log.info("refund %s: the payment was refunded in full at the provider already", refund_id)


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
                    remote = _close_session(provider, session_id)
            except PaymentProviderError as exc:
                if exc.retryable:
                    log.warning("order %s: provider unreachable during reconciliation (%s); next run", order_id, exc)
                    continue
                remote = None  # the provider does not know the session: nothing can be paid on it
        with session_scope() as session:
            lock_payment(session, remote.payment_intent if remote is not None else None)  # as the webhooks do
            order = lock_order(session, order_id=order_id)
            if order is None or order.state not in fulfilment.PAYABLE:
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


def run_upkeep(*, provider: PaymentProvider | None = None, now: datetime | None = None) -> int:
    """One order_expirer tick: reconcile/expire, send refunds (including those just queued), follow pending ones."""
    changed = expire_and_reconcile(provider=provider, now=now)
    sent = issue_refunds(provider=provider, now=now)
    return changed + sent + check_submitted_refunds(provider=provider, now=now)
