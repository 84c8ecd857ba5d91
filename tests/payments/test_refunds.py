"""Refunds and disputes, money first: a refund never asks for more than is left of the payment, partial refunds
made at the provider are counted once, a refund that failed for good can be sent again, and a dispute holds our
refunds until it closes and then sends the order where it was heading (never minting what was being refunded)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from backend.auth.acl import Role
from backend.chain.models import MintRequest
from backend.db import session_scope, utcnow
from backend.orders import admin, fulfilment, refunds, service
from backend.orders.errors import RefundNotAllowed
from backend.orders.models import Order
from backend.orders.refunds import issue_refunds
from backend.payments.factory import set_provider
from backend.payments.models import PaymentRefund, RefundStatus, SandboxRefund
from backend.payments.provider import ALREADY_REFUNDED, PaymentProviderError
from backend.payments.sandbox import SandboxProvider
from backend.workflow import kick, outbox
from backend.workflow.machines import OrderState
from backend.workflow.models import DeliveryStatus, OutboxDelivery
from tests.factories import make_brand, make_campaign, make_user
from tests.payments.support import (
    charge_refunded_event,
    completed_event,
    count,
    dispute_event,
    emit_mint_event,
    order_by_public,
    post_event,
    sandbox_row,
    settle,
)

WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"
PRICE = 2500


def _paid(client, quantity: int = 2):  # type: ignore[no-untyped-def]
    """An order paid at the (sandbox) provider and applied: minting, PRICE x quantity paid."""
    brand = make_brand()
    campaign = make_campaign(brand, supply_cap=10, price_minor=PRICE)
    started = service.start_checkout(campaign.slug, quantity, "buyer@example.com", WALLET, "127.0.0.1")
    order = order_by_public(started.public_id)
    _paid_at_sandbox(order)
    assert post_event(client, completed_event(order)).status_code == 200
    settle()
    return brand, campaign, order_by_public(order.public_id)


def _paid_at_sandbox(order: Order) -> None:
    """The sandbox's own record of the payment (so its refunds have something to refund)."""
    from backend.payments.models import SandboxSession

    with session_scope() as session:
        row = session.get(SandboxSession, order.payment_session_id)
        row.status, row.payment_status = "complete", "paid"  # type: ignore[union-attr]
        session.add(row)


def _mint(order: Order, topic: str) -> None:
    emit_mint_event(topic, {"key": f"order-{order.id}", "token_ids": [7, 8], "tx_hash": "0x" + "cd" * 32,
                            "error": "execution reverted"})
    settle()


def _refunds(order: Order) -> list[tuple[str, int, RefundStatus, str]]:
    with session_scope() as session:
        rows = session.execute(select(PaymentRefund.origin, PaymentRefund.amount_minor, PaymentRefund.status,
                                      PaymentRefund.idempotency_key)
                               .where(PaymentRefund.payment_intent_id == sandbox_row(order).payment_intent_id)
                               .order_by(PaymentRefund.id)).all()
        return [tuple(r) for r in rows]  # type: ignore[misc]


def _sandbox_refunds() -> list[int]:
    with session_scope() as session:
        return list(session.execute(select(SandboxRefund.amount).order_by(SandboxRefund.created_at)).scalars())


def test_a_partial_refund_at_the_provider_does_not_cancel_our_pending_refund(client) -> None:
    _, _, order = _paid(client)  # 5000 paid
    _mint(order, "mint.failed")  # our full refund is queued, not sent yet
    post_event(client, charge_refunded_event(order, amount=1000))  # someone refunds 10.00 in the dashboard
    settle()
    assert order_by_public(order.public_id).state is OrderState.REFUND_PENDING  # 40.00 is still with us
    assert issue_refunds() == 1
    assert _sandbox_refunds() == [4000]  # only what was left
    final = order_by_public(order.public_id)
    assert final.state is OrderState.REFUNDED and final.refunded_minor == 5000
    assert [(o, a, s) for o, a, s, _ in _refunds(order)] == [
        ("primsell", 4000, RefundStatus.SUCCEEDED), ("provider", 1000, RefundStatus.SUCCEEDED)]


def test_our_refund_confirmed_by_charge_refunded_is_not_counted_twice(client) -> None:
    _, _, order = _paid(client)

    class Accepting(SandboxProvider):  # Stripe answers "pending": charge.refunded settles it later
        def refund(self, payment_intent, amount, *, idempotency_key, metadata=None):  # type: ignore[no-untyped-def]
            result = super().refund(payment_intent, amount, idempotency_key=idempotency_key)
            return type(result)(result.id, "pending", result.amount)

    set_provider(Accepting())
    _mint(order, "mint.failed")
    issue_refunds()
    assert _refunds(order)[0][2] is RefundStatus.SUBMITTED
    for _ in range(2):  # the provider's event, and its redelivery under another event id
        post_event(client, charge_refunded_event(order, amount=5000))
        settle()
    final = order_by_public(order.public_id)
    assert final.state is OrderState.REFUNDED and final.refunded_minor == 5000
    assert [(o, a, s) for o, a, s, _ in _refunds(order)] == [("primsell", 5000, RefundStatus.SUCCEEDED)]


