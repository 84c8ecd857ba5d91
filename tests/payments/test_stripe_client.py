"""StripeProvider with the real stripe-python client against a fake Stripe on 127.0.0.1 (base_addresses): the
form-encoded request shape, idempotency keys (the same on every retry), and how each failure reaches the caller.

What stripe-python 16 retries by itself (`_should_retry` in stripe/_http_client.py), asserted below by counting the
requests the server saw: connection errors and timeouts, 409 and 5xx answers, and any answer with
`Stripe-Should-Retry: true`; never a 429 without that header, nor another 4xx; never one marked
`Stripe-Should-Retry: false`. The SDK's back-off sleeps (0.5 s, 1 s) are set to zero here; nothing else is changed."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import stripe
from sqlalchemy import select

from backend.db import session_scope, utcnow
from backend.orders import service
from backend.orders.errors import PaymentUnavailable
from backend.orders.models import Order
from backend.payments.factory import set_provider
from backend.payments.provider import (
    ALREADY_REFUNDED,
    LineItem,
    PaymentProviderError,
    RefundResult,
    SessionRequest,
)
from backend.payments.stripe_provider import (
    SESSION_MAX_LIFETIME_S,
    SESSION_MIN_LIFETIME_S,
    StripeProvider,
    session_expires_at,
)
from backend.workflow.machines import OrderState
from backend.workflow.models import StateTransition
from tests.factories import make_brand, make_campaign
from tests.payments.stripe_api import Answer, StripeAPI, refused_url, serve, stripe_error
from tests.payments.support import count, order_by_public

WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"
API_KEY = "sk_test_51PrimsellDoNotLeakThisKey0123456789"
SESSION_KEY = "checkout-session-abc"
REFUND_KEY = "primsell-refund-order-9"


@pytest.fixture
def stripe_api() -> Iterator[StripeAPI]:
    with serve() as api:
        yield api


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stripe._http_client.HTTPClient, "_sleep_time_seconds", lambda self, num_retries: 0.0)


def _provider(url: str, *, retries: int = 2, timeout_s: float = 5.0) -> StripeProvider:
    return StripeProvider.from_settings(api_key=API_KEY, api_base=url, max_network_retries=retries,
                                        timeout_s=timeout_s)


def _request(expires_in: timedelta = timedelta(hours=2)) -> SessionRequest:
    return SessionRequest(order_id=42, order_public_id="abc", customer_email="b@example.com",
                          line_items=[LineItem("Founders Pass", 2500, "USD", 3, "A pass",
                                               "https://cdn.example.com/pass.png")],
                          success_url="http://localhost:3000/orders/abc?paid=1",
                          cancel_url="http://localhost:3000/orders/abc?cancelled=1",
                          expires_at=utcnow() + expires_in, idempotency_key=SESSION_KEY,
                          metadata={"campaign": "founders"})


# The two mutating calls every failure is tried on: (call, its idempotency key).
def _create_session(provider: StripeProvider) -> object:
    return provider.create_session(_request())


def _refund(provider: StripeProvider) -> object:
    return provider.refund("pi_123", 2500, idempotency_key=REFUND_KEY, metadata={"order_id": "9"})


CALLS = [pytest.param(_create_session, SESSION_KEY, id="session"), pytest.param(_refund, REFUND_KEY, id="refund")]
Call = Callable[[StripeProvider], object]


def _fails(call: Call, provider: StripeProvider) -> PaymentProviderError:
    """The PaymentProviderError the call raises (any other exception fails the test)."""
    with pytest.raises(PaymentProviderError) as caught:
        call(provider)
    return caught.value


# -- request shape ----------------------------------------------------------------------------------------------

def test_checkout_session_request_sends_every_field_form_encoded(stripe_api: StripeAPI) -> None:
    request = _request()
    session = _provider(stripe_api.url).create_session(request)
    assert (session.id, session.url, session.status) == ("cs_test_fake", "https://checkout.stripe.test/cs_test_fake",
                                                         "open")
    [req] = stripe_api.seen
    assert (req.method, req.path, req.query) == ("POST", "/v1/checkout/sessions", "")
    assert req.headers["Authorization"] == f"Bearer {API_KEY}"
    assert req.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert req.headers["Idempotency-Key"] == SESSION_KEY
    assert req.body.startswith("mode=payment&line_items[0][price_data][currency]=usd&")  # brackets as they are
    form = req.form
    assert int(form.pop("expires_at")) == int(request.expires_at.timestamp())  # inside Stripe's window: as asked
    assert form == {
        "mode": "payment",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "2500",
        "line_items[0][price_data][product_data][name]": "Founders Pass",
        "line_items[0][price_data][product_data][description]": "A pass",
        "line_items[0][price_data][product_data][images][0]": "https://cdn.example.com/pass.png",
        "line_items[0][quantity]": "3",
        "client_reference_id": "abc",
        "customer_email": "b@example.com",
        "metadata[order_id]": "42",
        "metadata[order_public_id]": "abc",
        "metadata[campaign]": "founders",
        "payment_intent_data[metadata][order_id]": "42",
        "payment_intent_data[metadata][order_public_id]": "abc",
        "payment_intent_data[metadata][campaign]": "founders",
        "success_url": "http://localhost:3000/orders/abc?paid=1",
        "cancel_url": "http://localhost:3000/orders/abc?cancelled=1",
    }


def test_checkout_session_skips_an_image_that_is_not_https(stripe_api: StripeAPI) -> None:
    request = _request()
    item = request.line_items[0]
    plain = LineItem(item.name, item.unit_amount, item.currency, item.quantity, "", "http://cdn.example.com/p.png")
    _provider(stripe_api.url).create_session(replace(request, line_items=[plain]))
    fields = stripe_api.seen[0].form
    assert not [name for name in fields if "[images]" in name or "[description]" in name]


def test_checkout_through_stripe_provider_sends_what_the_order_says(stripe_api: StripeAPI) -> None:
    set_provider(_provider(stripe_api.url))
    campaign = make_campaign(make_brand(), name="Founders Pass", price_minor=1000)
    started = service.start_checkout(campaign.slug, 2, "buyer@example.com", WALLET, "127.0.0.1")
    order = order_by_public(started.public_id)
    assert order.payment_provider == "stripe" and order.payment_session_id == "cs_test_fake"
    assert started.payment_url == service.pay_url(started.public_id)  # our pay link, leading on to Stripe's page
    assert service.open_payment(started.public_id) == "https://checkout.stripe.test/cs_test_fake"
    [req] = stripe_api.seen
    assert req.headers["Idempotency-Key"] == f"checkout-session-{order.public_id}"
    form = req.form
    assert {name: form[name] for name in (
        "line_items[0][price_data][unit_amount]", "line_items[0][price_data][currency]",
        "line_items[0][price_data][product_data][name]", "line_items[0][quantity]", "metadata[order_id]",
        "payment_intent_data[metadata][order_id]", "client_reference_id", "customer_email", "mode")} == {
        "line_items[0][price_data][unit_amount]": "1000", "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][product_data][name]": "Founders Pass", "line_items[0][quantity]": "2",
        "metadata[order_id]": str(order.id), "payment_intent_data[metadata][order_id]": str(order.id),
        "client_reference_id": order.public_id, "customer_email": "buyer@example.com", "mode": "payment"}
    assert form["success_url"] == f"{started.order_url}?paid=1"
    assert form["cancel_url"] == f"{started.order_url}?cancelled=1"
    ahead = int(form["expires_at"]) - time.time()
    assert SESSION_MIN_LIFETIME_S - 60 < ahead <= SESSION_MAX_LIFETIME_S


def test_the_same_order_sends_the_same_key_twice(stripe_api: StripeAPI) -> None:
    provider = _provider(stripe_api.url)
    provider.create_session(_request())
    provider.create_session(_request())
    assert stripe_api.keys() == [SESSION_KEY, SESSION_KEY]


def test_expire_session_posts_to_its_expire_path_with_its_own_key(stripe_api: StripeAPI) -> None:
    session = _provider(stripe_api.url).expire_session("cs_live_1")
    assert (session.id, session.status) == ("cs_live_1", "expired")
    [req] = stripe_api.seen
    assert (req.method, req.path, req.body) == ("POST", "/v1/checkout/sessions/cs_live_1/expire", "")
    assert req.headers["Idempotency-Key"] == "expire:cs_live_1"


def test_retrieve_session_is_a_plain_get(stripe_api: StripeAPI) -> None:
    session = _provider(stripe_api.url).retrieve_session("cs_live_2")
    assert session.id == "cs_live_2"
    [req] = stripe_api.seen
    assert (req.method, req.path, req.query, req.body) == ("GET", "/v1/checkout/sessions/cs_live_2", "", "")


def test_refund_sends_amount_and_its_own_idempotency_key(stripe_api: StripeAPI) -> None:
    result = _refund(_provider(stripe_api.url))
    assert result == RefundResult(id="re_fake", status="succeeded", amount=2500)
    [req] = stripe_api.seen
    assert (req.method, req.path) == ("POST", "/v1/refunds")
    assert req.form == {"payment_intent": "pi_123", "amount": "2500", "metadata[order_id]": "9"}
    assert req.headers["Idempotency-Key"] == REFUND_KEY


def test_retrieve_refund_is_a_plain_get(stripe_api: StripeAPI) -> None:
    result = _provider(stripe_api.url).retrieve_refund("re_77")
    assert (result.id, result.status, result.amount) == ("re_77", "succeeded", 1200)
    [req] = stripe_api.seen
    assert (req.method, req.path, req.query, req.body) == ("GET", "/v1/refunds/re_77", "", "")


# -- expires_at inside Stripe's window (30 minutes to 24 hours ahead) ---------------------------------------------

@pytest.mark.parametrize(("asked", "expected_ahead"), [
    pytest.param(timedelta(minutes=5), SESSION_MIN_LIFETIME_S, id="too-soon-raised-to-30-min"),
    pytest.param(timedelta(seconds=1800), SESSION_MIN_LIFETIME_S, id="exactly-30-min-gets-the-margin"),
    pytest.param(timedelta(hours=24), SESSION_MAX_LIFETIME_S, id="exactly-24-h-gets-the-margin"),
    pytest.param(timedelta(days=3), SESSION_MAX_LIFETIME_S, id="too-late-lowered-to-24-h"),
])
def test_session_expiry_is_moved_into_stripes_window(stripe_api: StripeAPI, asked: timedelta,
                                                     expected_ahead: int) -> None:
    before = int(time.time())
    _provider(stripe_api.url).create_session(_request(expires_in=asked))
    after = time.time()
    sent = int(stripe_api.seen[0].form["expires_at"])
    assert before + expected_ahead - 1 <= sent <= after + expected_ahead
    assert sent - after > 30 * 60 and sent - before < 24 * 60 * 60


@pytest.mark.parametrize(("ahead", "sent_ahead"), [
    (0, 30 * 60 + 120), (30 * 60, 30 * 60 + 120), (30 * 60 + 121, 30 * 60 + 121), (3 * 3600, 3 * 3600),
    (24 * 3600 - 121, 24 * 3600 - 121), (24 * 3600, 24 * 3600 - 120), (7 * 24 * 3600, 24 * 3600 - 120),
])
def test_session_expiry_window_edges(ahead: int, sent_ahead: int) -> None:
    now = 1_800_000_000
    assert session_expires_at(datetime.fromtimestamp(now + ahead, UTC), now=now) == now + sent_ahead


def test_a_long_order_ttl_still_gets_a_session_stripe_accepts(stripe_api: StripeAPI,
                                                              configure: Callable[..., None]) -> None:
    configure(ORDER_TTL_SECONDS=3 * 24 * 3600)
    set_provider(_provider(stripe_api.url))
    service.start_checkout(make_campaign(make_brand()).slug, 1, "b@example.com", WALLET, "127.0.0.1")
    assert int(stripe_api.seen[0].form["expires_at"]) - time.time() <= SESSION_MAX_LIFETIME_S


# -- failures: what the SDK retries, and what the caller is told ---------------------------------------------------

@pytest.mark.parametrize(("call", "key"), CALLS)
def test_card_error_402_is_clear_and_not_retried(stripe_api: StripeAPI, call: Call, key: str) -> None:
    stripe_api.answer(stripe_error(402, "card_error", "Your card was declined.", "card_declined"))
    error = _fails(call, _provider(stripe_api.url))
    assert (error.kind, error.retryable, error.provider_code) == ("card", False, "card_declined")
    assert error.message == "The card was declined: Your card was declined."
    assert stripe_api.keys() == [key]


@pytest.mark.parametrize(("call", "key"), CALLS)
def test_rate_limit_429_is_not_retried_by_the_sdk_and_is_retryable(stripe_api: StripeAPI, call: Call,
                                                                   key: str) -> None:
    stripe_api.answer(stripe_error(429, "invalid_request_error", "Too many requests", "rate_limit"), times=3)
    error = _fails(call, _provider(stripe_api.url))
    assert (error.kind, error.retryable, error.provider_code) == ("rate_limited", True, "rate_limit")
    assert "rate limiting" in error.message
    assert stripe_api.keys() == [key]  # one request: stripe-python does not retry a 429 by itself


@pytest.mark.parametrize(("call", "key"), CALLS)
def test_a_429_stripe_marks_retryable_is_retried_with_the_same_key(stripe_api: StripeAPI, call: Call,
                                                                   key: str) -> None:
    stripe_api.answer(stripe_error(429, "invalid_request_error", "Too many requests", "rate_limit",
                                   Stripe_Should_Retry="true"), times=3)
    error = _fails(call, _provider(stripe_api.url))
    assert (error.kind, error.retryable) == ("rate_limited", True)
    assert stripe_api.keys() == [key] * 3  # one try + max_network_retries=2


@pytest.mark.parametrize(("call", "key"), CALLS)
def test_a_500_is_retried_with_the_same_idempotency_key(stripe_api: StripeAPI, call: Call, key: str) -> None:
    stripe_api.answer(stripe_error(500, "api_error", "boom"))
    call(_provider(stripe_api.url))
    assert stripe_api.keys() == [key] * 2


@pytest.mark.parametrize(("call", "key"), CALLS)
def test_persistent_500_becomes_a_retryable_error_after_the_retries(stripe_api: StripeAPI, call: Call,
                                                                    key: str) -> None:
    stripe_api.answer(stripe_error(500, "api_error", "boom"), times=3)
    error = _fails(call, _provider(stripe_api.url))
    assert (error.kind, error.retryable) == ("unavailable", True)
    assert stripe_api.keys() == [key] * 3  # one try + max_network_retries=2


def test_a_500_stripe_marks_final_is_not_retried(stripe_api: StripeAPI) -> None:
    # Stripe replays a saved 500 for the same key and says so; the SDK believes it, the caller may try later.
    stripe_api.answer(stripe_error(500, "api_error", "boom", Stripe_Should_Retry="false"))
    error = _fails(_refund, _provider(stripe_api.url))
    assert (error.kind, error.retryable) == ("unavailable", True)
    assert stripe_api.keys() == [REFUND_KEY]


@pytest.mark.parametrize(("call", "key"), CALLS)
def test_a_refused_api_key_is_not_retried_and_never_quoted(stripe_api: StripeAPI, call: Call, key: str) -> None:
    # Worse than Stripe (which masks the key in this message): the whole key comes back.
    stripe_api.answer(stripe_error(401, "invalid_request_error", f"Invalid API Key provided: {API_KEY}"))
    error = _fails(call, _provider(stripe_api.url))
    assert (error.kind, error.retryable) == ("auth", False)
    assert error.message == "Stripe refused the API key (check STRIPE_API_KEY; Stripe request req_1)."
    shown = [error.message, str(error), repr(error), "".join(traceback.format_exception(error))]
    assert not [text for text in shown if API_KEY in text or API_KEY[-8:] in text]
    assert stripe_api.keys() == [key]


def test_checkout_with_a_refused_key_shows_and_logs_no_secret(stripe_api: StripeAPI,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    stripe_api.answer(stripe_error(401, "invalid_request_error", f"Invalid API Key provided: {API_KEY}"))
    set_provider(_provider(stripe_api.url))
    campaign = make_campaign(make_brand())
    with caplog.at_level(logging.DEBUG, logger="backend"), pytest.raises(PaymentUnavailable) as caught:
        service.start_checkout(campaign.slug, 1, "b@example.com", WALLET, "127.0.0.1")
    assert "STRIPE_API_KEY" in caplog.text  # the operator is told what to fix...
    with session_scope() as session:
        reasons = session.execute(select(StateTransition.reason)).scalars().all()
    written = [caught.value.message, caplog.text, *reasons, *(r.exc_text or "" for r in caplog.records)]
    assert not [text for text in written if API_KEY in text]  # ...and never shown the key


def test_a_key_that_may_not_do_this_is_not_retryable(stripe_api: StripeAPI) -> None:
    stripe_api.answer(stripe_error(403, "invalid_request_error", f"The provided key '{API_KEY}' does not have "
                                                                 "access to the requested resource."))
    error = _fails(_refund, _provider(stripe_api.url))
    assert (error.kind, error.retryable) == ("auth", False) and API_KEY not in str(error)


@pytest.mark.parametrize(("call", "key"), CALLS)
def test_invalid_request_400_is_final_and_says_what_stripe_said(stripe_api: StripeAPI, call: Call,
                                                                key: str) -> None:
    stripe_api.answer(stripe_error(400, "invalid_request_error", "Invalid integer: abc", "parameter_invalid_integer"))
    error = _fails(call, _provider(stripe_api.url))
    assert (error.kind, error.retryable, error.provider_code) == ("invalid_request", False,
                                                                  "parameter_invalid_integer")
    assert error.message == "Stripe refused the request: Invalid integer: abc."
    assert stripe_api.keys() == [key]


@pytest.mark.parametrize(("status", "requests_seen"), [
    pytest.param(400, 1, id="400-not-retried"),
    pytest.param(409, 3, id="409-retried-by-the-sdk"),  # the SDK retries every 409 (and sees an APIError)
])
@pytest.mark.parametrize(("call", "key"), CALLS)
def test_an_idempotency_key_reused_with_other_parameters_is_final(stripe_api: StripeAPI, call: Call, key: str,
                                                                  status: int, requests_seen: int) -> None:
    message = f"Keys for idempotent requests can only be used with the same parameters they were first used with. " \
              f"Try using a key other than '{key}' if you meant to execute a different request."
    stripe_api.answer(stripe_error(status, "idempotency_error", message), times=3)
    error = _fails(call, _provider(stripe_api.url))
    assert (error.kind, error.retryable) == ("idempotency", False)
    assert "idempotency key was already used with different parameters" in error.message
    assert stripe_api.keys() == [key] * requests_seen


def test_a_key_still_in_use_by_a_running_request_is_retryable(stripe_api: StripeAPI) -> None:
    stripe_api.answer(stripe_error(409, "idempotency_error", "There is currently another in-progress request using "
                                   "this Idempotent Key.", "idempotency_key_in_use"), times=3)
    error = _fails(_refund, _provider(stripe_api.url))
    assert (error.kind, error.retryable, error.provider_code) == ("unavailable", True, "idempotency_key_in_use")
    assert stripe_api.keys() == [REFUND_KEY] * 3


@pytest.mark.parametrize("call", [p.values[0] for p in CALLS], ids=["session", "refund"])
def test_stripe_down_is_a_retryable_error_not_a_crash(call: Call) -> None:
    with refused_url() as url:
        error = _fails(call, _provider(url))
    assert (error.kind, error.retryable) == ("unavailable", True)
    assert "could not be reached" in error.message and "127.0.0.1" not in error.message


@pytest.mark.parametrize(("call", "key"), CALLS)
def test_a_stripe_slower_than_the_timeout_is_a_retryable_error(stripe_api: StripeAPI, call: Call,
                                                               key: str) -> None:
    stripe_api.answer(Answer(200, {"id": "cs_late", "object": "checkout.session"}, delay_s=5.0), times=3)
    started = time.monotonic()
    error = _fails(call, _provider(stripe_api.url, timeout_s=0.2))
    assert time.monotonic() - started < 3.0  # three attempts of 0.2 s, not the server's 5 s
    assert (error.kind, error.retryable) == ("unavailable", True)
    assert stripe_api.keys() == [key] * 3  # a timeout is retried, with the same key


@pytest.mark.parametrize("status", [400, 402])
def test_a_refund_of_an_already_refunded_charge_names_stripes_code(stripe_api: StripeAPI, status: int) -> None:
    stripe_api.answer(stripe_error(status, "invalid_request_error" if status == 400 else "card_error",
                                   "Charge ch_1 has already been refunded.", "charge_already_refunded"))
    error = _fails(_refund, _provider(stripe_api.url))
    assert (error.provider_code, error.retryable) == (ALREADY_REFUNDED, False)
    assert error.code == "payment_provider_error"  # the API's error code is unchanged
    assert error.message == ("Stripe says the payment is already refunded in full: "
                             "Charge ch_1 has already been refunded.")


def test_stripe_down_at_checkout_releases_the_reservation(stripe_api: StripeAPI) -> None:
    stripe_api.answer(stripe_error(500, "api_error"), times=3)
    set_provider(_provider(stripe_api.url))
    campaign = make_campaign(make_brand(), supply_cap=1)
    with pytest.raises(PaymentUnavailable, match="nothing was charged"):
        service.start_checkout(campaign.slug, 1, "b@example.com", WALLET, "127.0.0.1")
    assert count(Order, Order.state == OrderState.EXPIRED) == 1
    assert service.quote(campaign.slug, 1).supply_left == 1
