"""A campaign's secondary sales and royalties: GET /api/v1/campaigns/{id}/sales (paged, filtered),
/sales/export.csv (streamed) and /royalties. Same ACL as the campaign: another brand's campaign answers 404.
Amounts are decimal strings of base units (exact, whatever their size)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from backend.api.deps import V1_DEPENDENCIES, CurrentActor
from backend.api.routes.orders import bearer_or_web_session
from backend.api.schemas import MAX_ID, ErrorBody, PageLimit, PageOffset, QueryDateTime
from backend.auth.acl import Actor
from backend.db import utcnow
from backend.sales import service
from backend.sales.models import SaleStatus

router = APIRouter(prefix="/api/v1/campaigns", dependencies=V1_DEPENDENCIES, tags=["sales"])

CampaignId = Annotated[int, Path(ge=1, le=MAX_ID)]
ERRORS = {401: {"model": ErrorBody}, 404: {"model": ErrorBody, "description": "no such campaign for this caller"},
          422: {"model": ErrorBody}}


class SaleOut(BaseModel):
    tx_hash: str
    log_index: int | None = Field(description="the Seaport OrderFulfilled log index; null until the chain reports it")
    token_id: str
    quantity: int
    price: str = Field(description="total paid by the buyer, base units of the currency")
    currency: str
    currency_address: str = Field(description="0x000...000 for the native coin")
    decimals: int
    marketplace: str
    sources: list[str] = Field(description="who reported the sale: chain, opensea, rarible")
    seller: str
    buyer: str
    sold_at: datetime
    block_number: int | None
    status: SaleStatus
    value_usd: str | None = Field(description="USD value at the time of the sale (dollars), null if no price")
    royalty_receiver: str | None
    royalty_owed: str | None = Field(description="base units; null until computed")
    royalty_paid: str | None = Field(description="base units; null while unverified (never assumed)")

    @classmethod
    def of(cls, row: service.SaleRow) -> SaleOut:
        return cls(
            tx_hash=row.tx_hash, log_index=row.log_index, token_id=str(row.token_id), quantity=row.quantity,
            price=str(row.price), currency=row.currency, currency_address=row.currency_address,
            decimals=row.decimals, marketplace=row.marketplace, sources=row.sources, seller=row.seller,
            buyer=row.buyer, sold_at=row.sold_at, block_number=row.block_number, status=SaleStatus(row.status),
            value_usd=service.usd_text(row.value_usd_cents) or None, royalty_receiver=row.royalty_receiver,
            royalty_owed=None if row.royalty_owed is None else str(row.royalty_owed),
            royalty_paid=None if row.royalty_paid is None else str(row.royalty_paid),
        )


class SalePage(BaseModel):
    items: list[SaleOut]
    total: int
    limit: int
    offset: int


class RoyaltyOut(BaseModel):
    currency: str
    currency_address: str
    decimals: int
    owed: str = Field(description="base units, over sales whose royalty is computed")
    paid: str = Field(description="base units, over sales the chain confirmed")
    shortfall: str = Field(description="owed - paid over the confirmed sales, base units")
    unverified_owed: str = Field(description="owed by sales not confirmed by the chain yet")
    sales: int = Field(description="sales not reverted")
    verified_sales: int
    pending_sales: int = Field(description="sales whose owed royalty is not computed yet")
    leakage_percent: str | None = Field(description="shortfall / owed over confirmed sales, in %")
    shortfall_usd: str = Field(description="the shortfall in USD at each sale's own rate")

    @classmethod
    def of(cls, figures: service.RoyaltyFigures) -> RoyaltyOut:
        leak = figures.leakage_percent
        return cls(currency=figures.currency, currency_address=figures.currency_address, decimals=figures.decimals,
                   owed=str(figures.owed), paid=str(figures.paid), shortfall=str(figures.shortfall),
                   unverified_owed=str(figures.unverified_owed), sales=figures.sales,
                   verified_sales=figures.verified_sales, pending_sales=figures.pending_sales,
                   leakage_percent=None if leak is None else format(leak, "f"),
                   shortfall_usd=service.usd_text(figures.shortfall_usd_cents))


class RoyaltiesOut(BaseModel):
    campaign_id: int
    currencies: list[RoyaltyOut]
    marketplaces: dict[str, list[RoyaltyOut]]


class SaleFilters:
    """The list's and the export's filters (query parameters)."""

    def __init__(self, marketplace: Annotated[str | None, Query(max_length=32)] = None,
                 status: SaleStatus | None = None,
                 date_from: Annotated[QueryDateTime | None, Query(alias="from")] = None,
                 date_to: Annotated[QueryDateTime | None,
                                    Query(alias="to", description="exclusive; after `from`")] = None,
                 search: Annotated[str, Query(max_length=66, pattern=r"^(0x[0-9a-fA-F]{4,64})?$",
                                              description="address or tx hash (or a 0x prefix)")] = ""
                 ) -> None:
        self.kwargs = {"marketplace": marketplace, "status": status.value if status else None,
                       "date_from": date_from, "date_to": date_to, "search": search}


@router.get("/{campaign_id}/sales", response_model=SalePage, responses=ERRORS)
def list_sales(campaign_id: CampaignId, actor: CurrentActor, filters: Annotated[SaleFilters, Depends()],
               limit: PageLimit = 20, offset: PageOffset = 0) -> SalePage:
    page = service.list_sales(actor, campaign_id, limit=limit, offset=offset, **filters.kwargs)
    return SalePage(items=[SaleOut.of(row) for row in page.items], total=page.total, limit=page.limit,
                    offset=page.offset)


@router.get("/{campaign_id}/sales/export.csv", response_class=StreamingResponse, responses={
    200: {"content": {"text/csv": {}}, "description": "every matching sale, newest first"}, **ERRORS})
def export_sales(campaign_id: CampaignId, actor: Annotated[Actor, Depends(bearer_or_web_session)],
                 filters: Annotated[SaleFilters, Depends()]) -> StreamingResponse:
    """Every matching sale as CSV, streamed page by page (bearer token or the admin's session cookie)."""
    chunks = service.stream_sales_csv(actor, campaign_id, **filters.kwargs)
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="sales-campaign-{campaign_id}-{stamp}.csv"',
        "Cache-Control": "no-store",
    })


@router.get("/{campaign_id}/royalties", response_model=RoyaltiesOut, responses=ERRORS)
def get_royalties(campaign_id: CampaignId, actor: CurrentActor) -> RoyaltiesOut:
    result = service.royalties(actor, campaign_id)
    return RoyaltiesOut(campaign_id=result.campaign_id, currencies=[RoyaltyOut.of(f) for f in result.currencies],
                        marketplaces={m: [RoyaltyOut.of(f) for f in figures]
                                      for m, figures in result.marketplaces.items()})
