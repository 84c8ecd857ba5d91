"""Supply squatting, closed at the service layer (start_checkout, which the API and the campaign page both call):
rate limits on creating orders (per IP, per email, per campaign per IP), caps on unpaid reservations (per email,
per IP, and at most a fifth of a campaign's supply per IP whatever emails it uses, also under concurrency), and a
short hold for an order whose payment page was never opened, which the order_expirer releases."""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend.auth.models import User
from backend.campaigns.models import Campaign
from backend.db import session_scope, utcnow
from backend.errors import DomainError
from backend.orders import service
from backend.orders.models import Order
from backend.orders.upkeep import expire_and_reconcile
from backend.payments import sandbox
from backend.payments.models import SandboxSession
from backend.workflow.machines import OrderState
from backend.workflow.models import StateTransition
from tests.factories import make_brand, make_campaign
from tests.payments.support import order_by_public, settle

IP = "203.0.113.7"
OTHER_IP = "198.51.100.20"
# Limits that stay out of the way of the one a test is about.
GENEROUS = {"RATE_LIMIT_CHECKOUT_PER_IP": "1000/minute", "RATE_LIMIT_CHECKOUT_PER_EMAIL": "1000/minute",
            "RATE_LIMIT_CHECKOUT_PER_CAMPAIGN_IP": "1000/minute", "ORDER_MAX_UNPAID_PER_EMAIL": 1000,
            "ORDER_MAX_UNPAID_PER_IP": 1000}


def _wallet() -> str:
    return "0x" + secrets.token_hex(20)


def _buy(campaign: Campaign, ip: str = IP, *, email: str | None = None, quantity: int = 1) -> service.CheckoutStarted:
    email = email or f"buyer-{secrets.token_hex(4)}@example.com"
    return service.start_checkout(campaign.slug, quantity, email, _wallet(), ip)


def _refused(campaign: Campaign, ip: str = IP, *, email: str | None = None, quantity: int = 1) -> DomainError:
    with pytest.raises(DomainError) as refused:
        _buy(campaign, ip, email=email, quantity=quantity)
    return refused.value


def _unpaid_held(campaign: Campaign, ip: str) -> int:
    with session_scope() as session:
        return int(session.execute(select(func.coalesce(func.sum(Order.quantity), 0)).where(
            Order.campaign_id == campaign.id, Order.ip == ip, Order.holds_supply.is_(True),
            Order.paid_at.is_(None))).scalar_one())  # type: ignore[union-attr]


def _pay(started: service.CheckoutStarted) -> None:
    sandbox.pay(order_by_public(started.public_id).payment_session_id)
    settle()


# -- a fifth of the supply per IP ------------------------------------------------------------------------------------

def test_one_ip_cannot_hold_more_than_a_fifth_of_the_supply_unpaid_whatever_the_emails(client, configure) -> None:
    configure(**GENEROUS)
    campaign = make_campaign(make_brand(), supply_cap=20)  # a fifth: 4
    first = _buy(campaign, quantity=3)
    refused = _refused(campaign, quantity=2)
    assert refused.status == 409 and refused.code == "reservation_limit_reached"
    assert "at most 4 of the 20 tokens" in refused.message and "you can add 1" in refused.message
    assert refused.fields == {"quantity": "at most 1"}
    _buy(campaign)
    full = _refused(campaign)
    assert "at most 4 of the 20 tokens" in full.message and "expire" in full.message
    _buy(campaign, OTHER_IP, quantity=4)  # another network is not affected
    assert _unpaid_held(campaign, IP) == 4
    _pay(first)  # paid orders are no squatting: their share is free again
    _buy(campaign, quantity=3)
    assert _refused(campaign).code == "reservation_limit_reached"


def test_a_tiny_campaign_still_sells_one_token_per_ip(client, configure) -> None:
    configure(**GENEROUS)
    campaign = make_campaign(make_brand(), supply_cap=3)  # a fifth rounds to 0: one token at a time
    assert _refused(campaign, quantity=2).fields == {"quantity": "at most 1"}
    _buy(campaign)
    assert _refused(campaign).code == "reservation_limit_reached"


