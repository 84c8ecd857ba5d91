"""Concurrent counters: 50 scanners redeeming the same code at once redeem it once; 50 different codes at once all
redeem; two codes of the same token racing for its last use of the day: one wins. SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from backend.auth.acl import Role
from backend.db import session_scope
from backend.rewards import codes, redemption
from backend.rewards.models import RewardAttempt, RewardRedemption
from tests.factories import make_brand, make_campaign, make_user
from tests.rewards.helpers import hold, perk

SCANNERS = 50


def _wallet(n: int) -> str:
    from eth_utils import to_checksum_address

    return to_checksum_address(f"0x{n + 1:040x}")


@pytest.fixture
def counter():  # type: ignore[no-untyped-def]
    brand = make_brand()
    campaign = make_campaign(brand, supply_cap=1000)
    admin = make_user(Role.BRAND_ADMIN, brand)
    staff = [make_user(Role.BRAND_STAFF, brand) for _ in range(5)]
    return campaign, admin, staff


def _all_at_once(calls):  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(len(calls))

    def run(call):  # type: ignore[no-untyped-def]
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def _counts() -> tuple[int, int]:
    with session_scope() as session:
        return (session.execute(select(func.count()).select_from(RewardRedemption)).scalar_one(),
                session.execute(select(func.count()).select_from(RewardAttempt)).scalar_one())


def test_fifty_scanners_redeem_the_same_code_once(counter):
    campaign, admin, staff = counter
    reward = perk(admin, campaign, locations=[], use_period="day", uses_per_period=3)
    hold(campaign, 1, _wallet(1))
    code = codes.encode(reward.id, 1, _wallet(1), int(time.time()) + 60)
    results = _all_at_once([lambda i=i: redemption.scan_code(staff[i % 5], code) for i in range(SCANNERS)])
    statuses = [r.status for r in results]
    assert statuses.count("redeemed") == 1, {r.message for r in results}
    assert {r.reason for r in results if r.status == "refused"} == {"already_redeemed"}
    assert _counts() == (1, SCANNERS)  # one use; every attempt recorded


def test_fifty_different_codes_at_once_all_redeem(counter):
    campaign, admin, staff = counter
    reward = perk(admin, campaign, locations=[], use_period="day", uses_per_period=1)
    for n in range(SCANNERS):
        hold(campaign, n + 1, _wallet(n))
    batch = [codes.encode(reward.id, n + 1, _wallet(n), int(time.time()) + 60) for n in range(SCANNERS)]
    results = _all_at_once([lambda i=i: redemption.scan_code(staff[i % 5], batch[i]) for i in range(SCANNERS)])
    assert [r.status for r in results] == ["redeemed"] * SCANNERS, {r.message for r in results}
    assert _counts() == (SCANNERS, SCANNERS)


def test_codes_of_one_token_racing_for_its_uses_take_exactly_the_uses_left(counter):
    campaign, admin, staff = counter
    reward = perk(admin, campaign, locations=[], use_period="week", uses_per_period=3)
    hold(campaign, 1, _wallet(1))
    batch = [codes.encode(reward.id, 1, _wallet(1), int(time.time()) + 60) for _ in range(20)]
    results = _all_at_once([lambda i=i: redemption.scan_code(staff[i % 5], batch[i]) for i in range(20)])
    assert [r.status for r in results].count("redeemed") == 3
    with session_scope() as session:
        uses = session.execute(select(RewardRedemption.use_no).order_by(RewardRedemption.use_no)).scalars().all()
    assert uses == [1, 2, 3]
