"""Refunds, in one place: the ledger (what the buyer paid, what went back, the refunds Primsell queues), sending
queued refunds to the payment provider and following those it left pending (the order_expirer's refund steps), and
the admin's refund commands.

The ledger functions run in the caller's transaction (a subscriber's, the order_expirer's or an admin command's);
the provider calls happen between transactions, each refund carrying its idempotency key, so every step is safe to
run twice or from two runners.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlmodel import Session

from backend.auth.acl import Actor, Permission, load_in_brand
from backend.db import session_scope, utcnow
from backend.errors import ValidationFailed
from backend.faults import crash_point
from backend.money import money_text
from backend.monitoring.errors import record_error
from backend.orders.errors import RefundNotAllowed
from backend.orders.locks import lock_order, release_supply
from backend.orders.models import Order
from backend.payments.factory import get_provider
from backend.payments.models import PaymentRefund, RefundStatus
from backend.payments.provider import ALREADY_REFUNDED, PaymentProvider, PaymentProviderError, RefundResult
from backend.settings import get_settings
from backend.workflow.machines import OrderState
from backend.workflow.outbox import backoff
from backend.workflow.sql import claim_batch, insert_ignore
from backend.workflow.transitions import transition

log = logging.getLogger(__name__)

PAYMENT_SYSTEM = "system:payments"
# Orders an admin may refund: paid (not yet minting), minted or fulfilled.
REFUNDABLE = (OrderState.PAID, OrderState.MINTED, OrderState.FULFILLED)
# A refund the provider accepted as "pending" is asked about again this often (its charge.refunded webhook
# settles it sooner; this covers a lost one).
REFUND_RECHECK = timedelta(minutes=10)
# What a provider's refund status means here.
REFUND_OUTCOMES = {"succeeded": RefundStatus.SUCCEEDED, "failed": RefundStatus.FAILED,
                   "canceled": RefundStatus.FAILED}


# -- the ledger -----------------------------------------------------------------------------------------------------

def paid_amount(order: Order) -> int:
    """What the buyer paid (as the provider reported it), else what the order asked for."""
    return order.paid_amount_minor if order.paid_amount_minor is not None else order.amount_minor


def left_to_refund(session: Session, order: Order) -> int:
    """What of the order's payment has not gone back to the buyer yet."""
    return paid_amount(order) - refunded_total(session, order.payment_intent_id)


def record_provider_refund(session: Session, *, order_id: int | None, payment_intent: str, amount: int,
                           currency: str, key: str) -> None:
    """A refund made outside Primsell (the provider's dashboard), recorded as succeeded, once per `key`."""
    now = utcnow()
    insert_ignore(session, PaymentRefund.__table__, {
        "order_id": order_id, "payment_intent_id": payment_intent, "idempotency_key": key[:120],
        "amount_minor": amount, "currency": currency.upper()[:3], "reason": "refunded at the payment provider",
        "requested_by": "provider", "origin": "provider", "status": RefundStatus.SUCCEEDED,
        "provider_refund_id": "", "attempts": 0, "next_attempt_at": now, "last_error": "",
        "created_at": now, "updated_at": now,
    }, ["idempotency_key"])


def refund_key(order_id: int, attempt: int = 1) -> str:
    """Idempotency key of an order's `attempt`-th refund, sent to the provider: each refund Primsell asks for has its
    own key, which every retry of that refund reuses. (A second refund exists only when the first failed for good
    or a partial refund left money to return.)"""
    base = f"primsell-refund-order-{order_id}"
    return base if attempt == 1 else f"{base}-{attempt}"


def refunded_total(session: Session, payment_intent: str | None) -> int:
    """What has gone back to the buyer on a payment so far: its succeeded refunds, ours and the provider's."""
    if not payment_intent:
        return 0
    return int(session.execute(
        select(func.coalesce(func.sum(PaymentRefund.amount_minor), 0)).where(
            PaymentRefund.payment_intent_id == payment_intent, PaymentRefund.status == RefundStatus.SUCCEEDED)
    ).scalar_one())


def refund_in_flight(session: Session, order: Order) -> int | None:
    """The id of the order's refund that Primsell asked for and that is still on its way (queued, being sent, or
    accepted by the provider and not confirmed yet), or None."""
    return session.execute(select(PaymentRefund.id).where(
        PaymentRefund.order_id == order.id, PaymentRefund.origin == "primsell",
        PaymentRefund.status.in_([RefundStatus.PENDING, RefundStatus.SUBMITTING, RefundStatus.SUBMITTED]),  # type: ignore[attr-defined]
    ).order_by(PaymentRefund.id).limit(1)).scalar_one_or_none()


