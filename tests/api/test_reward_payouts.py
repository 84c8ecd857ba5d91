"""Payouts over HTTP: a payout's periods for the brand's staff (another brand: 404), what a signed-in holder can
claim, and the admin's actions (fund, push, push all, retry a failed period): on the in-process EVM for the paths
that reach the chain, else on rows written as the distributor writes them (the chain path itself:
tests/chain/test_reward_payouts)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from eth_utils import to_checksum_address
from sqlalchemy import func
from sqlmodel import select

from backend.auth.acl import Role
from backend.auth.models import Membership
from backend.chain.finish_hooks import FINISH_HOOKS
from backend.chain.keys import custodial_address
from backend.chain.models import ChainTransaction, TxPurpose, TxState
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


# -- the admin's actions -----------------------------------------------------------------------------------------------

def fund(client, headers, reward_id, amount, key="key-1"):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/rewards/{reward_id}/fund", json={"amount": amount},
                       headers={**headers, "Idempotency-Key": key})


def payout_txs() -> int:
    with session_scope() as session:
        return int(session.exec(select(func.count()).select_from(ChainTransaction)).one())


@pytest.mark.parametrize(("amount", "says"), [
    ("0", "must be positive"), ("-5", "must be positive"), ("1.5", "whole number"), ("abc", "whole number"),
    ("", "whole number"), (" 5", "whole number"), ("1e18", "whole number"), ("007", "leading zeros"),
    ("9" * 78, "at most 77"), (5, "valid string"), (None, "valid string")])
def test_funding_refuses_an_amount_that_is_not_a_positive_whole_number_and_writes_nothing(
        client, auth, paid, amount, says) -> None:  # type: ignore[no-untyped-def]
    _, _, _, reward, _ = paid
    response = fund(client, auth(make_user(Role.PLATFORM_ADMIN)), reward.id, amount)
    assert response.status_code == 422, response.text
    assert says in response.json()["error"]["fields"]["amount"]
    assert payout_txs() == 0


def test_funding_needs_an_idempotency_key_and_refuses_a_malformed_one(client, auth, paid) -> None:  # type: ignore[no-untyped-def]
    _, _, _, reward, _ = paid
    headers = auth(make_user(Role.PLATFORM_ADMIN))
    missing = client.post(f"/api/v1/rewards/{reward.id}/fund", json={"amount": "5"}, headers=headers)
    assert missing.status_code == 422 and "Idempotency-Key" in missing.json()["error"]["fields"]
    for bad in ("two words", "x" * 65):
        assert fund(client, headers, reward.id, "5", key=bad).status_code == 422
    assert payout_txs() == 0


def test_only_a_platform_admin_funds_a_vault_from_the_platform_wallet(client, auth, paid) -> None:  # type: ignore[no-untyped-def]
    """The signer's balance is every brand's deposits and the platform's gas at once: a brand's own admin may not move
    it into the brand's vault (403, nothing queued), another brand's admin does not see the reward (404)."""
    _, admin, _, reward, _ = paid
    refused = fund(client, auth(admin), reward.id, str(BIG))
    assert refused.status_code == 403, refused.text
    assert "platform admin" in refused.json()["error"]["message"]
    assert fund(client, auth(make_user(Role.BRAND_ADMIN, make_brand())), reward.id, str(BIG)).status_code == 404
    assert payout_txs() == 0
    assert fund(client, auth(make_user(Role.PLATFORM_ADMIN)), reward.id, str(BIG)).status_code == 202
    assert payout_txs() == 1


def test_funding_queues_one_transaction_per_key_and_a_key_reused_for_another_amount_is_a_conflict(
        client, auth, paid) -> None:  # type: ignore[no-untyped-def]
    _, _, _, reward, _ = paid
    headers = auth(make_user(Role.PLATFORM_ADMIN))
    first = fund(client, headers, reward.id, str(BIG))
    assert first.status_code == 202, first.text
    body = first.json()
    assert (body["action"], body["state"], body["to_address"], body["value"], body["amount"], body["token"]) == (
        "fund", "queued", to_checksum_address(VAULT), str(BIG), str(BIG), "")
    assert fund(client, headers, reward.id, str(BIG)).json()["id"] == body["id"]
    other = fund(client, headers, reward.id, "5")
    assert other.status_code == 409 and "already used" in other.json()["error"]["message"]
    assert fund(client, headers, reward.id, "5", key="key-2").json()["id"] != body["id"]
    assert payout_txs() == 2


def test_the_payout_actions_answer_404_to_another_brand_403_to_staff_and_write_nothing(
        client, auth, paid) -> None:  # type: ignore[no-untyped-def]
    brand, _, _, reward, _ = paid
    with session_scope() as session:
        period_id = session.exec(select(RewardPeriod.id)).one()
    other, staff = auth(make_user(Role.BRAND_ADMIN, make_brand())), auth(make_user(Role.BRAND_STAFF, brand))
    for headers, status in ((other, 404), (staff, 403)):
        assert fund(client, headers, reward.id, "5").status_code == status
        assert client.post(f"/api/v1/rewards/{reward.id}/push", json={"holder": WALLET},
                           headers=headers).status_code == status
        assert client.post(f"/api/v1/rewards/{reward.id}/push-all", json={}, headers=headers).status_code == status
        assert client.post(f"/api/v1/reward-periods/{period_id}/retry", json={},
                           headers=headers).status_code == status
    for path in ("/api/v1/rewards/999999/push-all", "/api/v1/reward-periods/999999/retry"):
        assert client.post(path, json={}, headers=other).status_code == 404
    assert client.post(f"/api/v1/rewards/{reward.id}/push-all", json={}).status_code == 401
    assert payout_txs() == 0


def test_roles_are_read_again_on_every_request(client, auth, paid) -> None:  # type: ignore[no-untyped-def]
    _, admin, _, reward, _ = paid
    headers = auth(admin)
    assert client.post(f"/api/v1/rewards/{reward.id}/push-all", json={}, headers=headers).status_code == 202
    with session_scope() as session:
        membership = session.exec(select(Membership).where(Membership.user_id == admin.user_id)).one()
        membership.role = Role.BRAND_STAFF
    assert client.post(f"/api/v1/rewards/{reward.id}/push-all", json={}, headers=headers).status_code == 403
    with session_scope() as session:
        session.delete(session.exec(select(Membership).where(Membership.user_id == admin.user_id)).one())
    assert client.post(f"/api/v1/rewards/{reward.id}/push-all", json={}, headers=headers).status_code == 404


def test_push_refuses_a_bad_address_and_says_when_nothing_is_outstanding(client, auth, paid) -> None:  # type: ignore[no-untyped-def]
    _, admin, _, reward, custodial = paid
    headers = auth(admin)
    for bad in ("0x123", "hello", "0x" + "g" * 40, "", 42):
        response = client.post(f"/api/v1/rewards/{reward.id}/push", json={"holder": bad}, headers=headers)
        assert response.status_code == 422 and "holder" in response.json()["error"]["fields"], (bad, response.text)
    claimed = client.post(f"/api/v1/rewards/{reward.id}/push", json={"holder": WALLET}, headers=headers)
    assert claimed.status_code == 409 and "Nothing is allocated" in claimed.json()["error"]["message"]
    assert payout_txs() == 0
    pushed = client.post(f"/api/v1/rewards/{reward.id}/push", json={"holder": custodial.lower()}, headers=headers)
    assert pushed.status_code == 202, pushed.text
    assert (pushed.json()["holder"], pushed.json()["amount"]) == (custodial, str(BIG))


def test_funding_and_pushing_need_a_payout_with_a_deployed_vault(client, auth, paid) -> None:  # type: ignore[no-untyped-def]
    from tests.rewards.helpers import perk

    brand, admin, _, reward, _ = paid
    headers = auth(admin)
    a_perk = perk(admin, make_campaign(brand), locations=[])
    platform = auth(make_user(Role.PLATFORM_ADMIN))
    assert fund(client, platform, a_perk.id, "5").status_code == 404
    assert client.post(f"/api/v1/rewards/{a_perk.id}/push-all", json={}, headers=headers).status_code == 404
    assert client.post(f"/api/v1/rewards/{a_perk.id}/push", json={"holder": WALLET},
                       headers=headers).status_code == 404
    with session_scope() as session:
        vault = session.exec(select(RewardVaultRow)).one()
        vault.state, vault.address = VaultState.DEPLOYING, None
    response = fund(client, platform, reward.id, "5")
    assert response.status_code == 409 and "not deployed" in response.json()["error"]["message"]
    assert payout_txs() == 0


def test_retry_sends_a_failed_periods_batch_again_once(client, auth, paid) -> None:  # type: ignore[no-untyped-def]
    _, admin, _, _, _ = paid
    headers = auth(admin)
    with session_scope() as session:
        period = session.exec(select(RewardPeriod)).one()
    allocated = client.post(f"/api/v1/reward-periods/{period.id}/retry", json={}, headers=headers)
    assert allocated.status_code == 409 and "failed" in allocated.json()["error"]["message"]
    with session_scope() as session:
        period = session.exec(select(RewardPeriod)).one()
        tx = ChainTransaction(purpose=TxPurpose.REWARD_PAYOUT, idempotency_key="reverted-batch", chain="local",
                              signer="platform", from_address=WALLET, to_address=VAULT, state=TxState.REVERTED,
                              data="0xabcdef", meta={"action": "allocate", "period_id": period.id, "batch": 0})
        session.add(tx)
        session.flush()
        for allocation in session.exec(select(RewardAllocation)).all():
            allocation.tx_id = tx.id
        period.state = PeriodState.FAILED
    response = client.post(f"/api/v1/reward-periods/{period.id}/retry", json={}, headers=headers)
    assert response.status_code == 202, response.text
    assert (response.json()["state"], response.json()["retries"]) == ("allocating", 1)
    assert client.post(f"/api/v1/reward-periods/{period.id}/retry", json={}, headers=headers).status_code == 409
    with session_scope() as session:
        resent = session.exec(select(ChainTransaction).where(ChainTransaction.id != tx.id)).all()
    assert [(t.data, t.idempotency_key.endswith(":0:attempt-2")) for t in resent] == [("0xabcdef", True)]


# -- on the in-process EVM ---------------------------------------------------------------------------------------------

@pytest.fixture
def evm(configure):  # type: ignore[no-untyped-def]
    from backend.chain.client import set_web3
    from tests.chain.helpers import CHAIN, evm_chain

    configure(TX_BACKOFF_BASE_SECONDS=0, TX_REPLACE_AFTER_SECONDS=600, CHAIN_CONFIRMATIONS=1)
    chain = evm_chain()
    set_web3(CHAIN, chain.w3)
    yield chain
    set_web3(CHAIN, None)


def settle(until) -> None:  # type: ignore[no-untyped-def]
    from backend.chain.txmanager import monitor_pass
    from backend.rewards.vault import vault_deploy_pass
    from tests.chain.helpers import CHAIN

    for _ in range(30):
        vault_deploy_pass()
        monitor_pass(CHAIN, hooks=FINISH_HOOKS)
        if until():
            return
    raise AssertionError("not settled")


def tx_states() -> dict[int, TxState]:
    with session_scope() as session:
        return {t.id: t.state for t in session.exec(select(ChainTransaction))}  # type: ignore[misc]


def test_a_platform_admin_funds_the_vault_and_the_brand_admin_pushes_every_holder_once_over_http_on_a_real_chain(
        client, auth, evm) -> None:  # type: ignore[no-untyped-def]
    from backend.chain.txmanager import enqueue
    from backend.rewards.vault import vault_contract

    w3 = evm.w3
    brand = make_brand()
    campaign = make_campaign(brand)
    admin = make_user(Role.BRAND_ADMIN, brand)
    headers, platform = auth(admin), auth(make_user(Role.PLATFORM_ADMIN))
    reward = service.define_reward(admin, campaign.id, {  # type: ignore[arg-type]
        "kind": "payout", "title": "Weekly", "payout_mode": "fixed_per_token", "amount_per_token": "1000",
        "currency_address": "", "payout_period": "week"})
    too_early = fund(client, platform, reward.id, "5000")
    assert too_early.status_code == 409 and "not deployed" in too_early.json()["error"]["message"]

    def deployed() -> bool:
        with session_scope() as session:
            return session.exec(select(RewardVaultRow)).one().state is VaultState.DEPLOYED

    settle(deployed)
    with session_scope() as session:
        vault = session.exec(select(RewardVaultRow)).one()
    funded = fund(client, platform, reward.id, "5000", key="first-funding")
    assert funded.status_code == 202, funded.text
    assert fund(client, platform, reward.id, "5000", key="first-funding").json()["id"] == funded.json()["id"]
    settle(lambda: tx_states()[funded.json()["id"]] is TxState.CONFIRMED)
    assert w3.eth.get_balance(vault.address) == 5000  # funded once

    # A period allocated 1000 and 2000 to two holders (as the distributor does: the vault's allocate, then the rows).
    alice, bob = (w3.eth.account.create().address for _ in range(2))
    now = utcnow()
    with session_scope() as session:
        allocate = enqueue(session, purpose=TxPurpose.REWARD_PAYOUT, key="test-allocate", chain="local",
                           to=vault.address, data=vault_contract().encode_abi(
                               "allocate", args=["0x" + "00" * 20, [alice, bob], [1000, 2000]]))
        period = RewardPeriod(reward_id=reward.id, brand_id=brand.id, vault_id=vault.id, period_index=0,  # type: ignore[arg-type]
                              starts_at=now - timedelta(days=8), ends_at=now - timedelta(days=1),
                              state=PeriodState.ALLOCATED, amount=3000, holders=2, tokens=3, batches=1)
        session.add(period)
        session.flush()
        for holder, amount in ((alice, 1000), (bob, 2000)):
            session.add(RewardAllocation(reward_id=reward.id, period_id=period.id, vault_id=vault.id,  # type: ignore[arg-type]
                                         holder=holder, tokens=amount // 1000, amount=amount, batch=0,
                                         tx_id=allocate.id, allocated_block=1, allocated_log_index=amount))
        allocate_id = allocate.id
    settle(lambda: tx_states()[allocate_id] is TxState.CONFIRMED)

    first = client.post(f"/api/v1/rewards/{reward.id}/push-all", json={}, headers=headers)
    assert first.status_code == 202, first.text
    assert first.json() == {"holders": 2, "queued": 2, "already_queued": 0}
    assert client.post(f"/api/v1/rewards/{reward.id}/push-all", json={}, headers=headers).json() == {
        "holders": 2, "queued": 0, "already_queued": 2}
    one = client.post(f"/api/v1/rewards/{reward.id}/push", json={"holder": bob}, headers=headers)
    assert one.status_code == 202 and one.json()["amount"] == "2000"
    settle(lambda: all(state is TxState.CONFIRMED for state in tx_states().values()))
    assert client.post(f"/api/v1/rewards/{reward.id}/push-all", json={}, headers=headers).json()["queued"] == 0
    assert (w3.eth.get_balance(alice), w3.eth.get_balance(bob)) == (1000, 2000)  # each paid once
    assert w3.eth.get_balance(vault.address) == 2000
    assert len([s for s in tx_states().values() if s is TxState.REVERTED]) == 0
