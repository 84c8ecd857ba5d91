"""Payouts over HTTP: a payout's periods for the brand's staff (another brand: 404), and what a signed-in holder can
claim. The rows are written as the distributor writes them (the chain path itself: tests/chain/test_reward_payouts)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from backend.auth.acl import Role
from backend.chain.keys import custodial_address
from backend.db import session_scope, utcnow
from backend.rewards import service
from backend.rewards.models import RewardAllocation, RewardPeriod, RewardVaultRow
from backend.workflow.machines import PeriodState, VaultState
from tests.factories import make_brand, make_campaign, make_user

BIG = 10**30  # above 2**53: sent as a decimal string
VAULT = "0x" + "5a" * 20
WALLET = "0x" + "77" * 20


@pytest.fixture
def paid():  # type: ignore[no-untyped-def]
    brand = make_brand()
    campaign = make_campaign(brand)
    admin = make_user(Role.BRAND_ADMIN, brand)
    consumer = make_user()
    reward = service.define_reward(admin, campaign.id, {  # type: ignore[arg-type]
        "kind": "payout", "title": "Monthly", "payout_mode": "fixed_per_token", "amount_per_token": str(BIG),
        "currency_address": "", "payout_period": "month"})
    custodial = custodial_address(consumer.user_id)
    now = utcnow()
    with session_scope() as session:
        vault = session.exec(select(RewardVaultRow)).one()
        vault.state, vault.address = VaultState.DEPLOYED, VAULT
        period = RewardPeriod(reward_id=reward.id, brand_id=brand.id, vault_id=vault.id, period_index=0,  # type: ignore[arg-type]
                              starts_at=now - timedelta(days=31), ends_at=now - timedelta(days=1),
                              state=PeriodState.ALLOCATED, snapshot_block=42, amount=3 * BIG, holders=2, tokens=3)
        session.add(period)
        session.flush()
        for holder, account, tokens, claimed in ((custodial, consumer.user_id, 1, False), (WALLET, None, 2, True)):
            session.add(RewardAllocation(reward_id=reward.id, period_id=period.id, vault_id=vault.id,  # type: ignore[arg-type]
                                         holder=holder, account_id=account, tokens=tokens, amount=tokens * BIG,
                                         batch=0, allocated_block=40, allocated_log_index=tokens,
                                         claimed_at=now if claimed else None))
    return brand, admin, consumer, reward, custodial


def test_staff_read_a_payouts_periods_and_another_brand_gets_404(client, auth, paid):  # type: ignore[no-untyped-def]
    brand, _, _, reward, _ = paid
    staff = auth(make_user(Role.BRAND_STAFF, brand))
    response = client.get(f"/api/v1/rewards/{reward.id}/periods", headers=staff)
    assert response.status_code == 200, response.text
    [period] = response.json()["items"]
    assert (period["period_index"], period["state"], period["snapshot_block"], period["holders"]) == (
        0, "allocated", 42, 2)
    assert (period["amount"], period["claimed"], period["unclaimed"]) == (str(3 * BIG), str(2 * BIG), str(BIG))
    other = auth(make_user(Role.BRAND_ADMIN, make_brand()))
    assert client.get(f"/api/v1/rewards/{reward.id}/periods", headers=other).status_code == 404
    assert client.get("/api/v1/rewards/999999/periods", headers=staff).status_code == 404


def test_a_signed_in_holder_sees_what_their_custodial_wallet_can_claim(client, auth, paid):  # type: ignore[no-untyped-def]
    _, admin, consumer, _, custodial = paid
    response = client.get("/api/v1/rewards/claimable", headers=auth(consumer))
    assert response.status_code == 200, response.text
    assert response.json()["items"] == [{"chain": "local", "vault_address": VAULT, "holder": custodial,
                                         "custodial": True, "currency_address": "", "amount": str(BIG)}]
    assert client.get("/api/v1/rewards/claimable", headers=auth(admin)).json()["items"] == []
    assert client.get("/api/v1/rewards/claimable").status_code == 401
