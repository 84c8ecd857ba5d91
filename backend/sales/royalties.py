"""The royalty calculator: what each sale owed its creator and what was paid, from the chain.

- **Owed** = `royaltyInfo(tokenId, price)` on the collection AT THE SALE'S BLOCK (an `eth_call` with that block), not
  the campaign's basis points; when the two disagree (`price * royalty_bps // 10000` differs) the sale is flagged
  `royalty_bps_mismatch`.
- **Paid** = what the indexer read from the fill: the consideration items paid to that receiver. A sale only
  marketplaces reported (`unverified`) has paid NULL, never assumed: the calculator asks the chain for its transaction
  receipt and, once mined and confirmed, decodes its Seaport fill and hands it to the ledger as a chain report (the
  sale becomes `confirmed`); until then it looks again later, waiting longer each time (SALES_RECHECK_SECONDS doubling
  up to ROYALTY_RECHECK_MAX_SECONDS).
- Emits `royalty.computed` per computed sale. The `royalty_calculator` daemon runs `calculate_pass`; the subscriber
  below makes a sale due as soon as the ledger records it (and not due once reverted).

Network reads happen outside transactions; each row is written under an optimistic check of `updated_at`, so a sale
the ledger changed meanwhile is left for the next pass.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from eth_abi import decode, encode
from eth_utils import to_checksum_address
from sqlalchemy import or_, select, update
from sqlmodel import Session

from backend.campaigns.models import Campaign
from backend.chain.client import chain_id as chain_id_of
from backend.chain.client import get_web3
from backend.chain.config import chain_config
from backend.chain.indexer import ROYALTY_INFO, Tracked, fee_recipients, reports_from_receipt, seaport_addresses
from backend.chain.reader import ChainReader
from backend.db import session_scope, utcnow
from backend.sales.ledger import record_reports
from backend.sales.models import Sale, SaleStatus
from backend.settings import get_settings
from backend.workflow.outbox import Event, NewEvent, emit_many, processed_once, subscriber

log = logging.getLogger(__name__)

SALE = Sale.__table__
BPS = 10_000


@dataclass
class CalculationResult:
    computed: int = 0  # royalty.computed emitted
    verified: int = 0  # unverified sales the chain now vouches for
    rechecks: int = 0  # unverified sales the chain does not know yet (looked at again later)
    skipped: int = 0  # changed meanwhile, or reverted
    errors: list[str] = field(default_factory=list)

    @property
    def items(self) -> int:
        return self.computed + self.verified + self.rechecks


@dataclass(frozen=True)
class _Due:
    id: int
    status: SaleStatus
    campaign_id: int
    brand_id: int
    chain_id: int
    tx_hash: str
    collection: str
    token_id: int
    price: int
    currency_address: str
    currency_symbol: str
    block_number: int | None
    royalty_paid: int | None
    royalty_receiver: str | None
    created_at: datetime
    updated_at: datetime


def royalty_at(reader: ChainReader, collection: str, token_id: int, price: int, block: int) -> tuple[str, int] | None:
    """(receiver checksummed, amount) from `royaltyInfo(tokenId, price)` at `block`; None if the call fails."""
    result = reader.calls([(collection, ROYALTY_INFO + encode(["uint256", "uint256"], [token_id, price]), block)])[0]
    if isinstance(result, Exception) or len(result) < 64:
        return None
    receiver, amount = decode(["address", "uint256"], result[:64])
    return to_checksum_address(receiver), int(amount)


def recheck_delay(created_at: datetime, now: datetime) -> timedelta:
    """How long to wait before looking again at a sale the chain does not know: about as long as it has been
    unverified (so the waits double), at least SALES_RECHECK_SECONDS, at most ROYALTY_RECHECK_MAX_SECONDS."""
    settings = get_settings()
    age = (now - created_at).total_seconds()
    return timedelta(seconds=min(settings.royalty_recheck_max_s, max(settings.sales_recheck_s, age)))


def _due(chain_id: int, now: datetime, limit: int) -> list[_Due]:
    with session_scope() as session:
        rows = session.execute(
            select(SALE.c.id, SALE.c.status, SALE.c.campaign_id, SALE.c.brand_id, SALE.c.chain_id, SALE.c.tx_hash,
                   SALE.c.collection, SALE.c.token_id, SALE.c.price, SALE.c.currency_address, SALE.c.currency_symbol,
                   SALE.c.block_number, SALE.c.royalty_paid, SALE.c.royalty_receiver, SALE.c.created_at,
                   SALE.c.updated_at)
            .where(SALE.c.chain_id == chain_id, SALE.c.next_check_at <= now)
            .order_by(SALE.c.next_check_at, SALE.c.id).limit(limit)).all()
    return [_Due(*row) for row in rows]


def _write(session: Session, due: _Due, values: dict[str, Any]) -> bool:
    """Update the sale unless the ledger changed it since it was read."""
    updated = session.execute(update(SALE).where(SALE.c.id == due.id, SALE.c.updated_at == due.updated_at)
                              .values(**values).returning(SALE.c.id)).first()
    return updated is not None


def _verify(reader: ChainReader, chain: str, due: _Due, safe_head: int, now: datetime,
            result: CalculationResult) -> None:
    """An unverified sale: decode its transaction from the chain if it is there (and confirmed), else look later."""
    receipt = reader.receipt(due.tx_hash)
    reports = []
    if receipt is not None and receipt["status"] == 1 and receipt["blockNumber"] <= safe_head:
        with session_scope() as session:
            seaports = seaport_addresses(session, due.chain_id)
        tracked = [Tracked(due.collection, due.campaign_id, 0, 0)]
        found, errors = reports_from_receipt(reader, due.chain_id, receipt, tracked, seaports, fee_recipients())
        result.errors += errors
        reports = [r for r in found if r.token_id == due.token_id]
    if reports:
        record_reports(reports)  # the ledger confirms the sale and makes it due again: computed below
        result.verified += 1
        return
    with session_scope() as session:
        if _write(session, due, {"next_check_at": now + recheck_delay(due.created_at, now)}):
            result.rechecks += 1
        else:
            result.skipped += 1


def _compute(reader: ChainReader, due: _Due, now: datetime, result: CalculationResult) -> None:
    assert due.block_number is not None
    royalty = royalty_at(reader, due.collection, due.token_id, due.price, due.block_number)
    if royalty is None:
        result.errors.append(f"sale {due.id}: royaltyInfo failed at block {due.block_number}")
        with session_scope() as session:
            _write(session, due, {"next_check_at": now + recheck_delay(due.created_at, now)})
        return
    receiver, owed = royalty
    paid = due.royalty_paid
    if paid is None or due.royalty_receiver is None or due.royalty_receiver.lower() != receiver.lower():
        paid = _paid_from_receipt(reader, due, receiver, result)  # the indexer could not tell who to count
    with session_scope() as session:
        bps = session.execute(select(Campaign.royalty_bps).where(Campaign.id == due.campaign_id)).scalar_one()
        mismatch = owed != due.price * bps // BPS
        values = {"royalty_receiver": receiver, "royalty_owed": owed, "royalty_paid": paid,
                  "royalty_bps_mismatch": mismatch, "royalty_computed_at": now, "next_check_at": None,
                  "updated_at": now}
        if not _write(session, due, values):
            result.skipped += 1
            return
        shortfall = None if paid is None else owed - paid
        emit_many(session, [NewEvent("royalty.computed", {
            "sale_id": due.id, "campaign_id": due.campaign_id, "brand_id": due.brand_id, "chain_id": due.chain_id,
            "tx_hash": due.tx_hash, "collection": due.collection, "token_id": str(due.token_id),
            "block_number": due.block_number, "currency_address": due.currency_address,
            "currency_symbol": due.currency_symbol, "price": str(due.price), "receiver": receiver,
            "owed": str(owed), "paid": None if paid is None else str(paid),
            "shortfall": None if shortfall is None else str(shortfall), "bps_mismatch": mismatch,
        }, entity=("sale", due.id))])
        result.computed += 1


def _paid_from_receipt(reader: ChainReader, due: _Due, receiver: str, result: CalculationResult) -> int | None:
    """What the sale's own fill paid to `receiver`, read again from its receipt; None if it cannot be read."""
    receipt = reader.receipt(due.tx_hash)
    if receipt is None:
        return None
    with session_scope() as session:
        seaports = seaport_addresses(session, due.chain_id)
    found, errors = reports_from_receipt(reader, due.chain_id, receipt,
                                         [Tracked(due.collection, due.campaign_id, 0, 0)], seaports, fee_recipients())
    result.errors += errors
    for report in found:
        if report.token_id == due.token_id and report.royalty_receiver == receiver:
            return report.royalty_paid
    return None


