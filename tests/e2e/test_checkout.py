"""Browser journeys of checkout (sandbox payments, an anvil chain and the job runner): a buyer pays for two tokens
and watches them mint to their wallet without reloading; a declined card says so and mints nothing; the brand
admin finds the order, reads its whole timeline and refunds it; a network over its share of the supply is told
why."""

from __future__ import annotations

import json
import re
import time

import pytest
from eth_account import Account
from playwright.sync_api import expect
from sqlmodel import select
from web3 import Web3

from backend.chain.models import ChainTransaction, TxPurpose
from backend.db import session_scope
from backend.orders.models import Order
from contracts.artifacts import load_artifact
from tests.e2e.conftest import Tab
from tests.e2e.helpers import (
    BRAND_ADMIN,
    BUYER_EMAIL,
    CHAIN_TIMEOUT_MS,
    SLUG,
    collection_on_record,
    deployed_contract,
    fill_checkout,
    only_order,
    sign_in,
)
from tests.factories import make_brand, make_campaign

pytestmark = pytest.mark.e2e

def test_buyer_pays_for_two_tokens_and_watches_them_mint_to_their_wallet(
        tab: Tab, job_runner: object, anvil_node: object) -> None:
    page = tab.page
    contract = deployed_contract()
    wallet = Account.create().address  # a fresh checksummed address
    tab.goto(f"/c/{SLUG}")

    expect(page.locator("#phase-banner")).to_contain_text("On sale now")
    expect(page.locator("#sandbox-note")).to_contain_text("SANDBOX — no real money")
    expect(page.locator("#total")).to_have_text("$25.00")
    expect(page.locator("#crypto-amount")).to_contain_text("ETH")
    expect(page.locator("#demo-rate")).to_have_text("demo rate")

    # The checksum is checked inline, before Pay: one flipped letter case is a typo.
    i = next(i for i, ch in enumerate(wallet) if i > 1 and ch.isalpha())
    typo = wallet[:i] + wallet[i].swapcase() + wallet[i + 1:]
    page.locator("#wallet_address").fill(typo)
    page.locator("#email").focus()
    expect(page.locator("#wallet_address-error")).to_contain_text("checksum")

    fill_checkout(tab, quantity=2, wallet=wallet)
    expect(page.locator("#wallet_address-error")).to_have_count(0)
    expect(page.locator("#total")).to_have_text("$50.00")
    tab.screenshot("checkout-campaign")
    page.locator("#pay-button").click()

    # A full navigation to the sandbox's payment page, then back to the order page once paid.
    expect(page).to_have_url(re.compile(r"/api/sandbox/pay/cs_sandbox_\w+\?token=[\w-]+$"))
    expect(page.get_by_text("SANDBOX", exact=False).first).to_be_visible()
    page.get_by_role("button", name="Pay $50.00").click()
    expect(page).to_have_url(re.compile(r"/orders/[0-9a-f]{32}\?paid=1$"))

    page.evaluate("window.__sameDocument = true")
    expect(page.locator("#order-status")).to_have_text(re.compile("Minted|Delivered"), timeout=CHAIN_TIMEOUT_MS)
    assert page.evaluate("window.__sameDocument === true"), "the order page was reloaded"
    tokens = page.get_by_test_id("token-id")
    expect(tokens).to_have_count(2)
    expect(page.locator("#mint-tx")).to_be_visible()
    expect(page.locator("#order-wallet")).to_have_text(wallet)
    token_ids = [int(t.inner_text().strip().lstrip("#")) for t in tokens.all()]
    metadata = page.get_by_test_id("token-metadata")  # no explorer on this chain: no explorer links either
    assert [m.get_attribute("href") for m in metadata.all()] == [f"/api/metadata/{SLUG}/{t}" for t in token_ids]
    expect(page.get_by_test_id("token-explorer")).to_have_count(0)
    tab.screenshot("checkout-order-minted")

    # The tokens are really the buyer's, on the chain.
    w3 = Web3(Web3.HTTPProvider(anvil_node.url))  # type: ignore[attr-defined]
    collection = w3.eth.contract(address=contract, abi=load_artifact("PrimsellCollection")["abi"])
    assert [collection.functions.ownerOf(t).call() for t in token_ids] == [wallet, wallet]
    tab.assert_no_console_errors()


