"""The marketplace read budget: a token bucket per source, Retry-After and X-RateLimit-* headers."""

from __future__ import annotations

import httpx
import pytest

from backend.sales.throttle import RequestRefused, ServerError, Throttled, TokenBucket, check_response


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def bucket(clock: Clock, per_minute: int = 120, capacity: float = 2) -> TokenBucket:
    return TokenBucket(per_minute / 60, capacity, clock=clock, sleep=clock.sleep)


def test_bucket_allows_a_burst_then_paces_reads_at_the_rate() -> None:
    clock = Clock()
    reads = bucket(clock)
    assert reads.take(0) and reads.take(0)  # the burst
    assert not reads.take(0.1)  # the next token is 0.5 s away: more than this caller may wait
    assert reads.take(1)
    assert clock.slept == [pytest.approx(0.5)]


def test_retry_after_blocks_the_bucket_and_says_how_long() -> None:
    clock = Clock()
    reads = bucket(clock)
    with pytest.raises(Throttled) as caught:
        check_response("OpenSea", httpx.Response(429, headers={"Retry-After": "7"}), reads)
    assert caught.value.retry_after_s == 7
    assert reads.wait_needed() == pytest.approx(7)
    with pytest.raises(Throttled) as capped:
        check_response("OpenSea", httpx.Response(429, headers={"Retry-After": "86400"}), reads)
    assert capped.value.retry_after_s == 300  # at most five minutes, as OpenSea's own SDK


def test_rate_limit_headers_empty_the_bucket_until_the_window_resets() -> None:
    clock = Clock()
    reads = bucket(clock, capacity=10)
    check_response("OpenSea", httpx.Response(200, headers={"X-RateLimit-Remaining": "1"}), reads)
    assert reads.tokens == 1
    check_response("OpenSea", httpx.Response(200, headers={"X-RateLimit-Remaining": "0",
                                                          "X-RateLimit-Reset": "20"}), reads)
    assert reads.wait_needed() == pytest.approx(20)


def test_errors_are_told_apart() -> None:
    reads = bucket(Clock())
    with pytest.raises(ServerError):
        check_response("Rarible", httpx.Response(502), reads)
    with pytest.raises(RequestRefused, match="Invalid API key"):
        check_response("OpenSea", httpx.Response(401, json={"detail": "Invalid API key"}), reads)
