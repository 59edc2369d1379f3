"""Booking rules of Cal.com's API v2 services, each answered by the sandbox as upstream does.

Every expected answer names its source in calcom/cal.com (read at the commit given):

CANCEL_HANDLER  packages/features/bookings/lib/handleCancelBooking.ts@001f8e29, handler()
CANCEL_TESTS    packages/features/bookings/lib/handleCancelBooking/test/handleCancelBooking.test.ts
INPUT           apps/api/v2/src/platform/bookings/2024-08-13/services/input.service.ts@7488ef3d
SERVICE         apps/api/v2/src/platform/bookings/2024-08-13/services/bookings.service.ts@223642d0
ERRORS          apps/api/v2/src/platform/bookings/2024-08-13/services/errors.service.ts@cf7ce0be
SEATED_E2E      apps/api/v2/src/platform/bookings/2024-08-13/controllers/e2e/
                seated-bookings.e2e-spec.ts
E2E_2026        apps/api/v2/src/ee/bookings/2026-02-25/controllers/e2e/ (allow-conflicts-bookings,
                allow-booking-out-of-bounds)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sandbox_contract import Api

from calsink.sandbox.model import Booking
from calsink.sandbox.seed import seeded_store
from support.sandbox import MONDAY_9AM, SandboxHandle, booking, message, running_sandbox

WEDNESDAY_10AM = "2030-01-09T15:00:00Z"
NEWEST = "2026-02-25"


def guest(index: int) -> dict[str, str]:
    return {"name": f"Guest {index}", "email": f"guest{index}@example.com", "timeZone": "UTC"}


# -- cancel ---------------------------------------------------------------------------------


def test_cancel_handler_host_cancelling_without_a_reason_gets_400(api: Api) -> None:
    """CANCEL_HANDLER: `!platformClientId && !cancellationReason && booking.userId == userId`
    (newer: `!cancellationReason?.trim()`); SEATED_E2E "should not be able to cancel without
    cancellation reason" reads the text bare, at response.body.message."""
    made = api("POST", "/v2/bookings", booking()).data
    refused = api("POST", f"/v2/bookings/{made['uid']}/cancel", {})
    assert refused.status == 400
    assert refused.json == {
        "statusCode": 400,
        "message": "Cancellation reason is required when you are the host",
    }
    blank = api("POST", f"/v2/bookings/{made['uid']}/cancel", {"cancellationReason": "  "})
    assert blank.status == 400
    assert api("GET", f"/v2/bookings/{made['uid']}").data["status"] == "accepted"
    done = api("POST", f"/v2/bookings/{made['uid']}/cancel", {"cancellationReason": "ill"})
    assert done.status == 200 and done.data["status"] == "cancelled"


def test_cancel_handler_an_attendee_without_credentials_needs_no_reason(api: Api) -> None:
    """CANCEL_HANDLER: the reason rule names the host only (no user id, no rule)."""
    made = api("POST", "/v2/bookings", booking()).data
    done = api("POST", f"/v2/bookings/{made['uid']}/cancel", {}, api_key=None)
    assert done.status == 200 and done.data["status"] == "cancelled"


def test_cancel_handler_host_cancelling_a_seat_without_a_reason_gets_400(api: Api) -> None:
    """INPUT transformInputCancelSeatedBooking sends `cancellationReason || ""`, so the
    host's seat cancel meets CANCEL_HANDLER's reason rule too."""
    seat = api("POST", "/v2/bookings", booking(WEDNESDAY_10AM, 4, attendee=guest(1))).data
    path = f"/v2/bookings/{seat['uid']}/cancel"
    refused = api("POST", path, {"seatUid": seat["seatUid"]})
    assert refused.status == 400
    assert message(refused) == "Cancellation reason is required when you are the host"
    assert api("POST", path, {"seatUid": seat["seatUid"]}, api_key=None).status == 200


