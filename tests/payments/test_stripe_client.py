"""StripeProvider with the real stripe-python client against a fake Stripe on 127.0.0.1 (base_addresses):
the form-encoded request shape, idempotency keys (the same on retries), and 402 / 429 / 500 handling."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.db import utcnow
from backend.orders import service
from backend.orders.errors import PaymentUnavailable
from backend.orders.models import Order
from backend.payments.provider import LineItem, PaymentProviderError, SessionRequest, set_provider
from backend.payments.stripe_provider import StripeProvider
from backend.workflow.machines import OrderState
from tests.factories import make_brand, make_campaign
from tests.payments.support import FakeStripe, count, order_by_public

WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"


def _provider(fake: FakeStripe, retries: int = 2) -> StripeProvider:
    return StripeProvider.from_settings(api_key="sk_test_fake", api_base=fake.url, max_network_retries=retries)


def _request(key: str = "checkout-session-abc") -> SessionRequest:
    return SessionRequest(order_id=42, order_public_id="abc", customer_email="b@example.com",
                          line_items=[LineItem("Founders Pass", 2500, "USD", 3, "A pass")],
                          success_url="http://localhost:3000/orders/abc?paid=1",
                          cancel_url="http://localhost:3000/orders/abc?cancelled=1",
                          expires_at=utcnow() + timedelta(minutes=31), idempotency_key=key)


def test_checkout_session_request_has_stripes_form_shape(fake_stripe: FakeStripe) -> None:
    session = _provider(fake_stripe).create_session(_request())
    assert session.id == "cs_test_fake" and session.url.startswith("https://checkout.stripe.test/")
    [req] = fake_stripe.requests
    assert (req.method, req.path) == ("POST", "/v1/checkout/sessions")
    assert req.headers["Authorization"] == "Bearer sk_test_fake"
    assert req.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert req.field("mode") == "payment"
    assert req.field("line_items[0][price_data][unit_amount]") == "2500"
    assert req.field("line_items[0][price_data][currency]") == "usd"
    assert req.field("line_items[0][price_data][product_data][name]") == "Founders Pass"
    assert req.field("line_items[0][quantity]") == "3"
    assert req.field("metadata[order_id]") == "42"
    assert req.field("payment_intent_data[metadata][order_id]") == "42"
    assert req.field("client_reference_id") == "abc"
    assert req.field("success_url") == "http://localhost:3000/orders/abc?paid=1"
    assert req.headers["Idempotency-Key"] == "checkout-session-abc"


def test_a_500_is_retried_with_the_same_idempotency_key(fake_stripe: FakeStripe) -> None:
    fake_stripe.responses = [(500, {"error": {"type": "api_error", "message": "boom"}})]
    session = _provider(fake_stripe).create_session(_request("checkout-session-k1"))
    assert session.id == "cs_test_fake"
    assert [r.headers["Idempotency-Key"] for r in fake_stripe.requests] == ["checkout-session-k1"] * 2


def test_persistent_500_becomes_a_retryable_error(fake_stripe: FakeStripe) -> None:
    fake_stripe.responses = [(500, {"error": {"type": "api_error", "message": "boom"}})] * 3
    with pytest.raises(PaymentProviderError) as caught:
        _provider(fake_stripe).create_session(_request())
    assert caught.value.retryable and caught.value.kind == "unavailable"
    assert len(fake_stripe.requests) == 3  # one try + max_network_retries=2


def test_card_error_402_is_clear_and_not_retried(fake_stripe: FakeStripe) -> None:
    fake_stripe.responses = [(402, {"error": {"type": "card_error", "code": "card_declined",
                                              "message": "Your card was declined."}})]
    with pytest.raises(PaymentProviderError) as caught:
        _provider(fake_stripe).refund("pi_1", 500, idempotency_key="primsell-refund-order-1")
    assert caught.value.kind == "card" and not caught.value.retryable
    assert "Your card was declined." in caught.value.message
    assert len(fake_stripe.requests) == 1


def test_rate_limit_429_is_retryable_and_says_so(fake_stripe: FakeStripe) -> None:
    fake_stripe.responses = [(429, {"error": {"type": "invalid_request_error", "code": "rate_limit",
                                              "message": "Too many requests"}})]
    with pytest.raises(PaymentProviderError) as caught:
        _provider(fake_stripe).retrieve_session("cs_1")
    assert caught.value.kind == "rate_limited" and caught.value.retryable
    assert "rate limiting" in caught.value.message


def test_refund_sends_amount_and_its_own_idempotency_key(fake_stripe: FakeStripe) -> None:
    result = _provider(fake_stripe).refund("pi_123", 2500, idempotency_key="primsell-refund-order-9",
                                           metadata={"order_id": "9"})
    assert (result.id, result.status, result.amount) == ("re_fake", "succeeded", 2500)
    [req] = fake_stripe.requests
    assert req.path == "/v1/refunds"
    assert (req.field("payment_intent"), req.field("amount"), req.field("metadata[order_id]")) == ("pi_123", "2500", "9")
    assert req.headers["Idempotency-Key"] == "primsell-refund-order-9"


def test_checkout_through_stripe_provider_stores_the_session(fake_stripe: FakeStripe) -> None:
    set_provider(_provider(fake_stripe))
    campaign = make_campaign(make_brand(), price_minor=1000)
    started = service.start_checkout(campaign.slug, 2, "b@example.com", WALLET, "127.0.0.1")
    order = order_by_public(started.public_id)
    assert order.payment_provider == "stripe" and order.payment_session_id == "cs_test_fake"
    assert started.payment_url == "https://checkout.stripe.test/cs_test_fake"
    req = fake_stripe.requests[0]
    assert req.headers["Idempotency-Key"] == f"checkout-session-{order.public_id}"
    assert req.field("metadata[order_id]") == str(order.id)


def test_stripe_down_at_checkout_releases_the_reservation(fake_stripe: FakeStripe) -> None:
    fake_stripe.responses = [(500, {"error": {"type": "api_error"}})] * 3
    set_provider(_provider(fake_stripe))
    campaign = make_campaign(make_brand(), supply_cap=1)
    with pytest.raises(PaymentUnavailable, match="nothing was charged"):
        service.start_checkout(campaign.slug, 1, "b@example.com", WALLET, "127.0.0.1")
    assert count(Order, Order.state == OrderState.EXPIRED) == 1
    assert service.quote(campaign.slug, 1).supply_left == 1
