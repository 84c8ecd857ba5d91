"""Brands and their members. The brand services decide who may see what (404 for brands you cannot read)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from backend.api.deps import V1_DEPENDENCIES, CurrentActor
from backend.api.schemas import (
    MAX_ID,
    BrandList,
    BrandOut,
    InviteOut,
    InviteRequest,
    MemberList,
    MemberOut,
    MemberRoleChange,
)
from backend.brands import service
from backend.brands.service import BrandCreate, BrandUpdate

router = APIRouter(prefix="/api/v1/brands", dependencies=V1_DEPENDENCIES, tags=["brands"])

BrandId = Annotated[int, Path(ge=1, le=MAX_ID)]
UserId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("", response_model=BrandList)
def list_brands(actor: CurrentActor) -> BrandList:
    return BrandList(items=[BrandOut.of(b) for b in service.list_brands(actor)])


@router.post("", response_model=BrandOut, status_code=status.HTTP_201_CREATED)
def create_brand(body: BrandCreate, actor: CurrentActor) -> BrandOut:
    return BrandOut.of(service.create_brand(actor, body.model_dump(exclude_unset=True)))


@router.get("/{brand_id}", response_model=BrandOut)
def get_brand(brand_id: BrandId, actor: CurrentActor) -> BrandOut:
    return BrandOut.of(service.get_brand(actor, brand_id))


@router.patch("/{brand_id}", response_model=BrandOut)
def update_brand(brand_id: BrandId, body: BrandUpdate, actor: CurrentActor) -> BrandOut:
    return BrandOut.of(service.update_brand(actor, brand_id, body.model_dump(exclude_unset=True)))


@router.get("/{brand_id}/members", response_model=MemberList)
def list_members(brand_id: BrandId, actor: CurrentActor) -> MemberList:
    return MemberList(items=[MemberOut.of(m) for m in service.list_members(actor, brand_id)])


@router.post("/{brand_id}/members", response_model=InviteOut, status_code=status.HTTP_201_CREATED)
def invite_member(brand_id: BrandId, body: InviteRequest, actor: CurrentActor) -> InviteOut:
    return InviteOut.of(service.invite_member(actor, brand_id, body.email, body.role))


@router.patch("/{brand_id}/members/{user_id}", response_model=MemberOut)
def change_member_role(brand_id: BrandId, user_id: UserId, body: MemberRoleChange, actor: CurrentActor) -> MemberOut:
    return MemberOut.of(service.change_member_role(actor, brand_id, user_id, body.role))


@router.delete("/{brand_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_member(brand_id: BrandId, user_id: UserId, actor: CurrentActor) -> Response:
    service.remove_member(actor, brand_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
