"""Signing in with email and password: one generic error, inactive users, rehashing, sign-out."""

from __future__ import annotations

import pytest
from passlib.context import CryptContext
from sqlalchemy import update
from sqlmodel import select

from backend.auth.acl import Role
from backend.auth.models import User
from backend.auth.passwords import needs_rehash
from backend.auth.service import GENERIC_LOGIN_ERROR, authenticate_access_token, login, logout, refresh
from backend.db import session_scope
from backend.errors import NotAuthenticated
from tests.factories import PASSWORD, make_brand, make_user


def _user(email: str) -> User:
    with session_scope() as session:
        return session.exec(select(User).where(User.email == email)).one()


def test_login_returns_tokens_that_resolve_to_the_user_and_roles():
    brand = make_brand()
    actor = make_user(Role.BRAND_ADMIN, brand, email="ava@example.com")
    pair = login(" Ava@Example.com ", PASSWORD, ip="10.0.0.1")
    assert pair.token_type == "bearer" and pair.expires_in == 900
    resolved = authenticate_access_token(pair.access_token)
    assert resolved.user_id == actor.user_id
    assert resolved.roles == {brand.id: Role.BRAND_ADMIN}
    assert resolved.session_id == pair.session_id
    assert _user("ava@example.com").last_login_at is not None


def test_wrong_email_and_wrong_password_get_the_same_message():
    make_user(email="ava@example.com")
    with pytest.raises(NotAuthenticated) as wrong_password:
        login("ava@example.com", PASSWORD + "x", ip="10.0.0.1")
    with pytest.raises(NotAuthenticated) as wrong_email:
        login("nobody@example.com", PASSWORD, ip="10.0.0.1")
    assert wrong_password.value.message == wrong_email.value.message == GENERIC_LOGIN_ERROR
    assert wrong_password.value.fields == wrong_email.value.fields == {}


def test_inactive_user_is_refused_with_the_generic_message_even_with_the_right_password():
    make_user(email="gone@example.com")
    with session_scope() as session:
        session.exec(update(User).where(User.email == "gone@example.com").values(is_active=False))
    with pytest.raises(NotAuthenticated) as caught:
        login("gone@example.com", PASSWORD, ip="10.0.0.1")
    assert caught.value.message == GENERIC_LOGIN_ERROR


def test_deactivating_a_user_ends_their_existing_tokens():
    make_user(email="leaver@example.com")
    pair = login("leaver@example.com", PASSWORD, ip="10.0.0.1")
    with session_scope() as session:
        session.exec(update(User).where(User.email == "leaver@example.com").values(is_active=False))
    with pytest.raises(NotAuthenticated):
        authenticate_access_token(pair.access_token)


def test_login_upgrades_a_hash_made_with_old_parameters():
    make_user(email="old@example.com")
    weak = CryptContext(schemes=["argon2"], argon2__memory_cost=1024, argon2__rounds=1).hash(PASSWORD)
    with session_scope() as session:
        session.exec(update(User).where(User.email == "old@example.com").values(password_hash=weak))
    login("old@example.com", PASSWORD, ip="10.0.0.1")
    upgraded = _user("old@example.com").password_hash
    assert upgraded is not None and upgraded != weak and not needs_rehash(upgraded)
    login("old@example.com", PASSWORD, ip="10.0.0.1")  # the new hash verifies the same password


def test_logout_revokes_the_session_and_its_tokens():
    make_user(email="ava@example.com")
    pair = login("ava@example.com", PASSWORD, ip="10.0.0.1")
    other = login("ava@example.com", PASSWORD, ip="10.0.0.1")  # another device
    logout(pair.refresh_token)
    with pytest.raises(NotAuthenticated):
        refresh(pair.refresh_token, ip="10.0.0.1")
    with pytest.raises(NotAuthenticated):
        authenticate_access_token(pair.access_token)
    assert authenticate_access_token(other.access_token).session_id == other.session_id
    logout("not-a-token")  # unknown tokens are ignored


def test_access_token_for_a_session_of_another_user_is_refused():
    from backend.auth.tokens import issue_access_token
    from backend.settings import get_settings

    victim = make_user(email="victim@example.com")
    make_user(email="attacker@example.com")
    attacker_pair = login("attacker@example.com", PASSWORD, ip="10.0.0.1")
    forged = issue_access_token(victim.user_id, attacker_pair.session_id,
                                secret=get_settings().require_secret("secret_key"), ttl_s=60)
    with pytest.raises(NotAuthenticated):
        authenticate_access_token(forged)
