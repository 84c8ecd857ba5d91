"""What brand admins read of the sales ledger: a campaign's sales (filtered, paged, CSV), its royalties (owed,
paid, shortfall per currency and marketplace; over time; top unpaid sales) and a brand-wide summary. Every
function checks that the actor may read the campaign (or brand) first; another brand's campaign is "not found".

Royalty arithmetic is on exact integers of each currency's base units:
- owed: royaltyInfo's amount, summed over the sales whose owed amount is known (the calculator computed it);
- paid, shortfall (= owed - paid): over the sales where both are known (the chain confirmed what was paid);
- unverified_owed: owed by sales whose payment the chain has not confirmed yet (never assumed paid).
So owed = paid + shortfall + unverified_owed, and the marketplaces' figures add up to the currency's.
Reverted sales are out of every total.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlmodel import Session

from backend.auth.acl import Actor, Permission, require_in_brand
from backend.campaigns.access import load_campaign
from backend.csv_safe import csv_text
from backend.db import session_scope
from backend.errors import ValidationFailed
from backend.pagination import Page, check_page
from backend.sales.models import Sale, SaleSource, SaleStatus
from backend.sales.normalise import checksum_address

EXPORT_PAGE = 500
TOP_UNPAID = 10
_HEX_PREFIX = re.compile(r"^0x[0-9a-fA-F]{4,64}$")
CSV_COLUMNS = [
    "sold_at", "status", "marketplace", "sources", "token_id", "quantity", "currency", "currency_address",
    "decimals", "price", "price_base_units", "value_usd", "seller", "buyer", "tx_hash", "log_index", "block_number",
    "royalty_receiver", "royalty_owed", "royalty_paid", "royalty_shortfall",
]


@dataclass(frozen=True)
class SaleRow:
    id: int
    tx_hash: str
    log_index: int | None
    token_id: int
    quantity: int
    price: int
    currency: str
    currency_address: str
    decimals: int
    marketplace: str
    sources: list[str]
    seller: str
    buyer: str
    sold_at: datetime
    block_number: int | None
    status: str
    value_usd_cents: int | None
    royalty_receiver: str | None
    royalty_owed: int | None
    royalty_paid: int | None

    @property
    def shortfall(self) -> int | None:
        if self.royalty_owed is None or self.royalty_paid is None:
            return None
        return self.royalty_owed - self.royalty_paid


@dataclass
class RoyaltyFigures:
    """One currency's royalty figures (base units), for a campaign or one marketplace of it."""

    currency: str
    currency_address: str
    decimals: int
    owed: int = 0
    paid: int = 0
    shortfall: int = 0
    unverified_owed: int = 0
    sales: int = 0  # not reverted
    verified_sales: int = 0  # owed and paid both known
    pending_sales: int = 0  # owed not computed yet
    shortfall_usd_cents: int = 0  # the shortfall valued at each sale's own rate

    @property
    def leakage_percent(self) -> Decimal | None:
        verified_owed = self.paid + self.shortfall
        if verified_owed == 0:
            return None
        return (Decimal(self.shortfall) * 100 / Decimal(verified_owed)).quantize(Decimal("0.01"), ROUND_HALF_UP)

    def add(self, owed: int | None, paid: int | None, shortfall_usd_cents: int) -> None:
        self.sales += 1
        if owed is None:
            self.pending_sales += 1
            return
        self.owed += owed
        if paid is None:
            self.unverified_owed += owed
            return
        self.verified_sales += 1
        self.paid += paid
        self.shortfall += owed - paid
        self.shortfall_usd_cents += shortfall_usd_cents


@dataclass
class Royalties:
    campaign_id: int
    currencies: list[RoyaltyFigures]
    marketplaces: dict[str, list[RoyaltyFigures]]


@dataclass(frozen=True)
class DayFigures:
    day: date
    owed: int  # by every sale of the day (not reverted)
    paid: int  # by the sales the chain confirmed
    shortfall: int  # of the sales the chain confirmed
    verified_owed: int  # owed by the sales the chain confirmed (= paid + shortfall)


@dataclass
class RoyaltyDashboard:
    royalties: Royalties
    currency: RoyaltyFigures | None  # the campaign's main currency (most sales), the one the charts show
    days: list[DayFigures] = field(default_factory=list)
    top_unpaid: list[SaleRow] = field(default_factory=list)


