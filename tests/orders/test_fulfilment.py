"""Paid -> exactly one mint -> minted -> fulfilled; a failed mint refunds; the paid event relayed again and by
racing relays still requests one mint. (Real runner processes killed mid-flow: test_runner_crash.py.)"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, update

from backend.auth.acl import Role
from backend.brands.models import Brand
from backend.chain.models import ChainTransaction, MintRequest, MintStatus, TxPurpose, TxState
from backend.db import session_scope
from backend.monitoring.models import ErrorLogEntry
from backend.orders import admin, fulfilment, service
from backend.orders.refunds import issue_refunds
from backend.payments.models import PaymentRefund, RefundStatus, SandboxRefund
from backend.workflow import kick, outbox
from backend.workflow.machines import OrderState
from backend.workflow.models import DeliveryStatus, OutboxDelivery, OutboxEvent
from tests.factories import make_brand, make_campaign, make_user
from tests.payments.support import (
    BUYER_LIMITS_OFF,
    completed_event,
    count,
    emit_mint_event,
    order_by_public,
    pay_sandbox_session,
    post_event,
    settle,
)

WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"


def brand_of(campaign) -> Brand:  # type: ignore[no-untyped-def]
    with session_scope() as session:
        brand = session.get(Brand, campaign.brand_id)
        session.expunge(brand)
        return brand


def _paid_order(client, *, supply_cap: int = 10):  # type: ignore[no-untyped-def]
    campaign = make_campaign(make_brand(), supply_cap=supply_cap)
    started = service.start_checkout(campaign.slug, 2, "b@example.com", WALLET, "1.1.1.1")
    order = order_by_public(started.public_id)
    pay_sandbox_session(order)
    return campaign, order


def test_paid_event_relayed_again_and_by_racing_relays_requests_one_mint(client, monkeypatch) -> None:
    _, order = _paid_order(client)
    # Nothing relays in the background: the paid event is committed and waits.
    monkeypatch.setattr(kick, "kick", lambda: None)
    assert post_event(client, completed_event(order)).status_code == 200
    assert order_by_public(order.public_id).state is OrderState.AWAITING_PAYMENT
    # The relay runs twice in a row, then two relays race each other.
    outbox.relay_pass()
    assert order_by_public(order.public_id).state is OrderState.PAID  # order.paid is queued, not yet applied
    barrier = threading.Barrier(2)

    def relay() -> None:
        barrier.wait()
        outbox.relay_pass()

    threads = [threading.Thread(target=relay) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outbox.relay_pass()
    outbox.relay_pass()
    assert order_by_public(order.public_id).state is OrderState.MINTING
    with session_scope() as session:
        keys = session.execute(select(MintRequest.key)).scalars().all()
    assert keys == [f"order-{order.id}"]


def test_mint_completed_fulfils_the_order_with_token_ids_and_tx(client, configure) -> None:
    configure(CHAIN_EXPLORER_URL="https://sepolia.etherscan.io")
    _, order = _paid_order(client)
    post_event(client, completed_event(order))
    settle()
    payload = {"key": f"order-{order.id}", "token_ids": [7, 8], "tx_hash": "0x" + "ab" * 32}
    emit_mint_event("mint.completed", payload)
    emit_mint_event("mint.completed", payload | {"mint_request_id": 2})  # a duplicate from the chain side
    settle()
    view = service.get_order_public(order.public_id)
    assert view.status == "fulfilled" and view.token_ids == ["7", "8"]
    assert view.explorer_url == "https://sepolia.etherscan.io/tx/0x" + "ab" * 32
    assert [s.status for s in view.steps] == ["done"] * 4


def test_the_order_page_links_the_mint_transaction_while_it_confirms(client, configure) -> None:
    configure(CHAIN_EXPLORER_URL="https://sepolia.etherscan.io")
    _, order = _paid_order(client)
    post_event(client, completed_event(order))
    settle()
    minting = service.get_order_public(order.public_id)
    assert minting.status == "minting" and minting.tx_hash == "" and minting.explorer_url == ""  # not sent yet
    tx_hash = "0x" + "cd" * 32
    with session_scope() as session:  # what the mint dispatcher and the transaction manager write
        tx = ChainTransaction(purpose=TxPurpose.MINT_BATCH, idempotency_key="mint_batch:test", chain="local",
                              signer="platform", from_address=WALLET, tx_hash=tx_hash, state=TxState.SENT)
        session.add(tx)
        session.flush()
        session.execute(update(MintRequest).where(MintRequest.key == f"order-{order.id}")
                        .values(tx_id=tx.id, status=MintStatus.SUBMITTED))
    sent = service.get_order_public(order.public_id)
    assert sent.status == "minting" and sent.tx_hash == tx_hash
    assert sent.explorer_url == f"https://sepolia.etherscan.io/tx/{tx_hash}"


def test_mint_failed_refunds_the_buyer_and_releases_the_supply(client, configure) -> None:
    configure(**BUYER_LIMITS_OFF)  # one buyer takes the whole campaign
    campaign, order = _paid_order(client, supply_cap=2)
    post_event(client, completed_event(order))
    settle()
    assert service.quote(campaign.slug, 1).supply_left == 0
    emit_mint_event("mint.failed", {"key": f"order-{order.id}", "error": "execution reverted"})
    settle()
    pending = service.get_order_public(order.public_id)
    # The buyer reads plain language; the transaction error is for the admin's timeline only.
    assert pending.status == "refund_pending" and pending.refund_reason == fulfilment.MINT_FAILED_REASON
    detail = admin.order_detail(make_user(Role.BRAND_ADMIN, brand_of(campaign)), order.id)
    assert any("mint failed: execution reverted" in e.detail for e in detail.timeline if e.kind == "state")
    assert service.quote(campaign.slug, 1).supply_left == 2
    assert issue_refunds() == 1 and issue_refunds() == 0  # one refund, whatever the reruns
    done = service.get_order_public(order.public_id)
    assert done.status == "refunded" and done.refunded_minor == 5000
    assert done.refund_reason == "We could not mint your NFT, so your payment is refunded in full."
    with session_scope() as session:
        assert session.execute(select(PaymentRefund.status)).scalars().all() == [RefundStatus.SUCCEEDED]
    assert count(SandboxRefund) == 1


def test_refund_is_retried_with_the_same_key_after_a_provider_outage(client) -> None:
    from backend.payments.factory import set_provider
    from backend.payments.provider import PaymentProviderError
    from backend.payments.sandbox import SandboxProvider

    _, order = _paid_order(client)
    post_event(client, completed_event(order))
    settle()
    emit_mint_event("mint.failed", {"key": f"order-{order.id}", "error": "reverted"})
    settle()
    keys: list[str] = []

    class Flaky(SandboxProvider):
        def refund(self, payment_intent, amount, *, idempotency_key, metadata=None):  # type: ignore[no-untyped-def]
            keys.append(idempotency_key)
            if len(keys) == 1:
                raise PaymentProviderError("down", retryable=True, kind="unavailable")
            return super().refund(payment_intent, amount, idempotency_key=idempotency_key)

    set_provider(Flaky())
    issue_refunds()
    assert order_by_public(order.public_id).state is OrderState.REFUND_PENDING
    from datetime import timedelta

    from backend.db import utcnow

    issue_refunds(now=utcnow() + timedelta(hours=1))
    assert keys == [f"primsell-refund-order-{order.id}"] * 2
    assert order_by_public(order.public_id).state is OrderState.REFUNDED


@pytest.mark.parametrize("topic", ["mint.completed", "mint.failed"])
def test_mint_events_of_other_keys_are_ignored(client, topic) -> None:
    emit_mint_event(topic, {"key": "reward:5", "token_ids": [1], "error": "x"})
    settle()
    # The relay records a subscriber's error instead of raising it: the delivery itself says it went through.
    with session_scope() as session:
        deliveries = session.execute(
            select(OutboxDelivery.subscriber, OutboxDelivery.status, OutboxDelivery.attempts, OutboxDelivery.last_error)
            .join(OutboxEvent, OutboxEvent.id == OutboxDelivery.event_id).where(OutboxEvent.topic == topic)).all()
    assert deliveries == [("orders." + topic.replace(".", "_"), DeliveryStatus.DELIVERED, 1, "")]  # first try
    assert count(ErrorLogEntry) == 0
