"""Browser journeys of the consumer's account: a "keep it for me" buyer asks the order page for a link, opens it
from the (development) mailbox, chooses a password, lands on /account, sees the order and the token held for them,
withdraws it with that password typed again (a first attempt to an address that cannot take it fails, and "Try
again" sends it to their own wallet)
and watches it confirm (the token is then theirs on chain); /account sends strangers to its sign-in page."""

from __future__ import annotations

import re

import pytest
from eth_account import Account
from playwright.sync_api import expect
from web3 import Web3

from contracts.artifacts import load_artifact
from tests.e2e.conftest import Tab
from tests.e2e.helpers import CHAIN_TIMEOUT_MS, SLUG, deployed_contract, fill_checkout

pytestmark = pytest.mark.e2e

KEEPER_EMAIL = "keeper@example.com"
PASSWORD = "amber-lighthouse-77"


def test_keeper_creates_an_account_from_the_order_page_and_withdraws_the_token(
        tab: Tab, job_runner: object, anvil_node: object) -> None:
    page = tab.page
    contract = deployed_contract()
    tab.goto(f"/c/{SLUG}")
    fill_checkout(tab, quantity=1, wallet=None, email=KEEPER_EMAIL)
    page.locator("#pay-button").click()
    expect(page).to_have_url(re.compile(r"/api/sandbox/pay/cs_sandbox_\w+\?token=[\w-]+$"))
    page.get_by_role("button", name="Pay $25.00").click()
    expect(page).to_have_url(re.compile(r"/orders/[0-9a-f]{32}\?paid=1$"))
    expect(page.locator("#order-status")).to_have_text(re.compile("Minted|Delivered"), timeout=CHAIN_TIMEOUT_MS)

    # The account checkout created has no password yet: the order page emails a link to the order's address (the
    # order link alone proves nothing about the address). With no SMTP server, it lands in the local mailbox.
    panel = page.locator("#claim-panel")
    expect(panel).to_be_visible()
    page.locator("#claim-submit").click()
    expect(page.locator("#claim-sent")).to_contain_text("k•••@example.com")
    tab.screenshot("account-link-sent")
    tab.goto("/api/dev/mailbox")
    mail = page.get_by_test_id("mail").filter(has_text="Create your Primsell account")
    expect(mail).to_have_count(1, timeout=CHAIN_TIMEOUT_MS)  # the email_sender keeps it within seconds
    expect(mail).to_contain_text(KEEPER_EMAIL)
    mail.get_by_role("link", name=re.compile("set-password")).click()

    # The link's page: the password policy checked inline, then saved and signed in.
    expect(page).to_have_url(re.compile(r"/account/set-password/?\?token="))
    expect(page.get_by_text(KEEPER_EMAIL)).to_be_visible()
    page.locator("#password").fill("short1")
    page.locator("#password_confirm").fill("short1")
    page.locator("#set-password-submit").click()
    expect(page.locator("#password-error")).to_contain_text("at least 12 characters")
    page.locator("#password").fill(PASSWORD)
    page.locator("#password_confirm").fill(PASSWORD + "x")
    page.locator("#set-password-submit").click()
    expect(page.locator("#password_confirm-error")).to_contain_text("do not match")
    page.locator("#password_confirm").fill(PASSWORD)
    tab.screenshot("account-set-password")
    link_page = page.url
    page.locator("#set-password-submit").click()

    # Signed in (HttpOnly cookie), on /account: the order and the token held for them.
    expect(page).to_have_url(re.compile(r"/account/?$"))
    expect(page.locator("#account-email")).to_have_text(KEEPER_EMAIL)
    orders = page.get_by_test_id("account-order")
    expect(orders).to_have_count(1)
    expect(orders.first).to_contain_text(re.compile("Minted|Delivered"))
    expect(orders.first.get_by_role("link")).to_have_attribute("href", re.compile(r"^/orders/[0-9a-f]{32}$"))
    held = page.get_by_test_id("held-token")
    expect(held).to_have_count(1)
    expect(held.first.get_by_test_id("withdrawal-status")).to_have_attribute("data-status", "held")
    token_id = int(held.first.get_attribute("data-token-id"))  # type: ignore[arg-type]
    assert "primsell_session" not in page.evaluate("document.cookie")
    tab.screenshot("account-held")

    # A withdrawal to an address that cannot take the token (the collection contract itself: no onERC721Received)
    # fails on chain; the token stays held and the page offers "Try again".
    held.first.get_by_test_id("withdraw-button").click()
    page.locator("#to_address").fill(contract)
    page.locator("#withdraw-continue").click()
    expect(page.locator("#withdraw-confirm-address")).to_have_text(contract)
    # The session alone does not withdraw: the password again (a wrong one is said on its field, nothing moves).
    expect(page.locator("#password")).to_have_attribute("autocomplete", "current-password")
    page.locator("#password").fill(PASSWORD + "x")
    page.locator("#withdraw-confirm").click()
    expect(page.locator("#password-error")).to_contain_text("not your current password")
    expect(held.first.get_by_test_id("withdrawal-status")).to_have_attribute("data-status", "held")
    page.locator("#password").fill(PASSWORD)
    page.locator("#withdraw-confirm").click()
    status = held.first.get_by_test_id("withdrawal-status")
    expect(status).to_have_attribute("data-status", "failed", timeout=CHAIN_TIMEOUT_MS)
    expect(held.first.get_by_test_id("withdraw-button")).to_have_count(0)
    tab.screenshot("account-withdrawal-failed")

    # Try again, to the buyer's own wallet: the checksum is checked inline, then a confirmation, then the live status.
    wallet = Account.create().address
    i = next(i for i, ch in enumerate(wallet) if i > 1 and ch.isalpha())
    typo = wallet[:i] + wallet[i].swapcase() + wallet[i + 1:]
    held.first.get_by_test_id("retry-withdrawal-button").click()
    page.locator("#to_address").fill(typo)
    page.locator("#withdraw-continue").focus()
    expect(page.locator("#to_address-error")).to_contain_text("checksum")
    page.locator("#to_address").fill(wallet)
    page.locator("#withdraw-continue").click()
    expect(page.locator("#to_address-error")).to_have_count(0)
    expect(page.locator("#withdraw-confirm-address")).to_have_text(wallet)
    page.locator("#password").fill(PASSWORD)
    page.locator("#withdraw-confirm").click()
    status = held.first.get_by_test_id("withdrawal-status")
    expect(status).to_have_attribute("data-status", re.compile("queued|sent|confirmed"))
    page.evaluate("window.__sameDocument = true")
    expect(status).to_have_attribute("data-status", "confirmed", timeout=CHAIN_TIMEOUT_MS)
    assert page.evaluate("window.__sameDocument === true"), "the account page was reloaded"
    expect(held.first).to_contain_text(wallet)
    tab.screenshot("account-withdrawn")

    w3 = Web3(Web3.HTTPProvider(anvil_node.url))  # type: ignore[attr-defined]
    collection = w3.eth.contract(address=contract, abi=load_artifact("PrimsellCollection")["abi"])
    assert collection.functions.ownerOf(token_id).call() == wallet

    # Signing out ends the session: /account asks to sign in again; the emailed link worked once only.
    page.locator("#sign-out").click()
    expect(page).to_have_url(re.compile(r"/account/login/?$"))
    page.goto(link_page)
    expect(page.locator("#link-problem")).to_contain_text("expired or was used already")
    tab.goto("/account")
    expect(page).to_have_url(re.compile(r"/account/login/?\?next=%2Faccount(%2F)?$"))
    tab.assert_no_console_errors()