@pytest.fixture
def ended_booking(tmp_path: Path) -> Iterator[tuple[SandboxHandle, str]]:
    """A sandbox whose state file holds a booking that ended yesterday."""
    store = seeded_store()
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    store.counters["booking"] = 1
    attendee = {"name": "Ada", "email": "ada@example.com", "timeZone": "UTC", "language": "en"}
    store.add_booking(
        Booking(
            id=1,
            uid="ended-booking",
            event_type_id=1,
            host_id=1,
            title="30 Minute Meeting between Demo User and Ada",
            description="",
            status="accepted",
            start=end - timedelta(minutes=30),
            end=end,
            attendees=[attendee],
            guests=[],
            location="integrations:daily",
            metadata={},
            responses={"name": "Ada", "email": "ada@example.com"},
            created_at=end - timedelta(days=3),
            updated_at=end - timedelta(days=3),
            ics_uid="ended-booking@sandbox.calsink",
        )
    )
    state = tmp_path / "state.json"
    state.write_bytes(orjson.dumps(store.to_json(), option=orjson.OPT_UTC_Z))
    with running_sandbox("--state", str(state)) as handle:
        yield handle, "ended-booking"


def test_cancel_tests_a_booking_that_has_ended_cannot_be_cancelled(
    ended_booking: tuple[SandboxHandle, str],
) -> None:
    """CANCEL_TESTS "Should block cancelling past bookings"."""
    handle, uid = ended_booking
    refused = handle.call("POST", f"/v2/bookings/{uid}/cancel", {"cancellationReason": "late"})
    assert refused.status == 400
    assert message(refused) == "Cannot cancel a booking that has already ended"
    assert handle.call("GET", f"/v2/bookings/{uid}").data["status"] == "accepted"


def test_input_create_cancel_request_a_cancelled_booking_names_its_uid(api: Api) -> None:
    """INPUT createCancelBookingRequest: status CANCELLED → 400 naming the uid."""
    made = api("POST", "/v2/bookings", booking()).data
    path = f"/v2/bookings/{made['uid']}/cancel"
    assert api("POST", path, {"cancellationReason": "ill"}).status == 200
    again = api("POST", path, {"cancellationReason": "ill"})
    assert again.status == 400
    assert message(again) == (
        f"Can't cancel booking with uid={made['uid']} because it has been cancelled already. "
        "Please provide uid of a booking that is not cancelled."
    )


def test_input_transform_cancel_a_series_uid_with_cancel_subsequent_gets_400(api: Api) -> None:
    """INPUT transformInputCancelBooking: a recurring uid with cancelSubsequentBookings."""
    series = api("POST", "/v2/bookings", booking(event_type_id=3)).data
    series_uid = series[0]["recurringBookingUid"]
    refused = api(
        "POST",
        f"/v2/bookings/{series_uid}/cancel",
        {"cancellationReason": "ill", "cancelSubsequentBookings": True},
    )
    assert refused.status == 400
    assert message(refused) == (
        "Cannot cancel subsequent bookings for recurring event - you have to provide uid of one "
        "of the individual bookings of a recurring booking."
    )
    statuses = {api("GET", f"/v2/bookings/{b['uid']}").data["status"] for b in series}
    assert statuses == {"accepted"}


def test_service_cancel_subsequent_of_a_single_booking_cancels_then_answers_400(api: Api) -> None:
    """SERVICE cancelBooking → getAllRecurringBookingsByIndividualUid: the booking is
    cancelled first, then the answer is 400 (a resend meets the already-cancelled 400)."""
    made = api("POST", "/v2/bookings", booking()).data
    refused = api(
        "POST",
        f"/v2/bookings/{made['uid']}/cancel",
        {"cancellationReason": "ill", "cancelSubsequentBookings": True},
    )
    assert refused.status == 400
    assert message(refused) == (
        f"Booking with bookingUid={made['uid']} is not part of a recurring booking."
    )
    assert api("GET", f"/v2/bookings/{made['uid']}").data["status"] == "cancelled"