def test_the_fifth_holds_when_one_ip_races_itself_with_forty_emails(client, configure) -> None:
    configure(**GENEROUS)
    campaign = make_campaign(make_brand(), supply_cap=100, per_wallet_cap=0)  # a fifth: 20

    def attempt(n: int) -> str:
        try:
            _buy(campaign, email=f"squatter{n}@example.com")
            return "ok"
        except DomainError as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(attempt, range(40)))
    assert outcomes.count("ok") == 20 and outcomes.count("reservation_limit_reached") == 20
    assert _unpaid_held(campaign, IP) == 20
    with session_scope() as session:
        assert session.get(Campaign, campaign.id).sold_count == 20


# -- unpaid reservations per email and per IP --------------------------------------------------------------------------

def test_unpaid_orders_per_email_are_capped_across_campaigns_and_ips(client, configure) -> None:
    configure(**(GENEROUS | {"ORDER_MAX_UNPAID_PER_EMAIL": 2}))
    brand = make_brand()
    one, two = make_campaign(brand), make_campaign(brand)
    first = _buy(one, email="cleo@example.com")
    _buy(two, OTHER_IP, email="Cleo@Example.com")
    refused = _refused(one, "192.0.2.1", email="cleo@example.com")
    assert refused.status == 409 and refused.code == "reservation_limit_reached"
    assert "2 unpaid orders for this email address" in refused.message
    _buy(one, email="someone-else@example.com")
    _pay(first)
    _buy(one, email="cleo@example.com")


def test_unpaid_orders_per_ip_are_capped_across_campaigns(client, configure) -> None:
    configure(**(GENEROUS | {"ORDER_MAX_UNPAID_PER_IP": 3}))
    brand = make_brand()
    campaigns = [make_campaign(brand) for _ in range(4)]
    for campaign in campaigns[:3]:
        _buy(campaign)
    refused = _refused(campaigns[3])
    assert refused.code == "reservation_limit_reached" and "3 unpaid orders from your network" in refused.message
    _buy(campaigns[3], OTHER_IP)


@pytest.mark.parametrize("same", ["email", "ip"])
def test_the_unpaid_caps_hold_under_concurrency_across_campaigns(client, configure, same: str) -> None:
    """The campaign lock alone would not serialise two campaigns: the buyer's own locks do."""
    configure(**(GENEROUS | {"ORDER_MAX_UNPAID_PER_EMAIL": 3, "ORDER_MAX_UNPAID_PER_IP": 3}))
    brand = make_brand()
    campaigns = [make_campaign(brand, per_wallet_cap=0) for _ in range(4)]

    def attempt(n: int) -> str:
        campaign = campaigns[n % 4]
        try:
            if same == "email":
                _buy(campaign, f"10.0.{n}.1", email="same@example.com")
            else:
                _buy(campaign, IP)
            return "ok"
        except DomainError as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(attempt, range(16)))
    assert outcomes.count("ok") == 3 and outcomes.count("reservation_limit_reached") == 13


# -- rate limits on creating orders -----------------------------------------------------------------------------------

def test_orders_per_ip_are_rate_limited_with_a_retry_time(client, configure) -> None:
    configure(**(GENEROUS | {"RATE_LIMIT_CHECKOUT_PER_IP": "3/hour"}))
    brand = make_brand()
    for _ in range(3):
        _buy(make_campaign(brand))
    refused = _refused(make_campaign(brand), email="new-person@example.com")
    assert refused.status == 429 and refused.code == "rate_limited"
    assert 3500 <= refused.retry_after_s <= 3600  # type: ignore[attr-defined]
    assert refused.message.startswith("Too many orders from your network") and "minutes" in refused.message
    with session_scope() as session:  # refused before anything was written: no account for the new email
        assert session.execute(select(User).where(User.email == "new-person@example.com")).first() is None
    _buy(make_campaign(brand), OTHER_IP)


def test_orders_per_email_are_rate_limited_whatever_the_ip(client, configure) -> None:
    configure(**(GENEROUS | {"RATE_LIMIT_CHECKOUT_PER_EMAIL": "2/hour"}))
    campaign = make_campaign(make_brand())
    _buy(campaign, "192.0.2.1", email="dana@example.com")
    _buy(campaign, "192.0.2.2", email="DANA@example.com")
    refused = _refused(campaign, "192.0.2.3", email="dana@example.com")
    assert refused.status == 429 and "for this email address" in refused.message


