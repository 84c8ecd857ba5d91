"""The chain services the admin UI calls: deployment status, mint counts and tokens, signer balances and the
transaction list. (Commands live beside their models: deployments, mints, custody.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select

from backend.auth.acl import Actor, Permission, require
from backend.chain.client import get_web3, is_transient
from backend.chain.config import chains
from backend.chain.custody import custodial_address
from backend.chain.deployments import DeploymentStatus, deployment_status, request_deploy, retry_deploy
from backend.chain.keys import platform_address
from backend.chain.mints import MintedCount, TokenRow, list_tokens, mint_tx_hash, minted_count, queue_mint
from backend.chain.models import ChainTransaction, TxPurpose, TxState
from backend.db import session_scope
from backend.errors import Forbidden
from backend.pagination import Page, check_page
from backend.settings import get_settings

__all__ = [
    "DeploymentStatus",
    "MintedCount",
    "SignerBalance",
    "TokenRow",
    "TxRow",
    "custodial_address",
    "deployment_status",
    "list_tokens",
    "list_transactions",
    "mint_tx_hash",
    "minted_count",
    "queue_mint",
    "request_deploy",
    "retry_deploy",
    "signer_balances",
]


def _platform_admin(actor: Actor) -> Actor:
    actor = require(actor, Permission.OPERATIONS_READ)
    if not actor.is_platform_admin:
        raise Forbidden("Only platform admins can see the platform's chain accounts.")
    return actor


@dataclass(frozen=True)
class SignerBalance:
    chain: str
    address: str
    balance_wei: int | None  # None when the node could not be reached
    low: bool
    threshold_wei: int
    error: str = ""


def signer_balances(actor: Actor) -> list[SignerBalance]:
    """The platform signer's balance per chain, flagged when below SIGNER_LOW_BALANCE_WEI (platform admin)."""
    _platform_admin(actor)
    threshold = get_settings().signer_low_balance_wei
    address = platform_address()
    out: list[SignerBalance] = []
    for key in chains():
        try:
            balance = int(get_web3(key).eth.get_balance(address))
        except Exception as exc:  # an unreachable node is shown, not raised
            if not is_transient(exc):
                raise
            out.append(SignerBalance(key, address, None, True, threshold, "node unreachable"))
            continue
        out.append(SignerBalance(key, address, balance, balance < threshold, threshold))
    return out


@dataclass(frozen=True)
class TxRow:
    id: int
    purpose: str
    idempotency_key: str
    chain: str
    status: str
    from_address: str
    to_address: str | None
    nonce: int | None
    tx_hash: str | None
    tx_url: str | None
    value_wei: int
    max_fee_per_gas: int | None
    max_priority_fee_per_gas: int | None
    attempts: int
    error: str
    block_number: int | None
    created_at: datetime
    updated_at: datetime


def list_transactions(actor: Actor, status: TxState | str | None = None, purpose: TxPurpose | str | None = None,
                      chain: str | None = None, limit: int = 20, offset: int = 0) -> Page[TxRow]:
    """Every chain transaction, newest first, filterable (platform admin). Never includes signed bytes."""
    _platform_admin(actor)
    limit, offset = check_page(limit, offset)
    configs = chains()
    with session_scope() as session:
        query = select(ChainTransaction)
        if status:
            query = query.where(ChainTransaction.state == TxState(status))
        if purpose:
            query = query.where(ChainTransaction.purpose == TxPurpose(purpose))
        if chain:
            query = query.where(ChainTransaction.chain == chain)
        total = session.exec(select(func.count()).select_from(query.subquery())).one()
        rows = session.exec(query.order_by(col(ChainTransaction.id).desc()).limit(limit).offset(offset)).all()
        items = [
            TxRow(t.id, t.purpose.value, t.idempotency_key, t.chain, t.state.value, t.from_address,  # type: ignore[arg-type]
                  t.to_address, t.nonce, t.tx_hash,
                  configs[t.chain].tx_url(t.tx_hash) if t.chain in configs else None, t.value_wei,
                  t.max_fee_per_gas, t.max_priority_fee_per_gas, t.attempts, t.error, t.block_number,
                  t.created_at, t.updated_at)
            for t in rows
        ]
        return Page(items, int(total), limit, offset)
