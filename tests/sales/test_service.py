"""What brand admins read of the ledger: a campaign's sales (filters, search, paging, CSV) and its royalties, with
integer arithmetic whose parts add up to the whole; another brand's campaign is not found."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update

from backend.auth.acl import Role
from backend.csv_safe import safe_cell
from backend.db import session_scope
from backend.errors import NotFound, ValidationFailed
from backend.sales import service
from backend.sales.currencies import ETHEREUM
from backend.sales.ledger import record_reports
from backend.sales.models import Sale
from backend.sales.normalise import checksum_address
from tests.factories import make_brand, make_user
from tests.sales.helpers import BUYER, SELLER, SOLD_AT, WETH, chain_report, deployed_campaign, report, sales, tx

OTHER = "0x9999999999999999999999999999999999999999"


def set_owed(tx_hash: str, owed: int) -> None:
    """What the royalty calculator writes once it has called royaltyInfo."""
    with session_scope() as session:
        session.execute(update(Sale).where(Sale.tx_hash == tx_hash).values(royalty_owed=owed))


@pytest.fixture
def seeded():  # type: ignore[no-untyped-def]
    """Five sales of one campaign: paid in full, partly, not at all (on the chain), one only a feed knows, one
    reverted, one in WETH; and one sale of another brand's campaign."""
    brand = make_brand()
    campaign, collection = deployed_campaign(brand=brand)
    base = report(collection, price=10**18)
    record_reports([
        chain_report(replace(base, tx_hash=tx(1), marketplace="opensea"), royalty_receiver=SELLER,
                     royalty_paid=5 * 10**16),
        chain_report(replace(base, tx_hash=tx(2), marketplace="blur", sold_at=SOLD_AT + timedelta(days=1)),
                     royalty_receiver=SELLER, royalty_paid=10**16),
        chain_report(replace(base, tx_hash=tx(3), marketplace="blur", sold_at=SOLD_AT + timedelta(days=1),
                             buyer=OTHER), royalty_receiver=SELLER, royalty_paid=0),
        replace(base, tx_hash=tx(4), source="rarible", marketplace="opensea", sold_at=SOLD_AT + timedelta(days=2)),
        replace(base, tx_hash=tx(5), source="rarible", marketplace="rarible"),
        replace(base, tx_hash=tx(6), chain_id=ETHEREUM, currency_address=WETH, currency_symbol="WETH",
                price=2 * 10**18),
    ])
    record_reports([replace(base, tx_hash=tx(5), source="rarible", marketplace="rarible", reverted=True)])
    for n in (1, 2, 3, 4, 5):
        set_owed(tx(n), 5 * 10**16)
    set_owed(tx(6), 10**17)
    other_campaign, other_collection = deployed_campaign()
    record_reports([report(other_collection, 99)])
    return brand, campaign, other_campaign


def test_royalties_per_currency_and_marketplace_add_up(seeded) -> None:  # type: ignore[no-untyped-def]
    brand, campaign, _ = seeded
    result = service.royalties(make_user(Role.BRAND_STAFF, brand), campaign.id)
    eth, weth = result.currencies
    assert (eth.currency, eth.sales, eth.verified_sales, eth.pending_sales) == ("ETH", 4, 3, 0)
    assert (eth.owed, eth.paid, eth.shortfall, eth.unverified_owed) == (
        20 * 10**16, 6 * 10**16, 9 * 10**16, 5 * 10**16)  # the reverted sale counts nowhere
    assert eth.owed == eth.paid + eth.shortfall + eth.unverified_owed
    assert eth.leakage_percent == Decimal("60.00")  # 0.09 of the 0.15 owed by confirmed sales
    assert eth.shortfall_usd_cents == 22500  # 0.09 ETH at 2500
    assert (weth.currency, weth.owed, weth.unverified_owed, weth.paid) == ("WETH", 10**17, 10**17, 0)
    assert sorted(result.marketplaces) == ["blur", "opensea"]
    blur = result.marketplaces["blur"][0]
    assert (blur.owed, blur.paid, blur.shortfall, blur.sales) == (10 * 10**16, 10**16, 9 * 10**16, 2)
    parts = [f for figures in result.marketplaces.values() for f in figures if f.currency == "ETH"]
    assert sum(f.owed for f in parts) == eth.owed and sum(f.shortfall for f in parts) == eth.shortfall


