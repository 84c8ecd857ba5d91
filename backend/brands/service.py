"""Brands, their settings, and their members: invite by email, change role, remove, accept an invitation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func
from sqlmodel import Session, select

from backend.auth.acl import BRAND_ROLES, Actor, Permission, Role, require, signed_in
from backend.auth.models import Invitation, Membership, User
from backend.auth.service import create_user, normalize_email, set_password
from backend.auth.tokens import new_opaque_token, token_digest
from backend.brands.models import Brand
from backend.db import session_scope, utcnow
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.validation import check_color, check_slug, check_url, validation_failed

INVITATION_TTL = timedelta(days=7)

Color = Annotated[str, AfterValidator(check_color)]
Url = Annotated[str, Field(max_length=500), AfterValidator(check_url)]


class BrandCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    slug: Annotated[str, AfterValidator(check_slug)]
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
    pending: bool  # invited, has not set a password yet


@dataclass(frozen=True)
class InviteResult:
    email: str
    role: Role
    # The link to send to the invitee (None when the user already had an account and was added directly).
    accept_token: str | None


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


def list_members(actor: Actor, brand_id: int) -> list[MemberView]:
    with session_scope() as session:
        _brand(session, actor, brand_id, Permission.MEMBER_READ)
        rows = session.exec(
            select(Membership, User)
            .join(User, User.id == Membership.user_id)  # type: ignore[arg-type]
            .where(Membership.brand_id == brand_id)
            .order_by(User.email)
        ).all()
        return [
            MemberView(u.id, u.email, u.display_name, Role(m.role), pending=u.password_hash is None)  # type: ignore[arg-type]
            for m, u in rows
        ]


def _check_brand_role(role: Role | str) -> Role:
    try:
        role = Role(role)
    except ValueError as exc:
        raise ValidationFailed("Unknown role.", fields={"role": "unknown role"}) from exc
    if role not in BRAND_ROLES:
        names = ", ".join(r.value for r in BRAND_ROLES)
        raise ValidationFailed("That role cannot be given in a brand.", fields={"role": f"must be one of {names}"})
    return role


def _admins_left(session: Session, brand_id: int) -> int:
    return session.exec(
        select(func.count()).where(Membership.brand_id == brand_id, Membership.role == Role.BRAND_ADMIN)
    ).one()


def invite_member(actor: Actor, brand_id: int, email: str, role: Role | str) -> InviteResult:
    """Add an existing user at once; otherwise create a pending account and an invitation to accept."""
    signed_in(actor)
    role = _check_brand_role(role)
    email = normalize_email(email)
    with session_scope() as session:
        _brand(session, actor, brand_id, Permission.MEMBER_MANAGE)
        user = session.exec(select(User).where(User.email == email)).first()
        if user is not None:
            if session.exec(
                select(Membership).where(Membership.user_id == user.id, Membership.brand_id == brand_id)
            ).first():
                raise Conflict("That person is already a member.", fields={"email": "already a member"})
        else:
            user = create_user(session, email, None)
        session.add(Membership(user_id=user.id, brand_id=brand_id, role=role))  # type: ignore[arg-type]
        token = None
        if user.password_hash is None:
            token = new_opaque_token()
            session.add(
                Invitation(
                    brand_id=brand_id,
                    email=email,
                    role=role,
                    token_hash=token_digest(token),
                    invited_by=actor.user_id,
                    expires_at=utcnow() + INVITATION_TTL,
                )
            )
        return InviteResult(email=email, role=role, accept_token=token)


def change_member_role(actor: Actor, brand_id: int, user_id: int, role: Role | str) -> MemberView:
    signed_in(actor)
    role = _check_brand_role(role)
    with session_scope() as session:
        _brand(session, actor, brand_id, Permission.MEMBER_MANAGE)
        membership = session.exec(
            select(Membership).where(Membership.user_id == user_id, Membership.brand_id == brand_id)
        ).first()
        if membership is None:
            raise NotFound("Member not found.")
        if membership.role == Role.BRAND_ADMIN and role != Role.BRAND_ADMIN and _admins_left(session, brand_id) <= 1:
            raise Conflict("A brand needs at least one admin: promote someone else first.")
        membership.role = role
        session.add(membership)
        user = session.get(User, user_id)
        assert user is not None
        return MemberView(user.id, user.email, user.display_name, role, pending=user.password_hash is None)  # type: ignore[arg-type]


def remove_member(actor: Actor, brand_id: int, user_id: int) -> None:
    with session_scope() as session:
        _brand(session, actor, brand_id, Permission.MEMBER_MANAGE)
        membership = session.exec(
            select(Membership).where(Membership.user_id == user_id, Membership.brand_id == brand_id)
        ).first()
        if membership is None:
            raise NotFound("Member not found.")
        if membership.role == Role.BRAND_ADMIN and _admins_left(session, brand_id) <= 1:
            raise Conflict("A brand needs at least one admin: promote someone else first.")
        session.delete(membership)


def accept_invitation(token: str, password: str, display_name: str = "") -> str:
    """Set the invitee's password; returns their email so the caller can sign them in."""
    with session_scope() as session:
        invitation = session.exec(select(Invitation).where(Invitation.token_hash == token_digest(token))).first()
        if invitation is None or invitation.accepted_at is not None or invitation.expires_at <= utcnow():
            raise NotFound("This invitation is invalid or has expired. Ask for a new one.")
        user = session.exec(select(User).where(User.email == invitation.email)).one()
        set_password(session, user, password)
        if display_name.strip():
            user.display_name = display_name.strip()[:120]
        invitation.accepted_at = utcnow()
        session.add(invitation)
        return user.email
