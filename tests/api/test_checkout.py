"""The checkout API's abuse answers and public reads: 429 with Retry-After when an IP or email creates too many
orders, 409 with a clear message at the unpaid-reservation caps, the order's pay link (the full time to pay starts
when it is followed), the public order with a masked email and no payment URL once paid, and the public reads'
rate limit and caching headers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from backend.db import utcnow
from backend.payments import sandbox
from tests.factories import make_brand, make_campaign
from tests.payments.support import client_sender, order_by_public, settle

WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"
GENEROUS = {"RATE_LIMIT_CHECKOUT_PER_IP": "1000/minute", "RATE_LIMIT_CHECKOUT_PER_EMAIL": "1000/minute",
            "RATE_LIMIT_CHECKOUT_PER_CAMPAIGN_IP": "1000/minute", "ORDER_MAX_UNPAID_PER_EMAIL": 1000,
            "ORDER_MAX_UNPAID_PER_IP": 1000}
BASE = "http://localhost:3000"


@pytest.fixture
def paying(client: TestClient) -> Iterator[TestClient]:
    """The API client, with the sandbox's signed events posted through it (so a sandbox payment lands here)."""
    sandbox.set_sender(client_sender(client))
    yield client
    sandbox.set_sender(None)
    settle()


def _checkout(client: TestClient, slug: str, email: str = "buyer@example.com", quantity: int = 1):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/checkout", json={"campaign_slug": slug, "quantity": quantity, "email": email,
                                                 "wallet_address": WALLET})


def test_too_many_orders_from_one_ip_is_429_with_retry_after_and_a_message(client, configure) -> None:
    configure(**(GENEROUS | {"RATE_LIMIT_CHECKOUT_PER_IP": "2/hour"}))
    campaign = make_campaign(make_brand())
    assert _checkout(client, campaign.slug, "a@example.com").status_code == 201
    assert _checkout(client, campaign.slug, "b@example.com").status_code == 201
    refused = _checkout(client, campaign.slug, "c@example.com")
    assert refused.status_code == 429
    assert 3500 <= int(refused.headers["Retry-After"]) <= 3600
    error = refused.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["message"].startswith("Too many orders from your network in a short time. Try again in ")


def test_more_than_a_fifth_of_the_supply_unpaid_is_409_and_says_what_is_left(client, configure) -> None:
    configure(**GENEROUS)
    campaign = make_campaign(make_brand(), supply_cap=10)  # a fifth: 2
    assert _checkout(client, campaign.slug, "a@example.com").status_code == 201
    refused = _checkout(client, campaign.slug, "b@example.com", quantity=2)
    assert refused.status_code == 409 and "Retry-After" not in refused.headers
    error = refused.json()["error"]
    assert error["code"] == "reservation_limit_reached"
    assert "at most 2 of the 10 tokens" in error["message"] and "you can add 1" in error["message"]
    assert error["fields"] == {"quantity": "at most 1"}


def test_the_public_order_masks_the_email_and_drops_the_payment_url_once_paid(paying, configure) -> None:
    configure(**GENEROUS)
    campaign = make_campaign(make_brand())
    started = _checkout(paying, campaign.slug, "Jordan.Buyer@Example.com").json()
    public_id = started["public_id"]
    shown = paying.get(f"/api/v1/checkout/orders/{public_id}")
    assert shown.status_code == 200
    body = shown.json()
    assert body["email"] == "j•••@example.com" and "jordan.buyer" not in shown.text.lower()
    assert started["payment_url"] == f"{BASE}/api/v1/checkout/orders/{public_id}/pay"
    assert body["payment_url"] == started["payment_url"] and body["status"] == "awaiting_payment"

    sandbox.pay(order_by_public(public_id).payment_session_id)
    settle()
    paid = paying.get(f"/api/v1/checkout/orders/{public_id}").json()
    assert paid["status"] == "minting" and paid["payment_url"] == ""
    # The pay link now leads back to the order page, not to a payment page.
    assert paying.get(f"/api/v1/checkout/orders/{public_id}/pay",
                      follow_redirects=False).headers["location"] == f"{BASE}/orders/{public_id}"


def test_the_pay_link_leads_to_the_payment_page_and_starts_the_full_ttl(client, configure) -> None:
    configure(**(GENEROUS | {"ORDER_UNPAID_HOLD_SECONDS": 300, "ORDER_TTL_SECONDS": 1800}))
    campaign = make_campaign(make_brand())
    started = _checkout(client, campaign.slug).json()
    assert datetime.fromisoformat(started["expires_at"]) <= utcnow() + timedelta(seconds=300)  # the short hold
    opened = client.get(started["payment_url"].removeprefix(BASE), follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["Cache-Control"] == "no-store"
    order = order_by_public(started["public_id"])
    assert opened.headers["location"] == order.payment_url
    assert opened.headers["location"].startswith(f"{BASE}/api/sandbox/pay/cs_sandbox_")
    assert order.expires_at >= utcnow() + timedelta(seconds=1790)
    assert client.get("/api/v1/checkout/orders/0123456789abcdef/pay", follow_redirects=False).status_code == 404


def test_order_polling_revalidates_with_an_etag(client, configure) -> None:
    configure(**GENEROUS)
    started = _checkout(client, make_campaign(make_brand()).slug).json()
    path = f"/api/v1/checkout/orders/{started['public_id']}"
    first = client.get(path)
    assert first.headers["Cache-Control"] == "private, no-cache" and first.headers["ETag"].startswith('"')
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == first.headers["ETag"]
    assert client.get(path, headers={"If-None-Match": '"something-else"'}).status_code == 200


def test_public_campaign_and_quote_are_briefly_cacheable(client) -> None:
    campaign = make_campaign(make_brand())
    path = f"/api/v1/public/campaigns/{campaign.slug}"
    response = client.get(path)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "public, max-age=5"
    assert response.json()["slug"] == campaign.slug
    assert client.get(path, headers={"If-None-Match": response.headers["ETag"]}).status_code == 304
    quote = client.get(f"/api/v1/checkout/quote?campaign_slug={campaign.slug}")
    assert quote.status_code == 200 and quote.headers["Cache-Control"] == "public, max-age=5"


def test_public_reads_are_rate_limited_per_ip(client, configure) -> None:
    configure(**(GENEROUS | {"RATE_LIMIT_PUBLIC_PER_IP": "4/minute"}))
    campaign = make_campaign(make_brand())
    public_id = _checkout(client, campaign.slug).json()["public_id"]
    paths = [f"/api/v1/checkout/orders/{public_id}", f"/api/v1/public/campaigns/{campaign.slug}",
             f"/api/v1/checkout/quote?campaign_slug={campaign.slug}", "/api/v1/checkout/orders/0123456789abcdef"]
    assert [client.get(path).status_code for path in paths] == [200, 200, 200, 404]
    refused = client.get(paths[0])
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["error"]["code"] == "rate_limited"
