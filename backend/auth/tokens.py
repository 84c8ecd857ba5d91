"""JWT access tokens (short-lived, HS256) and opaque secrets that are stored only as their SHA-256."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jwt

from backend.db import utcnow
from backend.errors import NotAuthenticated

ALGORITHM = "HS256"
ISSUER = "primsell"
AUDIENCE = "primsell-api"


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    session_id: str
    expires_at: datetime


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_session_id() -> str:
    return uuid.uuid4().hex


def issue_access_token(user_id: int, session_id: str, *, secret: str, ttl_s: int, now: datetime | None = None) -> str:
    now = now or utcnow()
    claims = {
        "sub": str(user_id),
        "sid": session_id,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_s)).timestamp()),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "typ": "access",
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_access_token(token: str, *, secret: str) -> AccessClaims:
    """Verify signature, expiry, issuer, audience and type; any failure is one generic 401.

    A token that verified once is remembered with its claims (the same string under the same secret verifies the
    same way again; only time changes): its expiry is checked on every use. Failures are not remembered. Whether its
    session is live and what its user may do is the caller's to read, every time (authenticate_access_token)."""
    claims = _verified_access_token(token, secret)
    if claims.expires_at.timestamp() <= time.time():  # as PyJWT: expired from `exp` on
        raise NotAuthenticated("Your session has expired. Sign in again.")
    return claims


@lru_cache(maxsize=4096)
def _verified_access_token(token: str, secret: str) -> AccessClaims:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "sid", "aud", "iss"]},
        )
        if claims.get("typ") != "access":
            raise jwt.InvalidTokenError("not an access token")
        return AccessClaims(
            user_id=int(claims["sub"]),
            session_id=str(claims["sid"]),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )
    except jwt.ExpiredSignatureError as exc:
        raise NotAuthenticated("Your session has expired. Sign in again.") from exc
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise NotAuthenticated("Invalid access token.") from exc


# Emailed links, one audience per purpose: a password link is never an invitation, nor the other way round.
LINK_AUDIENCE = "primsell-password-link"
INVITATION_AUDIENCE = "primsell-invitation"


@dataclass(frozen=True)
class LinkClaims:
    user_id: int
    fingerprint: str
    ref: int | None  # what the link is about (an invitation's id); None for password links


def password_fingerprint(password_hash: str | None) -> str:
    """A short digest of the current password hash (of "" when none): a link bound to it stops working as soon as
    the password changes, which is what makes it single-use."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def issue_link_token(user_id: int, fingerprint: str, *, secret: str, ttl_s: int, audience: str = LINK_AUDIENCE,
                     ref: int | None = None, now: datetime | None = None) -> str:
    now = now or utcnow()
    claims: dict[str, object] = {"sub": str(user_id), "pwd": fingerprint, "iss": ISSUER, "aud": audience,
                                 "iat": int(now.timestamp()), "exp": int((now + timedelta(seconds=ttl_s)).timestamp()),
                                 "jti": uuid.uuid4().hex}  # two links issued in the same second still differ
    if ref is not None:
        claims["ref"] = ref
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_link_token(token: str, *, secret: str, audience: str = LINK_AUDIENCE) -> LinkClaims:
    """The claims of a valid, unexpired link token of `audience`; NotAuthenticated otherwise."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], audience=audience, issuer=ISSUER,
                            options={"require": ["exp", "sub", "pwd"]})
        ref = claims.get("ref")
        return LinkClaims(int(claims["sub"]), str(claims["pwd"]), int(ref) if ref is not None else None)
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise NotAuthenticated("This link has expired or is not valid.") from exc
