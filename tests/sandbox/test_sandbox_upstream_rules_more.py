"""More booking rules of Cal.com's API v2, each answered by the sandbox as upstream does.

Every expected answer names its source in calcom/cal.com (read at the commit given):

RESTRICTIONS    packages/features/bookings/lib/handleNewBooking/validateRescheduleRestrictions.ts
                @b42e979c, validateRescheduleRestrictions (called by RegularBookingService, which
                the API's reschedule runs), with
                packages/features/bookings/lib/reschedule/isWithinMinimumRescheduleNotice.ts
                @7bc6d11e and its tests, validateRescheduleRestrictions.test.ts@3fafbf09
TRANSFORM       apps/api/v2/src/modules/event-types (input service),
                transformInputDisableRescheduling: `disableRescheduling.minutesBefore` is stored
                as the event type's minimumRescheduleNotice; `disabled: true` clears it
SERVICE         apps/api/v2/src/platform/bookings/2024-08-13/services/bookings.service.ts@db2a5906
                (rescheduleBooking, canRescheduleBooking)
INPUT           apps/api/v2/src/platform/bookings/2024-08-13/services/input.service.ts@dd525dbf
REDIRECT        packages/features/bookings/lib/reschedule/determineReschedulePreventionRedirect.ts
                @e8e874a7: where disableRescheduling, allowReschedulingPastBookings and
                allowReschedulingCancelledBookings are enforced — the booking web pages only
GUESTS          apps/api/v2/src/platform/bookings/2024-08-13/controllers/
                booking-guests.controller.ts@0e907a82, @Throttle "booking_guests_add"
LOCATION        .../controllers/booking-location.controller.ts@0e907a82, @Throttle
                "booking_location_update"
GUARD           apps/api/v2/src/lib/throttler-guard.ts@42e7dc49, CustomThrottlerGuard
                (handleApiEndpointThrottle, incrementRateLimit)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sandbox_contract import Api

from calsink.sandbox.model import Booking
from calsink.sandbox.seed import seeded_store
from support.sandbox import MONDAY_9AM, Response, SandboxHandle, booking, message, running_sandbox

TUESDAY_10AM = "2030-01-08T15:00:00Z"
NOTICE = "Rescheduling is not allowed within the minimum notice period before the event"


def _event_type(api: Api, **settings: Any) -> int:
    spec = {"title": "Set", "slug": "set", "lengthInMinutes": 30, **settings}
    made = api("POST", "/v2/event-types", spec)
    assert made.status == 201, made.body
    return int(made.data["id"])


# -- a sandbox whose state holds a booking at a time relative to now ----------------------------

StateSandbox = Callable[..., SandboxHandle]


@pytest.fixture
def state_sandbox(tmp_path: Path) -> Iterator[StateSandbox]:
    """Starts a sandbox whose state file holds booking "held" of event type 1, starting
    ``starts_in`` from now, with ``settings`` added to event type 1."""
    handles: list[Any] = []

    def start(starts_in: timedelta, **settings: Any) -> SandboxHandle:
        store = seeded_store()
        store.event_types[1].spec.update(settings)
        begin = datetime.now(UTC).replace(microsecond=0) + starts_in
        attendee = {"name": "Ada", "email": "ada@example.com", "timeZone": "UTC", "language": "en"}
        store.counters["booking"] = 1
        store.add_booking(
            Booking(
                id=1,
                uid="held",
                event_type_id=1,
                host_id=1,
                title="30 Minute Meeting between Demo User and Ada",
                description="",
                status="accepted",
                start=begin,
                end=begin + timedelta(minutes=30),
                attendees=[attendee],
                guests=[],
                location="integrations:daily",
                metadata={},
                responses={"name": "Ada", "email": "ada@example.com"},
                created_at=begin - timedelta(days=3),
                updated_at=begin - timedelta(days=3),
                ics_uid="held@sandbox.calsink",
            )
        )
        state = tmp_path / f"state{len(handles)}.json"
        state.write_bytes(orjson.dumps(store.to_json(), option=orjson.OPT_UTC_Z))
        context = running_sandbox("--state", str(state))
        handles.append(context)
        return context.__enter__()

    yield start
    for context in handles:
        context.__exit__(None, None, None)


# -- reschedule: minimum notice -----------------------------------------------------------------


def test_restrictions_a_non_organizer_cannot_reschedule_within_the_minimum_notice(
    state_sandbox: StateSandbox,
) -> None:
    """RESTRICTIONS "throws 403 when non-organizer reschedules within minimum notice": the
    booking starts in 30 minutes, the event type wants 120 (TRANSFORM: minutesBefore)."""
    handle = state_sandbox(timedelta(minutes=30), disableRescheduling={"minutesBefore": 120})
    path = "/v2/bookings/held/reschedule"
    anonymous = handle.call("POST", path, {"start": MONDAY_9AM}, api_key=None)
    assert anonymous.status == 403
    assert anonymous.json == {"statusCode": 403, "message": NOTICE}
    # INPUT createRescheduleBookingRequest: rescheduledBy names the user who reschedules
    teammate = handle.call(
        "POST", path, {"start": MONDAY_9AM, "rescheduledBy": "teammate@example.com"}
    )
    assert teammate.status == 403
    assert handle.call("GET", "/v2/bookings/held").data["status"] == "accepted"


def test_restrictions_the_organizer_bypasses_the_minimum_notice(
    state_sandbox: StateSandbox,
) -> None:
    """RESTRICTIONS "does not throw when user is organizer (organizer bypass)": the API key
    of the host, with no rescheduledBy or the attendee's own email."""
    handle = state_sandbox(timedelta(minutes=30), disableRescheduling={"minutesBefore": 120})
    body = {"start": MONDAY_9AM, "rescheduledBy": "ada@example.com"}
    moved = handle.call("POST", "/v2/bookings/held/reschedule", body)
    assert moved.status == 201, moved.body
    assert moved.data["rescheduledFromUid"] == "held"


