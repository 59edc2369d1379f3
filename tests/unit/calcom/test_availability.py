"""check_availability: a taken slot is rejected without a booking request; a free one passes."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qsl

import pytest
from tests.readside.helpers import book, render

from calsink.calcom.availability import AvailabilityChecker
from calsink.calcom.client import CalcomReader
from calsink.http.transport import Transport
from calsink.records import Rejection, Request
from support.sandbox import SandboxHandle

pytestmark = pytest.mark.e2e


def create(sandbox: SandboxHandle, start: str, event_type: int = 1, email: str = "li@example.com"):
    record = {
        "start": start,
        "eventTypeId": event_type,
        "attendee": {"name": "Li Wei", "email": email, "timeZone": "Asia/Shanghai"},
    }
    return render(sandbox, "create-booking", record)


def check_all(
    sandbox: SandboxHandle, requests: list[Request]
) -> tuple[list[Any], AvailabilityChecker]:
    async def main() -> tuple[list[Any], AvailabilityChecker]:
        async with CalcomReader(sandbox.url, sandbox.api_key) as reader:
            checker = AvailabilityChecker(reader)
            found = await asyncio.gather(*(checker.check(r) for r in requests))
            return list(found), checker

    return asyncio.run(main())


def send(sandbox: SandboxHandle, request: Request) -> int:
    async def main() -> int:
        async with Transport(sandbox.api_key) as transport:
            answer = await transport.send(
                request.method, request.url, headers=request.headers, body=request.body
            )
            return answer.status

    return asyncio.run(main())


def slot_and_booking_requests(sandbox: SandboxHandle) -> tuple[list[dict], list[dict]]:
    log = sandbox.requests()
    slots = [r for r in log if r["path"] == "/v2/slots"]
    posts = [r for r in log if r["method"] == "POST" and r["path"].startswith("/v2/bookings")]
    return slots, posts


def test_the_taken_slot_is_rejected_unsent_and_the_free_one_is_booked(
    sandbox: SandboxHandle,
) -> None:
    book(sandbox, "2030-01-07T14:00:00Z", email="first@example.com")
    taken = create(sandbox, "2030-01-07T14:00:00Z")
    free = create(sandbox, "2030-01-07T15:00:00Z", email="second@example.com")
    sandbox.clear_requests()

    (on_taken, on_free), checker = check_all(sandbox, [taken, free])

    assert on_free is None
    assert isinstance(on_taken, Rejection)
    assert on_taken.field == "start"
    assert str(on_taken.position) == "records.jsonl:1"
    assert "2030-01-07T14:00:00Z: slot not available" in on_taken.reason
    assert "event type 1" in on_taken.reason
    assert (
        "nearest free slots: 2030-01-07T14:30:00Z, 2030-01-07T15:00:00Z, 2030-01-07T15:30:00Z"
        in (on_taken.reason)
    )
    slots, posts = slot_and_booking_requests(sandbox)
    assert len(slots) == 1 and checker.slot_requests == 1  # one look-up for the shared day
    assert posts == []

    assert send(sandbox, free) == 201
    starts = {b["start"][:19] for b in sandbox.state()["bookings"]}
    assert starts == {"2030-01-07T14:00:00", "2030-01-07T15:00:00"}


def test_days_are_cached_per_event_type(sandbox: SandboxHandle) -> None:
    requests = [
        create(sandbox, "2030-01-07T14:00:00Z", 1, "a@example.com"),
        create(sandbox, "2030-01-07T16:00:00Z", 1, "b@example.com"),
        create(sandbox, "2030-01-08T14:00:00Z", 1, "c@example.com"),
        create(sandbox, "2030-01-07T14:00:00Z", 2, "d@example.com"),
    ]
    sandbox.clear_requests()

    found, checker = check_all(sandbox, requests)

    assert found == [None, None, None, None]
    slots, _ = slot_and_booking_requests(sandbox)
    asked = sorted(
        (query["eventTypeId"], query["start"][:10])
        for query in (dict(parse_qsl(r["query"])) for r in slots)
    )
    assert asked == [("1", "2030-01-07"), ("1", "2030-01-08"), ("2", "2030-01-07")]
    assert checker.slot_requests == 3


def test_a_start_outside_working_hours_names_the_next_free_slots(sandbox: SandboxHandle) -> None:
    saturday = create(sandbox, "2030-01-05T15:00:00Z")

    (found,), _ = check_all(sandbox, [saturday])

    assert isinstance(found, Rejection)
    assert "2030-01-05T15:00:00Z: slot not available" in found.reason
    assert "nearest free slots: 2030-01-04T" in found.reason  # Friday's last slots


def test_an_unknown_event_type_is_rejected_with_cal_coms_reason(sandbox: SandboxHandle) -> None:
    (found,), _ = check_all(sandbox, [create(sandbox, "2030-01-07T15:00:00Z", 999)])

    assert isinstance(found, Rejection)
    assert "event type 999" in found.reason
    assert "404" in found.reason


def test_a_reschedule_may_keep_its_own_time_but_not_take_another(sandbox: SandboxHandle) -> None:
    mine = book(sandbox, "2030-01-07T14:00:00Z", email="mine@example.com")
    book(sandbox, "2030-01-07T16:00:00Z", email="other@example.com")
    same_time = render(
        sandbox, "reschedule-booking", {"start": "2030-01-07T14:00:00Z"}, uid=mine["uid"]
    )
    onto_other = render(
        sandbox, "reschedule-booking", {"start": "2030-01-07T16:00:00Z"}, uid=mine["uid"]
    )
    to_free = render(
        sandbox, "reschedule-booking", {"start": "2030-01-07T18:00:00Z"}, uid=mine["uid"]
    )
    unknown = render(
        sandbox, "reschedule-booking", {"start": "2030-01-07T18:00:00Z"}, uid="no-such-booking"
    )
    sandbox.clear_requests()

    found, _ = check_all(sandbox, [same_time, onto_other, to_free, unknown])

    assert found[0] is None
    assert isinstance(found[1], Rejection)
    assert "2030-01-07T16:00:00Z: slot not available" in found[1].reason
    assert found[2] is None
    assert isinstance(found[3], Rejection) and "does not know" in found[3].reason
    _, posts = slot_and_booking_requests(sandbox)
    assert posts == []
