"""chain_indexer: read our collections' Transfer logs and Seaport sales up to the confirmed head (reorg-safe)."""

from __future__ import annotations

from backend.chain.config import chains
from backend.chain.indexer import index_pass
from jobs.runner import RunContext


def run(ctx: RunContext) -> int:
    total = 0
    for chain in chains():
        result = index_pass(chain, keep_going=ctx.keep_going)
        total += result.items
    return total
