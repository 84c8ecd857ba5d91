"""The redeem page's payouts: what the proved wallet and the account's custodial wallet can claim, and Claim asking
the connected wallet (never the platform) to send the vault's claim(token)."""

from __future__ import annotations

import time
from datetime import timedelta

from eth_utils import keccak
from sqlmodel import select

from backend.auth.acl import Role
from backend.db import session_scope, utcnow
from backend.rewards import service
from backend.rewards.models import RewardAllocation, RewardPeriod, RewardVaultRow
from backend.workflow.machines import PeriodState, VaultState
from primsell.state.redeem.rewards import RedeemRewardsState
from tests.factories import make_brand, make_campaign, make_user
from tests.state.harness import Tab

VAULT = "0x" + "5A" * 20
WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"
OTHER = "0x" + "77" * 20


def _allocated(*holders: str) -> None:
    brand = make_brand()
    admin = make_user(Role.BRAND_ADMIN, brand)
    reward = service.define_reward(admin, make_campaign(brand).id, {  # type: ignore[arg-type]
        "kind": "payout", "title": "Weekly", "payout_mode": "fixed_per_token", "amount_per_token": str(25 * 10**14),
        "currency_address": "", "payout_period": "week"})
    now = utcnow()
    with session_scope() as session:
        vault = session.exec(select(RewardVaultRow)).one()
        vault.state, vault.address = VaultState.DEPLOYED, VAULT
        period = RewardPeriod(reward_id=reward.id, brand_id=brand.id, vault_id=vault.id, period_index=0,  # type: ignore[arg-type]
                              starts_at=now - timedelta(days=8), ends_at=now - timedelta(days=1),
                              state=PeriodState.ALLOCATED, amount=25 * 10**14 * len(holders))
        session.add(period)
        session.flush()
        for n, holder in enumerate(holders):
            session.add(RewardAllocation(reward_id=reward.id, period_id=period.id, vault_id=vault.id,  # type: ignore[arg-type]
                                         holder=holder, tokens=1, amount=25 * 10**14, batch=0, allocated_block=9,
                                         allocated_log_index=n))


def test_the_proved_wallet_sees_its_claimable_payout_and_claim_asks_that_wallet_to_send_it():
    _allocated(WALLET, OTHER)
    tab = Tab(None, "/redeem/rewards")
    state = tab.state(RedeemRewardsState)
    state._wallet, state._wallet_until, state.wallet_address = WALLET, time.time() + 600, WALLET
    tab.run(RedeemRewardsState.load_perks)
    assert [(c["holder"], c["amount"], c["custodial"]) for c in state.claims] == [(WALLET, "0.0025 ETH", "")]

    [script] = tab.run(RedeemRewardsState.claim_payout, state.claims[0]["key"])
    text = repr(script)
    selector = keccak(text="claim(address)")[:4].hex()
    assert "eth_sendTransaction" in text and VAULT in text and selector in text and WALLET in text

    state.claims = [c | {"holder": OTHER} for c in state.claims]  # a forged row: not the connected wallet's
    assert tab.run(RedeemRewardsState.claim_payout, state.claims[0]["key"]) == []
    assert "Connect the wallet" in state.claim_notice


def test_nobody_signed_in_sees_no_payouts():
    _allocated(WALLET)
    tab = Tab(None, "/redeem/rewards")
    tab.run(RedeemRewardsState.load_perks)
    assert tab.state(RedeemRewardsState).claims == []
