"""PreSendChecks over a run's own transport and limiter: guards first, then availability."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tests.readside.helpers import book, render

from calsink.calcom.checks import PreSendChecks
from calsink.calcom.client import CalcomReader, CalcomReadError
from calsink.http.ratelimit import RateLimiter
from calsink.http.retry import Backoff
from calsink.http.transport import Transport
from calsink.presend import AlreadyDone, KeyRefused
from calsink.records import Rejection, Request
from support.sandbox import SandboxHandle

pytestmark = pytest.mark.e2e


def run_checks(
    sandbox: SandboxHandle, requests: list[Request], *, api_key: str | None = None
) -> tuple[list[Any], PreSendChecks]:
    async def main() -> tuple[list[Any], PreSendChecks]:
        limiter = RateLimiter(None, burst=4)
        async with Transport(api_key or sandbox.api_key) as transport:
            checks = PreSendChecks.for_run(
                sandbox.url, transport, limiter, check_availability=True, max_attempts=2
            )
            checks.reader.backoff = Backoff(initial_s=0.01, max_s=0.02, jitter_s=0.0)
            found = [await checks.check(r) for r in requests]
            return found, checks

    return asyncio.run(main())


def test_a_reschedule_of_a_cancelled_booking_is_refused_before_any_slot_look_up(
    sandbox: SandboxHandle,
) -> None:
    gone = book(sandbox, "2030-01-07T15:00:00Z")["uid"]
    assert (
        sandbox.call("POST", f"/v2/bookings/{gone}/cancel", {"cancellationReason": "gone"}).status
        == 200
    )
    pending = book(sandbox, "2030-01-07T16:00:00Z", event_type=2, email="p@example.com")["uid"]
    requests = [
        render(sandbox, "reschedule-booking", {"start": "2030-01-08T15:00:00Z"}, uid=gone),
        render(sandbox, "confirm-booking", {}, uid=pending),
    ]
    sandbox.clear_requests()

    (refused, passed), checks = run_checks(sandbox, requests)

    assert isinstance(refused, Rejection) and "cancelled" in refused.reason
    assert passed is None
    assert [r["path"] for r in sandbox.requests()] == [
        f"/v2/bookings/{gone}",
        f"/v2/bookings/{pending}",
    ]
    assert all(checks.applies_to(r) for r in requests)


def test_when_cal_com_cannot_be_asked_the_request_goes_out_unchecked(
    sandbox: SandboxHandle,
) -> None:
    uid = book(sandbox, "2030-01-07T15:00:00Z")["uid"]
    record = {
        "start": "2030-01-07T15:00:00Z",
        "eventTypeId": 1,
        "attendee": {"name": "X", "email": "x@example.com", "timeZone": "UTC"},
    }
    requests = [
        render(sandbox, "cancel-booking", {}, uid=uid),
        render(sandbox, "create-booking", record),
    ]
    sandbox.set_faults(
        {"rules": [{"kind": "status", "status": 503, "method": "GET", "path": "/v2/*"}]}
    )

    found, checks = run_checks(sandbox, requests)

    assert found == [None, None]
    assert checks.guard is not None and checks.guard.unchecked == 1
    assert checks.availability is not None and checks.availability.unchecked == 1
    assert sum(1 for r in sandbox.requests() if r["status"] == 503) == 4  # 2 tries each


def test_a_refused_key_is_raised_so_that_the_run_aborts(sandbox: SandboxHandle) -> None:
    request = render(sandbox, "confirm-booking", {}, uid="whatever")
    with pytest.raises(KeyRefused) as caught:
        run_checks(sandbox, [request], api_key="cal_test_not_the_key")
    cause = caught.value.__cause__
    assert isinstance(cause, CalcomReadError) and cause.auth_failed
    assert "cal_test_not_the_key" not in str(caught.value)


def test_already_confirmed_is_told_apart_from_a_rejection(sandbox: SandboxHandle) -> None:
    uid = book(sandbox, "2030-01-07T15:00:00Z")["uid"]
    (found,), _ = run_checks(sandbox, [render(sandbox, "confirm-booking", {}, uid=uid)])
    assert isinstance(found, AlreadyDone) and found.status == "accepted"


def test_a_reader_of_its_own_paces_and_closes(sandbox: SandboxHandle) -> None:
    async def main() -> int:
        async with CalcomReader(sandbox.url, sandbox.api_key) as reader:
            found = [b async for b in reader.iter_kind("me", {})]
            assert found[0]["username"] == "demo"
            return reader.requests_sent

    assert asyncio.run(main()) == 1