def test_service_cancel_booking_seat_uids_are_checked(api: Api) -> None:
    """SERVICE cancelBooking: an unknown seatUid, and a seat of another booking."""
    first = api("POST", "/v2/bookings", booking(WEDNESDAY_10AM, 4, attendee=guest(1))).data
    other = api("POST", "/v2/bookings", booking(MONDAY_9AM, 4, attendee=guest(2))).data
    unknown = api("POST", f"/v2/bookings/{first['uid']}/cancel", {"seatUid": "nope"}, api_key=None)
    assert unknown.status == 400
    assert message(unknown) == (
        "Invalid seatUid: this seat does not exist or has already been cancelled."
    )
    foreign = api(
        "POST", f"/v2/bookings/{first['uid']}/cancel", {"seatUid": other["seatUid"]}, api_key=None
    )
    assert foreign.status == 400
    assert message(foreign) == "Invalid seatUid: this seat does not belong to this booking."


# -- create ---------------------------------------------------------------------------------


def test_input_length_in_minutes_for_a_fixed_length_event_type_gets_400(api: Api) -> None:
    """INPUT validateBookingLengthInMinutes: any lengthInMinutes, even the event's own."""
    refused = api("POST", "/v2/bookings", booking(lengthInMinutes=30))
    assert refused.status == 400
    assert message(refused) == (
        "Can't specify 'lengthInMinutes' because event type does not have multiple possible "
        "lengths. Please, remove the 'lengthInMinutes' field from the request."
    )


def test_service_a_full_seated_slot_gets_409(api: Api) -> None:
    """SERVICE createSeatedBooking: booking_seats_full_error → ConflictException."""
    for index in range(5):
        seat = api("POST", "/v2/bookings", booking(WEDNESDAY_10AM, 4, attendee=guest(index)))
        assert seat.status == 201
    full = api("POST", "/v2/bookings", booking(WEDNESDAY_10AM, 4, attendee=guest(9)))
    assert full.status == 409
    assert full.json["error"]["code"] == "ConflictException"
    assert message(full) == "No more seats left at this seated booking."


def test_seats_the_same_attendee_twice_gets_409(api: Api) -> None:
    """packages/features/bookings/lib/handleSeats/handleSeats.ts: HttpError 409 "Already
    signed up for this booking." (checked before the seats are counted)."""
    assert api("POST", "/v2/bookings", booking(WEDNESDAY_10AM, 4, attendee=guest(1))).status == 201
    again = api("POST", "/v2/bookings", booking(WEDNESDAY_10AM, 4, attendee=guest(1)))
    assert again.status == 409
    assert message(again) == "Already signed up for this booking."


def test_input_location_types_must_be_the_event_types(api: Api) -> None:
    """INPUT isBookingLocationWithEventTypeLocations (event type 1 offers Cal Video only)."""
    phone = {"type": "attendeePhone", "phone": "+15555550100"}
    refused = api("POST", "/v2/bookings", booking(location=phone))
    assert refused.status == 400
    assert message(refused) == (
        "Booking location with type attendeePhone not valid for event type with id=1. The "
        "event type has following location types: integration, and only these types are "
        "allowed for booking location."
    )
    zoom = {"type": "integration", "integration": "zoom"}
    refused = api("POST", "/v2/bookings", booking(location=zoom))
    assert refused.status == 400
    assert message(refused) == (
        "Booking location with integration zoom not valid for event type with id=1. The event "
        "type has following integrations: cal-video, and only these integrations are allowed "
        "for booking location."
    )
    free_text = api("POST", "/v2/bookings", booking(location="https://meet.example.com/x"))
    assert free_text.status == 201  # a string location passes, for backwards compatibility


def test_input_recurrence_count_above_the_event_types_gets_400(api: Api) -> None:
    """INPUT transformInputCreateRecurringBooking."""
    refused = api("POST", "/v2/bookings", booking(event_type_id=3, recurrenceCount=5))
    assert refused.status == 400
    assert message(refused) == (
        "Provided recurrence count is higher than the event type's recurring event count."
    )


