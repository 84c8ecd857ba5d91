"""Browser journeys of the KYC surface: a reviewer signs in and sees the (empty) review queue."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from backend.auth.acl import Role
from backend.demo import DEMO_ACCOUNTS
from tests.e2e.conftest import Tab
from tests.e2e.test_admin import sign_in

pytestmark = pytest.mark.e2e

ACCOUNTS = {a.role: a for a in DEMO_ACCOUNTS}


def test_reviewer_signs_in_and_sees_the_empty_queue(tab: Tab) -> None:
    page = tab.page
    tab.goto("/kyc")
    expect(page).to_have_url(re.compile(r"/kyc/login\?next=%2Fkyc$"))
    reviewer = ACCOUNTS[Role.KYC_REVIEWER]
    sign_in(tab, reviewer.email, reviewer.password, login_path="/kyc/login")
    expect(page).to_have_url(re.compile(r"/kyc/?$"))
    expect(page.get_by_test_id("table-empty")).to_have_text("No identity checks waiting for review")
    tab.screenshot("kyc-queue")
    tab.assert_no_console_errors()


def test_brand_staff_gets_the_no_access_page_on_kyc(tab: Tab) -> None:
    staff = ACCOUNTS[Role.BRAND_STAFF]
    tab.goto("/kyc/login")
    sign_in(tab, staff.email, staff.password, login_path="/kyc/login")
    expect(tab.page.locator("#no-access")).to_be_visible()
    tab.assert_no_console_errors()
