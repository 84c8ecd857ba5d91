"""Browser journey of payouts, checked on chain: the brand admin funds the brand's reward vault from their own browser
wallet on the payouts panel and a platform admin adds more from the platform's wallet (the vault's balance rises by
each), a platform admin pushes a holder's payout (the holder's wallet balance rises), and a holder claims theirs
from "My rewards" with an injected EIP-1193 test wallet that signs and sends the vault's claim itself."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from playwright.sync_api import expect
from sqlmodel import select
from web3 import Web3

from backend.chain.client import reset_clients, set_web3
from backend.chain.indexer import index_pass
from backend.chain.mints import queue_mint
from backend.db import session_scope, utcnow
from backend.rewards import payouts, service
from backend.rewards.holdings import wallet_holder
from backend.rewards.models import RewardPeriod, RewardVaultRow
from backend.rewards.vault import allocation_of, vault_contract
from backend.workflow.machines import PeriodState, VaultState
from contracts.artifacts import load_artifact
from tests.e2e.conftest import Tab
from tests.e2e.helpers import (
    BRAND_ADMIN,
    CHAIN_TIMEOUT_MS,
    PLATFORM_ADMIN,
    brand_admin_actor,
    campaign_id,
    deployed_contract,
    sign_in,
    wallet_page,
)

pytestmark = pytest.mark.e2e

CHAIN = "local"
A = 10**15  # wei per token: 0.001 ETH
ZERO = "0x0000000000000000000000000000000000000000"


def wait_for(what: str, check: Callable[[], Any], timeout_s: float = CHAIN_TIMEOUT_MS / 1000) -> Any:
    """Poll `check` (the live runner works in its own process) until it returns something truthy."""
    deadline = time.monotonic() + timeout_s
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)
    return result


@pytest.fixture
def chain(anvil_node: Any, configure: Callable[..., None]) -> Iterator[Web3]:
    """This process reaches the runner's anvil as the "local" chain too (it indexes and allocates in process)."""
    configure(CHAIN_KEY=CHAIN, CHAIN_RPC_URL=anvil_node.url)
    reset_clients()
    w3 = Web3(Web3.HTTPProvider(anvil_node.url))
    set_web3(CHAIN, w3)
    yield w3
    set_web3(CHAIN, None)
    reset_clients()


T = TypeVar("T")


def first_row(model: type[T]) -> T | None:
    """The first row of `model` (the test makes one vault and one period), detached."""
    with session_scope() as session:
        row = session.exec(select(model)).first()
        if row is not None:
            session.expunge(row)
        return row


