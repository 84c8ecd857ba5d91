"""Browser journey of brand members: an admin invites someone, who accepts with the link and signs in."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from backend.auth.acl import Role
from backend.demo import DEMO_ACCOUNTS
from tests.e2e.conftest import Tab
from tests.e2e.test_admin import sign_in

pytestmark = pytest.mark.e2e

ADMIN = next(a for a in DEMO_ACCOUNTS if a.role is Role.BRAND_ADMIN)


def test_invited_member_accepts_with_the_link_and_signs_in(tab: Tab) -> None:
    page = tab.page
    sign_in(tab, ADMIN.email, ADMIN.password)
    expect(page.locator("#signed-in-email")).to_have_text(ADMIN.email)
    page.get_by_role("link", name="Members").click()
    expect(page.get_by_test_id("member-row").filter(has_text="sam@aurora.example.com")).to_be_visible()

    page.locator("#email").fill("newbie@aurora.example.com")
    page.locator("#role").select_option("brand_staff")
    page.get_by_role("button", name="Send invitation").click()
    link = page.locator("#invite-link")
    expect(link).to_contain_text("/admin/accept-invite?token=")
    expect(page.get_by_test_id("member-row").filter(has_text="newbie@aurora.example.com")).to_contain_text("Invitation pending")
    tab.screenshot("admin-members")
    invite_url = link.inner_text()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/admin/login/?$"))
    page.goto(invite_url)
    page.locator("#password").fill("a-long-new-password-2026")
    page.locator("#confirm").fill("a-long-new-password-2026")
    page.get_by_role("button", name="Set password").click()
    expect(page).to_have_url(re.compile(r"/admin/login/?$"))
    sign_in(tab, "newbie@aurora.example.com", "a-long-new-password-2026")
    expect(page.locator("#signed-in-email")).to_have_text("newbie@aurora.example.com")
    tab.assert_no_console_errors()