def test_restrictions_outside_the_minimum_notice_anyone_reschedules(
    state_sandbox: StateSandbox,
) -> None:
    """RESTRICTIONS "does not throw when non-organizer reschedules outside minimum notice";
    and a booking that already started is not "within" the notice
    (isWithinMinimumRescheduleNotice: 0 < time until start < notice)."""
    handle = state_sandbox(timedelta(hours=3), disableRescheduling={"minutesBefore": 120})
    moved = handle.call("POST", "/v2/bookings/held/reschedule", {"start": MONDAY_9AM}, api_key=None)
    assert moved.status == 201, moved.body
    started = state_sandbox(-timedelta(minutes=10), disableRescheduling={"minutesBefore": 120})
    again = started.call(
        "POST", "/v2/bookings/held/reschedule", {"start": MONDAY_9AM}, api_key=None
    )
    assert again.status == 201, again.body


def test_transform_disable_rescheduling_is_stored_and_checked(api: Api) -> None:
    """TRANSFORM / DisableRescheduling_2024_06_14: `disabled` a boolean, `minutesBefore` an
    integer of at least 1; the event type answers with what was set."""
    event_type = _event_type(api, disableRescheduling={"minutesBefore": 60})
    read = api("GET", f"/v2/event-types/{event_type}")
    assert read.data["disableRescheduling"] == {"minutesBefore": 60}
    bad = api(
        "POST",
        "/v2/event-types",
        {
            "title": "B",
            "slug": "b",
            "lengthInMinutes": 30,
            "disableRescheduling": {"minutesBefore": 0},
        },
    )
    assert bad.status == 400
    assert "minutesBefore must not be less than 1" in str(bad.json)
    worse = api(
        "PATCH",
        f"/v2/event-types/{event_type}",
        {"disableRescheduling": {"disabled": "yes"}},
    )
    assert worse.status == 400
    assert "disabled must be a boolean value" in str(worse.json)


# -- reschedule: the settings the API leaves to the booking pages --------------------------------


def test_redirect_disable_rescheduling_is_not_checked_by_the_api(api: Api) -> None:
    """REDIRECT sends a booker of a `disableRescheduling` event type back to the booking page;
    SERVICE rescheduleBooking and RESTRICTIONS never read the flag, so the API reschedules."""
    event_type = _event_type(api, disableRescheduling={"disabled": True})
    made = api("POST", "/v2/bookings", booking(event_type_id=event_type)).data
    moved = api("POST", f"/v2/bookings/{made['uid']}/reschedule", {"start": TUESDAY_10AM})
    assert moved.status == 201, moved.body
    assert moved.data["rescheduledFromUid"] == made["uid"]


def test_service_a_cancelled_booking_is_refused_whatever_allow_rescheduling_cancelled(
    api: Api,
) -> None:
    """SERVICE canRescheduleBooking refuses a cancelled booking; allowReschedulingCancelledBookings
    only changes where REDIRECT sends a booker (the event page instead of the booking page)."""
    event_type = _event_type(api, allowReschedulingCancelledBookings=True)
    made = api("POST", "/v2/bookings", booking(event_type_id=event_type)).data
    api("POST", f"/v2/bookings/{made['uid']}/cancel", {"cancellationReason": "ill"})
    refused = api("POST", f"/v2/bookings/{made['uid']}/reschedule", {"start": TUESDAY_10AM})
    assert refused.status == 400
    assert message(refused) == (
        f"Can't reschedule booking with uid={made['uid']} because it has been cancelled. "
        "Please provide uid of a booking that is not cancelled."
    )
    assert (
        api("GET", f"/v2/event-types/{event_type}").data["allowReschedulingCancelledBookings"]
        is True
    )


