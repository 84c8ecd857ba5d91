"""Refresh-token rotation: each token works once, reuse revokes the family, concurrent use has one winner."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from backend.auth.models import AuthSession
from backend.auth.service import RefreshReuse, TokenPair, authenticate_access_token, login, refresh
from backend.db import session_scope, utcnow
from backend.errors import NotAuthenticated
from tests.factories import PASSWORD, make_user

IP = "10.1.1.1"


@pytest.fixture
def pair() -> TokenPair:
    make_user(email="ava@example.com")
    return login("ava@example.com", PASSWORD, ip=IP)


def test_refresh_rotates_the_token_and_keeps_the_session(pair: TokenPair):
    second = refresh(pair.refresh_token, ip=IP)
    assert second.refresh_token != pair.refresh_token
    assert second.session_id == pair.session_id
    assert authenticate_access_token(second.access_token).session_id == pair.session_id
    third = refresh(second.refresh_token, ip=IP)
    assert third.refresh_token not in (pair.refresh_token, second.refresh_token)


def test_old_refresh_token_is_invalid_after_rotation(pair: TokenPair):
    refresh(pair.refresh_token, ip=IP)
    with pytest.raises(NotAuthenticated):
        refresh(pair.refresh_token, ip=IP)


def test_reused_refresh_token_revokes_whole_family(pair: TokenPair):
    newest = refresh(pair.refresh_token, ip=IP)
    newer_access = newest.access_token
    assert authenticate_access_token(newer_access)
    with pytest.raises(RefreshReuse):
        refresh(pair.refresh_token, ip=IP)  # the stolen old token comes back
    with pytest.raises(NotAuthenticated):
        refresh(newest.refresh_token, ip=IP)  # the legitimate newest token is dead too
    for access in (pair.access_token, newer_access):
        with pytest.raises(NotAuthenticated):
            authenticate_access_token(access)
    with session_scope() as session:
        revoked = session.get(AuthSession, pair.session_id)
        assert revoked is not None and revoked.revoke_reason == "refresh_token_reuse"


def test_reuse_in_one_session_leaves_other_sessions_alone(pair: TokenPair):
    other = login("ava@example.com", PASSWORD, ip=IP)
    refresh(pair.refresh_token, ip=IP)
    with pytest.raises(RefreshReuse):
        refresh(pair.refresh_token, ip=IP)
    assert refresh(other.refresh_token, ip=IP).session_id == other.session_id


def test_unknown_refresh_token_is_refused():
    with pytest.raises(NotAuthenticated):
        refresh("never-issued", ip=IP)


def test_expired_session_is_refused(pair: TokenPair):
    with session_scope() as session:
        session.exec(update(AuthSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    with pytest.raises(NotAuthenticated, match="ended"):
        refresh(pair.refresh_token, ip=IP)


def test_concurrent_refresh_of_one_token_has_exactly_one_winner(pair: TokenPair):
    contenders = 4
    barrier = threading.Barrier(contenders)
    results: list[object] = []
    lock = threading.Lock()

    def attempt() -> None:
        barrier.wait()
        try:
            outcome: object = refresh(pair.refresh_token, ip=IP)
        except Exception as exc:  # noqa: BLE001 - collected and checked below
            outcome = exc
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=attempt) for _ in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    winners = [r for r in results if isinstance(r, TokenPair)]
    losers = [r for r in results if not isinstance(r, TokenPair)]
    assert len(results) == contenders
    assert len(winners) == 1, results
    assert all(isinstance(r, NotAuthenticated) for r in losers), losers
