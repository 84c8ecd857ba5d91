"""Users, their memberships (user, brand, role), sign-in sessions and the tokens that prove them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.auth.acl import Role
from backend.db import UTCDateTime, enum_type, utcnow


class User(SQLModel, table=True):
    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)  # stored lower-cased
    display_name: str = Field(default="", max_length=120)
    # NULL until an invited user sets a password.
    password_hash: str | None = Field(default=None, max_length=255)
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    last_login_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class Membership(SQLModel, table=True):
    """One role for one user in one brand; brand_id NULL is a platform-wide role."""

    __table_args__ = (UniqueConstraint("user_id", "brand_id", name="uq_membership_user_brand"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    brand_id: int | None = Field(default=None, foreign_key="brand.id", index=True, ondelete="CASCADE")
    role: Role = Field(sa_type=enum_type(Role))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    # NULL while an invitation to it waits for the invitee: a pending membership grants nothing.
    accepted_at: datetime | None = Field(default_factory=utcnow, sa_column=Column(UTCDateTime))


class AuthSession(SQLModel, table=True):
    """One sign-in: the family that all of its rotated refresh tokens belong to."""

    __tablename__ = "auth_session"

    id: str = Field(primary_key=True, max_length=36)  # uuid4 hex
    user_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    revoke_reason: str | None = Field(default=None, max_length=40)
    kind: str = Field(default="api", max_length=10)  # "api" (bearer tokens) or "web" (HttpOnly cookie)
    # Web sessions: the last request seen (at most a minute stale), for the idle timeout.
    last_seen_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class RefreshToken(SQLModel, table=True):
    """A refresh token, stored only as its SHA-256. Each is used once; its successor replaces it."""

    __tablename__ = "refresh_token"
    __table_args__ = (Index("ix_refresh_token_session", "session_id"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(foreign_key="auth_session.id", ondelete="CASCADE", max_length=36)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    rotated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class LoginGrant(SQLModel, table=True):
    """A single-use, seconds-long code that turns a verified web sign-in into an HttpOnly cookie."""

    __tablename__ = "login_grant"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE")
    code_hash: str = Field(max_length=64, unique=True)
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class Invitation(SQLModel, table=True):
    """An invitation to join a brand (or, with brand_id NULL, the platform's KYC review team), mailed to the invitee
    (never shown to the inviter). It belongs to one pending membership (removing that voids it) and its link to the
    invitee's password as it was when it was sent."""

    id: int | None = Field(default=None, primary_key=True)
    brand_id: int | None = Field(default=None, foreign_key="brand.id", index=True, ondelete="CASCADE")
    # NULL only on rows older than bound invitations (they can no longer be accepted).
    user_id: int | None = Field(default=None, foreign_key="app_user.id", index=True, ondelete="CASCADE")
    membership_id: int | None = Field(default=None, foreign_key="membership.id", unique=True, ondelete="CASCADE")
    email: str = Field(max_length=254)
    role: Role = Field(sa_type=enum_type(Role))
    # SHA-256 of the last link mailed: a resend makes every earlier link void.
    token_hash: str = Field(max_length=64, unique=True)
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    invited_by: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    accepted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
