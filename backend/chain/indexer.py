"""The chain indexer: reads the `Transfer` logs of every Primsell collection from its deploy block, in bounded block
ranges up to the confirmed head, into `token_transfer` (history) and `token_owner` (now); decodes the Seaport
`OrderFulfilled` events of the same transactions into sales for the ledger (`record_reports`).

Checkpoints: each collection's `indexer_checkpoint.next_block`; collections that are level share one `eth_getLogs`
per range (a newly deployed collection catches up from its deploy block, then joins them). The hash of each range's
last block is kept (`indexed_block`); a pass first checks the newest against the chain and, when it changed (a reorg),
rewinds to the newest kept block the chain still has: the sales recorded from the dropped blocks are reversed through
the ledger, their transfers deleted and their tokens' owners recomputed, and the checkpoints move back. A range whose
last block changes while it is read is dropped and read again.

Confirmations count as in the transaction manager: a block with N-1 blocks on top has N (CHAIN_CONFIRMATIONS).
Order of writes, so that a crash loses nothing: sales go to the ledger first, then the transfers, owners and
checkpoint in one transaction (a range read twice records nothing twice: the ledger and the transfer table are keyed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from eth_abi import decode, encode
from eth_utils import keccak
from sqlalchemy import Table, and_, bindparam, delete, func, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from backend.chain.client import chain_id as chain_id_of
from backend.chain.client import get_web3
from backend.chain.common import ZERO_ADDRESS
from backend.chain.config import chain_config
from backend.chain.forks import find_fork as fork_point
from backend.chain.forks import forget_after, keep_hash, kept_hashes
from backend.chain.mints import TRANSFER_TOPIC
from backend.chain.models import (
    ContractDeployment,
    IndexedBlock,
    IndexerCheckpoint,
    SeaportDeployment,
    TokenOwner,
    TokenTransfer,
)
from backend.chain.reader import ChainReader, ChainReadError
from backend.chain.seaport import (
    NATIVE,
    ORDER_FULFILLED_TOPIC,
    OrderFulfilled,
    TokenSale,
    decode_order_fulfilled,
    nft_transfers_match,
    parse_addresses,
    parse_fee_recipients,
    token_sales,
)
from backend.db import session_scope, utcnow
from backend.errors import ValidationFailed
from backend.sales.currencies import currency_of
from backend.sales.ledger import IngestResult, record_reports
from backend.sales.models import Sale, SaleSource, SaleStatus
from backend.sales.normalise import checksum_address
from backend.sales.reports import CollectionRef, FetchResult, SaleReport
from backend.settings import get_settings
from backend.workflow.machines import ContractState
from backend.workflow.sql import dialect_name, insert_ignore

log = logging.getLogger(__name__)

SOURCE = "chain"
ROYALTY_INFO = bytes.fromhex("2a55205a")  # royaltyInfo(uint256,uint256)
ROYALTY_UPDATED_TOPIC = "0x" + keccak(text="DefaultRoyaltyUpdated(address,uint96)").hex()
SYMBOL, DECIMALS = bytes.fromhex("95d89b41"), bytes.fromhex("313ce567")
MAX_TOKEN_ID = 2**63 - 1  # token_owner.token_id is a BIGINT; our collections' ids stop at 2^32 - 1


@dataclass(frozen=True, slots=True)
class Transfer:
    collection: str  # checksummed
    campaign_id: int
    token_id: int
    from_address: str
    to_address: str
    block_number: int
    log_index: int
    tx_hash: str
    block_hash: str


@dataclass(frozen=True, slots=True)
class Tracked:
    """A collection the indexer follows, with its checkpoint."""

    collection: str  # checksummed
    campaign_id: int
    deploy_block: int
    next_block: int

    @property
    def lower(self) -> str:
        return self.collection.lower()


@dataclass
class Scan:
    """What one block range holds for the collections read."""

    lo: int
    hi: int
    hi_hash: str
    collections: list[Tracked]
    transfers: list[Transfer] = field(default_factory=list)
    reports: list[SaleReport] = field(default_factory=list)
    logs: int = 0  # Transfer and OrderFulfilled logs read
    fills: int = 0  # OrderFulfilled logs of our collections' transactions
    errors: list[str] = field(default_factory=list)


@dataclass
class IndexResult:
    ranges: int = 0
    logs: int = 0
    transfers: int = 0
    sales: int = 0  # sale reports handed to the ledger
    reversed: int = 0  # sales of dropped blocks reported reverted
    rewound_to: int | None = None  # the block a reorg rewound the checkpoints to
    retried: int = 0  # ranges read again because the chain changed under them
    safe_head: int | None = None
    done: bool = False  # every collection is indexed up to the confirmed head
    errors: list[str] = field(default_factory=list)
    ingest: IngestResult = field(default_factory=IngestResult)

    @property
    def items(self) -> int:
        return self.transfers + self.sales + self.reversed


# -- configuration -------------------------------------------------------------------------------------------------

def seaport_addresses(session: Session, chain_id: int) -> list[str]:
    """Lower-case Seaport addresses to read on `chain_id`: SEAPORT_ADDRESSES plus the recorded deployments."""
    configured = list(parse_addresses(",".join(get_settings().seaport_addresses)))
    recorded = session.execute(select(SeaportDeployment.address)
                               .where(SeaportDeployment.chain_id == chain_id)).scalars()
    return list(dict.fromkeys(configured + [a.lower() for a in recorded]))


def fee_recipients() -> dict[str, str]:
    return parse_fee_recipients(get_settings().marketplace_fee_recipients)


def sync_checkpoints(session: Session, chain: str, chain_id: int) -> None:
    """Start a checkpoint at the deploy block of every collection deployed on `chain` that has none."""
    rows = session.execute(select(ContractDeployment.contract_address, ContractDeployment.campaign_id,
                                  ContractDeployment.deploy_block).where(
        ContractDeployment.chain == chain, ContractDeployment.state == ContractState.DEPLOYED,
        ContractDeployment.contract_address.is_not(None))).all()  # type: ignore[union-attr]
    now = utcnow()
    values = [{"chain_id": chain_id, "collection": checksum_address(address), "campaign_id": campaign_id,
               "deploy_block": block or 0, "next_block": block or 0, "updated_at": now}
              for address, campaign_id, block in rows]
    if values:
        insert_ignore(session, IndexerCheckpoint.__table__, values, ["chain_id", "collection"])


def _any_deployed(session: Session, chain: str) -> bool:
    return session.execute(select(ContractDeployment.id).where(
        ContractDeployment.chain == chain, ContractDeployment.state == ContractState.DEPLOYED).limit(1)).first() \
        is not None


def _tracked(session: Session, chain_id: int, collections: Sequence[str] | None = None) -> list[Tracked]:
    query = select(IndexerCheckpoint.collection, IndexerCheckpoint.campaign_id, IndexerCheckpoint.deploy_block,
                   IndexerCheckpoint.next_block).where(IndexerCheckpoint.chain_id == chain_id)
    if collections is not None:
        query = query.where(IndexerCheckpoint.collection.in_(list(collections)))  # type: ignore[attr-defined]
    return [Tracked(c, int(campaign), int(deploy), int(nxt)) for c, campaign, deploy, nxt in session.execute(query)]


# -- reading one range ---------------------------------------------------------------------------------------------

@lru_cache(maxsize=4096)
def _cached_checksum(lower: str) -> str:
    return checksum_address(lower)


def _transfers(logs: Iterable[dict[str, Any]], by_address: dict[str, Tracked]) -> list[Transfer]:
    """ERC-721 Transfer logs (all three arguments indexed) read straight from their topics; an ERC-20 Transfer (two
    topics) of the same address is not ours to read."""
    out = []
    for entry in logs:
        topics = entry["topics"]
        if len(topics) != 4:
            continue
        tracked = by_address[entry["address"]]
        if entry["blockNumber"] < tracked.next_block:
            continue  # read already (this collection was ahead of the range's start)
        token_id = int(topics[3], 16)
        if token_id > MAX_TOKEN_ID:
            raise ChainReadError(f"{tracked.collection}: token id {token_id} is beyond what token_owner stores")
        out.append(Transfer(tracked.collection, tracked.campaign_id, token_id,
                            _cached_checksum("0x" + topics[1][-40:]), _cached_checksum("0x" + topics[2][-40:]),
                            entry["blockNumber"], entry["logIndex"], entry["transactionHash"], entry["blockHash"]))
    return out


def _royalty_receivers(reader: ChainReader, wanted: Sequence[tuple[str, int, int, int]],
                       errors: list[str]) -> dict[tuple[str, int, int, int], tuple[str, int] | None]:
    """royaltyInfo(token id, price) of each (collection, token id, price, block) AT that block:
    {key: (receiver lower case, amount)}, None where the call failed."""
    results = reader.calls([(collection, ROYALTY_INFO + encode(["uint256", "uint256"], [token_id, price]), block)
                            for collection, token_id, price, block in wanted])
    out: dict[tuple[str, int, int, int], tuple[str, int] | None] = {}
    for key, result in zip(wanted, results, strict=True):
        if isinstance(result, Exception) or len(result) < 64:
            errors.append(f"royaltyInfo({key[1]}, {key[2]}) on {key[0]} at block {key[3]} failed: {result!s:.200}")
            out[key] = None
            continue
        receiver, amount = decode(["address", "uint256"], result[:64])
        out[key] = (receiver.lower(), int(amount))
    return out


_currencies: dict[tuple[int, str], tuple[str, int]] = {}


def currency_info(reader: ChainReader, chain_id: int, currency: str, block: int) -> tuple[str, int]:
    """(symbol, decimals) of the native coin or an ERC-20: an allow-listed token's from the list, any other token's
    from the token itself (asked once per process; shown, never used to price it)."""
    known = currency_of(chain_id, None if currency.lower() == NATIVE else currency)
    if known is not None:
        return known.symbol, known.decimals
    key = (chain_id, currency.lower())
    if key not in _currencies:
        symbol_data, decimals_data = reader.calls([(currency, SYMBOL, block), (currency, DECIMALS, block)])
        symbol, decimals = "?", 18  # a token without them (symbol() as bytes32, or none): shown as "?", 18 decimals
        try:
            symbol = decode(["string"], symbol_data)[0][:16].strip() or "?"  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001  (the failed call came back as an error, or the data is not a string)
            pass
        try:
            decimals = int(decode(["uint8"], decimals_data[:32])[0])  # type: ignore[index]
        except Exception:  # noqa: BLE001
            pass
        _currencies[key] = (symbol, decimals)
    return _currencies[key]


def scan_range(reader: ChainReader, chain_id: int, collections: Sequence[Tracked], lo: int, hi: int,
               seaports: Sequence[str], fee_map: dict[str, str]) -> Scan | None:
    """Read [lo, hi] for `collections` (each only from its own next_block). None when the chain changed under the
    read (hi's hash moved): nothing of it can be trusted."""
    before = reader.headers([hi]).get(hi)
    if before is None:
        return None
    members = [c for c in collections if c.next_block <= hi]
    scan = Scan(lo, hi, before[0], members)
    by_address = {c.lower: c for c in members}
    logs = reader.get_logs(list(by_address), TRANSFER_TOPIC, lo, hi)
    scan.logs += len(logs)
    scan.transfers = _transfers(logs, by_address)
    moved: dict[str, set[tuple[str, int, str, str]]] = {}
    for t in scan.transfers:
        if t.from_address != ZERO_ADDRESS:  # a mint is never a sale
            moved.setdefault(t.tx_hash, set()).add((t.collection.lower(), t.token_id, t.from_address.lower(),
                                                    t.to_address.lower()))
    if moved and seaports:
        blocks = [t.block_number for t in scan.transfers if t.tx_hash in moved]
        fill_logs = reader.get_logs(seaports, ORDER_FULFILLED_TOPIC, min(blocks), max(blocks))
        scan.logs += len(fill_logs)
        fills: list[OrderFulfilled] = []
        for entry in fill_logs:
            if entry["transactionHash"] not in moved:
                continue
            try:
                fills.append(decode_order_fulfilled(entry))
            except Exception as exc:  # a malformed event must not stop the range  # noqa: BLE001
                scan.errors.append(f"OrderFulfilled {entry['transactionHash']}:{entry['logIndex']}: {exc}")
        scan.fills = len(fills)
        scan.reports = _sale_reports(reader, chain_id, fills, by_address, fee_map, moved, scan.errors, (lo, hi))
    after = reader.headers([hi]).get(hi)
    if after is None or after[0] != before[0]:
        return None
    return scan


def _sale_reports(reader: ChainReader, chain_id: int, fills: Sequence[OrderFulfilled], by_address: dict[str, Tracked],
                  fee_map: dict[str, str], moved: dict[str, set[tuple[str, int, str, str]]],
                  errors: list[str], span: tuple[int, int] | None = None) -> list[SaleReport]:
    """Sale reports of the fills that sold our tokens. The royalty receiver each sale paid (or not) is the one
    `royaltyInfo` gives at the sale's block. Over a block range (`span`), one call answers for many sales: our
    collections have only a default royalty and every change of it emits DefaultRoyaltyUpdated, so between two such
    logs (and after the last one, up to the range's end) `royaltyInfo` gives the same receiver at every block; the
    call is made at the last block of each such stretch (a historical `eth_call` is slow once the node's state is
    large: README, "Measurements behind the code"). Without a span (one receipt), one call per sale."""
    ours = set(by_address)
    priced: list[tuple[OrderFulfilled, list[TokenSale]]] = []
    for fill in fills:
        try:
            sales = token_sales(fill, ours, fee_map)
        except Exception as exc:  # noqa: BLE001  (one unpriceable fill must not stop the range)
            errors.append(str(exc))
            continue
        if sales:
            priced.append((fill, sales))
    if not priced:
        return []
    changes: dict[str, list[int]] = {}
    if span is not None:
        sold = sorted({s.collection.lower() for _, sales in priced for s in sales})
        for entry in reader.get_logs(sold, ROYALTY_UPDATED_TOPIC, *span):
            changes.setdefault(entry["address"], []).append(entry["blockNumber"])

    def call_key(sale: TokenSale, block: int) -> tuple[str, int, int, int]:
        if span is None:
            return (sale.collection, sale.token_id, sale.price, block)
        later = [b for b in changes.get(sale.collection.lower(), ()) if b > block]
        return (sale.collection, 1, 0, min(later) - 1 if later else span[1])

    wanted = list(dict.fromkeys(call_key(s, f.block_number) for f, sales in priced for s in sales))
    royalties = _royalty_receivers(reader, wanted, errors)
    times = reader.headers({f.block_number for f, _ in priced})
    reports = []
    for fill, first_pass in priced:
        receivers = {(s.collection.lower(), s.token_id): (royalties.get(call_key(s, fill.block_number)) or (None, 0))[0]
                     for s in first_pass}
        sales = token_sales(fill, ours, fee_map, receivers)
        if not nft_transfers_match(sales, moved.get(fill.tx_hash, set())):
            errors.append(f"fill {fill.tx_hash}:{fill.log_index}: no matching Transfer of the sold token; skipped")
            continue
        timestamp = times[fill.block_number][1]
        for sale in sales:
            symbol, decimals = currency_info(reader, chain_id, sale.currency, fill.block_number)
            reports.append(SaleReport(
                source=SOURCE, chain_id=chain_id, tx_hash=fill.tx_hash, collection=sale.collection,
                token_id=sale.token_id, quantity=sale.quantity, price=sale.price, currency_address=sale.currency,
                currency_symbol=symbol, currency_decimals=decimals, marketplace=sale.marketplace, seller=sale.seller,
                buyer=sale.buyer, sold_at=datetime.fromtimestamp(timestamp, UTC), block_number=fill.block_number,
                log_index=fill.log_index, external_id=fill.order_hash, block_hash=fill.block_hash,
                order_hash=fill.order_hash, royalty_receiver=sale.royalty_receiver,
                royalty_paid=sale.royalty_paid if sale.royalty_receiver else None, fees=sale.fees,
            ))
    return reports


def reports_from_receipt(reader: ChainReader, chain_id: int, receipt: dict[str, Any], tracked: Sequence[Tracked],
                         seaports: Sequence[str], fee_map: dict[str, str]) -> tuple[list[SaleReport], list[str]]:
    """The Seaport sales of `tracked` collections in one transaction receipt (as ChainReader.receipt returns it): the
    royalty calculator's check of a sale only marketplaces reported."""
    by_address = {c.lower: c for c in tracked}
    logs = receipt["logs"]
    transfers = _transfers((e for e in logs if e["address"] in by_address and e["topics"]
                            and e["topics"][0] == TRANSFER_TOPIC), by_address)
    moved: dict[str, set[tuple[str, int, str, str]]] = {}
    for t in transfers:
        moved.setdefault(t.tx_hash, set()).add((t.collection.lower(), t.token_id, t.from_address.lower(),
                                                t.to_address.lower()))
    errors: list[str] = []
    fills = []
    for entry in logs:
        if entry["address"] in seaports and entry["topics"] and entry["topics"][0] == ORDER_FULFILLED_TOPIC:
            try:
                fills.append(decode_order_fulfilled(entry))
            except Exception as exc:  # noqa: BLE001  (a malformed event is reported, not fatal)
                errors.append(f"OrderFulfilled {entry['transactionHash']}:{entry['logIndex']}: {exc}")
    return _sale_reports(reader, chain_id, fills, by_address, fee_map, moved, errors), errors


def record_seaport(chain_id: int, seaport: str, conduit_controller: str, deploy_block: int) -> None:
    """Record a Seaport deployment of `chain_id` for the indexer (the demo's local one); the same again is a no-op.
    `deploy_block` 0 means unknown: it never overwrites a known one."""
    with session_scope() as session:
        stmt = _insert(session, SeaportDeployment.__table__)
        if not deploy_block:
            stmt = stmt.on_conflict_do_nothing(index_elements=["chain_id", "address"])
        else:
            stmt = stmt.on_conflict_do_update(
                index_elements=["chain_id", "address"],
                set_={"conduit_controller": stmt.excluded.conduit_controller,
                      "deploy_block": stmt.excluded.deploy_block})
        session.execute(stmt, [{"chain_id": chain_id, "address": checksum_address(seaport),
                                "conduit_controller": checksum_address(conduit_controller),
                                "deploy_block": deploy_block, "created_at": utcnow()}])


# -- writing -------------------------------------------------------------------------------------------------------

def _insert(session: Session, table: Table) -> Any:
    return (postgresql if dialect_name(session) == "postgresql" else sqlite).insert(table)


_OWNER_COLUMNS = ("campaign_id", "owner", "block_number", "log_index", "tx_hash", "updated_at")


def _upsert_owners(session: Session, rows: list[dict[str, Any]], *, only_newer: bool) -> None:
    """token_owner rows in; with `only_newer`, a stored owner from a later transfer is kept (ranges never overlap, but
    a collection catching up must never move an owner back)."""
    if not rows:
        return
    table = TokenOwner.__table__
    stmt = _insert(session, table)
    where = None
    if only_newer:
        where = or_(table.c.block_number < stmt.excluded.block_number,
                    and_(table.c.block_number == stmt.excluded.block_number,
                         table.c.log_index < stmt.excluded.log_index))
    stmt = stmt.on_conflict_do_update(index_elements=["chain_id", "collection", "token_id"],
                                      set_={c: stmt.excluded[c] for c in _OWNER_COLUMNS}, where=where)
    session.connection().execute(stmt, rows)


def _commit_scan(chain_id: int, scan: Scan) -> None:
    now = utcnow()
    with session_scope() as session:
        if scan.transfers:
            # No RETURNING (insert_ignore counts with it): on PostgreSQL that turns the rows into row-by-row round
            # trips, while a plain executemany is pipelined (README, "Measurements behind the code").
            transfers = _insert(session, TokenTransfer.__table__).on_conflict_do_nothing(
                index_elements=["chain_id", "block_number", "log_index"])
            session.connection().execute(transfers, [
                {"chain_id": chain_id, "collection": t.collection, "campaign_id": t.campaign_id,
                 "token_id": t.token_id, "from_address": t.from_address, "to_address": t.to_address,
                 "block_number": t.block_number, "log_index": t.log_index, "tx_hash": t.tx_hash,
                 "block_hash": t.block_hash} for t in scan.transfers])
            last: dict[tuple[str, int], Transfer] = {}
            for t in scan.transfers:  # chain order: the last one wins
                last[(t.collection, t.token_id)] = t
            _upsert_owners(session, [
                {"chain_id": chain_id, "collection": t.collection, "token_id": t.token_id,
                 "campaign_id": t.campaign_id, "owner": t.to_address, "block_number": t.block_number,
                 "log_index": t.log_index, "tx_hash": t.tx_hash, "updated_at": now} for t in last.values()],
                only_newer=True)
        checkpoint = IndexerCheckpoint.__table__
        session.execute(update(checkpoint).where(
            checkpoint.c.chain_id == chain_id,
            checkpoint.c.collection.in_([c.collection for c in scan.collections]),
            # Only a checkpoint this scan continues: one moved back meanwhile (a rewind, `index-again`) stays back.
            checkpoint.c.next_block >= scan.lo, checkpoint.c.next_block <= scan.hi,
        ).values(next_block=scan.hi + 1, updated_at=now))
        keep_hash(session, IndexedBlock.__table__, {"chain_id": chain_id}, scan.hi, scan.hi_hash, now)


# -- reorgs --------------------------------------------------------------------------------------------------------

def find_fork(reader: ChainReader, chain_id: int) -> int | None:
    """None while the newest kept block hash still matches the chain; else the newest kept block that does (-1 when
    none does: everything is read again)."""
    with session_scope() as session:
        kept = kept_hashes(session, IndexedBlock.__table__, {"chain_id": chain_id})
    return fork_point(reader, kept)


def _chain_sales_after(session: Session, chain_id: int, block: int) -> list[SaleReport]:
    """The sales the chain reported from blocks after `block`, as reverted reports (the ledger reverses them)."""
    rows = session.execute(
        select(Sale).join(SaleSource, SaleSource.sale_id == Sale.id)
        .where(Sale.chain_id == chain_id, Sale.block_number > block, Sale.status != SaleStatus.REVERTED,
               SaleSource.source == SOURCE, SaleSource.reverted.is_(False))  # type: ignore[attr-defined]
    ).scalars().all()
    return [SaleReport(
        source=SOURCE, chain_id=s.chain_id, tx_hash=s.tx_hash, collection=s.collection, token_id=int(s.token_id),
        quantity=s.quantity, price=int(s.price), currency_address=s.currency_address,
        currency_symbol=s.currency_symbol, currency_decimals=s.currency_decimals, marketplace=s.marketplace,
        seller=s.seller, buyer=s.buyer, sold_at=s.sold_at, block_number=s.block_number, log_index=s.log_index,
        external_id=s.order_hash or "", reverted=True, block_hash=s.block_hash, order_hash=s.order_hash,
        royalty_receiver=s.royalty_receiver, royalty_paid=int(s.royalty_paid) if s.royalty_paid is not None else None,
        fees=tuple((r, int(a)) for r, a in s.fees),
    ) for s in rows]


def rewind(chain_id: int, fork: int) -> tuple[int, IngestResult]:
    """Undo everything read from blocks after `fork`: reverse the sales (ledger first, so a crash before the rest only
    repeats it), then delete the transfers, recompute the affected owners and move the checkpoints back, in one
    transaction. Returns (sales reversed, ledger result)."""
    with session_scope() as session:
        reversals = _chain_sales_after(session, chain_id, fork)
    ingest = record_reports(reversals) if reversals else IngestResult()
    transfer = TokenTransfer.__table__
    with session_scope() as session:
        affected = session.execute(
            select(transfer.c.collection, transfer.c.token_id).distinct()
            .where(transfer.c.chain_id == chain_id, transfer.c.block_number > fork)).all()
        session.execute(delete(transfer).where(transfer.c.chain_id == chain_id, transfer.c.block_number > fork))
        _recompute_owners(session, chain_id, [(c, int(t)) for c, t in affected])
        _move_checkpoints_back(session, fork + 1, IndexerCheckpoint.__table__.c.chain_id == chain_id)
        forget_after(session, IndexedBlock.__table__, {"chain_id": chain_id}, fork)
    log.warning("chain %s: reorg, rewound to block %s (%s sales reversed)", chain_id, fork, len(reversals))
    return len(reversals), ingest


def _move_checkpoints_back(session: Session, block: int, *where: Any) -> int:
    """Checkpoints past `block` go back to it (to their deploy block if that is later); how many moved."""
    checkpoint = IndexerCheckpoint.__table__
    start = (func.max if dialect_name(session) == "sqlite" else func.greatest)(checkpoint.c.deploy_block, block)
    moved = session.execute(update(checkpoint).where(*where, checkpoint.c.next_block > start)
                            .values(next_block=start, updated_at=utcnow()))
    return int(moved.rowcount or 0)


def index_again_from(block: int, campaign_id: int | None = None, chain_id: int | None = None) -> int:
    """Make the indexer read every collection (or one campaign's) again from `block`: after a fix to how transfers
    or Seaport fills are read, the sales already stored are corrected in place (the chain's facts overwrite theirs,
    and a changed price is valued again) and nothing is recorded twice (the ledger and the transfer table are keyed;
    owners only move to newer transfers). Nothing is reversed: unlike a reorg, the blocks are still there. Returns
    how many checkpoints moved back."""
    if block < 0:
        raise ValueError("the block must be 0 or more")
    checkpoint = IndexerCheckpoint.__table__
    where = [] if campaign_id is None else [checkpoint.c.campaign_id == campaign_id]
    if chain_id is not None:
        where.append(checkpoint.c.chain_id == chain_id)
    with session_scope() as session:
        chains = session.execute(select(func.count(checkpoint.c.chain_id.distinct())).where(*where)).scalar_one()
        if chains > 1:  # a block number names a height on one chain only
            raise ValidationFailed("Collections are indexed on several chains: say which one (--chain-id).",
                                   fields={"chain_id": "required when collections are on several chains"})
        moved = _move_checkpoints_back(session, block, *where)
    log.warning("chain indexer: %s checkpoint(s) moved back to block %s to be read again", moved, block)
    return moved


def _recompute_owners(session: Session, chain_id: int, tokens: list[tuple[str, int]]) -> None:
    """Set each token's owner from its last remaining transfer; drop the owner row of a token with none left."""
    if not tokens:
        return
    transfer = TokenTransfer.__table__
    owner = TokenOwner.__table__
    now = utcnow()
    for start in range(0, len(tokens), 500):
        chunk = tokens[start:start + 500]
        ranked = (
            select(transfer.c.collection, transfer.c.token_id, transfer.c.campaign_id, transfer.c.to_address,
                   transfer.c.block_number, transfer.c.log_index, transfer.c.tx_hash,
                   func.row_number().over(partition_by=(transfer.c.collection, transfer.c.token_id),
                                          order_by=(transfer.c.block_number.desc(), transfer.c.log_index.desc()))
                   .label("rank"))
            .where(transfer.c.chain_id == chain_id,
                   tuple_(transfer.c.collection, transfer.c.token_id).in_(chunk))
            .subquery()
        )
        latest = session.execute(select(ranked).where(ranked.c.rank == 1)).all()
        kept = {(r.collection, int(r.token_id)) for r in latest}
        gone = [t for t in chunk if t not in kept]
        if gone:
            session.execute(delete(owner).where(owner.c.chain_id == chain_id,
                                                owner.c.collection == bindparam("b_collection"),
                                                owner.c.token_id == bindparam("b_token")),
                            [{"b_collection": c, "b_token": t} for c, t in gone])
        _upsert_owners(session, [
            {"chain_id": chain_id, "collection": r.collection, "token_id": int(r.token_id),
             "campaign_id": r.campaign_id, "owner": r.to_address, "block_number": r.block_number,
             "log_index": r.log_index, "tx_hash": r.tx_hash, "updated_at": now} for r in latest], only_newer=False)


# -- the pass ------------------------------------------------------------------------------------------------------

def index_pass(chain: str, *, max_ranges: int | None = None,
               keep_going: Callable[[], bool] | None = None) -> IndexResult:
    """One bounded run of the indexer on `chain`: the reorg check, then up to `max_ranges` block ranges."""
    settings = get_settings()
    result = IndexResult()
    with session_scope() as session:
        if not _any_deployed(session, chain):
            result.done = True  # nothing to read: the node is not even asked
            return result
    reader = ChainReader(get_web3(chain))
    chain_id = chain_id_of(chain)
    block_range = settings.indexer_block_range
    with session_scope() as session:
        sync_checkpoints(session, chain, chain_id)
        seaports = seaport_addresses(session, chain_id)
    fee_map = fee_recipients()
    fork = find_fork(reader, chain_id)
    if fork is not None:
        result.rewound_to = fork
        result.reversed, ingest = rewind(chain_id, fork)
        result.ingest.add(ingest)
    safe_head = reader.block_number() - chain_config(chain).confirmations + 1
    result.safe_head = safe_head
    limit = max_ranges if max_ranges is not None else settings.indexer_max_ranges_per_run
    while result.ranges < limit:
        with session_scope() as session:
            tracked = _tracked(session, chain_id)
        pending = [t for t in tracked if t.next_block <= safe_head]
        if not pending:
            result.done = True
            break
        lo = min(t.next_block for t in pending)
        hi = min(lo + block_range - 1, safe_head)
        scan = scan_range(reader, chain_id, pending, lo, hi, seaports, fee_map)
        if scan is None:  # the chain changed while the range was read: the next pass checks for a reorg
            result.retried += 1
            break
        if scan.reports:
            result.ingest.add(record_reports(scan.reports))
        _commit_scan(chain_id, scan)
        result.ranges += 1
        result.logs += scan.logs
        result.transfers += len(scan.transfers)
        result.sales += len(scan.reports)
        result.errors += scan.errors
        if keep_going is not None and not keep_going():
            break
    for error in result.errors[:20]:
        log.warning("chain indexer: %s", error)
    return result


class ChainSalesSource:
    """The chain as a SalesSource: `fetch` reads (never writes) up to `budget` block ranges of one collection from its
    checkpoint and returns the Seaport sales found there. The `chain_indexer` daemon (`index_pass`) is what moves the
    checkpoints, keeps token owners and records the sales; `fetch` is the same read, for one collection."""

    name = SOURCE

    def __init__(self, chain: str) -> None:
        self.chain = chain

    def fetch(self, collection: CollectionRef, budget: int) -> FetchResult:
        reader = ChainReader(get_web3(self.chain))
        address = checksum_address(collection.contract_address)
        with session_scope() as session:
            tracked = _tracked(session, collection.chain_id, [address])
            seaports = seaport_addresses(session, collection.chain_id)
        start = tracked[0].next_block if tracked else (collection.deploy_block or 0)
        current = Tracked(address, collection.campaign_id, collection.deploy_block or 0, start)
        safe_head = reader.block_number() - chain_config(self.chain).confirmations + 1
        result = FetchResult(done=False)
        fee_map = fee_recipients()
        for _ in range(budget):
            if current.next_block > safe_head:
                result.done = True
                break
            hi = min(current.next_block + get_settings().indexer_block_range - 1, safe_head)
            scan = scan_range(reader, collection.chain_id, [current], current.next_block, hi, seaports, fee_map)
            if scan is None:
                result.errors.append(f"the chain changed while blocks {current.next_block}-{hi} were read")
                break
            result.reports += scan.reports
            result.errors += scan.errors
            current = Tracked(address, current.campaign_id, current.deploy_block, hi + 1)
        else:
            result.done = current.next_block > safe_head
        return result
