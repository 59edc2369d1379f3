"""Booking actions against the running sandbox, answered as upstream answers them.

Upstream sources (calcom/cal.com, apps/api/v2/src/platform/bookings/2024-08-13/ unless
named otherwise): services/bookings.service.ts@db2a5906 (declineBooking) and
packages/trpc/server/routers/viewer/bookings/confirm.handler.ts@008952de (confirmHandler);
for the others, the sources named above each group of tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sandbox_contract import Api

from support.booking_states import (
    PAST_UID,
    ROUND_ROBIN_UID,
    sandbox_with_past_and_round_robin_bookings,
)
from support.sandbox import SandboxHandle
from support.sandbox import booking as sandbox_booking

booking = partial(sandbox_booking, zone="Europe/London")


def test_decline_a_pending_booking_confirm_handler_confirmed_false(api: Api) -> None:
    pending = api("POST", "/v2/bookings", booking(event_type_id=2)).data
    declined = api("POST", f"/v2/bookings/{pending['uid']}/decline", {"reason": "busy"})
    assert declined.status == 200
    assert declined.data["status"] == "rejected"


def test_decline_of_an_accepted_booking_confirm_handler_booking_already_confirmed(
    api: Api,
) -> None:
    accepted = api("POST", "/v2/bookings", booking()).data
    refused = api("POST", f"/v2/bookings/{accepted['uid']}/decline", {})
    assert refused.status == 400
    assert refused.json["error"]["message"] == "Booking already confirmed"


def test_a_second_decline_is_made_again_confirm_handler_refuses_only_accepted(api: Api) -> None:
    """Why decline-booking reads the booking before a resend: Cal.com answers 200 again."""
    pending = api("POST", "/v2/bookings", booking(event_type_id=2)).data
    assert api("POST", f"/v2/bookings/{pending['uid']}/decline", {}).status == 200
    again = api("POST", f"/v2/bookings/{pending['uid']}/decline", {})
    assert again.status == 200
    assert again.data["status"] == "rejected"


def test_decline_of_an_unknown_booking_declinebooking_not_found(api: Api) -> None:
    missing = api("POST", "/v2/bookings/no-such-uid/decline", {})
    assert missing.status == 404
    assert missing.json["error"]["message"] == (
        "Booking with uid=no-such-uid was not found in the database"
    )


# -- add guests: booking-guests.controller.ts@0e907a82 (2024-08-13 only),
# booking-guests.service.ts@43bc0047 (addGuests), addGuests.handler.ts@00c2c637 --------------


def _add(sandbox: SandboxHandle, uid: str, body: Any, version: str | None = "2024-08-13") -> Any:
    return sandbox.call("POST", f"/v2/bookings/{uid}/guests", body, version=version)


def test_add_guests_adds_them_booking_guests_service_add_guests(
    api: Api, sandbox: SandboxHandle
) -> None:
    uid = api("POST", "/v2/bookings", booking()).data["uid"]
    added = _add(sandbox, uid, {"guests": [{"email": "charles@example.com", "name": "C"}]})
    assert added.status == 200
    assert added.data["guests"] == ["charles@example.com"]
    assert api("GET", f"/v2/bookings/{uid}").data["guests"] == ["charles@example.com"]


def test_guests_already_on_the_booking_add_guests_handler_emails_must_be_unique_valid(
    api: Api, sandbox: SandboxHandle
) -> None:
    """What a resend gets: every guest is already there."""
    uid = api("POST", "/v2/bookings", booking()).data["uid"]
    body = {"guests": [{"email": "charles@example.com"}]}
    assert _add(sandbox, uid, body).status == 200
    again = _add(sandbox, uid, {"guests": [{"email": "Charles@example.com"}]})
    assert again.status == 400
    assert again.json["error"]["message"] == "emails_must_be_unique_valid"
    both = _add(sandbox, uid, {"guests": [{"email": "charles@example.com"}, {"email": "d@e.fr"}]})
    assert both.status == 200
    assert both.data["guests"] == ["charles@example.com", "d@e.fr"]


def test_add_guests_input_one_to_ten_guests_each_with_an_email(
    api: Api, sandbox: SandboxHandle
) -> None:
    uid = api("POST", "/v2/bookings", booking()).data["uid"]
    eleven = {"guests": [{"email": f"g{i}@example.com"} for i in range(11)]}
    too_many = _add(sandbox, uid, eleven)
    assert too_many.status == 400
    assert "Cannot add more than 10 guests at a time" in too_many.json["error"]["message"]
    assert _add(sandbox, uid, {"guests": []}).status == 400
    assert _add(sandbox, uid, {"guests": [{"name": "no email"}]}).status == 400
    assert _add(sandbox, uid, {}).status == 400


def test_add_guests_keeps_at_most_30_people_max_total_guests_per_booking(
    api: Api, sandbox: SandboxHandle
) -> None:
    uid = api("POST", "/v2/bookings", booking()).data["uid"]
    for batch in range(2):
        guests = [{"email": f"g{batch}-{i}@example.com"} for i in range(10)]
        assert _add(sandbox, uid, {"guests": guests}).status == 200
    last = [{"email": f"last-{i}@example.com"} for i in range(10)]
    refused = _add(sandbox, uid, {"guests": last})
    assert refused.status == 400
    assert refused.json["error"]["message"] == (
        "Cannot add 10 guests. This booking already has 21 attendees. Maximum total guests "
        "allowed is 30. You can add up to 9 more guests."
    )


def test_add_guests_exists_only_in_2024_08_13_booking_guests_controller(
    api: Api, sandbox: SandboxHandle
) -> None:
    uid = api("POST", "/v2/bookings", booking()).data["uid"]
    body = {"guests": [{"email": "charles@example.com"}]}
    assert _add(sandbox, uid, body, version="2026-02-25").status == 404
    assert _add(sandbox, uid, body, version=None).status == 404
    missing = _add(sandbox, "no-such-uid", body)
    assert missing.status == 404
    assert missing.json["error"]["message"] == "Booking with uid no-such-uid not found"


# -- update location: booking-location.controller.ts@0e907a82 (2024-08-13 only),
# booking-location.service.ts@42dd5c25 (updateBookingLocation, updateLocation,
# getNonIntegrationLocationValue) -------------------------------------------------------------


def _move(sandbox: SandboxHandle, uid: str, body: Any, version: str | None = "2024-08-13") -> Any:
    return sandbox.call("PATCH", f"/v2/bookings/{uid}/location", body, version=version)


def test_update_location_sets_the_value_of_its_type_get_non_integration_location_value(
    api: Api, sandbox: SandboxHandle
) -> None:
    uid = api("POST", "/v2/bookings", booking()).data["uid"]
    for location, value in (
        ({"type": "link", "link": "https://meet.example.com/a"}, "https://meet.example.com/a"),
        ({"type": "address", "address": "1 Main St"}, "1 Main St"),
        ({"type": "attendeeDefined", "location": "Café"}, "Café"),
        ({"type": "attendeePhone", "phone": "+14155550123"}, "+14155550123"),
    ):
        moved = _move(sandbox, uid, {"location": location})
        assert moved.status == 200, moved.body
        assert moved.data["location"] == value
    assert api("GET", f"/v2/bookings/{uid}").data["location"] == "+14155550123"


def test_update_location_without_a_location_changes_nothing_update_booking_location(
    api: Api, sandbox: SandboxHandle
) -> None:
    made = api("POST", "/v2/bookings", booking()).data
    unchanged = _move(sandbox, made["uid"], {})
    assert unchanged.status == 200
    assert unchanged.data["location"] == made["location"]


def test_update_location_needs_the_value_of_its_type_and_a_known_type(
    api: Api, sandbox: SandboxHandle
) -> None:
    uid = api("POST", "/v2/bookings", booking()).data["uid"]
    assert _move(sandbox, uid, {"location": {"type": "link"}}).status == 400
    assert _move(sandbox, uid, {"location": {"type": "carrier-pigeon"}}).status == 400


def test_update_location_exists_only_in_2024_08_13_and_names_a_missing_booking(
    api: Api, sandbox: SandboxHandle
) -> None:
    uid = api("POST", "/v2/bookings", booking()).data["uid"]
    body = {"location": {"type": "address", "address": "1 Main St"}}
    assert _move(sandbox, uid, body, version="2026-02-25").status == 404
    assert _move(sandbox, uid, body, version=None).status == 404
    missing = _move(sandbox, "no-such-uid", body)
    assert missing.status == 404
    assert missing.json["error"]["message"] == "Booking with uid=no-such-uid not found"


# -- mark absent: bookings.service.ts@db2a5906 (markAbsent),
# packages/features/handleMarkNoShow.ts@03670679 (handleMarkNoShow) ---------------------------


@pytest.fixture
def past(tmp_path: Path) -> Iterator[SandboxHandle]:
    with sandbox_with_past_and_round_robin_bookings(tmp_path) as handle:
        yield handle


def _mark(sandbox: SandboxHandle, uid: str, body: Any) -> Any:
    return sandbox.call("POST", f"/v2/bookings/{uid}/mark-absent", body, version="2026-02-25")


def test_mark_absent_sets_attendee_and_host_flags_handle_mark_no_show(
    past: SandboxHandle,
) -> None:
    body = {"host": True, "attendees": [{"email": "ada@example.com", "absent": True}]}
    marked = _mark(past, PAST_UID, body)
    assert marked.status == 200, marked.body
    assert marked.data["absentHost"] is True
    assert [a["absent"] for a in marked.data["attendees"]] == [True]
    unmarked = _mark(past, PAST_UID, {"attendees": [{"email": "ada@example.com", "absent": False}]})
    assert [a["absent"] for a in unmarked.data["attendees"]] == [False]
    assert _mark(past, PAST_UID, {"host": False}).data["absentHost"] is True  # only sets it


def test_mark_absent_ignores_an_unknown_attendee_update_attendees(past: SandboxHandle) -> None:
    marked = _mark(past, PAST_UID, {"attendees": [{"email": "nobody@example.com", "absent": True}]})
    assert marked.status == 200
    assert [a["absent"] for a in marked.data["attendees"]] == [False]


def test_mark_absent_before_the_start_is_refused_mark_absent(
    api: Api, sandbox: SandboxHandle
) -> None:
    uid = api("POST", "/v2/bookings", booking()).data["uid"]
    refused = _mark(sandbox, uid, {"host": True})
    assert refused.status == 400
    message = refused.json["error"]["message"]
    assert message.startswith(
        "Bookings can only be marked as absent after their scheduled start time. Current time "
        "in UTC+0: "
    )
    assert message.endswith("Booking start time in UTC+0: 2030-01-07T14:00:00.000Z")


def test_mark_absent_of_an_unknown_booking_mark_absent_not_found(past: SandboxHandle) -> None:
    missing = _mark(past, "no-such-uid", {"host": True})
    assert missing.status == 404
    assert missing.json["error"]["message"] == "Booking with uid=no-such-uid not found."


# -- reassign: bookings.service.ts@db2a5906 (reassignBooking, reassignBookingToUser),
# output.service.ts@dd525dbf (getOutputReassignedBooking) ---------------------------------------


def _reassign(sandbox: SandboxHandle, path: str, body: Any = None) -> Any:
    return sandbox.call("POST", f"/v2/bookings/{path}", body, version="2026-02-25")


def test_reassign_picks_another_free_host_round_robin_reassignment(past: SandboxHandle) -> None:
    moved = _reassign(past, f"{ROUND_ROBIN_UID}/reassign")
    assert moved.status == 200, moved.body
    assert moved.data["bookingUid"] == ROUND_ROBIN_UID
    assert moved.data["reassignedTo"]["id"] == 2
    shown = past.call("GET", f"/v2/bookings/{ROUND_ROBIN_UID}", version="2026-02-25")
    assert shown.data["hosts"][0]["id"] == 2
    again = _reassign(past, f"{ROUND_ROBIN_UID}/reassign")
    assert again.data["reassignedTo"]["id"] == 1  # a resend passes it on again


def test_reassign_without_another_host_no_available_users_found_error(
    past: SandboxHandle,
) -> None:
    refused = _reassign(past, f"{PAST_UID}/reassign")  # a personal event type: its owner only
    assert refused.status == 400
    assert refused.json["error"]["message"] == (
        "Can't reassign the booking because no other host is available at that time."
    )


def test_reassign_to_a_user_who_must_be_a_host_reassign_booking_to_user(
    past: SandboxHandle,
) -> None:
    moved = _reassign(past, f"{ROUND_ROBIN_UID}/reassign/2", {"reason": "leave"})
    assert moved.status == 200
    assert moved.data["reassignedTo"]["email"] == "teammate@example.com"
    stranger = _reassign(past, f"{PAST_UID}/reassign/2", {})
    assert stranger.status == 400
    assert stranger.json["error"]["message"].startswith(
        "User with id=2 is not a valid Round Robin host"
    )
    nobody = _reassign(past, f"{ROUND_ROBIN_UID}/reassign/99", {})
    assert nobody.status == 404
    assert nobody.json["error"]["message"] == "User with id=99 was not found in the database"
    missing = _reassign(past, "no-such-uid/reassign")
    assert missing.status == 404
    assert missing.json["error"]["message"] == (
        "Booking with uid=no-such-uid was not found in the database"
    )
