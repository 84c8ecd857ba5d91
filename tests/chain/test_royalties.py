"""The royalty calculator on real fills, on the in-process EVM and on anvil: owed from royaltyInfo AT the sale's block,
paid from the chain, the basis-points mismatch flag, and a marketplace-only sale verified once its transaction is
mined (never assumed paid before)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from backend.chain.keys import platform_account
from backend.db import session_scope, utcnow
from backend.sales.ledger import record_reports
from backend.sales.models import SaleSource, SaleStatus
from backend.sales.reports import SaleReport
from backend.sales.royalties import calculate_pass
from backend.workflow.models import OutboxEvent
from backend.workflow.outbox import relay
from contracts import seaport
from tests.chain.helpers import CHAIN, ChainUnderTest, People
from tests.chain.market import ETH, Market, open_market, pause_mining, resume_mining, sales


@pytest.fixture
def market(chain: ChainUnderTest, people: People) -> Market:
    return open_market(chain, people, royalty_bps=750)


def set_royalty(market: Market, bps: int) -> None:
    """The collection's admin (the platform signer) changes the default royalty on chain."""
    admin = seaport.Wallet(market.w3, platform_account())
    admin.call(market.collection.functions.setDefaultRoyalty(market.royalty_receiver, bps))


def computed_events() -> list[dict]:  # type: ignore[type-arg]
    with session_scope() as session:
        return [e.payload for e in session.exec(select(OutboxEvent).where(OutboxEvent.topic == "royalty.computed")
                                                .order_by(OutboxEvent.id))]


def test_owed_is_royalty_info_at_the_sale_block_and_paid_comes_from_the_fill(market: Market) -> None:
    seller, buyer = market.wallet(), market.wallet()
    [token] = market.mint(seller)
    price = ETH
    market.buy(seller, buyer, token, price, [market.fee(price), market.royalty(price, 500)])  # pays 5 % of 7.5 %
    set_royalty(market, 1000)  # raised AFTER the sale: does not change what that sale owed
    market.index()
    relay()  # sale.recorded -> the calculator's schedule
    result = calculate_pass(CHAIN)
    assert (result.computed, result.errors) == (1, [])

    [sale] = sales()
    assert sale.royalty_owed == 75 * 10**15
    assert sale.royalty_paid == 50 * 10**15
    assert sale.royalty_receiver == market.royalty_receiver
    assert sale.royalty_bps_mismatch is False
    assert sale.royalty_computed_at is not None and sale.next_check_at is None
    [event] = computed_events()
    assert (event["sale_id"], event["owed"], event["paid"], event["shortfall"]) == (
        sale.id, str(75 * 10**15), str(50 * 10**15), str(25 * 10**15))
    assert event["bps_mismatch"] is False and event["campaign_id"] == market.campaign.id
    assert calculate_pass(CHAIN).items == 0  # nothing due any more


def test_a_royalty_changed_on_chain_before_the_sale_is_owed_and_flagged(market: Market) -> None:
    set_royalty(market, 1000)  # the campaign says 7.5 %, the contract now 10 %
    seller, buyer = market.wallet(), market.wallet()
    [token] = market.mint(seller)
    market.buy(seller, buyer, token, 2 * ETH, [market.royalty(2 * ETH, 1000)])
    market.index()
    relay()
    calculate_pass(CHAIN)
    [sale] = sales()
    assert sale.royalty_owed == sale.royalty_paid == 2 * 10**17
    assert sale.royalty_bps_mismatch is True


def test_a_marketplace_sale_stays_unverified_until_its_transaction_is_mined(market: Market, configure) -> None:  # type: ignore[no-untyped-def]
    configure(SALES_RECHECK_SECONDS=600)
    seller, buyer = market.wallet(), market.wallet()
    [token] = market.mint(seller)
    price = ETH
    order = market.listed(seller, token, price, [market.fee(price), market.royalty(price)])
    pause_mining(market.chain)
    tx_hash = "0x" + bytes(seaport.fulfil(market.w3, market.seaport, order, buyer, wait=False, gas=500_000)).hex()
    # OpenSea reports the sale before the chain has it.
    record_reports([SaleReport(
        source="opensea", chain_id=int(market.w3.eth.chain_id), tx_hash=tx_hash, collection=market.collection.address,
        token_id=token, quantity=1, price=price, currency_address=seaport.ZERO_ADDRESS, currency_symbol="ETH",
        currency_decimals=18, marketplace="opensea", seller=seller.address, buyer=buyer.address,
        sold_at=datetime.now(UTC), external_id=order.signature.hex()[:20])])
    relay()
    first = calculate_pass(CHAIN)
    assert (first.rechecks, first.verified, first.computed) == (1, 0, 0)
    [sale] = sales()
    assert sale.status is SaleStatus.UNVERIFIED
    assert sale.royalty_paid is None and sale.royalty_owed is None  # unknown, never assumed
    assert sale.next_check_at is not None and sale.next_check_at >= utcnow() + timedelta(seconds=590)
    assert calculate_pass(CHAIN).items == 0  # not due again yet

    resume_mining(market.chain)
    later = calculate_pass(CHAIN, now=utcnow() + timedelta(seconds=601))
    assert (later.verified, later.computed) == (1, 1)
    [sale] = sales()
    assert sale.status is SaleStatus.CONFIRMED and sale.log_index is not None
    assert sale.royalty_paid == sale.royalty_owed == 75 * 10**15
    assert sale.fees and sale.marketplace == "opensea"
    with session_scope() as session:
        assert sorted(s.source for s in session.exec(select(SaleSource))) == ["chain", "opensea"]
    market.index()  # the indexer finds the same fill: still one sale
    assert len(sales()) == 1
