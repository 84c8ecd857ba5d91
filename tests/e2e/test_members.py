"""Browser journeys of brand members: an invitation goes to the invitee's mailbox (the admin's page never holds a
link), a new person chooses a password from it, an existing account accepts by signing in (the link never sets its
password); and an admin removed in one browser is refused on the next click of the tab they still have open."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from backend.auth.acl import Role
from backend.auth.models import User
from backend.auth.service import load_actor
from backend.brands.models import Brand
from backend.brands.service import list_members
from backend.db import session_scope
from backend.demo import DEMO_ACCOUNTS, DEMO_BRAND_SLUG
from tests.e2e.conftest import Tab
from tests.e2e.helpers import sign_in
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.e2e

ADMIN = next(a for a in DEMO_ACCOUNTS if a.role is Role.BRAND_ADMIN)
PLATFORM = next(a for a in DEMO_ACCOUNTS if a.role is Role.PLATFORM_ADMIN)
REVIEWER = next(a for a in DEMO_ACCOUNTS if a.role is Role.KYC_REVIEWER)
CONSUMER = next(a for a in DEMO_ACCOUNTS if a.role is Role.CONSUMER)
ROUND_TRIP_MS = 30_000


def _open_members(tab: Tab, email: str, password: str) -> None:
    page = tab.page
    sign_in(tab, email, password)
    expect(page.locator("#signed-in-email")).to_have_text(email, timeout=ROUND_TRIP_MS)
    page.get_by_role("link", name="Members").click()
    expect(page.get_by_test_id("member-row").filter(has_text=ADMIN.email)).to_be_visible(timeout=ROUND_TRIP_MS)


def _invite(tab: Tab, email: str, role: str = "brand_staff") -> None:
    page = tab.page
    page.locator("#email").fill(email)
    page.locator("#role").select_option(role)
    page.get_by_role("button", name="Send invitation").click()


def _open_mailed_link(tab: Tab, to: str, subject: str = "Join Aurora Coffee on Primsell") -> None:
    """The development mailbox shows what would have been emailed; open the invitation's link from it."""
    tab.goto(f"/api/dev/mailbox?to={to}")
    mail = tab.page.get_by_test_id("mail").filter(has_text=subject)
    expect(mail).to_have_count(1, timeout=ROUND_TRIP_MS)
    mail.get_by_role("link", name=re.compile("accept-invite")).click()


def _members_of_aurora() -> dict[str, bool]:
    with session_scope() as session:
        brand = session.exec(select(Brand).where(Brand.slug == DEMO_BRAND_SLUG)).one()
        owner = load_actor(session, session.exec(select(User).where(User.email == ADMIN.email)).one())
    return {m.email: m.pending for m in list_members(owner, brand.id)}  # type: ignore[arg-type]


def test_inviting_an_existing_buyer_gives_the_admin_nothing_and_the_buyer_accepts_by_signing_in(tab: Tab) -> None:
    page = tab.page
    _open_members(tab, ADMIN.email, ADMIN.password)
    _invite(tab, CONSUMER.email, "brand_admin")

    # The admin learns where the invitation went, and nothing that would let them set the buyer's password.
    expect(page.locator("#invite-sent")).to_contain_text(f"Invitation sent to {CONSUMER.email}",
                                                         timeout=ROUND_TRIP_MS)
    row = page.get_by_test_id("member-row").filter(has_text=CONSUMER.email)
    expect(row).to_contain_text("Invitation pending")
    assert "accept-invite" not in page.content() and "token=" not in page.content()
    tab.screenshot("admin-members-invited")
    assert _members_of_aurora()[CONSUMER.email] is True  # pending: it grants nothing yet
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/admin/login/?$"), timeout=ROUND_TRIP_MS)

    # The buyer opens the link from their own mailbox: their account has a password, so accepting is signing in.
    _open_mailed_link(tab, CONSUMER.email)
    expect(page.locator("#invite-heading")).to_contain_text("Join Aurora Coffee", timeout=ROUND_TRIP_MS)
    expect(page.locator("#invite-email")).to_have_text(CONSUMER.email)
    expect(page.locator("#confirm")).to_have_count(0)  # no "choose a password" here
    page.locator("#password").fill("not-the-password-1")
    page.locator("#accept-submit").click()
    expect(page.locator("#form-error")).to_contain_text("Incorrect", timeout=ROUND_TRIP_MS)
    tab.screenshot("accept-invite-sign-in")
    page.locator("#password").fill(CONSUMER.password)
    page.locator("#accept-submit").click()
    expect(page.locator("#signed-in-email")).to_have_text(CONSUMER.email, timeout=ROUND_TRIP_MS)
    assert _members_of_aurora()[CONSUMER.email] is False
    tab.assert_no_console_errors()


