"""royalty_calculator: royalty owed (royaltyInfo at the sale's block) and paid (from the chain) of due sales."""

from __future__ import annotations

from backend.chain.config import chains
from backend.sales.royalties import calculate_pass
from jobs.runner import RunContext

MAX_PASSES_PER_RUN = 10


def run(ctx: RunContext) -> int:
    total = 0
    for chain in chains():
        for _ in range(MAX_PASSES_PER_RUN):
            result = calculate_pass(chain, keep_going=ctx.keep_going)
            total += result.items
            if result.items == 0 or not ctx.keep_going():
                break
    return total
