"""OrderFulfilled decoding and the per-token split of a fill, on logs built to Seaport's ABI (the indexer tests cover
real fills; these cover the shapes a local market does not make: bundles, mixed currencies, malformed data)."""

from __future__ import annotations

import pytest
from eth_abi import encode

from backend.chain.seaport import ORDER_FULFILLED_TOPIC, ItemType, decode_order_fulfilled, token_sales
from backend.errors import ValidationFailed

COLLECTION = "0x" + "c0" * 20
SELLER, BUYER = "0x" + "5e" * 20, "0x" + "b0" * 20
FEE, ROYALTY, WETH = "0x" + "fe" * 20, "0x" + "ab" * 20, "0x" + "e7" * 20
ZERO = "0x" + "00" * 20


def log(offerer: str, recipient: str, offer: list, consideration: list, log_index: int = 3) -> dict:  # type: ignore[type-arg]
    data = encode(["bytes32", "address", "(uint8,address,uint256,uint256)[]",
                   "(uint8,address,uint256,uint256,address)[]"], [b"\x11" * 32, recipient, offer, consideration])
    return {"address": "0x" + "5a" * 20, "topics": [ORDER_FULFILLED_TOPIC, "0x" + "00" * 12 + offerer[2:],
                                                    "0x" + "00" * 32],
            "data": "0x" + data.hex(), "blockNumber": 7, "blockHash": "0x" + "99" * 32,
            "transactionHash": "0x" + "77" * 32, "logIndex": log_index}


def test_a_bundle_splits_price_fees_and_royalty_so_the_parts_add_up() -> None:
    nfts = [(2, COLLECTION, token_id, 1) for token_id in (1, 2, 3)]
    fill = decode_order_fulfilled(log(SELLER, BUYER, nfts, [(0, ZERO, 0, 901, SELLER), (0, ZERO, 0, 10, FEE),
                                                            (0, ZERO, 0, 89, ROYALTY)]))
    assert (fill.offerer, fill.recipient, fill.log_index, fill.order_hash) == (SELLER, BUYER, 3, "0x" + "11" * 32)
    receivers = {(COLLECTION, t): ROYALTY for t in (1, 2, 3)}
    sales = token_sales(fill, {COLLECTION}, {FEE: "opensea"}, receivers)
    assert [s.token_id for s in sales] == [1, 2, 3]
    assert sum(s.price for s in sales) == 1000 and [s.price for s in sales] == [334, 333, 333]
    assert sum(s.royalty_paid for s in sales) == 89
    assert sum(a for s in sales for _, a in s.fees) == 10
    assert {s.marketplace for s in sales} == {"opensea"}


def test_a_bundle_with_a_foreign_nft_charges_ours_only_its_share() -> None:
    foreign = "0x" + "dd" * 20
    nfts = [(2, foreign, 7, 1), (2, COLLECTION, 1, 1), (2, foreign, 8, 1), (2, COLLECTION, 2, 1)]
    fill = decode_order_fulfilled(log(SELLER, BUYER, nfts, [(0, ZERO, 0, 3800, SELLER), (0, ZERO, 0, 100, FEE),
                                                            (0, ZERO, 0, 100, ROYALTY)]))
    receivers = {(COLLECTION, t): ROYALTY for t in (1, 2)}
    sales = token_sales(fill, {COLLECTION}, {FEE: "opensea"}, receivers)
    # 4,000 over four NFTs: 1,000 each, not 2,000 each as if the bundle held only ours.
    assert [(s.token_id, s.price) for s in sales] == [(1, 1000), (2, 1000)]
    assert [s.fees[0][1] for s in sales] == [25, 25]
    assert [s.royalty_paid for s in sales] == [50, 50]  # what our receiver got is for our tokens alone


def test_an_offer_fill_is_priced_by_the_offer_and_sold_by_the_recipient() -> None:
    asked = [(2, COLLECTION, 9, 1, BUYER), (1, WETH, 0, 50, FEE), (1, WETH, 0, 250, ROYALTY)]
    fill = decode_order_fulfilled(log(BUYER, SELLER, [(1, WETH, 0, 5000)], asked))
    [sale] = token_sales(fill, {COLLECTION}, {FEE: "opensea"}, {(COLLECTION, 9): ROYALTY})
    assert (sale.seller.lower(), sale.buyer.lower(), sale.price, sale.currency.lower()) == (SELLER, BUYER, 5000, WETH)
    assert (sale.royalty_paid, sale.fees[0][1]) == (250, 50)


def test_a_fill_of_another_collection_is_not_a_sale_of_ours() -> None:
    fill = decode_order_fulfilled(log(SELLER, BUYER, [(2, "0x" + "dd" * 20, 1, 1)], [(0, ZERO, 0, 100, SELLER)]))
    assert token_sales(fill, {COLLECTION}, {}) == []


def test_a_receiver_that_is_also_a_fee_recipient_counts_as_royalty_and_unknown_receiver_pays_nothing() -> None:
    fill = decode_order_fulfilled(log(SELLER, BUYER, [(2, COLLECTION, 1, 1)],
                                      [(0, ZERO, 0, 90, SELLER), (0, ZERO, 0, 10, FEE)]))
    [as_royalty] = token_sales(fill, {COLLECTION}, {FEE: "opensea"}, {(COLLECTION, 1): FEE})
    assert (as_royalty.royalty_paid, as_royalty.fees) == (10, ())
    [unknown] = token_sales(fill, {COLLECTION}, {FEE: "opensea"})
    assert (unknown.royalty_paid, unknown.royalty_receiver) == (0, None)


def test_payments_in_two_currencies_are_refused_and_garbage_is_not_a_fill() -> None:
    fill = decode_order_fulfilled(log(SELLER, BUYER, [(2, COLLECTION, 1, 1)],
                                      [(0, ZERO, 0, 90, SELLER), (ItemType.ERC20, WETH, 0, 10, FEE)]))
    with pytest.raises(ValidationFailed, match="several currencies"):
        token_sales(fill, {COLLECTION}, {})
    bad = log(SELLER, BUYER, [], [])
    bad["data"] = "0x1234"
    with pytest.raises(Exception):  # noqa: B017  (eth-abi's own decoding error)
        decode_order_fulfilled(bad)
    with pytest.raises(ValueError, match="not an OrderFulfilled"):
        decode_order_fulfilled(log(SELLER, BUYER, [], []) | {"topics": ["0x" + "00" * 32]})