@dataclass(frozen=True)
class BrandRoyaltySummary:
    brand_id: int
    campaigns: int  # campaigns with at least one sale
    sales: int
    currencies: list[RoyaltyFigures]


def _filters(campaign_id: int, marketplace: str | None, status: str | None, date_from: datetime | None,
             date_to: datetime | None, search: str) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Sale.campaign_id == campaign_id]  # type: ignore[list-item]
    if marketplace:
        where.append(Sale.marketplace == marketplace.strip().lower())  # type: ignore[arg-type]
    if status:
        try:
            where.append(Sale.status == SaleStatus(status))  # type: ignore[arg-type]
        except ValueError:
            raise ValidationFailed("Unknown status.", fields={
                "status": "one of " + ", ".join(s.value for s in SaleStatus)}) from None
    if date_from is not None and date_to is not None and date_from > date_to:
        raise ValidationFailed("The date range is backwards.", fields={"from": "must not be after 'to'"})
    if date_from is not None:
        where.append(Sale.sold_at >= _aware(date_from))  # type: ignore[arg-type,operator]
    if date_to is not None:
        where.append(Sale.sold_at < _aware(date_to))  # type: ignore[arg-type,operator]  (exclusive, as orders')
    search = search.strip()
    if search:
        where.append(_search(search))
    return where


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _search(text: str) -> ColumnElement[bool]:
    """A whole address (seller, buyer or royalty receiver), a whole transaction hash, or a hex prefix of either."""
    if not _HEX_PREFIX.match(text):
        raise ValidationFailed("Search by an address or a transaction hash (0x...).",
                               fields={"search": "an address or transaction hash, or at least its first 4 digits"})
    lower = text.lower()
    if len(lower) == 42:
        address = checksum_address(lower)
        return or_(Sale.seller == address, Sale.buyer == address, Sale.royalty_receiver == address)  # type: ignore[arg-type]
    if len(lower) == 66:
        return Sale.tx_hash == lower  # type: ignore[return-value]
    pattern = lower + "%"
    return or_(Sale.tx_hash.like(pattern), func.lower(Sale.seller).like(pattern),  # type: ignore[attr-defined]
               func.lower(Sale.buyer).like(pattern))


def _rows(session: Session, sales: list[Sale]) -> list[SaleRow]:
    ids = [sale.id for sale in sales]
    sources: dict[int, list[str]] = {}
    if ids:
        for sale_id, name in session.execute(
                select(SaleSource.sale_id, SaleSource.source)
                .where(SaleSource.sale_id.in_(ids), SaleSource.reverted.is_(False))  # type: ignore[attr-defined]
                .order_by(SaleSource.source)):
            sources.setdefault(sale_id, []).append(name)
    return [_row(sale, sources.get(sale.id, [])) for sale in sales]  # type: ignore[arg-type]


def _row(sale: Sale, sources: list[str]) -> SaleRow:
    return SaleRow(
        id=sale.id, tx_hash=sale.tx_hash, log_index=sale.log_index, token_id=sale.token_id,  # type: ignore[arg-type]
        quantity=sale.quantity, price=sale.price, currency=sale.currency_symbol,
        currency_address=sale.currency_address, decimals=sale.currency_decimals, marketplace=sale.marketplace,
        sources=sources, seller=sale.seller, buyer=sale.buyer, sold_at=sale.sold_at, block_number=sale.block_number,
        status=sale.status.value, value_usd_cents=sale.value_usd_cents, royalty_receiver=sale.royalty_receiver,
        royalty_owed=sale.royalty_owed,
        royalty_paid=None if sale.status is SaleStatus.UNVERIFIED else sale.royalty_paid,
    )


def list_sales(actor: Actor, campaign_id: int, *, limit: int = 20, offset: int = 0, marketplace: str | None = None,
               status: str | None = None, date_from: datetime | None = None, date_to: datetime | None = None,
               search: str = "") -> Page[SaleRow]:
    """A campaign's sales, newest first."""
    limit, offset = check_page(limit, offset)
    with session_scope() as session:
        load_campaign(session, actor, campaign_id)
        where = _filters(campaign_id, marketplace, status, date_from, date_to, search)
        total = session.execute(select(func.count()).select_from(Sale).where(and_(*where))).scalar_one()
        sales = list(session.execute(
            select(Sale).where(and_(*where))
            .order_by(Sale.sold_at.desc(), Sale.id.desc())  # type: ignore[attr-defined,union-attr]
            .limit(limit).offset(offset)).scalars())
        return Page(_rows(session, sales), int(total), limit, offset)


