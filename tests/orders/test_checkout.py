"""Quote and checkout at the service layer: prices in minor units with a crypto equivalent, reservations,
per-wallet caps, custodial wallets, and the refusals a buyer sees."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from backend.auth.models import User
from backend.campaigns.models import Campaign, CampaignStatus
from backend.chain.keys import custodial_address
from backend.chain.models import ContractDeployment
from backend.db import session_scope, utcnow
from backend.errors import NotFound, ValidationFailed
from backend.fx.models import FxRate
from backend.orders import service
from backend.orders.errors import NotOnSale, SoldOut, WalletCapReached
from backend.payments import sandbox
from backend.workflow.machines import ContractState
from tests.factories import PASSWORD, make_brand, make_campaign, make_user, record_deployed_contract
from tests.payments.support import BUYER_LIMITS_OFF, emit_mint_event, order_by_public, settle

WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"


def test_quote_gives_minor_units_and_the_eth_equivalent_with_its_source(configure) -> None:
    configure(FX_STATIC_RATES="ETH/USD=2500")
    campaign = make_campaign(make_brand(), price_minor=2500, currency="USD")
    quote = service.quote(campaign.slug, 3)
    assert (quote.amount_minor, quote.currency, quote.amount_display) == (7500, "USD", "$75.00")
    assert quote.crypto is not None
    assert quote.crypto.asset == "ETH" and quote.crypto.amount == Decimal("0.03000000")
    assert quote.crypto.source == "static" and quote.crypto.rate == Decimal("2500")


def test_quote_without_a_price_still_works_and_says_why(configure) -> None:
    configure(FX_STATIC_RATES="ETH/EUR=2300")
    campaign = make_campaign(make_brand(), price_minor=1000, currency="USD")
    quote = service.quote(campaign.slug, 1)
    assert quote.amount_minor == 1000 and quote.crypto is None
    assert "ETH/USD" in quote.crypto_unavailable


def test_quote_refuses_drafts_and_bad_quantities() -> None:
    brand = make_brand()
    with pytest.raises(NotFound):
        service.quote(make_campaign(brand, status=CampaignStatus.DRAFT).slug, 1)
    with pytest.raises(ValidationFailed):  # over ORDER_MAX_QUANTITY: the request itself is bad
        service.quote(make_campaign(brand).slug, 11)
    # Over the campaign's own per-wallet cap: a conflict with the campaign's settings (409 over the API).
    with pytest.raises(WalletCapReached) as refused:
        service.quote(make_campaign(brand, per_wallet_cap=2).slug, 3)
    assert refused.value.fields == {"quantity": "must be between 1 and 2"}


def test_checkout_reserves_supply_and_snapshots_the_rate(client) -> None:
    campaign = make_campaign(make_brand(), price_minor=2500, supply_cap=10)
    started = service.start_checkout(campaign.slug, 2, "Buyer@Example.com", WALLET.lower(), "10.0.0.1")
    assert len(started.public_id) == 32 and started.amount_minor == 5000
    order = order_by_public(started.public_id)
    assert order.wallet_address == WALLET  # checksummed
    assert order.email == "buyer@example.com" and order.crypto_asset == "ETH" and order.fx_source == "static"
    assert order.crypto_amount == Decimal("0.02000000") and order.holds_supply  # $50 at 2500 USD/ETH
    with session_scope() as session:
        assert session.get(Campaign, campaign.id).sold_count == 2


def test_the_order_keeps_the_rate_it_was_quoted_with_and_its_time(client, configure) -> None:
    configure(FX_MODE="binance")
    campaign = make_campaign(make_brand(), price_minor=2500, currency="USD")
    quoted_at = (utcnow() - timedelta(seconds=30)).replace(microsecond=0)
    with session_scope() as session:
        session.add(FxRate(base="ETH", quote="USD", value=Decimal("2000"), fetched_at=quoted_at, source="binance"))
    quote = service.quote(campaign.slug, 2)
    assert quote.crypto is not None and quote.crypto.fetched_at == quoted_at
    order = order_by_public(service.start_checkout(campaign.slug, 2, "b@example.com", WALLET, "1.1.1.1").public_id)
    with session_scope() as session:  # the price moves after the order was placed
        session.add(FxRate(base="ETH", quote="USD", value=Decimal("2500"), fetched_at=utcnow(), source="binance"))
    stored = order_by_public(order.public_id)
    assert (stored.fx_rate, stored.fx_fetched_at, stored.fx_source) == (Decimal("2000"), quoted_at, "binance")
    assert stored.crypto_amount == Decimal("0.025") and stored.crypto_asset == "ETH"  # $50 at 2000 USD/ETH
    assert service.quote(campaign.slug, 2).crypto.amount == Decimal("0.02")  # type: ignore[union-attr]


def test_bad_wallet_checksum_is_refused_before_anything_is_reserved(client) -> None:
    campaign = make_campaign(make_brand())
    with pytest.raises(ValidationFailed) as caught:
        service.start_checkout(campaign.slug, 1, "b@example.com", WALLET.replace("b", "B", 1), "1.1.1.1")
    assert "checksum" in caught.value.fields["wallet_address"]
    assert service.quote(campaign.slug, 1).supply_left == campaign.supply_cap


def test_keep_it_for_me_creates_the_account_and_uses_its_custodial_wallet(client) -> None:
    campaign = make_campaign(make_brand())
    started = service.start_checkout(campaign.slug, 1, "new@example.com", None, "1.1.1.1")
    order = order_by_public(started.public_id)
    with session_scope() as session:
        user = session.execute(select(User).where(User.email == "new@example.com")).scalars().one()
    assert order.custodial and order.user_id == user.id and user.password_hash is None
    assert order.wallet_address == custodial_address(user.id)
    again = service.start_checkout(campaign.slug, 1, "new@example.com", None, "1.1.1.1")
    assert order_by_public(again.public_id).wallet_address == order.wallet_address


def test_consumer_sees_their_orders_in_their_account(client) -> None:
    campaign = make_campaign(make_brand())
    actor = make_user(email="me@example.com")
    mine = service.start_checkout(campaign.slug, 1, "me@example.com", WALLET, "1.1.1.1")
    service.start_checkout(campaign.slug, 1, "other@example.com", WALLET, "1.1.1.1")
    assert [v.public_id for v in service.list_orders_for_user(actor).items] == [mine.public_id]


def test_my_orders_are_paged_with_a_total_instead_of_cut_off(client, configure) -> None:
    configure(**BUYER_LIMITS_OFF)  # 23 orders of one buyer in a row
    campaign = make_campaign(make_brand(), per_wallet_cap=0)
    actor = make_user(email="many@example.com")
    placed = [service.start_checkout(campaign.slug, 1, "many@example.com", WALLET, "1.1.1.1").public_id
              for _ in range(5)]
    service.start_checkout(campaign.slug, 1, "someone-else@example.com", WALLET, "1.1.1.1")
    pages = [service.list_orders_for_user(actor, limit=2, offset=offset) for offset in (0, 2, 4)]
    assert [p.total for p in pages] == [5, 5, 5] and [p.has_next for p in pages] == [True, True, False]
    assert [v.public_id for p in pages for v in p.items] == placed[::-1]  # newest first, each order once
    with pytest.raises(ValidationFailed):
        service.list_orders_for_user(actor, limit=1000)

    token = client.post("/api/v1/auth/login", json={"email": "many@example.com", "password": PASSWORD}).json()
    response = client.get("/api/v1/orders/mine?limit=2&offset=4",
                          headers={"Authorization": f"Bearer {token['access_token']}"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["total"], body["limit"], body["offset"]) == (5, 2, 4)
    assert [o["public_id"] for o in body["items"]] == [placed[0]]


def test_per_wallet_cap_counts_orders_still_holding_supply(client) -> None:
    campaign = make_campaign(make_brand(), per_wallet_cap=3)
    service.start_checkout(campaign.slug, 2, "a@example.com", WALLET, "1.1.1.1")
    with pytest.raises(WalletCapReached, match="can add 1"):
        service.start_checkout(campaign.slug, 2, "b@example.com", WALLET, "1.1.1.1")
    service.start_checkout(campaign.slug, 1, "b@example.com", WALLET, "1.1.1.1")


def test_sold_out_and_closed_sales_are_refused(client, configure) -> None:
    configure(**BUYER_LIMITS_OFF)  # one buyer takes the whole campaign
    brand = make_brand()
    campaign = make_campaign(brand, supply_cap=2)
    with pytest.raises(SoldOut, match="Only 2 left"):
        service.start_checkout(campaign.slug, 3, "a@example.com", WALLET, "1.1.1.1")
    service.start_checkout(campaign.slug, 2, "a@example.com", WALLET, "1.1.1.1")
    with pytest.raises(SoldOut):
        service.start_checkout(campaign.slug, 1, "a@example.com", WALLET, "1.1.1.1")
    ended = make_campaign(brand, sale_ends_at=utcnow() - timedelta(minutes=1))
    with pytest.raises(NotOnSale, match="ended"):
        service.start_checkout(ended.slug, 1, "a@example.com", WALLET, "1.1.1.1")


def test_a_collection_whose_contract_is_not_deployed_is_not_on_sale(client) -> None:
    """Published and inside its sale window, but the deployer has not finished: no card payment may be taken for
    tokens that could not be minted."""
    brand = make_brand()
    campaign = make_campaign(brand, deployed=False)
    with session_scope() as session:  # asked for and on its way, but not deployed yet
        session.add(ContractDeployment(campaign_id=campaign.id, chain=campaign.chain, state=ContractState.DEPLOYING))
    assert service.quote(campaign.slug, 1).sale_phase == "not_deployed"
    assert service.get_campaign_for_sale(campaign.slug).phase == "not_deployed"
    with pytest.raises(NotOnSale, match=r"This collection is not on sale yet\."):
        service.start_checkout(campaign.slug, 1, "early@example.com", WALLET, "1.1.1.1")
    with session_scope() as session:
        assert session.get(Campaign, campaign.id).sold_count == 0
        assert session.execute(select(User).where(User.email == "early@example.com")).first() is None

    with session_scope() as session:
        session.execute(update(ContractDeployment).where(ContractDeployment.campaign_id == campaign.id)
                        .values(state=ContractState.DEPLOYED, contract_address="0x" + "ab" * 20))
    assert service.get_campaign_for_sale(campaign.slug).phase == "on_sale"
    assert service.quote(campaign.slug, 1).sale_phase == "on_sale"
    service.start_checkout(campaign.slug, 1, "early@example.com", WALLET, "1.1.1.1")


def test_a_contract_deployed_on_another_chain_does_not_open_the_sale(client) -> None:
    campaign = make_campaign(make_brand(), deployed=False)
    with session_scope() as session:
        session.add(ContractDeployment(campaign_id=campaign.id, chain="elsewhere", state=ContractState.DEPLOYED,
                                       contract_address="0x" + "ab" * 20))
    with pytest.raises(NotOnSale, match="not on sale yet"):
        service.start_checkout(campaign.slug, 1, "a@example.com", WALLET, "1.1.1.1")
    paused = make_campaign(make_brand(), deployed=False, status=CampaignStatus.PAUSED)
    assert service.quote(paused.slug, 1).sale_phase == "paused"  # its own phase says more than "not deployed"


def test_order_page_is_found_only_by_its_public_id(client) -> None:
    campaign = make_campaign(make_brand())
    started = service.start_checkout(campaign.slug, 1, "a@example.com", WALLET, "1.1.1.1")
    view = service.get_order_public(started.public_id)
    assert view.status == "awaiting_payment" and view.payment_url == started.payment_url
    for bad in ("1", "../etc", started.public_id[:-1] + "x", "0" * 32):
        with pytest.raises(NotFound):
            service.get_order_public(bad)
    response = client.get(f"/api/v1/checkout/orders/{started.public_id}")
    assert response.status_code == 200 and response.json()["status"] == "awaiting_payment"


def _minted(campaign, wallet: str | None = WALLET) -> str:  # type: ignore[no-untyped-def]
    started = service.start_checkout(campaign.slug, 2, "m@example.com", wallet, "1.1.1.1")
    order = order_by_public(started.public_id)
    sandbox.pay(order.payment_session_id)  # type: ignore[arg-type]
    settle()
    emit_mint_event("mint.completed", {"key": f"order-{order.id}", "token_ids": [7, 8], "tx_hash": "0x" + "d4" * 32})
    settle()
    return started.public_id


def test_the_order_page_links_the_wallet_and_the_tokens_to_the_chains_explorer(client, configure) -> None:
    configure(CHAIN_EXPLORER_URL="https://explorer.example/")
    campaign = make_campaign(make_brand(), deployed=False)
    contract = record_deployed_contract(campaign, "0x" + "5e" * 20)
    view = service.get_order_public(_minted(campaign))
    assert view.token_ids == ["7", "8"]
    assert view.explorer_url == "https://explorer.example/tx/0x" + "d4" * 32
    assert view.wallet_url == f"https://explorer.example/address/{WALLET}"
    assert view.collection_url == f"https://explorer.example/address/{contract}"


def test_without_an_explorer_the_order_page_has_no_explorer_links(client) -> None:
    view = service.get_order_public(_minted(make_campaign(make_brand())))
    assert view.token_ids == ["7", "8"]
    assert (view.explorer_url, view.wallet_url, view.collection_url) == ("", "", "")
