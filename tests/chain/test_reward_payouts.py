"""Payouts on anvil: the brand's vault deployed on first use and funded through the transaction manager; two weekly
periods of a fixed amount per token, holders (two wallets and a custodial account) trading on chain between them;
allocations exactly the shares and summing to the amount; crashes mid-allocation allocate once; claims and a pushed
payout pay the right wallets and show as claimed."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from backend.chain import txmanager
from backend.chain.client import fund_from_dev_account
from backend.chain.deployments import deploy_pass
from backend.chain.finish_hooks import FINISH_HOOKS
from backend.chain.indexer import index_pass
from backend.chain.keys import custodial_address
from backend.chain.mints import dispatch_pass
from backend.chain.models import ChainTransaction, TxPurpose, TxState
from backend.chain.txmanager import monitor_pass
from backend.db import session_scope, utcnow
from backend.orders.models import Order
from backend.rewards import payouts, service
from backend.rewards.holdings import account_holder, wallet_holder
from backend.rewards.models import RewardAllocation, RewardClaim, RewardPeriod, RewardPeriodSale, RewardVaultRow
from backend.rewards.vault import allocation_of, vault_contract, vault_deploy_pass
from backend.workflow.machines import PeriodState, VaultState
from backend.workflow.models import OutboxEvent, StateTransition
from contracts import seaport as sp
from tests.chain.helpers import CHAIN, ChainUnderTest, People, add_mints, all_settled, deploy_campaign, requests_by_key
from tests.factories import make_campaign

A = 10**15  # wei per token per period
ETHER = 10**18
ZERO = "0x0000000000000000000000000000000000000000"


def run_until(until: Callable[[], bool], max_passes: int = 40) -> None:
    """The deployers, the mint dispatcher and the transaction monitor, as their daemons run them, until `until()`."""
    for _ in range(max_passes):
        deploy_pass()
        vault_deploy_pass()
        dispatch_pass()
        monitor_pass(CHAIN, hooks=FINISH_HOOKS)
        if until():
            return
    raise AssertionError("not done")


def vault() -> RewardVaultRow | None:
    with session_scope() as session:
        return session.exec(select(RewardVaultRow)).first()


def period(index: int) -> RewardPeriod:
    with session_scope() as session:
        return session.exec(select(RewardPeriod).where(RewardPeriod.period_index == index)).one()


def shares(period_id: int) -> dict[str, tuple[int, int | None, int]]:
    """{holder: (amount, account id, tokens)} of one period."""
    with session_scope() as session:
        rows = session.exec(select(RewardAllocation).where(RewardAllocation.period_id == period_id)).all()
    return {r.holder: (r.amount, r.account_id, r.tokens) for r in rows}


def allocate_keys() -> list[str]:
    with session_scope() as session:
        return sorted(session.exec(select(ChainTransaction.idempotency_key).where(
            col(ChainTransaction.idempotency_key).startswith("reward-allocate:"))).all())


def tx_done(tx_id: int) -> Callable[[], bool]:
    def check() -> bool:
        with session_scope() as session:
            return session.get(ChainTransaction, tx_id).state is TxState.CONFIRMED  # type: ignore[union-attr]
    return check


def topics(name: str) -> list[dict[str, Any]]:
    with session_scope() as session:
        return [e.payload for e in session.exec(select(OutboxEvent).where(OutboxEvent.topic == name))]


@pytest.fixture
def shop(anvil: ChainUnderTest, people: People, configure):  # type: ignore[no-untyped-def]
    configure(REWARD_ALLOCATION_BATCH_SIZE=2)  # three holders -> two batches per period
    campaign, address = deploy_campaign(anvil, people, supply_cap=100)
    alice, bob = sp.wallet(anvil.w3), sp.wallet(anvil.w3)
    for who in (alice, bob):
        fund_from_dev_account(anvil.w3, who.address, 10 * ETHER)
    custodial = custodial_address(people.consumer.user_id)
    # The consumer bought without a wallet: their tokens sit at their custodial address.
    with session_scope() as session:
        session.add(Order(public_id=secrets.token_hex(16), brand_id=campaign.brand_id, campaign_id=campaign.id,
                          user_id=people.consumer.user_id, email="c@example.com", wallet_address=custodial,
                          custodial=True, quantity=2, unit_price_minor=100, amount_minor=200, currency="EUR",
                          expires_at=utcnow()))
    add_mints(campaign.id, [("alice", alice.address, 3), ("bob", bob.address, 1), ("custodial", custodial, 2)])
    run_until(all_settled)
    return campaign, anvil.collection(address), alice, bob, custodial


def test_two_periods_of_trading_holders_are_allocated_exactly_once_and_claimed_by_the_right_wallets(
        anvil: ChainUnderTest, people: People, shop, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    campaign, collection, alice, bob, custodial = shop
    w3, admin, consumer = anvil.w3, people.brand_admin, people.consumer
    start = utcnow() - timedelta(days=30)
    reward = service.define_reward(admin, campaign.id, {
        "kind": "payout", "title": "Weekly ETH", "payout_mode": "fixed_per_token", "amount_per_token": str(A),
        "currency_address": "", "payout_period": "week", "starts_at": start.isoformat()})

    # First use: the contract deployer deploys the brand's vault through the transaction manager.
    run_until(lambda: vault().state is VaultState.DEPLOYED)  # type: ignore[union-attr]
    address = vault().address  # type: ignore[union-attr]
    assert w3.eth.get_code(address) != b""
    index_pass(CHAIN)

    week1 = start + timedelta(days=7, seconds=1)
    result = payouts.distributor_pass(now=week1)
    assert result.opened == 1 and result.allocating == 0
    assert "needs funding" in result.waiting[0]  # type: ignore[index]
    assert period(0).state is PeriodState.DUE and "needs funding" in period(0).error
    assert [p["period_index"] for p in topics("reward.period_due")] == [0]

    fund = payouts.fund_vault(people.platform_admin, reward.id, 13 * A, "fund-1")  # type: ignore[arg-type]
    assert payouts.fund_vault(people.platform_admin, reward.id, 13 * A, "fund-1").id == fund.id  # type: ignore[arg-type]
    run_until(tx_done(fund.id))  # type: ignore[arg-type]
    assert w3.eth.get_balance(address) == 13 * A

    # Period 0: alice 3 tokens, bob 1, the custodial account 2. Two runners at once: one allocates, the other loses
    # (or finds it no longer due); a third right after allocates nothing more.
    period0 = period(0).id
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(lambda _: payouts.allocate_period(period0), range(2)))  # type: ignore[arg-type]
    assert outcomes[0] == "allocating" and outcomes[1] in ("lost", "not due"), outcomes
    assert payouts.distributor_pass(now=week1).allocating == 0
    first = period(0)
    assert first.state is PeriodState.ALLOCATING and first.batches == 2
    run_until(lambda: period(0).state is PeriodState.ALLOCATED)
    first = period(0)
    block0 = first.snapshot_block
    assert shares(first.id) == {alice.address: (3 * A, None, 3), bob.address: (A, None, 1),  # type: ignore[arg-type]
                                custodial: (2 * A, consumer.user_id, 2)}
    assert first.amount == 6 * A == sum(a for a, _, _ in shares(first.id).values())  # type: ignore[arg-type]

    # Between the periods alice sells two tokens to bob on chain.
    alice_tokens = requests_by_key()["alice"].token_ids
    for token_id in alice_tokens[:2]:
        alice.call(collection.functions.transferFrom(alice.address, bob.address, token_id))
    index_pass(CHAIN)

    # Period 1, with crashes: (a) in the distributor after the batch transaction is queued, before the commit:
    # nothing is written; (b) in the monitor after broadcasting, before recording it; (c) in the finish step.
    week2 = start + timedelta(days=14, seconds=1)
    assert payouts.open_due_periods(week2) == 1
    second_id = period(1).id

    def boom() -> None:
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        payouts.allocate_period(second_id, after_enqueue=boom)  # type: ignore[arg-type]
    assert period(1).state is PeriodState.DUE and shares(second_id) == {}  # type: ignore[arg-type]
    assert len(allocate_keys()) == 2  # only period 0's

    real_transition = txmanager.transition
    crashed: list[str] = []

    def crash_once_after_broadcast(session, entity, trigger, **kw):  # type: ignore[no-untyped-def]
        if trigger == "broadcast" and not crashed and entity.meta.get("period_id") == second_id:
            crashed.append(entity.idempotency_key)
            raise RuntimeError("killed after broadcasting")
        return real_transition(session, entity, trigger, **kw)

    real_finish = payouts.allocation_finished
    hook_crashed: list[int] = []

    def crash_once_in_finish(session, tx, receipt):  # type: ignore[no-untyped-def]
        if not hook_crashed:
            hook_crashed.append(tx.id)
            raise RuntimeError("killed while finishing")
        return real_finish(session, tx, receipt)

    monkeypatch.setattr(txmanager, "transition", crash_once_after_broadcast)
    monkeypatch.setattr(payouts, "allocation_finished", crash_once_in_finish)
    assert payouts.distributor_pass(now=week2).allocating == 1
    with pytest.raises(RuntimeError, match="after broadcasting"):
        monitor_pass(CHAIN, hooks=FINISH_HOOKS)
    with pytest.raises(RuntimeError, match="while finishing"):
        run_until(lambda: period(1).state is PeriodState.ALLOCATED)
    run_until(lambda: period(1).state is PeriodState.ALLOCATED)
    assert crashed and hook_crashed

    second = period(1)
    assert second.snapshot_block > block0  # type: ignore[operator]
    assert shares(second.id) == {alice.address: (A, None, 1), bob.address: (3 * A, None, 3),  # type: ignore[arg-type]
                                 custodial: (2 * A, consumer.user_id, 2)}
    assert second.amount == 6 * A
    assert allocate_keys() == sorted(f"reward-allocate:{reward.id}:{p}:{b}" for p in (first.id, second.id)
                                     for b in (0, 1))
    # On chain: exactly one allocation per holder per period, whatever crashed.
    for holder, expected in ((alice.address, 4 * A), (bob.address, 4 * A), (custodial, 4 * A)):
        assert allocation_of(w3, address, "", holder) == expected
    contract = vault_contract(w3, address)
    assert contract.functions.outstanding(ZERO).call() == 12 * A
    assert contract.functions.unallocated(ZERO).call() == A
    assert sorted(p["period_id"] for p in topics("reward.allocated")) == sorted([first.id, second.id])
    with session_scope() as session:
        history = [t.trigger for t in session.exec(select(StateTransition).where(
            StateTransition.entity_type == "reward_period", StateTransition.entity_id == str(second.id))
            .order_by(StateTransition.id))]  # type: ignore[arg-type]
    assert history == ["allocate", "confirm"]

    # What holders may claim, before claiming.
    [mine] = payouts.claimable(wallet_holder(alice.address))
    assert (mine.amount, mine.vault_address, mine.currency_address) == (4 * A, address, "")
    [theirs] = payouts.claimable(account_holder(consumer.user_id))
    assert (theirs.amount, theirs.holder, theirs.account_id) == (4 * A, custodial, consumer.user_id)

    # Claims: alice and bob claim from their wallets; the admin pushes the custodial account's payout.
    for who in (alice, bob):
        before = w3.eth.get_balance(who.address)
        receipt = who.call(contract.functions.claim(ZERO))
        assert w3.eth.get_balance(who.address) == before + 4 * A - receipt["gasUsed"] * receipt["effectiveGasPrice"]
    push = payouts.push_payout(admin, reward.id, custodial)  # type: ignore[arg-type]
    assert payouts.push_payout(admin, reward.id, custodial).id == push.id  # type: ignore[arg-type]
    run_until(tx_done(push.id))  # type: ignore[arg-type]
    assert w3.eth.get_balance(custodial) == 4 * A
    assert w3.eth.get_balance(address) == A  # what is left is the unallocated rest

    assert payouts.distributor_pass(now=week2).claims == 3
    assert payouts.distributor_pass(now=week2).claims == 0  # read once
    with session_scope() as session:
        claims = {(c.holder, c.kind.value, c.amount) for c in session.exec(select(RewardClaim))}
    assert claims == {(alice.address, "claimed", 4 * A), (bob.address, "claimed", 4 * A),
                      (custodial, "paid_out", 4 * A)}
    assert len(topics("reward.claimed")) == 3
    views = payouts.list_periods(admin, reward.id)  # type: ignore[arg-type]
    assert [(v.period_index, v.amount, v.claimed, v.unclaimed) for v in views] == [(1, 6 * A, 6 * A, 0),
                                                                                  (0, 6 * A, 6 * A, 0)]
    assert payouts.claimable(wallet_holder(alice.address)) == []
    overview = payouts.payout_overview(admin, reward.id)  # type: ignore[arg-type]
    assert overview.vault_address == address and overview.balances is not None
    assert (overview.balances.balance, overview.balances.outstanding, overview.balances.unallocated) == (A, 0, A)


def test_a_period_without_qualifying_tokens_is_closed_empty_and_nothing_is_sent(
        anvil: ChainUnderTest, people: People, shop) -> None:  # type: ignore[no-untyped-def]
    campaign, *_ = shop
    start = utcnow() - timedelta(days=10)
    reward = service.define_reward(people.brand_admin, campaign.id, {
        "kind": "payout", "title": "Rare tokens only", "payout_mode": "fixed_per_token", "amount_per_token": "5",
        "currency_address": "", "payout_period": "week", "starts_at": start.isoformat(),
        "token_ranges": [[90, 99]]})
    run_until(lambda: vault().state is VaultState.DEPLOYED)  # type: ignore[union-attr]
    index_pass(CHAIN)
    result = payouts.distributor_pass(now=start + timedelta(days=7, seconds=1))
    assert result.opened == 1 and result.empty == 1
    assert period(0).state is PeriodState.EMPTY and period(0).amount == 0
    assert allocate_keys() == []
    with session_scope() as session:
        assert session.exec(select(ChainTransaction).where(
            ChainTransaction.purpose == TxPurpose.REWARD_PAYOUT)).first() is None
    assert service.get_reward(people.brand_admin, reward.id).first_used_at is None  # type: ignore[arg-type]


def _first_week_waiting_for_funds(people: People, campaign: Any, start: datetime, amount_per_token: str
                                  ) -> tuple[Any, datetime]:
    """A weekly ETH payout from `start`, its vault deployed but empty: the distributor run just after the first week
    opens that period, which waits for funds. (reward, the time of that run)."""
    reward = service.define_reward(people.brand_admin, campaign.id, {
        "kind": "payout", "title": "Weekly ETH", "payout_mode": "fixed_per_token", "amount_per_token": amount_per_token,
        "currency_address": "", "payout_period": "week", "starts_at": start.isoformat()})
    run_until(lambda: vault().state is VaultState.DEPLOYED)  # type: ignore[union-attr]
    index_pass(CHAIN)
    after_week = start + timedelta(days=7, seconds=1)
    waiting = payouts.distributor_pass(now=after_week)
    assert waiting.opened == 1 and "needs funding" in " ".join(waiting.waiting or [])
    return reward, after_week


def test_a_period_waiting_for_funds_pays_who_held_when_it_came_due_not_who_bought_meanwhile(
        anvil: ChainUnderTest, people: People, shop) -> None:  # type: ignore[no-untyped-def]
    campaign, collection, alice, bob, custodial = shop
    start = utcnow() - timedelta(days=8)
    reward, week1 = _first_week_waiting_for_funds(people, campaign, start, str(A))
    due_block = period(0).snapshot_block
    assert due_block is not None

    # While the period waits for funds, alice sells her three tokens to bob; then the vault is funded.
    for token_id in requests_by_key()["alice"].token_ids:
        alice.call(collection.functions.transferFrom(alice.address, bob.address, token_id))
    index_pass(CHAIN)
    fund = payouts.fund_vault(people.platform_admin, reward.id, 6 * A, "fund")  # type: ignore[arg-type]
    run_until(tx_done(fund.id))  # type: ignore[arg-type]
    assert payouts.distributor_pass(now=week1).allocating == 1
    run_until(lambda: period(0).state is PeriodState.ALLOCATED)
    assert period(0).snapshot_block == due_block
    assert shares(period(0).id) == {alice.address: (3 * A, None, 3), bob.address: (A, None, 1),  # type: ignore[arg-type]
                                    custodial: (2 * A, people.consumer.user_id, 2)}


def test_a_period_waiting_for_funds_is_closed_unpaid_once_its_reward_ended(
        anvil: ChainUnderTest, people: People, shop) -> None:  # type: ignore[no-untyped-def]
    campaign, *_ = shop
    start = utcnow() - timedelta(days=10)
    reward, after_week = _first_week_waiting_for_funds(people, campaign, start, "5")
    assert period(0).state is PeriodState.DUE

    service.end_reward(people.brand_admin, reward.id, "campaign over")  # type: ignore[arg-type]
    result = payouts.distributor_pass(now=after_week)

    assert result.empty == 1 and result.waiting == []
    assert period(0).state is PeriodState.EMPTY and period(0).error == ""
    assert allocate_keys() == []
    with session_scope() as session:
        assert session.exec(select(StateTransition.reason).where(
            StateTransition.entity_type == "reward_period", StateTransition.entity_id == str(period(0).id),
            StateTransition.to_state == "empty")).one() == (
            "the reward ended before this period was paid")


def test_a_royalty_share_splits_the_periods_royalties_by_tokens_held_to_the_wei(
        anvil: ChainUnderTest, people: People, shop) -> None:  # type: ignore[no-untyped-def]
    from backend.sales.models import Sale, SaleStatus

    campaign, collection, alice, bob, custodial = shop
    admin = people.brand_admin
    start = utcnow() - timedelta(days=10)
    reward = service.define_reward(admin, campaign.id, {
        "kind": "payout", "title": "Half the royalties", "payout_mode": "royalty_share", "royalty_share_bps": 5000,
        "currency_address": "", "payout_period": "week", "starts_at": start.isoformat()})
    run_until(lambda: vault().state is VaultState.DEPLOYED)  # type: ignore[union-attr]
    fund = payouts.fund_vault(people.platform_admin, reward.id, 10**6, "fund")  # type: ignore[arg-type]
    run_until(tx_done(fund.id))  # type: ignore[arg-type]
    index_pass(CHAIN)
    # The sales ledger's rows (its own tests read them from Seaport fills): only confirmed sales of the period, in
    # the payout's currency, with a known royalty count.
    with session_scope() as session:
        for n, (days, royalty, status, currency) in enumerate((
                (1, 1003, SaleStatus.CONFIRMED, ZERO), (6, 1000, SaleStatus.CONFIRMED, ZERO),
                (-1, 10**6, SaleStatus.CONFIRMED, ZERO),  # before the period
                (8, 2000, SaleStatus.CONFIRMED, ZERO),  # after it: the next period's
                (2, 4000, SaleStatus.UNVERIFIED, ZERO),  # confirmed only after the period is allocated
                (3, 10**6, SaleStatus.CONFIRMED, bob.address))):
            session.add(Sale(chain_id=anvil.w3.eth.chain_id, tx_hash=f"0x{n:064x}", collection=collection.address,
                             token_id=1, log_index=n, log_index_key=n, campaign_id=campaign.id,
                             brand_id=campaign.brand_id, price=10**6, currency_address=currency, currency_symbol="X",
                             currency_decimals=18, marketplace="opensea", seller=alice.address, buyer=bob.address,
                             sold_at=start + timedelta(days=days), status=status, royalty_paid=royalty))
    def allocated(index: int) -> RewardPeriod:
        """Period `index` (a week) made due, then allocated by the distributor."""
        assert payouts.distributor_pass(now=start + timedelta(days=7 * (index + 1), seconds=1)).allocating == 1
        run_until(lambda: period(index).state is PeriodState.ALLOCATED)
        return period(index)

    first = allocated(0)
    # (1003 + 1000) x 50 % = 1001 over 3 : 1 : 2 tokens = 500.5, 166.83, 333.67 -> the two units left over go to the
    # largest remainders.
    assert first.amount == 1001
    assert {h: a for h, (a, _, _) in shares(first.id).items()} == {  # type: ignore[arg-type]
        alice.address: 500, bob.address: 167, custodial: 334}
    for holder, amount in ((alice.address, 500), (bob.address, 167), (custodial, 334)):
        assert allocation_of(anvil.w3, vault().address, "", holder) == amount  # type: ignore[union-attr]

    # The sale confirmed late is paid by the next period, with that period's own sale; the first two are not
    # counted again: (4000 + 2000) x 50 % = 3000 over the same 3 : 1 : 2 tokens.
    late = "0x" + f"{4:064x}"
    with session_scope() as session:
        session.execute(update(Sale).where(col(Sale.tx_hash) == late).values(status=SaleStatus.CONFIRMED))
    second = allocated(1)
    assert second.amount == 3000
    assert {h: a for h, (a, _, _) in shares(second.id).items()} == {  # type: ignore[arg-type]
        alice.address: 1500, bob.address: 500, custodial: 1000}
    with session_scope() as session:
        counted = session.exec(select(Sale.tx_hash, RewardPeriodSale.period_id, RewardPeriodSale.royalty_paid)
                               .join(Sale, col(Sale.id) == RewardPeriodSale.sale_id)).all()
    assert sorted(counted) == sorted([(f"0x{0:064x}", first.id, 1003), (f"0x{1:064x}", first.id, 1000),
                                      (f"0x{3:064x}", second.id, 2000), (late, second.id, 4000)])
    for holder, amount in ((alice.address, 2000), (bob.address, 667), (custodial, 1334)):
        assert allocation_of(anvil.w3, vault().address, "", holder) == amount  # type: ignore[union-attr]


def _funded_weekly_payout(people: People, campaign: Any) -> tuple[Any, datetime]:
    """A weekly ETH payout of A per token that started 8 days ago, its vault funded with 6 A: (reward, start)."""
    start = utcnow() - timedelta(days=8)
    reward = service.define_reward(people.brand_admin, campaign.id, {
        "kind": "payout", "title": "Weekly ETH", "payout_mode": "fixed_per_token", "amount_per_token": str(A),
        "currency_address": "", "payout_period": "week", "starts_at": start.isoformat()})
    run_until(lambda: vault().state is VaultState.DEPLOYED)  # type: ignore[union-attr]
    fund = payouts.fund_vault(people.platform_admin, reward.id, 6 * A, "fund")  # type: ignore[arg-type]
    run_until(tx_done(fund.id))  # type: ignore[arg-type]
    index_pass(CHAIN)
    return reward, start


def _allocated_weekly_payout(anvil: ChainUnderTest, people: People, campaign: Any) -> Any:
    """A weekly ETH payout of A per token, its vault funded and its first period allocated on chain."""
    reward, start = _funded_weekly_payout(people, campaign)
    assert payouts.distributor_pass(now=start + timedelta(days=7, seconds=1)).allocating == 1
    run_until(lambda: period(0).state is PeriodState.ALLOCATED)
    return reward


def test_a_claim_read_before_its_allocation_was_confirmed_still_marks_that_allocation_claimed(
        anvil: ChainUnderTest, people: People, shop) -> None:  # type: ignore[no-untyped-def]
    campaign, _, alice, bob, _ = shop
    reward, start = _funded_weekly_payout(people, campaign)
    # The allocation batches are mined, Alice claims in the next block, and the claim reader reads her claim while
    # the transaction monitor lags behind: the allocations' finish step has not run yet.
    anvil.rpc("evm_setAutomine", [False])
    assert payouts.distributor_pass(now=start + timedelta(days=7, seconds=1)).allocating == 1
    assert monitor_pass(CHAIN, hooks=FINISH_HOOKS).sent == 2  # broadcast, not mined yet
    anvil.mine()
    anvil.rpc("evm_setAutomine", [True])
    alice.call(vault_contract(anvil.w3, vault().address).functions.claim(ZERO))  # type: ignore[union-attr]
    assert payouts.sync_claims(CHAIN) == 1
    assert period(0).state is PeriodState.ALLOCATING

    run_until(lambda: period(0).state is PeriodState.ALLOCATED)
    assert payouts.claimable(wallet_holder(alice.address)) == []  # her claim paid her allocation
    assert [c.amount for c in payouts.claimable(wallet_holder(bob.address))] == [A]
    [view] = payouts.list_periods(people.brand_admin, reward.id)  # type: ignore[arg-type]
    assert (view.claimed, view.unclaimed) == (3 * A, 3 * A)
    with session_scope() as session:
        claim = session.exec(select(RewardClaim)).one()
        paid = session.exec(select(RewardAllocation).where(RewardAllocation.holder == alice.address)).one()
    assert (claim.holder, claim.amount) == (alice.address, 3 * A)
    assert paid.claim_id == claim.id and paid.claimed_at is not None
    assert claim.block_number > paid.allocated_block  # type: ignore[operator]


def push_keys() -> list[str]:
    with session_scope() as session:
        return sorted(session.exec(select(ChainTransaction.idempotency_key).where(
            col(ChainTransaction.idempotency_key).startswith("reward-push:"))).all())


def test_push_all_pays_every_holder_once_even_when_pressed_twice_or_stopped_between_batches(
        anvil: ChainUnderTest, people: People, shop, configure) -> None:  # type: ignore[no-untyped-def]
    configure(REWARD_PUSH_BATCH_SIZE=2)  # three holders -> two batches
    campaign, _, alice, bob, custodial = shop
    w3, admin = anvil.w3, people.brand_admin
    reward = _allocated_weekly_payout(anvil, people, campaign)
    before = {who: w3.eth.get_balance(who) for who in (alice.address, bob.address, custodial)}

    # A run stopped after its first batch (the process died): the second run queues only the rest.
    def die(batch: payouts.PushBatch) -> None:
        raise RuntimeError("killed between batches")

    with pytest.raises(RuntimeError):
        payouts.push_all(admin, reward.id, on_batch=die)  # type: ignore[arg-type]
    assert len(push_keys()) == 2
    second = payouts.push_all(admin, reward.id)  # type: ignore[arg-type]
    assert (second.holders, second.queued, second.already) == (3, 1, 2)
    # Pressed again before anything is confirmed, and again once the payouts are on chain but before the claim reader
    # has read them: the same transactions.
    assert payouts.push_all(admin, reward.id) == payouts.PushAllResult(3, 0, 3)  # type: ignore[arg-type]
    keys = push_keys()
    assert len(keys) == 3
    run_until(lambda: all(tx_done(t)() for t in _push_tx_ids()))
    assert payouts.push_all(admin, reward.id) == payouts.PushAllResult(3, 0, 3)  # type: ignore[arg-type]
    # A single Push of a holder already pushed is that same transaction too.
    assert payouts.push_payout(admin, reward.id, custodial).idempotency_key in keys  # type: ignore[arg-type]
    run_until(lambda: all(tx_done(t)() for t in _push_tx_ids()))
    assert push_keys() == keys

    # Each holder was paid their share exactly once (alice 3 tokens, bob 1, the custodial account 2).
    assert {who: w3.eth.get_balance(who) - was for who, was in before.items()} == {
        alice.address: 3 * A, bob.address: A, custodial: 2 * A}
    assert vault_contract(w3, vault().address).functions.outstanding(ZERO).call() == 0  # type: ignore[union-attr]

    # Once the claim reader has seen the payouts, there is nothing left to push.
    assert payouts.distributor_pass(now=utcnow()).claims == 3
    assert payouts.push_all(admin, reward.id) == payouts.PushAllResult(0, 0, 0)  # type: ignore[arg-type]
    assert push_keys() == keys


def _push_tx_ids() -> list[int]:
    with session_scope() as session:
        return list(session.exec(select(ChainTransaction.id).where(
            col(ChainTransaction.idempotency_key).startswith("reward-push:"))).all())  # type: ignore[arg-type]


def tx_state(tx_id: int) -> TxState:
    with session_scope() as session:
        return session.get(ChainTransaction, tx_id).state  # type: ignore[union-attr]


def test_a_new_period_owing_the_same_amount_is_pushed_anew_and_a_reverted_push_can_be_pushed_again(
        anvil: ChainUnderTest, people: People, shop) -> None:  # type: ignore[no-untyped-def]
    campaign, _, alice, _, custodial = shop
    w3, admin = anvil.w3, people.brand_admin
    reward = _allocated_weekly_payout(anvil, people, campaign)

    # Period 0: the custodial account's 2 A pushed, confirmed and read back by the claim reader.
    first = payouts.push_payout(admin, reward.id, custodial)  # type: ignore[arg-type]
    run_until(tx_done(first.id))  # type: ignore[arg-type]
    assert payouts.sync_claims(CHAIN) == 1
    assert w3.eth.get_balance(custodial) == 2 * A

    # Period 1 allocates the same shares: the same 2 A is owed again, and Push queues a new payout that pays it.
    fund = payouts.fund_vault(people.platform_admin, reward.id, 6 * A, "fund-2")  # type: ignore[arg-type]
    run_until(tx_done(fund.id))  # type: ignore[arg-type]
    assert payouts.distributor_pass(now=utcnow() + timedelta(days=7)).allocating == 1
    run_until(lambda: period(1).state is PeriodState.ALLOCATED)
    second = payouts.push_payout(admin, reward.id, custodial)  # type: ignore[arg-type]
    assert second.id != first.id and second.state is TxState.QUEUED
    assert payouts.push_payout(admin, reward.id, custodial).id == second.id  # type: ignore[arg-type]
    run_until(tx_done(second.id))  # type: ignore[arg-type]
    assert w3.eth.get_balance(custodial) == 4 * A

    # Alice claims her 6 A herself; before the claim reader reads it, an admin pushes her too: that push reverts
    # (nothing left to pay). A reorg then drops her claim's block, so the vault owes her the 6 A again: Push queues a
    # new attempt (not the reverted transaction), asked twice it is the same one, and it pays her.
    before = w3.eth.get_balance(alice.address)
    snapshot = anvil.rpc("evm_snapshot")
    alice.call(vault_contract(w3, vault().address).functions.claim(ZERO))  # type: ignore[union-attr]
    reverted = payouts.push_payout(admin, reward.id, alice.address)  # type: ignore[arg-type]
    run_until(lambda: tx_state(reverted.id) is TxState.REVERTED)  # type: ignore[arg-type]
    assert anvil.rpc("evm_revert", [snapshot])
    retried = payouts.push_payout(admin, reward.id, alice.address)  # type: ignore[arg-type]
    assert retried.id != reverted.id and retried.state is TxState.QUEUED
    assert retried.idempotency_key == f"{reverted.idempotency_key}:attempt-2"
    assert payouts.push_payout(admin, reward.id, alice.address).id == retried.id  # type: ignore[arg-type]
    run_until(tx_done(retried.id))  # type: ignore[arg-type]
    assert w3.eth.get_balance(alice.address) == before + 6 * A
    assert payouts.sync_claims(CHAIN) == 2  # the custodial account's second payout and Alice's
    assert payouts.claimable(wallet_holder(alice.address)) == []


def test_erc20_funding_approves_the_vault_once_and_raises_its_token_balance_on_chain(
        anvil: ChainUnderTest, people: People) -> None:
    from backend.chain.keys import platform_address
    from backend.errors import Conflict
    from contracts.artifacts import load_artifact

    w3, admin = anvil.w3, people.brand_admin
    campaign = make_campaign(people.brand)
    deployer = sp.wallet(w3)
    fund_from_dev_account(w3, deployer.address, ETHER)
    token_address = sp.deploy(w3, deployer, "TestToken")["contractAddress"]
    token = w3.eth.contract(address=token_address, abi=load_artifact("TestToken")["abi"])
    deployer.call(token.functions.mint(platform_address(), 10 * A))  # the brand sent its tokens to the platform signer
    reward = service.define_reward(admin, campaign.id, {
        "kind": "payout", "title": "Weekly TEST", "payout_mode": "fixed_per_token", "amount_per_token": "5",
        "currency_address": token_address, "currency_decimals": 18, "currency_symbol": "TEST",
        "payout_period": "week"})
    run_until(lambda: vault().state is VaultState.DEPLOYED)  # type: ignore[union-attr]
    address = vault().address  # type: ignore[union-attr]

    first = payouts.fund_vault(people.platform_admin, reward.id, 3 * A, "erc20-1")  # type: ignore[arg-type]
    assert payouts.fund_vault(people.platform_admin, reward.id, 3 * A, "erc20-1").id == first.id  # type: ignore[arg-type]
    with pytest.raises(Conflict):  # the same key for another amount is a mistake, not a second funding
        payouts.fund_vault(people.platform_admin, reward.id, 4 * A, "erc20-1")  # type: ignore[arg-type]
    second = payouts.fund_vault(people.platform_admin, reward.id, 2 * A, "erc20-2")  # type: ignore[arg-type]
    run_until(lambda: tx_done(first.id)() and tx_done(second.id)())  # type: ignore[arg-type]

    assert token.functions.balanceOf(address).call() == 5 * A
    assert token.functions.balanceOf(platform_address()).call() == 5 * A
    assert token.functions.allowance(platform_address(), address).call() == 2**256 - 1  # unlimited: not used up
    contract = vault_contract(w3, address)
    assert contract.functions.unallocated(token_address).call() == 5 * A
    with session_scope() as session:
        approvals = session.exec(select(ChainTransaction).where(
            col(ChainTransaction.idempotency_key).startswith("reward-approve:"))).all()
    assert [(a.to_address, a.state) for a in approvals] == [(token_address, TxState.CONFIRMED)]  # once
    overview = payouts.payout_overview(admin, reward.id)  # type: ignore[arg-type]
    assert overview.balances is not None and overview.balances.balance == 5 * A


def test_a_brand_admins_own_wallet_funds_the_vault_with_the_prepared_transactions_coin_and_erc20(
        anvil: ChainUnderTest, people: People) -> None:
    """`wallet_funding`'s transactions, sent by a wallet that is not the platform signer (as the browser wallet does):
    fundEth with the value, and approve then fundToken for a token; nothing goes through the transaction manager."""
    from contracts.artifacts import load_artifact

    w3, admin = anvil.w3, people.brand_admin
    owner = sp.wallet(w3)  # the brand admin's own wallet
    fund_from_dev_account(w3, owner.address, ETHER)
    token_address = sp.deploy(w3, owner, "TestToken")["contractAddress"]
    token = w3.eth.contract(address=token_address, abi=load_artifact("TestToken")["abi"])
    owner.call(token.functions.mint(owner.address, 10 * A))
    coin = service.define_reward(admin, make_campaign(people.brand).id, {
        "kind": "payout", "title": "Weekly ETH", "payout_mode": "fixed_per_token", "amount_per_token": str(A),
        "currency_address": "", "payout_period": "week"})
    erc20 = service.define_reward(admin, make_campaign(people.brand).id, {
        "kind": "payout", "title": "Weekly TEST", "payout_mode": "fixed_per_token", "amount_per_token": "5",
        "currency_address": token_address, "currency_decimals": 18, "currency_symbol": "TEST",
        "payout_period": "week"})
    run_until(lambda: vault().state is VaultState.DEPLOYED)  # type: ignore[union-attr]
    address = vault().address  # type: ignore[union-attr]
    with session_scope() as session:
        queued = len(session.exec(select(ChainTransaction)).all())

    funding = payouts.wallet_funding(admin, coin.id, 2 * A)  # type: ignore[arg-type]
    assert funding.chain_id == w3.eth.chain_id
    for step in funding.steps:
        owner.send(step.to, step.data, step.value)
    funding = payouts.wallet_funding(admin, erc20.id, 3 * A)  # type: ignore[arg-type]
    assert [s.action for s in funding.steps] == ["approve", "fund"]
    for step in funding.steps:
        owner.send(step.to, step.data, step.value)

    assert w3.eth.get_balance(address) == 2 * A
    assert token.functions.balanceOf(address).call() == 3 * A
    assert token.functions.balanceOf(owner.address).call() == 7 * A
    assert token.functions.allowance(owner.address, address).call() == 0  # the exact approval is used up
    funded = vault_contract(w3, address).events.RewardFunded().get_logs(from_block=0)
    assert [(e["args"]["funder"], e["args"]["amount"]) for e in funded] == [(owner.address, 2 * A),
                                                                          (owner.address, 3 * A)]
    with session_scope() as session:
        assert len(session.exec(select(ChainTransaction)).all()) == queued  # the platform sent nothing for it
    assert payouts.payout_overview(admin, erc20.id).balances.balance == 3 * A  # type: ignore[arg-type,union-attr]
