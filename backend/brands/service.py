"""Brands, their settings, and their members: invite by email, resend, change role, remove, accept an invitation.

An invitation is a request to the invitee, mailed to their own address: the admin who sends it never sees a link.
Until it is accepted the membership is pending and grants nothing. Its link is bound to the invitation (a resend
voids earlier links), to the pending membership (removing the member voids it) and to the invitee's password as it
was when it was sent (a password change voids it). Accepting it chooses a password for an account that has none
(the mailbox proves the address), or, for an account with a password, signs in as that account: a link never sets
the password of an account that has one. Accepting signs the account out everywhere else.

Removing a member, or changing their role, signs that person out of every session (web and API), not only of this
brand: sessions are per person, and their next request reads their roles afresh.

The platform's KYC review team is managed the same way, with `brand_id` None (`PLATFORM_TEAM`): only platform admins
may, and only the KYC reviewer role is given there (identity checks are platform-wide: a reviewer within one brand
could review nothing)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import delete, func
from sqlmodel import Session, select

from backend.auth.acl import BRAND_ROLES, PLATFORM_TEAM_ROLES, Actor, Permission, Role, require, signed_in
from backend.auth.links import absolute_link, link_token, user_for_link
from backend.auth.models import Invitation, Membership, User
from backend.auth.service import (
    new_login_grant,
    normalize_email,
    revoke_user_sessions,
    set_password,
    user_for_email,
    verify_credentials,
)
from backend.auth.tokens import INVITATION_AUDIENCE, new_opaque_token, token_digest
from backend.brands.models import Brand
from backend.db import session_scope, utcnow
from backend.errors import Conflict, NotFound, RateLimited, ValidationFailed
from backend.notifications.service import queue_email
from backend.settings import get_settings
from backend.urls import ADMIN_ACCEPT_INVITE
from backend.validation import (
    COLOR_PATTERN,
    SLUG_PATTERN,
    URL_PATTERN,
    check_color,
    check_slug,
    check_url,
    validation_failed,
)

EMAIL_KIND = "invitation"
INVITATION_INVALID = ("This invitation is no longer valid: it expired, was used or withdrawn, or the account's "
                      "password changed since it was sent. Ask the brand admin to send it again.")
ROLE_NAMES = {Role.BRAND_ADMIN: "an admin", Role.BRAND_STAFF: "staff", Role.KYC_REVIEWER: "a KYC reviewer"}
PLATFORM_TEAM = None  # the brand id that names the platform's own team (KYC reviewers)
PLATFORM_TEAM_NAME = "the Primsell KYC review team"

# json_schema_extra: the API's document states the rule the validator checks (backend.validation's patterns).
Color = Annotated[str, Field(json_schema_extra={"pattern": COLOR_PATTERN}), AfterValidator(check_color)]
Url = Annotated[str, Field(max_length=500, json_schema_extra={"pattern": URL_PATTERN}), AfterValidator(check_url)]


class BrandCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    slug: Annotated[str, Field(json_schema_extra={"pattern": SLUG_PATTERN}), AfterValidator(check_slug)]
    name: str = Field(min_length=1, max_length=120)
    logo_url: Url = ""
    primary_color: Color = "#4F46E5"
    accent_color: Color = "#F59E0B"


class BrandUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(None, min_length=1, max_length=120)
    logo_url: Url | None = None
    primary_color: Color | None = None
    accent_color: Color | None = None


@dataclass(frozen=True)
class MemberView:
    user_id: int
    email: str
    display_name: str
    role: Role
    pending: bool  # invited, has not accepted yet (the membership grants nothing until then)


@dataclass(frozen=True)
class InviteResult:
    """What the inviting admin learns: where the invitation went. Never a token or a link."""

    email: str
    role: Role
    sent: bool  # an email with the link was queued to `email`


@dataclass(frozen=True)
class InvitationView:
    """What the accept page shows to whoever opened the mailed link."""

    email: str
    brand_name: str
    role: Role
    needs_password: bool  # the account has no password yet: accepting chooses one; otherwise it signs in


@dataclass(frozen=True)
class Accepted:
    email: str
    sign_in_code: str  # exchanged by the browser for its session cookie (see auth.service.complete_web_sign_in)


def _parse(model: type[BaseModel], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_failed(exc) from exc


def _brand(session: Session, actor: Actor, brand_id: int, permission: Permission) -> Brand:
    actor = signed_in(actor)
    brand = session.get(Brand, brand_id)
    if brand is None or not actor.can(Permission.BRAND_READ, brand_id):
        raise NotFound("Brand not found.")
    require(actor, permission, brand_id)
    return brand


def _team(session: Session, actor: Actor, brand_id: int | None, permission: Permission) -> Brand | None:
    """The brand whose members are managed, or None for the platform's team (platform admins only: every
    permission is theirs, and a platform KYC reviewer has no member permission)."""
    if brand_id is PLATFORM_TEAM:
        require(signed_in(actor), permission, None)
        return None
    return _brand(session, actor, brand_id, permission)


def list_brands(actor: Actor) -> list[Brand]:
    actor = signed_in(actor)
    with session_scope() as session:
        query = select(Brand).order_by(Brand.name)
        # A platform-wide role that may read brands (platform admin, platform KYC reviewer) reads them all.
        if not actor.can(Permission.BRAND_READ, None):
            readable = [b for b in actor.brand_ids if actor.can(Permission.BRAND_READ, b)]
            query = query.where(Brand.id.in_(readable))  # type: ignore[union-attr]
        return list(session.exec(query).all())


def get_brand(actor: Actor, brand_id: int) -> Brand:
    with session_scope() as session:
        return _brand(session, actor, brand_id, Permission.BRAND_READ)


def create_brand(actor: Actor, data: dict[str, Any]) -> Brand:
    require(actor, Permission.BRAND_CREATE)
    fields = _parse(BrandCreate, data)
    with session_scope() as session:
        if session.exec(select(Brand).where(Brand.slug == fields.slug)).first():
            raise Conflict("That brand slug is already used.", fields={"slug": "already used"})
        brand = Brand(**fields.model_dump())
        session.add(brand)
        session.flush()
        return brand


def update_brand(actor: Actor, brand_id: int, data: dict[str, Any]) -> Brand:
    signed_in(actor)
    changes = _parse(BrandUpdate, data).model_dump(exclude_unset=True, exclude_none=True)
    with session_scope() as session:
        brand = _brand(session, actor, brand_id, Permission.BRAND_UPDATE)
        for name, value in changes.items():
            setattr(brand, name, value)
        brand.updated_at = utcnow()
        session.add(brand)
        return brand


def list_members(actor: Actor, brand_id: int | None) -> list[MemberView]:
    """A brand's members, or (brand_id None) the platform's KYC reviewers; pending invitations included."""
    with session_scope() as session:
        _team(session, actor, brand_id, Permission.MEMBER_READ)
        rows = session.exec(
            select(Membership, User)
            .join(User, User.id == Membership.user_id)  # type: ignore[arg-type]
            .where(Membership.brand_id == brand_id, *_team_roles(brand_id))
            .order_by(User.email)
        ).all()
        return [
            MemberView(u.id, u.email, u.display_name, Role(m.role), pending=m.accepted_at is None)  # type: ignore[arg-type]
            for m, u in rows
        ]


def _team_roles(brand_id: int | None) -> list[Any]:
    """The platform's team lists its KYC reviewers only: platform admins are not managed here."""
    return [Membership.role.in_(PLATFORM_TEAM_ROLES)] if brand_id is PLATFORM_TEAM else []  # type: ignore[attr-defined]