def open_refund(session: Session, order: Order, reason: str, requested_by: str) -> int | None:
    """Queue a refund of what is left of the order's payment (sent by the order_expirer daemon, or at once by an
    admin's request); returns its id. A refund of the order already on its way is returned instead of a second
    one; None when nothing is left to refund (or there is no payment to refund: logged for an admin)."""
    if not order.payment_intent_id:
        if paid_amount(order) > 0:
            record_error("payments:refund_without_payment", RuntimeError(f"order {order.id} has no payment intent"),
                         {"order_id": order.id}, session=session)
        return None
    in_flight = refund_in_flight(session, order)
    if in_flight is not None:
        return in_flight
    left = left_to_refund(session, order)
    if left <= 0:
        return None
    earlier = session.execute(select(func.count()).where(PaymentRefund.order_id == order.id,
                                                         PaymentRefund.origin == "primsell")).scalar_one()
    key = refund_key(order.id, int(earlier) + 1)  # type: ignore[arg-type]
    now = utcnow()
    insert_ignore(session, PaymentRefund.__table__, {
        "order_id": order.id, "payment_intent_id": order.payment_intent_id, "idempotency_key": key,
        "amount_minor": left, "currency": order.paid_currency or order.currency, "reason": reason[:500],
        "requested_by": requested_by[:80], "origin": "primsell", "status": RefundStatus.PENDING,
        "provider_refund_id": "", "attempts": 0, "next_attempt_at": now, "last_error": "", "created_at": now,
        "updated_at": now,
    }, ["idempotency_key"])
    return session.execute(select(PaymentRefund.id).where(PaymentRefund.idempotency_key == key)).scalar_one()


def confirm_refunded(session: Session, order: Order, actor: str = PAYMENT_SYSTEM) -> bool:
    """Bring the order's refunded amount up to date from its payment's refunds; a refund_pending order whose
    payment is back in full becomes refunded. True when it did."""
    total = refunded_total(session, order.payment_intent_id)
    order.refunded_minor = max(order.refunded_minor, total)
    session.add(order)
    if order.state is OrderState.REFUND_PENDING and (fully_refunded(order) or paid_amount(order) == 0):
        transition(session, order, "confirm_refund", actor=actor,
                   reason=f"refunded {money_text(order.refunded_minor, order.paid_currency or order.currency)}")
        return True
    return False


def refund_rest(session: Session, order: Order, reason: str, requested_by: str) -> str:
    """A refund_pending order: confirm it when its payment is back in full already, else queue the rest."""
    if confirm_refunded(session, order):
        return "refunded already"
    if open_refund(session, order, reason, requested_by) is None:
        return "nothing to refund"
    return "refund queued"


def fully_refunded(order: Order) -> bool:
    """The buyer has had back all they paid (and they paid something)."""
    paid = paid_amount(order)
    return paid > 0 and order.refunded_minor >= paid



