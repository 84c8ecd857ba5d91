"""Browser journeys of KYC: a reviewer signs in to the queue; a consumer verifies with real photos, a reviewer
claims the case, opens the documents and asks for changes, the consumer resubmits, a reviewer approves, and the
KYC-gated purchase then goes through; a second reviewer cannot take a held case; a rejection waits for a second
reviewer. Brand staff get the no-access page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from backend.auth.acl import Role
from backend.auth.models import Membership
from backend.auth.service import create_user, load_actor
from backend.campaigns.models import Campaign
from backend.db import session_scope
from backend.demo import DEMO_ACCOUNTS
from backend.kyc import service
from backend.kyc.models import KycCase
from tests.e2e.conftest import Tab
from tests.e2e.helpers import SLUG, collection_on_record, fill_checkout, sign_in
from tests.kyc.support import FIELDS, jpeg

pytestmark = pytest.mark.e2e

ACCOUNTS = {a.role: a for a in DEMO_ACCOUNTS}
CONSUMER = ACCOUNTS[Role.CONSUMER]
KIM = ACCOUNTS[Role.KYC_REVIEWER]
RAY_EMAIL, RAY_PASSWORD = "ray@primsell.example.com", "second-reviewer-2026"
SERVER = 30_000  # generous: a server round trip on a busy 2-core machine


@pytest.fixture
def second_reviewer() -> None:
    with session_scope() as session:
        user = create_user(session, RAY_EMAIL, RAY_PASSWORD)
        session.add(Membership(user_id=user.id, brand_id=None, role=Role.KYC_REVIEWER))  # type: ignore[arg-type]


@pytest.fixture
def other_tab(browser: object, app_url: str, demo_data: None) -> Iterator[Tab]:
    """A second browser (its own cookies): another person at the same time."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    context.set_default_timeout(20_000)
    page = context.new_page()
    tab = Tab(page=page, base_url=app_url)
    page.on("console", lambda msg: tab.console_errors.append(msg.text) if msg.type == "error" else None)
    yield tab
    try:
        page.goto("about:blank")
    finally:
        context.close()


