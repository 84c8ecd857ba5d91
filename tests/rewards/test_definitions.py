"""Reward definitions: admins define, change and end rewards of their brand's campaigns; staff only read; another
brand's rows do not exist; every change is in the history; a reward in use keeps its rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from backend.auth.acl import Role
from backend.db import session_scope, utcnow
from backend.errors import Conflict, Forbidden, NotFound, ValidationFailed
from backend.rewards import service
from backend.rewards.models import PayoutMode, RewardKind
from backend.workflow.machines import RewardState
from backend.workflow.models import OutboxEvent
from backend.workflow.transitions import history
from tests.factories import make_brand, make_campaign, make_user

PERK = {"kind": "perk", "title": "A free drink", "description": "Any size", "use_period": "day",
        "uses_per_period": 1, "locations": ["Main St.", "Harbour"], "token_ranges": [[1, 50]]}
PAYOUT = {"kind": "payout", "title": "Monthly ETH", "payout_mode": "fixed_per_token",
          "amount_per_token": "10000000000000000000", "currency_address": "", "payout_period": "month"}


@pytest.fixture
def shop():  # type: ignore[no-untyped-def]
    brand = make_brand()
    campaign = make_campaign(brand)
    admin = make_user(Role.BRAND_ADMIN, brand)
    staff = make_user(Role.BRAND_STAFF, brand)
    return brand, campaign, admin, staff


def test_admin_defines_a_perk_and_a_payout_and_the_event_goes_out(shop):
    _, campaign, admin, _ = shop
    perk = service.define_reward(admin, campaign.id, PERK)
    payout = service.define_reward(admin, campaign.id, PAYOUT)
    assert perk.kind is RewardKind.PERK and perk.locations == ["Main St.", "Harbour"]
    assert perk.qualifies(50) and not perk.qualifies(51)
    # 10 ETH in wei is above 2**63: kept exactly.
    assert payout.payout_mode is PayoutMode.FIXED_PER_TOKEN and payout.amount_per_token == 10 * 10**18
    assert service.get_reward(admin, payout.id).amount_per_token == 10 * 10**18
    assert [r.id for r in service.list_rewards(admin, campaign.id)] == [payout.id, perk.id]
    with session_scope() as session:
        events = session.exec(select(OutboxEvent).where(OutboxEvent.topic == "reward.defined")).all()
    assert sorted(e.payload["reward_id"] for e in events) == sorted([perk.id, payout.id])
    assert [c.action for c in service.reward_changes(admin, perk.id)] == ["defined"]


@pytest.mark.parametrize(("change", "field"), [
    ({"title": ""}, "title"),
    ({"ends_at": (utcnow() - timedelta(days=1)).isoformat(), "starts_at": utcnow().isoformat()}, "ends_at"),
    ({"token_ranges": [[5, 1]]}, "token_ranges"),
    ({"token_ranges": [[1, 10], [10, 20]]}, "token_ranges"),
    ({"locations": ["Main", "main"]}, "locations"),
    ({"uses_per_period": 0}, "uses_per_period"),
    ({"amount_per_token": "5"}, "amount_per_token"),  # a perk carries no payout fields
    ({"image_url": "javascript:alert(1)"}, "image_url"),
    ({"surprise": 1}, "surprise"),
])
def test_bad_perk_definitions_are_refused_with_the_field(shop, change, field):
    _, campaign, admin, _ = shop
    with pytest.raises(ValidationFailed) as info:
        service.define_reward(admin, campaign.id, PERK | change)
    assert field in info.value.fields
    assert service.list_rewards(admin, campaign.id) == []


@pytest.mark.parametrize(("change", "field"), [
    ({"payout_mode": None}, "payout_mode"),
    ({"payout_period": None}, "payout_period"),
    ({"amount_per_token": None}, "amount_per_token"),
    ({"amount_per_token": "0"}, "amount_per_token"),
    ({"currency_address": None}, "currency_address"),
    ({"currency_address": "0x6B175474E89094C44Da98b954EedeAC495271d0F"}, "currency_decimals"),
    ({"payout_mode": "royalty_share"}, "royalty_share_bps"),
    ({"royalty_share_bps": 100}, "royalty_share_bps"),
    ({"locations": ["Main St."]}, "locations"),
])
def test_bad_payout_definitions_are_refused_with_the_field(shop, change, field):
    _, campaign, admin, _ = shop
    with pytest.raises(ValidationFailed) as info:
        service.define_reward(admin, campaign.id, PAYOUT | change)
    assert field in info.value.fields


def test_erc20_royalty_share_payout(shop):
    _, campaign, admin, _ = shop
    reward = service.define_reward(admin, campaign.id, {
        "kind": "payout", "title": "Share", "payout_mode": "royalty_share", "royalty_share_bps": 2500,
        "currency_address": "0x6b175474e89094c44da98b954eedeac495271d0f", "currency_decimals": 18,
        "currency_symbol": "DAI", "payout_period": "quarter"})
    assert reward.currency_address == "0x6B175474E89094C44Da98b954EedeAC495271d0F"
    assert reward.royalty_share_bps == 2500 and reward.amount_per_token is None


def test_staff_read_but_cannot_define_change_or_end(shop):
    _, campaign, admin, staff = shop
    reward = service.define_reward(admin, campaign.id, PERK)
    assert service.get_reward(staff, reward.id).id == reward.id
    with pytest.raises(Forbidden):
        service.define_reward(staff, campaign.id, PERK)
    with pytest.raises(Forbidden):
        service.update_reward(staff, reward.id, {"title": "Free cake"})
    with pytest.raises(Forbidden):
        service.end_reward(staff, reward.id)
    assert service.get_reward(admin, reward.id).title == "A free drink"


def test_another_brands_campaign_and_rewards_do_not_exist(shop):
    _, campaign, admin, _ = shop
    reward = service.define_reward(admin, campaign.id, PERK)
    other_admin = make_user(Role.BRAND_ADMIN, make_brand())
    consumer = make_user()
    for who in (other_admin, consumer):
        with pytest.raises(NotFound):
            service.list_rewards(who, campaign.id)
        with pytest.raises(NotFound):
            service.define_reward(who, campaign.id, PERK)
        with pytest.raises(NotFound):
            service.get_reward(who, reward.id)
        with pytest.raises(NotFound):
            service.update_reward(who, reward.id, {"title": "Mine now"})
        with pytest.raises(NotFound):
            service.end_reward(who, reward.id)
        with pytest.raises(NotFound):
            history(who, "reward", reward.id)
    assert service.get_reward(admin, reward.id).state is RewardState.ACTIVE


def test_changes_are_recorded_field_by_field(shop):
    _, campaign, admin, _ = shop
    reward = service.define_reward(admin, campaign.id, PERK)
    changed = service.update_reward(admin, reward.id, {"title": "Two free drinks", "uses_per_period": 2})
    assert (changed.title, changed.uses_per_period, changed.version) == ("Two free drinks", 2, 2)
    same = service.update_reward(admin, reward.id, {"title": "Two free drinks"})  # nothing changes, nothing recorded
    assert same.version == 2
    changes = service.reward_changes(admin, reward.id)
    assert [c.action for c in changes] == ["defined", "updated"]
    assert changes[1].changes == {"title": ["A free drink", "Two free drinks"], "uses_per_period": [1, 2]}
    assert changes[1].actor == f"user:{admin.user_id}"
    with pytest.raises(ValidationFailed) as info:
        service.update_reward(admin, reward.id, {"kind": "payout"})
    assert "kind" in info.value.fields
    with pytest.raises(ValidationFailed) as info:  # the merged reward is checked whole
        service.update_reward(admin, reward.id, {"payout_period": "month"})
    assert "payout_period" in info.value.fields


def test_a_reward_in_use_keeps_its_rules_but_may_be_renamed_and_ended(shop):
    _, campaign, admin, _ = shop
    reward = service.define_reward(admin, campaign.id, PERK)
    with session_scope() as session:
        service.mark_in_use(session, reward)
    with pytest.raises(Conflict) as info:
        service.update_reward(admin, reward.id, {"uses_per_period": 5, "title": "Five drinks"})
    assert "uses_per_period" in info.value.fields
    assert service.get_reward(admin, reward.id).title == "A free drink"  # nothing of the refused change stuck
    assert service.update_reward(admin, reward.id, {"title": "A free coffee"}).title == "A free coffee"
    ended = service.end_reward(admin, reward.id, "Season over")
    assert ended.state is RewardState.ENDED
    with pytest.raises(Conflict):
        service.update_reward(admin, reward.id, {"title": "Back again"})
    with pytest.raises(Conflict):
        service.end_reward(admin, reward.id)
    assert [(h.from_state, h.to_state, h.reason) for h in history(admin, "reward", reward.id)] == [
        ("active", "ended", "Season over")]
    assert [c.action for c in service.reward_changes(admin, reward.id)] == ["defined", "updated", "ended"]
