"""Campaigns: the brand-side CRUD and status changes, and the public read of a live campaign by slug."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response, status

from backend.api.deps import V1_DEPENDENCIES, CurrentActor
from backend.api.schemas import (
    MAX_ID,
    CampaignCreateRequest,
    CampaignOut,
    CampaignPage,
    CampaignStatusChange,
    PublicCampaignOut,
)
from backend.campaigns import service
from backend.campaigns.models import CampaignStatus
from backend.campaigns.schemas import CampaignUpdate
from backend.orders.service import get_campaign_for_sale

router = APIRouter(prefix="/api/v1/campaigns", dependencies=V1_DEPENDENCIES, tags=["campaigns"])
public_router = APIRouter(prefix="/api/v1/public", dependencies=V1_DEPENDENCIES, tags=["public"])

CampaignId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("", response_model=CampaignPage)
def list_campaigns(
    actor: CurrentActor,
    brand_id: Annotated[int, Query(ge=1, le=MAX_ID)],
    status_: Annotated[CampaignStatus | None, Query(alias="status")] = None,
    search: Annotated[str, Query(max_length=200)] = "",
    sort: Annotated[str, Query(max_length=40, description=", ".join(sorted(service.SORTABLE)))] = "created_at",
    order: Literal["asc", "desc"] = "desc",
    # Range checks (1..100, >= 0) belong to the service; the bounds here only keep numbers storable.
    limit: Annotated[int, Query(ge=-MAX_ID, le=MAX_ID)] = 20,
    offset: Annotated[int, Query(ge=-MAX_ID, le=MAX_ID)] = 0,
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
    return CampaignPage.of(page)


@router.post("", response_model=CampaignOut, status_code=status.HTTP_201_CREATED)
def create_campaign(body: CampaignCreateRequest, actor: CurrentActor) -> CampaignOut:
    fields = body.model_dump(exclude={"brand_id"}, exclude_unset=True)
    return CampaignOut.of(service.create_campaign(actor, body.brand_id, fields))


@router.get("/{campaign_id}", response_model=CampaignOut)
def get_campaign(campaign_id: CampaignId, actor: CurrentActor) -> CampaignOut:
    return CampaignOut.of(service.get_campaign(actor, campaign_id))


@router.patch("/{campaign_id}", response_model=CampaignOut)
def update_campaign(campaign_id: CampaignId, body: CampaignUpdate, actor: CurrentActor) -> CampaignOut:
    return CampaignOut.of(service.update_campaign(actor, campaign_id, body.model_dump(exclude_unset=True)))


@router.delete("/{campaign_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_campaign(campaign_id: CampaignId, actor: CurrentActor) -> Response:
    service.delete_campaign(actor, campaign_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{campaign_id}/status", response_model=CampaignOut)
def change_status(campaign_id: CampaignId, body: CampaignStatusChange, actor: CurrentActor) -> CampaignOut:
    return CampaignOut.of(service.change_campaign_status(actor, campaign_id, body.status))


@public_router.get("/campaigns/{slug}", response_model=PublicCampaignOut)
def get_public_campaign(slug: Annotated[str, Path(max_length=200)]) -> PublicCampaignOut:
    for_sale = get_campaign_for_sale(slug)
    return PublicCampaignOut.of(for_sale.public, for_sale.phase)
