"""Browser journey of secondary sales: the brand admin opens a campaign's Sales page (sales seeded through the
ledger as the sources would report them), filters and searches it, downloads the CSV, then reads the Royalties
dashboard and the brand-wide card on the admin dashboard."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import update
from sqlmodel import select

from backend.auth.acl import Role
from backend.campaigns.models import Campaign
from backend.db import session_scope
from backend.demo import DEMO_ACCOUNTS
from backend.sales.ledger import record_reports
from backend.sales.models import Sale
from backend.sales.normalise import checksum_address
from tests.e2e.conftest import Tab
from tests.e2e.helpers import sign_in
from tests.factories import record_deployed_contract
from tests.sales.helpers import SELLER, chain_report, report, tx

pytestmark = pytest.mark.e2e

BRAND_ADMIN = next(a for a in DEMO_ACCOUNTS if a.role is Role.BRAND_ADMIN)
SLUG = "aurora-founders"
COLLECTOR = checksum_address("0x00000000000000000000000000000000c011ec70")


def seed_sales() -> int:
    """Three sales of the demo campaign: one confirmed by the chain that paid half its royalty, one only OpenSea
    reported, one Blur sale Rarible reported (to the collector); the calculator's owed amounts written as it would."""
    with session_scope() as session:
        campaign = session.exec(select(Campaign).where(Campaign.slug == SLUG)).one()
        session.expunge(campaign)
    collection = checksum_address(record_deployed_contract(campaign))
    now = datetime.now(UTC).replace(microsecond=0)
    base = report(collection, price=10**18, sold_at=now - timedelta(days=2))
    record_reports([
        chain_report(replace(base, tx_hash=tx("e2e-1"), token_id=1, marketplace="opensea"),
                     royalty_receiver=SELLER, royalty_paid=25 * 10**15),
        replace(base, tx_hash=tx("e2e-2"), token_id=2, price=5 * 10**17, sold_at=now - timedelta(days=1)),
        replace(base, tx_hash=tx("e2e-3"), token_id=3, source="rarible", marketplace="blur", buyer=COLLECTOR,
                sold_at=now - timedelta(hours=3)),
    ])
    with session_scope() as session:
        for name, owed in (("e2e-1", 5 * 10**16), ("e2e-2", 25 * 10**15), ("e2e-3", 5 * 10**16)):
            session.execute(update(Sale).where(Sale.tx_hash == tx(name)).values(royalty_owed=owed))
    return campaign.id  # type: ignore[return-value]


def test_brand_admin_reads_sales_and_royalties_of_a_campaign(tab: Tab) -> None:
    page = tab.page
    campaign_id = seed_sales()
    sign_in(tab, BRAND_ADMIN.email, BRAND_ADMIN.password)
    expect(page.locator("#signed-in-email")).to_have_text(BRAND_ADMIN.email, timeout=30_000)

    # The admin dashboard's brand-wide card.
    card = page.locator("#brand-royalties")
    expect(card.get_by_test_id("brand-royalty-row")).to_contain_text("owed 0.125 ETH", timeout=30_000)
    expect(card).to_contain_text("3 sales across 1 campaigns")

    # From the campaign page's navigation to its Sales.
    page.get_by_test_id("campaign-row").filter(has_text="Aurora Founders Pass").get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(rf"/admin/campaigns/{campaign_id}/?$"), timeout=30_000)
    page.locator("#campaign-nav-sales").click()
    expect(page).to_have_url(re.compile(rf"/admin/campaigns/{campaign_id}/sales/?$"), timeout=30_000)
    rows = page.get_by_test_id("sale-row")
    expect(rows).to_have_count(3, timeout=30_000)
    expect(rows.first.get_by_test_id("sale-marketplace")).to_have_text("blur")  # newest first
    confirmed = rows.filter(has_text="#1")
    expect(confirmed.get_by_test_id("sale-price")).to_have_text("1 ETH")
    expect(confirmed).to_contain_text("$2,500.00")
    expect(confirmed.get_by_test_id("sale-shortfall")).to_have_text("short 0.025 ETH")
    expect(confirmed.get_by_test_id("sale-sources")).to_have_text("chain")
    expect(rows.filter(has_text="#2")).to_contain_text("paid: unknown until the chain confirms")

    # Filters, search, clearing.
    page.locator("#marketplace-filter").select_option("blur")
    expect(rows).to_have_count(1, timeout=30_000)
    expect(rows.first.get_by_test_id("sale-sources")).to_have_text("rarible")
    page.locator("#marketplace-filter").select_option("")
    page.locator("#sale-status-filter").select_option("confirmed")
    expect(rows).to_have_count(1, timeout=30_000)
    page.get_by_role("button", name="Clear filters").click()
    expect(rows).to_have_count(3, timeout=30_000)
    page.get_by_placeholder("Search address or tx hash (0x…)").fill(COLLECTOR.lower())
    expect(rows).to_have_count(1, timeout=30_000)
    expect(rows.first.get_by_test_id("sale-token")).to_have_text("#3")
    tab.screenshot("admin-campaign-sales")

    # The CSV link carries the search: the download has that sale only, amounts exact.
    with page.expect_download() as download:
        page.locator("#sales-export-csv").click()
    csv_text = download.value.path().read_text()
    assert csv_text.startswith("sold_at,status,marketplace,")
    assert tx("e2e-3") in csv_text and tx("e2e-1") not in csv_text and str(10**18) in csv_text

    # Royalties: owed vs paid, leakage, charts and the top unpaid sale.
    page.locator("#campaign-nav-royalties").click()
    expect(page).to_have_url(re.compile(rf"/admin/campaigns/{campaign_id}/royalties/?$"), timeout=30_000)
    currency = page.get_by_test_id("royalty-currency")
    expect(currency.get_by_test_id("royalty-owed")).to_have_text("0.125 ETH", timeout=30_000)
    expect(currency.get_by_test_id("royalty-paid")).to_have_text("0.025 ETH")
    expect(currency.get_by_test_id("royalty-shortfall")).to_have_text("0.025 ETH")
    expect(currency.get_by_test_id("royalty-leakage")).to_have_text("50.0%")
    expect(currency.get_by_test_id("royalty-shortfall-usd")).to_have_text("$62.50")
    expect(page.get_by_test_id("royalty-marketplace-row")).to_have_count(2)
    expect(page.locator("#royalty-marketplace-chart .recharts-bar-rectangle")).not_to_have_count(0)
    expect(page.locator("#royalty-time-chart .recharts-line")).not_to_have_count(0)
    expect(page.get_by_test_id("unpaid-row")).to_have_count(1)
    expect(page.get_by_test_id("unpaid-row")).to_contain_text("#1")
    tab.screenshot("admin-campaign-royalties")
    tab.assert_no_console_errors()
