"""opensea_sales_poller: read a bounded number of OpenSea event pages per collection into the sales ledger (only
when OPENSEA_API_KEY is set)."""

from __future__ import annotations

from backend.sales.polling import poll
from jobs.runner import RunContext


def run(ctx: RunContext) -> int:
    return poll("opensea", keep_going=ctx.keep_going).reports
