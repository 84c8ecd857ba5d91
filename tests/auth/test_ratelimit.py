"""Rate limits: sign-in attempts (per client network) and failures (per account, with exponential back-off),
set-password links, refresh, in memory and shared through Redis."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from limits.storage import storage_from_string

from backend.auth import ratelimit
from backend.auth import service as auth_service
from backend.auth.links import request_password_link
from backend.auth.ratelimit import RateLimiter, get_rate_limiter
from backend.auth.service import begin_web_sign_in, login, refresh
from backend.errors import NotAuthenticated, RateLimited
from backend.settings import get_settings
from tests.factories import PASSWORD, make_user

REDIS_TEST_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def tight_limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Small limits so a test needs few attempts (each sign-in costs a full argon2 verification)."""
    monkeypatch.setenv("LOGIN_BACKOFF_AFTER_FAILURES", "3")
    monkeypatch.setenv("LOGIN_BACKOFF_MAX_S", "8")
    monkeypatch.setenv("RATE_LIMIT_LOGIN_PER_IP", "4/minute")
    monkeypatch.setenv("RATE_LIMIT_REFRESH_PER_IP", "3/minute")
    monkeypatch.setenv("RATE_LIMIT_LINK_PER_IP", "3/minute")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


class Clock:
    """The back-off's clock, moved by the test instead of waiting."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(ratelimit, "clock", fake)
    return fake


def _fail(email: str = "ava@example.com", ip: str = "10.0.0.1") -> None:
    with pytest.raises(NotAuthenticated):
        login(email, "wrong-password-1", ip=ip)


def test_successful_sign_ins_do_not_make_the_account_wait(tight_limits, clock):
    make_user(email="ava@example.com")
    for n in range(6):  # more than the free failures
        assert login("ava@example.com", PASSWORD, ip=f"10.0.0.{n}").access_token


def test_every_sign_in_counts_against_its_network(tight_limits, clock):
    """Attempts are counted before the password is checked, so successes count too (4/minute here)."""
    make_user(email="ava@example.com")
    for _ in range(4):
        assert login("ava@example.com", PASSWORD, ip="10.0.0.1").access_token
    with pytest.raises(RateLimited):
        login("ava@example.com", PASSWORD, ip="10.0.0.1")


def test_a_parallel_burst_of_guesses_from_one_ip_gets_no_more_than_the_limit(tight_limits, clock, monkeypatch):
    """The slow password check must not let a burst pass the per-IP check before any of its failures is counted."""

    def slow_wrong(password: str, stored: str | None) -> bool:
        time.sleep(0.5)  # argon2 under load: every guess of the burst is in flight at once
        return False

    monkeypatch.setattr(auth_service, "verify_password", slow_wrong)

    def guess(n: int) -> str:
        try:
            login(f"nobody{n}@example.com", "wrong-password-1", ip="10.0.0.7")  # other accounts: no back-off
        except RateLimited:
            return "limited"
        except NotAuthenticated:
            return "checked"
        return "signed in"

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(guess, range(10)))
    assert outcomes.count("checked") == 4 and outcomes.count("limited") == 6, outcomes


def test_sign_in_failures_are_limited_per_ipv6_64_not_per_address(tight_limits, clock):
    for n in range(4):
        _fail(f"nobody{n}@example.com", ip=f"2001:db8:1:2::{n + 1:x}")
    with pytest.raises(RateLimited):
        login("someone-else@example.com", PASSWORD, ip="2001:db8:1:2:ffff::9")  # a fresh address, the same /64
    make_user(email="bob@example.com")
    assert login("bob@example.com", PASSWORD, ip="2001:db8:1:3::1").access_token  # the next /64 is unaffected


def test_set_password_links_are_limited_per_ipv6_64_not_per_address(tight_limits):
    for n in range(3):
        request_password_link(f"nobody{n}@example.com", ip=f"2001:db8:1:2::{n + 1:x}")
    with pytest.raises(RateLimited):
        request_password_link("nobody9@example.com", ip="2001:db8:1:2::99")


def test_after_the_free_failures_each_attempt_waits_twice_as_long(tight_limits, clock):
    make_user(email="ava@example.com")
    _fail(ip="10.0.0.1")
    _fail(ip="10.0.0.2")
    _fail(ip="10.0.0.3")  # the third failure: the next attempt waits 1 s
    waits = []
    for attempt in range(5):
        with pytest.raises(RateLimited) as caught:
            login("ava@example.com", PASSWORD, ip=f"10.0.1.{attempt}")  # even the right password, from a new IP
        waits.append(caught.value.retry_after_s)
        assert f"{caught.value.retry_after_s} second" in caught.value.message and caught.value.status == 429
        clock.advance(caught.value.retry_after_s)
        _fail(ip=f"10.0.2.{attempt}")
    assert waits == [1, 2, 4, 8, 8]  # doubling, capped at LOGIN_BACKOFF_MAX_S


def test_the_owner_gets_in_once_the_wait_is_over_and_that_forgets_the_failures(tight_limits, clock):
    make_user(email="ava@example.com")
    for n in range(8):  # someone guessing, from many addresses
        clock.advance(8)
        _fail(ip=f"10.3.0.{n}")
    with pytest.raises(RateLimited) as caught:
        login("ava@example.com", PASSWORD, ip="10.9.9.9")
    assert caught.value.retry_after_s <= 8  # never locked for longer than the cap
    clock.advance(caught.value.retry_after_s)
    assert login("ava@example.com", PASSWORD, ip="10.9.9.9").access_token
    _fail(ip="10.3.1.1")  # the failures were forgotten: these do not wait
    _fail(ip="10.3.1.2")
    assert login("ava@example.com", PASSWORD, ip="10.9.9.9").access_token


def test_account_back_off_ignores_case_and_spaces(tight_limits, clock):
    make_user(email="ava@example.com")
    for n, variant in enumerate(("AVA@example.com", " ava@EXAMPLE.com", "Ava@Example.Com")):
        _fail(variant, ip=f"10.9.{n}.1")
    with pytest.raises(RateLimited):
        login("ava@example.com", PASSWORD, ip="10.9.9.9")


def test_unknown_addresses_back_off_like_known_ones(tight_limits, clock):
    for n in range(3):
        _fail("nobody@example.com", ip=f"10.4.{n}.1")
    with pytest.raises(RateLimited):
        login("nobody@example.com", PASSWORD, ip="10.4.9.1")


def test_failures_are_limited_per_ip_across_accounts(tight_limits, clock):
    for n in range(4):
        _fail(f"nobody{n}@example.com", ip="10.0.0.7")
    with pytest.raises(RateLimited) as caught:
        login("someone-else@example.com", PASSWORD, ip="10.0.0.7")
    assert caught.value.retry_after_s > 0
    make_user(email="bob@example.com")
    assert login("bob@example.com", PASSWORD, ip="10.0.0.8").access_token  # another IP is unaffected


def test_web_sign_in_shares_the_back_off(tight_limits, clock):
    make_user(email="ava@example.com")
    for _ in range(3):
        with pytest.raises(NotAuthenticated):
            begin_web_sign_in("ava@example.com", "wrong-password-1", ip="10.3.3.3")
    with pytest.raises(RateLimited):
        login("ava@example.com", PASSWORD, ip="10.4.4.4")


def test_counters_are_independent_per_account(tight_limits, clock):
    make_user(email="ava@example.com")
    make_user(email="bob@example.com")
    for n in range(3):
        _fail(ip=f"10.0.1.{n}")
    with pytest.raises(RateLimited):
        login("ava@example.com", PASSWORD, ip="10.0.1.9")
    assert login("bob@example.com", PASSWORD, ip="10.0.2.2").access_token  # Bob is unaffected


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


FIRST_LIMITERS = """
import sys, threading
from backend.auth.ratelimit import get_rate_limiter
assert "redis" not in sys.modules
failures = []
def build():
    try:
        get_rate_limiter()
    except Exception as exc:
        failures.append(repr(exc))
threads = [threading.Thread(target=build) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(failures)
"""


def test_a_fresh_process_serves_its_first_concurrent_requests_with_the_redis_limiter(redis_settings: str,
                                                                                       tmp_path) -> None:
    """Request threads of a fresh web process build the limiter at once: none may see the lazily imported Redis
    client half-imported."""
    import os
    import subprocess
    import sys

    from tests.bench.run import ROOT

    env = os.environ | {"REDIS_URL": redis_settings, "PRIMSELL_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", FIRST_LIMITERS], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "[]"
