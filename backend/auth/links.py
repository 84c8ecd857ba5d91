"""Password links by email: "choose your password" for an account checkout created, and "forgot your password".

A link carries a signed token (PyJWT, the platform secret) naming the user and a fingerprint of their password
hash at the time: setting a password changes the hash, so a link works once, and for ACCOUNT_LINK_TTL_SECONDS at
most. Only the mailbox of the address receives it: possession of the email proves the address."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select, update

from backend.auth.models import AuthSession, User
from backend.auth.ratelimit import get_rate_limiter
from backend.auth.service import normalize_email, set_password
from backend.auth.tokens import (decode_password_link_token, issue_password_link_token, password_fingerprint,
                                 token_digest)
from backend.db import session_scope, utcnow
from backend.errors import NotAuthenticated, NotFound
from backend.notifications.service import last_queued_at, queue_email
from backend.settings import get_settings

KIND = "password_link"
RESEND_AFTER = timedelta(seconds=60)  # one link a minute per account: a button pressed twice sends one email
SET_PASSWORD_PATH = "/account/set-password"
LINK_INVALID = "This link has expired or was used already. Ask for a new one."


def link_url(user: User) -> str:
    settings = get_settings()
    token = issue_password_link_token(user.id, password_fingerprint(user.password_hash),  # type: ignore[arg-type]
                                      secret=settings.require_secret("secret_key"), ttl_s=settings.account_link_ttl_s)
    return f"{settings.public_url.rstrip('/')}{SET_PASSWORD_PATH}?token={token}"


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
    limiter = get_rate_limiter()
    limiter.hit(settings.login_rate_per_ip, f"link:ip:{ip}")
    limiter.hit(settings.login_rate_per_account, f"link:acct:{address}")
    with session_scope() as session:
        user = session.exec(select(User).where(User.email == address)).first()
        if user is not None and user.is_active:
            send_password_link(session, user, first=user.password_hash is None)


def link_email(token: str) -> str:
    """The address a valid link belongs to (shown on the set-password page); NotFound when it is not valid."""
    with session_scope() as session:
        return _user_for(session, token).email


def _user_for(session: Session, token: str) -> User:
    try:
        user_id, fingerprint = decode_password_link_token(token, secret=get_settings().require_secret("secret_key"))
    except NotAuthenticated as exc:
        raise NotFound(LINK_INVALID) from exc
    user = session.exec(select(User).where(User.id == user_id).with_for_update()).first()
    if user is None or not user.is_active or password_fingerprint(user.password_hash) != fingerprint:
        raise NotFound(LINK_INVALID)
    return user


def set_password_with_link(token: str, password: str) -> str:
    """Set the password a link was sent for (once); every earlier session of the account is signed out. Returns
    the account's email. NotFound for an expired, used or forged link; ValidationFailed for a weak password."""
    with session_scope() as session:
        user = _user_for(session, token)
        set_password(session, user, password)
        session.exec(update(AuthSession).where(AuthSession.user_id == user.id,  # type: ignore[call-overload]
                                               AuthSession.revoked_at.is_(None))  # type: ignore[union-attr]
                     .values(revoked_at=utcnow(), revoke_reason="password_set_by_link"))
        return user.email
