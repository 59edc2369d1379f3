"""A rate limiter whose budget is shared by every worker sending with one API key.

Each request takes a token from the key's bucket in the shared ledger (`PostgresBudget`)
before it leaves, then obeys this worker's own `RateLimiter` as every run does (Cal.com's
``X-RateLimit-*`` headers, 429s, Retry-After). The bucket refills at the key's limit
(``delivery.rate_limit``, or what Cal.com's headers say, 120 a minute until they do)
times `SHARE_OF_LIMIT`, and holds at most a tenth of a second's worth (one token at
Cal.com's default 120 a minute): N workers never send a burst, they share one pace.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from calsink.http.ratelimit import RateLimiter

# Below the key's limit by a little: a bucket is steady, Cal.com counts in fixed windows
# whose edges it does not tell, and one request too many in a window is a 429.
SHARE_OF_LIMIT = 0.97
# The bucket holds this many seconds' worth of requests (at least one).
BURST_S = 0.1


class Budget(Protocol):
    def draw(self, want: int, rate_per_s: float, capacity: float) -> tuple[int, float]: ...

    def close(self) -> None: ...


class SharedRateLimiter(RateLimiter):
    """`RateLimiter` plus a token from the key's shared bucket for every request."""

    def __init__(
        self, per_minute: int | None, *, burst: int, budget: Budget, default_limit: int = 120
    ) -> None:
        super().__init__(per_minute, burst=burst, default_limit=default_limit)
        self._budget = budget
        self._tokens_in_hand = 0
        self._drawing = asyncio.Lock()

    def _shared_rate(self) -> float:
        """Requests per second the whole key allows (shared by its workers)."""
        per_s = self._fixed / 60.0 if self._fixed is not None else self._limit / self._window
        return per_s * SHARE_OF_LIMIT

    def try_acquire(self) -> bool:
        if self._tokens_in_hand < 1 or not super().try_acquire():
            return False
        self._tokens_in_hand -= 1
        return True

    async def acquire(self) -> None:
        await self._shared_token()
        if RateLimiter.try_acquire(self):
            return
        async with self._lock:
            while (wait := self._take(self._clock())) > 0.0:
                await self._sleep(wait)

    async def _shared_token(self) -> None:
        async with self._drawing:
            while self._tokens_in_hand < 1:
                rate = self._shared_rate()
                granted, wait = await asyncio.to_thread(
                    self._budget.draw, 1, rate, max(1.0, rate * BURST_S)
                )
                self._tokens_in_hand += granted
                if granted < 1:
                    await self._sleep(wait)
            self._tokens_in_hand -= 1

    def close(self) -> None:
        self._budget.close()
