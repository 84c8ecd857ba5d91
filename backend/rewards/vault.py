"""The brand's RewardVault: requested on first use, deployed by the contract deployer through the transaction manager
(its finish hook stores the address), funded and pushed from the admin, read back for balances and claim events.

One vault per (brand, chain) holds every payout reward of that brand on that chain; `token == address(0)` is the
chain's own coin. The platform signer is both the vault's admin and its PLATFORM_ROLE (the brand has no key here).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_utils import to_checksum_address
from sqlmodel import Session, col, select
from web3 import Web3

from backend.chain.keys import platform_address
from backend.chain.models import ChainTransaction, TxPurpose, TxState
from backend.chain.txmanager import enqueue
from backend.db import session_scope, utcnow
from backend.rewards.models import RewardVaultRow
from backend.settings import get_settings
from backend.workflow.machines import VaultState
from backend.workflow.sql import claim_batch, insert_ignore
from backend.workflow.transitions import transition
from contracts.artifacts import load_artifact

VAULT = "RewardVault"
DEPLOYER = "daemon:contract_deployer"
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


@lru_cache(maxsize=1)
def vault_abi() -> list[Any]:
    return load_artifact(VAULT)["abi"]


def vault_contract(w3: Web3 | None = None, address: str | None = None) -> Any:
    """A web3 contract object for the vault ABI (bound to `address` on `w3`, or unbound for encoding calls)."""
    w3 = w3 or Web3()
    return w3.eth.contract(address=to_checksum_address(address), abi=vault_abi()) if address else w3.eth.contract(
        abi=vault_abi())


def token_arg(currency_address: str | None) -> str:
    """The vault's `token` argument: the zero address for the chain's own coin."""
    return to_checksum_address(currency_address) if currency_address else ZERO_ADDRESS


def request_vault(session: Session, brand_id: int, chain: str) -> RewardVaultRow:
    """The brand's vault row on `chain`, requested now if there is none (the contract deployer deploys it)."""
    insert_ignore(session, RewardVaultRow.__table__, {"brand_id": brand_id, "chain": chain,  # type: ignore[attr-defined]
                                                      "state": VaultState.REQUESTED.value, "version": 0,
                                                      "attempt": 0, "claims_next_block": 0, "error": "",
                                                      "created_at": utcnow(), "updated_at": utcnow()},
                  ["brand_id", "chain"])
    return session.exec(select(RewardVaultRow).where(RewardVaultRow.brand_id == brand_id,
                                                     RewardVaultRow.chain == chain)
                        .execution_options(populate_existing=True)).one()


def vault_of(session: Session, brand_id: int, chain: str) -> RewardVaultRow | None:
    return session.exec(select(RewardVaultRow).where(RewardVaultRow.brand_id == brand_id,
                                                     RewardVaultRow.chain == chain)).first()


def constructor_data() -> str:
    artifact = load_artifact(VAULT)
    signer = platform_address()
    factory = Web3().eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    return factory.constructor(signer, signer).data_in_transaction


def vault_deploy_pass(batch_size: int | None = None) -> int:
    """Queue the deploy transaction of up to `batch_size` requested vaults (requested -> deploying). Run by the
    contract deployer beside the collections' deploy pass."""
    batch = batch_size or get_settings().deploy_batch_size
    with session_scope() as session:
        rows = [row[0] for row in claim_batch(
            session, select(RewardVaultRow).where(RewardVaultRow.state == VaultState.REQUESTED)
            .order_by(col(RewardVaultRow.id)), batch)]
        for vault in rows:
            vault.attempt += 1
            tx = enqueue(session, purpose=TxPurpose.DEPLOY, key=f"vault-deploy:{vault.id}:{vault.attempt}",
                         chain=vault.chain, to=None, data=constructor_data(),
                         meta={"vault_id": vault.id, "brand_id": vault.brand_id})
            vault.tx_id = tx.id
            session.add(vault)
            session.flush()
            transition(session, vault, "start_deploy", actor=DEPLOYER, reason=f"transaction {tx.id}")
        return len(rows)


def vault_deploy_finished(session: Session, tx: ChainTransaction, receipt: Any) -> None:
    """Finish step of a vault's deploy transaction: its address (deploying -> deployed), or the error (-> failed)."""
    vault = session.get(RewardVaultRow, tx.meta.get("vault_id"))
    if vault is None or vault.tx_id != tx.id or vault.state is not VaultState.DEPLOYING:
        return
    if tx.state is TxState.CONFIRMED and tx.contract_address:
        transition(session, vault, "confirm_deploy", actor=DEPLOYER, reason=tx.contract_address,
                   also={"address": tx.contract_address, "deploy_block": tx.block_number,
                         "claims_next_block": tx.block_number or 0, "error": ""})
    else:
        transition(session, vault, "fail_deploy", actor=DEPLOYER, reason=tx.error or tx.state.value,
                   also={"error": (tx.error or tx.state.value)[:500]})




# -- reading the vault ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VaultBalances:
    balance: int  # what the vault holds in the currency
    outstanding: int  # allocated, not yet claimed or paid out
    unallocated: int  # what `allocate` can still hand out


def read_balances(w3: Web3, address: str, currency_address: str | None) -> VaultBalances:
    """The vault's books for one currency, at the latest block (network calls: never inside a DB transaction)."""
    vault = vault_contract(w3, address)
    token = token_arg(currency_address)
    if token == ZERO_ADDRESS:
        balance = int(w3.eth.get_balance(vault.address))
    else:
        erc20 = w3.eth.contract(address=token, abi=load_artifact("TestToken")["abi"])
        balance = int(erc20.functions.balanceOf(vault.address).call())
    return VaultBalances(balance, int(vault.functions.outstanding(token).call()),
                         int(vault.functions.unallocated(token).call()))


def erc20_approve_data(spender: str, amount: int) -> str:
    """Calldata of ERC-20 `approve(spender, amount)` (TestToken's ABI: a plain OpenZeppelin ERC20)."""
    erc20 = Web3().eth.contract(abi=load_artifact("TestToken")["abi"])
    return erc20.encode_abi("approve", args=[to_checksum_address(spender), amount])


def allocation_of(w3: Web3, address: str, currency_address: str | None, holder: str) -> int:
    return int(vault_contract(w3, address).functions.allocationOf(token_arg(currency_address),
                                                                  to_checksum_address(holder)).call())
