"""Web sign-in: a single-use, short-lived code exchanged for an HttpOnly session cookie, then resolved per page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from backend.auth.acl import Role
from backend.auth.models import AuthSession, LoginGrant, User
from backend.auth.service import (
    GENERIC_LOGIN_ERROR,
    actor_for_web_session,
    begin_web_sign_in,
    complete_web_sign_in,
    end_web_session,
    refresh,
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


def test_rotated_cookie_is_nobody(staff):
    cookie = _cookie()
    refresh(cookie, ip=IP)  # the cookie's token was rotated away
    assert actor_for_web_session(cookie) is None


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