def test_redirect_a_booking_that_ended_is_rescheduled_by_the_api(
    state_sandbox: StateSandbox,
) -> None:
    """REDIRECT refuses a past booking unless allowReschedulingPastBookings; SERVICE and
    RESTRICTIONS have no such rule, so the API moves a booking that already ended."""
    handle = state_sandbox(-timedelta(days=1), allowReschedulingPastBookings=False)
    moved = handle.call("POST", "/v2/bookings/held/reschedule", {"start": MONDAY_9AM})
    assert moved.status == 201, moved.body
    assert handle.call("GET", "/v2/bookings/held").data["status"] == "cancelled"


# -- per-route throttles -------------------------------------------------------------------------


def _throttled_route(
    sandbox: SandboxHandle, api: Api, method: str, suffix: str, body: dict[str, Any]
) -> tuple[list[Response], str]:
    uid = api("POST", "/v2/bookings", booking()).data["uid"]
    answers = [
        sandbox.call(method, f"/v2/bookings/{uid}/{suffix}", body(index), version="2024-08-13")
        for index in range(6)
    ]
    return answers, uid


def test_guests_add_guests_is_throttled_to_5_a_minute(sandbox: SandboxHandle, api: Api) -> None:
    """GUESTS @Throttle({limit: 5, ttl: 60000, name: "booking_guests_add"}); GUARD
    handleApiEndpointThrottle: the sixth answer is 429 with the guard's text, and the headers
    are named after the throttle (X-RateLimit-*-Booking_guests_add)."""

    def body(index: int) -> dict[str, Any]:
        return {"guests": [{"email": f"g{index}@example.com"}]}

    answers, _ = _throttled_route(sandbox, api, "POST", "guests", body)
    assert [a.status for a in answers] == [200] * 5 + [429]
    assert (
        message(answers[5]) == "CustomThrottlerGuard - Too many requests. Please try again later."
    )
    first = {k.lower(): v for k, v in answers[0].headers.items()}
    assert first["x-ratelimit-limit-booking_guests_add"] == "5"
    assert first["x-ratelimit-remaining-booking_guests_add"] == "4"
    assert "x-ratelimit-remaining-default" not in first


def test_location_update_location_is_throttled_to_5_a_minute(
    sandbox: SandboxHandle, api: Api
) -> None:
    """LOCATION @Throttle({name: "booking_location_update", limit: 5, ttl: 60000})."""

    def body(index: int) -> dict[str, Any]:
        return {"location": {"type": "link", "link": f"https://meet.example.com/{index}"}}

    answers, uid = _throttled_route(sandbox, api, "PATCH", "location", body)
    assert [a.status for a in answers] == [200] * 5 + [429]
    assert api("GET", f"/v2/bookings/{uid}").data["location"] == "https://meet.example.com/4"


def test_guard_a_throttled_route_spends_its_own_budget_not_the_default(
    sandbox: SandboxHandle, api: Api
) -> None:
    """GUARD handleRequest returns after the endpoint's throttle: the default budget is
    neither spent nor checked; the other routes keep theirs."""
    sandbox.set_rate_limit(8)
    uid = api("POST", "/v2/bookings", booking()).data["uid"]
    for index in range(5):
        body = {"guests": [{"email": f"g{index}@example.com"}]}
        added = sandbox.call("POST", f"/v2/bookings/{uid}/guests", body, version="2024-08-13")
        assert added.status == 200
    read = api("GET", f"/v2/bookings/{uid}")
    headers = {k.lower(): v for k, v in read.headers.items()}
    assert headers["x-ratelimit-remaining-default"] == "6"


# -- reschedule: who confirms ---------------------------------------------------------------------


def test_flags_the_organizer_rescheduling_a_confirmation_event_is_accepted(api: Api) -> None:
    """packages/features/bookings/lib/handleNewBooking/getRequiresConfirmationFlags.ts
    @5b6d63e6: isConfirmedByDefault when the rescheduling user is the booking's organizer —
    the user rescheduledBy names, else the credential's owner (SERVICE rescheduleBooking:
    `userId: bookingRequest.userId ?? authUser?.id`). Event type 2 requires confirmation."""
    made = api("POST", "/v2/bookings", booking(event_type_id=2)).data
    api("POST", f"/v2/bookings/{made['uid']}/confirm")
    by_key = api("POST", f"/v2/bookings/{made['uid']}/reschedule", {"start": TUESDAY_10AM}).data
    assert by_key["status"] == "accepted"
    body = {"start": MONDAY_9AM, "rescheduledBy": "ada@example.com"}
    by_attendee_email = api("POST", f"/v2/bookings/{by_key['uid']}/reschedule", body).data
    assert by_attendee_email["status"] == "accepted"
    body = {"start": "2030-01-09T15:00:00Z", "rescheduledBy": "teammate@example.com"}
    by_teammate = api("POST", f"/v2/bookings/{by_attendee_email['uid']}/reschedule", body)
    assert by_teammate.data["status"] == "pending"
    anonymous = api(
        "POST",
        f"/v2/bookings/{by_teammate.data['uid']}/reschedule",
        {"start": "2030-01-10T15:00:00Z"},
        api_key=None,
    )
    assert anonymous.data["status"] == "pending"
