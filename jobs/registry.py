"""Every daemon and its schedule, in one place. A daemon is added by the issue that implements its work.

Still to come (each with its issue): opensea_sales_poller,
rarible_sales_poller, royalty_calculator, reward_distributor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jobs import (
    clean_old_rows,
    deploy_contracts,
    dispatch_mints,
    expire_orders,
    monitor_transactions,
    refresh_fx_rates,
    relay_outbox,
    send_emails,
)
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
    Daemon("order_expirer", expire_orders.run, 15, "expire unpaid orders, reconcile with the payment provider, send refunds"),
    Daemon("contract_deployer", deploy_contracts.run, 5, "queue deploy transactions of requested contracts"),
    Daemon("mint_dispatcher", dispatch_mints.run, 2, "batch pending mint requests into airdrop transactions"),
    Daemon("tx_monitor", monitor_transactions.run, 2, "sign, send, confirm and replace chain transactions"),
    Daemon("email_sender", send_emails.run, 5, "deliver receipts and account links by email"),
)

BY_NAME: dict[str, Daemon] = {d.name: d for d in DAEMONS}
