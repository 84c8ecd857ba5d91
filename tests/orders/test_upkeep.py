"""The order_expirer against Stripe's edge cases, with the real stripe-python client and a fake Stripe on 127.0.0.1:
an asynchronous payment in flight keeps its order, a session paid while it was being expired is paid, and a
refund Stripe accepted as pending is followed until it settles (its webhook may never come)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from backend.db import session_scope, utcnow
from backend.monitoring.models import ErrorLogEntry
from backend.orders import refunds, service
from backend.orders.locks import lock_order
from backend.orders.refunds import REFUND_RECHECK, check_submitted_refunds, issue_refunds
from backend.orders.upkeep import ASYNC_PAYMENT_MAX_WAIT, ASYNC_PAYMENT_RECHECK, expire_and_reconcile
from backend.payments.factory import set_provider
from backend.payments.models import PaymentRefund, RefundStatus
from backend.payments.stripe_provider import StripeProvider
from backend.workflow.machines import OrderState
from backend.workflow.transitions import transition
from tests.factories import make_brand, make_campaign
from tests.payments.support import FakeStripe, Recorded, order_by_public

WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"
SESSION_ID = "cs_test_fake"  # what the fake answers a session create with


@pytest.fixture
def stripe(fake_stripe: FakeStripe) -> FakeStripe:
    set_provider(StripeProvider.from_settings(api_key="sk_test_fake", api_base=fake_stripe.url,
                                              max_network_retries=0))
    return fake_stripe


def _session(status: str, payment_status: str = "unpaid", **extra: Any) -> dict[str, Any]:
    return {"id": SESSION_ID, "object": "checkout.session", "url": f"https://checkout.stripe.test/{SESSION_ID}",
            "status": status, "payment_status": payment_status, "amount_total": 2500, "currency": "usd",
            "payment_intent": None, "metadata": {}} | extra


def _answers(session_answers: list[dict[str, Any]]) -> Callable[[Recorded], tuple[int, dict[str, Any]]]:
    """Session create -> open; then each later session call gets the next of `session_answers` (the last repeats)."""
    def answer(req: Recorded) -> tuple[int, dict[str, Any]]:
        if req.method == "POST" and req.path == "/v1/checkout/sessions":
            return 200, _session("open")
        return 200, session_answers.pop(0) if len(session_answers) > 1 else session_answers[0]
    return answer


def _checkout(stripe: FakeStripe, supply_cap: int = 1):  # type: ignore[no-untyped-def]
    campaign = make_campaign(make_brand(), supply_cap=supply_cap, price_minor=2500)
    started = service.start_checkout(campaign.slug, 1, "b@example.com", WALLET, "127.0.0.1")
    return campaign, order_by_public(started.public_id)


def test_a_completed_session_still_unpaid_keeps_its_supply_until_the_money_arrives(stripe: FakeStripe) -> None:
    stripe.default = _answers([_session("complete", "unpaid")])  # a bank debit: paid by the buyer, not yet settled
    campaign, order = _checkout(stripe)
    later = order.expires_at + timedelta(minutes=1)

    assert expire_and_reconcile(now=later) == 1
    waiting = order_by_public(order.public_id)
    assert waiting.state is OrderState.AWAITING_PAYMENT
    assert waiting.expires_at == later + ASYNC_PAYMENT_RECHECK  # asked again in an hour, not every tick
    assert service.quote(campaign.slug, 1).supply_left == 0  # still held for this buyer
    assert not any(r.path.endswith("/expire") for r in stripe.requests)  # a completed session is never expired
    assert expire_and_reconcile(now=later + timedelta(minutes=5)) == 0  # not due again yet

    # Past the longest a debit takes, the order gives its supply back (a late success is then refunded).
    assert expire_and_reconcile(now=order.created_at + ASYNC_PAYMENT_MAX_WAIT + timedelta(minutes=1)) == 1
    assert order_by_public(order.public_id).state is OrderState.EXPIRED
    assert service.quote(campaign.slug, 1).supply_left == 1


def test_a_session_paid_while_it_was_being_expired_is_paid_not_expired(stripe: FakeStripe) -> None:
    paid = _session("complete", "paid", payment_intent="pi_paid_just_now")
    answers = [_session("open"), paid]

    def answer(req: Recorded) -> tuple[int, dict[str, Any]]:
        if req.method == "POST" and req.path == "/v1/checkout/sessions":
            return 200, _session("open")
        if req.path.endswith("/expire"):  # Stripe: only an open session can be expired
            return 400, {"error": {"type": "invalid_request_error", "message": "Only Checkout Sessions with a "
                                   "status of `open` can be expired."}}
        return 200, answers.pop(0) if len(answers) > 1 else answers[0]

    stripe.default = answer
    campaign, order = _checkout(stripe)
    assert expire_and_reconcile(now=order.expires_at + timedelta(minutes=1)) == 1
    final = order_by_public(order.public_id)
    assert final.state is OrderState.PAID and final.payment_intent_id == "pi_paid_just_now"
    assert service.quote(campaign.slug, 1).supply_left == 0
    assert [r.path.rsplit("/", 1)[-1] for r in stripe.requests[1:]] == [SESSION_ID, "expire", SESSION_ID]


def _refund_pending_order(campaign) -> int:  # type: ignore[no-untyped-def]
    """A paid order whose refund is queued (as a failed mint or an admin leaves it)."""
    order_id = _checkout_row(campaign)
    with session_scope() as session:
        order = lock_order(session, order_id=order_id)
        assert order is not None
        transition(session, order, "pay", actor="test", also={"payment_intent_id": "pi_refund_me",
                                                               "paid_amount_minor": 2500, "paid_currency": "USD",
                                                               "paid_at": utcnow()})
        transition(session, order, "request_refund", actor="test", reason="mint failed")
        refunds.open_refund(session, order, "mint failed", "test")
    return order_id


def _checkout_row(campaign) -> int:  # type: ignore[no-untyped-def]
    started = service.start_checkout(campaign.slug, 1, "b@example.com", WALLET, "127.0.0.1")
    return int(order_by_public(started.public_id).id)  # type: ignore[arg-type]


def _refund_answers(refund_status: str) -> Callable[[Recorded], tuple[int, dict[str, Any]]]:
    def answer(req: Recorded) -> tuple[int, dict[str, Any]]:
        if req.path.startswith("/v1/checkout/sessions"):
            return 200, _session("open")
        if req.method == "POST" and req.path == "/v1/refunds":
            return 200, {"id": "re_1", "object": "refund", "status": "pending", "amount": 2500}
        if req.method == "GET" and req.path == "/v1/refunds/re_1":
            return 200, {"id": "re_1", "object": "refund", "status": refund_status, "amount": 2500}
        return 404, {"error": {"type": "invalid_request_error", "message": "unknown path"}}
    return answer


def _refund_row() -> PaymentRefund:
    with session_scope() as session:
        row = session.execute(select(PaymentRefund)).scalars().one()
        session.expunge(row)
        return row


def test_a_refund_stripe_left_pending_is_followed_until_it_succeeds(stripe: FakeStripe) -> None:
    stripe.default = _refund_answers("succeeded")
    order_id = _refund_pending_order(make_campaign(make_brand(), supply_cap=5))
    now = utcnow()
    assert issue_refunds(now=now) == 1
    assert _refund_row().status is RefundStatus.SUBMITTED
    assert check_submitted_refunds(now=now) == 0  # not due yet: nothing asked
    assert not any(r.method == "GET" and r.path.startswith("/v1/refunds") for r in stripe.requests)

    assert check_submitted_refunds(now=now + REFUND_RECHECK + timedelta(seconds=1)) == 1
    assert _refund_row().status is RefundStatus.SUCCEEDED
    with session_scope() as session:
        order = lock_order(session, order_id=order_id)
        assert order is not None and order.state is OrderState.REFUNDED and order.refunded_minor == 2500
    assert check_submitted_refunds(now=now + 2 * REFUND_RECHECK) == 0  # settled: never asked again


def test_a_refund_stripe_reports_failed_is_logged_for_an_admin(stripe: FakeStripe) -> None:
    stripe.default = _refund_answers("failed")
    order_id = _refund_pending_order(make_campaign(make_brand(), supply_cap=5))
    now = utcnow()
    issue_refunds(now=now)
    assert check_submitted_refunds(now=now + REFUND_RECHECK + timedelta(seconds=1)) == 1
    refund = _refund_row()
    assert refund.status is RefundStatus.FAILED and "failed" in refund.last_error
    with session_scope() as session:
        assert session.execute(select(ErrorLogEntry.source)).scalars().all() == ["payments:refund_failed"]
        order = lock_order(session, order_id=order_id)
        assert order is not None and order.state is OrderState.REFUND_PENDING  # the money is not back yet


def test_a_stripe_outage_backs_off_without_spending_the_refund_attempts_and_refunds_once_when_it_is_back(
        fake_stripe: FakeStripe, configure) -> None:  # type: ignore[no-untyped-def]
    """Stripe unreachable twice as many times as REFUND_MAX_ATTEMPTS allows: the refund stays pending, each retry
    later than the one before; once Stripe answers again it is sent once, with its one idempotency key."""
    import socket

    configure(REFUND_MAX_ATTEMPTS=2, OUTBOX_BACKOFF_BASE_SECONDS=1, OUTBOX_BACKOFF_MAX_SECONDS=3600)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{s.getsockname()[1]}"  # nothing listens here
    set_provider(StripeProvider.from_settings(api_key="sk_test_fake", api_base=fake_stripe.url,
                                              max_network_retries=0))
    fake_stripe.default = _refund_answers("succeeded")
    order_id = _refund_pending_order(make_campaign(make_brand(), supply_cap=5))
    set_provider(StripeProvider.from_settings(api_key="sk_test_fake", api_base=down, max_network_retries=0))
    now, delays = utcnow(), []
    for _ in range(4):
        assert issue_refunds(now=now) == 1
        refund = _refund_row()
        assert refund.status is RefundStatus.PENDING, refund.last_error
        delays.append(round((refund.next_attempt_at - refund.updated_at).total_seconds()))
        assert issue_refunds(now=now) == 0  # not due again before its back-off
        now = refund.next_attempt_at
    assert delays == [1, 2, 4, 8]  # OUTBOX_BACKOFF_BASE_SECONDS doubled at each attempt
    assert (refund.attempts, refund.unreachable_attempts) == (4, 4)

    set_provider(StripeProvider.from_settings(api_key="sk_test_fake", api_base=fake_stripe.url,
                                              max_network_retries=0))  # Stripe is back
    assert issue_refunds(now=now) == 1
    posts = [r for r in fake_stripe.requests if r.method == "POST" and r.path == "/v1/refunds"]
    assert len(posts) == 1 and posts[0].headers.get("Idempotency-Key") == refund.idempotency_key
    assert check_submitted_refunds(now=now + REFUND_RECHECK + timedelta(seconds=1)) == 1
    assert _refund_row().status is RefundStatus.SUCCEEDED
    with session_scope() as session:
        order = lock_order(session, order_id=order_id)
        assert order is not None and order.state is OrderState.REFUNDED


def test_refund_attempts_stripe_refuses_with_an_error_still_spend_the_budget(stripe: FakeStripe, configure) -> None:  # type: ignore[no-untyped-def]
    configure(REFUND_MAX_ATTEMPTS=2)
    stripe.default = lambda req: (400, {"error": {"type": "invalid_request_error", "code": "lock_timeout",
                                                  "message": "try again"}}) \
        if req.path == "/v1/refunds" else (200, _session("open"))
    _refund_pending_order(make_campaign(make_brand(), supply_cap=5))
    issue_refunds()
    assert _refund_row().status is RefundStatus.FAILED  # not retryable: failed at once, whatever the budget
