"""Push all and funding without a chain, several admins at once: every holder's payout and every keyed funding is
queued once (on PostgreSQL the requests really overlap; a request that loses the race for a key finds the winner's
transaction instead of failing). The chain path: tests/chain/test_reward_payouts.py."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from backend.auth.acl import Role
from backend.chain.models import ChainTransaction
from backend.db import session_scope, utcnow
from backend.rewards import payouts
from backend.rewards.models import RewardAllocation, RewardPeriod
from backend.workflow.machines import PeriodState
from tests.factories import make_allocated_payout, make_brand, make_campaign, make_user

HOLDERS = [f"0x{n:040x}" for n in range(1, 8)]


def _payout() -> tuple[Any, int]:
    brand = make_brand()
    admin = make_user(Role.BRAND_ADMIN, brand)
    return admin, make_allocated_payout(admin, make_campaign(brand), HOLDERS, 10)


def _at_once(count: int, call: Any) -> list[Any]:
    start = threading.Barrier(count)

    def run(_: int) -> Any:
        start.wait()
        return call()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def _keys(prefix: str) -> list[str]:
    with session_scope() as session:
        return list(session.exec(select(ChainTransaction.idempotency_key).where(
            col(ChainTransaction.idempotency_key).startswith(prefix))).all())


def _newest_allocations(reward_id: int) -> dict[str, int]:
    """{holder: id of their newest allocation}: a payout's key names the newest allocation it pays."""
    with session_scope() as session:
        rows = session.exec(select(RewardAllocation.holder, RewardAllocation.id).where(
            RewardAllocation.reward_id == reward_id)).all()
    return {holder: max(i for h, i in rows if h == holder) for holder, _ in rows}  # type: ignore[type-var]


def test_four_admins_pressing_push_all_at_once_queue_each_holders_payout_once() -> None:
    admin, reward_id = _payout()
    results = _at_once(4, lambda: payouts.push_all(admin, reward_id, batch_size=3))
    assert all(r.holders == len(HOLDERS) for r in results)
    assert sum(r.queued for r in results) == len(HOLDERS)  # each payout queued by exactly one of them
    keys = _keys("reward-push:")
    newest = _newest_allocations(reward_id)
    assert sorted(keys) == sorted(f"reward-push:{reward_id}:{h}:alloc-{newest[h]}" for h in HOLDERS)


def test_the_same_funding_sent_four_times_at_once_is_one_transaction() -> None:
    _, reward_id = _payout()
    platform_admin = make_user(Role.PLATFORM_ADMIN)
    results = _at_once(4, lambda: payouts.fund_vault(platform_admin, reward_id, 500, "same-key"))
    assert len({tx.id for tx in results}) == 1
    assert len(_keys("reward-fund:")) == 1


def test_a_holder_paid_or_claimed_is_not_pushed_and_a_new_period_is_pushed_anew() -> None:
    admin, reward_id = _payout()
    first = payouts.push_all(admin, reward_id)
    assert (first.holders, first.queued) == (len(HOLDERS), len(HOLDERS))
    with session_scope() as session:  # the claim reader saw the first holder's payout
        for allocation in session.exec(select(RewardAllocation).where(RewardAllocation.holder == HOLDERS[0])):
            allocation.claimed_at = utcnow()
        # A second period allocates 5 more to the second holder.
        period = session.exec(select(RewardPeriod)).one()
        second = RewardPeriod(reward_id=reward_id, brand_id=period.brand_id, vault_id=period.vault_id,
                              period_index=1, starts_at=period.ends_at, ends_at=period.ends_at + timedelta(days=7),
                              state=PeriodState.ALLOCATED, amount=5, holders=1)
        session.add(second)
        session.flush()
        session.add(RewardAllocation(reward_id=reward_id, period_id=second.id, vault_id=period.vault_id,  # type: ignore[arg-type]
                                     holder=HOLDERS[1], tokens=1, amount=5, batch=0, allocated_block=19,
                                     allocated_log_index=0))
    again = payouts.push_all(admin, reward_id)
    assert (again.holders, again.queued, again.already) == (len(HOLDERS) - 1, 1, len(HOLDERS) - 2)
    assert f"reward-push:{reward_id}:{HOLDERS[1]}:alloc-{_newest_allocations(reward_id)[HOLDERS[1]]}" in _keys(
        "reward-push:")
