"""Roles, permissions and the one check every service calls before it reads or changes brand data.

A user's roles come from memberships: `(user, brand, role)` for brand roles, `(user, NULL, role)` for
platform-wide roles. A signed-in user with no membership is a consumer. Brand permissions hold only
within the brand of the membership that grants them; `platform_admin` holds every permission everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from backend.errors import Forbidden, NotAuthenticated, NotFound

if TYPE_CHECKING:
    from sqlmodel import Session


class Role(StrEnum):
    PLATFORM_ADMIN = "platform_admin"
    BRAND_ADMIN = "brand_admin"
    BRAND_STAFF = "brand_staff"
    KYC_REVIEWER = "kyc_reviewer"
    CONSUMER = "consumer"


# Roles a membership may carry for one brand; platform_admin (and a platform-wide kyc_reviewer) have brand NULL.
BRAND_ROLES = (Role.BRAND_ADMIN, Role.BRAND_STAFF)  # what a brand admin may give within the brand
PLATFORM_ROLES = (Role.PLATFORM_ADMIN, Role.KYC_REVIEWER)
PLATFORM_TEAM_ROLES = (Role.KYC_REVIEWER,)  # what a platform admin may give by invitation (KYC is platform-wide)


class Permission(StrEnum):
    BRAND_CREATE = "brand.create"
    BRAND_READ = "brand.read"
    BRAND_UPDATE = "brand.update"
    MEMBER_READ = "member.read"
    MEMBER_MANAGE = "member.manage"
    CAMPAIGN_READ = "campaign.read"
    CAMPAIGN_WRITE = "campaign.write"
    CAMPAIGN_DELETE = "campaign.delete"
    ORDER_READ = "order.read"
    ORDER_REFUND = "order.refund"
    REWARD_REDEEM = "reward.redeem"
    KYC_READ = "kyc.read"
    KYC_REVIEW = "kyc.review"
    OPERATIONS_READ = "operations.read"
    # Spend the platform signer's own coin and tokens (funding a brand's reward vault). The signer is shared by every
    # brand, so no brand role holds this: a brand admin could otherwise move other brands' deposits into its vault.
    PLATFORM_WALLET_SPEND = "platform_wallet.spend"


_BRAND_STAFF = {
    Permission.BRAND_READ,
    Permission.CAMPAIGN_READ,
    Permission.ORDER_READ,
    Permission.REWARD_REDEEM,
}
_BRAND_ADMIN = _BRAND_STAFF | {
    Permission.BRAND_UPDATE,
    Permission.MEMBER_READ,
    Permission.MEMBER_MANAGE,
    Permission.CAMPAIGN_WRITE,
    Permission.CAMPAIGN_DELETE,
    Permission.ORDER_REFUND,
    Permission.OPERATIONS_READ,
}
_KYC_REVIEWER = {Permission.BRAND_READ, Permission.KYC_READ, Permission.KYC_REVIEW}

# The whole policy in one table: which role grants which permission (within its brand).
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.PLATFORM_ADMIN: frozenset(Permission),
    Role.BRAND_ADMIN: frozenset(_BRAND_ADMIN),
    Role.BRAND_STAFF: frozenset(_BRAND_STAFF),
    Role.KYC_REVIEWER: frozenset(_KYC_REVIEWER),
    Role.CONSUMER: frozenset(),
}

# Which surfaces a role may sign in to.
ADMIN_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.BRAND_ADMIN, Role.BRAND_STAFF})
KYC_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.KYC_REVIEWER})


@dataclass(frozen=True)
class Actor:
    """Who is asking: resolved once per request from a verified token or web session."""

    user_id: int
    email: str
    # brand id -> role; key None holds a platform-wide role.
    roles: dict[int | None, Role] = field(default_factory=dict)
    session_id: str | None = None

    @property
    def is_platform_admin(self) -> bool:
        return self.roles.get(None) is Role.PLATFORM_ADMIN

    @property
    def brand_ids(self) -> list[int]:
        return sorted(b for b in self.roles if b is not None)

    def role_in(self, brand_id: int | None) -> Role:
        if self.is_platform_admin:
            return Role.PLATFORM_ADMIN
        if brand_id is not None and brand_id in self.roles:
            return self.roles[brand_id]
        platform_role = self.roles.get(None)
        return platform_role if platform_role is not None else Role.CONSUMER

    def all_roles(self) -> set[Role]:
        return set(self.roles.values()) or {Role.CONSUMER}

    def can(self, permission: Permission, brand_id: int | None = None) -> bool:
        # A platform-wide role keeps holding in a brand where the user also has a (narrower) brand role.
        platform_role = self.roles.get(None)
        if platform_role is not None and permission in ROLE_PERMISSIONS[platform_role]:
            return True
        return permission in ROLE_PERMISSIONS[self.role_in(brand_id)]

    def can_use_admin(self) -> bool:
        return bool(self.all_roles() & ADMIN_ROLES)

    def can_use_kyc(self) -> bool:
        return bool(self.all_roles() & KYC_ROLES)


def signed_in(actor: Actor | None) -> Actor:
    """Refuse an anonymous caller before anything else (even before a lookup that could reveal existence)."""
    if actor is None:
        raise NotAuthenticated("Sign in to continue.")
    return actor


def require(actor: Actor | None, permission: Permission, brand_id: int | None = None) -> Actor:
    """Refuse unless `actor` holds `permission` for `brand_id`. Services call this before anything else."""
    actor = signed_in(actor)
    if not actor.can(permission, brand_id):
        raise Forbidden("You do not have permission to do that.")
    return actor


def require_in_brand(actor: Actor | None, permission: Permission, brand_id: int, *,
                     visible: Permission = Permission.BRAND_READ, not_found: str = "Brand not found.") -> Actor:
    """`require`, for rows of one brand: a caller who may not even see them (`visible`) gets NotFound, as for an
    id that does not exist (another brand's rows answer 404); one who sees them but lacks `permission`, Forbidden."""
    actor = signed_in(actor)
    if not actor.can(visible, brand_id):
        raise NotFound(not_found)
    return require(actor, permission, brand_id)


class BrandRow(Protocol):
    brand_id: Any


Row = TypeVar("Row", bound=BrandRow)


def load_in_brand(session: Session, actor: Actor | None, model: type[Row], row_id: Any, permission: Permission, *,
                  visible: Permission, not_found: str) -> Row:
    """The one way to load a brand's row (a campaign, an order, a reward) for `actor`: NotFound when it does not
    exist or the actor may not see it (`visible` in its brand: another brand's row answers 404, as a missing one),
    Forbidden when the actor sees it but lacks `permission`. An anonymous caller is refused before the lookup."""
    actor = signed_in(actor)
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(not_found)
    require_in_brand(actor, permission, row.brand_id, visible=visible, not_found=not_found)
    return row
