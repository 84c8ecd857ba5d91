"""retention_cleaner: delete delivered outbox events, old job runs, old error-log rows and emails, and KYC document
files past their retention, in bounded batches."""

from __future__ import annotations

from backend.operations.retention import clean_old_rows
from jobs.runner import RunContext

MAX_BATCHES_PER_RUN = 50


def run(ctx: RunContext) -> int:
    return clean_old_rows(max_batches=MAX_BATCHES_PER_RUN, keep_going=ctx.keep_going)