def _check_role(role: Role | str, brand_id: int | None) -> Role:
    try:
        role = Role(role)
    except ValueError as exc:
        raise ValidationFailed("Unknown role.", fields={"role": "unknown role"}) from exc
    if brand_id is PLATFORM_TEAM:
        if role not in PLATFORM_TEAM_ROLES:
            raise ValidationFailed("Only KYC reviewers are invited to the platform's team.",
                                   fields={"role": "must be kyc_reviewer"})
        return role
    if role is Role.KYC_REVIEWER:
        raise ValidationFailed(
            "KYC reviewers review identity checks for the whole platform, not for one brand: a platform admin invites "
            "them on the KYC team page.", fields={"role": "not a brand role"})
    if role not in BRAND_ROLES:
        names = ", ".join(r.value for r in BRAND_ROLES)
        raise ValidationFailed("That role cannot be given in a brand.", fields={"role": f"must be one of {names}"})
    return role


def _lock_team(session: Session, brand_id: int | None) -> None:
    """Serialise the changes that could take away a brand's last admin (a role change, a removal): its brand row is
    locked until commit (FOR NO KEY UPDATE: new memberships may still be inserted), before any membership's lock.
    Locking only the target membership let two admins demote each other at once on PostgreSQL, each counting the
    other as the admin left. The platform's team has no admins to count. (SQLite: BEGIN IMMEDIATE already makes
    this transaction the only writer.)"""
    if brand_id is not PLATFORM_TEAM:
        session.exec(select(Brand.id).where(Brand.id == brand_id).with_for_update(key_share=True)).first()


