"""Correctly signed events that are not ours: another integration on the same Stripe account, or another Primsell
environment sharing it, puts `order_id=N` in its metadata too. They change nothing on order N and say so."""

from __future__ import annotations

from sqlalchemy import select

from backend.chain.models import MintRequest
from backend.db import session_scope
from backend.orders import service
from backend.payments import sandbox
from backend.payments.models import PaymentEvent, PaymentRefund
from backend.workflow.machines import OrderState
from tests.factories import make_brand, make_campaign
from tests.payments.support import (
    charge_refunded_event,
    completed_event,
    count,
    order_by_public,
    post_event,
    sandbox_row,
    settle,
)

WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"


def _order():  # type: ignore[no-untyped-def]
    campaign = make_campaign(make_brand(), supply_cap=10, price_minor=2500)
    started = service.start_checkout(campaign.slug, 1, "buyer@example.com", WALLET, "127.0.0.1")
    return order_by_public(started.public_id)


def _outcome(event: dict) -> tuple[str, int | None]:  # type: ignore[type-arg]
    with session_scope() as session:
        row = session.execute(select(PaymentEvent).where(PaymentEvent.event_id == event["id"])).scalar_one()
        assert row.processed_at is not None
        return row.outcome, row.order_id


def test_a_foreign_completion_naming_our_order_with_its_amount_does_not_pay_it(client) -> None:
    order = _order()
    foreign = sandbox.build_event("checkout.session.completed", {
        "id": "cs_test_someone_else", "object": "checkout.session", "status": "complete", "payment_status": "paid",
        "amount_total": order.amount_minor, "currency": order.currency.lower(), "client_reference_id": "other-77",
        "metadata": {"order_id": str(order.id)}, "payment_intent": "pi_test_someone_else",
    })
    assert post_event(client, foreign).status_code == 200
    settle()
    assert order_by_public(order.public_id).state is OrderState.AWAITING_PAYMENT
    assert count(MintRequest) == 0
    outcome, shown_on = _outcome(foreign)
    assert outcome.startswith("ignored: not ours") and shown_on is None
    # The order's own completion still pays it.
    assert post_event(client, completed_event(order)).status_code == 200
    settle()
    assert order_by_public(order.public_id).state is OrderState.MINTING
    assert count(MintRequest) == 1


def test_our_session_with_another_orders_id_in_its_metadata_is_not_applied(client) -> None:
    order, other = _order(), _order()
    event = completed_event(order)
    event["data"]["object"]["metadata"] = {"order_id": str(other.id)}
    post_event(client, event)
    settle()
    assert order_by_public(order.public_id).state is OrderState.AWAITING_PAYMENT
    assert order_by_public(other.public_id).state is OrderState.AWAITING_PAYMENT
    assert _outcome(event)[0].startswith("ignored: not ours")


def test_a_foreign_expiry_naming_our_order_does_not_expire_it(client) -> None:
    order = _order()
    foreign = sandbox.build_event("checkout.session.expired", {
        "id": "cs_test_someone_else", "object": "checkout.session", "status": "expired", "payment_status": "unpaid",
        "amount_total": 999, "currency": "usd", "metadata": {"order_id": str(order.id)},
    })
    post_event(client, foreign)
    settle()
    after = order_by_public(order.public_id)
    assert after.state is OrderState.AWAITING_PAYMENT and after.holds_supply
    assert _outcome(foreign)[0].startswith("ignored: not ours")


def test_a_foreign_declined_payment_naming_our_order_does_not_fail_it(client) -> None:
    order = _order()
    foreign = sandbox.build_event("payment_intent.payment_failed", {
        "id": "pi_test_someone_else", "object": "payment_intent", "status": "requires_payment_method",
        "metadata": {"order_id": str(order.id), "order_public_id": "someone-elses-order"},
        "last_payment_error": {"message": "Your card was declined."},
    })
    post_event(client, foreign)
    settle()
    after = order_by_public(order.public_id)
    assert after.state is OrderState.AWAITING_PAYMENT and after.failure_reason == ""
    assert _outcome(foreign)[0].startswith("ignored: not ours")


def test_our_declined_card_before_the_completion_still_fails_the_order(client) -> None:
    order = _order()  # its payment intent is not on the order until the session completes
    outcome = sandbox.pay(order.payment_session_id, "4000000000009995")  # the sandbox's "insufficient funds"
    assert outcome is not None
    settle()
    after = order_by_public(order.public_id)
    assert after.state is OrderState.PAYMENT_FAILED and "insufficient funds" in after.failure_reason


def test_a_foreign_refund_naming_our_paid_order_records_nothing_against_it(client) -> None:
    order = _order()
    post_event(client, completed_event(order))
    settle()
    foreign = sandbox.build_event("charge.refunded", {
        "id": "ch_test_someone_else", "object": "charge", "amount": 2500, "amount_refunded": 2500, "currency": "usd",
        "payment_intent": "pi_test_someone_else", "refunded": True, "metadata": {"order_id": str(order.id)},
    })
    post_event(client, foreign)
    settle()
    after = order_by_public(order.public_id)
    assert after.state is OrderState.MINTING and after.refunded_minor == 0
    assert count(PaymentRefund) == 0
    assert _outcome(foreign)[0].startswith("ignored: not ours")


def test_a_foreign_refund_naming_our_unpaid_order_is_not_attributed_to_it(client) -> None:
    order = _order()
    foreign = sandbox.build_event("charge.refunded", {
        "id": "ch_test_someone_else", "object": "charge", "amount": 2500, "amount_refunded": 2500, "currency": "usd",
        "payment_intent": "pi_test_someone_else", "refunded": True, "metadata": {"order_id": str(order.id)},
    })
    post_event(client, foreign)
    post_event(client, completed_event(order))
    settle()
    # Kept by its own payment intent, as any refund seen before its completion; our order's payment is untouched.
    assert count(PaymentRefund, PaymentRefund.order_id == order.id) == 0
    after = order_by_public(order.public_id)
    assert after.state is OrderState.MINTING and after.refunded_minor == 0
    assert _outcome(foreign)[1] is None


def test_our_refund_before_the_completion_naming_the_order_still_refunds_it(client) -> None:
    order = _order()
    event = charge_refunded_event(order)
    event["data"]["object"]["metadata"] = dict(sandbox_row(order).metadata_)  # order_id and order_public_id
    post_event(client, event)
    post_event(client, completed_event(order))
    settle()
    assert order_by_public(order.public_id).state is OrderState.REFUNDED
    assert count(MintRequest) == 0
