"""The webhook endpoint over HTTP: signatures on the raw body, one row per event id, fast acknowledgement,
any delivery order, and the money rules (completion after expiry, wrong amount, refunds, disputes)."""

from __future__ import annotations

import json
import random
import time
from datetime import timedelta

from sqlalchemy import select

from backend.chain.models import MintRequest
from backend.db import session_scope, utcnow
from backend.monitoring.models import ErrorLogEntry
from backend.orders import service
from backend.orders.refunds import issue_refunds
from backend.orders.upkeep import expire_and_reconcile
from backend.payments import sandbox, webhooks
from backend.payments.models import PaymentEvent, PaymentRefund, RefundStatus, SandboxRefund
from backend.payments.signing import sign
from backend.settings import get_settings
from backend.workflow.machines import OrderState
from backend.workflow.models import OutboxEvent
from tests.factories import make_brand, make_campaign
from tests.payments.support import (
    BUYER_LIMITS_OFF,
    WEBHOOK,
    charge_refunded_event,
    completed_event,
    count,
    dispute_event,
    emit_mint_event,
    order_by_public,
    pay_sandbox_session,
    post_event,
    session_event,
    settle,
)


def LATER():  # type: ignore[no-untyped-def]  # past every order's TTL
    return utcnow() + timedelta(hours=1)


WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"


def _order(supply_cap: int = 10, quantity: int = 1, price: int = 2500):  # type: ignore[no-untyped-def]
    campaign = make_campaign(make_brand(), supply_cap=supply_cap, price_minor=price)
    started = service.start_checkout(campaign.slug, quantity, "buyer@example.com", WALLET, "127.0.0.1")
    return campaign, order_by_public(started.public_id)


def _nothing_stored() -> None:
    assert count(PaymentEvent) == 0
    assert count(OutboxEvent, OutboxEvent.topic == "payment.event_received") == 0


def test_forged_signature_is_refused_and_nothing_is_stored(client) -> None:
    _, order = _order()
    response = post_event(client, completed_event(order), secret="whsec_not_ours")
    assert response.status_code == 401  # the signature is the endpoint's credential
    assert response.json()["error"]["code"] == "invalid_webhook"
    missing = client.post(WEBHOOK, content=b"{}", headers={"Content-Type": "application/json"})
    assert missing.status_code == 401
    _nothing_stored()


def test_stale_timestamp_is_refused(client) -> None:
    _, order = _order()
    response = post_event(client, completed_event(order), timestamp=int(time.time()) - 301)
    assert response.status_code == 401
    _nothing_stored()


def test_changed_body_is_refused(client) -> None:
    _, order = _order()
    event = completed_event(order)
    raw = json.dumps(event, separators=(",", ":")).encode()
    tampered = raw.replace(b'"amount_total":2500', b'"amount_total":1')
    assert tampered != raw
    assert post_event(client, raw, body=tampered).status_code == 401
    _nothing_stored()
    settle()
    assert order_by_public(order.public_id).state is OrderState.AWAITING_PAYMENT


def test_an_oversize_webhook_is_413_and_stores_nothing(client) -> None:
    _, order = _order()
    event = completed_event(order)
    event["data"]["object"]["padding"] = "x" * get_settings().max_body_bytes
    response = post_event(client, event)
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"

    raw = json.dumps(completed_event(order)).encode() + b" " * get_settings().max_body_bytes

    def chunks():  # no Content-Length: cut off while streaming
        for start in range(0, len(raw), 4096):
            yield raw[start:start + 4096]

    streamed = client.post(WEBHOOK, content=chunks(), headers={"Stripe-Signature": sign(raw),
                                                               "Content-Type": "application/json"})
    assert "content-length" not in streamed.request.headers
    assert streamed.status_code == 413 and streamed.json()["error"]["code"] == "payload_too_large"
    _nothing_stored()


