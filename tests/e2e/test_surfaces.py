"""Every surface loads in the browser without console errors; a screenshot of each goes to tests/e2e/artifacts/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Tab

pytestmark = pytest.mark.e2e

SURFACES = [
    ("home", "/", "Primsell"),
    ("admin-login", "/admin/login", "Sign in to Primsell"),
    ("checkout-campaign", "/c/aurora-founders", "Aurora Founders Pass"),
    ("checkout-not-started", "/c/aurora-winter-roast", "Not on sale yet"),
    ("checkout-not-found", "/c/no-such-campaign", "We couldn't find that campaign"),
    ("redeem", "/redeem", "Staff at the counter"),
    ("kyc-login", "/kyc/login", "Sign in to KYC review"),
]


@pytest.mark.parametrize(("name", "path", "text"), SURFACES, ids=[s[0] for s in SURFACES])
def test_surface_loads_without_console_errors(tab: Tab, name: str, path: str, text: str) -> None:
    tab.goto(path)
    expect(tab.page.get_by_text(text).first).to_be_visible()
    tab.page.wait_for_load_state("networkidle")
    tab.screenshot(name)
    tab.assert_no_console_errors()
