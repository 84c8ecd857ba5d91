"""Claims read back from a vault across a REAL reorg on anvil (evm_snapshot / evm_revert): a claim whose block leaves
the chain leaves the claimed totals (its allocation is claimable again, `reward.claim_reverted`); a claim mined again
on the new branch is counted once, with a `reward.claimed` of its new block."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select

from backend.chain.indexer import index_pass
from backend.db import session_scope, utcnow
from backend.rewards import payouts, service
from backend.rewards.holdings import wallet_holder
from backend.rewards.models import RewardAllocation, RewardClaim, RewardClaimBlock
from backend.rewards.vault import allocation_of, vault_contract
from backend.workflow.machines import PeriodState, VaultState
from tests.chain.helpers import CHAIN, ChainUnderTest, People
from tests.chain.test_reward_payouts import ZERO, A, period, run_until, shop, topics, tx_done, vault

__all__ = ["shop"]  # the fixture, shared with the payouts journey


def signed_claim(w3: Any, who: Any, vault_address: str) -> bytes:
    """The holder's claim(ETH) transaction, signed: sent once, then sent again (the same bytes) after the reorg."""
    tx = vault_contract(w3, vault_address).functions.claim(ZERO).build_transaction({
        "from": who.address, "nonce": w3.eth.get_transaction_count(who.address), "chainId": w3.eth.chain_id,
        "gas": 200_000, "maxFeePerGas": 2 * w3.eth.get_block("latest")["baseFeePerGas"] + 10**9,
        "maxPriorityFeePerGas": 10**9})
    return bytes(who.account.sign_transaction(tx).raw_transaction)


def send(w3: Any, raw: bytes) -> Any:
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw), timeout=60)
    assert receipt["status"] == 1
    return receipt


def allocated_week(people: People, campaign_id: int) -> tuple[int, str]:
    """A weekly payout of A per token (defined by the brand's admin), its vault funded with 6 A (by a platform admin)
    and its first week allocated (Alice 3 A, Bob A, the custodial account 2 A), the claim reader past the allocation's
    blocks: (reward id, vault address)."""
    start = utcnow() - timedelta(days=10)
    reward = service.define_reward(people.brand_admin, campaign_id, {
        "kind": "payout", "title": "Weekly ETH", "payout_mode": "fixed_per_token", "amount_per_token": str(A),
        "currency_address": "", "payout_period": "week", "starts_at": start.isoformat()})
    run_until(lambda: vault().state is VaultState.DEPLOYED)  # type: ignore[union-attr]
    fund = payouts.fund_vault(people.platform_admin, reward.id, 6 * A, "fund")  # type: ignore[arg-type]
    run_until(tx_done(fund.id))  # type: ignore[arg-type]
    index_pass(CHAIN)
    assert payouts.distributor_pass(now=start + timedelta(days=7, seconds=1)).allocating == 1
    run_until(lambda: period(0).state is PeriodState.ALLOCATED)
    assert payouts.sync_claims(CHAIN) == 0
    return reward.id, vault().address  # type: ignore[return-value, union-attr]


def claimed_totals(admin: Any, reward_id: int) -> tuple[int, int]:
    [view] = payouts.list_periods(admin, reward_id)
    return view.claimed, view.unclaimed


