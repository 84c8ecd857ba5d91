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
PLATFORM_ADMIN = next(a for a in DEMO_ACCOUNTS if a.role is Role.PLATFORM_ADMIN)


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


# An EIP-1193 provider as a wallet extension injects it; it signs with a test key held by the test (Playwright
# bindings), as the wallet would after the user approved: personal_sign (Sign-In with Ethereum) and
# eth_sendTransaction (signed with the key, sent to the chain the test gives, the hash returned as a wallet does).
TEST_WALLET = """
window.ethereum = {
  request: async ({method, params}) => {
    if (method === "eth_requestAccounts" || method === "eth_accounts") return [%s];
    if (method === "personal_sign") return await window.__testWalletSign(params[0], params[1]);
    if (method === "eth_sendTransaction" && window.__testWalletSend) return await window.__testWalletSend(params[0]);
    if ((method === "eth_chainId" || method === "eth_getTransactionReceipt") && window.__testWalletRead) {
      return await window.__testWalletRead(method, params || []);
    }
    throw Object.assign(new Error("unsupported"), {code: 4200});
  },
};
"""


def wallet_page(browser, app_url: str, account, w3=None):  # type: ignore[no-untyped-def]
    """A browser context whose page has the test wallet of `account` (an eth_account LocalAccount); with `w3`, it
    also sends transactions there and answers its chain id and receipts from there. Returns (context, tab)."""
    import json

    from eth_account.messages import encode_defunct

    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.set_default_timeout(30_000)

    def sign(_source, message_hex: str, address: str) -> str:  # type: ignore[no-untyped-def]
        assert address.lower() == account.address.lower()
        return "0x" + account.sign_message(encode_defunct(hexstr=message_hex)).signature.hex()

    def send(_source, tx: dict) -> str:  # type: ignore[no-untyped-def,type-arg]
        assert w3 is not None and tx["from"].lower() == account.address.lower()
        full = {"from": account.address, "to": w3.to_checksum_address(tx["to"]), "data": tx.get("data", "0x"),
                "value": int(tx.get("value", "0x0"), 16) if isinstance(tx.get("value"), str) else tx.get("value", 0),
                "nonce": w3.eth.get_transaction_count(account.address, "pending"), "chainId": w3.eth.chain_id}
        full["gas"] = int(w3.eth.estimate_gas(full) * 1.2) + 10_000
        full["maxPriorityFeePerGas"] = 10**9
        full["maxFeePerGas"] = 2 * w3.eth.get_block("latest")["baseFeePerGas"] + 10**9
        return "0x" + w3.eth.send_raw_transaction(account.sign_transaction(full).raw_transaction).hex()

    def read(_source, method: str, params: list) -> object:  # type: ignore[no-untyped-def,type-arg]
        assert w3 is not None
        return w3.provider.make_request(method, params).get("result")  # type: ignore[arg-type]

    context.expose_binding("__testWalletSign", sign)
    if w3 is not None:
        context.expose_binding("__testWalletSend", send)
        context.expose_binding("__testWalletRead", read)
    context.add_init_script(TEST_WALLET % json.dumps(account.address.lower()))
    page = context.new_page()
    tab = Tab(page=page, base_url=app_url)
    page.on("pageerror", lambda exc: tab.console_errors.append(f"page error: {exc}"))
    return context, tab
