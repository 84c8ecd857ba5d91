"""tx_monitor: sign and broadcast queued transactions, follow them to N confirmations, replace stuck ones."""

from __future__ import annotations

from backend.chain.config import chains
from backend.chain.finish_hooks import FINISH_HOOKS
from backend.chain.txmanager import monitor_pass
from backend.settings import get_settings
from jobs.runner import RunContext

MAX_PASSES_PER_RUN = 10


def run(ctx: RunContext) -> int:
    total = 0
    for chain in chains():
        for _ in range(MAX_PASSES_PER_RUN):
            result = monitor_pass(chain, get_settings().tx_batch_size, hooks=FINISH_HOOKS)
            total += result.items
            if result.rpc_error:
                # The run fails visibly (job_run + error log); the next tick retries.
                raise ConnectionError(f"chain {chain}: {result.rpc_error}")
            if result.items == 0 or not ctx.keep_going():
                break
    return total
