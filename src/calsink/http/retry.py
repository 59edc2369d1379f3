"""What is worth sending again, and how long to wait before doing so.

Retried: 429 (after Retry-After / the reset), 5xx, 408, timeouts and dropped
connections. Never retried: the other 4xx. A 401 aborts the whole run, since a wrong
key would fail on every record.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
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
