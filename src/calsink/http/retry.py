"""What is worth sending again, how long to wait before doing so, and the one retry loop.

Retried: 429 (after Retry-After / the reset), 5xx, 408, timeouts and dropped
connections. Never retried: the other 4xx. A 401 aborts the whole run, since a wrong
key would fail on every record.

Every retried request (deliveries, look-ups, reads of Cal.com, the response webhook)
loops the same way::

    attempts = Retrying(RetryPolicy(backoff, max_attempts=6, max_throttled=60))
    for attempt in attempts:
        if attempt.delay:
            await asyncio.sleep(attempt.delay)
        ...send; return on an answer that settles it...
        attempts.failed()  # or attempts.throttled(wait) for a 429
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import Enum

from calsink.http.transport import TransportError


class Verdict(Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    THROTTLED = "throttled"
    FAILED = "failed"
    ABORT_AUTH = "abort-auth"


def classify_status(status: int) -> Verdict:
    """The verdict for an HTTP status."""
    if 200 <= status < 300:
        return Verdict.DELIVERED
    if status == 401:
        return Verdict.ABORT_AUTH
    if status == 429:
        return Verdict.THROTTLED
    if status >= 500 or status == 408:
        return Verdict.RETRY
    return Verdict.FAILED


def may_have_taken_effect(status: int | None, error: TransportError | None = None) -> bool:
    """Whether the server may have acted on a request that did not come back as a success.

    A 5xx after the body was sent, a timeout or a dropped connection leave that open; a
    429 and a refused connection do not.
    """
    if error is not None:
        return error.maybe_sent
    return status is not None and (status >= 500 or status == 408)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter: ``initial_s * 2**(attempt-1)`` plus up to ``jitter_s``
    of random delay, never more than ``max_s``."""

    initial_s: float = 0.5
    max_s: float = 30.0
    jitter_s: float = 0.5

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        exponent = min(max(1, attempt) - 1, 62)
        return min(self.max_s, self.initial_s * 2.0**exponent + random.uniform(0, self.jitter_s))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a request is tried: up to ``max_attempts`` failures and ``max_throttled``
    429s (counted apart), spaced by ``backoff``."""

    backoff: Backoff = field(default_factory=Backoff)
    max_attempts: int = 6
    max_throttled: int = 0


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try of a request: its number (1-based), the seconds to wait before sending it,
    and whether the try before it failed (a throttled try is not a failure)."""

    number: int
    delay: float = 0.0
    follows_failure: bool = False


_FIRST = Attempt(1)


class Retrying:
    """The attempts of one request, each with the delay to wait before it is sent.

    After each attempt the loop either leaves (an answer that settles the request) or
    says how the attempt ended: `failed` (5xx, 408, no answer: counts towards
    ``max_attempts``, the next waits the backoff) or `throttled` (a 429: counts towards
    ``max_throttled``, the next waits the backoff unless the rate limiter already holds
    requests back). The first attempt is always made; the iteration ends when either
    count is used up, and `exhausted` says so as soon as the last attempt is counted.
    """

    __slots__ = ("_next", "_policy", "failures", "throttles")

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self._next: Attempt | None = _FIRST
        self.failures = 0
        self.throttles = 0

    def __iter__(self) -> Retrying:
        return self

    def __next__(self) -> Attempt:
        attempt = self._next
        if attempt is None:
            raise RuntimeError(
                "an attempt ended without failed() or throttled(): leave the loop when done"
            )
        if attempt is not _FIRST and self.exhausted:
            raise StopIteration
        self._next = None
        return attempt

    @property
    def exhausted(self) -> bool:
        """Whether no attempt is left (too many failures, or too many 429s)."""
        policy = self._policy
        return self.failures >= policy.max_attempts or self.throttles > policy.max_throttled

    @property
    def number(self) -> int:
        """How many attempts were counted so far."""
        return self.failures + self.throttles

    def failed(self) -> None:
        """The attempt failed in a way worth retrying."""
        self.failures += 1
        delay = self._policy.backoff.delay(self.failures)
        self._next = Attempt(self.number + 1, delay, follows_failure=True)

    def throttled(self, wait: float | None = None) -> None:
        """The attempt was answered 429; ``wait`` is the rate limiter's own hold (None when
        it holds nothing, so the backoff spaces the retries)."""
        self.throttles += 1
        delay = self._policy.backoff.delay(self.throttles) if wait is None else 0.0
        self._next = Attempt(self.number + 1, delay)