def test_sales_list_filters_searches_and_pages(seeded) -> None:  # type: ignore[no-untyped-def]
    brand, campaign, _ = seeded
    staff = make_user(Role.BRAND_STAFF, brand)
    page = service.list_sales(staff, campaign.id, limit=2)
    assert page.total == 6 and [row.tx_hash for row in page.items] == [tx(4), tx(3)]  # newest first, then by id
    assert [r.tx_hash for r in service.list_sales(staff, campaign.id, limit=2, offset=4).items] == [tx(5), tx(1)]
    assert {r.tx_hash for r in service.list_sales(staff, campaign.id, marketplace="BLUR").items} == {tx(2), tx(3)}
    assert [r.tx_hash for r in service.list_sales(staff, campaign.id, status="reverted").items] == [tx(5)]
    unverified = service.list_sales(staff, campaign.id, status="unverified").items
    assert {r.tx_hash for r in unverified} == {tx(4), tx(6)} and all(r.royalty_paid is None for r in unverified)
    assert [r.tx_hash for r in service.list_sales(staff, campaign.id, search=OTHER.upper().replace("0X", "0x"))
            .items] == [tx(3)]
    assert [r.tx_hash for r in service.list_sales(staff, campaign.id, search=tx(2)).items] == [tx(2)]
    assert [r.tx_hash for r in service.list_sales(staff, campaign.id, search=tx(2)[:10]).items] == [tx(2)]
    assert len(service.list_sales(staff, campaign.id, search=BUYER).items) == 5
    day_two = service.list_sales(staff, campaign.id, date_from=SOLD_AT + timedelta(hours=12),
                                 date_to=SOLD_AT + timedelta(days=1, hours=1)).items
    assert {r.tx_hash for r in day_two} == {tx(2), tx(3)}
    [confirmed] = service.list_sales(staff, campaign.id, search=tx(2)).items
    assert confirmed.sources == ["chain"] and confirmed.royalty_paid == 10**16 and confirmed.shortfall == 4 * 10**16
    with pytest.raises(ValidationFailed):
        service.list_sales(staff, campaign.id, search="robert'); drop table sale;--")
    with pytest.raises(ValidationFailed):
        service.list_sales(staff, campaign.id, status="lost")


def test_another_brands_campaign_is_not_found(seeded) -> None:  # type: ignore[no-untyped-def]
    brand, campaign, other_campaign = seeded
    outsider = make_user(Role.BRAND_ADMIN, make_brand())
    for call in (lambda: service.list_sales(outsider, campaign.id), lambda: service.royalties(outsider, campaign.id),
                 lambda: service.stream_sales_csv(outsider, campaign.id),
                 lambda: service.royalty_dashboard(outsider, campaign.id)):
        with pytest.raises(NotFound):
            call()
    with pytest.raises(NotFound):
        service.list_sales(make_user(Role.BRAND_ADMIN, brand), other_campaign.id)
    assert service.list_sales(make_user(Role.PLATFORM_ADMIN), campaign.id).total == 6


