"""Every daemon and its schedule, in one place. A daemon is added by the issue that implements its work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from jobs import (
    calculate_royalties,
    clean_old_rows,
    deploy_contracts,
    dispatch_mints,
    distribute_rewards,
    expire_orders_and_send_refunds,
    index_chain,
    monitor_transactions,
    poll_opensea_sales,
    poll_rarible_sales,
    reconcile_payments,
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
    # The state machines whose transitions its runs make (machine names; docs/EVENTS.md shows them), e.g. the relay
    # drives orders through the subscribers it runs.
    drives: tuple[str, ...] = field(default=(), kw_only=True)

    @property
    def schedule(self) -> str:
        seconds = self.every_s
        if seconds < 120:
            return f"every {int(seconds)} s"
        return f"every {int(seconds // 60)} min" if seconds < 7200 else f"every {int(seconds // 3600)} h"


DAEMONS: tuple[Daemon, ...] = (
    Daemon("outbox_relay", relay_outbox.run, 5, "deliver outbox events to subscribers", drives=("order",)),
    Daemon("fx_rate_refresher", refresh_fx_rates.run, 60, "fetch ETH/POL/USDC prices in USD and EUR"),
    Daemon("retention_cleaner", clean_old_rows.run, 3600, "delete delivered events, old runs and errors"),
    Daemon("order_expirer", expire_orders_and_send_refunds.run, 15,
           "expire unpaid orders, reconcile with the payment provider, send refunds", drives=("order",)),
    Daemon("contract_deployer", deploy_contracts.run, 5,
           "queue deploy transactions of requested contracts and brands' reward vaults",
           drives=("contract", "reward_vault")),
    Daemon("mint_dispatcher", dispatch_mints.run, 2, "batch pending mint requests into airdrop transactions"),
    Daemon("tx_monitor", monitor_transactions.run, 2, "sign, send, confirm and replace chain transactions",
           drives=("chain_tx", "contract", "reward_vault", "reward_period")),
    Daemon("email_sender", send_emails.run, 5, "deliver receipts and account links by email"),
    Daemon("chain_indexer", index_chain.run, 5, "read transfers, owners and Seaport sales of our collections"),
    Daemon("royalty_calculator", calculate_royalties.run, 10, "royalty owed (at the sale's block) and paid"),
    Daemon("opensea_sales_poller", poll_opensea_sales.run, 60,
           "read OpenSea sale events of deployed collections into the sales ledger"),
    Daemon("rarible_sales_poller", poll_rarible_sales.run, 60,
           "read Rarible SELL activities of deployed collections into the sales ledger"),
    Daemon("reward_distributor", distribute_rewards.run, 30,
           "open due payout periods, allocate holders' shares in the brand's vault, read claims back",
           drives=("reward_period",)),
    Daemon("reconciler", reconcile_payments.run, 24 * 3600,
           "nightly: every paid order minted once or refunded, against the payment provider and the chain"),
)

BY_NAME: dict[str, Daemon] = {d.name: d for d in DAEMONS}
