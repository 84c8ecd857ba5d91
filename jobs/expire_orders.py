"""order_expirer: reconcile unpaid orders past their TTL with the payment provider, expire the rest (their supply
goes back on sale), and send queued refunds."""

from __future__ import annotations

from backend.orders.upkeep import run_upkeep
from jobs.runner import RunContext


def run(ctx: RunContext) -> int:
    return run_upkeep()