# -- sending and following refunds (the order_expirer's refund steps) ---------------------------------------------

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
    with session_scope() as session:
        query = (select(PaymentRefund.id, PaymentRefund.payment_intent_id, PaymentRefund.amount_minor,
                        PaymentRefund.idempotency_key, PaymentRefund.order_id, PaymentRefund.attempts)
                 .outerjoin(Order, Order.id == PaymentRefund.order_id)
                 .where(PaymentRefund.status.in_([RefundStatus.PENDING, RefundStatus.SUBMITTING]),  # type: ignore[attr-defined]
                        PaymentRefund.next_attempt_at <= now,
                        or_(Order.id.is_(None), Order.state != OrderState.DISPUTED))  # type: ignore[union-attr]
                 .order_by(PaymentRefund.id))
        if refund_ids is not None:
            query = query.where(PaymentRefund.id.in_(refund_ids))  # type: ignore[union-attr]
        claimed = []
        for row in claim_batch(session, query, limit, of=PaymentRefund):
            amount = row[2] if row[5] else _amount_left(session, row[4], row[2])
            if amount <= 0:
                session.execute(update(PaymentRefund).where(PaymentRefund.id == row[0]).values(
                    status=RefundStatus.CANCELED, last_error="not sent: nothing was left to refund", updated_at=now))
                continue
            session.execute(update(PaymentRefund).where(PaymentRefund.id == row[0]).values(
                status=RefundStatus.SUBMITTING, attempts=PaymentRefund.attempts + 1, amount_minor=amount,
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
    return min(amount, left_to_refund(session, order))


def check_submitted_refunds(*, limit: int | None = None, provider: PaymentProvider | None = None,
                            now: datetime | None = None) -> int:
    """Ask the provider about refunds it accepted as pending and nobody confirmed since; returns how many settled."""
    limit = limit or get_settings().order_expirer_batch_size
    now = now or utcnow()
    with session_scope() as session:
        due = session.execute(
            select(PaymentRefund.id, PaymentRefund.order_id, PaymentRefund.provider_refund_id).where(
                PaymentRefund.status == RefundStatus.SUBMITTED, PaymentRefund.next_attempt_at <= now,
                PaymentRefund.provider_refund_id != "")
            .order_by(PaymentRefund.next_attempt_at, PaymentRefund.id).limit(limit)
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
                confirm_refunded(session, order)
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
        left = left_to_refund(session, order)
        if left > 0:
            record_provider_refund(session, order_id=order.id, payment_intent=refund.payment_intent_id,
                                              amount=left, currency=refund.currency,
                                              key=f"provider-already-{refund_id}")
        confirm_refunded(session, order)
    log.info("refund %s: the payment was refunded in full at the provider already", refund_id)



# -- the admin's refund commands ------------------------------------------------------------------------------------

def _order_to_refund(session: Session, actor: Actor | None, order_id: int) -> Order:
    order = load_in_brand(session, actor, Order, order_id, Permission.ORDER_REFUND, visible=Permission.ORDER_READ,
                          not_found="This order does not exist.")
    locked = lock_order(session, order_id=order.id)
    assert locked is not None
    return locked


def refund_order(actor: Actor | None, order_id: int, reason: str) -> None:
    """An admin refunds a paid order in full. Allowed when paid (not yet minting), minted or fulfilled; a
    minted token stays with the buyer (it is on chain), so its supply is not released. A command: the admin page
    reads the order again (backend.orders.admin.order_detail) to show the outcome."""
    reason = reason.strip()
    if not 3 <= len(reason) <= 500:
        raise ValidationFailed("Give a reason for the refund.", fields={"reason": "3 to 500 characters"})
    with session_scope() as session:
        order = _order_to_refund(session, actor, order_id)
        if order.state not in REFUNDABLE:
            hint = " Wait until the mint finishes." if order.state is OrderState.MINTING else ""
            raise RefundNotAllowed(f"An order in state {order.state.value!r} cannot be refunded.{hint}")
        if order.state is OrderState.PAID:
            release_supply(session, order)
        order.refund_reason = reason
        session.add(order)
        session.flush()
        who = f"user:{actor.user_id}"  # type: ignore[union-attr]
        transition(session, order, "request_refund", actor=who, reason=reason)
        refund_id = _open_refund(session, order, reason, who)
    _send_now(refund_id)


def retry_refund(actor: Actor | None, order_id: int) -> None:
    """An admin sends again the refund of an order whose refund failed for good (the provider refused it: e.g. the
    card account is closed, or the payment was disputed then). A new refund, with its own idempotency key, for what
    is left of the payment."""
    with session_scope() as session:
        order = _order_to_refund(session, actor, order_id)
        if not refund_failed_for_good(session, order):
            raise RefundNotAllowed("Only an order whose refund failed can have its refund sent again.")
        who = f"user:{actor.user_id}"  # type: ignore[union-attr]
        refund_id = _open_refund(session, order, order.refund_reason or "refund retried", who)
    _send_now(refund_id)


def _open_refund(session: Session, order: Order, reason: str, who: str) -> int | None:
    """An admin's refund of what is left of the payment; when nothing is left (all of it was refunded at the
    provider already) the order is confirmed refunded instead, and there is nothing to send."""
    refund_id = open_refund(session, order, reason, who)
    if refund_id is None:
        confirm_refunded(session, order, actor=who)
    return refund_id


def _send_now(refund_id: int | None) -> None:
    """The provider call, after the commit; if it fails, the order_expirer retries it with the same key."""
    if refund_id is not None:
        issue_refunds(refund_ids=[refund_id])


def refund_failed_for_good(session: Session, order: Order) -> bool:
    """A refund_pending order whose latest refund of ours failed (so nothing is on its way to the buyer)."""
    if order.state is not OrderState.REFUND_PENDING:
        return False
    latest = session.execute(select(PaymentRefund.status).where(
        PaymentRefund.order_id == order.id, PaymentRefund.origin == "primsell").order_by(PaymentRefund.id.desc())  # type: ignore[union-attr]
        .limit(1)).scalar_one_or_none()
    return latest == RefundStatus.FAILED
