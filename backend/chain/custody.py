"""Custodial wallets for consumers without one, and withdrawals of their tokens to their own wallet.

Design: the token sits at the consumer's custodial address (m/44'/60'/0'/0/<user_id> under CUSTODY_SEED), so
only that key can move it: the contract has no platform-side transfer, and an operator approval for the
platform would itself be a transaction signed (and paid) by the custodial key. A withdrawal is therefore two
transactions queued together through the transaction manager: the platform signer tops the custodial address
up with gas (`gas_topup`, a fixed configurable amount), and the custodial key signs `safeTransferFrom(custodial,
to, id)` (`transfer`), which the manager signs only after the top-up is confirmed (`after_tx_id`). Both have
idempotency keys derived from (campaign, token) and the attempt, so asking twice withdraws once.

A failed attempt (reverted, e.g. to a contract that cannot receive the token, or never sent) can be tried again:
the next attempt gets its own idempotency keys (`...:attempt-2`), the failed one stays closed in its final state
and points at its successor (`meta.retried_as`). While an attempt is in flight, asking again returns it.
"""

from __future__ import annotations

from typing import Any

from eth_utils import is_address, to_checksum_address
from sqlalchemy import or_
from sqlmodel import Session, select

from backend.campaigns.models import Campaign
from backend.chain.common import ZERO_ADDRESS, collection_contract
from backend.chain.deployments import deployed_contract
from backend.chain.keys import CUSTODY_PREFIX, custodial_address
from backend.chain.models import ChainTransaction, MintedToken, TxPurpose, TxState
from backend.chain.txmanager import enqueue
from backend.errors import NotFound, ValidationFailed
from backend.settings import get_settings
from backend.workflow.sql import dialect_name

__all__ = ["custodial_address", "queue_withdrawal"]


def queue_withdrawal(session: Session, user_id: int, campaign_id: int, token_id: int,
                     to_address: str) -> ChainTransaction:
    """Queue the move of a token from the user's custodial address to `to_address`, in the caller's transaction;
    returns the transfer transaction. Only the chain's side: whether this person may take this token out (their
    password, the order's payment, KYC) is `backend.orders.accounts.withdraw_token`'s to check, in the same
    transaction, so nothing else should call this."""
    if not is_address(to_address) or to_checksum_address(to_address) == ZERO_ADDRESS:
        raise ValidationFailed("Bad address.", fields={"to_address": "must be an Ethereum address"})
    to_address = to_checksum_address(to_address)
    custodial = custodial_address(user_id)
    if to_address == custodial:
        raise ValidationFailed("Bad address.", fields={"to_address": "is your custodial address"})
    campaign = session.get(Campaign, campaign_id)
    token = _locked_token(session, campaign_id, token_id)  # one attempt at a time per token
    # Someone else's token and no token look alike.
    if campaign is None or token is None or token.owner != custodial:
        raise NotFound("Token not found in your custodial wallet.")
    contract = deployed_contract(session, campaign_id, campaign.chain)
    if contract is None:
        raise NotFound("Token not found in your custodial wallet.")
    base = withdrawal_key(campaign.chain, contract, token_id)
    previous = withdrawal_for(session, campaign.chain, contract, token_id)
    if previous is not None and previous.state not in FAILED_STATES:
        return previous  # in flight (or done): asking again is the same withdrawal
    attempt = 1 if previous is None else int(previous.meta.get("attempt", 1)) + 1
    key = base if attempt == 1 else f"{base}:attempt-{attempt}"
    topup = enqueue(session, purpose=TxPurpose.GAS_TOPUP, key=f"{key}:gas", chain=campaign.chain,
                    to=custodial, value_wei=get_settings().custody_gas_topup_wei,
                    meta={"for": key})
    data = collection_contract().encode_abi("safeTransferFrom", args=[custodial, to_address, token_id])
    transfer = enqueue(session, purpose=TxPurpose.TRANSFER, key=key, chain=campaign.chain, to=contract,
                       data=data, signer=f"{CUSTODY_PREFIX}{user_id}", campaign_id=campaign_id,
                       after_tx_id=topup.id,
                       meta={"token_id": token_id, "to": to_address, "from": custodial, "attempt": attempt})
    if previous is not None:  # the failed attempt stays closed, and says what replaced it
        previous.meta = {**previous.meta, "retried_as": transfer.id}
        session.add(previous)
    return transfer


# A withdrawal attempt in one of these states is over without moving the token: it may be tried again.
FAILED_STATES = frozenset({TxState.REVERTED, TxState.FAILED})


def withdrawal_key(chain: str, contract: str, token_id: int) -> str:
    return f"withdraw:{chain}:{contract}:{token_id}"


def _locked_token(session: Session, campaign_id: int, token_id: int) -> MintedToken | None:
    query = select(MintedToken).where(MintedToken.campaign_id == campaign_id, MintedToken.token_id == token_id)
    if dialect_name(session) == "postgresql":
        query = query.with_for_update()
    return session.exec(query).first()


def transfer_finished(session: Session, tx: ChainTransaction, receipt: Any) -> None:
    if tx.state.value != "confirmed" or tx.campaign_id is None:
        return
    token = session.get(MintedToken, (tx.campaign_id, int(tx.meta["token_id"])))
    if token is not None and token.owner == tx.meta.get("from"):
        token.owner = tx.meta["to"]


def withdrawal_for(session: Session, chain: str, contract: str, token_id: int) -> ChainTransaction | None:
    """The token's latest withdrawal attempt (its transfer transaction), or None."""
    base = withdrawal_key(chain, contract, token_id)
    return session.exec(
        select(ChainTransaction)
        .where(ChainTransaction.purpose == TxPurpose.TRANSFER,
               or_(ChainTransaction.idempotency_key == base,
                   ChainTransaction.idempotency_key.startswith(f"{base}:attempt-")))  # type: ignore[union-attr]
        .order_by(ChainTransaction.id.desc())  # type: ignore[union-attr]
    ).first()
