"""JWT access tokens (short-lived, HS256) and opaque secrets that are stored only as their SHA-256."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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
    """Verify signature, expiry, issuer, audience and type; any failure is one generic 401."""
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


LINK_AUDIENCE = "primsell-password-link"


def password_fingerprint(password_hash: str | None) -> str:
    """A short digest of the current password hash (of "" when none): a link bound to it stops working as soon as
    the password changes, which is what makes it single-use."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def issue_password_link_token(user_id: int, fingerprint: str, *, secret: str, ttl_s: int,
                              now: datetime | None = None) -> str:
    now = now or utcnow()
    claims = {"sub": str(user_id), "pwd": fingerprint, "iss": ISSUER, "aud": LINK_AUDIENCE,
              "iat": int(now.timestamp()), "exp": int((now + timedelta(seconds=ttl_s)).timestamp())}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_password_link_token(token: str, *, secret: str) -> tuple[int, str]:
    """(user id, password fingerprint) of a valid, unexpired link token; NotAuthenticated otherwise."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], audience=LINK_AUDIENCE, issuer=ISSUER,
                            options={"require": ["exp", "sub", "pwd"]})
        return int(claims["sub"]), str(claims["pwd"])
    except (jwt.PyJWTError, ValueError) as exc:
        raise NotAuthenticated("This link has expired or is not valid.") from exc
