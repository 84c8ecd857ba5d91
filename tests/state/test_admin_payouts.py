"""The admin's payouts panel: "Push all" queues every holder's payout batch by batch, showing its progress, and pressed
again pushes nobody twice (the chain path: tests/chain/test_reward_payouts)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlmodel import select

from backend.auth.acl import Role
from backend.chain.models import ChainTransaction
from backend.db import session_scope, utcnow
from backend.rewards import service
from backend.rewards.models import RewardAllocation, RewardPeriod, RewardVaultRow
from backend.workflow.machines import PeriodState, VaultState
from primsell.state.admin.campaign_rewards import AdminCampaignRewardsState
from tests.factories import make_brand, make_campaign, make_user
from tests.state.harness import Tab, web_cookie

HOLDERS = ["0x" + f"{n:02x}" * 20 for n in (0x11, 0x22, 0x33)]


def _payout_with_holders() -> tuple[str, int, int]:
    brand = make_brand()
    admin = make_user(Role.BRAND_ADMIN, brand)
    campaign = make_campaign(brand)
    reward = service.define_reward(admin, campaign.id, {  # type: ignore[arg-type]
        "kind": "payout", "title": "Weekly", "payout_mode": "fixed_per_token", "amount_per_token": "1000",
        "currency_address": "", "payout_period": "week"})
    now = utcnow()
    with session_scope() as session:
        vault = session.exec(select(RewardVaultRow)).one()
        vault.state, vault.address = VaultState.DEPLOYED, "0x" + "5a" * 20
        period = RewardPeriod(reward_id=reward.id, brand_id=brand.id, vault_id=vault.id, period_index=0,  # type: ignore[arg-type]
                              starts_at=now - timedelta(days=8), ends_at=now - timedelta(days=1),
                              state=PeriodState.ALLOCATED, amount=3000, holders=3, tokens=3)
        session.add(period)
        session.flush()
        for n, holder in enumerate(HOLDERS):
            session.add(RewardAllocation(reward_id=reward.id, period_id=period.id, vault_id=vault.id,  # type: ignore[arg-type]
                                         holder=holder, tokens=1, amount=1000, batch=0, allocated_block=9,
                                         allocated_log_index=n))
    return admin.email, campaign.id, reward.id  # type: ignore[return-value]


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
