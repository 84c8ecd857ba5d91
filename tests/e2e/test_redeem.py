"""Browser: the /redeem landing sends a holder to their rewards and the staff at the counter to the scanner."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Tab

pytestmark = pytest.mark.e2e


def test_the_landing_sends_holders_to_their_rewards_and_staff_to_the_scanner(tab: Tab) -> None:
    page = tab.page
    tab.goto("/redeem")
    expect(page.get_by_text("I hold an NFT")).to_be_visible()
    page.locator("#my-rewards-link").click()
    expect(page).to_have_url(re.compile(r"/redeem/rewards/?$"), timeout=30_000)
    expect(page.get_by_text("Sign in to your account")).to_be_visible(timeout=30_000)

    tab.goto("/redeem")
    page.locator("#scan-link").click()
    expect(page).to_have_url(re.compile(r"/admin/login"), timeout=30_000)  # staff sign in before they scan
    tab.assert_no_console_errors()