def test_orders_per_campaign_per_ip_are_rate_limited(client, configure) -> None:
    configure(**(GENEROUS | {"RATE_LIMIT_CHECKOUT_PER_CAMPAIGN_IP": "2/hour"}))
    brand = make_brand()
    campaign, other = make_campaign(brand), make_campaign(brand)
    _buy(campaign)
    _buy(campaign)
    refused = _refused(campaign)
    assert refused.status == 429 and "for this campaign from your network" in refused.message
    _buy(other)
    _buy(campaign, OTHER_IP)


def test_ipv6_addresses_of_one_network_share_their_limits(client, configure) -> None:
    """A /64 is one subscriber's: handing out fresh addresses from it must not buy fresh limits."""
    configure(**(GENEROUS | {"RATE_LIMIT_CHECKOUT_PER_IP": "2/hour"}))
    campaign = make_campaign(make_brand())
    _buy(campaign, "2001:db8:1:2::1")
    _buy(campaign, "2001:db8:1:2:aaaa::7")
    assert _refused(campaign, "2001:db8:1:2:ffff:ffff:ffff:ffff").status == 429
    _buy(campaign, "2001:db8:1:3::1")


# -- the short hold -------------------------------------------------------------------------------------------------

def test_an_order_whose_payment_page_is_never_opened_is_held_only_briefly(client, configure) -> None:
    configure(**(GENEROUS | {"ORDER_UNPAID_HOLD_SECONDS": 300, "ORDER_TTL_SECONDS": 1800}))
    campaign = make_campaign(make_brand(), supply_cap=10)
    before = utcnow()
    started = _buy(campaign, quantity=2)
    order = order_by_public(started.public_id)
    assert before + timedelta(seconds=300) <= order.expires_at <= utcnow() + timedelta(seconds=300)
    assert started.expires_at == order.expires_at
    with session_scope() as session:  # the payment session itself lives for the whole TTL after the hold
        provider_expiry = session.get(SandboxSession, order.payment_session_id).expires_at
    assert provider_expiry >= before + timedelta(seconds=300 + 1800)

    assert expire_and_reconcile(now=utcnow() + timedelta(seconds=299)) == 0
    assert expire_and_reconcile(now=utcnow() + timedelta(seconds=301)) == 1  # the order_expirer releases it
    expired = order_by_public(started.public_id)
    assert expired.state is OrderState.EXPIRED and not expired.holds_supply
    with session_scope() as session:  # the timeline says why
        reasons = session.execute(select(StateTransition.reason).where(
            StateTransition.entity_type == "order", StateTransition.entity_id == str(expired.id),
            StateTransition.to_state == "expired")).scalars().all()
    assert reasons == ["payment page not opened in time"]
    with session_scope() as session:
        assert session.get(Campaign, campaign.id).sold_count == 0


def test_opening_the_payment_page_starts_the_full_ttl_once(client, configure) -> None:
    configure(**(GENEROUS | {"ORDER_UNPAID_HOLD_SECONDS": 300, "ORDER_TTL_SECONDS": 1800}))
    campaign = make_campaign(make_brand())
    started = _buy(campaign)
    opened_at = utcnow()
    assert service.open_payment(started.public_id) == order_by_public(started.public_id).payment_url
    order = order_by_public(started.public_id)
    assert order.payment_opened_at is not None and order.payment_opened_at >= opened_at
    assert opened_at + timedelta(seconds=1800) <= order.expires_at <= utcnow() + timedelta(seconds=1800)
    first_expiry = order.expires_at
    service.open_payment(started.public_id)  # following the link again does not keep it any longer
    assert order_by_public(started.public_id).expires_at == first_expiry

    assert expire_and_reconcile(now=utcnow() + timedelta(seconds=301)) == 0  # opened: no longer the short hold
    assert expire_and_reconcile(now=first_expiry + timedelta(seconds=1)) == 1
    assert order_by_public(started.public_id).state is OrderState.EXPIRED


def test_a_payment_page_opened_after_the_hold_lapsed_leads_back_to_the_order(client, configure) -> None:
    configure(**(GENEROUS | {"ORDER_UNPAID_HOLD_SECONDS": 300}))
    started = _buy(make_campaign(make_brand()))
    with session_scope() as session:
        order = session.execute(select(Order).where(Order.public_id == started.public_id)).scalar_one()
        order.expires_at = utcnow() - timedelta(seconds=1)
    assert service.open_payment(started.public_id) == started.order_url
    assert order_by_public(started.public_id).payment_opened_at is None
    assert service.get_order_public(started.public_id).payment_url == ""  # no way to pay a lapsed hold