def test_an_admin_refund_after_a_partial_provider_refund_asks_only_for_the_rest(client) -> None:
    brand, _, order = _paid(client)
    _mint(order, "mint.completed")
    post_event(client, charge_refunded_event(order, amount=1500))
    settle()
    partly = order_by_public(order.public_id)
    assert partly.state is OrderState.FULFILLED and partly.refunded_minor == 1500
    boss = make_user(Role.BRAND_ADMIN, brand)
    refunds.refund_order(boss, order.id, "customer asked")
    detail = admin.order_detail(boss, order.id)
    assert _sandbox_refunds() == [3500]
    assert detail.order.status == "refunded" and detail.order.refunded_minor == 5000


def test_a_refund_that_failed_for_good_can_be_sent_again_under_a_new_key(client) -> None:
    brand, _, order = _paid(client)
    keys: list[str] = []

    class ClosedAccount(SandboxProvider):
        def refund(self, payment_intent, amount, *, idempotency_key, metadata=None):  # type: ignore[no-untyped-def]
            keys.append(idempotency_key)
            if len(keys) == 1:
                raise PaymentProviderError("The card account is closed.", retryable=False, kind="invalid_request")
            return super().refund(payment_intent, amount, idempotency_key=idempotency_key)

    set_provider(ClosedAccount())
    _mint(order, "mint.failed")
    issue_refunds()
    boss = make_user(Role.BRAND_ADMIN, brand)
    stuck = admin.order_detail(boss, order.id)
    assert stuck.order.status == "refund_pending" and stuck.can_retry_refund and not stuck.can_refund
    staff = make_user(Role.BRAND_STAFF, brand)
    assert not admin.order_detail(staff, order.id).can_retry_refund

    refunds.retry_refund(boss, order.id)
    done = admin.order_detail(boss, order.id)
    assert done.order.status == "refunded" and not done.can_retry_refund
    assert keys == [f"primsell-refund-order-{order.id}", f"primsell-refund-order-{order.id}-2"]
    assert [s for _, _, s, _ in _refunds(order)] == [RefundStatus.FAILED, RefundStatus.SUCCEEDED]
    with pytest.raises(RefundNotAllowed):
        refunds.retry_refund(boss, order.id)


def test_refunds_wait_while_the_payment_is_disputed_and_go_out_when_it_is_won(client) -> None:
    _, campaign, order = _paid(client)
    _mint(order, "mint.failed")  # refund_pending, supply back
    post_event(client, dispute_event(order))
    settle()
    assert order_by_public(order.public_id).state is OrderState.DISPUTED
    assert issue_refunds() == 0 and _sandbox_refunds() == []  # Stripe refuses refunds of a disputed charge
    post_event(client, dispute_event(order, "charge.dispute.closed", status="won"))
    settle()
    won = order_by_public(order.public_id)
    assert won.state is OrderState.REFUND_PENDING  # not back to paid: nothing is minted again
    assert count(MintRequest) == 1 and service.quote(campaign.slug, 1).supply_left == 10
    assert issue_refunds() == 1 and _sandbox_refunds() == [5000]
    assert order_by_public(order.public_id).state is OrderState.REFUNDED


def test_a_lost_dispute_cancels_the_refund_we_had_not_sent(client) -> None:
    _, _, order = _paid(client)
    _mint(order, "mint.failed")
    post_event(client, dispute_event(order))
    post_event(client, dispute_event(order, "charge.dispute.closed", status="lost"))
    settle()
    lost = order_by_public(order.public_id)
    assert lost.state is OrderState.REFUNDED and lost.refunded_minor == 5000
    assert issue_refunds(now=utcnow() + timedelta(hours=1)) == 0 and _sandbox_refunds() == []
    assert [s for _, _, s, _ in _refunds(order)] == [RefundStatus.CANCELED]


def test_a_mint_that_fails_during_a_dispute_is_refunded_once_the_dispute_is_won(client) -> None:
    _, campaign, order = _paid(client)
    post_event(client, dispute_event(order))
    settle()
    _mint(order, "mint.failed")
    disputed = order_by_public(order.public_id)
    assert disputed.state is OrderState.DISPUTED and not disputed.holds_supply
    assert service.quote(campaign.slug, 1).supply_left == 10
    post_event(client, dispute_event(order, "charge.dispute.closed", status="won"))
    settle()
    assert order_by_public(order.public_id).state is OrderState.REFUND_PENDING
    assert issue_refunds() == 1
    assert order_by_public(order.public_id).state is OrderState.REFUNDED


def test_a_mint_that_completes_during_a_dispute_is_fulfilled_once_it_is_won(client) -> None:
    _, _, order = _paid(client)
    post_event(client, dispute_event(order))
    settle()
    _mint(order, "mint.completed")
    post_event(client, dispute_event(order, "charge.dispute.closed", status="won"))
    settle()
    won = order_by_public(order.public_id)
    assert won.state is OrderState.FULFILLED and won.token_ids == ["7", "8"]


