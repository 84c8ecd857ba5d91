"""Browser journey of the Reconciliation page: "Run now" runs a reconciliation in the web process, follows its
progress, and shows the run's report (the demo's paid orders against the sandbox provider and the chain)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from backend.auth.acl import Role
from backend.db import session_scope
from backend.demo import DEMO_ACCOUNTS
from backend.reconciliation.models import ReconciliationRun, RunStatus, RunTrigger
from tests.e2e.conftest import Tab
from tests.e2e.helpers import CHAIN_TIMEOUT_MS, sign_in

pytestmark = pytest.mark.e2e

PLATFORM_ADMIN = next(a for a in DEMO_ACCOUNTS if a.role is Role.PLATFORM_ADMIN)


def test_run_now_reconciles_and_shows_the_report(tab: Tab) -> None:
    page = tab.page
    sign_in(tab, PLATFORM_ADMIN.email, PLATFORM_ADMIN.password)
    expect(page.locator("#signed-in-email")).to_have_text(PLATFORM_ADMIN.email)
    tab.goto("/admin/reconciliation")
    expect(page.locator("#reconciliation-empty")).to_contain_text("No reconciliation has run yet")

    page.locator("#run-now").click()
    # The run reads the provider's records and the chain: its report replaces the empty state when it is done.
    expect(page.locator("#last-run")).to_be_visible(timeout=CHAIN_TIMEOUT_MS)
    expect(page.locator("#run-now")).to_have_text("Run now", timeout=CHAIN_TIMEOUT_MS)
    expect(page.get_by_test_id("run-trigger")).to_contain_text("manual")

    with session_scope() as session:
        runs = session.exec(select(ReconciliationRun)).all()
    assert len(runs) == 1, runs
    run = runs[0]
    assert run.trigger is RunTrigger.MANUAL and run.status in (RunStatus.CLEAN, RunStatus.EXCEPTIONS), run
    expect(page.get_by_test_id("run-orders")).to_have_text(str(run.orders_checked))
    tab.screenshot("admin-reconciliation")
    tab.assert_no_console_errors()
