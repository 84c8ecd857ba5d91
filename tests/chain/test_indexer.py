"""The chain indexer on real Seaport fills (signed EIP-712 orders, fulfilled on chain), on the in-process EVM and on
anvil: sales with their exact price, currency, fee split and royalty paid; token owners and their history; bounded
ranges and checkpoints; a reorg on anvil."""

from __future__ import annotations

import pytest
from sqlmodel import select

from backend.chain import holders
from backend.chain.indexer import ChainSalesSource, index_pass
from backend.chain.models import IndexedBlock, IndexerCheckpoint, TokenOwner, TokenTransfer
from backend.db import session_scope
from backend.sales.models import SaleReversal, SaleSource, SaleStatus
from backend.sales.reports import CollectionRef
from backend.workflow.models import OutboxEvent
from contracts import seaport
from tests.chain.helpers import CHAIN, ChainUnderTest, People
from tests.chain.market import ETH, OPENSEA_FEE, Market, open_market, sales

ZERO = "0x0000000000000000000000000000000000000000"


@pytest.fixture
def market(chain: ChainUnderTest, people: People) -> Market:
    return open_market(chain, people)


def chain_id(market: Market) -> int:
    return int(market.w3.eth.chain_id)


def checkpoint(market: Market) -> int:
    with session_scope() as session:
        return session.exec(select(IndexerCheckpoint.next_block).where(
            IndexerCheckpoint.collection == market.collection.address)).one()


def order_fulfilled_index(receipt) -> list[int]:  # type: ignore[no-untyped-def]
    from backend.chain.seaport import ORDER_FULFILLED_TOPIC

    return [int(log["logIndex"]) for log in receipt["logs"]
            if "0x" + bytes(log["topics"][0]).hex() == ORDER_FULFILLED_TOPIC]


def test_listing_sale_records_price_fee_split_and_royalty_paid(market: Market) -> None:
    seller, buyer = market.wallet(), market.wallet()
    [token] = market.mint(seller)
    price = ETH
    order = market.listed(seller, token, price, [market.fee(price), market.royalty(price)])
    receipt = seaport.fulfil(market.w3, market.seaport, order, buyer)
    result = market.index()
    assert result.sales == 1 and result.errors == []

    [sale] = sales()
    assert sale.status is SaleStatus.CONFIRMED
    assert (sale.tx_hash, sale.block_number) == ("0x" + bytes(receipt["transactionHash"]).hex(),
                                                receipt["blockNumber"])
    assert [sale.log_index] == order_fulfilled_index(receipt)
    assert (sale.collection, int(sale.token_id), sale.quantity) == (market.collection.address, token, 1)
    assert (sale.price, sale.currency_address, sale.currency_symbol, sale.currency_decimals) == (
        10**18, ZERO, "ETH", 18)
    assert (sale.seller, sale.buyer, sale.marketplace) == (seller.address, buyer.address, "opensea")
    assert sale.royalty_receiver == market.royalty_receiver
    assert sale.royalty_paid == 75 * 10**15  # 7.5 %
    assert sale.fees == [[OPENSEA_FEE, str(25 * 10**15)]]  # 2.5 %
    assert price - sale.royalty_paid - int(sale.fees[0][1]) == 9 * 10**17  # what the seller received
    assert market.w3.eth.get_balance(market.royalty_receiver) == sale.royalty_paid
    assert sale.order_hash == seaport.order_hash(market.w3, market.seaport, order)
    with session_scope() as session:
        assert [s.source for s in session.exec(select(SaleSource))] == ["chain"]
        assert holders.owner_of(session, chain_id(market), market.collection.address, token) == buyer.address
    with session_scope() as session:
        events = [e.topic for e in session.exec(select(OutboxEvent))]
    assert "sale.recorded" in events

    # Read again (a second pass, then a whole re-read from the deploy block): nothing is recorded twice.
    assert index_pass(CHAIN).sales == 0
    with session_scope() as session:
        session.execute(IndexerCheckpoint.__table__.update().values(next_block=IndexerCheckpoint.deploy_block))
    again = market.index()
    assert again.sales == 1 and again.ingest.inserted == 0
    assert len(sales()) == 1


