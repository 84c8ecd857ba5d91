"""What a payment or mint event does to an order: pay -> mint request -> minted -> fulfilled, or refuse and
refund, expire, dispute. Every function runs in the caller's transaction (a subscriber's or the expirer's).

Exactly-once comes from three layers, each enough alone: the relay's processed marker per (subscriber,
event), the order's version-guarded state transitions under a row lock, and UNIQUE keys (payment event id,
mint key, refund idempotency key). Events may arrive in any order: a refund or dispute seen before the
completion is recorded by payment intent and applied when the completion arrives.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import exists, select, update
from sqlmodel import Session

from backend.db import utcnow
from backend.errors import DomainError
from backend.money import money_text
from backend.monitoring.errors import record_error
from backend.orders import minting
from backend.orders.errors import PaymentMismatch
from backend.orders.locks import lock_order, lock_payment, release_supply
from backend.orders.models import PAYABLE, Order
from backend.orders.refunds import (
    PAYMENT_SYSTEM,
    confirm_refunded,
    fully_refunded,
    record_provider_refund,
    refund_rest,
    refunded_total,
)
from backend.payments.models import PaymentEvent, PaymentRefund, RefundStatus
from backend.workflow.machines import ORDER, OrderState
from backend.workflow.outbox import emit
from backend.workflow.transitions import transition

log = logging.getLogger(__name__)

MINT_SYSTEM = "system:minting"


def _money(amount: int | None, currency: str) -> str:
    return "an unknown amount" if amount is None else money_text(amount, currency)


def refuse_payment(session: Session, order: Order, reason: str) -> str:
    """Money arrived for an order that will not be fulfilled: release its supply and refund it in full."""
    release_supply(session, order)
    order.refund_reason = reason[:500]
    session.add(order)
    session.flush()
    transition(session, order, "refuse_payment", actor=PAYMENT_SYSTEM, reason=reason)
    return "refused; " + refund_rest(session, order, reason, PAYMENT_SYSTEM)


# -- payment outcomes ------------------------------------------------------------------------------------------------

def apply_payment_completed(session: Session, order: Order, obj: dict[str, Any], *, source: str) -> str:
    """A Checkout Session completed (webhook or reconciliation). Pays the order once, or refuses the money.

    The common case costs one lookup of earlier refunds and disputes of the payment intent and one UPDATE (the
    payment fields go with the "pay" transition)."""
    payment_status = obj.get("payment_status")
    if payment_status not in ("paid", "no_payment_required"):
        return f"not paid yet (payment_status={payment_status})"
    if order.paid_at is not None:
        return "duplicate completion ignored"
    amount, currency = obj.get("amount_total"), str(obj.get("currency") or "").upper()
    payment = {
        "payment_intent_id": obj.get("payment_intent") or order.payment_intent_id,
        "paid_amount_minor": amount if isinstance(amount, int) else None,
        "paid_currency": currency[:3],
        "paid_at": utcnow(),
    }
    payment_intent = payment["payment_intent_id"]
    refunds_known, disputed = _earlier_on_intent(session, payment_intent)
    if refunds_known:  # refunds recorded before we knew the order get linked now
        session.execute(update(PaymentRefund).where(PaymentRefund.payment_intent_id == payment_intent,
                                                    PaymentRefund.order_id.is_(None))  # type: ignore[union-attr]
                        .values(order_id=order.id))
    mismatch = amount != order.amount_minor or currency != order.currency
    paid = payment["paid_amount_minor"] or 0
    refunded_first = refunds_known and paid > 0 and refunded_total(session, payment_intent) >= paid
    if mismatch or order.state not in PAYABLE or refunded_first:
        for name, value in payment.items():  # recorded whatever happens next: a second completion is a duplicate
            setattr(order, name, value)
        session.add(order)
        session.flush()
    if mismatch:
        exc = PaymentMismatch(f"order {order.id}: paid {_money(amount, currency)}, expected "
                              f"{_money(order.amount_minor, order.currency)}")
        record_error("payments:amount_mismatch", exc, {"order_id": order.id, "source": source,
                                                       "session_id": obj.get("id")}, session=session)
        log.error("%s; refunding", exc)
        return refuse_payment(session, order, (
            f"The amount charged ({_money(amount, currency)}) did not match the order "
            f"({_money(order.amount_minor, order.currency)}), so the order was not fulfilled and the payment "
            "is refunded in full."))
    if order.state is OrderState.EXPIRED:
        return refuse_payment(session, order, "Your payment arrived after the order had expired, so it is "
                                              "refunded in full.")
    if order.state not in PAYABLE:
        log.warning("order %s: completion in state %s ignored", order.id, order.state.value)
        return f"ignored in state {order.state.value}"
    if refunded_first:
        return refuse_payment(session, order, "The payment was refunded before it was processed, so the order "
                                              "was not fulfilled.")
    transition(session, order, "pay", actor=PAYMENT_SYSTEM, reason=f"{source}: {_money(amount, currency)}",
               also=payment)
    emit(session, "order.paid", {"order_id": order.id, "public_id": order.public_id},
         entity=("order", order.id), key=f"order.paid:{order.id}")
    if disputed:  # a dispute opened before we saw the completion
        transition(session, order, "dispute", actor=PAYMENT_SYSTEM, reason="dispute opened before completion")
        return "paid; disputed"
    return "paid"


def _earlier_on_intent(session: Session, payment_intent: str | None) -> tuple[bool, bool]:
    """(any refund recorded, a dispute opened) for the payment intent before its completion was applied."""
    if not payment_intent:
        return False, False
    row = session.execute(select(
        exists().where(PaymentRefund.payment_intent_id == payment_intent),
        exists().where(PaymentEvent.payment_intent_id == payment_intent, PaymentEvent.type == "charge.dispute.created"),
    )).one()
    return bool(row[0]), bool(row[1])


def apply_payment_failed(session: Session, order: Order, message: str, *, final: bool) -> str:
    """A declined card (the buyer may retry until the order expires), or a failed async payment (final)."""
    reason = (message or "The payment was declined.")[:500]
    if order.state is OrderState.AWAITING_PAYMENT:
        transition(session, order, "fail_payment", actor=PAYMENT_SYSTEM, reason=reason)
    elif order.state is not OrderState.PAYMENT_FAILED:
        return f"ignored in state {order.state.value}"
    order.failure_reason = reason
    session.add(order)
    if final:
        return expire_order(session, order, "the payment failed", actor=PAYMENT_SYSTEM)
    return "payment failed"


def expire_order(session: Session, order: Order, reason: str, *, actor: str) -> str:
    if order.state not in PAYABLE:
        return f"not expired: {order.state.value}"
    release_supply(session, order)
    session.flush()
    transition(session, order, "expire", actor=actor, reason=reason)
    return "expired"


def apply_charge_refunded(session: Session, order: Order | None, obj: dict[str, Any]) -> str:
    """A charge was refunded: ours confirmed, one made in the provider's dashboard, or both.

    The charge's `amount_refunded` is the running total of everything refunded on it, so it is matched against
    the refunds we know: our refunds the provider has (submitted) are confirmed oldest first while the total
    covers them, and what the total still leaves unexplained is recorded as a refund made at the provider. A
    refund of ours not sent yet is never confirmed by someone else's refund: when it is sent, it asks only for
    what is left of the payment. Redeliveries and out-of-order totals change nothing (the total only grows)."""
    payment_intent = obj.get("payment_intent")
    cumulative = obj.get("amount_refunded")
    if not payment_intent:
        return "ignored: no payment intent"
    if not isinstance(cumulative, int) or cumulative < 0:
        return "ignored: no refunded amount"
    now = utcnow()
    uncovered = cumulative - refunded_total(session, payment_intent)
    if uncovered > 0:
        ours = session.execute(select(PaymentRefund.id, PaymentRefund.amount_minor).where(
            PaymentRefund.payment_intent_id == payment_intent, PaymentRefund.origin == "primsell",
            PaymentRefund.status.in_([RefundStatus.SUBMITTING, RefundStatus.SUBMITTED]),  # type: ignore[attr-defined]
        ).order_by(PaymentRefund.id)).all()
        confirmed = []
        for refund_id, amount in ours:
            if amount <= uncovered:
                confirmed.append(refund_id)
                uncovered -= amount
        if confirmed:
            session.execute(update(PaymentRefund).where(PaymentRefund.id.in_(confirmed))  # type: ignore[union-attr]
                            .values(status=RefundStatus.SUCCEEDED, updated_at=now))
    if uncovered > 0:
        record_provider_refund(session, order_id=order.id if order else None, payment_intent=payment_intent,
                               amount=uncovered, currency=str(obj.get("currency") or ""),
                               key=f"provider-{obj.get('id')}-{cumulative}")
    if order is None:
        return "refund recorded; order not known yet"
    if order.state in PAYABLE or (order.state is OrderState.EXPIRED and order.paid_at is None):
        return "refund recorded before completion"
    before = order.state
    confirm_refunded(session, order)
    if not fully_refunded(order):
        return f"refund of {_money(order.refunded_minor, order.currency)} in all recorded"
    if before is OrderState.REFUND_PENDING:
        return "refunded"
    if order.state in (OrderState.PAID, OrderState.MINTED, OrderState.FULFILLED):
        return _refunded_at_provider(session, order)
    if order.state is OrderState.MINTING:  # the mint's outcome settles it: apply_mint_completed / apply_mint_failed
        record_error("payments:refund_during_mint", RuntimeError(f"order {order.id} refunded while minting"),
                     {"order_id": order.id}, session=session)
    return f"refund recorded in state {order.state.value}"


def _refunded_at_provider(session: Session, order: Order) -> str:
    """The money went back outside Primsell (the provider's dashboard): the order ends refunded, as it is."""
    if order.state is OrderState.PAID:
        release_supply(session, order)
    order.refund_reason = order.refund_reason or "Your payment was refunded."
    session.add(order)
    session.flush()
    transition(session, order, "request_refund", actor=PAYMENT_SYSTEM, reason="refunded at the payment provider")
    confirm_refunded(session, order)
    return "refunded at the provider"


def _refund_requested(session: Session, order: Order) -> bool:
    """Has Primsell asked to give this order's money back (a refund of ours exists, or its mint failed)? An order
    with nothing minted that gave its supply back counts too: minting it now would oversell."""
    if order.minted_at is None and not order.holds_supply:
        return True
    if minting.mint_failed(session, order.id):  # type: ignore[arg-type]
        return True
    return bool(session.execute(select(exists().where(
        PaymentRefund.order_id == order.id, PaymentRefund.origin == "primsell",
        PaymentRefund.status != RefundStatus.CANCELED))).scalar())


def apply_dispute(session: Session, order: Order | None, obj: dict[str, Any], *, closed: bool) -> str:
    """A dispute (chargeback) opened or closed. While it is open no refund of ours is sent (the provider refuses
    refunds of a disputed charge). Won: the order goes back to where it was heading (refunded if a refund was asked
    for or the mint failed, fulfilled if minted, else minting resumes). Lost: the card holder has the money back."""
    if order is None:
        return "dispute recorded; order not known yet"
    reason = str(obj.get("reason") or "unspecified")
    if not closed:
        if not ORDER.allowed(order.state, "dispute"):
            return f"dispute recorded in state {order.state.value}"
        order.failure_reason = f"The payment is disputed ({reason})."
        session.add(order)
        session.flush()
        transition(session, order, "dispute", actor=PAYMENT_SYSTEM, reason=f"dispute {obj.get('id')}: {reason}")
        return "disputed"
    if order.state is not OrderState.DISPUTED:
        return f"dispute close ignored in state {order.state.value}"
    status = obj.get("status")
    dispute = f"dispute {obj.get('id')}"
    if status == "won":
        order.failure_reason = ""
        session.add(order)
        session.flush()
        if _refund_requested(session, order):
            transition(session, order, "win_dispute_refund", actor=PAYMENT_SYSTEM, reason=f"{dispute} won")
            return "dispute won; " + refund_rest(session, order, order.refund_reason or f"{dispute} won",
                                                 PAYMENT_SYSTEM)
        if order.minted_at is not None:
            transition(session, order, "win_dispute", actor=PAYMENT_SYSTEM, reason=f"{dispute} won")
        else:
            transition(session, order, "win_dispute_unminted", actor=PAYMENT_SYSTEM, reason=f"{dispute} won")
            emit(session, "order.paid", {"order_id": order.id, "public_id": order.public_id, "resumed": True},
                 entity=("order", order.id))
        return "dispute won"
    if status == "lost":
        if order.minted_at is None:
            release_supply(session, order)
        order.refunded_minor = int(obj.get("amount") or order.paid_amount_minor or 0)
        order.refund_reason = "The payment was returned to the card holder after a dispute."
        session.add(order)
        # The money went back through the dispute: a refund of ours not sent yet is no longer needed.
        session.execute(update(PaymentRefund).where(
            PaymentRefund.order_id == order.id, PaymentRefund.status == RefundStatus.PENDING,
        ).values(status=RefundStatus.CANCELED, last_error=f"not sent: {dispute} lost", updated_at=utcnow()))
        session.flush()
        transition(session, order, "lose_dispute", actor=PAYMENT_SYSTEM, reason=f"{dispute} lost")
        return "dispute lost"
    return f"dispute closed with status {status}"


# -- the webhook subscriber's dispatch -------------------------------------------------------------------------------

class NotOurs(Exception):
    """A correctly signed event whose object is not shown to belong to the order its metadata names: another
    integration on the same Stripe account, or another Primsell environment sharing it, numbers its orders too."""


def _order_for(session: Session, pe: PaymentEvent, obj: dict[str, Any]) -> Order | None:
    """The order an event is about, found by what Stripe itself links to the order; `metadata.order_id` is only a
    hint, which must agree. Raises NotOurs when the hint names an order the object does not belong to; None when
    no order is known (yet) for it.

    A Checkout Session is ours only as the order's own `payment_session_id`. A payment intent, charge or dispute is
    the order's when its payment intent is the order's `payment_intent_id` (recorded when its session completes).
    Before that (a declined card, or a refund or dispute seen before the completion) the intent can only be linked
    by its metadata naming both the order's id and its public id (a random token nobody else has: copied onto the
    intent from the session, see stripe_provider). A charge or dispute not linked so is recorded by its payment
    intent and attached when the completion arrives, as one without metadata always was."""
    named = pe.order_id
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    if str(obj.get("object")) == "checkout.session":
        session_id = obj.get("id")
        order = lock_order(session, session_id=session_id) if isinstance(session_id, str) and session_id else None
        if order is None:
            if named is not None:
                raise NotOurs(f"session {session_id} is no order's; its metadata names order {named}")
            return None
        reference = obj.get("client_reference_id")
        if (named is not None and named != order.id) or (reference and reference != order.public_id):
            raise NotOurs(f"session {session_id} is order {order.id}'s; its metadata or reference names another")
        return order
    intent = pe.payment_intent_id
    order = lock_order(session, payment_intent=intent) if intent else None
    if order is not None:
        if named is not None and named != order.id:
            raise NotOurs(f"payment {intent} is order {order.id}'s; its metadata names order {named}")
        return order
    if named is None:
        return None
    candidate = lock_order(session, order_id=named)
    if candidate is None or (candidate.payment_intent_id and candidate.payment_intent_id != intent) or not intent:
        raise NotOurs(f"payment {intent} is not order {named}'s")
    if str(metadata.get("order_public_id") or "") == candidate.public_id:
        return candidate  # an early event of the order's own payment (its intent is not recorded yet)
    if pe.type.startswith("charge."):
        return None
    raise NotOurs(f"payment {intent} is not shown to be order {named}'s")


def handle_payment_event(session: Session, pe: PaymentEvent) -> str:
    """Apply one stored provider event; returns what it did (kept on the event for the admin timeline)."""
    obj: dict[str, Any] = (pe.payload.get("data") or {}).get("object") or {}
    kind = pe.type
    if kind not in HANDLED_TYPES:
        log.info("payment event %s of type %s acknowledged and ignored", pe.event_id, kind)
        return "ignored: unhandled type"
    # Events of one payment that carry no order id (refunds, disputes) are not ordered with its completion by the
    # outbox: the payment's lock makes them apply one after the other, each seeing what the other committed.
    lock_payment(session, pe.payment_intent_id)
    try:
        order = _order_for(session, pe, obj)
    except NotOurs as exc:
        # Nothing changes, and the event no longer shows on the order it named (the outcome says why).
        log.warning("payment event %s (%s) ignored, not ours: %s", pe.event_id, kind, exc)
        pe.order_id = None
        return f"ignored: not ours ({exc})"
    pe.order_id = order.id if order is not None else None
    if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        if order is None:
            return "ignored: no such order"
        return apply_payment_completed(session, order, obj, source=kind)
    if kind == "checkout.session.async_payment_failed":
        if order is None:
            return "ignored: no such order"
        return apply_payment_failed(session, order, "The payment did not go through.", final=True)
    if kind == "checkout.session.expired":
        if order is None:
            return "ignored: no such order"
        return expire_order(session, order, "the payment session expired", actor=PAYMENT_SYSTEM)
    if kind == "payment_intent.payment_failed":
        if order is None:
            return "ignored: no such order"
        error = obj.get("last_payment_error") or {}
        return apply_payment_failed(session, order, str(error.get("message") or ""), final=False)
    if kind == "charge.refunded":
        return apply_charge_refunded(session, order, obj)
    if kind == "charge.dispute.created":
        return apply_dispute(session, order, obj, closed=False)
    if kind == "charge.dispute.closed":
        return apply_dispute(session, order, obj, closed=True)
    return "ignored"


HANDLED_TYPES = frozenset({
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "payment_intent.payment_failed",
    "charge.refunded",
    "charge.dispute.created",
    "charge.dispute.closed",
})


# -- minting --------------------------------------------------------------------------------------------------------

def request_mint_for_paid_order(session: Session, order_id: int) -> str:
    """order.paid -> exactly one mint request (keyed by the order) and the order moves to minting. A request the
    chain side refuses for good (e.g. an address it cannot mint to) refunds the order instead of keeping the money."""
    order = lock_order(session, order_id=order_id)
    if order is None or order.state is not OrderState.PAID:
        return "skipped"
    try:
        with session.begin_nested():
            key = minting.queue_order_mint(session, order.id, order.campaign_id, order.wallet_address, order.quantity)  # type: ignore[arg-type]
    except DomainError as exc:
        record_error("orders:mint_refused", exc, {"order_id": order.id}, session=session)
        return _mint_failed(session, order, str(exc), MINT_SYSTEM)
    first = {"mint_key": key, "mint_requested_at": utcnow()} if order.mint_key is None else None
    transition(session, order, "start_mint", actor=MINT_SYSTEM, reason=f"mint request {key}", also=first)
    return "mint requested"


def apply_mint_completed(session: Session, payload: dict[str, Any]) -> str:
    order_id = minting.order_id_from_key(payload.get("key"))
    if order_id is None:
        return "not an order"
    order = lock_order(session, order_id=order_id)
    if order is None:
        return "no such order"
    if order.minted_at is not None:
        return "duplicate"
    order.token_ids = [str(t) for t in payload.get("token_ids") or []]
    order.mint_tx_hash = str(payload.get("tx_hash") or "")[:66]
    order.minted_at = utcnow()
    session.add(order)
    session.flush()
    tx = order.mint_tx_hash or "?"
    if order.state is OrderState.PAID:  # a won dispute sent it back to paid while its mint was still on its way
        transition(session, order, "start_mint", actor=MINT_SYSTEM, reason="mint completed")
    if order.state is OrderState.MINTING:
        transition(session, order, "confirm_mint", actor=MINT_SYSTEM, reason=f"tx {tx}")
        transition(session, order, "fulfil", actor=MINT_SYSTEM, reason="tokens delivered to " + order.wallet_address)
        if fully_refunded(order):  # refunded at the provider while the mint was in flight: not kept as sold
            return "fulfilled; " + _refunded_at_provider(session, order)
        return "fulfilled"
    return f"mint recorded in state {order.state.value}"  # disputed: settled when the dispute closes


def apply_mint_failed(session: Session, payload: dict[str, Any]) -> str:
    order_id = minting.order_id_from_key(payload.get("key"))
    if order_id is None:
        return "not an order"
    order = lock_order(session, order_id=order_id)
    if order is None or order.state not in (OrderState.MINTING, OrderState.PAID, OrderState.DISPUTED):
        return "ignored"
    cause = str(payload.get("reason") or payload.get("error") or "unknown error")[:200]
    return _mint_failed(session, order, cause, MINT_SYSTEM)


MINT_FAILED_REASON = "We could not mint your NFT, so your payment is refunded in full."


def _mint_failed(session: Session, order: Order, cause: str, actor: str) -> str:
    """The order's tokens will not be minted: give the supply back and refund the buyer. The consumer reads a plain
    reason; the technical cause goes to the history (what admins see). A disputed order keeps its dispute: the
    refund waits for its outcome (see apply_dispute)."""
    release_supply(session, order)
    order.refund_reason = MINT_FAILED_REASON
    session.add(order)
    session.flush()
    if order.state is OrderState.DISPUTED:
        return "mint failed; the refund waits for the dispute"
    transition(session, order, "request_refund", actor=actor, reason=f"mint failed: {cause}")
    return refund_rest(session, order, f"mint failed: {cause}", actor)
