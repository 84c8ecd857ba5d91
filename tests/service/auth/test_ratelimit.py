"""Rate limits on sign-in and refresh, per account and per IP, in memory and shared through Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from limits.storage import storage_from_string

from backend.auth.ratelimit import RateLimiter, get_rate_limiter
from backend.auth.service import begin_web_sign_in, login, refresh
from backend.errors import NotAuthenticated, RateLimited
from backend.settings import get_settings
from tests.factories import PASSWORD, make_user

REDIS_TEST_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def tight_limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Small limits so a test needs few attempts (each sign-in costs a full argon2 verification)."""
    monkeypatch.setenv("RATE_LIMIT_LOGIN_PER_ACCOUNT", "3/minute")
    monkeypatch.setenv("RATE_LIMIT_LOGIN_PER_IP", "4/minute")
    monkeypatch.setenv("RATE_LIMIT_REFRESH_PER_IP", "3/minute")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def test_login_is_limited_per_account_across_ips(tight_limits):
    make_user(email="ava@example.com")
    for attempt in range(3):
        with pytest.raises(NotAuthenticated):
            login("ava@example.com", "wrong-password-1", ip=f"10.0.0.{attempt}")
    with pytest.raises(RateLimited) as caught:
        login("ava@example.com", PASSWORD, ip="10.0.0.99")  # even the right password, from a new IP
    assert 0 < caught.value.retry_after_s <= 60
    assert caught.value.status == 429 and str(caught.value.retry_after_s) in caught.value.message


def test_account_limit_ignores_case_and_spaces(tight_limits):
    make_user(email="ava@example.com")
    for variant in ("AVA@example.com", " ava@EXAMPLE.com", "Ava@Example.Com"):
        with pytest.raises(NotAuthenticated):
            login(variant, "wrong-password-1", ip=f"10.9.{len(variant)}.1")
    with pytest.raises(RateLimited):
        login("ava@example.com", PASSWORD, ip="10.9.9.9")


def test_login_is_limited_per_ip_across_accounts(tight_limits):
    for n in range(4):
        with pytest.raises(NotAuthenticated):
            login(f"nobody{n}@example.com", PASSWORD, ip="10.0.0.7")
    with pytest.raises(RateLimited) as caught:
        login("someone-else@example.com", PASSWORD, ip="10.0.0.7")
    assert caught.value.retry_after_s > 0


def test_web_sign_in_shares_the_login_limits(tight_limits):
    make_user(email="ava@example.com")
    for _ in range(3):
        with pytest.raises(NotAuthenticated):
            begin_web_sign_in("ava@example.com", "wrong-password-1", ip="10.3.3.3")
    with pytest.raises(RateLimited):
        login("ava@example.com", PASSWORD, ip="10.4.4.4")


def test_counters_are_independent_per_key(tight_limits):
    make_user(email="ava@example.com")
    make_user(email="bob@example.com")
    for _ in range(3):
        with pytest.raises(NotAuthenticated):
            login("ava@example.com", "wrong-password-1", ip="10.0.1.1")
    with pytest.raises(RateLimited):
        login("ava@example.com", PASSWORD, ip="10.0.1.2")
    # Another account from another IP is unaffected by Ava's lock-out.
    assert login("bob@example.com", PASSWORD, ip="10.0.2.2").access_token


def test_refresh_is_limited_per_ip(tight_limits):
    make_user(email="ava@example.com")
    token = login("ava@example.com", PASSWORD, ip="10.0.0.1").refresh_token
    for _ in range(3):
        token = refresh(token, ip="10.5.5.5").refresh_token
    with pytest.raises(RateLimited) as caught:
        refresh(token, ip="10.5.5.5")
    assert caught.value.retry_after_s > 0
    assert refresh(token, ip="10.6.6.6").refresh_token  # the refused attempt did not burn the token


def test_rate_limiter_refuses_over_the_rule_and_clear_lets_in_again():
    limiter = get_rate_limiter()
    limiter.hit("2/minute", "k")
    limiter.hit("2/minute", "k")
    with pytest.raises(RateLimited):
        limiter.hit("2/minute", "k")
    limiter.hit("2/minute", "other")
    limiter.clear("2/minute", "k")
    limiter.hit("2/minute", "k")


@pytest.fixture
def redis_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("REDIS_URL", REDIS_TEST_URL)
    get_settings.cache_clear()
    get_rate_limiter.cache_clear()
    try:
        storage_from_string(REDIS_TEST_URL).check() or pytest.fail("Redis at 127.0.0.1:6379 is not answering")
        yield REDIS_TEST_URL
    finally:
        get_rate_limiter().reset()  # wipe the counters written to database 15
        monkeypatch.undo()
        get_settings.cache_clear()
        get_rate_limiter.cache_clear()


def test_redis_storage_shares_counts_between_limiter_instances(redis_settings: str):
    shared = get_rate_limiter()  # built from settings: REDIS_URL is set
    assert "redis" in type(shared.storage).__name__.lower()
    other_process = RateLimiter(storage_from_string(redis_settings))
    key = f"shared-{uuid.uuid4().hex}"
    shared.hit("3/minute", key)
    other_process.hit("3/minute", key)
    shared.hit("3/minute", key)
    with pytest.raises(RateLimited) as caught:
        other_process.hit("3/minute", key)
    assert caught.value.retry_after_s > 0
    with pytest.raises(RateLimited):
        shared.hit("3/minute", key)