def test_a_mint_the_chain_side_refuses_refunds_the_order_instead_of_keeping_the_money(client, monkeypatch) -> None:
    brand = make_brand()
    campaign = make_campaign(brand, supply_cap=10, price_minor=PRICE)
    started = service.start_checkout(campaign.slug, 1, "buyer@example.com", WALLET, "127.0.0.1")
    order = order_by_public(started.public_id)
    with session_scope() as session:  # an address the chain side cannot mint to, however it got there
        session.execute(update(Order).where(Order.id == order.id).values(wallet_address="0x" + "0" * 40))
    _paid_at_sandbox(order)
    post_event(client, completed_event(order))
    settle()
    refused = order_by_public(order.public_id)
    assert refused.state is OrderState.REFUND_PENDING and refused.refund_reason == fulfilment.MINT_FAILED_REASON
    assert count(MintRequest) == 0 and service.quote(campaign.slug, 1).supply_left == 10
    assert count(OutboxDelivery, OutboxDelivery.status == DeliveryStatus.DEAD) == 0  # not left to an admin
    assert issue_refunds() == 1
    assert order_by_public(order.public_id).state is OrderState.REFUNDED


def test_the_zero_address_is_refused_at_checkout(client) -> None:
    campaign = make_campaign(make_brand())
    from backend.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        service.start_checkout(campaign.slug, 1, "buyer@example.com", "0x" + "0" * 40, "127.0.0.1")
    assert "zero address" in str(refused.value.fields)


def test_a_refund_racing_the_completion_of_its_payment_is_applied_after_it(client, monkeypatch) -> None:
    """charge.refunded carries no order id, so the outbox does not order it after the completion: on PostgreSQL two
    relays may run them at once. The refund must see the paid order (and refund it) rather than record an orphan
    refund while the completion commits and mints."""
    monkeypatch.setattr(kick, "kick", lambda: None)
    campaign = make_campaign(make_brand(), supply_cap=10, price_minor=PRICE)
    started = service.start_checkout(campaign.slug, 1, "buyer@example.com", WALLET, "127.0.0.1")
    order = order_by_public(started.public_id)
    _paid_at_sandbox(order)
    applying, go = threading.Event(), threading.Event()
    original = fulfilment.apply_payment_completed

    def slow_completion(*args, **kwargs):  # type: ignore[no-untyped-def]
        outcome = original(*args, **kwargs)
        applying.set()
        go.wait(10)  # the completion is applied but not committed yet
        return outcome

    monkeypatch.setattr(fulfilment, "apply_payment_completed", slow_completion)
    assert post_event(client, completed_event(order)).status_code == 200
    first = threading.Thread(target=outbox.relay_pass)
    first.start()
    assert applying.wait(10)

    def refund_and_relay() -> None:  # on SQLite the post itself waits for the first relay's write lock
        assert post_event(client, charge_refunded_event(order)).status_code == 200
        outbox.relay_pass()

    second = threading.Thread(target=refund_and_relay)
    second.start()
    time.sleep(0.5)
    go.set()
    first.join(20)
    second.join(20)
    settle()
    with session_scope() as session:  # the refund belongs to the order: not recorded as an unknown one
        assert session.execute(select(PaymentRefund.order_id)).scalars().all() == [order.id]
    applied = order_by_public(order.public_id)
    assert applied.refunded_minor == PRICE
    if applied.state is OrderState.MINTING:  # order.paid went first: the mint's outcome settles it
        _mint(order, "mint.completed")
    final = order_by_public(order.public_id)
    assert final.state is OrderState.REFUNDED and final.refunded_minor == PRICE
    assert count(MintRequest) <= 1


def test_a_refund_the_provider_calls_already_done_settles_the_order(client) -> None:
    """Refunded in the provider's dashboard and that webhook lost: the provider's "already refunded" answer
    settles our refund instead of failing it for an admin."""
    _, _, order = _paid(client)

    class AlreadyRefunded(SandboxProvider):
        def refund(self, payment_intent, amount, *, idempotency_key, metadata=None):  # type: ignore[no-untyped-def]
            raise PaymentProviderError("Charge has already been refunded.", retryable=False,
                                       kind="invalid_request", provider_code=ALREADY_REFUNDED)

    set_provider(AlreadyRefunded())
    _mint(order, "mint.failed")
    assert issue_refunds() == 1
    final = order_by_public(order.public_id)
    assert final.state is OrderState.REFUNDED and final.refunded_minor == 5000
    assert [(o, a, s) for o, a, s, _ in _refunds(order)] == [
        ("primsell", 5000, RefundStatus.CANCELED), ("provider", 5000, RefundStatus.SUCCEEDED)]
    post_event(client, charge_refunded_event(order, amount=5000))  # the late webhook changes nothing
    settle()
    assert order_by_public(order.public_id).refunded_minor == 5000 and len(_refunds(order)) == 2