def test_service_required_booking_fields_are_checked(api: Api) -> None:
    """SERVICE hasRequiredBookingFieldsResponses: missing, wrongly typed, unknown option."""
    fields = [
        {"type": "text", "slug": "company", "label": "Company", "required": True},
        {
            "type": "select",
            "slug": "size",
            "label": "Size",
            "required": False,
            "options": ["small", "large"],
        },
    ]
    made = api(
        "POST",
        "/v2/event-types",
        {"title": "Form", "slug": "form", "lengthInMinutes": 30, "bookingFields": fields},
    ).data
    missing = api("POST", "/v2/bookings", booking(event_type_id=made["id"]))
    assert missing.status == 400
    assert message(missing) == (
        "Missing required booking field response: company - it is required by the event type "
        "booking fields, but missing in the bookingFieldsResponses. You can fetch the event "
        f"type with ID {made['id']} to see the required fields."
    )
    typed = api(
        "POST",
        "/v2/bookings",
        booking(event_type_id=made["id"], bookingFieldsResponses={"company": 7}),
    )
    assert message(typed) == (
        "Invalid type for booking field 'company'. Expected type string (compatible with field "
        "type 'text'), but received number."
    )
    option = api(
        "POST",
        "/v2/bookings",
        booking(event_type_id=made["id"], bookingFieldsResponses={"company": "A", "size": "xl"}),
    )
    assert message(option) == (
        "Invalid option 'xl' for booking field 'size'. Allowed options are: small, large."
    )
    good = {"company": "Acme", "size": "large"}
    done = api(
        "POST", "/v2/bookings", booking(event_type_id=made["id"], bookingFieldsResponses=good)
    )
    assert done.status == 201