def test_account_without_sign_in_redirects_to_its_sign_in_page_and_back(tab: Tab) -> None:
    page = tab.page
    tab.goto("/account")
    expect(page).to_have_url(re.compile(r"/account/login/?\?next=%2Faccount(%2F)?$"))
    # The demo consumer signs in with the shared form and comes back to /account.
    page.locator("#email").fill("cleo@example.com")
    page.locator("#password").fill("consumer-demo-2026")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/account/?$"))
    expect(page.locator("#account-email")).to_have_text("cleo@example.com")
    expect(page.locator("#orders-empty").or_(page.locator("#orders-table"))).to_be_visible()
    expect(page.locator("#tokens-empty").or_(page.locator("#tokens-table"))).to_be_visible()
    tab.assert_no_console_errors()


def test_my_orders_are_paged_with_a_total(tab: Tab, configure) -> None:  # type: ignore[no-untyped-def]
    """Twelve orders: the first ten (newest first), then the last two, never a silent cut-off."""
    from backend.orders import service
    from tests.e2e.helpers import collection_on_record
    from tests.payments.support import BUYER_LIMITS_OFF

    configure(**BUYER_LIMITS_OFF)  # twelve unpaid orders of one buyer, placed here (this process's limits)
    collection_on_record()
    placed = [service.start_checkout(SLUG, 1, "cleo@example.com", Account.create().address, "127.0.0.1").public_id
              for _ in range(12)]
    page = tab.page
    tab.goto("/account/login")
    page.locator("#email").fill("cleo@example.com")
    page.locator("#password").fill("consumer-demo-2026")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/account/?$"))

    orders = page.get_by_test_id("account-order")
    expect(page.locator("#orders-total")).to_have_text("12 orders")
    expect(page.locator("#orders-page")).to_have_text("Page 1 of 2")
    expect(orders).to_have_count(10)
    expect(orders.first).to_have_attribute("data-public-id", placed[-1])
    expect(page.locator("#orders-previous")).to_be_disabled()
    page.locator("#orders-next").click()
    expect(page.locator("#orders-page")).to_have_text("Page 2 of 2")
    expect(orders).to_have_count(2)
    assert [o.get_attribute("data-public-id") for o in orders.all()] == [placed[1], placed[0]]
    expect(page.locator("#orders-next")).to_be_disabled()
    page.locator("#orders-previous").click()
    expect(orders).to_have_count(10)
    tab.screenshot("account-orders-paged")
    tab.assert_no_console_errors()


def test_a_buyer_without_a_password_asks_for_a_link_from_the_sign_in_page(tab: Tab) -> None:
    """The same answer whether or not the address has an account; the demo consumer's link reaches the mailbox."""
    page = tab.page
    tab.goto("/account/login")
    page.locator("#link_email").fill("not-an-email")
    page.locator("#link-submit").click()
    expect(page.locator("#link_email-error")).to_contain_text("email address")
    for address in ("nobody-here@example.com", "cleo@example.com"):
        page.locator("#link_email").fill(address)
        page.locator("#link-submit").click()
        expect(page.locator("#link-sent")).to_contain_text("If an account exists for that address")
    tab.goto("/api/dev/mailbox")
    mails = page.get_by_test_id("mail")
    expect(mails.filter(has_text="cleo@example.com")).to_have_count(1)
    expect(mails.filter(has_text="nobody-here@example.com")).to_have_count(0)
    tab.assert_no_console_errors()
