"""Reading an answer for the signs of Cal.com's 2024-04-15 bookings contract."""

from __future__ import annotations

from typing import Any

from calsink.deliver.versions import answered_by_legacy

URL = "https://api.cal.com/v2/bookings"


def invalid(*properties: str) -> dict[str, Any]:
    errors = [{"property": name, "constraints": {}} for name in properties]
    return {"status": "error", "error": {"message": "x", "details": {"errors": errors}}}


def test_the_older_contracts_answers_are_recognised() -> None:
    assert answered_by_legacy("POST", URL, 400, invalid("responses", "timeZone"))
    assert answered_by_legacy("GET", URL, 200, {"data": {"bookings": [], "nextCursor": None}})
    assert answered_by_legacy(
        "POST", f"{URL}/abc/cancel", 200, {"data": {"startTime": "2030-01-07T14:00:00.000Z"}}
    )
    gone = {"error": {"message": "Cannot POST /v2/bookings/abc/reschedule"}}
    assert answered_by_legacy("POST", f"{URL}/abc/reschedule", 404, gone)


def test_the_current_contracts_refusals_are_not_mistaken_for_it() -> None:
    assert not answered_by_legacy("POST", URL, 400, invalid("metadata", "attendee"))
    missing = {"error": {"message": "Booking with uid=abc was not found in the database"}}
    assert not answered_by_legacy("POST", f"{URL}/abc/cancel", 404, missing)
    assert not answered_by_legacy("POST", URL, 201, {"data": {"start": "2030-01-07T14:00Z"}})
    assert not answered_by_legacy(
        "POST", "https://api.cal.com/v2/event-types", 400, invalid("responses")
    )
