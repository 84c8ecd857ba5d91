"""The sales ledger: one row per sale whatever reported it, reversals as entries, values at the time of the sale."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from backend.fx.binance import BinanceClient
from backend.fx.service import clear_minute_cache
from backend.monitoring.errors import error_page
from backend.sales.currencies import ETHEREUM, POLYGON
from backend.sales.ledger import record_reports, revalue_missing
from backend.sales.models import NO_LOG_INDEX, SaleStatus
from backend.sales.normalise import checksum_address
from backend.sales.reports import SaleReport
from tests.sales.helpers import (
    SELLER,
    SOLD_AT,
    WETH,
    chain_report,
    deployed_campaign,
    events,
    report,
    reversals,
    sales,
    sources_of,
    tx,
)


@pytest.fixture
def collection() -> str:
    return deployed_campaign()[1]


def test_same_sale_from_opensea_rarible_and_chain_is_one_confirmed_row(collection: str) -> None:
    opensea = report(collection, external_id="")
    rarible = replace(opensea, source="rarible", external_id="ETHEREUM:62efe694fa83153a0a2872d1",
                      collection=collection.lower(), seller=SELLER.lower())
    chain = chain_report(opensea, royalty_receiver=SELLER, royalty_paid=25 * 10**15,
                         fees=(("0x0000a26b00c1f0df003000390027140000faa719", 5 * 10**15),))

    first = record_reports([opensea, rarible])
    assert (first.inserted, first.merged, first.skipped) == (1, 1, 0)
    [sale] = sales()
    assert sale.status is SaleStatus.UNVERIFIED
    assert sale.log_index is None and sale.log_index_key == NO_LOG_INDEX
    assert sale.royalty_paid is None  # unknown until the chain says: never assumed
    assert sale.next_check_at is not None and sale.next_check_at > sale.created_at

    second = record_reports([chain])
    assert (second.inserted, second.merged) == (0, 1)
    [confirmed] = sales()
    assert confirmed.id == sale.id  # upgraded in place, not a second row
    assert confirmed.status is SaleStatus.CONFIRMED
    assert (confirmed.log_index, confirmed.block_number) == (3, 1234)
    assert confirmed.royalty_paid == 25 * 10**15 and confirmed.royalty_receiver == SELLER
    assert confirmed.fees == [[checksum_address("0x0000a26b00c1f0df003000390027140000faa719"), str(5 * 10**15)]]
    assert sorted(sources_of(sale.id)) == ["chain", "opensea", "rarible"]
    assert sources_of(sale.id)["rarible"].external_id == "ETHEREUM:62efe694fa83153a0a2872d1"
    assert [(topic, payload["change"]) for topic, payload in events()] == [
        ("sale.recorded", "new"), ("sale.recorded", "confirmed")]


def test_chain_first_then_marketplaces_join_its_row(collection: str) -> None:
    base = report(collection, marketplace="rarible")
    record_reports([chain_report(base, marketplace="seaport")])
    result = record_reports([base, replace(base, source="rarible", marketplace="opensea")])
    assert (result.inserted, result.merged) == (0, 2)
    [sale] = sales()
    assert sale.status is SaleStatus.CONFIRMED and sale.log_index == 3
    assert sale.marketplace == "rarible"  # a named front end beats the chain's generic "seaport"; first stays
    assert len(events()) == 1


def test_repeated_reports_within_and_across_batches_store_one_row(collection: str) -> None:
    one = report(collection)
    result = record_reports([one, one, one])
    assert (result.inserted, result.merged) == (1, 2)
    again = record_reports([one])
    assert (again.inserted, again.merged, again.reverted, again.restored) == (0, 1, 0, 0)
    assert len(sales()) == 1
    assert len(events()) == 1


def test_two_fills_in_one_transaction_are_two_sales(collection: str) -> None:
    base = report(collection)
    record_reports([chain_report(base, log_index=3), chain_report(replace(base, token_id=8), log_index=5)])
    assert [(s.token_id, s.log_index) for s in sales()] == [(7, 3), (8, 5)]


OTHER_SELLER = checksum_address("0x1111111111111111111111111111111111111111")


def _sweep(collection: str) -> tuple[SaleReport, SaleReport]:
    """A sweep buying ERC-1155 token 7 from two sellers in one transaction, as Rarible reports it (Blur's fills)."""
    first = report(collection, "sweep", source="rarible", marketplace="blur", quantity=2, price=10**18,
                   external_id="ETHEREUM:aaaa")
    return first, replace(first, seller=OTHER_SELLER, quantity=3, price=3 * 10**18, external_id="ETHEREUM:bbbb")


def _fills() -> list[tuple[str, int, int, int | None]]:
    return [(s.seller, s.quantity, s.price, s.log_index) for s in sales()]


def test_two_fills_of_one_erc1155_token_in_one_transaction_are_two_sales(collection: str) -> None:
    first, second = _sweep(collection)
    result = record_reports([first, second])
    assert (result.inserted, result.merged) == (2, 0)
    assert _fills() == [(SELLER, 2, 10**18, None), (OTHER_SELLER, 3, 3 * 10**18, None)]
    assert [s.log_index_key for s in sales()] == [NO_LOG_INDEX, NO_LOG_INDEX - 1]

    again = record_reports([second, first, first])  # read again, in another order: nothing new
    assert (again.inserted, again.merged) == (0, 3)
    assert len(sales()) == 2 and len(events()) == 2
    assert [sources_of(s.id)["rarible"].external_id for s in sales()] == ["ETHEREUM:aaaa", "ETHEREUM:bbbb"]


def test_each_feed_pairs_its_report_of_a_fill_with_that_fill(collection: str) -> None:
    first, second = _sweep(collection)
    record_reports([first])
    opensea = [replace(fill, source="opensea", external_id=tx(f"order-{fill.external_id}"))
               for fill in (second, first)]
    assert record_reports([*opensea, second]).inserted == 1  # the second fill; the rest join their fill
    assert record_reports(opensea).inserted == 0
    # OpenSea's order hash can be empty: the seller and quantity tell the fills apart.
    nameless = [replace(fill, external_id="") for fill in opensea]
    assert record_reports(nameless + nameless).inserted == 0
    assert _fills() == [(SELLER, 2, 10**18, None), (OTHER_SELLER, 3, 3 * 10**18, None)]
    by_fill = [{name: source.external_id for name, source in sources_of(s.id).items()} for s in sales()]
    assert by_fill == [{"rarible": "ETHEREUM:aaaa", "opensea": tx("order-ETHEREUM:aaaa")},
                       {"rarible": "ETHEREUM:bbbb", "opensea": tx("order-ETHEREUM:bbbb")}]


def test_one_seller_filling_twice_in_one_transaction_is_two_sales_by_the_feeds_ids(collection: str) -> None:
    first, _ = _sweep(collection)
    twice = [first, replace(first, external_id="ETHEREUM:cccc")]  # two listings of one seller, alike
    assert record_reports(twice + twice).inserted == 2
    assert len(sales()) == 2


def test_the_chain_places_each_fill_marketplaces_reported_without_a_second_row(collection: str) -> None:
    first, second = _sweep(collection)
    record_reports([first, second, replace(second, source="opensea", external_id="")])
    unverified = sales()
    # Seaport's log order need not be the feeds' order: the second fill comes first.
    chain = [chain_report(second, log_index=3), chain_report(first, log_index=5)]
    result = record_reports(chain)
    assert (result.inserted, result.merged) == (0, 2)
    assert [s.id for s in sales()] == [s.id for s in unverified]  # upgraded in place
    assert _fills() == [(SELLER, 2, 10**18, 5), (OTHER_SELLER, 3, 3 * 10**18, 3)]
    assert all(s.status is SaleStatus.CONFIRMED for s in sales())
    assert [sorted(sources_of(s.id)) for s in sales()] == [["chain", "rarible"], ["chain", "opensea", "rarible"]]
    assert record_reports([*chain, first, second]).inserted == 0
    assert [(payload["sale_id"], payload["change"]) for _, payload in events()] == [
        (unverified[0].id, "new"), (unverified[1].id, "new"), (unverified[1].id, "confirmed"),
        (unverified[0].id, "confirmed")]


def test_marketplaces_join_each_fill_the_chain_placed_first(collection: str) -> None:
    first, second = _sweep(collection)
    record_reports([chain_report(first, log_index=3), chain_report(second, log_index=5)])
    assert record_reports([second, first]).inserted == 0
    assert [sorted(sources_of(s.id)) for s in sales()] == [["chain", "rarible"], ["chain", "rarible"]]
    assert [sources_of(s.id)["rarible"].external_id for s in sales()] == ["ETHEREUM:aaaa", "ETHEREUM:bbbb"]


def test_a_chain_report_unlike_the_only_marketplace_fill_still_places_it(collection: str) -> None:
    first, second = _sweep(collection)
    record_reports([second])
    # The fill that matches is placed before the one that matches nothing takes what is left.
    record_reports([chain_report(first, log_index=3), chain_report(second, log_index=5)])
    assert [(s.seller, s.log_index) for s in sales()] == [(OTHER_SELLER, 5), (SELLER, 3)]
    assert sorted(sources_of(sales()[0].id)) == ["chain", "rarible"]

    lone = report(collection, "lone", quantity=1)
    record_reports([lone])
    record_reports([chain_report(lone, quantity=2, log_index=4)])  # the sources disagree: still one sale
    assert [(s.quantity, s.log_index) for s in sales() if s.tx_hash == tx("lone")] == [(2, 4)]


def test_a_new_fill_never_takes_the_key_of_one_the_chain_is_placing(collection: str) -> None:
    first, second = _sweep(collection)
    record_reports([first])
    result = record_reports([chain_report(first, log_index=3), second])  # -1 moves to 3 in the same batch
    assert (result.inserted, result.merged) == (1, 1)
    assert [(s.seller, s.log_index_key) for s in sales()] == [(SELLER, 3), (OTHER_SELLER, NO_LOG_INDEX - 1)]
    assert record_reports([second, chain_report(second, log_index=5)]).inserted == 0
    assert [s.log_index_key for s in sales()] == [3, 5]


def test_withdrawn_by_its_only_source_is_reverted_and_comes_back_once(collection: str) -> None:
    sale_report = report(collection, source="rarible", external_id="ETHEREUM:a1")
    record_reports([sale_report])
    withdrawn = record_reports([replace(sale_report, reverted=True)])
    assert withdrawn.reverted == 1
    [sale] = sales()
    assert sale.status is SaleStatus.REVERTED
    [entry] = reversals()
    assert entry.sale_id == sale.id and entry.source == "rarible" and entry.restored_at is None

    assert record_reports([replace(sale_report, reverted=True)]).reverted == 0  # said twice: still one entry
    assert len(reversals()) == 1

    back = record_reports([sale_report, sale_report])
    assert (back.restored, back.inserted) == (1, 0)
    [restored] = sales()
    assert restored.id == sale.id and restored.status is SaleStatus.UNVERIFIED
    [entry] = reversals()
    assert entry.restored_at is not None
    assert record_reports([sale_report]).restored == 0
    assert [(topic, payload.get("change")) for topic, payload in events()] == [
        ("sale.recorded", "new"), ("sale.reverted", None), ("sale.recorded", "restored")]


def test_withdrawn_by_one_of_two_sources_stays(collection: str) -> None:
    opensea = report(collection)
    rarible = replace(opensea, source="rarible")
    record_reports([opensea, rarible])
    assert record_reports([replace(rarible, reverted=True)]).reverted == 0
    [sale] = sales()
    assert sale.status is SaleStatus.UNVERIFIED
    assert not sources_of(sale.id)["opensea"].reverted and sources_of(sale.id)["rarible"].reverted


def test_chain_reorg_reverts_the_sale_even_while_feeds_still_list_it(collection: str) -> None:
    base = report(collection)
    chain = chain_report(base)
    record_reports([base, chain])
    assert record_reports([replace(chain, reverted=True)]).reverted == 1
    assert record_reports([base]).restored == 0  # the feed's copy cannot bring back what the chain dropped
    [sale] = sales()
    assert sale.status is SaleStatus.REVERTED
    [entry] = reversals()
    assert entry.source == "chain" and "canonical chain" in entry.reason

    assert record_reports([replace(chain, block_number=1240)]).restored == 1  # mined again after the reorg
    [sale] = sales()
    assert sale.status is SaleStatus.CONFIRMED and sale.block_number == 1240
    assert sale.next_check_at is not None and sale.royalty_computed_at is None


def test_first_seen_already_reverted_is_kept_as_reverted(collection: str) -> None:
    result = record_reports([report(collection, source="rarible", reverted=True)])
    assert (result.inserted, result.reverted) == (1, 1)
    [sale] = sales()
    assert sale.status is SaleStatus.REVERTED
    assert len(reversals()) == 1 and events() == []


def test_foreign_and_malformed_reports_are_skipped_and_the_rest_stored(collection: str) -> None:
    foreign = report("0x1111111111111111111111111111111111111111", 2)
    malformed = report(collection, 3, seller="ETHEREUM:0xnot-an-address")
    negative = report(collection, 4, price=-1)
    good = report(collection, 5)
    result = record_reports([foreign, malformed, negative, good])
    assert (result.inserted, result.skipped) == (1, 3)
    assert [s.tx_hash for s in sales()] == [tx(5)]
    entries, _ = error_page()
    assert any(e.source == "sales:ledger" and "skipped" in e.message for e in entries)


def test_numbers_past_their_columns_are_skipped_and_the_rest_of_the_chunk_stored(collection: str) -> None:
    largest = report(collection, 1, quantity=2**31 - 1, block_number=2**63 - 1)
    too_many = report(collection, 2, quantity=2**31)
    block_too_high = report(collection, 3, block_number=2**63)
    good = report(collection, 4)
    result = record_reports([largest, too_many, block_too_high, good])
    assert (result.inserted, result.skipped) == (2, 2)
    assert [(s.tx_hash, s.quantity, s.block_number) for s in sales()] == [(tx(1), 2**31 - 1, 2**63 - 1),
                                                                          (tx(4), 1, None)]
    assert any("quantity" in e for e in result.errors) and any("block_number" in e for e in result.errors)


def test_amounts_larger_than_any_float_are_exact(collection: str) -> None:
    price = 2**200 + 1
    record_reports([report(collection, price=price, token_id=2**255 + 3)])
    [sale] = sales()
    assert sale.price == price and sale.token_id == 2**255 + 3
    assert sale.value_usd_cents is None  # more than a BIGINT of cents: left unvalued rather than failing


def test_value_at_the_time_of_the_sale_uses_the_static_table_with_its_rate(collection: str) -> None:
    record_reports([report(collection, price=1_234_567_890_123_456_789),  # 1.234... ETH at ETH/USD 2500
                    report(collection, 2, chain_id=ETHEREUM, currency_address=WETH, currency_symbol="WETH",
                           price=10**18)])
    eth, weth = sales()
    assert (eth.value_usd_cents, eth.fx_rate_usd, eth.fx_source) == (308642, Decimal("2500"), "static")
    assert (eth.value_eur_cents, eth.fx_rate_eur) == (283951, Decimal("2300"))  # 2839.5061... EUR
    assert weth.value_usd_cents == 250000  # WETH is priced as ETH


def test_a_token_is_valued_by_its_chain_and_address_never_by_its_symbol(collection: str) -> None:
    junk = checksum_address("0x00000000000000000000000000000000deadbeef")  # any ERC-20 anyone can deploy
    polygon_usdc = checksum_address("0x3c499c542cef5e3811e1192ce70d8cc03d5c3359")
    record_reports([
        # 1000 of a worthless token whose symbol() says "WETH": not 1000 ETH.
        report(collection, 1, chain_id=ETHEREUM, currency_address=junk, currency_symbol="WETH", price=1000 * 10**18),
        report(collection, 2, currency_address=WETH, currency_symbol="WETH", price=10**18),  # on the local chain
        report(collection, 3, chain_id=ETHEREUM, currency_address=WETH, currency_symbol="DOGE", price=10**18),
        report(collection, 4, chain_id=POLYGON, currency_address=polygon_usdc, currency_symbol="USDC",
               currency_decimals=6, price=12_500_000),
        report(collection, 5, chain_id=POLYGON, currency_symbol="ETH", price=4 * 10**18),  # Polygon's coin is POL
    ])
    junk_weth, local_weth, weth_named_doge, usdc, pol = sales()
    assert junk_weth.value_usd_cents is None and junk_weth.fx_rate_usd is None
    assert local_weth.value_usd_cents is None
    assert weth_named_doge.value_usd_cents == 250000  # the address is WETH's: priced as ETH whatever it is called
    assert usdc.value_usd_cents == 1250  # 12.5 USDC at 1
    assert pol.value_usd_cents == 100  # 4 POL at 0.25
    assert revalue_missing() == 0  # the unpriced ones stay unvalued; nothing to look up again


def test_a_currency_symbol_with_other_characters_is_stored_as_a_placeholder(collection: str) -> None:
    record_reports([report(collection, 1, currency_symbol='=IMAGE("//x.io")'),
                    report(collection, 2, currency_symbol="<b>W</b>"),
                    report(collection, 3, currency_symbol="W\u0395TH"),  # a Greek capital epsilon
                    report(collection, 4, currency_symbol="USDC.e"),
                    report(collection, 5, currency_symbol="my_token 2-x")])
    assert [s.currency_symbol for s in sales()] == ["?", "?", "?", "USDC.e", "my_token 2-x"]


def test_a_chain_report_with_another_price_values_the_sale_again(collection: str) -> None:
    opensea = report(collection, price=2 * 10**18)  # a bundle's whole price, as an older decoding stored it
    record_reports([opensea])
    [sale] = sales()
    assert sale.value_usd_cents == 500000
    record_reports([chain_report(opensea, price=10**18)])  # the chain's share for this token
    [confirmed] = sales()
    assert (confirmed.price, confirmed.value_usd_cents, confirmed.value_eur_cents) == (10**18, 250000, 230000)
    assert confirmed.fx_rate_usd == Decimal("2500") and confirmed.fx_source == "static"
    record_reports([chain_report(opensea, price=10**18)])  # read again: nothing to change
    assert sales()[0].updated_at == confirmed.updated_at


class FakeKlines:
    """Binance's kline endpoint over httpx.MockTransport: the close of each minute, counted."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self.throttle = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v3/klines"
        params = request.url.params
        assert params["interval"] == "1m" and params["limit"] == "1"
        symbol, start = params["symbol"], int(params["startTime"])
        self.calls.append((symbol, start))
        if self.throttle:
            return httpx.Response(429, headers={"Retry-After": "30"}, json={"code": -1003, "msg": "Too many"})
        minute = (start // 60_000) % 60
        close = {"ETHUSDT": f"{3000 + minute}.12345678", "EURUSDT": "1.10000000"}[symbol]
        return httpx.Response(200, json=[[start, "1", "1", "1", close, "10", start + 59_999, "0", 5, "0", "0", "0"]])

    def client(self) -> BinanceClient:
        return BinanceClient(httpx.Client(transport=httpx.MockTransport(self)), base_url="https://binance.test")


def test_binance_mode_prices_each_sale_at_its_minute_and_asks_once_per_minute(collection: str, configure) -> None:  # type: ignore[no-untyped-def]
    configure(FX_MODE="binance")
    clear_minute_cache()
    fake = FakeKlines()
    later = SOLD_AT + timedelta(minutes=2)
    record_reports([report(collection, 1), report(collection, 2, sold_at=SOLD_AT + timedelta(seconds=20)),
                    report(collection, 3, sold_at=later)], fx_client=fake.client())
    first, same_minute, other = sales()
    assert first.fx_rate_usd == Decimal("3030.12345678") == same_minute.fx_rate_usd  # 12:30's close
    assert other.fx_rate_usd == Decimal("3032.12345678")
    assert first.value_usd_cents == 151506  # 0.5 ETH * 3030.12345678 = 1515.06 USD
    assert first.fx_rate_eur == (Decimal("3030.12345678") / Decimal("1.1")).quantize(Decimal("1e-18"))
    assert first.fx_source == "binance"
    assert sorted(fake.calls) == sorted({(s, int(m.timestamp()) * 1000)
                                         for s in ("ETHUSDT", "EURUSDT")
                                         for m in (SOLD_AT.replace(second=0), later.replace(second=0))})
    clear_minute_cache()


def test_binance_throttling_leaves_values_empty_and_loses_no_sale(collection: str, configure) -> None:  # type: ignore[no-untyped-def]
    configure(FX_MODE="binance")
    clear_minute_cache()
    fake = FakeKlines()
    fake.throttle = True
    result = record_reports([report(collection, n, sold_at=SOLD_AT + timedelta(minutes=n)) for n in range(5)],
                            fx_client=fake.client())
    assert result.inserted == 5
    assert all(s.value_usd_cents is None for s in sales())
    assert len(fake.calls) == 1  # stopped asking after the 429
    assert any("429" in e or "rate limited" in e for e in result.errors)

    fake.throttle = False
    clear_minute_cache()
    assert revalue_missing(fx_client=fake.client()) == 5  # later, the prices are filled in
    assert [s.fx_rate_usd for s in sales()] == [Decimal(f"{3030 + n}.12345678") for n in range(5)]
    assert revalue_missing(fx_client=fake.client()) == 0
    clear_minute_cache()


def test_a_chain_report_of_a_new_sale_stores_its_split_and_is_confirmed(collection: str) -> None:
    fee_recipient = checksum_address("0x0000a26b00c1f0df003000390027140000faa719")
    record_reports([chain_report(report(collection, price=10**18), royalty_receiver=SELLER, royalty_paid=75 * 10**15,
                                 fees=((fee_recipient, 25 * 10**15),), marketplace="opensea")])
    [sale] = sales()
    assert sale.status is SaleStatus.CONFIRMED and sale.next_check_at is not None
    assert (sale.royalty_receiver, sale.royalty_paid) == (SELLER, 75 * 10**15)
    assert sale.fees == [[fee_recipient, str(25 * 10**15)]]
    assert sale.value_usd_cents == 250000 and sale.fx_rate_usd == Decimal("2500")
    assert sorted(sources_of(sale.id)) == ["chain"]
    assert [(topic, payload["change"], payload["sources"]) for topic, payload in events()] == [
        ("sale.recorded", "new", ["chain"])]


def test_sources_reporting_the_same_sales_at_once_make_one_row_each(collection: str) -> None:
    import threading

    batch = [report(collection, n) for n in range(40)]
    per_source = {"opensea": batch, "rarible": [replace(r, source="rarible") for r in batch],
                  "chain": [chain_report(r, log_index=n) for n, r in enumerate(batch)]}
    barrier = threading.Barrier(len(per_source))
    failures: list[BaseException] = []

    def ingest(reports: list) -> None:  # type: ignore[type-arg]
        barrier.wait()
        try:
            record_reports(reports, batch_size=10)
        except BaseException as exc:  # noqa: BLE001  reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=ingest, args=(reports,)) for reports in per_source.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    stored = sales()
    assert len(stored) == 40 and all(s.status is SaleStatus.CONFIRMED for s in stored)
    assert all(sorted(sources_of(s.id)) == ["chain", "opensea", "rarible"] for s in stored)
    assert sorted(s.log_index for s in stored) == list(range(40))