def test_an_unexpected_failure_is_a_logged_500_without_details(client, monkeypatch, caplog) -> None:
    _, order = _order()

    async def broken(raw, signature):  # type: ignore[no-untyped-def]
        raise RuntimeError("db://admin:hunter2@10.0.0.5 is down")

    monkeypatch.setattr(webhooks, "receive_async", broken)
    response = post_event(client, completed_event(order))
    assert response.status_code == 500 and response.json()["error"]["code"] == "internal_error"
    assert "hunter2" not in response.text  # Stripe retries; the details stay in our log
    assert any("Unhandled error in POST /api/stripe/webhook" in r.getMessage() and r.exc_info for r in caplog.records)


def test_other_methods_on_the_webhook_path_get_the_apis_answers(client) -> None:
    response = client.get(WEBHOOK)
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert "/api/stripe/webhook" in client.get("/api/openapi.json").json()["paths"]


def test_duplicate_webhook_is_acknowledged_once_and_mints_once(client) -> None:
    _, order = _order()
    event = completed_event(order)
    answers = [post_event(client, event) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert [a.json()["duplicate"] for a in answers] == [False, True, True, True, True]
    settle()
    assert count(PaymentEvent) == 1
    assert count(MintRequest) == 1
    assert order_by_public(order.public_id).state is OrderState.MINTING


def test_shuffled_events_end_in_the_same_state(client) -> None:
    _, order = _order()
    decline = sandbox.build_event("payment_intent.payment_failed", {
        "id": sandbox_pi(order), "object": "payment_intent",
        "metadata": {"order_id": str(order.id), "order_public_id": order.public_id},  # as checkout copies them
        "last_payment_error": {"message": "Your card was declined."}})
    events = [decline, completed_event(order), completed_event(order, kind="checkout.session.async_payment_succeeded")]
    random.Random(7).shuffle(events)
    for event in events:
        assert post_event(client, event).status_code == 200
    settle()
    final = order_by_public(order.public_id)
    assert final.state is OrderState.MINTING  # paid once, whatever came first
    assert count(MintRequest) == 1


def sandbox_pi(order) -> str:  # type: ignore[no-untyped-def]
    from tests.payments.support import sandbox_row

    return sandbox_row(order).payment_intent_id


def test_completion_after_expiry_is_refunded_not_fulfilled(client, configure) -> None:
    configure(**BUYER_LIMITS_OFF)  # one buyer takes the whole campaign
    campaign, order = _order(supply_cap=2, quantity=2)
    assert post_event(client, session_event(order, "checkout.session.expired")).status_code == 200
    settle()
    assert order_by_public(order.public_id).state is OrderState.EXPIRED
    assert service.quote(campaign.slug, 1).supply_left == 2  # released
    # The money still arrives (the buyer had the page open): it must not be kept.
    pay_sandbox_session(order)
    assert post_event(client, completed_event(order)).status_code == 200
    settle()
    refunding = order_by_public(order.public_id)
    assert refunding.state is OrderState.REFUND_PENDING
    assert "after the order had expired" in refunding.refund_reason
    assert count(MintRequest) == 0
    assert issue_refunds() == 1
    done = order_by_public(order.public_id)
    assert done.state is OrderState.REFUNDED and done.refunded_minor == 5000
    assert count(SandboxRefund) == 1
    assert service.quote(campaign.slug, 1).supply_left == 2  # not released twice


def test_amount_mismatch_is_not_fulfilled_but_refunded_and_logged(client) -> None:
    _, order = _order()
    pay_sandbox_session(order)
    assert post_event(client, completed_event(order, amount=100)).status_code == 200
    settle()
    refused = order_by_public(order.public_id)
    assert refused.state is OrderState.REFUND_PENDING and "did not match" in refused.refund_reason
    assert count(MintRequest) == 0
    with session_scope() as session:
        refund = session.execute(select(PaymentRefund)).scalars().one()
        errors = session.execute(select(ErrorLogEntry.source)).scalars().all()
    assert refund.amount_minor == 100  # what was actually charged
    assert "payments:amount_mismatch" in errors
    issue_refunds()
    assert order_by_public(order.public_id).state is OrderState.REFUNDED


def test_wrong_currency_is_a_mismatch(client) -> None:
    _, order = _order()
    post_event(client, completed_event(order, currency="eur"))
    settle()
    assert order_by_public(order.public_id).state is OrderState.REFUND_PENDING


def _completed_unpaid(order):  # type: ignore[no-untyped-def]
    """A session completed by a bank debit: the buyer is done, the money is not there yet."""
    event = completed_event(order)
    event["data"]["object"]["payment_status"] = "unpaid"
    return event


def test_an_asynchronous_payment_is_fulfilled_only_when_it_succeeds(client) -> None:
    campaign, order = _order(supply_cap=1)
    post_event(client, _completed_unpaid(order))
    settle()
    assert order_by_public(order.public_id).state is OrderState.AWAITING_PAYMENT and count(MintRequest) == 0
    assert service.quote(campaign.slug, 1).supply_left == 0  # still held while the debit clears
    post_event(client, completed_event(order, kind="checkout.session.async_payment_succeeded"))
    settle()
    assert order_by_public(order.public_id).state is OrderState.MINTING
    assert count(MintRequest) == 1


def test_a_failed_asynchronous_payment_expires_the_order_and_releases_its_supply(client) -> None:
    campaign, order = _order(supply_cap=1)
    post_event(client, _completed_unpaid(order))
    failed = _completed_unpaid(order)
    failed["type"] = "checkout.session.async_payment_failed"
    post_event(client, failed)
    settle()
    final = order_by_public(order.public_id)
    assert final.state is OrderState.EXPIRED and final.paid_at is None
    assert "did not go through" in final.failure_reason
    assert service.quote(campaign.slug, 1).supply_left == 1
    assert count(MintRequest) == 0


def test_refund_event_before_completion_means_no_fulfilment(client) -> None:
    _, order = _order()
    post_event(client, charge_refunded_event(order))
    post_event(client, completed_event(order))
    settle()
    final = order_by_public(order.public_id)
    assert final.state is OrderState.REFUNDED
    assert count(MintRequest) == 0
    with session_scope() as session:
        assert session.execute(select(PaymentRefund.status)).scalars().all() == [RefundStatus.SUCCEEDED]


def _mint_outcome(order, topic: str) -> None:  # type: ignore[no-untyped-def]
    """What the chain side emits when the order's mint confirms or fails for good."""
    emit_mint_event(topic, {"key": f"order-{order.id}", "token_ids": [1], "tx_hash": "0x" + "ab" * 32,
                            "error": "reverted"})
    settle()


def test_refund_made_in_the_dashboard_after_fulfilment_marks_the_order_refunded(client) -> None:
    _, order = _order()
    post_event(client, completed_event(order))
    settle()
    _mint_outcome(order, "mint.completed")
    assert order_by_public(order.public_id).state is OrderState.FULFILLED
    post_event(client, charge_refunded_event(order))
    settle()
    refunded = order_by_public(order.public_id)
    assert refunded.state is OrderState.REFUNDED and refunded.refunded_minor == 2500
    assert refunded.token_ids == ["1"]  # the token stays minted; the money is back with the buyer
    assert issue_refunds() == 0  # nothing for Primsell to send


def test_refund_made_in_the_dashboard_while_minting_ends_refunded_when_the_mint_completes(client) -> None:
    _, order = _order()
    post_event(client, completed_event(order))
    settle()
    post_event(client, charge_refunded_event(order))
    settle()
    assert order_by_public(order.public_id).state is OrderState.MINTING  # mint in flight: recorded, logged
    with session_scope() as session:
        assert "payments:refund_during_mint" in session.execute(select(ErrorLogEntry.source)).scalars().all()
    _mint_outcome(order, "mint.completed")
    final = order_by_public(order.public_id)
    assert final.state is OrderState.REFUNDED and final.refunded_minor == 2500 and final.token_ids == ["1"]
    assert issue_refunds() == 0


def test_refund_made_in_the_dashboard_while_minting_then_a_failed_mint_refunds_nothing_twice(client) -> None:
    _, order = _order()
    post_event(client, completed_event(order))
    settle()
    post_event(client, charge_refunded_event(order))
    settle()
    _mint_outcome(order, "mint.failed")
    final = order_by_public(order.public_id)
    assert final.state is OrderState.REFUNDED and final.refunded_minor == 2500
    assert issue_refunds() == 0 and count(SandboxRefund) == 0  # the provider's refund was the only one
    with session_scope() as session:
        assert session.execute(select(PaymentRefund.origin)).scalars().all() == ["provider"]


def test_dispute_moves_the_order_to_disputed_and_a_lost_dispute_to_refunded(client) -> None:
    _, order = _order()
    post_event(client, completed_event(order))
    post_event(client, dispute_event(order))
    settle()
    assert order_by_public(order.public_id).state is OrderState.DISPUTED
    post_event(client, dispute_event(order, "charge.dispute.closed", status="lost"))
    settle()
    lost = order_by_public(order.public_id)
    assert lost.state is OrderState.REFUNDED and lost.refunded_minor == 2500


def test_dispute_before_completion_is_applied_when_the_completion_arrives(client) -> None:
    _, order = _order()
    post_event(client, dispute_event(order))
    settle()
    post_event(client, completed_event(order))
    settle()
    assert order_by_public(order.public_id).state is OrderState.DISPUTED


def test_unknown_event_type_is_acknowledged_and_ignored(client) -> None:
    event = sandbox.build_event("customer.created", {"id": "cus_1", "object": "customer"})
    response = post_event(client, event)
    assert response.status_code == 200 and response.json() == {"received": True, "duplicate": False}
    settle()
    with session_scope() as session:
        stored = session.execute(select(PaymentEvent)).scalars().one()
    assert stored.type == "customer.created" and stored.outcome == "ignored: unhandled type"


def test_reconciliation_pays_an_order_whose_webhook_never_arrived(client, configure) -> None:
    _, order = _order()
    pay_sandbox_session(order)  # paid at the provider; the webhook was lost
    assert expire_and_reconcile(now=LATER()) == 1
    settle()
    assert order_by_public(order.public_id).state is OrderState.MINTING
    assert count(MintRequest) == 1


def test_expirer_expires_unpaid_orders_and_closes_their_session(client, configure) -> None:
    campaign, order = _order(supply_cap=1)
    assert expire_and_reconcile() == 0  # not due yet
    assert expire_and_reconcile(now=LATER()) == 1
    assert order_by_public(order.public_id).state is OrderState.EXPIRED
    assert service.quote(campaign.slug, 1).supply_left == 1
    from tests.payments.support import sandbox_row

    assert sandbox_row(order).status == "expired"  # the buyer can no longer pay for it
    assert expire_and_reconcile(now=LATER()) == 0  # safe to run twice


def test_a_request_that_gave_up_waiting_does_not_stop_the_intake(client, monkeypatch) -> None:
    """A request whose wait timed out cancels its future; its group still commits, and the intake thread must go
    on serving every later delivery (it used to die on setting the result of the cancelled future)."""
    import threading

    _, first = _order()
    _, second = _order()
    release = threading.Event()
    original = webhooks._store

    def slow_store(pending):  # type: ignore[no-untyped-def]
        release.wait(10)
        return original(pending)

    monkeypatch.setattr(webhooks, "_store", slow_store)
    raw = json.dumps(completed_event(first)).encode()
    future = webhooks._intake.submit(webhooks._verified(raw, sign(raw)))
    assert future.cancel()  # what asyncio.wait_for does to it after INTAKE_TIMEOUT_S
    release.set()
    assert post_event(client, completed_event(second)).status_code == 200
    settle()
    assert order_by_public(first.public_id).state is OrderState.MINTING  # committed all the same
    assert order_by_public(second.public_id).state is OrderState.MINTING
