"""The admin's payouts panel: "Push all" queues every holder's payout batch by batch, showing its progress, and pressed
again pushes nobody twice (the chain path: tests/chain/test_reward_payouts)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

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
