"""Test helpers for rewards: token holdings as the chain indexer records them, and a perk ready to redeem."""

from __future__ import annotations

from typing import Any

from backend.campaigns.models import Campaign
from backend.chain.models import TokenOwner
from backend.db import session_scope
from backend.rewards import service
from backend.rewards.models import Reward
from tests.factories import record_deployed_contract

CHAIN_ID = 31337


def hold(campaign: Campaign, token_id: int, owner: str, *, collection: str | None = None) -> None:
    """Record (or move) a token in the indexer's token-owner table, as the indexer does on a Transfer log."""
    collection = collection or "0x" + f"c0ffee{campaign.id:034x}"
    with session_scope() as session:
        row = session.get(TokenOwner, (CHAIN_ID, collection, token_id))
        if row is None:
            session.add(TokenOwner(chain_id=CHAIN_ID, collection=collection, token_id=token_id,
                                   campaign_id=campaign.id, owner=owner, block_number=1, log_index=token_id,  # type: ignore[arg-type]
                                   tx_hash="0x" + "ab" * 32))
        else:
            row.owner = owner
            session.add(row)


def perk(admin: Any, campaign: Campaign, **fields: Any) -> Reward:
    return service.define_reward(admin, campaign.id, {  # type: ignore[arg-type]
        "kind": "perk", "title": "A free drink", "use_period": "day", "uses_per_period": 1,
        "locations": ["Main St.", "Harbour"]} | fields)


__all__ = ["CHAIN_ID", "hold", "perk", "record_deployed_contract"]
