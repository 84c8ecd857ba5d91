"""Helpers shared by the browser journeys: signing in, the demo campaign checkout pages buy from, and its contract."""

from __future__ import annotations

import time

from playwright.sync_api import expect
from sqlmodel import select

from backend.auth.acl import Role
from backend.auth.models import User
from backend.auth.service import load_actor
from backend.campaigns.models import Campaign
from backend.chain.service import deployment_status, request_deploy
from backend.db import session_scope
from backend.demo import DEMO_ACCOUNTS
from backend.errors import Conflict
from backend.orders.models import Order
from tests.e2e.conftest import Tab
from tests.factories import record_deployed_contract

BRAND_ADMIN = next(a for a in DEMO_ACCOUNTS if a.role is Role.BRAND_ADMIN)


def sign_in(tab: Tab, email: str, password: str, login_path: str = "/admin/login") -> None:
    page = tab.page
    if login_path not in page.url:
        tab.goto(login_path)
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.get_by_role("button", name="Sign in").click()


SLUG = "aurora-founders"  # on sale, $25.00, 5 per wallet
BUYER_EMAIL = "buyer@example.com"
CHAIN_TIMEOUT_MS = 90_000


def brand_admin_actor():  # type: ignore[no-untyped-def]
    with session_scope() as session:
        user = session.exec(select(User).where(User.email == BRAND_ADMIN.email)).one()
        return load_actor(session, user)


def campaign_id() -> int:
    with session_scope() as session:
        return session.exec(select(Campaign.id).where(Campaign.slug == SLUG)).one()  # type: ignore[return-value]


def deployed_contract() -> str:
    """The demo campaign's contract, deployed by the live runner (seed_demo already asked for it)."""
    actor, campaign = brand_admin_actor(), campaign_id()
    try:
        request_deploy(actor, campaign)
    except Conflict:
        pass  # already requested
    deadline = time.monotonic() + CHAIN_TIMEOUT_MS / 1000
    while (status := deployment_status(actor, campaign)).state != "deployed":
        assert status.state != "failed" and time.monotonic() < deadline, f"deployment is {status.state}"
        time.sleep(0.5)
    assert status.contract_address
    return status.contract_address


def collection_on_record() -> None:
    """For journeys that pay but mint nothing on chain: the demo campaign's contract recorded as deployed, so it
    is on sale without waiting for the deployer (tests that mint use deployed_contract())."""
    with session_scope() as session:
        campaign = session.exec(select(Campaign).where(Campaign.slug == SLUG)).one()
        session.expunge(campaign)
    record_deployed_contract(campaign)


def only_order() -> Order:
    with session_scope() as session:
        order = session.exec(select(Order)).one()
        session.expunge(order)
        return order


def fill_checkout(tab: Tab, *, quantity: int, wallet: str | None, email: str = BUYER_EMAIL) -> None:
    """On the campaign page: pick the quantity, where the NFT goes and the email (Pay is the caller's)."""
    page = tab.page
    box = page.locator("#buy-box")
    expect(box).to_be_visible()
    for _ in range(quantity - 1):
        box.get_by_role("button", name="More").click()
    expect(page.locator("#quantity")).to_have_text(str(quantity))
    if wallet is None:
        page.locator("#destination-custodial").click()
        expect(page.locator("#custodial-note")).to_be_visible()
    else:
        page.locator("#wallet_address").fill(wallet)
    page.locator("#email").fill(email)
