"""Request and response models of the HTTP API. Requests refuse unknown fields; responses carry money as
integer minor units plus currency and datetimes as ISO-8601 with their zone."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from backend.auth.acl import BRAND_ROLES, ROLE_PERMISSIONS, Actor, Permission, Role
from backend.auth.service import TokenPair
from backend.brands.models import Brand
from backend.brands.service import InviteResult, MemberView
from backend.campaigns.models import Campaign, CampaignStatus, SalePhase
from backend.campaigns.schemas import CampaignCreate
from backend.campaigns.service import DeployedContract, PublicCampaign
from backend.pagination import MAX_PAGE_SIZE, Page
from backend.validation import EMAIL_SCHEMA

# Database ids are 32-bit on every backend; a bigger number is bad input, not a server error.
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

# Paging parameters. The ranges are the list services' (check_page: they answer out-of-range values with their own
# field errors); the document states them, while the bounds checked here only keep the numbers storable.
PageLimit = Annotated[int, Query(ge=-MAX_ID, le=MAX_ID, json_schema_extra={"minimum": 1, "maximum": MAX_PAGE_SIZE})]
PageOffset = Annotated[int, Query(ge=-MAX_ID, le=MAX_ID, json_schema_extra={"minimum": 0})]


def _iso_only(value: Any) -> Any:
    """Pydantic reads a bare number as a Unix timestamp; a date filter in a URL must be ISO 8601 as documented."""
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+(\.\d*)?\s*", value):
        raise ValueError("an ISO 8601 date-time, e.g. 2026-12-05T13:00:00Z")
    return value


# A date-time query parameter (filters): ISO 8601 only.
QueryDateTime = Annotated[datetime, BeforeValidator(_iso_only)]
# Roles a brand membership may carry (the brand services refuse the others with their own message).
BrandRole = Annotated[Role, WithJsonSchema({"type": "string", "enum": [role.value for role in BRAND_ROLES]})]

# The admin page that accepts an invitation (no email goes out offline, so the API hands back the link).


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- Errors -----------------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str = Field(examples=["validation_error"])
    message: str = Field(examples=["Please fix the highlighted fields."])
    fields: dict[str, str] = Field(default_factory=dict, examples=[{"price_minor": "Input should be a valid integer"}])


class ErrorBody(BaseModel):
    error: ErrorDetail


# --- Auth -------------------------------------------------------------------------------------------


class LoginRequest(_Request):
    email: str = Field(min_length=1, max_length=320)
    # Bounded so that nobody makes the server hash megabytes; far above any real password.
    password: str = Field(min_length=1, max_length=1024)


class RefreshRequest(_Request):
    refresh_token: str = Field(min_length=1, max_length=512)


class WebSessionRequest(_Request):
    code: str = Field(min_length=1, max_length=512)


class EmptyRequest(_Request):
    """`{}`: an endpoint that takes no input but, as a cookie endpoint, only answers a JSON body."""


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")

    @classmethod
    def of(cls, pair: TokenPair) -> TokenResponse:
        return cls(access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in)


class RoleGrant(BaseModel):
    brand_id: int | None = Field(description="null for a platform-wide role")
    role: Role
    permissions: list[Permission]


class MeResponse(BaseModel):
    id: int
    email: str
    is_platform_admin: bool
    roles: list[RoleGrant]

    @classmethod
    def of(cls, actor: Actor) -> MeResponse:
        grants = [
            RoleGrant(brand_id=brand_id, role=role, permissions=sorted(ROLE_PERMISSIONS[role]))
            for brand_id, role in sorted(actor.roles.items(), key=lambda item: (item[0] is not None, item[0] or 0))
        ]
        return cls(id=actor.user_id, email=actor.email, is_platform_admin=actor.is_platform_admin, roles=grants)


# --- Brands and members -----------------------------------------------------------------------------


class BrandOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str
    name: str
    logo_url: str
    primary_color: str
    accent_color: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, brand: Brand) -> BrandOut:
        return cls.model_validate(brand)


class BrandList(BaseModel):
    items: list[BrandOut]


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: int
    email: str
    display_name: str
    role: Role
    pending: bool = Field(description="Invited and has not set a password yet.")

    @classmethod
    def of(cls, member: MemberView) -> MemberOut:
        return cls.model_validate(member)


class MemberList(BaseModel):
    items: list[MemberOut]


class InviteRequest(_Request):
    email: str = Field(min_length=1, max_length=320, json_schema_extra=EMAIL_SCHEMA)
    role: BrandRole


class TeamInviteRequest(_Request):
    email: str = Field(min_length=1, max_length=320, json_schema_extra=EMAIL_SCHEMA)


class InviteOut(BaseModel):
    """Where the invitation went. The link itself is mailed to the invitee only, never returned to the inviter."""

    email: str
    role: Role
    sent: bool = Field(description="An email with the invitation link was queued to `email`.")

    @classmethod
    def of(cls, result: InviteResult) -> InviteOut:
        return cls(email=result.email, role=result.role, sent=result.sent)


class MemberRoleChange(_Request):
    role: BrandRole


# --- Campaigns --------------------------------------------------------------------------------------


class CampaignCreateRequest(CampaignCreate):
    brand_id: Id


class CampaignStatusChange(_Request):
    status: CampaignStatus


class CampaignOut(BaseModel):
    id: int
    brand_id: int
    slug: str
    name: str
    description: str
    image_url: str
    price_minor: int = Field(description="Price in minor units of `currency` (cents for USD).")
    currency: str
    supply_cap: int
    supply_left: int
    sold_count: int
    per_wallet_cap: int
    sale_starts_at: datetime | None
    sale_ends_at: datetime | None
    royalty_bps: int
    royalty_receiver: str
    chain: str
    primary_color: str
    accent_color: str
    logo_url: str
    kyc_requirement: str = Field(description="none, every_buyer or above_amount (see kyc_threshold_minor)")
    kyc_threshold_minor: int
    status: CampaignStatus
    phase: SalePhase
    created_at: datetime
    updated_at: datetime
    contract_address: str | None = Field(None, description="The collection contract once deployed (null before).")
    deploy_block: int | None = Field(None, description="The block the collection was deployed in (null before).")

    @classmethod
    def of(cls, campaign: Campaign, contract: DeployedContract | None = None) -> CampaignOut:
        own = {name: getattr(campaign, name) for name in cls.model_fields
               if name not in ("phase", "contract_address", "deploy_block")}
        return cls.model_validate(own | {
            "phase": campaign.sale_phase(),
            "contract_address": contract.contract_address if contract else None,
            "deploy_block": contract.deploy_block if contract else None,
        })


class CampaignPage(BaseModel):
    items: list[CampaignOut]
    total: int
    limit: int
    offset: int

    @classmethod
    def of(cls, page: Page[Campaign], contracts: dict[int, DeployedContract]) -> CampaignPage:
        items = [CampaignOut.of(c, contracts.get(c.id)) for c in page.items]  # type: ignore[arg-type]
        return cls(items=items, total=page.total, limit=page.limit, offset=page.offset)


class Branding(BaseModel):
    brand_name: str
    logo_url: str
    primary_color: str
    accent_color: str


class PublicCampaignOut(BaseModel):
    """What anyone may see of a published, paused or archived campaign."""

    slug: str
    name: str
    description: str
    image_url: str
    price_minor: int
    currency: str
    supply_cap: int
    supply_left: int
    per_wallet_cap: int
    sale_starts_at: datetime | None
    sale_ends_at: datetime | None
    royalty_bps: int
    chain: str
    kyc_requirement: str = Field(description="none, every_buyer, or above_amount: buyers whose total for this "
                                             "campaign passes kyc_threshold_minor verify their identity first")
    kyc_threshold_minor: int
    status: CampaignStatus
    phase: str = Field(description="what a buyer can do now: a sale phase (not_started, on_sale, sold_out, ended, "
                                   "paused, ...) or not_deployed (on sale, but its collection contract is not "
                                   "deployed yet: checkout refuses orders)")
    branding: Branding

    @classmethod
    def of(cls, public: PublicCampaign, phase: str | None = None) -> PublicCampaignOut:
        campaign = public.campaign
        names = cls.model_fields.keys() - {"phase", "branding"}
        branding = Branding(
            brand_name=public.brand_name,
            logo_url=public.logo_url,
            primary_color=public.primary_color,
            accent_color=public.accent_color,
        )
        values = {n: getattr(campaign, n) for n in names}
        return cls.model_validate(values | {"phase": phase or str(public.phase.value), "branding": branding})


# --- Health -----------------------------------------------------------------------------------------


class SchedulerHealthOut(BaseModel):
    healthy: bool  # a daemon runner beat recently
    runners: int
    last_beat_at: datetime | None
    age_s: float | None


class HealthOut(BaseModel):
    # One key per health check ("database": "ok"), beside status and version.
    model_config = ConfigDict(extra="allow")

    status: Literal["ok", "error"]
    version: str
    database: Literal["ok", "error"]
    scheduler: SchedulerHealthOut
