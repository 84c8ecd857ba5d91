"""Rate limits for sign-in, refresh and the API, per IP and per account, using the `limits` library.

Counters live in memory by default and in Redis when REDIS_URL is set, so that several web processes
share them. A refused hit raises RateLimited with the seconds until the window lets the caller in again.

Every per-IP limit counts the client's network (`client_network`: an IPv6 client's whole /64), under a fixed bucket
name (`network_key`), so that one subscriber's many addresses share one budget.

Sign-in is limited per client network in a moving window (every attempt, taken before the password is checked, so
that a parallel burst cannot slip past before its failures are counted), and per account as an exponential back-off
(`LoginThrottle`) rather than a lock: after LOGIN_BACKOFF_AFTER_FAILURES failures each further attempt waits 1, 2,
4, ... seconds, never more than LOGIN_BACKOFF_MAX_S, so whoever guesses at an account cannot keep its owner out
for long, and one success forgets the failures.
"""

from __future__ import annotations

import math
import threading
import time
from functools import lru_cache

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from backend.auth.client_ip import client_network
from backend.errors import RateLimited
from backend.settings import get_settings


class RateLimiter:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._limiter = MovingWindowRateLimiter(storage)

    def hit(self, rule: str, *keys: str) -> None:
        """Count one attempt under `rule` for each key; refuse if any key is over its limit. Checking and counting
        are one step, so concurrent callers cannot all pass a check before any of them is counted."""
        item: RateLimitItem = parse(rule)
        refused, refused_for = False, 0
        for key in keys:
            if not self._limiter.hit(item, key):
                refused = True  # even when the window resets this very second (refused_for rounds to 0)
                reset_at = self._limiter.get_window_stats(item, key).reset_time
                refused_for = max(refused_for, math.ceil(reset_at - time.time()))
        if refused:
            raise RateLimited(refused_for)

    def clear(self, rule: str, *keys: str) -> None:
        item = parse(rule)
        for key in keys:
            self._limiter.clear(item, key)

    def reset(self) -> None:
        self.storage.reset()


_storage_lock = threading.Lock()


@lru_cache(maxsize=1)
def get_rate_limiter() -> RateLimiter:
    redis_url = get_settings().redis_url
    # One storage built at a time: `limits` imports the Redis client lazily and reads its version from sys.modules,
    # so a second request thread building one meanwhile saw the module half-imported ("minimum version of 3.0 for
    # 'redis' could not be found") on a fresh process's first concurrent checkouts.
    with _storage_lock:
        storage = storage_from_string(redis_url) if redis_url else MemoryStorage()
    return RateLimiter(storage)


def network_key(bucket: str, ip: str) -> str:
    """The counter of a per-IP limit: its fixed `bucket` name (never the rule's text, which two limits may share)
    and the client's network, so that fresh addresses from one IPv6 /64 do not buy fresh budgets."""
    return f"{bucket}:{client_network(ip)}"


def limit_per_network(rule: str, bucket: str, ip: str) -> None:
    """Count one request from `ip`'s network in `bucket` under `rule`; RateLimited when over it."""
    get_rate_limiter().hit(rule, network_key(bucket, ip))


WAIT_KEY_SLACK_S = 60


def clock() -> float:
    """Seconds since the epoch (the back-off's clock; tests move it)."""
    return time.time()


class LoginThrottle:
    """Sign-in attempts per client network (a moving window) and failures per account (exponential back-off)."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter
        self.storage = limiter.storage

    def before_attempt(self, account: str, ip: str) -> None:
        """Refuse (RateLimited, with the seconds to wait) an attempt that must wait; otherwise count it, against its
        network and as an account failure until `succeeded` says otherwise. Counting comes first (the network's
        `hit` checks and counts at once) so that attempts racing each other are counted before their slow password
        checks finish: a parallel burst from one network gets no more than its limit."""
        settings = get_settings()
        failures_key = f"login:fail:{account}"
        failures = self.storage.get(failures_key)
        if failures >= settings.login_backoff_after_failures:
            # The key holds when the wait ends (ms since the epoch); it expires with the wait.
            wait_ms = self.storage.get(f"login:wait:{account}:{failures}") - clock() * 1000
            if wait_ms >= 1:
                raise RateLimited(math.ceil(wait_ms / 1000))
        self.limiter.hit(settings.login_rate_per_ip, network_key("login:ip", ip))
        failures = self.storage.incr(failures_key, settings.login_failure_window_s)
        if failures >= settings.login_backoff_after_failures:
            delay = min(2 ** min(failures - settings.login_backoff_after_failures, 30), settings.login_backoff_max_s)
            wait_key = f"login:wait:{account}:{failures}"
            self.storage.clear(wait_key)  # incr adds: never onto the end of an older wait
            # The key's expiry only collects it; the stored end time decides (slack for slow clocks under load).
            self.storage.incr(wait_key, delay + WAIT_KEY_SLACK_S, amount=int((clock() + delay) * 1000))

    def succeeded(self, account: str) -> None:
        self.storage.clear(f"login:fail:{account}")


def get_login_throttle() -> LoginThrottle:
    return LoginThrottle(get_rate_limiter())
