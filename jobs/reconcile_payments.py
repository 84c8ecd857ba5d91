"""reconciler: nightly, tie the payment provider's charges and refunds, orders and the chain together (exceptions go to
Sentry and the error log; the report is on the admin Reconciliation page)."""

from __future__ import annotations

from backend.reconciliation.models import RunTrigger
from backend.reconciliation.service import run_reconciliation
from jobs.runner import RunContext


def run(ctx: RunContext) -> int:
    return run_reconciliation(trigger=RunTrigger.NIGHTLY).orders_checked
