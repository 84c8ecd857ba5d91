"""Sign-in, token rotation, sign-out and resolving who is asking.

Two ways to be signed in, both backed by an AuthSession (one family of tokens per sign-in), of two kinds that are
never accepted for each other:
- API clients ("api"): a short-lived JWT access token plus a rotating refresh token. Presenting a refresh token
  that was already rotated means it leaked: the whole family is revoked.
- The web app ("web"): an HttpOnly cookie holding an opaque token of the session, which page scripts cannot read.
  The Reflex server re-reads it (one query: token, session, user, memberships) on every event. Sign-in hands the
  browser a single-use, seconds-long code that an API endpoint exchanges for the cookie. The cookie gets a new
  value after WEB_SESSION_ROTATE_S (the old one works WEB_SESSION_ROTATION_GRACE_S longer, for requests already
  on their way), and the session ends after WEB_SESSION_IDLE_TIMEOUT_S without a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import bindparam, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from backend.auth.acl import Actor, Role
from backend.auth.models import AuthSession, LoginGrant, Membership, RefreshToken, User
from backend.auth.passwords import check_password_policy, hash_password, needs_rehash, verify_password
from backend.auth.ratelimit import get_login_throttle, limit_per_network
from backend.auth.tokens import (
    decode_access_token,
    issue_access_token,
    new_opaque_token,
    new_session_id,
    token_digest,
)
from backend.db import session_scope, utcnow
from backend.errors import Conflict, NotAuthenticated, ValidationFailed
from backend.settings import get_settings

WEB_SESSION_COOKIE = "primsell_session"  # HttpOnly; holds the web session's current token
GENERIC_LOGIN_ERROR = "Incorrect email or password."
LOGIN_GRANT_TTL_S = 60
API, WEB = "api", "web"  # AuthSession.kind
# A web session's last_seen_at is written at most this often (the idle timeout is hours; a write per click is not).
SEEN_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: str
    token_type: str = "bearer"


def normalize_email(email: str, *, field: str = "email") -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValidationFailed("Enter a valid email address.", fields={field: str(exc)}) from exc


def create_user(
    session: Session, email: str, password: str | None, *, display_name: str = ""
) -> User:
    """Create an active user; `password=None` leaves it unusable until an invitation sets one."""
    email = normalize_email(email)
    if session.exec(select(User).where(User.email == email)).first() is not None:
        raise Conflict("A user with that email already exists.", fields={"email": "already registered"})
    if password is not None:
        check_password_policy(password, email=email)
    user = User(
        email=email,
        display_name=display_name.strip()[:120],
        password_hash=hash_password(password) if password is not None else None,
    )
    session.add(user)
    session.flush()
    return user


def user_for_email(session: Session, email: str) -> User:
    """The user with this email, locked for this transaction; created without a password (as for an invitation or a
    guest checkout) when there is none. Two transactions creating the same new email at once both succeed: the
    second's insert fails on the unique index inside a savepoint and it reads the first's row instead."""
    email = normalize_email(email)
    by_email = select(User).where(User.email == email).with_for_update()
    user = session.exec(by_email).first()
    if user is not None:
        return user
    try:
        with session.begin_nested():
            return create_user(session, email, None)
    except (IntegrityError, Conflict):
        # Conflict: PostgreSQL's READ COMMITTED let create_user's own check see the other's committed row.
        user = session.exec(by_email).first()
        if user is None:
            raise
        return user


def set_password(session: Session, user: User, password: str) -> None:
    check_password_policy(password, email=user.email)
    user.password_hash = hash_password(password)
    session.add(user)


def revoke_user_sessions(session: Session, user_id: int, reason: str) -> None:
    """Sign the user out everywhere: every web session and API refresh family (their access tokens die with them)."""
    session.exec(
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))  # type: ignore[union-attr,arg-type]
        .values(revoked_at=utcnow(), revoke_reason=reason[:40])
    )


def load_actor(session: Session, user: User, session_id: str | None = None) -> Actor:
    """The user's roles from their accepted memberships (a pending invitation grants nothing)."""
    memberships = session.exec(select(Membership).where(
        Membership.user_id == user.id, Membership.accepted_at.is_not(None))).all()  # type: ignore[union-attr]
    return Actor(
        user_id=user.id,  # type: ignore[arg-type]
        email=user.email,
        roles={m.brand_id: Role(m.role) for m in memberships},
        session_id=session_id,
    )