def calculate_pass(chain: str, batch_size: int | None = None, *, now: datetime | None = None,
                   keep_going: Callable[[], bool] | None = None) -> CalculationResult:
    """Look at up to `batch_size` due sales of `chain`: verify the unverified, compute owed/paid of the confirmed."""
    result = CalculationResult()
    now = now or utcnow()
    with session_scope() as session:
        if session.execute(select(SALE.c.id).where(SALE.c.next_check_at <= now).limit(1)).first() is None:
            return result  # nothing due anywhere: the node is not even asked
    reader = ChainReader(get_web3(chain))
    chain_id = chain_id_of(chain)
    limit = batch_size or get_settings().royalty_batch_size
    due = _due(chain_id, now, limit)
    if not due:
        return result
    safe_head = reader.block_number() - chain_config(chain).confirmations + 1
    for row in due:
        if row.status is SaleStatus.UNVERIFIED:
            _verify(reader, chain, row, safe_head, now, result)
        if keep_going is not None and not keep_going():
            return result
    # Confirmed ones, including those just verified (the ledger made them due a moment ago).
    now = utcnow()
    for row in _due(chain_id, now, limit):
        if row.status is SaleStatus.CONFIRMED and row.block_number is not None:
            _compute(reader, row, now, result)
        elif row.status is SaleStatus.REVERTED:
            with session_scope() as session:
                _write(session, row, {"next_check_at": None})
            result.skipped += 1
        if keep_going is not None and not keep_going():
            break
    return result


# -- outbox ---------------------------------------------------------------------------------------------------------

@subscriber("sale.recorded", "sale.reverted", name="sales.royalty_schedule")
def schedule_royalty(session: Session, event: Event) -> None:
    """A recorded sale is due for the calculator now (an unverified one is first looked up on the chain); a reverted
    one is not looked at any more."""
    if not processed_once(session, event):
        return
    sale_id = event.payload.get("sale_id")
    if not isinstance(sale_id, int):
        return
    if event.topic == "sale.reverted":
        session.execute(update(SALE).where(SALE.c.id == sale_id, SALE.c.status == SaleStatus.REVERTED)
                        .values(next_check_at=None))
        return
    now = utcnow()
    session.execute(update(SALE).where(
        SALE.c.id == sale_id, SALE.c.status != SaleStatus.REVERTED,
        or_(SALE.c.next_check_at.is_(None), SALE.c.next_check_at > now),
        or_(SALE.c.royalty_computed_at.is_(None), SALE.c.status == SaleStatus.UNVERIFIED),
    ).values(next_check_at=now))