def test_errors_unavailable_times_get_upstreams_messages(api: Api) -> None:
    """ERRORS handleBookingError: no_available_users_found_error and
    booking_time_out_of_bounds_error (too soon for the minimum notice)."""
    assert api("POST", "/v2/bookings", booking()).status == 201
    taken = api("POST", "/v2/bookings", booking())
    assert taken.status == 400
    assert message(taken) == "User either already has booking at this time or is not available"
    saturday = api("POST", "/v2/bookings", booking("2030-01-12T15:00:00Z"))
    assert message(saturday) == "User either already has booking at this time or is not available"
    soon = (datetime.now(UTC) + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:00Z")
    too_soon = api("POST", "/v2/bookings", booking(soon))
    assert too_soon.status == 400
    assert message(too_soon).startswith(
        'The event type can\'t be booked at the "start" time provided.'
    )
    past = api("POST", "/v2/bookings", booking("2020-01-06T14:00:00Z"))
    assert message(past) == "Attempting to book a meeting in the past."


def test_errors_and_service_unknown_event_types_get_upstreams_404s(api: Api) -> None:
    """ERRORS handleEventTypeToBeBookedNotFound; SERVICE getBookedEventType."""
    by_id = api("POST", "/v2/bookings", booking(event_type_id=99))
    assert by_id.status == 404
    assert message(by_id) == "Event type with id 99 not found."
    body = booking()
    del body["eventTypeId"]
    no_user = api("POST", "/v2/bookings", {**body, "eventTypeSlug": "30min", "username": "nobody"})
    assert no_user.status == 404
    assert message(no_user) == "User with username nobody not found"
    no_team = api("POST", "/v2/bookings", {**body, "eventTypeSlug": "30min", "teamSlug": "acme"})
    assert no_team.status == 404
    assert message(no_team) == "Team with slug acme not found"


# -- reschedule -----------------------------------------------------------------------------


def test_input_a_seated_booking_is_rescheduled_seat_by_seat(api: Api) -> None:
    """INPUT transformInputRescheduleBooking (seatsPerTimeSlot without seatUid) and
    transformInputRescheduleSeatedBooking (unknown seat → 404)."""
    seat = api("POST", "/v2/bookings", booking(WEDNESDAY_10AM, 4, attendee=guest(1))).data
    path = f"/v2/bookings/{seat['uid']}/reschedule"
    whole = api("POST", path, {"start": "2030-01-10T15:00:00Z"})
    assert whole.status == 400
    assert message(whole).startswith(
        f"Booking with uid={seat['uid']} is a seated booking which means you have to provide "
        "seatUid in the request body"
    )
    unknown = api("POST", path, {"start": "2030-01-10T15:00:00Z", "seatUid": "nope"})
    assert unknown.status == 404
    assert message(unknown) == "Seat with uid=nope does not exist."


def test_service_can_reschedule_booking_names_the_cancelled_and_the_new_uid(api: Api) -> None:
    """SERVICE canRescheduleBooking: cancelled, and cancelled by an earlier reschedule."""
    made = api("POST", "/v2/bookings", booking()).data
    moved = api("POST", f"/v2/bookings/{made['uid']}/reschedule", {"start": WEDNESDAY_10AM}).data
    again = api("POST", f"/v2/bookings/{made['uid']}/reschedule", {"start": MONDAY_9AM})
    assert again.status == 400
    assert message(again) == (
        f"Can't reschedule booking with uid={made['uid']} because it has been cancelled and "
        f"rescheduled already to booking with uid={moved['uid']}. You probably want to "
        f"reschedule {moved['uid']} instead by passing it within the request URL."
    )
    api("POST", f"/v2/bookings/{moved['uid']}/cancel", {"cancellationReason": "ill"})
    cancelled = api("POST", f"/v2/bookings/{moved['uid']}/reschedule", {"start": MONDAY_9AM})
    assert cancelled.status == 400
    assert message(cancelled) == (
        f"Can't reschedule booking with uid={moved['uid']} because it has been cancelled. "
        "Please provide uid of a booking that is not cancelled."
    )


# -- 2026-02-25 host overrides --------------------------------------------------------------


def _windowed_event_type(api: Api) -> int:
    window = {"type": "calendarDays", "value": 30, "rolling": False}
    spec = {"title": "Soon", "slug": "soon", "lengthInMinutes": 30, "bookingWindow": window}
    return int(api("POST", "/v2/event-types", spec).data["id"])


def test_e2e_2026_allow_booking_out_of_bounds_lets_the_host_book_outside_the_window(
    api: Api,
) -> None:
    """E2E_2026 allow-booking-out-of-bounds: honoured for a host on 2026-02-25 only; ERRORS
    gives the out-of-bounds message otherwise."""
    event_type = _windowed_event_type(api)
    far = booking(event_type_id=event_type, allowBookingOutOfBounds=True)
    outside = api("POST", "/v2/bookings", booking(event_type_id=event_type), version=NEWEST)
    assert outside.status == 400
    assert message(outside).startswith('The event type can\'t be booked at the "start" time')
    assert api("POST", "/v2/bookings", far, api_key=None, version=NEWEST).status == 400
    assert api("POST", "/v2/bookings", far, version="2024-08-13").status == 400
    allowed = api("POST", "/v2/bookings", far, version=NEWEST)
    assert allowed.status == 201 and allowed.data["status"] == "accepted"


def test_e2e_2026_each_override_bypasses_only_its_own_check(api: Api) -> None:
    """E2E_2026: allowConflicts bypasses availability, not the booking window; and the
    other way round."""
    event_type = _windowed_event_type(api)
    conflicts_only = booking(event_type_id=event_type, allowConflicts=True)
    assert api("POST", "/v2/bookings", conflicts_only, version=NEWEST).status == 400
    assert api("POST", "/v2/bookings", booking(), version=NEWEST).status == 201
    bounds_only = booking(allowBookingOutOfBounds=True)
    assert api("POST", "/v2/bookings", bounds_only, version=NEWEST).status == 400
    both = booking(allowConflicts=True)
    assert api("POST", "/v2/bookings", both, version=NEWEST).status == 201


def test_slots_respect_the_booking_window(api: Api) -> None:
    """The slots a booking window excludes are not offered (they could not be booked)."""
    event_type = _windowed_event_type(api)
    far = api("GET", f"/v2/slots?eventTypeId={event_type}&start=2030-01-07&end=2030-01-07")
    assert far.status == 200 and far.data == {}


# -- webhooks -------------------------------------------------------------------------------


def test_openapi_a36c1b79_routing_form_fallback_hit_is_a_webhook_trigger(api: Api) -> None:
    """CreateWebhookInputDto.triggers in ../shared/calcom/openapi-subset-a36c1b79.json."""
    hook = {
        "subscriberUrl": "http://127.0.0.1:9/hook",
        "triggers": ["ROUTING_FORM_FALLBACK_HIT"],
        "active": True,
    }
    made = api("POST", "/v2/webhooks", hook)
    assert made.status == 201
    assert made.data["triggers"] == ["ROUTING_FORM_FALLBACK_HIT"]


# -- event type settings --------------------------------------------------------------------


def _event_type(api: Api, **settings: Any) -> int:
    spec = {"title": "Set", "slug": "set", "lengthInMinutes": 30, **settings}
    made = api("POST", "/v2/event-types", spec)
    assert made.status == 201, made.body
    return int(made.data["id"])


def test_service_booking_requires_authentication_setting(api: Api, sandbox: SandboxHandle) -> None:
    """SERVICE checkBookingRequiresAuthenticationSetting: 401 without credentials."""
    event_type = _event_type(api, bookingRequiresAuthentication=True)
    anonymous = api("POST", "/v2/bookings", booking(event_type_id=event_type), api_key=None)
    assert anonymous.status == 401
    assert message(anonymous) == (
        "checkBookingRequiresAuthentication - request must be authenticated by passing "
        "credentials belonging to event type owner, host or team or org admin or owner."
    )
    assert api("POST", "/v2/bookings", booking(event_type_id=event_type)).status == 201


def test_errors_booker_active_bookings_limit(api: Api) -> None:
    """ERRORS booker_limit_exceeded_error and ..._reschedule (with the booking to move)."""
    limit = {"maximumActiveBookings": 1, "offerReschedule": True}
    event_type = _event_type(api, bookerActiveBookingsLimit=limit)
    first = api("POST", "/v2/bookings", booking(event_type_id=event_type)).data
    second = api("POST", "/v2/bookings", booking(WEDNESDAY_10AM, event_type_id=event_type))
    assert second.status == 400
    assert message(second) == (
        "Attendee with this email can't book because the maximum number of active bookings "
        f"has been reached. You can reschedule your existing booking ({first['uid']}) to a new "
        "timeslot instead."
    )
    other = {"name": "Bo", "email": "bo@example.com", "timeZone": "UTC"}
    assert (
        api("POST", "/v2/bookings", booking(WEDNESDAY_10AM, event_type, attendee=other)).status
        == 201
    )


def test_cancel_handler_disable_cancelling_stops_attendees_not_the_host(api: Api) -> None:
    """CANCEL_HANDLER "This event type does not allow cancellations"; CANCEL_TESTS
    "Should allow hosts to cancel bookings when disableCancelling is enabled"."""
    event_type = _event_type(api, disableCancelling={"disabled": True})
    made = api("POST", "/v2/bookings", booking(event_type_id=event_type)).data
    path = f"/v2/bookings/{made['uid']}/cancel"
    by_attendee = api("POST", path, {"cancellationReason": "no"}, api_key=None)
    assert by_attendee.status == 400
    assert message(by_attendee) == "This event type does not allow cancellations"
    assert api("POST", path, {"cancellationReason": "host"}).status == 200