def verify_credentials(session: Session, email: str, password: str, ip: str) -> User:
    """Throttle (attempts per client network, failures per account with back-off), then check the password with
    constant work; one generic error for every failure. Unknown addresses are throttled like known ones, so timing
    tells nothing."""
    throttle = get_login_throttle()
    email_key = email.strip().lower()[:254]
    throttle.before_attempt(email_key, ip)
    user = session.exec(select(User).where(User.email == email_key)).first()
    valid = verify_password(password, user.password_hash if user else None)
    if user is None or not valid or not user.is_active:
        raise NotAuthenticated(GENERIC_LOGIN_ERROR)
    throttle.succeeded(email_key)
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    session.add(user)
    return user


# A signed-in account that never chose a password (made by checkout) cannot confirm one: it gets a link first.
NO_PASSWORD_YET = ("Your account has no password yet. Choose one first: on the sign-in page, ask for a link by email "
                   "and follow it, then come back and try again.")
WRONG_PASSWORD = "This is not your current password."


def confirm_password(actor: Actor, password: str, *, ip: str, field: str = "password") -> None:
    """Ask a signed-in person for their current password again, before an action a session alone must not be enough
    for (a withdrawal from their custodial wallet): a web session lives for days, and a stolen cookie or a computer
    left signed in would otherwise do it. The same check and throttle as signing in (`verify_credentials`): a wrong
    password counts toward the account's back-off and the IP's limit, and too many give RateLimited.

    A wrong or missing password is a field error on `field` (ValidationFailed), not NotAuthenticated: the session
    itself is still good. Conflict (NO_PASSWORD_YET) for an account that has no password to confirm."""
    with session_scope() as session:
        user = session.get(User, actor.user_id)
        if user is None or not user.is_active:
            raise NotAuthenticated("Sign in to continue.")
        if user.password_hash is None:
            raise Conflict(NO_PASSWORD_YET)
        if not password:  # nothing typed: not a guess, so not counted
            raise ValidationFailed("Confirm with your password.", fields={field: "Enter your current password."})
        try:
            verify_credentials(session, user.email, password, ip)
        except NotAuthenticated as exc:
            raise ValidationFailed("Check your password.", fields={field: WRONG_PASSWORD}) from exc


def _start_session(session: Session, user: User, kind: str) -> tuple[AuthSession, str]:
    now = utcnow()
    auth_session = AuthSession(
        id=new_session_id(),
        user_id=user.id,  # type: ignore[arg-type]
        created_at=now,
        expires_at=now + timedelta(seconds=get_settings().refresh_token_ttl_s),
        kind=kind,
    )
    session.add(auth_session)
    session.flush()
    refresh = new_opaque_token()
    session.add(RefreshToken(session_id=auth_session.id, token_hash=token_digest(refresh), created_at=now))
    return auth_session, refresh


def _token_pair(user_id: int, session_id: str, refresh: str) -> TokenPair:
    settings = get_settings()
    ttl = settings.access_token_ttl_s
    access = issue_access_token(user_id, session_id, secret=settings.require_secret("secret_key"), ttl_s=ttl)
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=ttl, session_id=session_id)


def _revoke(session: Session, session_id: str, reason: str) -> None:
    session.exec(
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))  # type: ignore[union-attr]
        .values(revoked_at=utcnow(), revoke_reason=reason)
    )


# --- API tokens ---------------------------------------------------------------------------------


def login(email: str, password: str, *, ip: str) -> TokenPair:
    with session_scope() as session:
        user = verify_credentials(session, email, password, ip)
        auth_session, refresh = _start_session(session, user, kind=API)
        return _token_pair(user.id, auth_session.id, refresh)  # type: ignore[arg-type]


class RefreshReuse(NotAuthenticated):
    """A rotated refresh token came back: it was stolen or replayed, so its family is revoked."""


def refresh(refresh_token: str, *, ip: str) -> TokenPair:
    limit_per_network(get_settings().refresh_rate_per_ip, "refresh:ip", ip)
    digest = token_digest(refresh_token)
    reused_session: str | None = None
    with session_scope() as session:
        row = session.exec(select(RefreshToken).where(RefreshToken.token_hash == digest)).first()
        if row is None:
            raise NotAuthenticated("Invalid refresh token.")
        auth_session = session.get(AuthSession, row.session_id)
        now = utcnow()
        if auth_session is None or auth_session.kind != API:
            raise NotAuthenticated("Invalid refresh token.")  # a web cookie is not a refresh token
        if auth_session.revoked_at is not None or auth_session.expires_at <= now:
            raise NotAuthenticated("Your session has ended. Sign in again.")
        # Rotate atomically: of two concurrent uses of one token, exactly one wins.
        claimed = session.exec(
            update(RefreshToken)
            .where(RefreshToken.id == row.id, RefreshToken.rotated_at.is_(None))  # type: ignore[union-attr]
            .values(rotated_at=now)
        ).rowcount
        if claimed != 1:
            reused_session = auth_session.id
        else:
            new_refresh = new_opaque_token()
            session.add(RefreshToken(session_id=auth_session.id, token_hash=token_digest(new_refresh), created_at=now))
            return _token_pair(auth_session.user_id, auth_session.id, new_refresh)
    # Revocation commits in its own transaction so that the refusal below cannot roll it back.
    with session_scope() as session:
        _revoke(session, reused_session, "refresh_token_reuse")
    raise RefreshReuse("This sign-in was ended because its refresh token was used twice. Sign in again.")


