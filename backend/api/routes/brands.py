"""Brands and their members, and the platform's KYC review team (`team_router`, platform admins). The brand services
decide who may see what (404 for brands you cannot read)."""

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
    TeamInviteRequest,
)
from backend.auth.acl import Role
from backend.brands import service
from backend.brands.service import BrandCreate, BrandUpdate

router = APIRouter(prefix="/api/v1/brands", dependencies=V1_DEPENDENCIES, tags=["brands"])
team_router = APIRouter(prefix="/api/v1/kyc-team", dependencies=V1_DEPENDENCIES, tags=["kyc"])

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


@team_router.get("", response_model=MemberList, summary="The platform's KYC reviewers, pending invitations included")
def list_kyc_team(actor: CurrentActor) -> MemberList:
    return MemberList(items=[MemberOut.of(m) for m in service.list_members(actor, service.PLATFORM_TEAM)])


@team_router.post("", response_model=InviteOut, status_code=status.HTTP_201_CREATED,
                  summary="Invite a KYC reviewer by email (the link is mailed to them)")
def invite_kyc_reviewer(body: TeamInviteRequest, actor: CurrentActor) -> InviteOut:
    return InviteOut.of(service.invite_member(actor, service.PLATFORM_TEAM, body.email, Role.KYC_REVIEWER))


@team_router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT,
                    summary="Remove a KYC reviewer (signed out everywhere) or withdraw their invitation")
def remove_kyc_reviewer(user_id: UserId, actor: CurrentActor) -> Response:
    service.remove_member(actor, service.PLATFORM_TEAM, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