def test_deploy_records_its_block_where_the_indexer_starts(market: Market) -> None:
    from backend.chain.models import ChainTransaction, ContractDeployment

    with session_scope() as session:
        deployment = session.exec(select(ContractDeployment).where(
            ContractDeployment.campaign_id == market.campaign.id)).one()
        tx = session.get(ChainTransaction, deployment.tx_id)
    receipt = market.w3.eth.get_transaction_receipt(tx.tx_hash)
    assert deployment.deploy_block == receipt["blockNumber"] > 0
    market.index()
    with session_scope() as session:
        point = session.exec(select(IndexerCheckpoint)).one()
    assert point.deploy_block == deployment.deploy_block and point.campaign_id == market.campaign.id


def test_sale_that_skips_the_royalty_records_paid_zero_and_the_unknown_front_end(market: Market) -> None:
    seller, buyer = market.wallet(), market.wallet()
    [token] = market.mint(seller)
    market.buy(seller, buyer, token, 3 * 10**17, [])  # no fee, no royalty: all to the seller
    market.index()
    [sale] = sales()
    assert sale.royalty_paid == 0 and sale.royalty_receiver == market.royalty_receiver
    assert sale.fees == [] and sale.marketplace == "seaport"
    assert sale.price == 3 * 10**17 and sale.status is SaleStatus.CONFIRMED


