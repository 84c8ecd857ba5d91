"""Request and response models of the HTTP API. Requests refuse unknown fields; responses carry money as
integer minor units plus currency and datetimes as ISO-8601 with their zone."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field

from backend.auth.acl import ROLE_PERMISSIONS, Actor, Permission, Role
from backend.auth.service import TokenPair
from backend.brands.models import Brand
from backend.brands.service import InviteResult, MemberView
from backend.campaigns.models import Campaign, CampaignStatus, SalePhase
from backend.campaigns.schemas import CampaignCreate
from backend.campaigns.service import PublicCampaign
from backend.pagination import Page

# Database ids are 32-bit on every backend; a bigger number is bad input, not a server error.
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

# The admin page that accepts an invitation (no email goes out offline, so the API hands back the link).
ACCEPT_INVITE_PATH = "/admin/accept-invite"


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
    email: str = Field(min_length=1, max_length=320)
    role: Role


class InviteOut(BaseModel):
    email: str
    role: Role
    accept_url: str | None = Field(
        description="Path the invitee opens to set a password; null when an existing account was added directly."
    )

    @classmethod
    def of(cls, result: InviteResult) -> InviteOut:
        url = None
        if result.accept_token is not None:
            url = f"{ACCEPT_INVITE_PATH}?{urlencode({'token': result.accept_token})}"
        return cls(email=result.email, role=result.role, accept_url=url)


class MemberRoleChange(_Request):
    role: Role


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
    status: CampaignStatus
    phase: SalePhase
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignOut:
        values = {name: getattr(campaign, name) for name in cls.model_fields if name != "phase"}
        return cls.model_validate(values | {"phase": campaign.sale_phase()})


class CampaignPage(BaseModel):
    items: list[CampaignOut]
    total: int
    limit: int
    offset: int

    @classmethod
    def of(cls, page: Page[Campaign]) -> CampaignPage:
        items = [CampaignOut.of(c) for c in page.items]
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
