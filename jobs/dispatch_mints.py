"""mint_dispatcher: group pending mint requests per campaign into bounded airdrop transactions."""

from __future__ import annotations

from backend.chain.mints import dispatch_pass
from backend.settings import get_settings
from jobs.runner import RunContext

MAX_PASSES_PER_RUN = 5


def run(ctx: RunContext) -> int:
    settings = get_settings()
    total = 0
    for _ in range(MAX_PASSES_PER_RUN):
        submitted = dispatch_pass(settings.mint_dispatch_max_requests, settings.mint_batch_size)
        total += submitted
        if submitted < settings.mint_dispatch_max_requests or not ctx.keep_going():
            break
    return total
