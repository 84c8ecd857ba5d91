"""Payout periods without a chain: their boundaries (weeks, calendar months, quarters), which become due, and a
failed period's retry (new transactions for its failed batches only). The chain path:
tests/chain/test_reward_payouts.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from backend.auth.acl import Role
from backend.chain.models import ChainTransaction, TxPurpose, TxState
from backend.db import session_scope
from backend.errors import Conflict, Forbidden, NotFound
from backend.rewards import payouts, service
from backend.rewards.models import PayoutPeriod, Reward, RewardAllocation, RewardPeriod, RewardVaultRow
from backend.workflow.machines import PeriodState, VaultState
from tests.factories import make_brand, make_campaign, make_user

HOLDER = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"


def _reward(period: PayoutPeriod, start: datetime) -> Reward:
    return Reward(campaign_id=1, brand_id=1, kind="payout", title="x", payout_period=period, starts_at=start)  # type: ignore[arg-type]


def test_periods_are_weeks_or_calendar_months_from_the_start() -> None:
    start = datetime(2026, 1, 31, 12, tzinfo=UTC)
    assert payouts.period_bounds(_reward(PayoutPeriod.WEEK, start), 2) == (start + timedelta(days=14),
                                                                           start + timedelta(days=21))
    month = _reward(PayoutPeriod.MONTH, start)
    assert payouts.period_bounds(month, 0) == (start, datetime(2026, 2, 28, 12, tzinfo=UTC))  # no Feb 31st
    assert payouts.period_bounds(month, 11)[1] == datetime(2027, 1, 31, 12, tzinfo=UTC)
    assert payouts.period_bounds(_reward(PayoutPeriod.QUARTER, start), 1) == (
        datetime(2026, 4, 30, 12, tzinfo=UTC), datetime(2026, 7, 31, 12, tzinfo=UTC))


def test_only_ended_periods_of_active_payouts_become_due_once(configure) -> None:  # type: ignore[no-untyped-def]
    brand = make_brand()
    admin = make_user(Role.BRAND_ADMIN, brand)
    campaign = make_campaign(brand)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    weekly = service.define_reward(admin, campaign.id, {  # type: ignore[arg-type]
        "kind": "payout", "title": "Weekly", "payout_mode": "fixed_per_token", "amount_per_token": "7",
        "currency_address": "", "payout_period": "week", "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(days=20)).isoformat()})
    ended = service.define_reward(admin, campaign.id, {  # type: ignore[arg-type]
        "kind": "payout", "title": "Ended", "payout_mode": "fixed_per_token", "amount_per_token": "7",
        "currency_address": "", "payout_period": "week", "starts_at": start.isoformat()})
    service.end_reward(admin, ended.id)  # type: ignore[arg-type]
    assert payouts.open_due_periods(start + timedelta(days=7)) == 1  # [0, 7d) has just ended
    assert payouts.open_due_periods(start + timedelta(days=7)) == 0
    # Much later: periods 1 and 2 (the third starts before the reward's end), never one past it.
    assert payouts.open_due_periods(start + timedelta(days=400)) == 2
    with session_scope() as session:
        rows = session.exec(select(RewardPeriod.reward_id, RewardPeriod.period_index)).all()
        vaults = session.exec(select(RewardVaultRow)).all()
    assert sorted(rows) == [(weekly.id, 0), (weekly.id, 1), (weekly.id, 2)]
    assert [(v.brand_id, v.state) for v in vaults] == [(brand.id, VaultState.REQUESTED)]  # one vault per brand


def test_a_failed_period_is_retried_with_new_transactions_for_its_failed_batches_only() -> None:
    brand = make_brand()
    admin = make_user(Role.BRAND_ADMIN, brand)
    reward = service.define_reward(admin, make_campaign(brand).id, {  # type: ignore[arg-type]
        "kind": "payout", "title": "Weekly", "payout_mode": "fixed_per_token", "amount_per_token": "10",
        "currency_address": "", "payout_period": "week"})
    now = datetime.now(UTC)
    with session_scope() as session:
        vault = session.exec(select(RewardVaultRow)).one()
        vault.state, vault.address = VaultState.DEPLOYED, "0x" + "5a" * 20
        period = RewardPeriod(reward_id=reward.id, brand_id=brand.id, vault_id=vault.id, period_index=0,  # type: ignore[arg-type]
                              starts_at=now - timedelta(days=8), ends_at=now - timedelta(days=1),
                              state=PeriodState.FAILED, amount=20, holders=2, tokens=2, batches=2)
        txs = [ChainTransaction(purpose=TxPurpose.REWARD_PAYOUT, idempotency_key=f"reward-allocate:x:{n}",
                                chain="local", signer="platform", from_address=HOLDER, to_address=vault.address,
                                data=f"0x0{n}", state=state, meta={"action": "allocate"})
               for n, state in enumerate((TxState.CONFIRMED, TxState.REVERTED))]
        session.add_all([period, *txs])
        session.flush()
        for n, (holder, tx) in enumerate(zip((HOLDER, "0x" + "77" * 20), txs, strict=True)):
            session.add(RewardAllocation(reward_id=reward.id, period_id=period.id, vault_id=vault.id, holder=holder,  # type: ignore[arg-type]
                                         tokens=1, amount=10, batch=n, tx_id=tx.id))
        period_id, old_ids = period.id, [t.id for t in txs]

    with pytest.raises(Forbidden):
        payouts.retry_period(make_user(Role.BRAND_STAFF, brand), period_id)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        payouts.retry_period(make_user(Role.BRAND_ADMIN, make_brand()), period_id)  # type: ignore[arg-type]
    payouts.retry_period(admin, period_id)  # type: ignore[arg-type]
    with session_scope() as session:
        period = session.get(RewardPeriod, period_id)
        by_batch = {a.batch: a.tx_id for a in session.exec(select(RewardAllocation))}
        new = session.get(ChainTransaction, by_batch[1])
    assert (period.state, period.retries) == (PeriodState.ALLOCATING, 1)  # type: ignore[union-attr]
    assert by_batch[0] == old_ids[0] and by_batch[1] != old_ids[1]  # the confirmed batch is not sent again
    assert new.idempotency_key == f"reward-allocate:{reward.id}:{period_id}:1:attempt-2" and new.data == "0x01"  # type: ignore[union-attr]
    with pytest.raises(Conflict):
        payouts.retry_period(admin, period_id)  # type: ignore[arg-type]
