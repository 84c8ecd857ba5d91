"""Who holds which token, for rewards: read from the chain indexer's token-owner table (backend.chain.holders), so
tokens sold on any marketplace change hands here too.

A holder is a signed-in account (its tokens sit at its custodial address, derived from CUSTODY_XPUB) or a wallet that
proved its address with a SIWE signature. For a wallet, what the indexer says is cross-checked with `ownerOf` on chain
at the latest confirmed block: a token counts only where both agree, so a token just sold is gone at once even if
the indexer has not caught up, and a node answering garbage cannot invent holdings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address
from sqlalchemy import Exists, bindparam, exists, select
from sqlmodel import Session

from backend.campaigns.models import Campaign
from backend.chain.keys import custodial_address
from backend.chain.models import TokenOwner
from backend.db import session_scope

OWNER_OF_ABI = [{"type": "function", "name": "ownerOf", "stateMutability": "view",
                 "inputs": [{"name": "tokenId", "type": "uint256"}],
                 "outputs": [{"name": "", "type": "address"}]}]


@dataclass(frozen=True)
class Holder:
    """Who asks for their perks: the addresses whose tokens are theirs."""

    addresses: tuple[str, ...]
    user_id: int | None = None  # a signed-in account (custodial tokens)
    wallet: bool = False  # a wallet proof: cross-check ownership on chain


def account_holder(user_id: int) -> Holder:
    return Holder((custodial_address(user_id),), user_id=user_id)


def wallet_holder(address: str) -> Holder:
    return Holder((to_checksum_address(address),), wallet=True)


@dataclass(frozen=True)
class HeldToken:
    campaign_id: int
    token_id: int
    owner: str
    chain: str  # the campaign's chain key
    chain_id: int
    collection: str


def indexed_tokens(session: Session, addresses: Sequence[str], campaign_ids: Sequence[int] | None = None
                   ) -> list[HeldToken]:
    """Tokens the indexer says `addresses` hold now, by campaign and token id."""
    if not addresses:
        return []
    query = (select(TokenOwner.campaign_id, TokenOwner.token_id, TokenOwner.owner, Campaign.chain,
                    TokenOwner.chain_id, TokenOwner.collection)
             .join(Campaign, Campaign.id == TokenOwner.campaign_id)
             .where(TokenOwner.owner.in_([to_checksum_address(a) for a in addresses])))  # type: ignore[attr-defined]
    if campaign_ids is not None:
        query = query.where(TokenOwner.campaign_id.in_(list(campaign_ids)))  # type: ignore[attr-defined]
    rows = session.execute(query.order_by(TokenOwner.campaign_id, TokenOwner.token_id)).all()
    return [HeldToken(int(c), int(t), o, chain, int(cid), coll) for c, t, o, chain, cid, coll in rows]


def holds(session: Session, campaign_id: int, token_id: int, owner: str) -> bool:
    """Does `owner` hold the token now, as the indexer last saw it? (Asked with the owner, so that the lookup runs on
    token_owner's (campaign_id, owner) index rather than over every token of the campaign.)"""
    return session.connection().execute(_HOLDS, {"campaign_id": campaign_id, "token_id": token_id,
                                    "owner": owner}).first() is not None


def holds_clause(campaign_id: Any) -> Exists:
    """`holds` as an EXISTS for a statement of its caller's (bind parameters `token_id` and `owner`)."""
    return exists().where(TokenOwner.campaign_id == campaign_id, TokenOwner.owner == bindparam("owner"),
                          TokenOwner.token_id == bindparam("token_id"))


_HOLDS = select(TokenOwner.token_id).where(TokenOwner.campaign_id == bindparam("campaign_id"),
                                           TokenOwner.owner == bindparam("owner"),
                                           TokenOwner.token_id == bindparam("token_id"))


def owners_on_chain(tokens: Sequence[HeldToken]) -> dict[tuple[int, int], str | None]:
    """{(campaign id, token id): ownerOf at the latest confirmed block} (None where the call failed or reverted);
    Unavailable (503) when the chain's node does not answer at all. Network calls: never inside a database
    transaction."""
    from backend.chain.client import get_web3, is_transient, node_unavailable
    from backend.chain.config import chain_config

    found: dict[tuple[int, int], str | None] = {}
    blocks: dict[str, int] = {}
    for token in tokens:
        try:
            w3 = get_web3(token.chain)
            if token.chain not in blocks:
                confirmations = max(1, chain_config(token.chain).confirmations)
                blocks[token.chain] = max(0, int(w3.eth.block_number) - (confirmations - 1))
        except Exception as exc:
            if not is_transient(exc):
                raise
            raise node_unavailable() from exc
        contract = w3.eth.contract(address=to_checksum_address(token.collection), abi=OWNER_OF_ABI)
        try:
            owner = contract.functions.ownerOf(token.token_id).call(block_identifier=blocks[token.chain])
            found[(token.campaign_id, token.token_id)] = to_checksum_address(owner)
        except Exception:  # noqa: BLE001 - a revert (burnt, unknown) or a node error: not provably held
            found[(token.campaign_id, token.token_id)] = None
    return found


def held_tokens(holder: Holder, campaign_ids: Sequence[int] | None = None) -> list[HeldToken]:
    """The tokens `holder` holds now: the indexer's answer, and for a wallet only where the chain agrees."""
    with session_scope() as session:
        tokens = indexed_tokens(session, holder.addresses, campaign_ids)
    if not holder.wallet or not tokens:
        return tokens
    on_chain = owners_on_chain(tokens)
    return [t for t in tokens if on_chain.get((t.campaign_id, t.token_id)) == t.owner]
