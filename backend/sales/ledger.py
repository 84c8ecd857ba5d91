"""The sales ledger: `record_reports` takes what the sources saw and keeps one row per sale.

normalise -> dedupe -> store, in bounded transactions of bulk statements (no ORM object per event):
- A sale is one fill: keyed by (chain id, tx hash, collection, token id, log index), where a fill no chain report
  has placed yet has a negative key (-1, -2, ...: one transaction can fill the same ERC-1155 token from several
  sellers). A marketplace report (no log index) joins the fill of the same (chain id, tx hash, collection, token id)
  its source already reported under the same id, else one with the same seller and quantity that its source has
  not reported under another id, else it is a new fill. A chain report with a new log index places the unplaced
  fill with the same seller and quantity (and price, if several), else the first unplaced one, upgrading it in
  place. Each row lists its sources (`sale_source`).
- The chain is ground truth: a chain report overwrites what marketplaces said (price, parties, block) and makes
  the sale `confirmed`; a sale only marketplaces know is `unverified` (royalty paid unknown, `next_check_at` set).
- Nothing is deleted. A sale every source withdrew (or whose transaction the chain dropped) becomes `reverted`
  with a `sale_reversal` entry and leaves the totals; if a source reports it again it is restored, once.
- Outbox events in the same transaction: `sale.recorded` (payload `change`: "new", "confirmed" when the chain
  first reports a sale marketplaces had, "restored") and `sale.reverted`.
- Prices in USD/EUR at the time of the sale are looked up before the transaction (network), once per
  (asset, minute). The asset comes from the currency's (chain id, address) (`backend.sales.currencies`), never
  from its symbol: a token off the allow-list stays unvalued. A sale valued at another price (a marketplace's,
  or an older decoding of a Seaport fill) is valued again when the chain reports its own.

Writers are serialised (a transaction-scoped advisory lock on PostgreSQL; SQLite has one writer anyway), so two
sources reporting the same sale at once still make one row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, any_, bindparam, func, or_, select, text, update
from sqlalchemy.dialects import postgresql
from sqlmodel import Session

from backend.bulk import allocate_ids, execute_many, insert_many, update_by_id
from backend.chain.models import ContractDeployment
from backend.db import is_postgresql, session_scope, utcnow
from backend.fx.binance import BinanceClient
from backend.monitoring.errors import record_error
from backend.sales.currencies import KNOWN_TOKENS
from backend.sales.models import NO_LOG_INDEX, Sale, SaleReversal, SaleSource, SaleStatus
from backend.sales.normalise import BadReport, checksum_address, normalise
from backend.sales.reports import NATIVE_CURRENCY, SaleReport
from backend.sales.valuation import Valuer
from backend.settings import get_settings
from backend.workflow.outbox import NewEvent, emit_many
from backend.workflow.sql import dialect_name

log = logging.getLogger(__name__)

CHAIN = "chain"
GENERIC_MARKETPLACES = ("seaport", "unknown")  # the chain's word when no fee recipient names the front end
LEDGER_LOCK_KEY = 0x5A1E5  # pg_advisory_xact_lock key of the ledger's writers

SALE = Sale.__table__
SOURCE = SaleSource.__table__
REVERSAL = SaleReversal.__table__

BaseKey = tuple[int, str, str, int]  # chain id, tx hash, collection, token id


@dataclass
class IngestResult:
    inserted: int = 0  # new sale rows
    merged: int = 0  # reports that joined a sale already stored or reported earlier in the batch
    reverted: int = 0  # sales that left the totals (withdrawn by every source, or dropped by the chain)
    restored: int = 0  # reverted sales that came back
    skipped: int = 0  # reports not stored: malformed, or not a Primsell collection
    errors: list[str] = field(default_factory=list)  # why reports were skipped (first few), price look-ups that failed

    def add(self, other: IngestResult) -> None:
        self.inserted += other.inserted
        self.merged += other.merged
        self.reverted += other.reverted
        self.restored += other.restored
        self.skipped += other.skipped
        self.errors.extend(other.errors[: max(0, 20 - len(self.errors))])


@dataclass
class _Source:
    id: int | None
    external_id: str
    reverted: bool
    changed: bool = False


@dataclass(eq=False)
class _Row:
    """One sale being worked on: the stored row's values (or a new one's), its sources, what changed."""

    id: int | None
    values: dict[str, Any]
    sources: dict[str, _Source]
    old_status: SaleStatus | None  # None: a new row
    dirty: set[str] = field(default_factory=set)  # columns changed (stored rows only write these)
    chain_facts_changed: bool = False  # the royalty calculator must look again
    confirmed_now: bool = False

    def set(self, name: str, value: Any) -> bool:
        if name in self.values and self.values[name] == value:  # columns not loaded count as changed
            return False
        self.values[name] = value
        self.dirty.add(name)
        return True


_CHAIN_FACTS = ("quantity", "price", "currency_address", "currency_symbol", "currency_decimals", "seller", "buyer",
                "sold_at", "block_number", "block_hash", "order_hash")

# What a sale's USD/EUR value is computed from, and the columns holding it (with their empty values).
_MONEY_FACTS = ("price", "currency_address", "currency_decimals")
_VALUE_COLUMNS = {"value_usd_cents": None, "value_eur_cents": None, "fx_rate_usd": None, "fx_rate_eur": None,
                  "fx_source": ""}

# What deciding about a stored sale needs: not its value columns (written only while value_usd_cents is NULL, which
# a new price from the chain makes it), royalty owed (the calculator's) or timestamps; fewer columns, less conversion
# per row.
_LOAD_COLUMNS = [column for column in SALE.c if column.name not in (
    "created_at", "updated_at", "royalty_owed", "royalty_bps_mismatch", "fx_rate_usd", "fx_rate_eur",
    "value_eur_cents", "fx_source")]
_RESTORE = update(REVERSAL).where(REVERSAL.c.sale_id == bindparam("_sale_id"), REVERSAL.c.restored_at.is_(None)) \
    .values(restored_at=bindparam("restored_at"))


def record_reports(reports: Iterable[SaleReport], *, batch_size: int | None = None, now: datetime | None = None,
                   fx_client: BinanceClient | None = None) -> IngestResult:
    """Store what the sources saw (see the module's docstring). Safe to call again with the same reports: a sale
    already stored gains nothing but its `last_seen_at`. Returns the counts; malformed reports and reports of
    collections Primsell did not deploy are skipped (counted, never raised)."""
    settings = get_settings()
    batch_size = batch_size or settings.sales_ingest_batch_size
    total = IngestResult()
    collections = _collections()
    valuer = Valuer(fx_client)
    for chunk in _chunks(reports, batch_size):
        total.add(_record_chunk(chunk, collections, valuer, now or utcnow(), settings.sales_recheck_s))
    if valuer.errors:
        total.errors.extend(valuer.errors[:5])
    return total


def _chunks(reports: Iterable[SaleReport], size: int) -> Iterator[list[SaleReport]]:
    chunk: list[SaleReport] = []
    for report in reports:
        chunk.append(report)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _collections() -> dict[str, tuple[int, int]]:
    """Deployed Primsell collections: lowercase address -> (campaign id, brand id)."""
    from backend.campaigns.models import Campaign

    with session_scope() as session:
        rows = session.execute(
            select(ContractDeployment.contract_address, Campaign.id, Campaign.brand_id)
            .join(Campaign, Campaign.id == ContractDeployment.campaign_id)  # type: ignore[arg-type]
            .where(ContractDeployment.contract_address.is_not(None))  # type: ignore[union-attr]
        ).all()
    return {address.lower(): (campaign_id, brand_id) for address, campaign_id, brand_id in rows}


def _record_chunk(chunk: list[SaleReport], collections: dict[str, tuple[int, int]], valuer: Valuer,
                  now: datetime, recheck_s: int) -> IngestResult:
    result = IngestResult()
    groups: dict[BaseKey, list[SaleReport]] = {}
    for raw in chunk:
        try:
            report = normalise(raw)
        except BadReport as exc:
            result.skipped += 1
            if len(result.errors) < 5:
                result.errors.append(f"{raw.source} report {getattr(raw, 'tx_hash', '')!s:.80}: {exc}")
            continue
        if report.collection.lower() not in collections:
            result.skipped += 1  # another contract's sale (a marketplace feed can carry them): not ours to keep
            continue
        groups.setdefault((report.chain_id, report.tx_hash, report.collection, report.token_id), []).append(report)
    if result.skipped and result.errors:
        record_error("sales:ledger", BadReport(f"{result.skipped} report(s) skipped; first: {result.errors[0]}"),
                     {"skipped": result.skipped}, report=False)
    if not groups:
        return result
    # Prices first, outside the transaction (a network call when FX_MODE=binance).
    valuer.prepare({(r.chain_id, r.currency_address, r.sold_at) for reports in groups.values() for r in reports
                    if not r.reverted})

    with session_scope() as session:
        if dialect_name(session) == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LEDGER_LOCK_KEY})
        stored = _load(session, groups)
        rows: list[_Row] = []
        for key, reports in groups.items():
            campaign_id, brand_id = collections[key[2].lower()]
            rows.extend(_fold(_Fills(stored.get(key, {})), reports, campaign_id, brand_id, now, result))
        _settle(session, rows, valuer, now, recheck_s, result)
    return result


def _fold(fills: _Fills, reports: list[SaleReport], campaign_id: int, brand_id: int, now: datetime,
          result: IngestResult) -> list[_Row]:
    """Fold one (chain id, tx hash, collection, token id)'s reports into its fills; returns the rows touched."""
    touched: dict[int, _Row] = {}

    def fold(row: _Row, report: SaleReport) -> None:
        if row.sources:  # stored already, or reported earlier in this batch
            result.merged += 1
        _apply(row, report)
        touched[id(row)] = row

    unmatched = []
    for report in reports:
        row = _target(fills, report)
        if row is None and report.log_index is not None:
            unmatched.append(report)  # placed once the chain reports that match a fill have theirs
        else:
            fold(row or fills.new(report, campaign_id, brand_id, now), report)
    for report in unmatched:
        row = _target(fills, report) or fills.first_unplaced(report.log_index)  # type: ignore[arg-type]
        fold(row or fills.new(report, campaign_id, brand_id, now), report)
    return list(touched.values())


def _load(session: Session, groups: dict[BaseKey, list[SaleReport]]) -> dict[BaseKey, dict[int, _Row]]:
    """The stored sales of the chunk's keys (locked on PostgreSQL), with their sources."""
    hashes = sorted({key[1] for key in groups})
    query = select(*_LOAD_COLUMNS).where(_one_of(session, SALE.c.tx_hash, hashes)).order_by(SALE.c.id)
    if is_postgresql(session.get_bind()):  # type: ignore[arg-type]
        query = query.with_for_update()
    found: dict[BaseKey, dict[int, _Row]] = {}
    by_id: dict[int, _Row] = {}
    result = session.execute(query)
    names = list(result.keys())
    for record in result:
        values = dict(zip(names, record, strict=True))
        key = (values["chain_id"], values["tx_hash"], values["collection"], values["token_id"])
        if key not in groups:
            continue
        row = _Row(id=values.pop("id"), values=values, sources={}, old_status=values["status"])
        found.setdefault(key, {})[values["log_index_key"]] = row
        by_id[row.id] = row  # type: ignore[index]
    if by_id:
        sources = select(SOURCE.c.id, SOURCE.c.sale_id, SOURCE.c.source, SOURCE.c.external_id, SOURCE.c.reverted) \
            .where(_one_of(session, SOURCE.c.sale_id, sorted(by_id)))
        for source_id, sale_id, name, external_id, reverted in session.execute(sources):
            by_id[sale_id].sources[name] = _Source(source_id, external_id, reverted)
    return found


@dataclass
class _Fills:
    """The rows of one (chain id, tx hash, collection, token id), by `log_index_key`: the log index of a fill the
    chain placed, a negative key for one only marketplaces reported."""

    rows: dict[int, _Row]
    held: set[int] = field(default_factory=set)  # keys held in the table when loaded, or given out since

    def __post_init__(self) -> None:
        # New rows are inserted before stored ones move to their log index: a key a stored row held stays taken.
        self.held.update(self.rows)

    def ordered(self) -> list[tuple[int, _Row]]:
        """-1, -2, ..., then the chain's log indexes (a marketplace report joined -1 first when it was the only key)."""
        return sorted(self.rows.items(), key=lambda item: (item[0] >= 0, abs(item[0])))

    def place(self, row: _Row, log_index: int) -> _Row:
        """The chain places a fill marketplaces reported: upgrade it in place."""
        del self.rows[row.values["log_index_key"]]
        row.set("log_index", log_index)
        row.set("log_index_key", log_index)
        self.rows[log_index] = row
        return row

    def first_unplaced(self, log_index: int) -> _Row | None:
        """For a chain report like none of the fills marketplaces reported: the first of them, if any is left (one
        fill its sources disagree about is still one sale)."""
        for key, row in self.ordered():
            if key < 0:
                return self.place(row, log_index)
        return None

    def new(self, report: SaleReport, campaign_id: int, brand_id: int, now: datetime) -> _Row:
        key = report.log_index
        if key is None:
            key = NO_LOG_INDEX
            while key in self.held:
                key -= 1
        self.held.add(key)
        row = _Row(id=None, old_status=None, sources={}, values={
            "chain_id": report.chain_id, "tx_hash": report.tx_hash, "collection": report.collection,
            "token_id": report.token_id, "log_index": report.log_index, "log_index_key": key,
            "campaign_id": campaign_id, "brand_id": brand_id, "marketplace": report.marketplace,
            "status": SaleStatus.UNVERIFIED, "value_usd_cents": None, "value_eur_cents": None, "fx_rate_usd": None,
            "fx_rate_eur": None, "fx_source": "", "royalty_receiver": None, "royalty_owed": None,
            "royalty_paid": None, "royalty_bps_mismatch": False, "fees": [], "royalty_computed_at": None,
            "next_check_at": None, "created_at": now, "updated_at": now,
            **{name: getattr(report, name) for name in _CHAIN_FACTS},
        })
        self.rows[key] = row
        return row


def _target(fills: _Fills, report: SaleReport) -> _Row | None:
    """The stored (or earlier) fill this report is of; None if none fits (see the module's docstring)."""
    if report.log_index is not None:
        row = fills.rows.get(report.log_index)
        if row is not None:
            return row
        alike = [row for key, row in fills.ordered() if key < 0 and _same_fill(row, report)]
        alike.sort(key=lambda row: row.values["price"] != report.price)  # stable: the first of equals stays first
        return fills.place(alike[0], report.log_index) if alike else None
    ordered = [row for _, row in fills.ordered()]
    if report.external_id:
        for row in ordered:
            source = row.sources.get(report.source)
            if source is not None and source.external_id == report.external_id:
                return row  # read again
    for row in ordered:
        source = row.sources.get(report.source)
        if source is not None and source.external_id and report.external_id:
            continue  # the source reported another fill here (ids differ: the same one is found above)
        if _same_fill(row, report):
            return row
    return None


def _same_fill(row: _Row, report: SaleReport) -> bool:
    """What every source says alike of a fill: who sold how many (prices differ: a marketplace's can be a bundle's)."""
    return row.values["seller"] == report.seller and row.values["quantity"] == report.quantity


def _apply(row: _Row, report: SaleReport) -> None:
    """Fold one report into its row: the source's entry, and the sale's facts when this source knows better."""
    source = row.sources.get(report.source)
    if source is None:
        row.sources[report.source] = _Source(None, report.external_id, report.reverted, changed=True)
    else:
        if source.reverted != report.reverted or (report.external_id and source.external_id != report.external_id):
            source.reverted = report.reverted
            source.external_id = report.external_id or source.external_id
        source.changed = True  # last_seen_at moves
    if report.reverted:
        return
    values = row.values
    if report.source == CHAIN:
        money = [values.get(name) for name in _MONEY_FACTS]
        for name in _CHAIN_FACTS:
            new = getattr(report, name)
            if (new is not None or name not in ("block_hash", "order_hash")) and row.set(name, new):
                row.chain_facts_changed = True
        if values.get("value_usd_cents") is not None and money != [values[name] for name in _MONEY_FACTS]:
            # Valued from another price (a marketplace's, or an older decoding of the fill): valued again.
            for name, empty in _VALUE_COLUMNS.items():
                row.set(name, empty)
        if report.royalty_receiver is not None and row.set("royalty_receiver", report.royalty_receiver):
            row.chain_facts_changed = True
        if report.royalty_paid is not None and row.set("royalty_paid", report.royalty_paid):
            row.chain_facts_changed = True
        if report.fees:
            row.set("fees", [[recipient, str(amount)] for recipient, amount in report.fees])
        if report.marketplace not in GENERIC_MARKETPLACES:
            row.set("marketplace", report.marketplace)  # a known fee recipient was paid: that front end
        return
    chain = row.sources.get(CHAIN)
    if (chain is None or chain.reverted) and values["block_number"] is None and report.block_number is not None:
        row.set("block_number", report.block_number)  # no chain facts yet: fill what the first report lacked
    # The marketplace: a name beats the chain's generic "seaport"; otherwise the first one stays.
    if values["marketplace"] in GENERIC_MARKETPLACES and report.marketplace not in GENERIC_MARKETPLACES:
        row.set("marketplace", report.marketplace)


def _status(row: _Row) -> SaleStatus:
    chain = row.sources.get(CHAIN)
    if chain is not None and chain.reverted:
        return SaleStatus.REVERTED  # its transaction left the canonical chain, whatever the feeds still say
    if all(source.reverted for source in row.sources.values()):
        return SaleStatus.REVERTED
    return SaleStatus.CONFIRMED if chain is not None else SaleStatus.UNVERIFIED


def _reason(row: _Row) -> tuple[str, str]:
    chain = row.sources.get(CHAIN)
    if chain is not None and chain.reverted:
        return CHAIN, "the transaction left the canonical chain"
    names = sorted(row.sources)
    return names[-1], "withdrawn by " + ", ".join(names)


def _settle(session: Session, rows: list[_Row], valuer: Valuer, now: datetime, recheck_s: int,
            result: IngestResult) -> None:
    """Statuses, values, then the bulk writes and the outbox events."""
    recheck_at = now + timedelta(seconds=recheck_s)
    events: list[tuple[_Row, bool, dict[str, Any]]] = []  # (row, reverted, extra payload)
    reversals: list[tuple[_Row, dict[str, Any]]] = []
    restores: list[dict[str, Any]] = []
    for row in rows:
        values = row.values
        status = _status(row)
        row.set("status", status)
        if status is SaleStatus.CONFIRMED and (row.old_status is not SaleStatus.CONFIRMED or row.chain_facts_changed):
            # The chain vouches for it now, or its facts changed: the royalty calculator looks again.
            row.set("next_check_at", now)
            row.set("royalty_computed_at", None)
            row.confirmed_now = row.old_status is SaleStatus.UNVERIFIED
        elif status is SaleStatus.UNVERIFIED and row.old_status is None:
            values["next_check_at"] = recheck_at
        if values["value_usd_cents"] is None and status is not SaleStatus.REVERTED:
            valuation = valuer.value(values["chain_id"], values["currency_address"], values["sold_at"],
                                     values["price"])
            if valuation is not None:
                row.set("value_usd_cents", valuation.usd_cents)
                row.set("value_eur_cents", valuation.eur_cents)
                row.set("fx_rate_usd", valuation.rate_usd)
                row.set("fx_rate_eur", valuation.rate_eur)
                row.set("fx_source", valuation.source)
        if row.dirty:
            row.set("updated_at", now)
        old = row.old_status
        if old is None:
            result.inserted += 1
            if status is SaleStatus.REVERTED:
                result.reverted += 1
                reversals.append((row, _reversal(row, now)))
            else:
                events.append((row, False, {"change": "new"}))
        elif old is not SaleStatus.REVERTED and status is SaleStatus.REVERTED:
            result.reverted += 1
            reversals.append((row, _reversal(row, now)))
            events.append((row, True, {}))
        elif old is SaleStatus.REVERTED and status is not SaleStatus.REVERTED:
            result.restored += 1
            restores.append({"_sale_id": row.id, "restored_at": now})
            events.append((row, False, {"change": "restored"}))
        elif row.confirmed_now:
            events.append((row, False, {"change": "confirmed"}))

    connection = session.connection()
    new_rows = [row for row in rows if row.id is None]
    if new_rows:
        for row, new_id in zip(new_rows, allocate_ids(connection, SALE, len(new_rows)), strict=True):
            row.id = row.values["id"] = new_id
        insert_many(connection, SALE, [row.values for row in new_rows])
    by_columns: dict[tuple[str, ...], list[_Row]] = {}
    for row in rows:
        if row.old_status is not None and row.dirty:
            by_columns.setdefault(tuple(sorted(row.dirty)), []).append(row)
    for columns, group in by_columns.items():  # one statement per shape of change: write only what changed
        update_by_id(connection, SALE, columns,
                     [{"_id": row.id, **{name: row.values[name] for name in columns}} for row in group])
    new_sources: list[dict[str, Any]] = []
    seen_sources: list[dict[str, Any]] = []
    for row in rows:
        for name, source in row.sources.items():
            if source.id is None:
                new_sources.append({"sale_id": row.id, "source": name, "external_id": source.external_id,
                                    "first_seen_at": now, "last_seen_at": now, "reverted": source.reverted})
            elif source.changed:
                seen_sources.append({"_id": source.id, "external_id": source.external_id,
                                     "reverted": source.reverted, "last_seen_at": now})
    if new_sources:
        insert_many(connection, SOURCE, new_sources)
    if seen_sources:
        update_by_id(connection, SOURCE, ("external_id", "reverted", "last_seen_at"), seen_sources)
    if reversals:
        insert_many(connection, REVERSAL, [entry | {"sale_id": row.id} for row, entry in reversals])
    if restores:
        execute_many(connection, "sale_reversal_restore", lambda: _RESTORE, restores)
    if events:
        emit_many(session, [
            NewEvent("sale.reverted", _payload(row) | extra, entity=("sale", row.id)) if reverted
            else NewEvent("sale.recorded", _payload(row) | extra, entity=("sale", row.id))
            for row, reverted, extra in events])


def _one_of(session: Session, column: Any, values: list[Any]) -> Any:
    """`column IN (values)`; on PostgreSQL `column = ANY(:array)`: one parameter however many values."""
    if dialect_name(session) == "postgresql":
        return column == any_(bindparam(None, values, type_=postgresql.ARRAY(column.type)))
    return column.in_(values)


def _reversal(row: _Row, now: datetime) -> dict[str, Any]:
    source, reason = _reason(row)
    return {"source": source, "reason": reason, "reversed_at": now, "restored_at": None}


def _payload(row: _Row) -> dict[str, Any]:
    values = row.values
    return {
        "sale_id": row.id, "campaign_id": values["campaign_id"], "brand_id": values["brand_id"],
        "chain_id": values["chain_id"], "tx_hash": values["tx_hash"], "collection": values["collection"],
        "token_id": str(values["token_id"]), "status": str(values["status"]),
        "sources": sorted(name for name, source in row.sources.items() if not source.reverted),
    }


def count_sales(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(SALE)).scalar_one())