@dataclass(frozen=True)
class SalesContext:
    """What the Sales and Royalties pages show around the figures."""

    campaign_id: int
    name: str
    slug: str
    image_url: str
    chain: str  # the chain configuration's key (explorer links)
    marketplaces: list[str]


def sales_context(actor: Actor, campaign_id: int) -> SalesContext:
    """The campaign's name, image and chain, and the marketplaces its sales were made on (for the filter)."""
    with session_scope() as session:
        campaign = load_campaign(session, actor, campaign_id)
        names = list(session.execute(select(Sale.marketplace).where(Sale.campaign_id == campaign_id).distinct()
                                     .order_by(Sale.marketplace)).scalars())
        return SalesContext(campaign_id, campaign.name, campaign.slug, campaign.image_url, campaign.chain, names)


def stream_sales_csv(actor: Actor | None, campaign_id: int, *, marketplace: str | None = None,
                     status: str | None = None, date_from: datetime | None = None, date_to: datetime | None = None,
                     search: str = "") -> Iterator[str]:
    """Every matching sale as CSV chunks, newest first by id, read page after page by id (keyset): memory stays
    at one page and no transaction stays open while the client reads. Permission and filters are checked before
    the first chunk, so a refusal is an error response, not a broken download."""
    with session_scope() as session:
        load_campaign(session, actor, campaign_id)  # type: ignore[arg-type]
    where = _filters(campaign_id, marketplace, status, date_from, date_to, search)
    return _csv_chunks(where)


def _csv_chunks(where: list[ColumnElement[bool]]) -> Iterator[str]:
    yield csv_text([CSV_COLUMNS])
    with session_scope() as session:
        ceiling = session.execute(select(func.max(Sale.id)).where(and_(*where))).scalar_one()
    if ceiling is None:
        return
    last: int | None = None
    while True:
        page = [*where, Sale.id <= ceiling]  # type: ignore[operator]
        if last is not None:
            page.append(Sale.id < last)  # type: ignore[operator]
        with session_scope() as session:
            sales = list(session.execute(select(Sale).where(and_(*page)).order_by(Sale.id.desc())  # type: ignore[union-attr]
                                         .limit(EXPORT_PAGE)).scalars())
            if not sales:
                return
            chunk = csv_text([_csv_row(row) for row in _rows(session, sales)])
            last = sales[-1].id
        yield chunk
        if len(sales) < EXPORT_PAGE:
            return