def test_csv_export_has_every_sale_once_with_exact_amounts(seeded, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    brand, campaign, _ = seeded
    monkeypatch.setattr(service, "EXPORT_PAGE", 2)  # three pages
    text = "".join(service.stream_sales_csv(make_user(Role.BRAND_STAFF, brand), campaign.id))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sorted(r["tx_hash"] for r in rows) == sorted(tx(n) for n in range(1, 7))
    weth = next(r for r in rows if r["tx_hash"] == tx(6))
    assert (weth["price"], weth["price_base_units"], weth["currency"], weth["value_usd"]) == (
        "2", str(2 * 10**18), "WETH", "5000.00")
    three = next(r for r in rows if r["tx_hash"] == tx(3))
    assert (three["royalty_owed"], three["royalty_paid"], three["royalty_shortfall"]) == (
        str(5 * 10**16), "0", str(5 * 10**16))
    filtered = "".join(service.stream_sales_csv(make_user(Role.BRAND_STAFF, brand), campaign.id, status="reverted"))
    assert [r["tx_hash"] for r in csv.DictReader(io.StringIO(filtered))] == [tx(5)]


def test_csv_export_cells_never_start_a_formula() -> None:
    """A token's symbol is its deployer's choice: "-A1" passes ingest and is a formula to a spreadsheet; a row stored
    before symbols were restricted may hold anything."""
    brand = make_brand()
    campaign, collection = deployed_campaign(brand=brand)
    junk = checksum_address("0x00000000000000000000000000000000deadbeef")
    record_reports([report(collection, 1, currency_address=junk, currency_symbol="-A1", price=1),
                    report(collection, 2, currency_address=junk, currency_symbol="OLD", price=1)])
    with session_scope() as session:
        session.execute(update(Sale).where(Sale.tx_hash == tx(2)).values(currency_symbol='=IMAGE("//x.io")'))
    text = "".join(service.stream_sales_csv(make_user(Role.BRAND_STAFF, brand), campaign.id))
    rows = {row["tx_hash"]: row for row in csv.DictReader(io.StringIO(text))}
    assert (rows[tx(1)]["currency"], rows[tx(2)]["currency"]) == ("'-A1", '\'=IMAGE("//x.io")')
    assert all(not cell.startswith(("=", "+", "@", "\t", "\r")) for row in rows.values() for cell in row.values())


def test_csv_cells_keep_negative_numbers_and_neutralise_formulas() -> None:
    assert [safe_cell(v) for v in ("-12.5", "-3", "-A1", "+1", "@SUM(A1)", "\t=1", "\r=1", "ETH", 5, None)] == [
        "-12.5", "-3", "'-A1", "'+1", "'@SUM(A1)", "'\t=1", "'\r=1", "ETH", 5, None]


def test_dashboard_days_top_unpaid_and_brand_summary(seeded) -> None:  # type: ignore[no-untyped-def]
    brand, campaign, _ = seeded
    staff = make_user(Role.BRAND_STAFF, brand)
    dashboard = service.royalty_dashboard(staff, campaign.id)
    assert dashboard.currency is not None and dashboard.currency.currency == "ETH"
    assert [(d.day, d.owed, d.paid, d.shortfall, d.verified_owed) for d in dashboard.days] == [
        (SOLD_AT.date(), 5 * 10**16, 5 * 10**16, 0, 5 * 10**16),
        ((SOLD_AT + timedelta(days=1)).date(), 10 * 10**16, 10**16, 9 * 10**16, 10 * 10**16),
        ((SOLD_AT + timedelta(days=2)).date(), 5 * 10**16, 0, 0, 0),  # only a feed knows it: nothing verified
    ]
    assert [row.tx_hash for row in dashboard.top_unpaid] == [tx(3), tx(2)]
    summary = service.brand_summary(staff, brand.id)
    assert (summary.campaigns, summary.sales) == (1, 5)
    assert [(f.currency, f.owed) for f in summary.currencies] == [("ETH", 20 * 10**16), ("WETH", 10**17)]
    assert len(sales()) == 7


def test_another_brands_summary_is_not_found(seeded) -> None:  # type: ignore[no-untyped-def]
    brand, _, other_campaign = seeded
    staff = make_user(Role.BRAND_STAFF, brand)
    with pytest.raises(NotFound):
        service.brand_summary(staff, other_campaign.brand_id)  # as a brand that does not exist: no 403
    with pytest.raises(NotFound):
        service.brand_summary(staff, 987654)
    assert service.brand_summary(staff, brand.id).sales == 5
    other = service.brand_summary(make_user(Role.PLATFORM_ADMIN), other_campaign.brand_id)
    assert (other.campaigns, other.sales) == (1, 1)
