"""The adapter between orders and backend.chain: request a mint inside the caller's transaction, read mints and
deployments for the order pages and the admin search, derive a custodial wallet, and map mint keys back to
orders. Only the consumer's custody (accounts.py) also calls backend.chain directly. Imports of backend.chain are
made late: web3 costs about a second to import."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

MINT_KEY_PREFIX = "order-"


def mint_key(order_id: int) -> str:
    """The idempotency key of an order's mint: one order, one key, one mint request (UNIQUE in both tables)."""
    return f"{MINT_KEY_PREFIX}{order_id}"


def order_id_from_key(key: object) -> int | None:
    """The order a mint key belongs to, or None for mints that are not orders (rewards, airdrops)."""
    if not isinstance(key, str) or not key.startswith(MINT_KEY_PREFIX):
        return None
    rest = key[len(MINT_KEY_PREFIX):]
    return int(rest) if rest.isdigit() else None


def queue_order_mint(session: Session, order_id: int, campaign_id: int, to_address: str, quantity: int) -> str:
    """Create the order's mint request in `session`'s transaction (idempotent per key); returns the key."""
    from backend.chain.service import queue_mint

    key = mint_key(order_id)
    queue_mint(session, key, campaign_id, to_address, quantity)
    return key


def mint_failed(session: Session, order_id: int) -> bool:
    """Has the order's mint request failed for good (its transaction reverted or was given up)?"""
    from sqlalchemy import select

    from backend.chain.models import MintRequest, MintStatus

    status = session.execute(select(MintRequest.status).where(MintRequest.key == mint_key(order_id))).scalar()
    return status == MintStatus.FAILED


def mint_tx_hash(session: Session, order_id: int) -> str | None:
    """The hash of the order's mint transaction once it is signed, before the mint is confirmed."""
    from backend.chain.service import mint_tx_hash as chain_mint_tx_hash

    return chain_mint_tx_hash(session, mint_key(order_id))


def mint_tx_hashes(session: Session, keys: list[str]) -> dict[str, str]:
    """The current transaction hash of each signed mint request among `keys` (one query for a page of orders)."""
    from sqlalchemy import select

    from backend.chain.models import ChainTransaction, MintRequest

    rows = session.execute(select(MintRequest.key, ChainTransaction.tx_hash)
                           .join(ChainTransaction, ChainTransaction.id == MintRequest.tx_id)
                           .where(MintRequest.key.in_(keys))).all()  # type: ignore[attr-defined]
    return {key: tx_hash for key, tx_hash in rows if tx_hash}


def mint_keys_with_tx_hash(term: str) -> Any:
    """A subquery of the mint keys whose batch transaction's hash contains `term` (lower case): its latest signed
    attempt or any earlier one (a fee bump changes the hash, and the buyer may hold the first)."""
    from sqlalchemy import func, or_, select

    from backend.chain.models import ChainTransaction, MintRequest, TxAttempt, TxPurpose

    attempt_hashes = select(TxAttempt.tx_id).where(func.lower(TxAttempt.tx_hash).contains(term, autoescape=True))
    return (select(MintRequest.key).join(ChainTransaction, ChainTransaction.id == MintRequest.tx_id)
            .where(ChainTransaction.purpose == TxPurpose.MINT_BATCH,
                   or_(func.lower(ChainTransaction.tx_hash).contains(term, autoescape=True),
                       ChainTransaction.id.in_(attempt_hashes))))  # type: ignore[union-attr]


def deployed_contract(session: Session, campaign_id: int, chain: str) -> str | None:
    """The campaign's collection contract on `chain` once deployed (a read of the deployment row, no RPC)."""
    from backend.chain.deployments import deployed_contract as chain_deployed_contract

    return chain_deployed_contract(session, campaign_id, chain)


def address_link(chain: str, address: str | None) -> str:
    """The chain's explorer page of an address; none when the chain has no explorer (or is gone)."""
    from backend.chain.config import chain_config
    from backend.errors import NotFound

    try:
        return chain_config(chain).address_url(address) or ""
    except NotFound:
        return ""


def tx_link(chain: str, tx_hash: str | None) -> str:
    """The chain's explorer link for a transaction; none when the chain has no explorer (or is gone)."""
    from backend.chain.config import chain_config
    from backend.errors import NotFound

    try:
        return chain_config(chain).tx_url(tx_hash) or ""
    except NotFound:
        return ""


def custodial_address(user_id: int) -> str:
    """The platform-held wallet of a consumer who chose "keep it for me"."""
    from backend.chain.custody import custodial_address as chain_custodial_address

    return chain_custodial_address(user_id)