def test_offer_fill_in_an_erc20_records_the_token_price_and_who_sold(market: Market) -> None:
    seller, buyer = market.wallet(), market.wallet()
    [token_id] = market.mint(seller)
    price = 2 * 10**18
    weth = market.token(buyer, price)
    buyer.call(weth.functions.approve(market.seaport, price))
    seller.call(weth.functions.approve(market.seaport, price))  # the seller pays the fees out of what it receives
    bid = seaport.offer(buyer.address, market.collection.address, token_id, price, weth.address,
                        [market.fee(price, 100), market.royalty(price, 500)])
    bid = seaport.signed(market.w3, market.seaport, bid, buyer)
    receipt = seaport.fulfil(market.w3, market.seaport, bid, seller)
    market.index()

    [sale] = sales()
    assert (sale.seller, sale.buyer) == (seller.address, buyer.address)
    assert (sale.price, sale.currency_address, sale.currency_symbol, sale.currency_decimals) == (
        price, weth.address, "TEST", 18)
    assert sale.royalty_paid == price * 500 // 10_000
    assert sale.fees == [[OPENSEA_FEE, str(price * 100 // 10_000)]]
    assert [sale.log_index] == order_fulfilled_index(receipt)
    assert weth.functions.balanceOf(seller.address).call() == price - sale.royalty_paid - price // 100
    assert market.collection.functions.ownerOf(token_id).call() == buyer.address


def test_several_fills_in_one_transaction_are_separate_sales(market: Market) -> None:
    """A sweep (fulfillAvailableOrders): two sellers' listings bought in one transaction, one OrderFulfilled each."""
    alice, bob, buyer = market.wallet(), market.wallet(), market.wallet()
    [first] = market.mint(alice)
    [second] = market.mint(bob)
    orders = [market.listed(alice, first, ETH, [market.fee(ETH), market.royalty(ETH)]),
              market.listed(bob, second, 2 * ETH, [market.fee(2 * ETH)])]
    offer_parts = [[(i, 0)] for i in range(len(orders))]
    consideration_parts = [[(i, j)] for i, order in enumerate(orders) for j in range(len(order.consideration))]
    fn = seaport.seaport_contract(market.w3, market.seaport).functions.fulfillAvailableOrders(
        [o.parameters() for o in orders], offer_parts, consideration_parts, bytes(32), len(orders))
    receipt = buyer.call(fn, sum(o.native_total for o in orders))
    market.index()

    found = sales()
    assert len(found) == 2
    assert {s.tx_hash for s in found} == {"0x" + bytes(receipt["transactionHash"]).hex()}
    assert [s.log_index for s in found] == order_fulfilled_index(receipt)
    by_token = {int(s.token_id): s for s in found}
    assert (by_token[first].seller, by_token[first].price, by_token[first].royalty_paid) == (
        alice.address, ETH, 75 * 10**15)
    assert (by_token[second].seller, by_token[second].price, by_token[second].royalty_paid) == (
        bob.address, 2 * ETH, 0)
    assert all(s.buyer == buyer.address for s in found)


def test_owner_table_follows_mints_sales_and_transfers_with_history(market: Market) -> None:
    alice, bob, carol = market.wallet(), market.wallet(), market.wallet()
    tokens = market.mint(alice, 3)
    market.index()
    snapshot_block = market.w3.eth.block_number
    alice.call(market.collection.functions.transferFrom(alice.address, bob.address, tokens[0]))
    market.buy(alice, carol, tokens[1], ETH // 10, [market.royalty(ETH // 10)])
    result = market.index()
    assert result.transfers == 2 and result.sales == 1

    cid, address = chain_id(market), market.collection.address
    with session_scope() as session:
        assert holders.campaign_collection(session, market.campaign.id) == (cid, address)
        assert holders.tokens_of(session, cid, address, alice.address) == [tokens[2]]
        assert holders.tokens_of(session, cid, address, bob.address) == [tokens[0]]
        assert holders.owner_of(session, cid, address, tokens[1]) == carol.address
        assert holders.holders(session, cid, address) == {alice.address: 1, bob.address: 1, carol.address: 1}
        assert holders.holders_at(session, cid, address, snapshot_block) == {alice.address: 3}
        assert holders.owners_at(session, cid, address, snapshot_block) == {t: alice.address for t in tokens}
        with pytest.raises(holders.NotIndexedYet):
            holders.owners_at(session, cid, address, market.w3.eth.block_number + 5)
        history = session.exec(select(TokenTransfer).where(TokenTransfer.token_id == tokens[0])
                               .order_by(TokenTransfer.block_number)).all()
        assert [(t.from_address, t.to_address) for t in history] == [(ZERO, alice.address),
                                                                     (alice.address, bob.address)]
    for token_id in tokens:  # the table agrees with the chain
        with session_scope() as session:
            assert holders.owner_of(session, cid, address, token_id) == \
                market.collection.functions.ownerOf(token_id).call()


def test_bounded_ranges_and_a_collection_deployed_later_catches_up(market: Market, configure,  # type: ignore[no-untyped-def]
                                                                   chain: ChainUnderTest, people: People) -> None:
    configure(INDEXER_BLOCK_RANGE=2)
    seller, buyer = market.wallet(), market.wallet()
    [token] = market.mint(seller)
    market.buy(seller, buyer, token, ETH, [market.royalty(ETH)])
    first = index_pass(CHAIN, max_ranges=1)
    assert first.ranges == 1 and not first.done
    market.index()
    assert checkpoint(market) == chain.w3.eth.block_number + 1
    assert len(sales()) == 1

    later = open_market(chain, people)  # a second campaign's collection, deployed now
    [token2] = later.mint(seller)
    later.buy(seller, buyer, token2, ETH, [])
    result = later.index()
    assert result.ranges >= 2  # it read the new collection from its deploy block, two blocks at a time
    assert {s.collection for s in sales()} == {market.collection.address, later.collection.address}
    with session_scope() as session:
        points = session.exec(select(IndexerCheckpoint)).all()
        assert {p.next_block for p in points} == {chain.w3.eth.block_number + 1}
        assert all(p.deploy_block > 0 for p in points)
        assert session.exec(select(IndexedBlock)).all()


def test_confirmations_hold_back_the_newest_blocks(market: Market, configure) -> None:  # type: ignore[no-untyped-def]
    seller, buyer = market.wallet(), market.wallet()
    [token] = market.mint(seller)
    market.buy(seller, buyer, token, ETH, [])
    configure(CHAIN_CONFIRMATIONS=3)
    index_pass(CHAIN)
    assert sales() == []  # the sale's block has one confirmation
    market.chain.mine(2)
    index_pass(CHAIN)
    assert len(sales()) == 1


def test_chain_sales_source_fetch_reads_without_writing(market: Market) -> None:
    seller, buyer = market.wallet(), market.wallet()
    [token] = market.mint(seller)
    market.buy(seller, buyer, token, ETH, [market.fee(ETH)])
    market.index()  # sets the checkpoints up
    with session_scope() as session:
        session.execute(IndexerCheckpoint.__table__.update().values(next_block=IndexerCheckpoint.deploy_block))
    ref = CollectionRef(market.campaign.id, market.people.brand.id, chain_id(market), market.collection.address)
    fetched = ChainSalesSource(CHAIN).fetch(ref, budget=10)
    assert fetched.done and fetched.errors == []
    [report] = fetched.reports
    assert (report.source, report.token_id, report.price, report.marketplace) == ("chain", token, ETH, "opensea")
    with session_scope() as session:
        point = session.exec(select(IndexerCheckpoint)).one()
        assert point.next_block == point.deploy_block  # fetch moved nothing


@pytest.mark.parametrize("chain", ["anvil"], indirect=True)
def test_reorg_reverses_the_dropped_sale_and_rewinds_owners_and_checkpoint(market: Market) -> None:
    seller, buyer, other = market.wallet(), market.wallet(), market.wallet()
    [token] = market.mint(seller)
    market.index()
    snapshot = market.chain.rpc("evm_snapshot")
    fork_block = market.w3.eth.block_number
    market.buy(seller, buyer, token, ETH, [market.fee(ETH), market.royalty(ETH)])
    market.chain.mine(3)
    market.index()
    [sale] = sales()
    assert sale.status is SaleStatus.CONFIRMED
    with session_scope() as session:
        assert holders.owner_of(session, chain_id(market), market.collection.address, token) == buyer.address

    # The chain drops the sale's blocks and grows a longer branch where the seller gave the token to someone else.
    assert market.chain.rpc("evm_revert", [snapshot]) is True
    seller._nonce = None
    seller.call(market.collection.functions.transferFrom(seller.address, other.address, token))
    market.chain.mine(6)
    assert market.collection.functions.ownerOf(token).call() == other.address
    result = index_pass(CHAIN, max_ranges=0)  # the reorg check alone

    assert result.rewound_to is not None and result.rewound_to <= fork_block
    assert result.reversed == 1
    assert checkpoint(market) == result.rewound_to + 1
    with session_scope() as session:
        assert holders.owner_of(session, chain_id(market), market.collection.address, token) == seller.address
        assert session.exec(select(IndexedBlock).where(IndexedBlock.block_number > result.rewound_to)).all() == []
    market.index()  # the new branch
    [sale] = sales()
    assert sale.status is SaleStatus.REVERTED
    with session_scope() as session:
        [reversal] = session.exec(select(SaleReversal)).all()
        assert reversal.sale_id == sale.id and reversal.source == "chain" and reversal.restored_at is None
        assert holders.owner_of(session, chain_id(market), market.collection.address, token) == other.address
        moves = session.exec(select(TokenTransfer.to_address).where(TokenTransfer.token_id == token)
                             .order_by(TokenTransfer.block_number)).all()
        assert moves == [seller.address, other.address]  # the sale's transfer is gone
        assert session.exec(select(TokenOwner)).one().owner == other.address
        events = [e.topic for e in session.exec(select(OutboxEvent))]
    assert "sale.reverted" in events
    assert checkpoint(market) == market.w3.eth.block_number + 1


def test_index_again_corrects_stored_sales_in_place(market: Market, capsys: pytest.CaptureFixture[str]) -> None:
    from backend.__main__ import main
    from backend.sales.models import Sale

    seller, buyer = market.wallet(), market.wallet()
    [token] = market.mint(seller)
    market.buy(seller, buyer, token, ETH, [])
    market.index()
    [sale] = sales()
    assert (sale.price, sale.value_usd_cents) == (ETH, 250000)
    with session_scope() as session:  # as an older decoding stored it (a bundle's whole price on one token)
        session.execute(Sale.__table__.update().values(price=2 * ETH, value_usd_cents=500000, value_eur_cents=460000))
    head = checkpoint(market)

    assert main(["index-again", "--from-block", "0", "--campaign", str(market.campaign.id + 1)]) == 0
    assert checkpoint(market) == head and capsys.readouterr().out.startswith("0 checkpoint(s) moved back")
    assert main(["index-again", "--from-block", "0", "--campaign", str(market.campaign.id)]) == 0
    assert capsys.readouterr().out.startswith("1 checkpoint(s) moved back")
    assert checkpoint(market) < head  # back to the deploy block, not to 0
    with session_scope() as session:
        assert checkpoint(market) == session.exec(select(IndexerCheckpoint.deploy_block)).one()

    again = market.index()
    assert again.ingest.inserted == 0 and checkpoint(market) >= head
    [fixed] = sales()
    assert (fixed.id, fixed.price, fixed.value_usd_cents, fixed.value_eur_cents) == (sale.id, ETH, 250000, 230000)
    with session_scope() as session:
        assert holders.owner_of(session, chain_id(market), market.collection.address, token) == buyer.address
        assert len(session.exec(select(TokenTransfer)).all()) == 2  # the mint and the sale, once each


def test_a_scan_under_way_does_not_undo_a_checkpoint_moved_back_meanwhile(market: Market) -> None:
    from backend.chain.indexer import Scan, Tracked, _commit_scan, index_again_from

    market.index()
    head = checkpoint(market)
    with session_scope() as session:
        point = session.exec(select(IndexerCheckpoint)).one()
    # A pass read [head, head + 9] and is about to commit when `index-again` moves the checkpoint back.
    scan = Scan(head, head + 9, "0x" + "ab" * 32,
                [Tracked(point.collection, point.campaign_id, point.deploy_block, head)])
    assert index_again_from(0) == 1
    _commit_scan(chain_id(market), scan)
    assert checkpoint(market) == point.deploy_block  # stays back: the blocks are read again

    scan = Scan(point.deploy_block, head - 1, "0x" + "cd" * 32,
                [Tracked(point.collection, point.campaign_id, point.deploy_block, point.deploy_block)])
    _commit_scan(chain_id(market), scan)  # the scan that continues it does move it
    assert checkpoint(market) == head


def test_index_again_asks_which_chain_when_collections_are_on_several(
        market: Market, capsys: pytest.CaptureFixture[str]) -> None:
    from backend.__main__ import main

    market.index()
    with session_scope() as session:
        point = session.exec(select(IndexerCheckpoint)).one()
        session.add(IndexerCheckpoint(chain_id=point.chain_id + 1, collection="0x" + "12" * 20,
                                      campaign_id=point.campaign_id, deploy_block=5, next_block=900))
    head = checkpoint(market)
    assert main(["index-again", "--from-block", "0"]) == 2
    assert "--chain-id" in capsys.readouterr().err and checkpoint(market) == head
    assert main(["index-again", "--from-block", "0", "--chain-id", str(point.chain_id)]) == 0
    assert checkpoint(market) == point.deploy_block
    with session_scope() as session:
        other = session.get(IndexerCheckpoint, (point.chain_id + 1, "0x" + "12" * 20))
        assert other is not None and other.next_block == 900


def test_index_again_refuses_a_block_that_is_not_a_number(capsys: pytest.CaptureFixture[str]) -> None:
    from backend.__main__ import main

    with pytest.raises(SystemExit):
        main(["index-again", "--from-block", "-5"])
    assert "not a block number" in capsys.readouterr().err