def test_admin_funds_the_vault_and_pushes_a_payout_and_a_holder_claims_with_their_wallet(
        tab: Tab, job_runner: object, chain: Web3, browser: Any, app_url: str) -> None:
    from eth_account import Account

    w3, page = chain, tab.page
    claimer, pushed = Account.create(), Account.create()
    # The demo campaign's collection, deployed and minted by the live runner: two tokens for the holder who claims,
    # one for the holder whose payout the admin pushes; the indexer (here, in process) reads who holds them.
    collection = w3.eth.contract(address=deployed_contract(), abi=load_artifact("PrimsellCollection")["abi"])
    campaign = campaign_id()
    with session_scope() as session:
        queue_mint(session, "e2e:payouts:claimer", campaign, claimer.address, 2)
        queue_mint(session, "e2e:payouts:pushed", campaign, pushed.address, 1)
    wait_for("the mints", lambda: collection.functions.balanceOf(claimer.address).call() == 2
             and collection.functions.balanceOf(pushed.address).call() == 1)
    wait_for("the indexer", lambda: index_pass(CHAIN).done)

    admin = brand_admin_actor()
    reward = service.define_reward(admin, campaign, {
        "kind": "payout", "title": "Weekly ETH", "payout_mode": "fixed_per_token", "amount_per_token": str(A),
        "currency_address": "", "payout_period": "week", "starts_at": (utcnow() - timedelta(days=8)).isoformat()})
    vault = wait_for("the vault", lambda: (row := first_row(RewardVaultRow)) is not None
                     and row.state is VaultState.DEPLOYED and row.address)
    assert w3.eth.get_balance(vault) == 0

    # The brand's admin funds 0.002 ETH from their own browser wallet: the wallet sends the vault's fundEth itself
    # (the platform signer's Fund is not theirs: that money is the platform's and every brand's).
    funder = Account.create()
    w3.provider.make_request("anvil_setBalance", [funder.address, hex(10**18)])  # type: ignore[arg-type]
    admin_context, admin_tab = wallet_page(browser, app_url, funder, w3)
    admin_page = admin_tab.page
    sign_in(admin_tab, BRAND_ADMIN.email, BRAND_ADMIN.password)
    expect(admin_page.locator("#signed-in-email")).to_have_text(BRAND_ADMIN.email)
    admin_tab.goto(f"/admin/campaigns/{campaign}/rewards")
    admin_page.locator(f"#reward-{reward.id}").get_by_text("Weekly ETH").click()
    admin_panel = admin_page.locator("#payouts-panel")
    expect(admin_panel).to_contain_text(vault, timeout=30_000)
    expect(admin_page.locator("#fund-by-platform")).to_be_visible()
    expect(admin_page.locator("#fund-amount")).to_have_count(0)
    admin_page.locator("#wallet-fund-amount").fill("0.002")
    admin_page.locator("#wallet-fund-submit").click()
    notice = admin_page.locator("#wallet-fund-notice")
    expect(notice).to_contain_text("the balance updates once it is confirmed", timeout=30_000)
    wait_for("the wallet's funding on chain", lambda: w3.eth.get_balance(vault) == 2 * A)
    [funded] = vault_contract(w3, vault).events.RewardFunded().get_logs(from_block=0)
    args = funded["args"]
    assert (args["token"], args["funder"], args["amount"]) == (ZERO, funder.address, 2 * A)
    expect(notice).to_have_text(f"Sent: 0x{bytes(funded['transactionHash']).hex()}; the balance updates once it is "
                                "confirmed.")
    admin_panel.get_by_role("button", name="Refresh").click()
    expect(admin_panel).to_contain_text("0.002 ETH", timeout=30_000)
    assert admin_tab.console_errors == []
    admin_context.close()

    # A platform admin adds 0.001 ETH from the platform's wallet (the signer, through the transaction manager): three
    # tokens' worth in all.
    sign_in(tab, PLATFORM_ADMIN.email, PLATFORM_ADMIN.password)
    expect(page.locator("#signed-in-email")).to_have_text(PLATFORM_ADMIN.email, timeout=30_000)
    tab.goto(f"/admin/campaigns/{campaign}/rewards")
    page.locator(f"#reward-{reward.id}").get_by_text("Weekly ETH").click()
    panel = page.locator("#payouts-panel")
    expect(panel).to_contain_text(vault, timeout=30_000)
    page.locator("#fund-amount").fill("0.001")
    page.locator("#fund-submit").click()
    expect(panel).to_contain_text("Funding sent", timeout=30_000)
    wait_for("the vault's balance on chain", lambda: w3.eth.get_balance(vault) == 3 * A)
    panel.get_by_role("button", name="Refresh").click()
    expect(panel).to_contain_text("0.003 ETH", timeout=30_000)

    # The distributor (in process) allocates the ended week; the runner sends the allocation and confirms it.
    assert payouts.distributor_pass().allocating == 1
    wait_for("the allocation", lambda: (p := first_row(RewardPeriod)) is not None and p.state is PeriodState.ALLOCATED)
    assert allocation_of(w3, vault, "", claimer.address) == 2 * A
    assert allocation_of(w3, vault, "", pushed.address) == A

    # Push: the platform admin pays the holder who never claims; their wallet (empty until now) receives its share.
    panel.get_by_role("button", name="Refresh").click()
    page.locator("#payout-periods").get_by_text("#1").click()
    row = page.locator("#payout-allocations tr", has_text=pushed.address)
    expect(row).to_contain_text("unclaimed", timeout=30_000)
    assert w3.eth.get_balance(pushed.address) == 0
    row.get_by_role("button", name="Push").click()
    expect(panel).to_contain_text("queued", timeout=30_000)
    wait_for("the pushed payout on chain", lambda: w3.eth.get_balance(pushed.address) == A)
    assert allocation_of(w3, vault, "", pushed.address) == 0
    tab.assert_no_console_errors()

    # Claim: the holder connects their wallet on "My rewards" and claims; the wallet signs and sends claim(ETH).
    w3.provider.make_request("anvil_setBalance", [claimer.address, hex(10**18)])  # type: ignore[arg-type]
    context, holder_tab = wallet_page(browser, app_url, claimer, w3)
    holder_page = holder_tab.page
    holder_tab.goto("/redeem/rewards")
    holder_page.locator("#connect-wallet").click()
    expect(holder_page.locator("#wallet-address")).to_have_text(claimer.address, timeout=30_000)
    claims = holder_page.locator("#payouts")
    expect(claims).to_contain_text("0.002 ETH claimable", timeout=30_000)
    claims.get_by_role("button", name="Claim").click()
    expect(claims.get_by_role("status")).to_contain_text("Claim sent", timeout=30_000)
    wait_for("the claim on chain", lambda: allocation_of(w3, vault, "", claimer.address) == 0)
    claimed = vault_contract(w3, vault).events.RewardClaimed().get_logs(
        from_block=0, argument_filters={"holder": claimer.address})
    assert [(e["args"]["token"], e["args"]["amount"]) for e in claimed] == [(ZERO, 2 * A)]
    receipt = w3.eth.get_transaction_receipt(claimed[0]["transactionHash"])
    assert receipt["from"] == claimer.address and receipt["to"] == vault
    assert w3.eth.get_balance(claimer.address) == 10**18 + 2 * A - receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert w3.eth.get_balance(vault) == 0

    # Once the claim reader has read it back, the page has nothing left to claim.
    def read_back() -> bool:
        payouts.sync_claims(CHAIN)
        return not payouts.claimable(wallet_holder(claimer.address))

    wait_for("the claim reader", read_back)
    holder_page.reload()
    expect(holder_page.locator("#wallet-address")).to_have_text(claimer.address, timeout=30_000)
    expect(holder_page.locator("#payouts")).to_have_count(0)
    assert holder_tab.console_errors == []
    context.close()