def units_text(amount: int | None, decimals: int) -> str:
    """Base units shown in whole units, exactly (46000000000000000, 18 -> "0.046")."""
    if amount is None:
        return ""
    text = format(Decimal(amount).scaleb(-decimals), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def usd_text(cents: int | None) -> str:
    return "" if cents is None else format(Decimal(cents).scaleb(-2), "f")


def _csv_row(row: SaleRow) -> list[Any]:
    # csv_text neutralises formulas: the currency symbol is the token deployer's choice, and rows stored before
    # symbols were restricted at ingest may hold anything.
    return [
        row.sold_at.isoformat(), row.status, row.marketplace, " ".join(row.sources), str(row.token_id), row.quantity,
        row.currency, row.currency_address, row.decimals, units_text(row.price, row.decimals), str(row.price),
        usd_text(row.value_usd_cents), row.seller, row.buyer, row.tx_hash,
        "" if row.log_index is None else row.log_index, row.block_number or "", row.royalty_receiver or "",
        "" if row.royalty_owed is None else str(row.royalty_owed),
        "" if row.royalty_paid is None else str(row.royalty_paid),
        "" if row.shortfall is None else str(row.shortfall),
    ]


# -- royalties ------------------------------------------------------------------------------------------------------

_ROYALTY_COLUMNS = (Sale.id, Sale.marketplace, Sale.currency_symbol, Sale.currency_address, Sale.currency_decimals,
                    Sale.royalty_owed, Sale.royalty_paid, Sale.status, Sale.fx_rate_usd, Sale.sold_at)


def _shortfall_usd_cents(owed: int | None, paid: int | None, decimals: int, rate: Decimal | None) -> int:
    if owed is None or paid is None or rate is None:
        return 0
    return int((Decimal(owed - paid) * rate * 100).scaleb(-decimals).to_integral_value(ROUND_HALF_UP))


def _figures(rows: list[Any]) -> tuple[dict[tuple[str, str, int], RoyaltyFigures],
                                       dict[str, dict[tuple[str, str, int], RoyaltyFigures]]]:
    totals: dict[tuple[str, str, int], RoyaltyFigures] = {}
    by_market: dict[str, dict[tuple[str, str, int], RoyaltyFigures]] = {}
    for _id, market, symbol, address, decimals, owed, paid, status, rate, _at in rows:
        if status is SaleStatus.REVERTED:
            continue
        paid = None if status is SaleStatus.UNVERIFIED else paid
        key = (symbol, address, decimals)
        usd = _shortfall_usd_cents(owed, paid, decimals, rate)
        totals.setdefault(key, RoyaltyFigures(symbol, address, decimals)).add(owed, paid, usd)
        by_market.setdefault(market, {}).setdefault(key, RoyaltyFigures(symbol, address, decimals)).add(
            owed, paid, usd)
    return totals, by_market


def _ordered(figures: dict[tuple[str, str, int], RoyaltyFigures]) -> list[RoyaltyFigures]:
    return sorted(figures.values(), key=lambda f: (-f.sales, f.currency, f.currency_address))


def royalties(actor: Actor, campaign_id: int) -> Royalties:
    """Owed, paid, shortfall and sales per currency, and the same per marketplace."""
    with session_scope() as session:
        load_campaign(session, actor, campaign_id)
        rows = session.execute(select(*_ROYALTY_COLUMNS).where(Sale.campaign_id == campaign_id)).all()
    totals, by_market = _figures(rows)  # type: ignore[arg-type]
    return Royalties(campaign_id, _ordered(totals), {m: _ordered(f) for m, f in sorted(by_market.items())})


def royalty_dashboard(actor: Actor, campaign_id: int) -> RoyaltyDashboard:
    """Royalties, plus the main currency's owed vs paid per day and the sales that left the most unpaid."""
    with session_scope() as session:
        load_campaign(session, actor, campaign_id)
        rows = session.execute(select(*_ROYALTY_COLUMNS).where(Sale.campaign_id == campaign_id)).all()
        totals, by_market = _figures(rows)  # type: ignore[arg-type]
        ordered = _ordered(totals)
        main = ordered[0] if ordered else None
        days: dict[date, list[int]] = {}
        unpaid: list[tuple[int, int]] = []
        for sale_id, _m, symbol, address, decimals, owed, paid, status, _rate, sold_at in rows:
            if main is None or status is SaleStatus.REVERTED or \
                    (symbol, address, decimals) != (main.currency, main.currency_address, main.decimals):
                continue
            paid = None if status is SaleStatus.UNVERIFIED else paid
            day = days.setdefault(sold_at.date(), [0, 0, 0, 0])
            if owed is not None:
                day[0] += owed
                if paid is not None:
                    day[1] += paid
                    day[2] += owed - paid
                    day[3] += owed
                    if owed > paid:
                        unpaid.append((owed - paid, sale_id))
        unpaid.sort(key=lambda item: (-item[0], -item[1]))
        top_ids = [sale_id for _, sale_id in unpaid[:TOP_UNPAID]]
        top: list[SaleRow] = []
        if top_ids:
            by_id = {s.id: s for s in session.execute(select(Sale).where(Sale.id.in_(top_ids))).scalars()}  # type: ignore[union-attr]
            top = _rows(session, [by_id[i] for i in top_ids])
    result = Royalties(campaign_id, ordered, {m: _ordered(f) for m, f in sorted(by_market.items())})
    return RoyaltyDashboard(result, main, [DayFigures(d, *v) for d, v in sorted(days.items())], top)


def brand_summary(actor: Actor, brand_id: int) -> BrandRoyaltySummary:
    """Royalties of every campaign of a brand, per currency (the admin dashboard's card). Another brand is not found,
    as one that does not exist."""
    require_in_brand(actor, Permission.CAMPAIGN_READ, brand_id)
    with session_scope() as session:
        rows = session.execute(select(*_ROYALTY_COLUMNS).where(Sale.brand_id == brand_id)).all()
        campaigns = session.execute(select(func.count(func.distinct(Sale.campaign_id)))
                                    .where(Sale.brand_id == brand_id)).scalar_one()
    totals, _ = _figures(rows)  # type: ignore[arg-type]
    ordered = _ordered(totals)
    return BrandRoyaltySummary(brand_id, int(campaigns), sum(f.sales for f in ordered), ordered)
