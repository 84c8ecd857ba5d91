"""Web sign-in: a single-use, short-lived code exchanged for an HttpOnly session cookie, then resolved per event; the
cookie is its own kind (never an API refresh token), rotates, and ends after an idle timeout."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, update
from sqlmodel import select

from backend.auth.acl import Role
from backend.auth.models import AuthSession, LoginGrant, Membership, RefreshToken, User
from backend.auth.service import (
    GENERIC_LOGIN_ERROR,
    actor_for_web_session,
    begin_web_sign_in,
    complete_web_sign_in,
    end_web_session,
    login,
    logout,
    refresh,
    rotate_web_session,
    web_session,
)
from backend.db import session_scope, utcnow
from backend.errors import NotAuthenticated
from tests.factories import PASSWORD, make_brand, make_user

IP = "10.2.2.2"


@pytest.fixture
def staff():
    brand = make_brand()
    return make_user(Role.BRAND_STAFF, brand, email="sam@example.com"), brand


def _cookie() -> str:
    cookie, _ = complete_web_sign_in(begin_web_sign_in("sam@example.com", PASSWORD, ip=IP))
    return cookie


def test_sign_in_code_gives_a_cookie_that_resolves_to_the_actor(staff):
    user, brand = staff
    code = begin_web_sign_in("sam@example.com", PASSWORD, ip=IP)
    cookie, expires_at = complete_web_sign_in(code)
    assert cookie != code
    assert timedelta(days=13) < expires_at - utcnow() <= timedelta(days=14)
    actor = actor_for_web_session(cookie)
    assert actor is not None
    assert actor.user_id == user.user_id and actor.roles == {brand.id: Role.BRAND_STAFF}
    with session_scope() as session:
        web_session = session.get(AuthSession, actor.session_id)
        assert web_session is not None and web_session.kind == "web"


def test_sign_in_with_a_wrong_password_gives_no_code(staff):
    with pytest.raises(NotAuthenticated) as caught:
        begin_web_sign_in("sam@example.com", "wrong-password-1", ip=IP)
    assert caught.value.message == GENERIC_LOGIN_ERROR


def test_sign_in_code_works_once(staff):
    code = begin_web_sign_in("sam@example.com", PASSWORD, ip=IP)
    complete_web_sign_in(code)
    with pytest.raises(NotAuthenticated):
        complete_web_sign_in(code)


def test_expired_sign_in_code_is_refused(staff):
    code = begin_web_sign_in("sam@example.com", PASSWORD, ip=IP)
    with session_scope() as session:
        session.exec(update(LoginGrant).values(expires_at=utcnow() - timedelta(seconds=1)))
    with pytest.raises(NotAuthenticated, match="expired"):
        complete_web_sign_in(code)


def test_unknown_sign_in_code_is_refused():
    with pytest.raises(NotAuthenticated):
        complete_web_sign_in("made-up-code")


def test_code_of_a_user_deactivated_meanwhile_is_refused(staff):
    code = begin_web_sign_in("sam@example.com", PASSWORD, ip=IP)
    with session_scope() as session:
        session.exec(update(User).values(is_active=False))
    with pytest.raises(NotAuthenticated):
        complete_web_sign_in(code)


@pytest.mark.parametrize("cookie", [None, "", "unknown-cookie-value"])
def test_missing_or_unknown_cookie_is_nobody(cookie):
    assert actor_for_web_session(cookie) is None


def test_revoked_cookie_is_nobody(staff):
    cookie = _cookie()
    actor = actor_for_web_session(cookie)
    assert actor is not None
    with session_scope() as session:
        session.exec(update(AuthSession).values(revoked_at=utcnow(), revoke_reason="admin"))
    assert actor_for_web_session(cookie) is None


def test_expired_web_session_is_nobody(staff):
    cookie = _cookie()
    with session_scope() as session:
        session.exec(update(AuthSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert actor_for_web_session(cookie) is None


def _age(**changes: timedelta) -> None:
    """Move every web session's and token's times back by the given amounts (as if that much time had passed)."""
    now = utcnow()
    with session_scope() as session:
        if "seen" in changes:
            session.exec(update(AuthSession).values(last_seen_at=now - changes["seen"]))
        if "issued" in changes:
            session.exec(update(RefreshToken).values(created_at=now - changes["issued"]))
        if "rotated" in changes:
            session.exec(update(RefreshToken).where(RefreshToken.rotated_at.is_not(None))
                         .values(rotated_at=now - changes["rotated"]))


def test_a_web_cookie_is_not_an_api_refresh_token(staff):
    cookie = _cookie()
    with pytest.raises(NotAuthenticated, match="Invalid refresh token"):
        refresh(cookie, ip=IP)
    logout(cookie)  # the API's sign-out does not know cookies either
    assert actor_for_web_session(cookie) is not None


def test_an_api_refresh_token_is_not_a_web_cookie(staff):
    pair = login("sam@example.com", PASSWORD, ip=IP)
    assert actor_for_web_session(pair.refresh_token) is None
    assert web_session(pair.refresh_token) is None
    assert rotate_web_session(pair.refresh_token) is None
    end_web_session(pair.refresh_token)  # the web sign-out does not end API sessions
    assert refresh(pair.refresh_token, ip=IP).access_token


def test_rotation_gives_a_new_value_and_the_old_one_stops_after_the_grace(staff):
    cookie = _cookie()
    first = web_session(cookie)
    assert first is not None and first.rotate_due is False
    rotated = rotate_web_session(cookie)
    assert rotated is not None
    new_cookie, expires_at = rotated
    assert new_cookie != cookie and expires_at == first.expires_at
    assert rotate_web_session(cookie) is None  # a second tab racing the first rotates nothing
    assert actor_for_web_session(new_cookie).user_id == first.actor.user_id  # type: ignore[union-attr]
    assert actor_for_web_session(cookie) is not None  # requests already on their way still get through
    _age(rotated=timedelta(seconds=61))
    assert actor_for_web_session(cookie) is None
    # A tab that connected with the old value keeps speaking for its own session (its websocket cannot get the new
    # cookie), and for no other.
    assert web_session(cookie, bound_session_id=first.actor.session_id) is not None
    assert web_session(cookie, bound_session_id="another-session") is None
    end_web_session(cookie)  # signing out with any value of the cookie ends the session
    assert actor_for_web_session(new_cookie) is None
    assert web_session(cookie, bound_session_id=first.actor.session_id) is None


def test_rotation_is_due_at_least_daily(staff):
    cookie = _cookie()
    _age(issued=timedelta(hours=1, seconds=1))
    found = web_session(cookie)
    assert found is not None and found.rotate_due is True
    new_cookie, _ = rotate_web_session(cookie)  # type: ignore[misc]
    assert web_session(new_cookie).rotate_due is False  # type: ignore[union-attr]


def test_an_idle_web_session_ends(staff):
    cookie = _cookie()
    _age(seen=timedelta(hours=7, minutes=59))
    assert actor_for_web_session(cookie) is not None  # and that request counts as activity
    _age(seen=timedelta(hours=8, seconds=1))
    assert actor_for_web_session(cookie) is None
    with session_scope() as session:
        assert session.exec(select(AuthSession.revoke_reason)).one() == "idle"
    _age(seen=timedelta(0))
    assert actor_for_web_session(cookie) is None  # ended for good


def test_activity_keeps_a_web_session_alive(staff):
    cookie = _cookie()
    _age(seen=timedelta(hours=7))
    assert actor_for_web_session(cookie) is not None
    with session_scope() as session:
        seen = session.exec(select(AuthSession.last_seen_at)).one()
    assert utcnow() - seen < timedelta(seconds=5)  # type: ignore[operator]


def test_the_web_session_reads_roles_as_they_are_now(staff):
    _user, brand = staff
    cookie = _cookie()
    assert actor_for_web_session(cookie).roles == {brand.id: Role.BRAND_STAFF}  # type: ignore[union-attr]
    with session_scope() as session:
        session.exec(update(Membership).values(role=Role.BRAND_ADMIN))
    assert actor_for_web_session(cookie).roles == {brand.id: Role.BRAND_ADMIN}  # type: ignore[union-attr]
    with session_scope() as session:
        session.exec(delete(Membership))
    assert actor_for_web_session(cookie).roles == {}  # type: ignore[union-attr]


def test_deactivated_user_cookie_is_nobody(staff):
    cookie = _cookie()
    with session_scope() as session:
        session.exec(update(User).values(is_active=False))
    assert actor_for_web_session(cookie) is None


def test_end_web_session_signs_out_that_cookie_only(staff):
    first, second = _cookie(), _cookie()
    end_web_session(first)
    assert actor_for_web_session(first) is None
    assert actor_for_web_session(second) is not None
    end_web_session(None)  # no cookie: nothing to do
    end_web_session("")