def _end_session(token: str, kind: str) -> None:
    """Revoke the family `token` belongs to (rotated or not) if it is of `kind`; other tokens are ignored."""
    with session_scope() as session:
        row = session.exec(
            select(RefreshToken.session_id)
            .join(AuthSession, AuthSession.id == RefreshToken.session_id)  # type: ignore[arg-type]
            .where(RefreshToken.token_hash == token_digest(token), AuthSession.kind == kind)
        ).first()
        if row is not None:
            _revoke(session, row, "signed_out")


def logout(refresh_token: str) -> None:
    """Revoke the API sign-in the refresh token belongs to (rotated or not); unknown tokens are ignored."""
    _end_session(refresh_token, API)


def revoke_session(session_id: str, reason: str = "signed_out") -> None:
    with session_scope() as session:
        _revoke(session, session_id, reason)


def authenticate_access_token(token: str, *, session: Session | None = None) -> Actor:
    """Resolve a bearer token to an Actor as it is now; a revoked session or deactivated user is refused at once.
    One query (session, user and accepted memberships), in `session`'s transaction when given (the token is checked
    before that transaction begins), else in one of its own."""
    claims = decode_access_token(token, secret=get_settings().require_secret("secret_key"))
    if session is not None:
        return _api_actor(session, claims.session_id, claims.user_id)
    with session_scope() as own:
        return _api_actor(own, claims.session_id, claims.user_id)


# An access token's session, its user and the user's accepted memberships (one row each; one row with no membership).
_API_ACTOR = (
    sa_select(AuthSession.kind, AuthSession.revoked_at, User.email, User.is_active, Membership.brand_id,
              Membership.role)
    .select_from(AuthSession)
    .join(User, User.id == AuthSession.user_id)  # type: ignore[arg-type]
    .outerjoin(Membership, (Membership.user_id == User.id)  # type: ignore[arg-type]
               & Membership.accepted_at.is_not(None))  # type: ignore[union-attr]
    .where(AuthSession.id == bindparam("session_id"), AuthSession.user_id == bindparam("user_id"))
)


def _api_actor(session: Session, session_id: str, user_id: int) -> Actor:
    rows = session.connection().execute(_API_ACTOR, {"session_id": session_id, "user_id": user_id}).all()
    if not rows or rows[0].kind != API or rows[0].revoked_at is not None or not rows[0].is_active:
        raise NotAuthenticated("Your session has ended. Sign in again.")
    return Actor(user_id=user_id, email=rows[0].email,
                 roles={row.brand_id: Role(row.role) for row in rows if row.role is not None}, session_id=session_id)


# --- Web sessions (HttpOnly cookie) -------------------------------------------------------------


def begin_web_sign_in(email: str, password: str, *, ip: str) -> str:
    """Check credentials and return a single-use code the browser exchanges for its session cookie."""
    with session_scope() as session:
        user = verify_credentials(session, email, password, ip)
        return new_login_grant(session, user)


def new_login_grant(session: Session, user: User) -> str:
    """A single-use code for `user` that the browser exchanges for its session cookie (in `session`'s transaction)."""
    code = new_opaque_token()
    session.add(
        LoginGrant(
            user_id=user.id,  # type: ignore[arg-type]
            code_hash=token_digest(code),
            expires_at=utcnow() + timedelta(seconds=LOGIN_GRANT_TTL_S),
        )
    )
    return code


def complete_web_sign_in(code: str) -> tuple[str, datetime]:
    """Exchange a sign-in code (once) for a web session; returns the cookie value and its expiry."""
    with session_scope() as session:
        now = utcnow()
        claimed = session.exec(
            update(LoginGrant)
            .where(
                LoginGrant.code_hash == token_digest(code),
                LoginGrant.used_at.is_(None),  # type: ignore[union-attr]
                LoginGrant.expires_at > now,
            )
            .values(used_at=now)
        ).rowcount
        if claimed != 1:
            raise NotAuthenticated("This sign-in link has expired. Sign in again.")
        grant = session.exec(select(LoginGrant).where(LoginGrant.code_hash == token_digest(code))).one()
        user = session.get(User, grant.user_id)
        if user is None or not user.is_active:
            raise NotAuthenticated(GENERIC_LOGIN_ERROR)
        auth_session, cookie_value = _start_session(session, user, kind=WEB)
        auth_session.last_seen_at = auth_session.created_at
        return cookie_value, auth_session.expires_at


