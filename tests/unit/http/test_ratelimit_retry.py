"""The limiter's pacing on a fake clock, and the retry policy."""

from __future__ import annotations

import pytest

from calsink.http.ratelimit import RateLimiter, reset_seconds
from calsink.http.retry import Backoff, Verdict, classify_status, may_have_taken_effect
from calsink.http.transport import TransportError

pytestmark = pytest.mark.anyio


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)


def headers(limit: int, remaining: int, reset: int) -> dict[str, str]:
    return {
        "x-ratelimit-limit-default": str(limit),
        "x-ratelimit-remaining-default": str(remaining),
        "x-ratelimit-reset-default": str(reset),
    }


async def test_auto_spreads_the_remaining_budget_over_the_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, burst=1, clock=clock, sleep=clock.sleep)
    start = clock.now
    sent: list[float] = []
    remaining = 600
    window_end = start + 60
    for _ in range(1800):  # three windows of a server that allows 600 per 60 s
        await limiter.acquire()
        if clock.now >= window_end:
            remaining, window_end = 600, window_end + 60
        assert remaining > 0, "the limiter sent into an exhausted window"
        remaining -= 1
        sent.append(clock.now)
        limiter.observe(201, headers(600, remaining, max(1, int(window_end - clock.now))))
    elapsed = sent[-1] - start
    assert elapsed < 60 * 3 * 1.1, f"1800 requests at 600/min took {elapsed:.0f} s"


async def test_a_429_holds_every_request_until_retry_after() -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, burst=4, clock=clock, sleep=clock.sleep)
    await limiter.acquire()
    wait = limiter.observe(429, {"retry-after": "7"})
    assert wait == 7
    before = clock.now
    await limiter.acquire()
    assert clock.now - before >= 7


async def test_a_fixed_rate_is_a_steady_pace() -> None:
    clock = FakeClock()
    limiter = RateLimiter(120, burst=1, clock=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(121):
        await limiter.acquire()
        limiter.observe(200, {})
    assert 59.0 <= clock.now - start <= 61.0


async def test_nothing_is_sent_when_the_headers_say_no_budget_is_left() -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, burst=8, clock=clock, sleep=clock.sleep)
    await limiter.acquire()
    limiter.observe(200, headers(120, 0, 30))
    before = clock.now
    await limiter.acquire()
    assert clock.now - before >= 30


def test_reset_header_units() -> None:
    assert reset_seconds(42, now_epoch=0) == 42
    assert reset_seconds(42_000, now_epoch=0) == 42
    assert reset_seconds(2_000_000_042, now_epoch=2_000_000_000) == 42


def test_retry_classification() -> None:
    assert classify_status(201) is Verdict.DELIVERED
    assert classify_status(401) is Verdict.ABORT_AUTH
    assert classify_status(429) is Verdict.THROTTLED
    assert all(classify_status(s) is Verdict.RETRY for s in (500, 502, 503, 504, 408))
    assert all(classify_status(s) is Verdict.FAILED for s in (400, 403, 404, 409, 422))
    assert may_have_taken_effect(503) and not may_have_taken_effect(429)
    assert not may_have_taken_effect(
        None, TransportError("connection", "refused", maybe_sent=False)
    )
    assert may_have_taken_effect(None, TransportError("timeout", "30 s", maybe_sent=True))


def test_backoff_grows_and_is_capped() -> None:
    backoff = Backoff(initial_s=0.5, max_s=4.0, jitter_s=0.1)
    delays = [backoff.delay(n) for n in range(1, 8)]
    assert 0.5 <= delays[0] <= 0.6
    assert 1.0 <= delays[1] <= 1.1
    assert all(d <= 4.0 for d in delays) and delays[-1] >= 3.9