def test_invited_newcomer_chooses_a_password_from_the_mailed_link_and_lands_signed_in(tab: Tab) -> None:
    page = tab.page
    _open_members(tab, ADMIN.email, ADMIN.password)
    _invite(tab, "newbie@aurora.example.com")
    expect(page.locator("#invite-sent")).to_contain_text("newbie@aurora.example.com", timeout=ROUND_TRIP_MS)
    expect(page.get_by_test_id("member-row").filter(has_text="newbie@aurora.example.com")).to_contain_text(
        "Invitation pending")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/admin/login/?$"), timeout=ROUND_TRIP_MS)

    _open_mailed_link(tab, "newbie@aurora.example.com")
    expect(page.locator("#invite-heading")).to_contain_text("Join Aurora Coffee", timeout=ROUND_TRIP_MS)
    page.locator("#password").fill("a-long-new-password-2026")
    page.locator("#confirm").fill("a-long-new-password-2026")
    page.locator("#accept-submit").click()
    expect(page.locator("#signed-in-email")).to_have_text("newbie@aurora.example.com", timeout=ROUND_TRIP_MS)
    # The link was spent by use.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/admin/login/?$"), timeout=ROUND_TRIP_MS)
    _open_mailed_link(tab, "newbie@aurora.example.com")
    expect(page.locator("#invite-invalid")).to_be_visible(timeout=ROUND_TRIP_MS)
    tab.assert_no_console_errors()


def test_a_platform_admin_invites_a_kyc_reviewer_who_lands_on_the_review_queue(tab: Tab) -> None:
    page = tab.page
    sign_in(tab, PLATFORM.email, PLATFORM.password, "/kyc/login")
    expect(page.locator("#signed-in-email")).to_have_text(PLATFORM.email, timeout=ROUND_TRIP_MS)
    page.get_by_role("link", name="KYC team").click()
    expect(page.get_by_test_id("member-row").filter(has_text=REVIEWER.email)).to_be_visible(timeout=ROUND_TRIP_MS)
    expect(page.locator("#role")).to_have_count(0)  # one role on this team: nothing to choose
    page.locator("#email").fill("rosa@reviewers.example.com")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator("#invite-sent")).to_contain_text("rosa@reviewers.example.com", timeout=ROUND_TRIP_MS)
    row = page.get_by_test_id("member-row").filter(has_text="rosa@reviewers.example.com")
    expect(row).to_contain_text("Invitation pending")
    expect(row).to_contain_text("KYC reviewer")
    tab.screenshot("kyc-team-invited")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/kyc/login/?$"), timeout=ROUND_TRIP_MS)

    _open_mailed_link(tab, "rosa@reviewers.example.com", "Join the Primsell KYC review team on Primsell")
    expect(page.locator("#invite-heading")).to_contain_text("Join the Primsell KYC review team",
                                                            timeout=ROUND_TRIP_MS)
    page.locator("#password").fill("a-long-new-password-2026")
    page.locator("#confirm").fill("a-long-new-password-2026")
    page.locator("#accept-submit").click()
    expect(page.locator("#signed-in-email")).to_have_text("rosa@reviewers.example.com", timeout=ROUND_TRIP_MS)
    expect(page).to_have_url(re.compile(r"/kyc/?$"), timeout=ROUND_TRIP_MS)
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible(timeout=ROUND_TRIP_MS)
    expect(page.get_by_role("link", name="KYC team")).to_have_count(0)  # a reviewer does not manage the team
    tab.assert_no_console_errors()


@pytest.fixture
def second_tab(browser: object, app_url: str) -> Iterator[Tab]:
    """Another browser (a context of its own: its own cookies)."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})  # type: ignore[attr-defined]
    context.set_default_timeout(20_000)
    other = Tab(page=context.new_page(), base_url=app_url)
    try:
        yield other
    finally:
        other.page.goto("about:blank")  # type: ignore[attr-defined]
        context.close()


@pytest.mark.parametrize("change", ["remove", "demote"])
def test_a_removed_or_demoted_admins_open_tab_is_refused_on_its_next_action(tab: Tab, second_tab: Tab,
                                                                             change: str) -> None:
    with session_scope() as session:
        brand = session.exec(select(Brand).where(Brand.slug == DEMO_BRAND_SLUG)).one()
    make_user(Role.BRAND_ADMIN, brand, email="second@aurora.example.com")
    # The second admin's tab, open on the members page.
    _open_members(second_tab, "second@aurora.example.com", PASSWORD)

    # Meanwhile, in another browser, the brand's admin removes (or demotes) them.
    _open_members(tab, ADMIN.email, ADMIN.password)
    row = tab.page.get_by_test_id("member-row").filter(has_text="second@aurora.example.com")
    if change == "remove":
        row.get_by_role("button", name="Remove member").click()
        tab.page.get_by_role("alertdialog").get_by_role("button", name="Remove").click()
        expect(row).to_have_count(0, timeout=ROUND_TRIP_MS)
    else:
        row.get_by_role("combobox", name="Role").select_option("brand_staff")
        expect(tab.page.get_by_text("is now Brand staff")).to_be_visible(timeout=ROUND_TRIP_MS)

    # The open tab's next action is refused: it lands on the sign-in page, and nothing changed.
    _invite(second_tab, "sneaky@example.com", "brand_admin")
    expect(second_tab.page).to_have_url(re.compile(r"/admin/login"), timeout=ROUND_TRIP_MS)
    assert "sneaky@example.com" not in _members_of_aurora()
    second_tab.screenshot(f"admin-members-{change}d-tab-refused")
