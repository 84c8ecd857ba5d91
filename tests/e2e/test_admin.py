"""Browser journeys of the admin surface: sign-in, the campaign life cycle to its public page, access and sign-out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from backend.auth.acl import Role
from backend.demo import DEMO_ACCOUNTS
from tests.e2e.conftest import Tab
from tests.e2e.helpers import sign_in

pytestmark = pytest.mark.e2e

ACCOUNTS = {a.role: a for a in DEMO_ACCOUNTS}
RECEIVER = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"


def test_brand_admin_creates_and_publishes_a_campaign_that_appears_on_its_public_page(tab: Tab) -> None:
    page = tab.page
    admin = ACCOUNTS[Role.BRAND_ADMIN]

    tab.goto("/admin")
    expect(page).to_have_url(re.compile(r"/admin/login\?next=%2Fadmin$"))
    sign_in(tab, admin.email, admin.password)
    expect(page).to_have_url(re.compile(r"/admin/?$"))
    rows = page.get_by_test_id("campaign-row")
    expect(rows.filter(has_text="Aurora Founders Pass")).to_be_visible()
    expect(rows.filter(has_text="Winter Roast Collectible")).to_be_visible()
    expect(page.locator("#signed-in-email")).to_have_text(admin.email)
    tab.screenshot("admin-dashboard")

    # The session lives in the HttpOnly cookie: a reload keeps it.
    page.reload()
    expect(page.locator("#signed-in-email")).to_have_text(admin.email)
    expect(rows.filter(has_text="Aurora Founders Pass")).to_be_visible()

    page.get_by_role("link", name="New campaign").first.click()
    expect(page).to_have_url(re.compile(r"/admin/campaigns/new/?$"))
    # Inline validation: an empty form says what is missing next to each input.
    page.get_by_role("button", name="Create campaign").click()
    expect(page.locator("#price-error")).to_be_visible()
    expect(page.locator("#supply_cap-error")).to_be_visible()

    page.locator("#name").fill("E2E Espresso Club")
    page.locator("#slug").fill("e2e-espresso-club")
    page.locator("#description").fill("A pass for espresso lovers.")
    page.locator("#price").fill("12.50")
    page.locator("#currency").select_option("USD")
    page.locator("#supply_cap").fill("50")
    page.locator("#per_wallet_cap").fill("2")
    page.locator("#royalty_percent").fill("5")
    page.locator("#royalty_receiver").fill(RECEIVER)
    page.get_by_role("button", name="Create campaign").click()
    expect(page).to_have_url(re.compile(r"/admin/campaigns/\d+/?$"))
    expect(page.locator("#campaign-heading")).to_have_text("E2E Espresso Club")
    tab.screenshot("admin-campaign-draft")

    page.locator("#action-publish").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Publish this campaign?")
    dialog.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Published", exact=True).first).to_be_visible()
    expect(page.locator("#action-pause")).to_be_visible()

    tab.goto("/c/e2e-espresso-club")
    expect(page.locator("#campaign-name")).to_have_text("E2E Espresso Club")
    expect(page.locator("#campaign-price")).to_have_text("$12.50")
    # Published, but nothing is sold before its collection contract is deployed.
    expect(page.locator("#phase-banner")).to_contain_text("This collection is not on sale yet.")
    expect(page.locator("#buy-button")).to_be_disabled()

    tab.goto("/admin")
    expect(page.locator("#signed-in-email")).to_have_text(admin.email)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/admin/login/?$"))
    tab.goto("/admin")
    expect(page).to_have_url(re.compile(r"/admin/login\?next="))
    tab.assert_no_console_errors()


def test_signing_out_in_one_tab_takes_the_browsers_other_tabs_to_sign_in(tab: Tab) -> None:
    """The other tab does not wait for its next click: it hears of the sign-out, reloads and leaves what it showed."""
    page = tab.page
    admin = ACCOUNTS[Role.BRAND_ADMIN]
    sign_in(tab, admin.email, admin.password)
    expect(page).to_have_url(re.compile(r"/admin/?$"))
    other = page.context.new_page()
    other.goto(tab.base_url + "/admin/members")
    expect(other.locator("#signed-in-email")).to_have_text(admin.email)
    expect(other.get_by_text(admin.email).last).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/admin/login/?$"))
    # With a way back to where it was, as any page load of a signed-out tab.
    expect(other).to_have_url(re.compile(r"/admin/login\?next=%2Fadmin%2Fmembers$"))
    expect(other.locator("#signed-in-email")).to_have_count(0)
    other.close()
    tab.assert_no_console_errors()


def test_wrong_password_shows_the_generic_error(tab: Tab) -> None:
    page = tab.page
    sign_in(tab, ACCOUNTS[Role.BRAND_ADMIN].email, "not-the-password")
    expect(page.locator("#form-error")).to_have_text("Incorrect email or password.")
    expect(page).to_have_url(re.compile(r"/admin/login"))
    tab.assert_no_console_errors()


def test_consumer_gets_the_no_access_page_on_admin(tab: Tab) -> None:
    page = tab.page
    consumer = ACCOUNTS[Role.CONSUMER]
    sign_in(tab, consumer.email, consumer.password)
    expect(page.locator("#no-access")).to_have_text("You don't have access to this area")
    expect(page.get_by_test_id("campaign-row")).to_have_count(0)
    tab.screenshot("admin-no-access")
    tab.assert_no_console_errors()


def test_page_scripts_cannot_read_the_session_cookie(tab: Tab) -> None:
    page = tab.page
    admin = ACCOUNTS[Role.BRAND_ADMIN]
    sign_in(tab, admin.email, admin.password)
    expect(page.locator("#signed-in-email")).to_have_text(admin.email)
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["primsell_session"]["httpOnly"] is True
    assert "primsell_session" not in page.evaluate("document.cookie")
    tab.assert_no_console_errors()


def test_a_brand_with_many_campaigns_finds_any_of_them_in_the_orders_filter(tab: Tab) -> None:
    """The campaign filter lists the first 100 by name and says so; the search box reaches the others."""
    from sqlmodel import select

    from backend.brands.models import Brand
    from backend.db import session_scope
    from backend.demo import DEMO_BRAND_SLUG
    from tests.factories import make_campaign

    with session_scope() as session:
        brand = session.exec(select(Brand).where(Brand.slug == DEMO_BRAND_SLUG)).one()
        session.expunge(brand)
    for n in range(102):
        make_campaign(brand, name=f"Drop {n:03d}", deployed=False)
    make_campaign(brand, name="Zebra Roast", deployed=False)  # last by name: past the first 100

    page = tab.page
    admin = ACCOUNTS[Role.BRAND_ADMIN]
    sign_in(tab, admin.email, admin.password)
    expect(page.locator("#signed-in-email")).to_have_text(admin.email)
    tab.goto("/admin/orders")
    options = page.locator("#campaign-filter option")
    expect(page.locator("#campaign-options-note")).to_have_text(
        "Showing the first 100 of 105 campaigns: type a name to find another.")
    expect(options).to_have_count(101)  # "All campaigns" and the first 100
    expect(options.filter(has_text="Zebra Roast")).to_have_count(0)

    page.locator("#campaign-search").fill("zebra")
    expect(options).to_have_count(2)
    expect(page.locator("#campaign-options-note")).to_have_count(0)
    page.locator("#campaign-filter").select_option(label="Zebra Roast")
    expect(page.get_by_test_id("table-empty")).to_have_text("No orders match these filters.")
    page.locator("#campaign-search").fill("")
    expect(options).to_have_count(102)  # the first 100 again, and the chosen one kept choosable
    expect(page.locator("#campaign-filter")).to_have_value(re.compile(r"^\d+$"))
    tab.assert_no_console_errors()