@dataclass(frozen=True)
class WebSession:
    actor: Actor
    expires_at: datetime
    # The cookie is older than WEB_SESSION_ROTATE_S: the page should have it rotated (POST /auth/web/rotate).
    rotate_due: bool


def web_session(cookie_value: str | None, *, bound_session_id: str | None = None) -> WebSession | None:
    """The web session behind a cookie as it is NOW (roles included), or None when it is missing, unknown, signed out,
    expired, idle too long, of another kind, or a value rotated away more than the grace period ago.

    `bound_session_id`: the session this browser tab was signed in to when it connected. Its websocket keeps the
    cookie it connected with, so a value rotated since (by another tab or a page load) still speaks for that session
    on that connection, never for a new one. One query, plus a write of last_seen_at at most once a minute."""
    if not cookie_value:
        return None
    settings = get_settings()
    now = utcnow()
    with session_scope() as session:
        rows = session.exec(
            select(RefreshToken, AuthSession, User, Membership)
            .join(AuthSession, AuthSession.id == RefreshToken.session_id)  # type: ignore[arg-type]
            .join(User, User.id == AuthSession.user_id)  # type: ignore[arg-type]
            .outerjoin(Membership, (Membership.user_id == User.id)  # type: ignore[arg-type]
                       & Membership.accepted_at.is_not(None))  # type: ignore[union-attr]
            .where(RefreshToken.token_hash == token_digest(cookie_value))
        ).all()
        if not rows:
            return None
        token, auth_session, user, _ = rows[0]
        if (auth_session.kind != WEB or auth_session.revoked_at is not None or auth_session.expires_at <= now
                or not user.is_active):
            return None
        last_seen = auth_session.last_seen_at or auth_session.created_at
        if now - last_seen > timedelta(seconds=settings.web_session_idle_timeout_s):
            _revoke(session, auth_session.id, "idle")
            return None
        if (token.rotated_at is not None and auth_session.id != bound_session_id
                and now - token.rotated_at > timedelta(seconds=settings.web_session_rotation_grace_s)):
            return None
        if now - last_seen >= SEEN_EVERY:
            session.exec(update(AuthSession).where(AuthSession.id == auth_session.id)  # type: ignore[arg-type]
                         .values(last_seen_at=now))
        actor = Actor(
            user_id=user.id,  # type: ignore[arg-type]
            email=user.email,
            roles={m.brand_id: Role(m.role) for *_, m in rows if m is not None},
            session_id=auth_session.id,
        )
        rotate_due = token.rotated_at is None and now - token.created_at >= timedelta(
            seconds=settings.web_session_rotate_s)
        return WebSession(actor=actor, expires_at=auth_session.expires_at, rotate_due=rotate_due)


def actor_for_web_session(cookie_value: str | None) -> Actor | None:
    """The Actor behind a session cookie, or None when it is missing, ended or unknown."""
    found = web_session(cookie_value)
    return found.actor if found is not None else None


def rotate_web_session(cookie_value: str | None) -> tuple[str, datetime] | None:
    """Give a live web session's cookie a new value (returned with the session's expiry); the old value keeps
    working for WEB_SESSION_ROTATION_GRACE_S. None when there is nothing to rotate: the cookie is not a live web
    session, or it was rotated already (another tab got there first; the browser has the new value)."""
    found = web_session(cookie_value)
    if found is None or cookie_value is None:
        return None
    with session_scope() as session:
        now = utcnow()
        claimed = session.exec(
            update(RefreshToken)
            .where(RefreshToken.token_hash == token_digest(cookie_value),  # type: ignore[arg-type]
                   RefreshToken.rotated_at.is_(None))  # type: ignore[union-attr]
            .values(rotated_at=now)
        ).rowcount
        if claimed != 1:
            return None
        new_value = new_opaque_token()
        session.add(RefreshToken(session_id=found.actor.session_id, token_hash=token_digest(new_value),  # type: ignore[arg-type]
                                 created_at=now))
        return new_value, found.expires_at


def end_web_session(cookie_value: str | None) -> None:
    """Sign out the web session of a cookie (whatever value of it the browser holds); API tokens are not cookies."""
    if cookie_value:
        _end_session(cookie_value, WEB)
