"""What every sales source hands the ledger: `SaleReport` (one sale as one source saw it, normalised), the
`SalesSource` protocol the chain indexer and the marketplace pollers implement, and their inputs and outputs.

Shared contract with the chain indexer (SALES_SPEC.md): change it only in small, announced steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

NATIVE_CURRENCY = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True, slots=True)
class SaleReport:
    """One sale as one source saw it, already normalised (addresses EIP-55 checksummed, hashes 0x + lowercase)."""

    source: str                 # "chain" | "opensea" | "rarible" (SalesSource.name)
    chain_id: int
    tx_hash: str
    collection: str             # the NFT contract
    token_id: int
    quantity: int               # 1 for ERC-721
    price: int                  # total paid by the buyer, base units of the currency
    currency_address: str       # 0x000...000 for the native coin
    currency_symbol: str
    currency_decimals: int
    marketplace: str            # "opensea", "rarible", "blur", "looksrare", "seaport" (unknown Seaport front end), ...
    seller: str
    buyer: str
    sold_at: datetime           # UTC, tz-aware
    block_number: int | None = None
    log_index: int | None = None  # the OrderFulfilled log index: only the chain source sets it
    external_id: str = ""       # the source's own id (Rarible activity id; OpenSea order hash or "")
    reverted: bool = False      # the source withdrew this sale (Rarible reverted=true; chain reorg)
    # Only the chain source knows these (None/() from marketplaces):
    block_hash: str | None = None
    order_hash: str | None = None
    royalty_receiver: str | None = None   # from royaltyInfo at the sale's block (may be filled later by the calculator)
    royalty_paid: int | None = None       # sum of consideration items to the royalty receiver; None = unknown
    fees: tuple[tuple[str, int], ...] = ()  # (recipient, amount) paid to known marketplace fee recipients


@dataclass(frozen=True, slots=True)
class CollectionRef:
    """One campaign's collection as a source needs it: where it lives and the source's own ids for it."""

    campaign_id: int
    brand_id: int
    chain_id: int
    contract_address: str       # EIP-55 checksummed
    deploy_block: int | None = None
    opensea_slug: str | None = None  # found once per contract (GET /api/v2/chain/{chain}/contract/{address}), stored


@dataclass(slots=True)
class FetchResult:
    """What one `fetch` found: the reports, the problems it skipped past (malformed events, a failed last page),
    and whether the source has nothing more to give right now (False: call again, the budget ran out).

    `commit`, when set, moves the source's cursor past these reports: call it once they are stored (a crash in
    between only means they are read again)."""

    reports: list[SaleReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    done: bool = True
    commit: Callable[[], None] | None = None


@runtime_checkable
class SalesSource(Protocol):
    """A place sales are learnt from. `fetch` reads at most `budget` pages (or block ranges) and never writes the
    ledger itself: the caller hands `FetchResult.reports` to `backend.sales.ledger.record_reports`."""

    name: str

    def fetch(self, collection: CollectionRef, budget: int) -> FetchResult: ...
