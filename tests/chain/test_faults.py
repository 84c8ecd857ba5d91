"""Faults the transaction manager must survive with exactly one mint: RPC outages, stuck transactions, two
dispatchers sharing one signer, crashes around the broadcast, a foreign use of the signer's nonce, reorgs."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import requests
from sqlmodel import select
from web3 import Web3

from backend.chain import txmanager
from backend.chain.anvil import AnvilNode
from backend.chain.client import set_web3
from backend.chain.finish_hooks import FINISH_HOOKS
from backend.chain.keys import platform_account
from backend.chain.mints import dispatch_pass
from backend.chain.models import AttemptStatus, MintStatus, TxAttempt, TxState
from backend.chain.txmanager import MonitorResult, monitor_pass
from backend.db import session_scope
from tests.chain.helpers import (
    CHAIN,
    ChainUnderTest,
    People,
    add_mints,
    all_settled,
    assert_each_minted_once,
    deploy_campaign,
    mint_txs,
    new_address,
    requests_by_key,
    transactions,
)


def attempts() -> list[TxAttempt]:
    with session_scope() as session:
        return list(session.exec(select(TxAttempt).order_by(TxAttempt.id)))  # type: ignore[arg-type]


class FlakyHTTPProvider(Web3.HTTPProvider):
    """A real HTTP provider whose network calls fail for chosen methods a number of times (the network boundary)."""

    def __init__(self, url: str, fail: dict[str, int]) -> None:
        super().__init__(url, exception_retry_configuration=None)
        self.fail = fail

    def make_request(self, method, params):  # type: ignore[no-untyped-def,override]
        left = self.fail.get(method, 0) or self.fail.get("*", 0)
        if left:
            self.fail[method if method in self.fail else "*"] = left - 1
            raise requests.exceptions.ConnectionError(f"connection refused ({method})")
        return super().make_request(method, params)


def test_rpc_errors_at_the_network_boundary_are_retried_and_mint_once(anvil: ChainUnderTest, people: People) -> None:
    campaign, address = deploy_campaign(anvil, people)
    wallets = [new_address(anvil.w3) for _ in range(4)]
    add_mints(campaign.id, [(f"order:{i}", w, 1) for i, w in enumerate(wallets)])
    provider = FlakyHTTPProvider(anvil.node.url, {"eth_sendRawTransaction": 3, "eth_getTransactionReceipt": 2})  # type: ignore[union-attr]
    set_web3(CHAIN, Web3(provider))
    anvil.run_passes(all_settled)
    assert any(r.rpc_error for r in anvil.results)
    assert provider.fail == {"eth_sendRawTransaction": 0, "eth_getTransactionReceipt": 0}
    assert_each_minted_once(anvil, address, {f"order:{i}": (w, 1) for i, w in enumerate(wallets)})
    assert len(mint_txs()) == 1 and len(attempts()) == 2  # deploy + one mint: every retry re-sent the same bytes


def test_node_down_then_back_completes_once(tmp_path: Path, configure, people: People) -> None:  # type: ignore[no-untyped-def]
    node = AnvilNode(port=__import__("backend.chain.anvil", fromlist=["free_port"]).free_port(),
                     state_path=tmp_path / "anvil-state.json").start()
    chain = ChainUnderTest("anvil", Web3(Web3.HTTPProvider(node.url, exception_retry_configuration=None)), node)
    set_web3(CHAIN, chain.w3)
    try:
        campaign, address = deploy_campaign(chain, people)
        wallet = new_address(chain.w3)
        add_mints(campaign.id, [("order:1", wallet, 3)])
        node.stop()
        dispatch_pass()
        down = monitor_pass(CHAIN, hooks=FINISH_HOOKS)
        assert down.rpc_error and down.sent == 0
        assert requests_by_key()["order:1"].status is MintStatus.SUBMITTED
        node.start()  # same port, state reloaded
        chain.run_passes(all_settled)
        assert_each_minted_once(chain, address, {"order:1": (wallet, 3)})
        assert len(mint_txs()) == 1
    finally:
        set_web3(CHAIN, None)
        node.stop()


def test_stuck_transaction_is_replaced_with_higher_fees_and_mints_once(anvil: ChainUnderTest, people: People,
                                                                      configure) -> None:  # type: ignore[no-untyped-def]
    campaign, address = deploy_campaign(anvil, people)
    wallet = new_address(anvil.w3)
    add_mints(campaign.id, [("order:1", wallet, 2)])
    anvil.rpc("evm_setAutomine", [False])
    dispatch_pass()
    assert monitor_pass(CHAIN, hooks=FINISH_HOOKS).sent == 1
    original = mint_txs()[0]
    configure(TX_REPLACE_AFTER_SECONDS=0)
    assert monitor_pass(CHAIN, hooks=FINISH_HOOKS).replaced == 1
    replaced = mint_txs()[0]
    assert replaced.nonce == original.nonce and replaced.tx_hash != original.tx_hash
    assert replaced.max_fee_per_gas * 100 >= original.max_fee_per_gas * 110  # type: ignore[operator]
    assert replaced.max_priority_fee_per_gas * 100 >= original.max_priority_fee_per_gas * 110  # type: ignore[operator]
    configure(TX_REPLACE_AFTER_SECONDS=600)
    anvil.rpc("evm_setAutomine", [True])
    anvil.mine()
    anvil.run_passes(all_settled)
    tx = mint_txs()[0]
    assert tx.state is TxState.CONFIRMED and tx.mined_hash == replaced.tx_hash
    statuses = {a.tx_hash: a.status for a in attempts() if a.tx_id == tx.id}
    assert statuses == {original.tx_hash: AttemptStatus.REPLACED, replaced.tx_hash: AttemptStatus.MINED}
    assert_each_minted_once(anvil, address, {"order:1": (wallet, 2)})


def test_two_dispatchers_sharing_one_signer_never_collide(anvil: ChainUnderTest, people: People) -> None:
    campaign, address = deploy_campaign(anvil, people)
    wallets = [new_address(anvil.w3) for _ in range(40)]
    add_mints(campaign.id, [(f"order:{i}", w, 1) for i, w in enumerate(wallets)])
    errors: list[BaseException] = []

    def runner() -> None:
        try:
            for _ in range(60):
                dispatch_pass(max_requests=3, batch_size=3)
                result = monitor_pass(CHAIN, hooks=FINISH_HOOKS)
                assert not result.rpc_error, result.rpc_error
                if all_settled() and not [t for t in transactions() if t.state is not TxState.CONFIRMED]:
                    return
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert_each_minted_once(anvil, address, {f"order:{i}": (w, 1) for i, w in enumerate(wallets)})
    nonces = sorted(t.nonce for t in transactions())  # type: ignore[type-var]
    assert nonces == list(range(len(nonces)))  # none reused, none skipped
    assert len(mint_txs()) == 14


def test_crash_after_signing_before_broadcast_sends_the_stored_bytes(chain: ChainUnderTest, people: People) -> None:
    campaign, address = deploy_campaign(chain, people)
    wallet = new_address(chain.w3)
    add_mints(campaign.id, [("order:1", wallet, 1)])
    dispatch_pass()
    txmanager._sign_queued(CHAIN, chain.w3, 10, MonitorResult(), FINISH_HOOKS)  # then the process dies
    signed = mint_txs()[0]
    assert signed.state is TxState.QUEUED and signed.raw_tx and signed.tx_hash
    chain.run_passes(all_settled)
    tx = mint_txs()[0]
    assert tx.mined_hash == signed.tx_hash and tx.raw_tx == signed.raw_tx
    assert len([a for a in attempts() if a.tx_id == tx.id]) == 1
    assert_each_minted_once(chain, address, {"order:1": (wallet, 1)})


def test_crash_after_broadcast_before_recording_it_mints_once(chain: ChainUnderTest, people: People) -> None:
    campaign, address = deploy_campaign(chain, people)
    wallet = new_address(chain.w3)
    add_mints(campaign.id, [("order:1", wallet, 1)])
    dispatch_pass()
    txmanager._sign_queued(CHAIN, chain.w3, 10, MonitorResult(), FINISH_HOOKS)
    signed = mint_txs()[0]
    chain.w3.eth.send_raw_transaction(signed.raw_tx)  # type: ignore[arg-type]  # broadcast, then the process dies
    chain.run_passes(all_settled)
    tx = mint_txs()[0]
    assert tx.state is TxState.CONFIRMED and tx.mined_hash == signed.tx_hash
    assert len([a for a in attempts() if a.tx_id == tx.id]) == 1
    assert_each_minted_once(chain, address, {"order:1": (wallet, 1)})


def test_nonce_taken_outside_the_manager_is_resynchronised(anvil: ChainUnderTest, people: People) -> None:
    campaign, address = deploy_campaign(anvil, people)
    wallet = new_address(anvil.w3)
    add_mints(campaign.id, [("order:1", wallet, 1)])
    dispatch_pass()
    txmanager._sign_queued(CHAIN, anvil.w3, 10, MonitorResult(), FINISH_HOOKS)
    signed = mint_txs()[0]
    # Someone uses the platform key for something else at that very nonce (an operator's manual transfer).
    account = platform_account()
    fees = txmanager._fees(anvil.w3)
    foreign = account.sign_transaction({"type": 2, "chainId": anvil.w3.eth.chain_id, "nonce": signed.nonce,
                                        "gas": 21000, "maxFeePerGas": fees[0], "maxPriorityFeePerGas": fees[1],
                                        "to": wallet, "value": 1})
    anvil.w3.eth.wait_for_transaction_receipt(anvil.w3.eth.send_raw_transaction(foreign.raw_transaction))
    anvil.run_passes(all_settled)
    tx = mint_txs()[0]
    assert tx.state is TxState.CONFIRMED and tx.nonce == signed.nonce + 1  # type: ignore[operator]
    statuses = sorted(a.status.value for a in attempts() if a.tx_id == tx.id)
    assert statuses == ["dropped", "mined"]
    assert_each_minted_once(anvil, address, {"order:1": (wallet, 1)})


@pytest.mark.parametrize("confirmations", [3])
def test_receipt_lost_in_a_reorg_goes_back_to_sent_and_mints_once(chain: ChainUnderTest, people: People,
                                                                 configure, confirmations: int) -> None:  # type: ignore[no-untyped-def]
    campaign, address = deploy_campaign(chain, people)
    configure(CHAIN_CONFIRMATIONS=confirmations)
    wallet = new_address(chain.w3)
    add_mints(campaign.id, [("order:1", wallet, 2)])
    dispatch_pass()
    txmanager._sign_queued(CHAIN, chain.w3, 10, MonitorResult(), FINISH_HOOKS)
    snapshot = chain.rpc("evm_snapshot")
    monitor_pass(CHAIN, hooks=FINISH_HOOKS)
    assert mint_txs()[0].state is TxState.MINED  # 1 of 3 confirmations
    chain.rpc("evm_revert", [snapshot])  # the block with our receipt is gone
    result = monitor_pass(CHAIN, hooks=FINISH_HOOKS)
    assert result.reorged == 1 and mint_txs()[0].state is TxState.SENT
    assert requests_by_key()["order:1"].status is MintStatus.SUBMITTED
    chain.run_passes(all_settled, mine_between=True)
    tx = mint_txs()[0]
    assert tx.state is TxState.CONFIRMED
    assert_each_minted_once(chain, address, {"order:1": (wallet, 2)})
