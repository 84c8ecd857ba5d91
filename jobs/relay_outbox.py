"""outbox_relay: deliver due outbox events to their subscribers in bounded batches."""

from __future__ import annotations

from backend.settings import get_settings
from backend.workflow.outbox import relay
from jobs.runner import RunContext

MAX_BATCHES_PER_RUN = 40


def run(ctx: RunContext) -> int:
    result = relay(batch_size=get_settings().outbox_batch_size, max_batches=MAX_BATCHES_PER_RUN,
                   keep_going=ctx.keep_going)
    return result.delivered + result.failed
