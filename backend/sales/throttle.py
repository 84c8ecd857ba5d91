"""Reading marketplace APIs politely: a token bucket per source (OpenSea allows about 120 reads a minute per
account, shared by all its keys), `Retry-After` on 429s and the `X-RateLimit-*` headers, and the errors the
clients raise."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

from backend.settings import get_settings

MAX_RETRY_AFTER_S = 300.0  # OpenSea's SDK caps Retry-After at 5 minutes too
DEFAULT_RETRY_AFTER_S = 60.0


class MarketplaceError(Exception):
    """A marketplace request failed; the message says how (never the API key)."""


class Throttled(MarketplaceError):
    """429 (or 599): do not ask again before `retry_after_s`."""

    def __init__(self, source: str, retry_after_s: float) -> None:
        super().__init__(f"{source} rate limited; retry after {retry_after_s:g} s")
        self.retry_after_s = retry_after_s


class ServerError(MarketplaceError):
    """5xx or unreachable: worth trying again later."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RequestRefused(MarketplaceError):
    """4xx other than 429 (bad key, unknown collection, bad request): trying again will not help by itself."""


class MalformedEvent(ValueError):
    """One event of a page is unusable; it is logged and skipped, the rest of the page goes on."""


@dataclass
class TokenBucket:
    """`rate_per_s` tokens a second up to `capacity`; `take(max_wait_s)` waits for one or says it cannot."""

    rate_per_s: float
    capacity: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    tokens: float = field(init=False)
    updated: float = field(init=False)
    blocked_until: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.tokens = self.capacity
        self.updated = self.clock()

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate_per_s)
        self.updated = now

    def wait_needed(self) -> float:
        with self.lock:
            now = self.clock()
            self._refill(now)
            blocked = max(0.0, self.blocked_until - now)
            short = 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate_per_s
            return max(blocked, short)

    def take(self, max_wait_s: float) -> bool:
        """One token, waiting up to `max_wait_s` for it; False (nothing taken) if that is not enough."""
        wait = self.wait_needed()
        if wait > max_wait_s:
            return False
        if wait > 0:
            self.sleep(wait)
        with self.lock:
            self._refill(self.clock())
            self.tokens -= 1  # may go slightly negative under contention: the next caller waits longer
        return True

    def block_for(self, seconds: float) -> None:
        with self.lock:
            self.blocked_until = max(self.blocked_until, self.clock() + seconds)

    def limit_remaining(self, remaining: int) -> None:
        """The server says only `remaining` reads are left in its window: never believe we have more."""
        with self.lock:
            self._refill(self.clock())
            self.tokens = min(self.tokens, float(remaining))


_buckets: dict[str, TokenBucket] = {}
_buckets_lock = threading.Lock()


def bucket_for(source: str, reads_per_minute: int) -> TokenBucket:
    """The process's bucket of `source` (created at the configured rate; a burst of at most 10 reads)."""
    with _buckets_lock:
        bucket = _buckets.get(source)
        rate = reads_per_minute / 60.0
        if bucket is None or bucket.rate_per_s != rate:
            bucket = _buckets[source] = TokenBucket(rate, min(10.0, max(1.0, float(reads_per_minute))))
        return bucket


def reset_buckets() -> None:
    with _buckets_lock:
        _buckets.clear()


def retry_after_s(response: httpx.Response) -> float:
    try:
        value = float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return DEFAULT_RETRY_AFTER_S
    return min(MAX_RETRY_AFTER_S, max(0.0, value))


def _reset_seconds(value: str, now_epoch: float) -> float | None:
    """X-RateLimit-Reset: seconds from now, or a unix time (large values)."""
    try:
        number = float(value.rstrip("s"))
    except ValueError:
        return None
    return max(0.0, number - now_epoch) if number > 1e9 else number


def observe_limits(bucket: TokenBucket, response: httpx.Response) -> None:
    """Fold the X-RateLimit-* headers of any answer into the bucket."""
    remaining = response.headers.get("X-RateLimit-Remaining")
    if remaining is None:
        return
    try:
        left = int(float(remaining))
    except ValueError:
        return
    bucket.limit_remaining(left)
    if left <= 0:
        reset = response.headers.get("X-RateLimit-Reset") or response.headers.get("X-RateLimit-Window") or "60"
        seconds = _reset_seconds(reset, time.time())
        bucket.block_for(min(MAX_RETRY_AFTER_S, seconds if seconds is not None else DEFAULT_RETRY_AFTER_S))


def check_response(source: str, response: httpx.Response, bucket: TokenBucket) -> None:
    """Raise the error an answer means (after noting its rate-limit headers)."""
    observe_limits(bucket, response)
    status = response.status_code
    if status in (429, 599):
        wait = retry_after_s(response)
        bucket.block_for(wait)
        raise Throttled(source, wait)
    if status >= 500:
        raise ServerError(f"{source} answered HTTP {status}", status)
    if status >= 400:
        raise RequestRefused(f"{source} refused the request: HTTP {status} {_detail(response)}".strip())


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        for key in ("detail", "message", "errors", "error"):
            if key in body:
                return str(body[key])[:200]
    return ""


class MarketplaceClient:
    """What both marketplace clients share: the base URL and key, an HTTP client, the source's token bucket, and one
    request that waits its turn, honours one `Retry-After` within the run, and answers parsed JSON or raises one of
    the errors above. `http` is injectable (tests pass a client for their local fake server)."""

    label = "Marketplace"  # how messages name the source ("OpenSea")

    def __init__(self, source: str, base_url: str, api_key: SecretStr | None, reads_per_minute: int,
                 http: httpx.Client | None) -> None:
        settings = get_settings()
        self.source = source
        self.base_url = base_url.rstrip("/")
        self.http = http or httpx.Client(timeout=settings.marketplace_timeout_s)
        self._headers = {"X-API-KEY": api_key.get_secret_value() if api_key else "", "Accept": "application/json"}
        self.bucket = bucket_for(source, reads_per_minute)
        self.max_wait_s = settings.marketplace_max_wait_s

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        for attempt in range(2):
            if not self.bucket.take(self.max_wait_s):
                raise Throttled(self.source, self.bucket.wait_needed())
            try:
                response = self.http.request(method, f"{self.base_url}{path}", headers=self._headers, **kwargs)
            except httpx.HTTPError as exc:
                raise ServerError(f"{self.label} unreachable: {type(exc).__name__}") from exc
            try:
                check_response(self.label, response, self.bucket)
            except Throttled:
                if attempt == 0 and self.bucket.wait_needed() <= self.max_wait_s:
                    continue  # honour Retry-After once within this run; `take` waits it out
                raise
            try:
                return response.json()
            except ValueError as exc:
                raise ServerError(f"{self.label} sent malformed JSON (HTTP {response.status_code})") from exc
        raise AssertionError("unreachable")
