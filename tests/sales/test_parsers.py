"""The marketplace parsers on real payload shapes and on broken ones: exact amounts, prefixes stripped, foreign
events ignored, and anything unusable a MalformedEvent (never another exception, never a guess)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from backend.sales.normalise import checksum_address
from backend.sales.opensea import parse_event
from backend.sales.rarible import parse_activity, to_base_units
from backend.sales.reports import CollectionRef
from backend.sales.throttle import MalformedEvent
from tests.sales.fake_marketplaces import opensea_sale, rarible_sell
from tests.sales.helpers import BUYER, SELLER, WETH, tx

COLLECTION = checksum_address("0x5fbdb2315678afecb367f032d93f642f64180aa3")
REF = CollectionRef(campaign_id=1, brand_id=1, chain_id=1, contract_address=COLLECTION)
AT = datetime(2024, 6, 10, 16, 0, 12, tzinfo=UTC)


def _opensea(**changes: Any) -> dict[str, Any]:
    event = opensea_sale(COLLECTION, 42, tx(1), AT, "46000000000000000", seller=SELLER, buyer=BUYER)
    event.update(changes)
    return event


def _rarible(**changes: Any) -> dict[str, Any]:
    activity = rarible_sell(COLLECTION, 3624, tx(2), AT, "0.037", seller=SELLER, buyer=BUYER,
                            activity_id="ETHEREUM:62efe694fa83153a0a2872d1", source="OPEN_SEA")
    activity.update(changes)
    return activity


def test_opensea_sale_in_base_units_with_an_empty_order_hash() -> None:
    report = parse_event(_opensea(), REF, "ethereum")
    assert report is not None
    assert (report.price, report.currency_decimals, report.currency_symbol) == (46 * 10**15, 18, "ETH")
    assert (report.token_id, report.seller, report.collection, report.sold_at) == (42, SELLER, COLLECTION, AT)
    assert report.external_id == "" and report.marketplace == "opensea" and report.log_index is None


def test_rarible_scaled_decimals_become_exact_base_units() -> None:
    report = parse_activity(_rarible(), REF, "ETHEREUM")
    assert report is not None
    assert (report.price, report.marketplace, report.buyer) == (37 * 10**15, "opensea", BUYER)
    assert report.block_number == 15296250 and report.external_id == "ETHEREUM:62efe694fa83153a0a2872d1"
    weth = parse_activity(_rarible(payment={"type": {"@type": "ERC20", "contract": f"ETHEREUM:{WETH.lower()}"},
                                            "value": "0.1"}), REF, "ETHEREUM")
    assert weth is not None and (weth.currency_symbol, weth.currency_address, weth.price) == ("WETH", WETH, 10**17)
    assert to_base_units("1.005", 18, "x") == 1005 * 10**15 != int(1.005 * 10**18)
    assert to_base_units("0.000001", 6, "x") == 1


def test_rarible_amounts_longer_than_28_digits_stay_exact() -> None:
    # 31 significant digits: Decimal's default context rounded them to 28 and the rounded amount passed as integral.
    assert to_base_units("1234567890123.123456789012345678", 18, "x") == 1234567890123123456789012345678
    assert to_base_units("9" * 40 + "." + "9" * 18, 18, "x") == 10**58 - 1
    with pytest.raises(MalformedEvent, match="more than 18 decimals"):
        to_base_units("1234567890123.1234567890123456789", 18, "x")


def test_other_types_chains_and_contracts_are_not_ours() -> None:
    assert parse_event(_opensea(event_type="transfer"), REF, "ethereum") is None
    assert parse_event(_opensea(chain="matic"), REF, "ethereum") is None
    foreign = _opensea()
    foreign["nft"]["contract"] = "0x" + "22" * 20
    assert parse_event(foreign, REF, "ethereum") is None
    assert parse_activity(_rarible(type="TRANSFER", **{"@type": "TRANSFER"}), REF, "ETHEREUM") is None
    polygon = _rarible()
    polygon["nft"]["type"]["contract"] = f"POLYGON:{COLLECTION.lower()}"
    assert parse_activity(polygon, REF, "ETHEREUM") is None


def _without(event: dict[str, Any], *path: str) -> dict[str, Any]:
    event = copy.deepcopy(event)
    target = event
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return event


OPENSEA_BROKEN = [
    "not an object", [1, 2], _opensea(payment={"quantity": 4.6e16, "decimals": 18, "symbol": "ETH",
                                               "token_address": "0x" + "00" * 20}),
    _opensea(payment={"quantity": "-5", "decimals": 18, "symbol": "ETH", "token_address": "0x" + "00" * 20}),
    _opensea(payment=None), _opensea(payment="free"), _opensea(transaction="0x1234"), _opensea(seller="bob"),
    _opensea(event_timestamp="yesterday"), _opensea(event_timestamp=10**20), _opensea(quantity=[1]),
    _without(_opensea(), "nft", "identifier"), _without(_opensea(), "buyer"), _opensea(nft="a token"),
]
RARIBLE_BROKEN = [
    None, _rarible(price="abc", payment={"type": {"@type": "ETH"}, "value": "abc"}),
    _rarible(payment={"type": {"@type": "ETH"}, "value": "1e18"}),
    _rarible(payment={"type": {"@type": "ETH"}, "value": "0.0000000000000000001"}),  # beyond 18 decimals
    _rarible(payment={"type": {"@type": "ERC20", "contract": "ETHEREUM:0x" + "ab" * 20}, "value": "1"}),
    _rarible(date="2022-13-45T99:00:00Z"), _rarible(date=12345), _rarible(buyer="0x" + "11" * 20),
    _rarible(seller="POLYGON:0x" + "11" * 20), _rarible(transactionHash=None, blockchainInfo={}),
    _rarible(nft={"type": {"@type": "ERC721", "contract": f"ETHEREUM:{COLLECTION.lower()}", "tokenId": "x"}}),
    _rarible(nft={"type": {"@type": "ERC721", "contract": f"ETHEREUM:{COLLECTION.lower()}", "tokenId": "1"},
                  "value": "0"}),
    _rarible(payment=[]),
]


@pytest.mark.parametrize("event", OPENSEA_BROKEN)
def test_a_broken_opensea_event_is_malformed(event: Any) -> None:
    with pytest.raises(MalformedEvent):
        parse_event(event, REF, "ethereum")


@pytest.mark.parametrize("activity", RARIBLE_BROKEN)
def test_a_broken_rarible_activity_is_malformed(activity: Any) -> None:
    with pytest.raises(MalformedEvent):
        parse_activity(activity, REF, "ETHEREUM")


def test_numbers_past_what_the_ledger_stores_are_malformed_and_the_largest_storable_are_kept() -> None:
    assert parse_event(_opensea(quantity=2**31 - 1), REF, "ethereum").quantity == 2**31 - 1  # type: ignore[union-attr]
    with pytest.raises(MalformedEvent, match="quantity"):
        parse_event(_opensea(quantity="1" * 25), REF, "ethereum")
    with pytest.raises(MalformedEvent, match="quantity"):
        parse_event(_opensea(quantity=2**31), REF, "ethereum")
    largest = _rarible(blockchainInfo={"transactionHash": tx(2), "blockNumber": 2**63 - 1})
    largest["nft"]["value"] = str(2**31 - 1)
    kept = parse_activity(largest, REF, "ETHEREUM")
    assert kept is not None and (kept.block_number, kept.quantity) == (2**63 - 1, 2**31 - 1)
    with pytest.raises(MalformedEvent, match="blockNumber"):
        parse_activity(_rarible(blockchainInfo={"transactionHash": tx(2), "blockNumber": 2**63}), REF, "ETHEREUM")
    too_many = _rarible()
    too_many["nft"]["value"] = str(2**31)
    with pytest.raises(MalformedEvent, match="nft value"):
        parse_activity(too_many, REF, "ETHEREUM")
