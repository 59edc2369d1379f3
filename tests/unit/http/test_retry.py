"""The one retry loop (calsink.http.retry.Retrying) that deliveries, look-ups, reads of
Cal.com and the response webhook share: how many attempts, and how long between them."""

from __future__ import annotations

import pytest

from calsink.http.retry import Attempt, Backoff, Retrying, RetryPolicy

STEADY = Backoff(initial_s=0.5, max_s=3.0, jitter_s=0.0)


def test_failures_are_spaced_by_the_backoff_up_to_its_cap_and_end_at_max_attempts() -> None:
    attempts = Retrying(RetryPolicy(STEADY, max_attempts=5))
    seen: list[Attempt] = []
    for attempt in attempts:
        seen.append(attempt)
        attempts.failed()
    assert [a.number for a in seen] == [1, 2, 3, 4, 5]
    assert [a.delay for a in seen] == [0.0, 0.5, 1.0, 2.0, 3.0]
    assert all(a.follows_failure for a in seen[1:])
    assert attempts.exhausted and attempts.failures == 5


def test_a_429_waits_for_the_rate_limiter_when_it_holds_requests_back() -> None:
    attempts = Retrying(RetryPolicy(STEADY, max_attempts=2, max_throttled=3))
    delays = []
    for step, attempt in enumerate(attempts):
        delays.append(attempt.delay)
        if step == 0:
            attempts.throttled(wait=4.0)  # Retry-After: the limiter waits, no backoff on top
        elif step == 1:
            attempts.throttled(wait=None)  # no hint: the backoff spaces the retry
        else:
            break
    assert delays == [0.0, 0.0, 1.0]  # the second 429 in a row: the second backoff step
    assert attempts.failures == 0 and attempts.throttles == 2


def test_429s_count_apart_from_failures() -> None:
    attempts = Retrying(RetryPolicy(STEADY, max_attempts=1, max_throttled=2))
    count = 0
    for _ in attempts:
        count += 1
        attempts.throttled(wait=1.0)
    assert count == 3  # the first, then two throttled retries; the third 429 ends it
    assert attempts.exhausted and attempts.failures == 0


def test_the_first_attempt_is_always_made() -> None:
    attempts = Retrying(RetryPolicy(STEADY, max_attempts=0))
    numbers = []
    for attempt in attempts:
        numbers.append(attempt.number)
        attempts.failed()
    assert numbers == [1]


def test_an_attempt_left_untold_is_a_mistake_not_a_silent_end() -> None:
    attempts = Retrying(RetryPolicy(STEADY, max_attempts=3))
    next(attempts)
    with pytest.raises(RuntimeError, match="without failed"):
        next(attempts)
