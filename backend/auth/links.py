"""Links by email: "choose your password" for an account checkout created, "forgot your password", and (through
`link_token` / `user_for_link`) brand invitations.

A link carries a signed token (PyJWT, the platform secret) naming the user and a fingerprint of their password
hash at the time: setting a password changes the hash, so a link works once, and for ACCOUNT_LINK_TTL_SECONDS at
most. Only the mailbox of the address receives it: possession of the email proves the address."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from backend.auth.models import User
from backend.auth.ratelimit import get_rate_limiter, limit_per_network
from backend.auth.service import normalize_email, revoke_user_sessions, set_password
from backend.auth.tokens import (
    LINK_AUDIENCE,
    LinkClaims,
    decode_link_token,
    issue_link_token,
    password_fingerprint,
    token_digest,
)
from backend.db import session_scope, utcnow
from backend.errors import NotAuthenticated, NotFound
from backend.notifications.service import last_queued_at, queue_email
from backend.settings import get_settings
from backend.urls import ACCOUNT_SET_PASSWORD, absolute

KIND = "password_link"
RESEND_AFTER = timedelta(seconds=60)  # one link a minute per account: a button pressed twice sends one email
LINK_INVALID = "This link has expired or was used already. Ask for a new one."


def link_token(user: User, *, audience: str = LINK_AUDIENCE, ttl_s: int | None = None, ref: int | None = None) -> str:
    """A signed token naming `user` (and `ref`), bound to their password as it is now."""
    settings = get_settings()
    return issue_link_token(user.id, password_fingerprint(user.password_hash),  # type: ignore[arg-type]
                            secret=settings.require_secret("secret_key"), audience=audience, ref=ref,
                            ttl_s=ttl_s if ttl_s is not None else settings.account_link_ttl_s)


def absolute_link(path: str, token: str) -> str:
    return absolute(path, token=token)


def link_url(user: User) -> str:
    return absolute_link(ACCOUNT_SET_PASSWORD, link_token(user))


def send_password_link(session: Session, user: User, *, first: bool) -> bool:
    """Queue the link email to the user's own address in `session`'s transaction; False when one went out less
    than a minute ago (nothing more is sent)."""
    last = last_queued_at(session, kind=KIND, user_id=user.id)  # type: ignore[arg-type]
    if last is not None and utcnow() - last < RESEND_AFTER:
        return False
    url = link_url(user)
    minutes = max(1, get_settings().account_link_ttl_s // 60)
    if first:
        subject = "Create your Primsell account"
        intro = "Choose a password to see your orders and the NFTs we keep for you:"
    else:
        subject = "Your Primsell sign-in link"
        intro = "Someone (we hope you) asked to set a new password for your Primsell account. Choose it here:"
    body = (f"Hello,\n\n{intro}\n\n{url}\n\nThe link works once, for {minutes} minutes. If you did not ask for it, "
            "ignore this email: nothing changes.\n\nPrimsell")
    return queue_email(session, key=f"{KIND}:{user.id}:{token_digest(url)[:24]}", kind=KIND, to=user.email,
                       subject=subject, body=body, user_id=user.id, sensitive=True)


def request_password_link(email: str, *, ip: str) -> None:
    """"Email me a link": whatever the address, the caller learns nothing about whether it has an account (the same
    answer, no error); an active account receives its link. Rate-limited per IP and per address."""
    settings = get_settings()
    address = normalize_email(email)  # ValidationFailed for something that is not an address at all
    limit_per_network(settings.link_rate_per_ip, "link:ip", ip)
    get_rate_limiter().hit(settings.link_rate_per_account, f"link:acct:{address}")
    with session_scope() as session:
        user = session.exec(select(User).where(User.email == address)).first()
        if user is not None and user.is_active:
            send_password_link(session, user, first=user.password_hash is None)


def link_email(token: str) -> str:
    """The address a valid link belongs to (shown on the set-password page); NotFound when it is not valid."""
    with session_scope() as session:
        return _user_for(session, token).email


def user_for_link(session: Session, token: str, *, audience: str = LINK_AUDIENCE,
                  invalid: str = LINK_INVALID) -> tuple[User, LinkClaims]:
    """The (locked) active user a valid link of `audience` was issued for, while their password is still the one it
    was issued for; NotFound(`invalid`) for an expired, spent, forged or foreign link."""
    try:
        claims = decode_link_token(token, secret=get_settings().require_secret("secret_key"), audience=audience)
    except NotAuthenticated as exc:
        raise NotFound(invalid) from exc
    user = session.exec(select(User).where(User.id == claims.user_id).with_for_update()).first()
    if user is None or not user.is_active or password_fingerprint(user.password_hash) != claims.fingerprint:
        raise NotFound(invalid)
    return user, claims


def _user_for(session: Session, token: str) -> User:
    return user_for_link(session, token)[0]


def set_password_with_link(token: str, password: str) -> str:
    """Set the password a link was sent for (once); every earlier session of the account is signed out. Returns
    the account's email. NotFound for an expired, used or forged link; ValidationFailed for a weak password."""
    with session_scope() as session:
        user = _user_for(session, token)
        set_password(session, user, password)
        revoke_user_sessions(session, user.id, "password_set_by_link")  # type: ignore[arg-type]
        return user.email
