"""fx_rate_refresher: fetch the configured crypto prices from Binance and store them (no-op in static mode)."""

from __future__ import annotations

from backend.fx.service import refresh_rates
from jobs.runner import RunContext


def run(ctx: RunContext) -> int:
    return refresh_rates()
