"""The admin's payouts panel: "Push all" queues every holder's payout batch by batch, showing its progress, and pressed
again pushes nobody twice (the chain path: tests/chain/test_reward_payouts); "Fund from my wallet" asks the admin's
browser wallet (on the vault's chain) for the vault's fundEth, or the token's approve then fundToken, re-checking the
admin at every prompt and storing nothing."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from eth_utils import keccak
from sqlmodel import select

from backend.auth.acl import Role
from backend.chain.models import ChainTransaction
from backend.db import session_scope
from primsell.state.admin.campaign_rewards import AdminCampaignRewardsState
from tests.factories import make_allocated_payout, make_brand, make_campaign, make_user
from tests.state.harness import Tab, web_cookie

HOLDERS = ["0x" + f"{n:02x}" * 20 for n in (0x11, 0x22, 0x33)]


def _payout_with_holders() -> tuple[str, int, int]:
    brand = make_brand()
    admin = make_user(Role.BRAND_ADMIN, brand)
    campaign = make_campaign(brand)
    return admin.email, campaign.id, make_allocated_payout(admin, campaign, HOLDERS, 1000)  # type: ignore[return-value]


def _press(tab: Tab) -> list[tuple[str, bool]]:
    """Push all, confirmed: the notice and the busy flag at every step the page is sent."""
    state = tab.state(AdminCampaignRewardsState)
    seen: list[tuple[str, bool]] = []

    async def run() -> None:
        async for _ in AdminCampaignRewardsState.push_all_payouts.fn(state):
            seen.append((state.payout_notice, state.pushing_all))

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result()
    seen.append((state.payout_notice, state.pushing_all))
    return seen


def test_push_all_shows_its_progress_and_pressed_again_pushes_nobody_twice(configure) -> None:  # type: ignore[no-untyped-def]
    configure(REWARD_PUSH_BATCH_SIZE=2)
    email, campaign_id, reward_id = _payout_with_holders()
    tab = Tab(web_cookie(email))
    tab.load_admin_page(f"/admin/campaigns/{campaign_id}/rewards")
    tab.state(AdminCampaignRewardsState).selected_id = reward_id
    tab.state(AdminCampaignRewardsState).push_all_open = True

    first = _press(tab)
    assert first[0] == ("Pushing payouts… 2 of 3 holders done.", True)
    assert first[-1][0].startswith("Push all: 3 payout(s) queued for 3 holder(s).") and not first[-1][1]
    assert not tab.state(AdminCampaignRewardsState).push_all_open
    with session_scope() as session:
        pushed = sorted(session.exec(select(ChainTransaction.meta)).all(), key=lambda m: m["holder"])  # type: ignore[arg-type,index]
    assert [(m["action"], m["holder"]) for m in pushed] == [("payout", h) for h in sorted(HOLDERS)]

    again = _press(tab)
    assert "0 payout(s) queued for 3 holder(s), 3 already queued before (not sent again)" in again[-1][0]
    with session_scope() as session:
        assert len(session.exec(select(ChainTransaction)).all()) == 3


# -- Fund from my wallet -------------------------------------------------------------------------------------------

WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"
TOKEN = "0x" + "7C" * 20
HASH = "0x" + "ab" * 32


def _wallet_tab(configure, currency: str = "") -> tuple[Tab, AdminCampaignRewardsState, int]:  # type: ignore[no-untyped-def]
    """A brand admin's tab on the payouts panel of a payout whose vault is deployed (no chain: the chain id is
    configured, the balance reads as unknown)."""
    from backend.rewards import service as rewards
    from backend.rewards.models import RewardVaultRow
    from backend.workflow.machines import VaultState

    configure(CHAIN_ID=31337)
    brand = make_brand()
    admin = make_user(Role.BRAND_ADMIN, brand)
    campaign = make_campaign(brand)
    fields = {"currency_address": currency} | ({"currency_decimals": 6, "currency_symbol": "USDC"} if currency else {})
    reward = rewards.define_reward(admin, campaign.id, {  # type: ignore[arg-type]
        "kind": "payout", "title": "Weekly", "payout_mode": "fixed_per_token", "amount_per_token": "1000",
        "payout_period": "week", **fields})
    with session_scope() as session:
        vault = session.exec(select(RewardVaultRow)).one()
        vault.state, vault.address = VaultState.DEPLOYED, "0x" + "5a" * 20
    tab = Tab(web_cookie(admin.email))
    tab.load_admin_page(f"/admin/campaigns/{campaign.id}/rewards")
    tab.run(AdminCampaignRewardsState.load_rewards)
    state = tab.state(AdminCampaignRewardsState)
    state.selected_id = reward.id  # type: ignore[assignment]
    return tab, state, brand.id  # type: ignore[return-value]


def _selector(signature: str) -> str:
    return keccak(text=signature)[:4].hex()


def _no_transactions_stored() -> bool:
    with session_scope() as session:
        return session.exec(select(ChainTransaction)).all() == []


def test_fund_from_my_wallet_asks_the_wallet_for_fund_eth_on_the_vaults_chain_and_shows_the_hash(configure) -> None:  # type: ignore[no-untyped-def]
    tab, state, _ = _wallet_tab(configure)
    [connect] = tab.run(AdminCampaignRewardsState.submit_wallet_fund, {"amount": "0.003"})
    assert "eth_requestAccounts" in repr(connect) and state.wallet_busy

    [send] = tab.run(AdminCampaignRewardsState.wallet_fund_connected, {"address": WALLET})
    text = repr(send)
    assert "eth_sendTransaction" in text and "eth_chainId" in text and "31337" in text
    assert "0x" + "5a" * 20 in text.lower() and WALLET in text and _selector("fundEth()") in text
    assert hex(3 * 10**15) in text
    assert state.wallet_notice == "Confirm the funding in your wallet…"

    assert tab.run(AdminCampaignRewardsState.wallet_fund_sent, {"hash": HASH}) == []
    assert state.wallet_notice == f"Sent: {HASH}; the balance updates once it is confirmed."
    assert not state.wallet_busy and state.payout_loaded
    assert _no_transactions_stored()  # the wallet sent it: the platform queued nothing
    assert tab.run(AdminCampaignRewardsState.wallet_fund_sent, {"hash": HASH}) == []  # replayed: nothing under way


def test_a_wallet_on_another_chain_or_declining_is_told_so_and_nothing_is_sent(configure) -> None:  # type: ignore[no-untyped-def]
    tab, state, _ = _wallet_tab(configure)
    tab.run(AdminCampaignRewardsState.submit_wallet_fund, {"amount": "0.5"})
    tab.run(AdminCampaignRewardsState.wallet_fund_connected, {"address": WALLET})
    tab.run(AdminCampaignRewardsState.wallet_fund_sent, {"error": "wrong_chain", "chain_id": 1})
    assert state.wallet_notice == ("Your wallet is on chain 1: switch it to the vault's chain, 31337 (local), and try "
                                   "again.")
    assert not state.wallet_busy

    tab.run(AdminCampaignRewardsState.submit_wallet_fund, {"amount": "0.5"})
    tab.run(AdminCampaignRewardsState.wallet_fund_connected, {"address": WALLET})
    tab.run(AdminCampaignRewardsState.wallet_fund_sent, {"error": "failed", "code": 4001})
    assert state.wallet_notice == "You declined the transaction in your wallet."

    tab.run(AdminCampaignRewardsState.submit_wallet_fund, {"amount": "0.5"})
    tab.run(AdminCampaignRewardsState.wallet_fund_connected, {"error": "no_wallet"})
    assert "No browser wallet" in state.wallet_notice and not state.wallet_busy
    assert _no_transactions_stored()


def test_a_bad_amount_asks_no_wallet(configure) -> None:  # type: ignore[no-untyped-def]
    tab, state, _ = _wallet_tab(configure)
    for amount in ("abc", "0", "-1", "0.0000000000000000001"):
        assert tab.run(AdminCampaignRewardsState.submit_wallet_fund, {"amount": amount}) == []
        assert state.wallet_notice.startswith("Enter") and not state.wallet_busy


def test_an_erc20_payout_is_approved_then_funded_after_the_approval_is_mined(configure) -> None:  # type: ignore[no-untyped-def]
    tab, state, _ = _wallet_tab(configure, TOKEN)
    tab.run(AdminCampaignRewardsState.submit_wallet_fund, {"amount": "2.5"})  # 6 decimals: 2_500_000 base units
    [approve] = tab.run(AdminCampaignRewardsState.wallet_fund_connected, {"address": WALLET})
    text = repr(approve)
    assert _selector("approve(address,uint256)") in text and TOKEN.lower() in text.lower()
    assert f"{2_500_000:064x}" in text
    assert state.wallet_notice.startswith("Step 1 of 2")

    [wait] = tab.run(AdminCampaignRewardsState.wallet_fund_sent, {"hash": HASH})
    assert "eth_getTransactionReceipt" in repr(wait) and HASH in repr(wait)
    assert state.wallet_notice.startswith(f"Approval sent: {HASH}") and state.wallet_busy

    [fund] = tab.run(AdminCampaignRewardsState.wallet_fund_approved, {"status": 1})
    assert _selector("fundToken(address,uint256)") in repr(fund) and state.wallet_notice.startswith("Step 2 of 2")
    tab.run(AdminCampaignRewardsState.wallet_fund_sent, {"hash": "0x" + "cd" * 32})
    assert state.wallet_notice.startswith("Sent: 0x" + "cd" * 32) and not state.wallet_busy
    assert tab.run(AdminCampaignRewardsState.wallet_fund_approved, {"status": 1}) == []  # over: nothing to send

    tab.run(AdminCampaignRewardsState.submit_wallet_fund, {"amount": "1"})
    tab.run(AdminCampaignRewardsState.wallet_fund_connected, {"address": WALLET})
    tab.run(AdminCampaignRewardsState.wallet_fund_sent, {"hash": HASH})
    assert tab.run(AdminCampaignRewardsState.wallet_fund_approved, {"status": 0}) == []
    assert "approval failed" in state.wallet_notice and not state.wallet_busy
    assert _no_transactions_stored()


def test_an_admin_demoted_between_the_wallet_prompts_gets_no_transaction(configure) -> None:  # type: ignore[no-untyped-def]
    from backend.auth.models import Membership

    tab, state, brand_id = _wallet_tab(configure)
    tab.run(AdminCampaignRewardsState.submit_wallet_fund, {"amount": "0.5"})
    with session_scope() as session:
        for membership in session.exec(select(Membership).where(Membership.brand_id == brand_id)):
            membership.role = Role.BRAND_STAFF
    assert tab.run(AdminCampaignRewardsState.wallet_fund_connected, {"address": WALLET}) == []
    assert state.form_error and not state.wallet_busy
