"""reward_distributor: open due payout periods, snapshot holders and allocate their shares in the brand's vault
(through the transaction manager), and read claims back from the chain."""

from __future__ import annotations

from backend.rewards.payouts import distributor_pass
from jobs.runner import RunContext


def run(ctx: RunContext) -> int:
    return distributor_pass(keep_going=ctx.keep_going).items
