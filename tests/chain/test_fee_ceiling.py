"""What the transaction manager may bid: a stuck transaction's replacements stop at the fee ceiling (and say so
once), a replacement the node refused is never the base of the next bump, and a signed transaction the base fee
outgrew is re-priced instead of being refused forever."""

from __future__ import annotations

from sqlmodel import select

from backend.chain import txmanager
from backend.chain.finish_hooks import FINISH_HOOKS
from backend.chain.keys import platform_address
from backend.chain.mints import dispatch_pass
from backend.chain.models import TxAttempt, TxState
from backend.chain.txmanager import MonitorResult, monitor_pass
from backend.db import session_scope
from backend.monitoring.models import ErrorLogEntry
from backend.settings import get_settings
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
)

GWEI = 10**9


class _FixedBaseFee:
    class eth:
        @staticmethod
        def get_block(_which):  # type: ignore[no-untyped-def]
            return {"baseFeePerGas": 20 * GWEI, "gasLimit": 30_000_000}


def attempts_of(tx_id: int) -> list[TxAttempt]:
    with session_scope() as session:
        return list(session.exec(select(TxAttempt).where(TxAttempt.tx_id == tx_id).order_by(TxAttempt.id)))  # type: ignore[arg-type]


def alerts() -> list[ErrorLogEntry]:
    with session_scope() as session:
        return list(session.exec(select(ErrorLogEntry).where(ErrorLogEntry.source == txmanager.ACTOR)))


def stuck_mint(anvil: ChainUnderTest, people: People) -> tuple[str, str]:
    """A mint broadcast to a node that mines nothing until told to."""
    campaign, address = deploy_campaign(anvil, people)
    wallet = new_address(anvil.w3)
    add_mints(campaign.id, [("order:1", wallet, 2)])
    anvil.rpc("evm_setAutomine", [False])
    dispatch_pass()
    assert monitor_pass(CHAIN, hooks=FINISH_HOOKS).sent == 1
    return address, wallet


def test_two_hours_of_replacements_stay_under_the_fee_ceiling() -> None:
    settings = get_settings()
    fees = txmanager._fees(_FixedBaseFee())  # type: ignore[arg-type]
    for _ in range(60):  # stuck for two hours at TX_REPLACE_AFTER_SECONDS=120
        fees = txmanager._fees(_FixedBaseFee(), fees)  # type: ignore[arg-type]
    max_fee, priority = fees
    assert priority <= settings.tx_max_priority_fee_per_gas_wei == 50 * GWEI
    assert max_fee <= settings.tx_max_fee_per_gas_wei == 500 * GWEI
    assert max_fee * 200_000 <= 10**18  # a mint never offers more than 0.1 ETH of gas


def test_stuck_transaction_at_the_fee_ceiling_waits_and_alerts_once(anvil: ChainUnderTest, people: People,
                                                                     configure) -> None:  # type: ignore[no-untyped-def]
    address, wallet = stuck_mint(anvil, people)
    original = mint_txs()[0]
    configure(TX_REPLACE_AFTER_SECONDS=0, TX_MAX_FEE_PER_GAS_WEI=original.max_fee_per_gas)
    for _ in range(3):
        assert monitor_pass(CHAIN, hooks=FINISH_HOOKS).replaced == 0
    waiting = mint_txs()[0]
    assert (waiting.tx_hash, waiting.max_fee_per_gas) == (original.tx_hash, original.max_fee_per_gas)
    assert waiting.error.startswith("fee cap reached")
    assert len(attempts_of(original.id)) == 1  # type: ignore[arg-type]
    [alert] = alerts()
    assert alert.count == 1 and "TX_MAX_FEE_PER_GAS_WEI" in alert.message
    configure(TX_MAX_FEE_PER_GAS_WEI=500 * GWEI)  # the operator raises the ceiling: replacement resumes
    assert monitor_pass(CHAIN, hooks=FINISH_HOOKS).replaced == 1
    configure(TX_REPLACE_AFTER_SECONDS=600)
    anvil.rpc("evm_setAutomine", [True])
    anvil.mine()
    anvil.run_passes(all_settled)
    assert mint_txs()[0].state is TxState.CONFIRMED
    assert_each_minted_once(anvil, address, {"order:1": (wallet, 2)})


def test_refused_replacement_is_not_the_base_of_the_next_bump(anvil: ChainUnderTest, people: People,
                                                              configure) -> None:  # type: ignore[no-untyped-def]
    address, wallet = stuck_mint(anvil, people)
    original = mint_txs()[0]
    signer = platform_address()
    # Enough for the pending mint at its fees, not for any replacement: the node refuses them.
    anvil.rpc("anvil_setBalance", [signer, hex(original.gas_limit * original.max_fee_per_gas)])  # type: ignore[operator]
    configure(TX_REPLACE_AFTER_SECONDS=0, CHAIN_DEV_FUNDING=False)
    for _ in range(5):
        result = monitor_pass(CHAIN, hooks=FINISH_HOOKS)
        assert result.replaced == 0 and any("replacement rejected" in e for e in result.errors)
    current = mint_txs()[0]
    assert (current.tx_hash, current.max_fee_per_gas) == (original.tx_hash, original.max_fee_per_gas)
    bump = 100 + get_settings().tx_fee_bump_percent
    refused = [a for a in attempts_of(original.id) if a.tx_hash != original.tx_hash]  # type: ignore[arg-type]
    assert len(refused) == 1  # every retry offered the same fees: one bump over the accepted attempt
    assert refused[0].max_priority_fee_per_gas * 100 < original.max_priority_fee_per_gas * bump * bump // 100  # type: ignore[operator]
    anvil.rpc("anvil_setBalance", [signer, hex(1000 * 10**18)])  # funded again
    assert monitor_pass(CHAIN, hooks=FINISH_HOOKS).replaced == 1
    replaced = mint_txs()[0]
    assert replaced.tx_hash == refused[0].tx_hash and replaced.max_fee_per_gas == refused[0].max_fee_per_gas
    configure(TX_REPLACE_AFTER_SECONDS=600)
    anvil.rpc("evm_setAutomine", [True])
    anvil.mine()
    anvil.run_passes(all_settled)
    assert mint_txs()[0].mined_hash == replaced.tx_hash
    assert_each_minted_once(anvil, address, {"order:1": (wallet, 2)})


def test_signed_transaction_below_a_risen_base_fee_is_repriced_and_mints_once(anvil: ChainUnderTest,
                                                                            people: People) -> None:
    campaign, address = deploy_campaign(anvil, people)
    wallet = new_address(anvil.w3)
    add_mints(campaign.id, [("order:1", wallet, 1)])
    dispatch_pass()
    txmanager._sign_queued(CHAIN, anvil.w3, 10, MonitorResult(), FINISH_HOOKS)  # signed and stored, not sent
    signed = mint_txs()[0]
    assert signed.state is TxState.QUEUED and signed.raw_tx is not None
    # The base fee jumps past the signed max fee before the broadcast.
    anvil.rpc("anvil_setNextBlockBaseFeePerGas", [hex(signed.max_fee_per_gas * 50)])  # type: ignore[operator]
    anvil.mine()
    anvil.run_passes(all_settled, max_passes=10)
    mined = mint_txs()[0]
    assert mined.state is TxState.CONFIRMED and mined.nonce == signed.nonce
    assert mined.max_fee_per_gas > signed.max_fee_per_gas  # type: ignore[operator]
    assert mined.max_fee_per_gas <= get_settings().tx_max_fee_per_gas_wei  # type: ignore[operator]
    assert_each_minted_once(anvil, address, {"order:1": (wallet, 1)})
