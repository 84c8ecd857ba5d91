"""Who holds our tokens, as the chain indexer last saw the canonical chain: now (`token_owner`) and at a past block
(`token_transfer` history). For custody ("who owns token X") and rewards ("which tokens does A hold", "holders at
block B" for a payout snapshot). Every answer is as of the indexer's checkpoint (`indexed_through`): ask for a block
it has not reached and you get NotIndexedYet rather than a silently incomplete snapshot."""

from __future__ import annotations

from collections import Counter

from eth_utils import to_checksum_address
from sqlalchemy import and_, func, select
from sqlmodel import Session

from backend.chain.models import IndexerCheckpoint, TokenOwner, TokenTransfer
from backend.errors import Conflict


class NotIndexedYet(Conflict):
    """The indexer has not read that block of that collection yet."""


def campaign_collection(session: Session, campaign_id: int) -> tuple[int, str] | None:
    """(chain id, collection) the indexer follows for a campaign; None until its contract is deployed and seen."""
    row = session.execute(select(IndexerCheckpoint.chain_id, IndexerCheckpoint.collection)
                          .where(IndexerCheckpoint.campaign_id == campaign_id)).first()
    return (int(row[0]), row[1]) if row else None


def indexed_through(session: Session, chain_id: int, collection: str) -> int | None:
    """The last block of `collection` the indexer has read (None: not tracked, or nothing read yet)."""
    next_block = session.execute(select(IndexerCheckpoint.next_block).where(
        IndexerCheckpoint.chain_id == chain_id,
        IndexerCheckpoint.collection == to_checksum_address(collection))).scalar_one_or_none()
    return None if next_block is None or next_block == 0 else int(next_block) - 1


def owner_of(session: Session, chain_id: int, collection: str, token_id: int) -> str | None:
    """The current owner of a token (checksummed); None if the indexer has seen no transfer of it."""
    return session.execute(select(TokenOwner.owner).where(
        TokenOwner.chain_id == chain_id, TokenOwner.collection == to_checksum_address(collection),
        TokenOwner.token_id == token_id)).scalar_one_or_none()


def tokens_of(session: Session, chain_id: int, collection: str, owner: str) -> list[int]:
    """The token ids `owner` holds in `collection` now, ascending."""
    rows = session.execute(select(TokenOwner.token_id).where(
        TokenOwner.chain_id == chain_id, TokenOwner.collection == to_checksum_address(collection),
        TokenOwner.owner == to_checksum_address(owner)).order_by(TokenOwner.token_id)).scalars()
    return [int(t) for t in rows]


def holders(session: Session, chain_id: int, collection: str) -> dict[str, int]:
    """{owner: number of tokens held now} (the zero address never holds: there is no burn, and a burn would show it)."""
    rows = session.execute(select(TokenOwner.owner, func.count()).where(
        TokenOwner.chain_id == chain_id, TokenOwner.collection == to_checksum_address(collection))
        .group_by(TokenOwner.owner)).all()
    return {owner: int(count) for owner, count in rows}


def owners_at(session: Session, chain_id: int, collection: str, block: int) -> dict[int, str]:
    """{token id: owner} at the end of `block`: each token's last transfer at or before it. NotIndexedYet if the
    indexer has not read that far."""
    through = indexed_through(session, chain_id, collection)
    if through is None or block > through:
        raise NotIndexedYet(f"{collection} is indexed through block {through}, not {block}")
    ranked = (
        select(TokenTransfer.token_id, TokenTransfer.to_address, func.row_number().over(
            partition_by=TokenTransfer.token_id,
            order_by=(TokenTransfer.block_number.desc(), TokenTransfer.log_index.desc())).label("rank"))
        .where(and_(TokenTransfer.chain_id == chain_id, TokenTransfer.collection == to_checksum_address(collection),
                    TokenTransfer.block_number <= block))
        .subquery()
    )
    rows = session.execute(select(ranked.c.token_id, ranked.c.to_address).where(ranked.c.rank == 1)).all()
    zero = "0x0000000000000000000000000000000000000000"
    return {int(token_id): owner for token_id, owner in rows if owner != zero}


def holders_at(session: Session, chain_id: int, collection: str, block: int) -> dict[str, int]:
    """{owner: tokens held} at the end of `block` (a payout snapshot)."""
    return dict(Counter(owners_at(session, chain_id, collection, block).values()))
