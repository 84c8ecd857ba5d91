"""Every daemon and its schedule, in one place. A daemon is added by the issue that implements its work.

Still to come (each with its issue): contract_deployer, mint_dispatcher, tx_monitor, opensea_sales_poller,
rarible_sales_poller, royalty_calculator, reward_distributor, order_expirer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jobs import clean_old_rows, refresh_fx_rates, relay_outbox
from jobs.runner import RunContext


@dataclass(frozen=True)
class Daemon:
    name: str
    run: Callable[[RunContext], int]  # returns the number of items processed
    every_s: float
    description: str

    @property
    def schedule(self) -> str:
        s = self.every_s
        return f"every {int(s)} s" if s < 120 else f"every {int(s // 60)} min"


DAEMONS: tuple[Daemon, ...] = (
    Daemon("outbox_relay", relay_outbox.run, 5, "deliver outbox events to subscribers"),
    Daemon("fx_rate_refresher", refresh_fx_rates.run, 60, "fetch ETH/POL/USDC prices in USD and EUR"),
    Daemon("retention_cleaner", clean_old_rows.run, 3600, "delete delivered events, old runs and errors"),
)

BY_NAME: dict[str, Daemon] = {d.name: d for d in DAEMONS}
