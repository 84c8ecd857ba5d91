"""Campaigns: the brand-side CRUD and status changes, and the public read of a live campaign by slug."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.encoders import jsonable_encoder

from backend.api.deps import V1_DEPENDENCIES, CurrentActor
from backend.api.public import LIVE_PUBLIC_CACHE, NOT_MODIFIED, cached_json, limit_public_reads
from backend.api.schemas import (
    MAX_ID,
    CampaignCreateRequest,
    CampaignOut,
    CampaignPage,
    CampaignStatusChange,
    PageLimit,
    PageOffset,
    PublicCampaignOut,
)
from backend.campaigns import service
from backend.campaigns.models import Campaign, CampaignStatus
from backend.campaigns.schemas import CampaignUpdate
from backend.orders.service import get_campaign_for_sale

router = APIRouter(prefix="/api/v1/campaigns", dependencies=V1_DEPENDENCIES, tags=["campaigns"])
public_router = APIRouter(prefix="/api/v1/public", dependencies=V1_DEPENDENCIES, tags=["public"])

CampaignId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _out(campaign: Campaign) -> CampaignOut:
    """A campaign the actor may read, with its collection contract once deployed."""
    return CampaignOut.of(campaign, service.deployed_contracts([campaign]).get(campaign.id))  # type: ignore[arg-type]


@router.get("", response_model=CampaignPage)
def list_campaigns(
    actor: CurrentActor,
    brand_id: Annotated[int, Query(ge=1, le=MAX_ID)],
    status_: Annotated[CampaignStatus | None, Query(alias="status")] = None,
    search: Annotated[str, Query(max_length=200)] = "",
    sort: Annotated[str, Query(max_length=40, json_schema_extra={"enum": sorted(service.SORTABLE)})] = "created_at",
    order: Literal["asc", "desc"] = "desc",
    limit: PageLimit = 20,
    offset: PageOffset = 0,
) -> CampaignPage:
    page = service.list_campaigns(
        actor,
        brand_id,
        status=status_,
        search=search,
        sort=sort,
        descending=order == "desc",
        limit=limit,
        offset=offset,
    )
    return CampaignPage.of(page, service.deployed_contracts(page.items))


# Rules a JSON schema cannot state (between fields, or against the stored campaign): 422 naming the field to change.
RULES_BETWEEN_FIELDS = (
    "Rules between fields (422 naming the field to change): `sale_ends_at` must be after `sale_starts_at`; "
    "`per_wallet_cap` cannot exceed `supply_cap`; `royalty_receiver` is required when `royalty_bps` is above 0."
)


@router.post("", response_model=CampaignOut, status_code=status.HTTP_201_CREATED,
             description=f"{RULES_BETWEEN_FIELDS} A slug in use is 409.")
def create_campaign(body: CampaignCreateRequest, actor: CurrentActor) -> CampaignOut:
    fields = body.model_dump(exclude={"brand_id"}, exclude_unset=True)
    return _out(service.create_campaign(actor, body.brand_id, fields))


@router.get("/{campaign_id}", response_model=CampaignOut)
def get_campaign(campaign_id: CampaignId, actor: CurrentActor) -> CampaignOut:
    return _out(service.get_campaign(actor, campaign_id))


@router.patch("/{campaign_id}", response_model=CampaignOut, description=(
    f"Only the fields sent change. {RULES_BETWEEN_FIELDS} The rules hold for the campaign as it will be (the fields "
    "sent merged with the stored ones); besides, `supply_cap` cannot drop below what is sold, and once the "
    "collection contract is deployed its slug and royalty are fixed and its supply can only go down (422). A slug "
    "in use, or an archived campaign, is 409."))
def update_campaign(campaign_id: CampaignId, body: CampaignUpdate, actor: CurrentActor) -> CampaignOut:
    return _out(service.update_campaign(actor, campaign_id, body.model_dump(exclude_unset=True)))


@router.delete("/{campaign_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_campaign(campaign_id: CampaignId, actor: CurrentActor) -> Response:
    service.delete_campaign(actor, campaign_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{campaign_id}/status", response_model=CampaignOut)
def change_status(campaign_id: CampaignId, body: CampaignStatusChange, actor: CurrentActor) -> CampaignOut:
    return _out(service.change_campaign_status(actor, campaign_id, body.status))


@public_router.get("/campaigns/{slug}", response_model=PublicCampaignOut, responses=NOT_MODIFIED,
                   dependencies=[Depends(limit_public_reads)])
def get_public_campaign(request: Request, slug: Annotated[str, Path(max_length=200)]) -> Response:
    for_sale = get_campaign_for_sale(slug)
    body = jsonable_encoder(PublicCampaignOut.of(for_sale.public, for_sale.phase))
    return cached_json(request, body, LIVE_PUBLIC_CACHE)