def revalue_missing(limit: int = 200, *, fx_client: BinanceClient | None = None) -> int:
    """Give a USD/EUR value to sales stored without one (Binance was throttling or down when they came in): the
    prices are looked up first, outside any transaction, then written where the value is still missing. Only sales
    in a priced currency are looked at (others stay unvalued for good, and must not fill the batch)."""
    with session_scope() as session:
        rows = session.execute(
            select(SALE.c.id, SALE.c.chain_id, SALE.c.currency_address, SALE.c.sold_at, SALE.c.price)
            .where(SALE.c.value_usd_cents.is_(None), SALE.c.status != SaleStatus.REVERTED, _priced_currency())
            .order_by(SALE.c.id).limit(limit)).all()
    if not rows:
        return 0
    valuer = Valuer(fx_client)
    valuer.prepare({(chain_id, address, sold_at) for _, chain_id, address, sold_at, _ in rows})
    updates = []
    for sale_id, chain_id, address, sold_at, price in rows:
        valuation = valuer.value(chain_id, address, sold_at, price)
        if valuation is not None:
            updates.append({"_id": sale_id, "value_usd_cents": valuation.usd_cents,
                            "value_eur_cents": valuation.eur_cents, "fx_rate_usd": valuation.rate_usd,
                            "fx_rate_eur": valuation.rate_eur, "fx_source": valuation.source})
    if updates:
        with session_scope() as session:
            session.connection().execute(
                update(SALE).where(SALE.c.id == bindparam("_id"), SALE.c.value_usd_cents.is_(None))
                .values(value_usd_cents=bindparam("value_usd_cents"), value_eur_cents=bindparam("value_eur_cents"),
                        fx_rate_usd=bindparam("fx_rate_usd"), fx_rate_eur=bindparam("fx_rate_eur"),
                        fx_source=bindparam("fx_source")), updates)
    return len(updates)


def _priced_currency() -> Any:
    """SQL: the sale is paid in the native coin or an allow-listed token that has a price (addresses are stored
    EIP-55 checksummed)."""
    listed = [and_(SALE.c.chain_id == chain_id, SALE.c.currency_address == checksum_address(address))
              for (chain_id, address), currency in KNOWN_TOKENS.items() if currency.asset is not None]
    return or_(SALE.c.currency_address == NATIVE_CURRENCY, *listed)
