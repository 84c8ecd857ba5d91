"""The OpenSea and Rarible pollers, as daemons, against fake marketplaces on 127.0.0.1 serving the real formats
with their quirks; the ledger is checked exactly."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from backend.db import session_scope
from backend.fx.service import clear_minute_cache
from backend.monitoring.errors import error_page
from backend.sales.cursors import MAX_CURSOR_FAILURES
from backend.sales.models import SalesCursor, SaleStatus
from backend.sales.polling import poll
from backend.sales.throttle import reset_buckets
from jobs import poll_opensea_sales, poll_rarible_sales
from jobs.runner import run_once
from tests.sales.fake_marketplaces import (
    API_KEY,
    FakeOpenSea,
    FakeRarible,
    at,
    opensea_sale,
    rarible_sell,
    serving,
)
from tests.sales.helpers import BUYER, CHAIN_ID, SELLER, WETH, deployed_campaign, reversals, sales, sources_of, tx

FOREIGN = "0x2222222222222222222222222222222222222222"
SLUG = "primsell-spring"


@pytest.fixture
def marketplaces(configure) -> Iterator[tuple[FakeOpenSea, FakeRarible]]:  # type: ignore[no-untyped-def]
    reset_buckets()
    clear_minute_cache()
    with serving(FakeOpenSea()) as opensea, serving(FakeRarible()) as rarible:
        configure(OPENSEA_API_URL=opensea.url, OPENSEA_API_KEY=API_KEY, RARIBLE_API_URL=rarible.url,
                  RARIBLE_API_KEY=API_KEY, CHAIN_ID=CHAIN_ID, SALES_PAGE_SIZE=3, SALES_MAX_PAGES_PER_RUN=10,
                  MARKETPLACE_MAX_WAIT_SECONDS=5, SALES_LOOKBACK_SECONDS=3600)
        yield opensea, rarible  # type: ignore[misc]
    reset_buckets()


def _run(name: str) -> int:
    module = {"opensea_sales_poller": poll_opensea_sales, "rarible_sales_poller": poll_rarible_sales}[name]
    result = run_once(name, module.run, holder="test-runner", lease_s=60, every_s=60)
    assert result.ran and result.outcome is not None and result.outcome.value == "ok", result.error
    return result.items


def _ledger() -> dict[str, tuple[int, str, str, str, tuple[str, ...]]]:
    """tx hash -> (price, currency symbol, marketplace, status, sources)."""
    return {sale.tx_hash: (sale.price, sale.currency_symbol, sale.marketplace, sale.status.value,
                           tuple(sorted(n for n, s in sources_of(sale.id).items() if not s.reverted)))
            for sale in sales()}


def test_both_feeds_with_their_quirks_make_an_exact_ledger(marketplaces) -> None:  # type: ignore[no-untyped-def]
    opensea, rarible = marketplaces
    campaign, collection = deployed_campaign()
    opensea.contracts[("ethereum", collection.lower())] = SLUG
    parties = {"seller": SELLER, "buyer": BUYER}
    now = datetime.now(UTC)
    newest_opensea, newest_rarible = at(20, now), at(15, now)
    opensea.events[SLUG] = [
        # Sold on OpenSea: in both feeds (Rarible reports it as source OPEN_SEA).
        opensea_sale(collection, 1, tx(1), at(50), "46000000000000000", order_hash=tx("order-1"), **parties),
        # WETH, with an empty order hash and protocol address.
        opensea_sale(collection, 2, tx(2), at(40), "1230000000000000000", symbol="WETH", token_address=WETH,
                     **parties),
        opensea_sale(collection, 3, tx(3), at(30), "300000000000000000", **parties),
        opensea_sale(collection, 3, tx(3), at(30), "300000000000000000", **parties),  # posted twice
        opensea_sale(FOREIGN, 9, tx(90), at(29), "1000", **parties),  # another contract of the same OpenSea slug
        opensea_sale(collection, 4, tx(91), at(28), "1000", chain="matic", **parties),  # another chain
        opensea_sale(collection, 5, tx(92), at(27), "1000", event_type="transfer", **parties),  # not a sale
        opensea_sale(collection, 6, tx(93), at(26), "1.5e17", **parties),  # malformed: not base units
        opensea_sale(collection, 7, tx(7), newest_opensea, "999999999999999999", **parties),
    ]
    rarible.activities = [
        rarible_sell(collection, 1, tx(1), at(50), "0.046", activity_id="ETHEREUM:a1", source="OPEN_SEA", **parties),
        # 1.005 ETH: float arithmetic makes 1004999999999999872 wei of it.
        rarible_sell(collection, 11, tx(11), at(45), "1.005", activity_id="ETHEREUM:a11", source="BLUR", **parties),
        rarible_sell(collection, 12, tx(12), at(35), "0.3", activity_id="ETHEREUM:a12", erc20=WETH, **parties),
        rarible_sell(collection, 12, tx(12), at(35), "0.3", activity_id="ETHEREUM:a12", erc20=WETH, **parties),
        rarible_sell(collection, 13, tx(13), at(25), "abc", activity_id="ETHEREUM:a13", **parties),  # malformed
        rarible_sell(collection, 14, tx(14), newest_rarible, "2.000000000000000001", activity_id="ETHEREUM:a14",
                     **parties),
        rarible_sell(FOREIGN, 15, tx(15), at(10), "1", activity_id="ETHEREUM:a15", **parties),  # filtered out
    ]
    opensea.throttles = 1  # the first events read is throttled (Retry-After: 1)

    assert _run("opensea_sales_poller") == 5  # 1, 2, 3 (twice), 7
    assert _run("rarible_sales_poller") == 5  # 1, 11, 12 (twice), 14

    assert _ledger() == {
        tx(1): (46 * 10**15, "ETH", "opensea", "unverified", ("opensea", "rarible")),
        tx(2): (123 * 10**16, "WETH", "opensea", "unverified", ("opensea",)),
        tx(3): (3 * 10**17, "ETH", "opensea", "unverified", ("opensea",)),
        tx(7): (999999999999999999, "ETH", "opensea", "unverified", ("opensea",)),
        tx(11): (1005 * 10**15, "ETH", "blur", "unverified", ("rarible",)),
        tx(12): (3 * 10**17, "WETH", "rarible", "unverified", ("rarible",)),
        tx(14): (2 * 10**18 + 1, "ETH", "rarible", "unverified", ("rarible",)),
    }
    assert all(s.campaign_id == campaign.id and s.royalty_paid is None for s in sales())
    assert {s.tx_hash: s.value_usd_cents for s in sales()}[tx(11)] == 251250  # 1.005 ETH at the static 2500

    # The 429 was honoured: the retry came after Retry-After, and the run went on.
    events_reads = opensea.requests("/events/")
    assert [r.status for r in events_reads][:2] == [429, 200]
    assert events_reads[1].at - events_reads[0].at >= 1.0
    # Pages of 3 newest first, then the cursor after the last page answered 500: not fatal, the walk is complete.
    assert [r.status for r in events_reads][-1] == 500
    # Malformed events went to the error log and did not block their page.
    messages = [e.message for e in error_page()[0]]
    assert any("payment.quantity" in m for m in messages) and any("payment value" in m for m in messages)

    assert _cursors()["rarible"].cursor is None and _cursors()["rarible"].last_event_at == newest_rarible
    # The last page was full, so the 500 may hide more: the cursor is kept and tried again next runs (a few times),
    # then the walk is given up, and the part older than what it read is walked on its own before the mark moves.
    cursor = _cursors()["opensea"]
    assert cursor.source_ref == SLUG and cursor.cursor is not None and cursor.cursor_failures == 1
    assert "500" in cursor.last_error and cursor.last_event_at is None
    _run("opensea_sales_poller")
    assert _cursors()["opensea"].cursor_failures == 2
    _run("opensea_sales_poller")
    cursor = _cursors()["opensea"]
    assert cursor.cursor is None and cursor.cursor_failures == 0 and cursor.walk_before is not None
    assert cursor.last_event_at is None
    _run("opensea_sales_poller")
    cursor = _cursors()["opensea"]
    assert cursor.walk_before is None and cursor.last_event_at == newest_opensea
    assert len(sales()) == 7


def test_a_500_on_the_cursor_after_a_short_last_page_ends_the_walk(marketplaces) -> None:  # type: ignore[no-untyped-def]
    opensea, _ = marketplaces
    _, collection = deployed_campaign()
    opensea.contracts[("ethereum", collection.lower())] = SLUG
    now = datetime.now(UTC)
    opensea.events[SLUG] = [opensea_sale(collection, n, tx(n), at(n, now), "5", seller=SELLER, buyer=BUYER)
                            for n in range(1, 5)]  # pages of 3 and 1
    assert _run("opensea_sales_poller") == 4
    assert [r.status for r in opensea.requests("/events/")] == [200, 200, 500]
    cursor = _cursors()["opensea"]
    assert cursor.cursor is None and cursor.last_event_at == at(1, now) and cursor.last_error == ""


def _history(opensea: FakeOpenSea, collection: str, now: datetime) -> None:
    """Ten sales half an hour apart (newest first, pages of 3): back well past the hour of look-back. A cursor into
    the sales older than 100 minutes answers 500, as long as `broken_before` stays."""
    opensea.contracts[("ethereum", collection.lower())] = SLUG
    opensea.fail_last_cursor = False
    opensea.events[SLUG] = [opensea_sale(collection, n, tx(n), at(30 * n, now), str(n), seller=SELLER, buyer=BUYER)
                            for n in range(1, 11)]
    opensea.broken_before = int(at(100, now).timestamp())


def test_an_opensea_walk_given_up_mid_history_reads_the_older_sales_it_left_next(marketplaces) -> None:  # type: ignore[no-untyped-def]
    opensea, _ = marketplaces
    _, collection = deployed_campaign()
    now = datetime.now(UTC)
    _history(opensea, collection, now)
    for _ in range(MAX_CURSOR_FAILURES):  # the first page (sales 1-3), then its cursor fails run after run
        _run("opensea_sales_poller")
    assert sorted(s.tx_hash for s in sales()) == sorted(tx(n) for n in (1, 2, 3))
    cursor = _cursors()["opensea"]
    assert "gave up" in cursor.last_error and cursor.last_event_at is None  # the mark is not past sales 4-10

    opensea.broken_before = None
    _run("opensea_sales_poller")
    assert sorted(s.tx_hash for s in sales()) == sorted(tx(n) for n in range(1, 11))
    fresh = [r for r in opensea.requests("/events/") if "next" not in r.query][-1]
    assert fresh.query["before"] == [str(int(at(90, now).timestamp()) + 1)] and "after" not in fresh.query
    cursor = _cursors()["opensea"]
    assert cursor.last_event_at == at(30, now) and cursor.walk_before is None and cursor.last_error == ""

    _run("opensea_sales_poller")  # walks go on from the mark, with no upper bound
    query = opensea.requests("/events/")[-1].query
    assert "before" not in query and query["after"] == [str(int((at(30, now) - timedelta(hours=1)).timestamp()))]


def test_a_walk_given_up_after_only_another_contracts_sales_still_reads_its_older_part(marketplaces) -> None:  # type: ignore[no-untyped-def]
    opensea, _ = marketplaces
    _, collection = deployed_campaign()
    now = datetime.now(UTC)
    _history(opensea, collection, now)
    for event in opensea.events[SLUG][:3]:  # a shared slug: the first page is all another contract's sales
        event["nft"]["contract"] = FOREIGN.lower()
    for _ in range(MAX_CURSOR_FAILURES):
        _run("opensea_sales_poller")
    cursor = _cursors()["opensea"]
    assert sales() == [] and "read next" in cursor.last_error
    assert cursor.walk_before == at(90, now) + timedelta(seconds=1)  # from the oldest event passed, ours or not

    opensea.broken_before = None
    _run("opensea_sales_poller")
    assert sorted(s.tx_hash for s in sales()) == sorted(tx(n) for n in range(4, 11))
    assert _cursors()["opensea"].walk_before is None


def test_new_opensea_sales_are_still_read_when_the_older_part_keeps_failing(marketplaces) -> None:  # type: ignore[no-untyped-def]
    opensea, _ = marketplaces
    _, collection = deployed_campaign()
    now = datetime.now(UTC)
    _history(opensea, collection, now)
    for _ in range(MAX_CURSOR_FAILURES):
        _run("opensea_sales_poller")
    opensea.events[SLUG].append(opensea_sale(collection, 11, tx(11), at(1, now), "11", seller=SELLER, buyer=BUYER))
    for _ in range(MAX_CURSOR_FAILURES):  # the older part: its first page (sales 3-5) reads, its cursor keeps failing
        _run("opensea_sales_poller")
    cursor = _cursors()["opensea"]
    assert "not read" in cursor.last_error and cursor.walk_before is None and cursor.last_event_at == at(30, now)

    _run("opensea_sales_poller")
    assert sorted(s.tx_hash for s in sales()) == sorted(tx(n) for n in (1, 2, 3, 4, 5, 11))
    cursor = _cursors()["opensea"]
    assert cursor.last_event_at == at(1, now) and cursor.cursor is None and cursor.last_error == ""


def test_an_older_part_whose_first_page_keeps_failing_is_given_up_too(marketplaces) -> None:  # type: ignore[no-untyped-def]
    opensea, _ = marketplaces
    _, collection = deployed_campaign()
    now = datetime.now(UTC)
    _history(opensea, collection, now)
    for _ in range(MAX_CURSOR_FAILURES):
        _run("opensea_sales_poller")
    opensea.gone.add(SLUG)  # the older part's first page is refused, not only its cursors
    for _ in range(MAX_CURSOR_FAILURES):
        _run("opensea_sales_poller")
    cursor = _cursors()["opensea"]
    assert "not read" in cursor.last_error and cursor.walk_before is None and cursor.last_event_at == at(30, now)


def test_a_cursor_opensea_keeps_refusing_does_not_stall_the_walk(marketplaces, configure) -> None:  # type: ignore[no-untyped-def]
    opensea, _ = marketplaces
    configure(SALES_MAX_PAGES_PER_RUN=1)
    _, collection = deployed_campaign()
    now = datetime.now(UTC)
    opensea.contracts[("ethereum", collection.lower())] = SLUG
    opensea.events[SLUG] = [opensea_sale(collection, n, tx(n), at(n, now), "5", seller=SELLER, buyer=BUYER)
                            for n in range(1, 8)]
    _run("opensea_sales_poller")  # one page (sales 1-3); its cursor is kept for the next run
    assert _cursors()["opensea"].cursor is not None
    opensea.refuse_cursors = True  # the same slug, but OpenSea no longer takes that cursor
    # Three refusals give the walk up; its older part reads a first page (budget: one a run), then three refusals
    # give it up too: the stale cursor is not asked for ever.
    for _ in range(2 * MAX_CURSOR_FAILURES + 1):
        _run("opensea_sales_poller")
    cursor = _cursors()["opensea"]
    assert cursor.cursor is None and cursor.walk_before is None and "not read" in cursor.last_error
    opensea.refuse_cursors = False
    opensea.events[SLUG].append(opensea_sale(collection, 20, tx(20), at(0.5, now), "5", seller=SELLER, buyer=BUYER))
    _run("opensea_sales_poller")
    assert tx(20) in {s.tx_hash for s in sales()}


def test_a_renamed_opensea_collection_is_found_again_by_its_contract(marketplaces) -> None:  # type: ignore[no-untyped-def]
    opensea, _ = marketplaces
    _, collection = deployed_campaign()
    now = datetime.now(UTC)
    opensea.contracts[("ethereum", collection.lower())] = SLUG
    opensea.events[SLUG] = [opensea_sale(collection, 1, tx(1), at(1, now), "5", seller=SELLER, buyer=BUYER)]
    assert _run("opensea_sales_poller") == 1

    # The collection is renamed: the stored slug answers 404, the contract now maps to the new slug.
    opensea.gone.add(SLUG)
    opensea.contracts[("ethereum", collection.lower())] = "primsell-spring-renamed"
    opensea.events["primsell-spring-renamed"] = [
        opensea_sale(collection, n, tx(n), at(n, now), "5", seller=SELLER, buyer=BUYER, slug="primsell-spring-renamed")
        for n in (1, 2)]
    _run("opensea_sales_poller")

    assert sorted(s.tx_hash for s in sales()) == sorted([tx(1), tx(2)])  # the new sale, and the old one not twice
    cursor = _cursors()["opensea"]
    assert cursor.source_ref == "primsell-spring-renamed" and cursor.cursor is None
    old_feed = [r.status for r in opensea.requests("/events/collection/") if r.path.endswith(f"/{SLUG}")]
    assert old_feed[-1] == 404


def _cursors() -> dict[str, SalesCursor]:
    with session_scope() as session:
        return {c.source: c for c in session.execute(select(SalesCursor)).scalars()}


def test_second_runs_catch_late_events_and_a_reverted_flip_and_ask_the_slug_once(marketplaces) -> None:  # type: ignore[no-untyped-def]
    opensea, rarible = marketplaces
    _, collection = deployed_campaign()
    opensea.contracts[("ethereum", collection.lower())] = SLUG
    parties = {"seller": SELLER, "buyer": BUYER}
    opensea.events[SLUG] = [opensea_sale(collection, 1, tx(1), at(10), "5", **parties)]
    flip = rarible_sell(collection, 2, tx(2), at(12), "0.5", activity_id="ETHEREUM:b2", **parties)
    rarible.activities = [flip]
    _run("opensea_sales_poller")
    _run("rarible_sales_poller")
    assert len(sales()) == 2

    # Late arrivals: older than what each poller has seen, but inside the look-back window.
    opensea.events[SLUG].append(opensea_sale(collection, 3, tx(3), at(30), "7", **parties))
    rarible.activities.append(rarible_sell(collection, 4, tx(4), at(40), "0.25", activity_id="ETHEREUM:b4",
                                           **parties))
    flip["reverted"] = True  # Rarible withdraws sale 2
    _run("opensea_sales_poller")
    _run("rarible_sales_poller")
    ledger = _ledger()
    assert set(ledger) == {tx(1), tx(2), tx(3), tx(4)}
    assert ledger[tx(2)][3] == SaleStatus.REVERTED.value and ledger[tx(2)][4] == ()
    assert len(reversals()) == 1

    flip["reverted"] = False  # and puts it back: restored once, still one row
    _run("rarible_sales_poller")
    _run("rarible_sales_poller")
    assert _ledger()[tx(2)][3] == SaleStatus.UNVERIFIED.value
    [entry] = reversals()
    assert entry.restored_at is not None
    assert len(sales()) == 4
    assert len(opensea.requests("/contract/")) == 1  # the slug is found once and stored


def test_pages_per_run_are_bounded_and_the_walk_resumes_from_its_cursor(marketplaces, configure) -> None:  # type: ignore[no-untyped-def]
    opensea, _ = marketplaces
    configure(SALES_MAX_PAGES_PER_RUN=2)
    _, collection = deployed_campaign()
    opensea.contracts[("ethereum", collection.lower())] = SLUG
    opensea.fail_last_cursor = False
    now = datetime.now(UTC)
    opensea.events[SLUG] = [opensea_sale(collection, n, tx(n), at(60 - n, now), str(n), seller=SELLER, buyer=BUYER)
                            for n in range(1, 11)]  # 10 sales: 4 pages of 3
    assert _run("opensea_sales_poller") == 6
    with session_scope() as session:
        cursor = session.execute(select(SalesCursor)).scalars().one()
    assert cursor.cursor is not None and cursor.last_event_at is None  # the walk is not over: no high-water mark
    assert _run("opensea_sales_poller") == 4
    assert len(sales()) == 10
    with session_scope() as session:
        cursor = session.execute(select(SalesCursor)).scalars().one()
    assert cursor.cursor is None and cursor.last_event_at == at(50, now)
    after = opensea.requests("/events/")[-1].query.get("after")
    assert after is None  # the first walk had no lower bound
    _run("opensea_sales_poller")
    assert opensea.requests("/events/")[-1].query["after"] == [str(int((at(50, now) - timedelta(hours=1)).timestamp()))]


def test_a_throttled_source_waits_its_retry_after_across_runs(marketplaces, configure) -> None:  # type: ignore[no-untyped-def]
    _, rarible = marketplaces
    configure(MARKETPLACE_MAX_WAIT_SECONDS=1)
    _, collection = deployed_campaign()
    rarible.activities = [rarible_sell(collection, 1, tx(1), at(5), "1", activity_id="ETHEREUM:c1",
                                       seller=SELLER, buyer=BUYER)]
    _run("rarible_sales_poller")  # a cursor row exists now
    rarible.throttles, rarible.retry_after = 5, "120"
    _run("rarible_sales_poller")  # 429 asking for 2 minutes: more than this run may wait
    reads = len(rarible.requests("/activities/"))
    reset_buckets()  # a fresh process: the wait is kept in the database
    _run("rarible_sales_poller")
    assert len(rarible.requests("/activities/")) == reads
    with session_scope() as session:
        cursor = session.execute(select(SalesCursor)).scalars().one()
    assert cursor.not_before is not None and "rate limited" in cursor.last_error


def test_no_api_key_no_poll(configure) -> None:  # type: ignore[no-untyped-def]
    configure(OPENSEA_API_URL="http://127.0.0.1:9", OPENSEA_API_KEY="")
    deployed_campaign()
    assert poll("opensea").collections == 0


def _malformed_logged(source: str, word: str) -> bool:
    return any(e.source == source and word in e.message for e in error_page()[0])


def test_an_opensea_quantity_too_big_to_store_is_a_malformed_event_and_the_page_goes_on(marketplaces) -> None:  # type: ignore[no-untyped-def]
    opensea, _ = marketplaces
    _, collection = deployed_campaign()
    opensea.contracts[("ethereum", collection.lower())] = SLUG
    opensea.fail_last_cursor = False
    now = datetime.now(UTC)
    huge = opensea_sale(collection, 2, tx(2), at(20, now), "5", seller=SELLER, buyer=BUYER)
    huge["quantity"] = "1" * 25  # a whole number, far past the sale.quantity column
    opensea.events[SLUG] = [opensea_sale(collection, 1, tx(1), at(10, now), "7", seller=SELLER, buyer=BUYER), huge]

    result = poll("opensea")

    assert [(s.tx_hash, s.quantity, s.price) for s in sales()] == [(tx(1), 1, 7)]
    assert any("malformed OpenSea event skipped" in e and "quantity" in e for e in result.errors)
    assert _malformed_logged("sales:opensea", "quantity")
    cursor = _cursors()["opensea"]
    assert cursor.cursor is None and cursor.last_event_at == at(10, now) and cursor.last_run_at is not None
    assert _run("opensea_sales_poller") == 1  # the next run reads the page again, and does not die on it either


@pytest.mark.parametrize(("field", "logged"), [("block", "blockNumber"), ("value", "nft value")])
def test_a_rarible_number_too_big_to_store_is_a_malformed_activity_and_the_page_goes_on(  # type: ignore[no-untyped-def]
        marketplaces, field: str, logged: str) -> None:
    _, rarible = marketplaces
    _, collection = deployed_campaign()
    now = datetime.now(UTC)
    bad = rarible_sell(collection, 2, tx(2), at(10, now), "0.25", activity_id="ETHEREUM:d2", seller=SELLER,
                       buyer=BUYER)
    if field == "block":
        bad["blockchainInfo"]["blockNumber"] = 2**63  # past the BIGINT sale.block_number column
    else:
        bad["nft"]["value"] = "1" * 25  # an ERC-1155 amount past the sale.quantity column
    rarible.activities = [
        rarible_sell(collection, 1, tx(1), at(20, now), "0.5", activity_id="ETHEREUM:d1", seller=SELLER, buyer=BUYER),
        bad,
    ]

    result = poll("rarible")

    assert [(s.tx_hash, s.block_number, s.quantity) for s in sales()] == [(tx(1), 15296250, 1)]
    assert sum("malformed Rarible activity skipped" in e for e in result.errors) == 1
    assert _malformed_logged("sales:rarible", logged)
    cursor = _cursors()["rarible"]
    assert cursor.cursor is None and cursor.last_event_at == at(20, now) and cursor.last_run_at is not None


def test_one_collection_failing_does_not_stop_the_others_in_the_same_run(marketplaces, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import backend.sales.polling as polling

    opensea, _ = marketplaces
    opensea.fail_last_cursor = False
    _, first = deployed_campaign()  # polled first: lowest campaign id, never polled
    _, second = deployed_campaign("0x3333333333333333333333333333333333333333")
    now = datetime.now(UTC)
    for n, collection in ((1, first), (2, second)):
        opensea.contracts[("ethereum", collection.lower())] = f"slug-{n}"
        opensea.events[f"slug-{n}"] = [opensea_sale(collection, n, tx(n), at(10, now), "5", seller=SELLER,
                                                    buyer=BUYER)]
    real_record = polling.record_reports

    def record_failing_for_first(reports):  # type: ignore[no-untyped-def]
        reports = list(reports)
        if any(r.collection == first for r in reports):
            raise RuntimeError("database refused the chunk")
        return real_record(reports)

    monkeypatch.setattr(polling, "record_reports", record_failing_for_first)
    result = poll("opensea")

    assert result.collections == 2 and result.reports == 1
    assert [s.tx_hash for s in sales()] == [tx(2)]
    assert any("database refused the chunk" in e for e in result.errors)
    assert _malformed_logged("sales:opensea", "database refused the chunk")
    cursors = {c.collection: c for c in _all_cursors()}
    assert cursors[second].last_event_at == at(10, now) and cursors[second].last_error == ""
    # The failing collection's run is recorded (it no longer sorts first as never polled) but its walk is not
    # moved past the sales it could not store: the next run reads them again.
    failed = cursors[first]
    assert failed.last_run_at is not None and "database refused the chunk" in failed.last_error
    assert failed.last_event_at is None

    monkeypatch.setattr(polling, "record_reports", real_record)
    poll("opensea")
    assert sorted(s.tx_hash for s in sales()) == sorted([tx(1), tx(2)])


def _all_cursors() -> list[SalesCursor]:
    with session_scope() as session:
        return list(session.execute(select(SalesCursor)).scalars())