def test_a_declined_card_says_so_and_mints_nothing(tab: Tab, job_runner: object) -> None:
    page = tab.page
    collection_on_record()
    tab.goto(f"/c/{SLUG}")
    fill_checkout(tab, quantity=1, wallet=None)
    page.locator("#pay-button").click()
    expect(page).to_have_url(re.compile(r"/api/sandbox/pay/cs_sandbox_\w+\?token=[\w-]+$"))
    order = only_order()
    assert order.custodial

    # The buyer backs out (Stripe's cancel link), then tries again from the order page.
    tab.goto(f"/orders/{order.public_id}?cancelled=1")
    expect(page.locator("#payment-cancelled")).to_contain_text("Payment cancelled")
    page.locator("#retry-payment").first.click()
    expect(page).to_have_url(re.compile(r"/api/sandbox/pay/cs_sandbox_\w+\?token=[\w-]+$"))

    page.get_by_role("button", name=re.compile("^Decline")).click()
    expect(page.get_by_text("Your card was declined.")).to_be_visible()

    tab.goto(f"/orders/{order.public_id}")
    expect(page.locator("#order-status")).to_have_text("Payment failed", timeout=30_000)
    expect(page.locator("#payment-failed")).to_contain_text("declined")
    expect(page.locator("#retry-payment")).to_be_visible()
    expect(page.locator("#back-to-campaign")).to_have_attribute("href", f"/c/{SLUG}")
    tab.screenshot("checkout-order-declined")

    time.sleep(3)  # the runner's passes would have minted by now
    failed = only_order()
    assert failed.state.value == "payment_failed" and failed.mint_key is None and failed.token_ids == []
    with session_scope() as session:
        mints = session.exec(select(ChainTransaction).where(ChainTransaction.purpose == TxPurpose.MINT_BATCH)).all()
    assert mints == []
    tab.assert_no_console_errors()