def test_a_claim_that_leaves_the_chain_is_unclaimed_and_one_mined_again_counts_once(
        anvil: ChainUnderTest, people: People, shop) -> None:  # type: ignore[no-untyped-def]
    campaign, _collection, alice, bob, _custodial = shop
    w3, admin = anvil.w3, people.brand_admin
    reward_id, address = allocated_week(people, campaign.id)
    assert claimed_totals(admin, reward_id) == (0, 6 * A)

    # Alice (3 tokens) and Bob (1) claim; the reader counts both.
    snapshot = anvil.rpc("evm_snapshot")
    alice_raw, bob_raw = signed_claim(w3, alice, address), signed_claim(w3, bob, address)  # type: ignore[arg-type]
    first = send(w3, alice_raw)
    bob_receipt = send(w3, bob_raw)
    anvil.mine(2)
    assert payouts.sync_claims(CHAIN) == 2
    assert claimed_totals(admin, reward_id) == (4 * A, 2 * A)
    assert payouts.claimable(wallet_holder(bob.address)) == []

    # The chain drops both claims' blocks; on the longer branch that wins, only Alice's claim is mined again (the same
    # signed transaction, in another block). Bob's is gone: his share is in the vault again.
    assert anvil.rpc("evm_revert", [snapshot]) is True
    assert anvil.rpc("eth_getTransactionByHash", ["0x" + bytes(bob_receipt["transactionHash"]).hex()]) is None
    again = send(w3, alice_raw)
    anvil.mine(5)
    assert again["transactionHash"] == first["transactionHash"] and again["blockHash"] != first["blockHash"]
    assert allocation_of(w3, address, "", bob.address) == A  # type: ignore[arg-type]
    assert allocation_of(w3, address, "", alice.address) == 0  # type: ignore[arg-type]

    assert payouts.sync_claims(CHAIN) == 1  # the rewind, then Alice's claim read again from its new block
    assert payouts.sync_claims(CHAIN) == 0  # counted once
    assert claimed_totals(admin, reward_id) == (3 * A, 3 * A)  # unclaimed: Bob's A and the custodial account's 2 A
    [bobs] = payouts.claimable(wallet_holder(bob.address))
    assert bobs.amount == A
    assert payouts.claimable(wallet_holder(alice.address)) == []
    new_hash = "0x" + bytes(again["blockHash"]).hex()
    with session_scope() as session:
        [claim] = session.exec(select(RewardClaim)).all()
        assert (claim.holder, claim.amount, claim.block_hash) == (alice.address, 3 * A, new_hash)
        assert claim.block_number == again["blockNumber"]
        paid = session.exec(select(RewardAllocation.holder).where(RewardAllocation.claim_id == claim.id)).all()
        assert paid == [alice.address]
        kept = session.exec(select(RewardClaimBlock.block_number, RewardClaimBlock.block_hash)).all()
    # Every kept hash is the new branch's.
    assert all("0x" + bytes(w3.eth.get_block(n)["hash"]).hex() == h for n, h in kept)

    claimed = topics("reward.claimed")
    assert sorted((e["holder"], e["block_hash"]) for e in claimed) == sorted([
        (alice.address, "0x" + bytes(first["blockHash"]).hex()),
        (bob.address, "0x" + bytes(bob_receipt["blockHash"]).hex()), (alice.address, new_hash)])
    reverted = topics("reward.claim_reverted")
    assert sorted((e["holder"], e["amount"]) for e in reverted) == sorted([(alice.address, str(3 * A)),
                                                                          (bob.address, str(A))])
    assert {e["tx_hash"] for e in reverted} == {"0x" + bytes(first["transactionHash"]).hex(),
                                                "0x" + bytes(bob_receipt["transactionHash"]).hex()}


def test_a_claim_whose_block_leaves_the_chain_and_comes_back_is_claimed_reverted_and_claimed_again(
        anvil: ChainUnderTest, people: People, shop) -> None:  # type: ignore[no-untyped-def]
    campaign, _collection, alice, _bob, _custodial = shop
    w3, admin = anvil.w3, people.brand_admin
    reward_id, address = allocated_week(people, campaign.id)

    # Branch A: Alice's claim, in a block whose timestamp the test chose (to mine the very same block again later).
    snapshot = anvil.rpc("evm_snapshot")
    raw = signed_claim(w3, alice, address)  # type: ignore[arg-type]
    moment = int(w3.eth.get_block("latest")["timestamp"]) + 20
    anvil.rpc("evm_setNextBlockTimestamp", [moment])
    first = send(w3, raw)
    anvil.mine(1)
    assert payouts.sync_claims(CHAIN) == 1
    base_fee = w3.eth.get_block(first["blockNumber"])["baseFeePerGas"]

    # Branch B, longer, without it: the claim is reverted.
    assert anvil.rpc("evm_revert", [snapshot]) is True
    snapshot = anvil.rpc("evm_snapshot")
    anvil.mine(4)
    assert payouts.sync_claims(CHAIN) == 0
    assert claimed_totals(admin, reward_id) == (0, 6 * A)

    # Branch A again, longer still: the same block (same parent, transaction, timestamp and base fee: the same hash).
    assert anvil.rpc("evm_revert", [snapshot]) is True
    anvil.rpc("evm_setNextBlockTimestamp", [moment])
    anvil.rpc("anvil_setNextBlockBaseFeePerGas", [hex(base_fee)])
    again = send(w3, raw)
    assert again["blockHash"] == first["blockHash"]
    anvil.mine(6)
    assert payouts.sync_claims(CHAIN) == 1
    assert claimed_totals(admin, reward_id) == (3 * A, 3 * A)
    block_hash = "0x" + bytes(first["blockHash"]).hex()
    assert [e["block_hash"] for e in topics("reward.claimed")] == [block_hash, block_hash]
    assert [e["block_hash"] for e in topics("reward.claim_reverted")] == [block_hash]
