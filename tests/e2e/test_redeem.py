"""Browser journey of the redeem surface: codes are checked for shape, and unknown codes say so."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Tab

pytestmark = pytest.mark.e2e


def test_code_entry_validates_then_reports_an_unknown_code(tab: Tab) -> None:
    page = tab.page
    tab.goto("/redeem")
    page.get_by_role("button", name="Redeem").click()
    expect(page.locator("#code-error")).to_have_text("Enter the code printed on your reward.")
    page.locator("#code").fill("bad code!")
    page.get_by_role("button", name="Redeem").click()
    expect(page.locator("#code-error")).to_have_text("Codes use only letters, digits and dashes.")
    page.locator("#code").fill("aurora-7q2k-91xz")
    page.get_by_role("button", name="Redeem").click()
    expect(page.locator("#form-error")).to_contain_text("Code AURORA-7Q2K-91XZ was not found")
    expect(page.locator("#code-error")).to_have_count(0)
    tab.assert_no_console_errors()