def test_brand_admin_finds_the_order_reads_its_timeline_and_refunds_it(
        tab: Tab, job_runner: object, anvil_node: object) -> None:
    page = tab.page
    deployed_contract()
    wallet = Account.create().address
    tab.goto(f"/c/{SLUG}")
    fill_checkout(tab, quantity=1, wallet=wallet, email="collector@example.com")
    page.locator("#pay-button").click()
    expect(page).to_have_url(re.compile(r"/api/sandbox/pay/cs_sandbox_\w+\?token=[\w-]+$"))
    page.get_by_role("button", name="Pay $25.00").click()
    expect(page.locator("#order-status")).to_have_text(re.compile("Minted|Delivered"), timeout=CHAIN_TIMEOUT_MS)

    sign_in(tab, BRAND_ADMIN.email, BRAND_ADMIN.password)
    expect(page.locator("#signed-in-email")).to_have_text(BRAND_ADMIN.email)
    page.get_by_role("link", name="Orders").click()
    expect(page).to_have_url(re.compile(r"/admin/orders/?$"))
    rows = page.get_by_test_id("order-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("collector@example.com")

    # Search by wallet finds it; another status filters it out; clearing brings it back.
    page.get_by_placeholder("Search email, wallet or tx hash").fill(wallet.lower()[:12])
    expect(rows).to_have_count(1)
    page.locator("#status-filter").select_option("expired")
    expect(page.get_by_test_id("table-empty")).to_have_text("No orders match these filters.")
    page.get_by_role("button", name="Clear filters").click()
    expect(rows).to_have_count(1)
    tab.screenshot("admin-orders")

    with page.expect_download() as download:
        page.locator("#export-csv").click()
    csv_text = download.value.path().read_text()
    assert csv_text.startswith("order_id,public_id,") and "collector@example.com" in csv_text

    rows.first.get_by_test_id("order-link").click()
    expect(page).to_have_url(re.compile(r"/admin/orders/\d+/?$"))
    events = page.locator('[data-testid="timeline-entry"][data-kind="payment_event"]')
    expect(events.filter(has_text="checkout.session.completed")).to_have_count(1)
    # created -> awaiting payment -> paid -> minting -> minted -> fulfilled, each with who moved it
    expect(page.locator('[data-kind="state"]')).to_have_count(5)
    expect(page.locator('[data-kind="mint"]')).to_have_count(1)
    expect(page.locator("#detail-tx")).to_have_text(re.compile(r"^0x[0-9a-f]{64}$"))
    expect(page.locator("#detail-wallet")).to_have_text(wallet)

    # Refund: the dialog insists on a reason, then the order moves on and the timeline shows who did it.
    page.locator("#refund-button").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Refund this order in full?")
    dialog.locator("#confirm-refund").click()
    expect(dialog.locator("#refund-error")).to_be_visible()
    dialog.locator("#refund-reason").fill("The buyer asked to cancel")
    dialog.locator("#confirm-refund").click()
    expect(dialog).to_have_count(0)
    expect(page.locator("#detail-status")).to_have_text(re.compile("Refund pending|Refunded"))
    expect(page.locator("#detail-refund-reason")).to_contain_text("The buyer asked to cancel")
    expect(page.locator('[data-kind="refund"]')).to_have_count(1)
    expect(page.locator('[data-kind="state"]').filter(has_text="by user:")).to_contain_text("The buyer asked to cancel")
    expect(page.locator("#refund-button")).to_have_count(0)
    tab.screenshot("admin-order-detail")

    # The campaign page sums it up: revenue net of the refund, orders by status, minted vs supply.
    page.get_by_role("link", name="Aurora Founders Pass").click()
    section = page.locator("#campaign-orders")
    expect(section.locator("#campaign-revenue")).to_contain_text(re.compile(r"\$0\.00\s*after \$25\.00 refunded"))
    expect(section.get_by_test_id("status-count")).to_have_text(["Refunded1"])
    expect(section.locator("#campaign-minted")).to_have_text("Minted vs supply: 1 of 500")
    expect(section.locator("#supply-chart .recharts-bar-rectangle")).not_to_have_count(0)
    section.scroll_into_view_if_needed()
    tab.screenshot("admin-campaign-orders")
    tab.assert_no_console_errors()


def test_checkout_refuses_a_full_wallet_and_a_sale_that_has_not_started(tab: Tab) -> None:
    page = tab.page
    collection_on_record()
    wallet = Account.create().address
    tab.goto(f"/c/{SLUG}")
    fill_checkout(tab, quantity=5, wallet=wallet)
    expect(page.get_by_role("button", name="More")).to_be_disabled()  # 5 per wallet
    page.locator("#pay-button").click()
    expect(page).to_have_url(re.compile(r"/api/sandbox/pay/cs_sandbox_\w+\?token=[\w-]+$"))

    # The five are reserved for that wallet while their payment is open: one more is refused, clearly.
    tab.goto(f"/c/{SLUG}")
    fill_checkout(tab, quantity=1, wallet=wallet)
    page.locator("#pay-button").click()
    expect(page.locator("#checkout-error")).to_contain_text("Each wallet may hold at most 5")
    expect(page.locator("#quantity-error")).to_have_text("at most 0")
    expect(page).to_have_url(re.compile(rf"/c/{SLUG}$"))
    tab.screenshot("checkout-wallet-cap")

    tab.goto("/c/aurora-winter-roast")
    expect(page.locator("#phase-banner")).to_contain_text("Not on sale yet")
    expect(page.locator("#buy-button")).to_have_text("Not on sale yet")
    expect(page.locator("#buy-button")).to_be_disabled()
    expect(page.locator("#buy-box")).to_have_count(0)
    tab.assert_no_console_errors()


def test_one_network_cannot_reserve_more_than_a_fifth_of_the_supply_and_is_told_why(tab: Tab) -> None:
    """Supply squatting: whatever emails it uses, one network may hold at most a fifth of a campaign's supply unpaid.
    The buyer reads why, and until when, on the campaign page; no order is created."""
    from backend.orders import service

    page = tab.page
    campaign = make_campaign(make_brand(), name="Tiny Drop", supply_cap=10, per_wallet_cap=0)  # a fifth: 2
    # Two tokens already reserved, unpaid, from the browser's own address (another email, another wallet).
    service.start_checkout(campaign.slug, 2, "first@example.com", Account.create().address, "127.0.0.1")
    tab.goto(f"/c/{campaign.slug}")
    fill_checkout(tab, quantity=1, wallet=Account.create().address, email="second@example.com")
    page.locator("#pay-button").click()
    error = page.locator("#checkout-error")
    expect(error).to_contain_text("one network may reserve at most 2 of the 10 tokens", timeout=30_000)
    expect(error).to_contain_text("wait until they expire (by ")
    expect(page).to_have_url(re.compile(rf"/c/{campaign.slug}$"))
    expect(page.locator("#pay-button")).to_be_enabled()
    with session_scope() as session:
        assert [o.email for o in session.exec(select(Order)).all()] == ["first@example.com"]
    tab.screenshot("checkout-reservation-limit")
    tab.assert_no_console_errors()


def test_a_collection_not_deployed_yet_is_not_on_sale(tab: Tab) -> None:
    """Published and inside its sale window, but its contract is not on chain yet (the deployer has not run):
    the page says so and offers no way to pay; once deployed, the buy box appears."""
    page = tab.page
    tab.goto(f"/c/{SLUG}")
    expect(page.locator("#phase-banner")).to_contain_text("This collection is not on sale yet.")
    expect(page.locator("#buy-button")).to_have_text("Not on sale yet")
    expect(page.locator("#buy-button")).to_be_disabled()
    expect(page.locator("#buy-box")).to_have_count(0)
    tab.screenshot("checkout-not-deployed")

    collection_on_record()
    tab.goto(f"/c/{SLUG}")
    expect(page.locator("#phase-banner")).to_contain_text("On sale now")
    expect(page.locator("#buy-box")).to_be_visible()
    tab.assert_no_console_errors()


def test_an_unknown_order_link_shows_a_friendly_not_found(tab: Tab) -> None:
    tab.goto("/orders/" + "0" * 32)
    expect(tab.page.locator("#order-not-found")).to_have_text("We couldn't find that order")
    tab.assert_no_console_errors()


# An EIP-1193 wallet as a browser extension injects it: window.ethereum with request(). The test drives its answers
# through window.__wallet (the account it shares, or a refusal), as a user clicking in the wallet would.
FAKE_WALLET = """
window.__wallet = {account: %s, refuse: false, asked: 0};
window.ethereum = {
  isMetaMask: true,
  request: async ({method}) => {
    if (method !== "eth_requestAccounts") throw Object.assign(new Error("unsupported"), {code: 4200});
    window.__wallet.asked += 1;
    if (window.__wallet.refuse) throw Object.assign(new Error("User rejected the request."), {code: 4001});
    return [window.__wallet.account];
  },
};
"""


def test_a_buyer_connects_a_browser_wallet_instead_of_pasting_an_address(tab: Tab) -> None:
    page = tab.page
    collection_on_record()
    wallet = Account.create().address
    tab.goto(f"/c/{SLUG}")
    expect(page.locator("#buy-box")).to_be_visible()
    page.locator("#connect-wallet").click()  # no wallet in this browser: say so, keep the form usable
    expect(page.locator("#wallet_address-error")).to_contain_text("No browser wallet was found")
    expect(page.locator("#connect-wallet")).to_be_enabled()

    page.context.add_init_script(FAKE_WALLET % json.dumps(wallet.lower()))  # wallets answer in lower case
    tab.goto(f"/c/{SLUG}")
    expect(page.locator("#buy-box")).to_be_visible()
    page.evaluate("window.__wallet.refuse = true")
    page.locator("#connect-wallet").click()
    expect(page.locator("#wallet_address-error")).to_contain_text("You declined the connection")
    expect(page.locator("#wallet_address")).to_have_value("")

    page.evaluate("window.__wallet.refuse = false")
    page.locator("#connect-wallet").click()
    expect(page.locator("#wallet_address")).to_have_value(wallet)  # checksummed
    expect(page.locator("#wallet-connected")).to_contain_text("Filled in from your wallet")
    expect(page.locator("#wallet_address-error")).to_have_count(0)
    assert page.evaluate("window.__wallet.asked") == 2
    tab.screenshot("checkout-wallet-connected")

    page.locator("#email").fill(BUYER_EMAIL)
    page.locator("#pay-button").click()
    expect(page).to_have_url(re.compile(r"/api/sandbox/pay/cs_sandbox_\w+\?token=[\w-]+$"))
    assert only_order().wallet_address == wallet and not only_order().custodial
    tab.assert_no_console_errors()


def test_a_refunded_order_tells_the_buyer_why(tab: Tab, configure) -> None:  # type: ignore[no-untyped-def]
    """A paid order whose mint failed for good: the order page says it was refunded, how much and why."""
    from backend.orders import service
    from backend.orders.refunds import issue_refunds
    from backend.payments import sandbox
    from tests.payments.support import emit_mint_event, settle

    configure(PRIMSELL_PUBLIC_URL=tab.base_url)
    collection_on_record()
    started = service.start_checkout(SLUG, 2, BUYER_EMAIL, Account.create().address, "127.0.0.1")
    order = only_order()
    sandbox.pay(order.payment_session_id)  # type: ignore[arg-type]
    settle()
    emit_mint_event("mint.failed", {"key": f"order-{order.id}", "error": "CollectionSoldOut"})
    settle()
    assert issue_refunds() == 1

    tab.goto(f"/orders/{started.public_id}")
    expect(tab.page.locator("#order-status")).to_have_text("Refunded")
    banner = tab.page.locator("#order-refunded")
    expect(banner).to_contain_text("Your payment was refunded.")
    expect(banner).to_contain_text("$50.00")
    expect(banner).to_contain_text("We could not mint your NFT, so your payment is refunded in full.")
    expect(banner).not_to_contain_text("CollectionSoldOut")  # the chain's error is for the admin timeline
    expect(tab.page.locator("#mint-tx")).to_have_count(0)
    tab.screenshot("checkout-order-refunded")
    tab.assert_no_console_errors()


def test_an_admin_sends_again_a_refund_the_provider_refused(tab: Tab) -> None:
    """A mint failed, its refund was refused for good (say the card account was closed then): the order page says
    so and "Send the refund again" sends a new one, which the (sandbox) provider accepts."""
    from backend.orders import fulfilment, service
    from backend.orders.locks import lock_order
    from backend.orders.refunds import issue_refunds
    from backend.payments.factory import set_provider
    from backend.payments.models import SandboxSession
    from backend.payments.provider import PaymentProviderError
    from backend.payments.sandbox import SandboxProvider, session_event_object

    collection_on_record()
    started = service.start_checkout(SLUG, 1, "stuck@example.com", Account.create().address, "127.0.0.1")
    with session_scope() as session:
        order = session.exec(select(Order).where(Order.public_id == started.public_id)).one()
        paid = session.get(SandboxSession, order.payment_session_id)
        paid.status, paid.payment_status = "complete", "paid"  # type: ignore[union-attr]
        session.add(paid)
        obj = session_event_object(paid)  # type: ignore[arg-type]
        order = lock_order(session, order_id=order.id)  # type: ignore[assignment]
        fulfilment.apply_payment_completed(session, order, obj, source="test")  # type: ignore[arg-type]
        fulfilment._mint_failed(session, order, "execution reverted", "test")  # type: ignore[arg-type]
        order_id = order.id

    class Refusing(SandboxProvider):
        def refund(self, payment_intent, amount, *, idempotency_key, metadata=None):  # type: ignore[no-untyped-def]
            raise PaymentProviderError("The card account is closed.", retryable=False, kind="invalid_request")

    set_provider(Refusing())
    try:
        issue_refunds(refund_ids=None)
    finally:
        set_provider(None)

    page = tab.page
    sign_in(tab, BRAND_ADMIN.email, BRAND_ADMIN.password)
    expect(page.locator("#signed-in-email")).to_have_text(BRAND_ADMIN.email)
    tab.goto(f"/admin/orders/{order_id}")
    expect(page.locator("#detail-status")).to_have_text(re.compile("Refund pending"))
    expect(page.locator('[data-kind="refund"]')).to_contain_text("The card account is closed.")
    expect(page.locator("#refund-button")).to_have_count(0)
    page.locator("#retry-refund-button").click()
    expect(page.locator("#detail-status")).to_have_text(re.compile("Refunded"))
    expect(page.locator('[data-kind="refund"]')).to_have_count(2)
    expect(page.locator("#retry-refund-button")).to_have_count(0)
    tab.assert_no_console_errors()