def _admins_left(session: Session, brand_id: int) -> int:
    """Accepted brand admins (an invited admin who has not accepted does not count)."""
    return session.exec(
        select(func.count()).where(Membership.brand_id == brand_id, Membership.role == Role.BRAND_ADMIN,
                                   Membership.accepted_at.is_not(None))  # type: ignore[union-attr]
    ).one()


def _membership(session: Session, brand_id: int | None, user_id: int) -> Membership:
    membership = session.exec(
        select(Membership).where(Membership.user_id == user_id, Membership.brand_id == brand_id,
                                 *_team_roles(brand_id)).with_for_update()
    ).first()
    if membership is None:
        raise NotFound("Member not found.")
    return membership


def _send_invitation(session: Session, inviter: Actor, brand: Brand | None, user: User,
                     membership: Membership) -> None:
    """Mail the invitee a new link for their pending membership (in `session`'s transaction); earlier links of it
    stop working. At most one mail per INVITATION_RESEND_AFTER_S: a button pressed twice sends one."""
    settings = get_settings()
    now = utcnow()
    invitation = session.exec(
        select(Invitation).where(Invitation.membership_id == membership.id).with_for_update()).first()
    if invitation is not None and invitation.sent_at is not None:
        wait = settings.invitation_resend_after_s - (now - invitation.sent_at).total_seconds()
        if wait > 0:
            raise RateLimited(math.ceil(wait))
    if invitation is None:
        invitation = Invitation(brand_id=membership.brand_id, user_id=user.id, membership_id=membership.id,  # type: ignore[arg-type]
                                email=user.email, role=membership.role, expires_at=now,
                                token_hash=token_digest(new_opaque_token()))  # replaced below, once the id is known
    invitation.role, invitation.invited_by = membership.role, inviter.user_id
    invitation.sent_at, invitation.accepted_at = now, None
    invitation.expires_at = now + timedelta(seconds=settings.invitation_ttl_s)
    session.add(invitation)
    session.flush()
    token = link_token(user, audience=INVITATION_AUDIENCE, ttl_s=settings.invitation_ttl_s, ref=invitation.id)
    invitation.token_hash = token_digest(token)
    session.add(invitation)
    days = max(1, settings.invitation_ttl_s // 86400)
    if user.password_hash is None:
        how = "Open this link to choose your password and join:"
    else:
        how = "Open this link and sign in with your Primsell password to accept:"
    team = brand.name if brand is not None else PLATFORM_TEAM_NAME
    body = (f"Hello,\n\n{inviter.email} invited you to join {team} on Primsell as "
            f"{ROLE_NAMES.get(Role(membership.role), 'a member')}. {how}\n\n"
            f"{absolute_link(ADMIN_ACCEPT_INVITE, token)}\n\n"
            f"The link works once, for {days} day{'s' if days != 1 else ''}. If you do not want to join, ignore this "
            "email: nothing changes.\n\nPrimsell")
    queue_email(session, key=f"{EMAIL_KIND}:{invitation.id}:{invitation.token_hash[:24]}", kind=EMAIL_KIND,
                to=user.email, subject=f"Join {team} on Primsell", body=body, user_id=user.id,
                sensitive=True)


def invite_member(actor: Actor, brand_id: int | None, email: str, role: Role | str) -> InviteResult:
    """Invite someone by email (an account without a password is created if none exists): the link is mailed to
    them, never returned. Inviting a pending member again resends (with this role); a member is a Conflict. With
    brand_id None, to the platform's KYC review team (platform admins only); someone with any platform role already
    (a platform admin) is a Conflict."""
    signed_in(actor)
    role = _check_role(role, brand_id)
    email = normalize_email(email)
    with session_scope() as session:
        brand = _team(session, actor, brand_id, Permission.MEMBER_MANAGE)
        # The person's row, locked: two invitations at once wait for each other (a platform membership's NULL brand
        # is outside the unique constraint, so the lock is what keeps it one).
        user = user_for_email(session, email)
        membership = session.exec(
            select(Membership).where(Membership.user_id == user.id, Membership.brand_id == brand_id).with_for_update()
        ).first()
        if membership is None:
            membership = Membership(user_id=user.id, brand_id=brand_id, role=role, accepted_at=None)  # type: ignore[arg-type]
        elif membership.accepted_at is not None or membership.role not in (*BRAND_ROLES, *PLATFORM_TEAM_ROLES):
            raise Conflict("That person is already a member.", fields={"email": "already a member"})
        membership.role = role
        session.add(membership)
        session.flush()
        _send_invitation(session, actor, brand, user, membership)
        return InviteResult(email=email, role=role, sent=True)


def resend_invitation(actor: Actor, brand_id: int | None, user_id: int) -> InviteResult:
    """Mail a pending member a new link (earlier ones stop working)."""
    with session_scope() as session:
        brand = _team(session, actor, brand_id, Permission.MEMBER_MANAGE)
        membership = _membership(session, brand_id, user_id)
        if membership.accepted_at is not None:
            raise Conflict("That person accepted already: there is nothing to resend.")
        user = session.get(User, user_id)
        assert user is not None
        _send_invitation(session, actor, brand, user, membership)
        return InviteResult(email=user.email, role=Role(membership.role), sent=True)


def change_member_role(actor: Actor, brand_id: int | None, user_id: int, role: Role | str) -> MemberView:
    """Change a member's role; a member who had accepted is signed out everywhere (their next sign-in has the new
    role). A pending invitation just changes the role it offers."""
    signed_in(actor)
    role = _check_role(role, brand_id)
    with session_scope() as session:
        _team(session, actor, brand_id, Permission.MEMBER_MANAGE)
        _lock_team(session, brand_id)
        membership = _membership(session, brand_id, user_id)
        accepted = membership.accepted_at is not None
        if (accepted and membership.role == Role.BRAND_ADMIN and role != Role.BRAND_ADMIN
                and _admins_left(session, brand_id) <= 1):
            raise Conflict("A brand needs at least one admin: promote someone else first.")
        changed = membership.role != role
        membership.role = role
        session.add(membership)
        if changed and accepted:
            revoke_user_sessions(session, user_id, "role_changed")
        user = session.get(User, user_id)
        assert user is not None
        return MemberView(user.id, user.email, user.display_name, role, pending=not accepted)  # type: ignore[arg-type]


def remove_member(actor: Actor, brand_id: int | None, user_id: int) -> None:
    """Remove a member (signing them out everywhere) or withdraw a pending invitation (its link stops working)."""
    with session_scope() as session:
        _team(session, actor, brand_id, Permission.MEMBER_MANAGE)
        _lock_team(session, brand_id)
        membership = _membership(session, brand_id, user_id)
        accepted = membership.accepted_at is not None
        if accepted and membership.role == Role.BRAND_ADMIN and _admins_left(session, brand_id) <= 1:
            raise Conflict("A brand needs at least one admin: promote someone else first.")
        session.exec(delete(Invitation).where(Invitation.membership_id == membership.id))  # type: ignore[call-overload,arg-type]
        session.delete(membership)
        if accepted:
            revoke_user_sessions(session, user_id, "membership_removed")


def _invitation_for(session: Session, token: str) -> tuple[Invitation, User, Membership, Brand | None]:
    """The live invitation behind a mailed link, with its (locked) invitee, pending membership and brand; NotFound
    for anything else: forged, expired, resent since, accepted, withdrawn, or the password changed since."""
    user, claims = user_for_link(session, token, audience=INVITATION_AUDIENCE, invalid=INVITATION_INVALID)
    invitation = session.get(Invitation, claims.ref) if claims.ref is not None else None
    if (invitation is None or invitation.user_id != user.id or invitation.token_hash != token_digest(token)
            or invitation.accepted_at is not None or invitation.expires_at <= utcnow()
            or invitation.membership_id is None):
        raise NotFound(INVITATION_INVALID)
    membership = session.exec(
        select(Membership).where(Membership.id == invitation.membership_id).with_for_update()).first()
    if membership is None or membership.accepted_at is not None or membership.user_id != user.id:
        raise NotFound(INVITATION_INVALID)
    if membership.brand_id is PLATFORM_TEAM:
        if membership.role not in PLATFORM_TEAM_ROLES:  # never sent: platform admins are not invited by link
            raise NotFound(INVITATION_INVALID)
        return invitation, user, membership, None
    brand = session.get(Brand, membership.brand_id)
    if brand is None or membership.role not in BRAND_ROLES:  # a role brands no longer give (KYC reviewer): void
        raise NotFound(INVITATION_INVALID)
    return invitation, user, membership, brand


def invitation_for_link(token: str) -> InvitationView:
    """What a mailed invitation link is for (the accept page); NotFound when it is not valid (any more)."""
    with session_scope() as session:
        _invitation, user, membership, brand = _invitation_for(session, token)
        team = brand.name if brand is not None else PLATFORM_TEAM_NAME
        return InvitationView(user.email, team, Role(membership.role), needs_password=user.password_hash is None)


def accept_invitation(token: str, password: str, *, display_name: str = "", ip: str) -> Accepted:
    """Accept a mailed invitation. An account without a password chooses `password` (the link proves the mailbox);
    an account with one must give it (sign-in throttling applies) and it is never changed. The membership becomes
    active, every other session of the account ends, and a sign-in code for the browser is returned.

    NotFound for an invalid link, NotAuthenticated for a wrong password, ValidationFailed for a weak new one; in
    each case nothing changes and a valid link stays usable."""
    with session_scope() as session:
        invitation, user, membership, _brand_row = _invitation_for(session, token)
        if user.password_hash is None:
            set_password(session, user, password)
            if display_name.strip():
                user.display_name = display_name.strip()[:120]
                session.add(user)
        else:
            verify_credentials(session, user.email, password, ip)
        now = utcnow()
        membership.accepted_at = invitation.accepted_at = now
        session.add(membership)
        session.add(invitation)
        revoke_user_sessions(session, user.id, "invitation_accepted")  # type: ignore[arg-type]
        return Accepted(email=user.email, sign_in_code=new_login_grant(session, user))
