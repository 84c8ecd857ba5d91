"""Rate limits for sign-in, refresh and the API, per IP and per account, using the `limits` library.

Counters live in memory by default and in Redis when REDIS_URL is set, so that several web processes
share them. A refused hit raises RateLimited with the seconds until the window lets the caller in again.
"""

from __future__ import annotations

import math
import time
from functools import lru_cache

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from backend.errors import RateLimited
from backend.settings import get_settings


class RateLimiter:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._limiter = MovingWindowRateLimiter(storage)

    def hit(self, rule: str, *keys: str) -> None:
        """Count one attempt under `rule` for each key; refuse if any key is over its limit."""
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


@lru_cache(maxsize=1)
def get_rate_limiter() -> RateLimiter:
    redis_url = get_settings().redis_url
    storage = storage_from_string(redis_url) if redis_url else MemoryStorage()
    return RateLimiter(storage)
