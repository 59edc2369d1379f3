"""Pacing requests so that a long run uses Cal.com's whole budget without provoking 429s.

Cal.com answers every throttled request with ``X-RateLimit-Limit-Default``,
``X-RateLimit-Remaining-Default`` and ``X-RateLimit-Reset-Default`` (CONTRACT.md §0.4).
`RateLimiter` spreads the remaining budget over the time left to the reset, keeps the
requests still in flight out of that budget, never sends when it believes nothing
remains, and after a 429 holds every worker until Retry-After / the reset has passed
(a 429 without Retry-After while the headers still show budget left holds them for
1, 2, 4, ... seconds instead).

``auto`` starts from Cal.com's default for the credential (120 per 60 s for an API key,
500 for an OAuth access token) until the first answer tells otherwise; a fixed per-minute
rate paces at exactly that rate (a token bucket) while still respecting what the headers
say.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

DEFAULT_LIMIT = 120
DEFAULT_WINDOW_S = 60.0
MAX_WAIT_S = 3600.0

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


def _header(headers: Mapping[str, str], name: str) -> float | None:
    return _number(headers.get(name))


def _number(value: str | None) -> float | None:
    """A header's number; None when absent or not a finite number."""
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def reset_seconds(value: float, *, now_epoch: float) -> float:
    """Seconds until a reset given as seconds-to-reset, milliseconds, or an epoch stamp.

    Cal.com's unit is not documented (CONTRACT.md §0.4 ⚠️): a value up to 3600 is read as
    seconds to wait, up to 10^9 as milliseconds, beyond that as an epoch time (seconds,
    or milliseconds past 10^12).
    """
    if value <= 3600:
        return max(0.0, value)
    if value < 1e9:
        return value / 1000.0
    if value < 1e12:
        return max(0.0, value - now_epoch)
    return max(0.0, value / 1000.0 - now_epoch)


def retry_after_seconds(headers: Mapping[str, str], *, now_epoch: float) -> float | None:
    """The wait a 429 asks for: Retry-After (seconds), else the reset header."""
    after = _header(headers, "retry-after")
    if after is not None:
        return max(0.0, after)
    reset = _header(headers, "x-ratelimit-reset-default")
    if reset is not None:
        return reset_seconds(reset, now_epoch=now_epoch)
    return None


@dataclass(frozen=True, slots=True)
class Budget:
    """What the limiter currently believes: requests left and when the window resets."""

    limit: int
    remaining: float
    resets_in_s: float
    in_flight: int


class RateLimiter:
    """An async pacer shared by every worker of a run.

    ``per_minute=None`` is ``auto``, starting from ``default_limit`` per minute (the
    credential's budget). ``burst`` is how many requests may leave back to back (usually
    the concurrency); past it requests are spaced evenly. ``clock`` and ``sleep`` are
    injectable so that tests can run on a fake clock.
    """

    def __init__(
        self,
        per_minute: int | None = None,
        *,
        burst: int = 1,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        epoch: Clock = time.time,
        default_limit: int = DEFAULT_LIMIT,
    ) -> None:
        self._fixed = per_minute
        self._clock = clock
        self._sleep = sleep
        self._epoch = epoch
        self._burst = max(1, burst)
        now = clock()
        self._limit = per_minute if per_minute is not None else default_limit
        self._window = DEFAULT_WINDOW_S
        self._remaining: float = float(self._limit)
        self._reset_at = now + self._window
        self._tokens = float(self._burst)
        self._refilled_at = now
        self._blocked_until = now
        self._in_flight = 0
        self._early_throttles = 0
        self._lock = asyncio.Lock()
        self.throttled = 0

    def budget(self) -> Budget:
        now = self._clock()
        return Budget(self._limit, self._remaining, max(0.0, self._reset_at - now), self._in_flight)

    def blocked_for_s(self) -> float:
        """How long no request may leave: Cal.com's budget is spent, or a 429 asked to wait
        (0.0 when requests are only being paced)."""
        now = self._clock()
        if now < self._blocked_until:
            return self._blocked_until - now
        if self._remaining < 1 and now < self._reset_at:
            return self._reset_at - now
        return 0.0

    def _rate(self, now: float) -> float:
        """Requests per second allowed now."""
        if self._fixed is not None:
            return self._fixed / 60.0
        left = max(self._reset_at - now, 0.001)
        spread = max(self._remaining, 0.0) / left
        return max(spread, self._limit / self._window)

    def _roll_window(self, now: float) -> None:
        if now >= self._reset_at:
            self._remaining = float(self._limit)
            self._reset_at = now + self._window

    def try_acquire(self) -> bool:
        """`acquire` when a request may leave at once (True); False when it must wait."""
        return not self._lock.locked() and self._take(self._clock()) == 0.0

    async def acquire(self) -> None:
        """Wait until a request may leave; the caller must then call `observe` or `release`."""
        if self.try_acquire():
            return
        async with self._lock:
            while (wait := self._take(self._clock())) > 0.0:
                await self._sleep(wait)

    def _take(self, now: float) -> float:
        """Let one request leave now (0.0), or say how long to wait before asking again."""
        if now < self._blocked_until:
            return self._blocked_until - now
        self._roll_window(now)
        if self._remaining < 1:
            return max(self._reset_at - now, 0.01)
        rate = self._rate(now)
        self._tokens = min(float(self._burst), self._tokens + (now - self._refilled_at) * rate)
        self._refilled_at = now
        if self._tokens < 1 - 1e-9:
            return max((1 - self._tokens) / rate, 0.001)
        self._tokens -= 1
        self._remaining -= 1
        self._in_flight += 1
        return 0.0

    def release(self) -> None:
        """A request that got no answer (its budget stays spent: the server may have counted it)."""
        self._in_flight = max(0, self._in_flight - 1)

    def observe(self, status: int, headers: Mapping[str, str]) -> float | None:
        """Learn from an answer; return how long a 429 asks everyone to wait, if it was one."""
        if self._in_flight > 0:
            self._in_flight -= 1
        now = self._clock()
        get = headers.get
        limit = _number(get("x-ratelimit-limit-default"))
        remaining = _number(get("x-ratelimit-remaining-default"))
        reset = _number(get("x-ratelimit-reset-default"))
        if limit is not None and limit >= 1:
            self._limit = int(limit)
        if reset is not None:
            # The usual reset (seconds to wait) needs no wall clock.
            seconds = reset if 0 <= reset <= 3600 else reset_seconds(reset, now_epoch=self._epoch())
            left = min(seconds, MAX_WAIT_S)
            self._reset_at = now + left
            if left > self._window:
                self._window = left
        if remaining is not None:
            # What the server counted, less what left after this request and is unanswered.
            self._remaining = max(0.0, remaining) - self._in_flight
        if status != 429:
            self._early_throttles = 0
            return None
        self.throttled += 1
        if _header(headers, "retry-after") is None and remaining is not None and remaining >= 1:
            # Refused with budget left and no Retry-After: not the window, so waiting for
            # its reset (up to a minute) would stall the run; back off briefly instead.
            self._early_throttles += 1
            brief = min(2.0 ** (self._early_throttles - 1), max(self._reset_at - now, 1.0))
            self._blocked_until = max(self._blocked_until, now + brief)
            return brief
        asked = retry_after_seconds(headers, now_epoch=self._epoch())
        wait = min(max(self._reset_at - now, 1.0) if asked is None else asked, MAX_WAIT_S)
        self._blocked_until = max(self._blocked_until, now + wait)
        self._remaining = 0.0
        self._reset_at = now + wait
        return wait
