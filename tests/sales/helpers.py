"""Sales test data: a deployed campaign's collection and SaleReports as each source would make them."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from backend.campaigns.models import Campaign
from backend.db import session_scope
from backend.sales.models import Sale, SaleReversal, SaleSource
from backend.sales.normalise import checksum_address
from backend.sales.reports import NATIVE_CURRENCY, SaleReport
from backend.workflow.models import OutboxEvent
from tests.factories import make_brand, make_campaign, record_deployed_contract

CHAIN_ID = 31337
WETH = checksum_address("0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2")
SELLER = checksum_address("0x4b4f2c82dded91191d19e8fa07315f5f2b62abb8")
BUYER = checksum_address("0x377e7a08f548a2c862909702a426eb101fc40b51")
SOLD_AT = datetime(2026, 11, 20, 12, 30, 15, tzinfo=UTC)


def tx(n: int | str) -> str:
    return "0x" + hashlib.sha256(str(n).encode()).hexdigest()


def deployed_campaign(address: str | None = None, brand: Any = None) -> tuple[Campaign, str]:
    """A published campaign whose collection is deployed at `address`; returns it and the checksummed address."""
    brand = brand or make_brand()
    campaign = make_campaign(brand, deployed=False)
    address = record_deployed_contract(campaign, address)
    return campaign, checksum_address(address)


def report(collection: str, n: int | str = 1, **overrides: Any) -> SaleReport:
    """A marketplace report (OpenSea by default) of sale `n` of token 7 for 0.5 ETH."""
    fields: dict[str, Any] = dict(
        source="opensea", chain_id=CHAIN_ID, tx_hash=tx(n), collection=collection, token_id=7, quantity=1,
        price=5 * 10**17, currency_address=NATIVE_CURRENCY, currency_symbol="ETH", currency_decimals=18,
        marketplace="opensea", seller=SELLER, buyer=BUYER, sold_at=SOLD_AT,
    )
    return SaleReport(**(fields | overrides))


def chain_report(base: SaleReport, log_index: int = 3, **overrides: Any) -> SaleReport:
    """What the indexer would report for the same sale: log index, block, royalty paid."""
    return replace(base, source="chain", log_index=log_index, block_number=1234,
                   block_hash=tx(f"block-{base.tx_hash}"), order_hash=tx(f"order-{base.tx_hash}"),
                   external_id="", **overrides)


def sales() -> list[Sale]:
    with session_scope() as session:
        return list(session.execute(select(Sale).order_by(Sale.id)).scalars())  # type: ignore[arg-type]


def sources_of(sale_id: int) -> dict[str, SaleSource]:
    with session_scope() as session:
        rows = session.execute(select(SaleSource).where(SaleSource.sale_id == sale_id)).scalars()
        return {row.source: row for row in rows}


def reversals() -> list[SaleReversal]:
    with session_scope() as session:
        return list(session.execute(select(SaleReversal).order_by(SaleReversal.id)).scalars())  # type: ignore[arg-type]


def events(prefix: str = "sale.") -> list[tuple[str, dict[str, Any]]]:
    with session_scope() as session:
        rows = session.execute(select(OutboxEvent).where(OutboxEvent.topic.startswith(prefix))  # type: ignore[attr-defined]
                               .order_by(OutboxEvent.id)).scalars()
        return [(row.topic, row.payload) for row in rows]
