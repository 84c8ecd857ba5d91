"""order_expirer: reconcile unpaid orders past their TTL with the payment provider, expire the rest (their supply
goes back on sale), then send queued refunds and follow those the provider left pending.

The daemon keeps its first name, order_expirer: job_lease and job_run rows, the ORDER_EXPIRER_BATCH_SIZE setting
and the history rows' actor ("daemon:order_expirer") store it. The module says all it does."""

from __future__ import annotations

from backend.orders.upkeep import expire_orders_and_send_refunds
from jobs.runner import RunContext


def run(ctx: RunContext) -> int:
    return expire_orders_and_send_refunds()
