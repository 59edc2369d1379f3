"""Booking actions against the running sandbox, answered as upstream answers them.

Upstream sources (calcom/cal.com, apps/api/v2/src/platform/bookings/2024-08-13/ unless
named otherwise): services/bookings.service.ts@db2a5906 (declineBooking) and
packages/trpc/server/routers/viewer/bookings/confirm.handler.ts@008952de (confirmHandler).
"""

from __future__ import annotations

from typing import Any

from sandbox_contract import Api

MONDAY_9AM = "2030-01-07T14:00:00Z"  # 09:00 America/New_York


def booking(start: str = MONDAY_9AM, event_type_id: int = 1, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "start": start,
        "eventTypeId": event_type_id,
        "attendee": {
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "timeZone": "Europe/London",
        },
    }
    body.update(extra)
    return body


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
