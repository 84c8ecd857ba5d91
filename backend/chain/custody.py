"""Custodial wallets for consumers without one, and withdrawals of their tokens to their own wallet.

Design: the token sits at the consumer's custodial address (m/44'/60'/0'/0/<user_id> under CUSTODY_SEED), so
only that key can move it: the contract has no platform-side transfer, and an operator approval for the
platform would itself be a transaction signed (and paid) by the custodial key. A withdrawal is therefore two
transactions queued together through the transaction manager: the platform signer tops the custodial address
up with gas (`gas_topup`, a fixed configurable amount), and the custodial key signs `safeTransferFrom(custodial,
to, id)` (`transfer`), which the manager signs only after the top-up is confirmed (`after_tx_id`). Both have
idempotency keys derived from (campaign, token), so asking twice withdraws once.
"""

from __future__ import annotations

from typing import Any

from eth_utils import is_address, to_checksum_address
from sqlmodel import Session, select

from backend.auth.acl import Actor, signed_in
from backend.chain.deployments import deployed_contract
from backend.chain.keys import CUSTODY_PREFIX, custodial_address
from backend.chain.mints import ZERO, _collection
from backend.chain.models import ChainTransaction, MintedToken, TxPurpose
from backend.chain.txmanager import enqueue, on_finished
from backend.db import session_scope
from backend.errors import NotFound, ValidationFailed
from backend.campaigns.models import Campaign
from backend.settings import get_settings

__all__ = ["custodial_address", "request_withdrawal"]


def request_withdrawal(actor: Actor, campaign_id: int, token_id: int, to_address: str) -> ChainTransaction:
    """Move a token from the actor's custodial address to `to_address`; returns the transfer transaction."""
    actor = signed_in(actor)
    if not is_address(to_address) or to_checksum_address(to_address) == ZERO:
        raise ValidationFailed("Bad address.", fields={"to_address": "must be an Ethereum address"})
    to_address = to_checksum_address(to_address)
    custodial = custodial_address(actor.user_id)
    if to_address == custodial:
        raise ValidationFailed("Bad address.", fields={"to_address": "is your custodial address"})
    with session_scope() as session:
        campaign = session.get(Campaign, campaign_id)
        token = session.get(MintedToken, (campaign_id, token_id))
        # Someone else's token and no token look alike.
        if campaign is None or token is None or token.owner != custodial:
            raise NotFound("Token not found in your custodial wallet.")
        contract = deployed_contract(session, campaign_id, campaign.chain)
        if contract is None:
            raise NotFound("Token not found in your custodial wallet.")
        key = f"withdraw:{campaign.chain}:{contract}:{token_id}"
        topup = enqueue(session, purpose=TxPurpose.GAS_TOPUP, key=f"{key}:gas", chain=campaign.chain,
                        to=custodial, value_wei=get_settings().custody_gas_topup_wei,
                        meta={"for": key})
        data = _collection().encode_abi("safeTransferFrom", args=[custodial, to_address, token_id])
        return enqueue(session, purpose=TxPurpose.TRANSFER, key=key, chain=campaign.chain, to=contract, data=data,
                       signer=f"{CUSTODY_PREFIX}{actor.user_id}", campaign_id=campaign_id, after_tx_id=topup.id,
                       meta={"token_id": token_id, "to": to_address, "from": custodial})


@on_finished(TxPurpose.TRANSFER)
def _transfer_finished(session: Session, tx: ChainTransaction, receipt: Any) -> None:
    if tx.state.value != "confirmed" or tx.campaign_id is None:
        return
    token = session.get(MintedToken, (tx.campaign_id, int(tx.meta["token_id"])))
    if token is not None and token.owner == tx.meta.get("from"):
        token.owner = tx.meta["to"]


def withdrawal_for(session: Session, chain: str, contract: str, token_id: int) -> ChainTransaction | None:
    return session.exec(select(ChainTransaction).where(
        ChainTransaction.idempotency_key == f"withdraw:{chain}:{contract}:{token_id}")).first()