@pytest.fixture
def photos(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for kind, color in (("front", (200, 40, 40)), ("back", (40, 200, 40)), ("selfie", (40, 40, 200))):
        paths[kind] = tmp_path / f"{kind}.jpg"
        paths[kind].write_bytes(jpeg(color, (640, 420)))
    return paths


def _kyc_for_every_buyer() -> None:
    collection_on_record()
    with session_scope() as session:
        campaign = session.exec(select(Campaign).where(Campaign.slug == SLUG)).one()
        campaign.kyc_requirement = "every_buyer"
        session.add(campaign)


def _upload_documents(tab: Tab, photos: dict[str, Path]) -> None:
    page = tab.page
    for kind in ("front", "back", "selfie"):
        page.locator(f"#kyc-{kind} input[type=file]").set_input_files(str(photos[kind]))
        expect(page.locator(f"#kyc-{kind}-ok")).to_contain_text(f"{kind}.jpg (640 x 420 px", timeout=SERVER)


def _open_case(tab: Tab, person: str) -> None:
    page = tab.page
    tab.goto("/kyc")
    row = page.get_by_test_id("case-row").filter(has_text=person)
    expect(row).to_be_visible(timeout=SERVER)
    row.get_by_test_id("case-link").click()
    expect(page.locator("#case-state")).to_be_visible(timeout=SERVER)


def _only_case() -> KycCase:
    with session_scope() as session:
        return session.exec(select(KycCase)).one()


def test_reviewer_signs_in_and_sees_the_empty_queue(tab: Tab) -> None:
    page = tab.page
    tab.goto("/kyc")
    expect(page).to_have_url(re.compile(r"/kyc/login\?next=%2Fkyc$"))
    sign_in(tab, KIM.email, KIM.password, login_path="/kyc/login")
    expect(page).to_have_url(re.compile(r"/kyc/?$"))
    expect(page.get_by_test_id("table-empty")).to_have_text("No identity checks waiting for review")
    tab.screenshot("kyc-queue")
    tab.assert_no_console_errors()


@pytest.mark.parametrize("role", [Role.BRAND_STAFF, Role.BRAND_ADMIN, Role.CONSUMER])
def test_brand_people_and_consumers_get_the_no_access_page_on_kyc(tab: Tab, role: Role) -> None:
    with session_scope() as session:  # a case exists: its page must still show nothing of it
        actor = load_actor(session, create_user(session, "dora@example.com", None))
    service.submit(actor, FIELDS | {"legal_name": "Dora Example"},
                   files={"front": jpeg(), "back": jpeg(), "selfie": jpeg()}, ip="127.0.0.1")
    person = ACCOUNTS[role]
    tab.goto("/kyc/login")
    sign_in(tab, person.email, person.password, login_path="/kyc/login")
    expect(tab.page.locator("#no-access")).to_be_visible(timeout=SERVER)
    tab.goto(f"/kyc/cases/{_only_case().id}")
    expect(tab.page.locator("#no-access")).to_be_visible(timeout=SERVER)
    expect(tab.page.get_by_text("Dora Example")).to_have_count(0)
    tab.assert_no_console_errors()


def test_verify_review_changes_resubmit_approve_then_the_gated_purchase_goes_through(
        tab: Tab, other_tab: Tab, photos: dict[str, Path], second_reviewer: None) -> None:
    _kyc_for_every_buyer()
    buyer, page = tab, tab.page

    # The campaign asks for KYC: checkout explains and sends the buyer to verify first (no order, no payment).
    buyer.goto(f"/c/{SLUG}")
    expect(page.locator("#kyc-note")).to_contain_text("verify their identity")
    fill_checkout(buyer, quantity=1, wallet=None, email=CONSUMER.email)
    page.locator("#pay-button").click()
    expect(page.locator("#checkout-error")).to_contain_text("verify their identity", timeout=SERVER)
    page.locator("#verify-identity").click()
    expect(page).to_have_url(re.compile(r"/account/login\?next="), timeout=SERVER)
    sign_in(buyer, CONSUMER.email, CONSUMER.password, login_path="/account/login")
    expect(page).to_have_url(re.compile(r"/kyc/verify/?\?next=%2Fc%2Faurora-founders$"), timeout=SERVER)

    # The consumer fills the form with real photos (each checked as soon as it is chosen) and consents.
    expect(page.locator("#kyc-status")).to_have_text("Not verified", timeout=SERVER)
    page.locator("#legal_name").fill("Cleo Example")
    page.locator("#date_of_birth").fill("1990-04-02")
    page.locator("#country").select_option("FR")
    page.locator("#address").fill("12 rue de la Paix, 75002 Paris")
    page.locator("#document_type").select_option("id_card")
    page.locator("#document_number").fill("AB 123456")
    _upload_documents(buyer, photos)
    page.locator("#consent").check()
    buyer.screenshot("kyc-verify-form")
    page.locator("#kyc-submit").click()
    expect(page.locator("#kyc-status")).to_have_text("Submitted", timeout=SERVER)
    expect(page.locator("#kyc-done")).to_be_visible()

    # Kim claims it and opens the documents (each view goes to the case's audit log).
    kim = other_tab
    sign_in(kim, KIM.email, KIM.password, login_path="/kyc/login")
    expect(kim.page).to_have_url(re.compile(r"/kyc/?$"), timeout=SERVER)
    expect(kim.page.get_by_test_id("sla").first).to_be_visible(timeout=SERVER)
    _open_case(kim, "Cleo Example")
    kim.page.locator("#claim").click()
    expect(kim.page.locator("#held-by")).to_contain_text("You hold this case", timeout=SERVER)
    images = kim.page.get_by_test_id("kyc-document-image")
    expect(images).to_have_count(3)
    for image in images.all():
        expect(image).to_have_js_property("complete", True, timeout=SERVER)
        assert image.evaluate("img => img.naturalWidth") == 640
    kim.page.get_by_test_id("rotate").first.click()
    expect(images.first).to_have_css("transform", re.compile(r"matrix\(0, 1, -1, 0|matrix\(6\.1"))
    kim.screenshot("kyc-case")

    # A second reviewer sees who holds it and cannot claim it.
    ray_context = kim.page.context.browser.new_context()
    ray = Tab(page=ray_context.new_page(), base_url=kim.base_url)
    try:
        sign_in(ray, RAY_EMAIL, RAY_PASSWORD, login_path="/kyc/login")
        expect(ray.page).to_have_url(re.compile(r"/kyc/?$"), timeout=SERVER)
        _open_case(ray, "Cleo Example")
        expect(ray.page.locator("#held-by")).to_contain_text(KIM.email, timeout=SERVER)
        expect(ray.page.locator("#claim")).to_have_count(0)
    finally:
        ray_context.close()

    kim.page.locator("#request-changes").click()
    kim.page.locator("#changes-message").fill("The back of the card is blurred: take it again in good light.")
    kim.page.locator("#send-changes").click()
    expect(kim.page.locator("#case-state")).to_have_text("Changes requested", timeout=SERVER)

    # The consumer sees what to fix, resubmits, and the case is back in the queue.
    buyer.goto(f"/kyc/verify?next=/c/{SLUG}")
    expect(page.locator("#kyc-changes")).to_contain_text("blurred", timeout=SERVER)
    expect(page.locator("#legal_name")).to_have_value("Cleo Example")
    _upload_documents(buyer, photos)
    page.locator("#consent").check()
    page.locator("#kyc-submit").click()
    expect(page.locator("#kyc-status")).to_have_text("Submitted", timeout=SERVER)

    _open_case(kim, "Cleo Example")
    expect(kim.page.get_by_test_id("kyc-submission")).to_have_count(2)
    kim.page.locator("#claim").click()
    kim.page.locator("#approve").click()
    expect(kim.page.locator("#case-state")).to_have_text("Approved", timeout=SERVER)
    expect(kim.page.get_by_test_id("history-row").filter(has_text="document viewed").first).to_be_visible()

    # Verified: the consumer goes back to the campaign and the gated purchase goes through to payment.
    buyer.goto(f"/kyc/verify?next=/c/{SLUG}")
    expect(page.locator("#kyc-status")).to_have_text("Approved", timeout=SERVER)
    page.locator("#kyc-return").click()
    expect(page.locator("#buy-box")).to_be_visible(timeout=SERVER)
    fill_checkout(buyer, quantity=1, wallet=None, email=CONSUMER.email)
    page.locator("#pay-button").click()
    expect(page).to_have_url(re.compile(r"/api/sandbox/pay/cs_sandbox_\w+\?token=[\w-]+$"), timeout=SERVER)
    page.get_by_role("button", name="Pay $25.00").click()
    expect(page).to_have_url(re.compile(r"/orders/[0-9a-f]{32}\?paid=1$"), timeout=SERVER)
    buyer.assert_no_console_errors()
    kim.assert_no_console_errors()


def test_a_rejection_waits_for_a_second_reviewer(tab: Tab, other_tab: Tab, second_reviewer: None) -> None:
    with session_scope() as session:  # a consumer's submission, straight through the service
        user = create_user(session, "dora@example.com", None)
        actor = load_actor(session, user)
    service.submit(actor, FIELDS | {"legal_name": "Dora Example"},
                   files={"front": jpeg(), "back": jpeg(), "selfie": jpeg()}, ip="127.0.0.1")

    kim = tab
    sign_in(kim, KIM.email, KIM.password, login_path="/kyc/login")
    expect(kim.page).to_have_url(re.compile(r"/kyc/?$"), timeout=SERVER)
    _open_case(kim, "Dora Example")
    kim.page.locator("#claim").click()
    kim.page.locator("#reject").click()
    kim.page.locator("#reject-reason").select_option("data_mismatch")
    kim.page.locator("#reject-note").fill("The name differs from the card")
    kim.page.locator("#send-reject").click()
    expect(kim.page.locator("#case-state")).to_have_text("Rejection to confirm", timeout=SERVER)
    expect(kim.page.locator("#confirm-rejection")).to_have_count(0)
    expect(kim.page.locator("#claim")).to_have_count(0)  # the proposer cannot be the second pair of eyes
    assert _only_case().state.value == "rejection_pending"

    ray = other_tab
    sign_in(ray, RAY_EMAIL, RAY_PASSWORD, login_path="/kyc/login")
    expect(ray.page).to_have_url(re.compile(r"/kyc/?$"), timeout=SERVER)
    _open_case(ray, "Dora Example")
    expect(ray.page.get_by_test_id("proposed-by")).to_have_text(KIM.email)
    ray.page.locator("#claim").click()
    ray.page.locator("#confirm-rejection").click()
    expect(ray.page.locator("#case-state")).to_have_text("Rejected", timeout=SERVER)
    assert _only_case().state.value == "rejected"
    kim.assert_no_console_errors()
    ray.assert_no_console_errors()
