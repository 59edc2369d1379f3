"""Bookings against the running sandbox: Cal.com's rules, not only its shapes."""

from __future__ import annotations

from functools import partial

from sandbox_contract import Api

from support.sandbox import MONDAY_9AM, SandboxHandle
from support.sandbox import booking as sandbox_booking

booking = partial(sandbox_booking, zone="Europe/London")


def test_a_booking_is_created_accepted_and_unknown_fields_are_stripped(
    api: Api, sandbox: SandboxHandle
) -> None:
    created = api("POST", "/v2/bookings", booking(favouriteColour="blue"))
    assert created.status == 201
    data = created.data
    assert data["status"] == "accepted"
    assert data["start"] == "2030-01-07T14:00:00.000Z"
    assert data["end"] == "2030-01-07T14:30:00.000Z"
    assert data["eventType"] == {"id": 1, "slug": "30min"}
    assert data["hosts"][0]["username"] == "demo"
    assert "favouriteColour" not in created.body.decode()
    fetched = api("GET", f"/v2/bookings/{data['uid']}")
    assert fetched.status == 200
    assert fetched.data["uid"] == data["uid"]
    logged = [r for r in sandbox.requests() if r["method"] == "POST"]
    assert logged[-1]["json"]["favouriteColour"] == "blue"
    assert logged[-1]["status"] == 201


def test_an_event_type_can_be_named_by_slug_and_username(api: Api) -> None:
    body = booking()
    del body["eventTypeId"]
    made = api("POST", "/v2/bookings", {**body, "eventTypeSlug": "intro-call", "username": "demo"})
    assert made.status == 201
    assert made.data["eventType"] == {"id": 2, "slug": "intro-call"}
    assert made.data["status"] == "pending"
    unknown = api("POST", "/v2/bookings", {**body, "eventTypeSlug": "nope", "username": "demo"})
    assert unknown.status == 404
    assert api("POST", "/v2/bookings", booking(event_type_id=99)).status == 404


def test_a_taken_slot_and_an_unavailable_time_are_refused_with_400(api: Api) -> None:
    assert api("POST", "/v2/bookings", booking()).status == 201
    taken = api("POST", "/v2/bookings", booking())
    assert taken.status == 400
    assert taken.json["error"]["code"] == "BadRequestException"
    saturday = api("POST", "/v2/bookings", booking("2030-01-12T15:00:00Z"))
    assert saturday.status == 400
    evening = api("POST", "/v2/bookings", booking("2030-01-07T23:00:00Z"))
    assert evening.status == 400
    overlapping = api("POST", "/v2/bookings", booking("2030-01-07T14:15:00Z"))
    assert overlapping.status == 400


def test_validation_errors_have_cal_coms_shape(api: Api) -> None:
    response = api(
        "POST",
        "/v2/bookings",
        {
            "start": "next tuesday",
            "eventTypeId": 1,
            "attendee": {"name": "A", "timeZone": "Mars/Base"},
        },
    )
    assert response.status == 400
    errors = response.json["error"]["details"]["errors"]
    by_property = {e["property"]: e for e in errors}
    assert "isDateString" in by_property["start"]["constraints"]
    attendee = {c["property"]: c for c in by_property["attendee"]["children"]}
    assert "isTimeZone" in attendee["timeZone"]["constraints"]
    assert "email" in attendee  # neither email nor phone number


def test_missing_or_unknown_version_falls_back_to_the_legacy_contract(api: Api) -> None:
    for version in (None, "2023-01-01"):
        response = api("POST", "/v2/bookings", booking(), version=version)
        assert response.status == 400
        properties = {e["property"] for e in response.json["error"]["details"]["errors"]}
        assert {"responses", "timeZone", "language", "metadata"} <= properties
    legacy = api(
        "POST",
        "/v2/bookings",
        {
            "start": MONDAY_9AM,
            "eventTypeId": 1,
            "timeZone": "Europe/London",
            "language": "en",
            "metadata": {},
            "responses": {"name": "Ada", "email": "ada@example.com"},
        },
        version=None,
    )
    assert legacy.status == 201
    assert legacy.data["status"] == "ACCEPTED"
    assert "startTime" in legacy.data
    confirm = api("POST", f"/v2/bookings/{legacy.data['uid']}/confirm", version=None)
    assert confirm.status == 404
    newest = api("POST", "/v2/bookings", booking("2030-01-07T15:00:00Z"), version="2026-02-25")
    assert newest.status == 201


def test_confirmation_required_bookings_are_pending_until_confirmed_or_declined(api: Api) -> None:
    first = api("POST", "/v2/bookings", booking(event_type_id=2)).data
    assert first["status"] == "pending"
    confirmed = api("POST", f"/v2/bookings/{first['uid']}/confirm")
    assert confirmed.status == 200
    assert confirmed.data["status"] == "accepted"
    again = api("POST", f"/v2/bookings/{first['uid']}/confirm")
    assert again.status == 400
    second = api("POST", "/v2/bookings", booking("2030-01-07T15:00:00Z", event_type_id=2)).data
    declined = api("POST", f"/v2/bookings/{second['uid']}/decline", {"reason": "busy"})
    assert declined.status == 200
    assert declined.data["status"] == "rejected"
    assert api("POST", f"/v2/bookings/{first['uid']}/decline", {}).status == 400
    assert api("POST", "/v2/bookings/no-such-uid/confirm").status == 404


def test_reschedule_creates_a_new_booking_and_cancels_the_old_one(api: Api) -> None:
    old = api("POST", "/v2/bookings", booking()).data
    moved = api(
        "POST",
        f"/v2/bookings/{old['uid']}/reschedule",
        {
            "start": "2030-01-08T15:00:00Z",
            "reschedulingReason": "clash",
            "rescheduledBy": "ada@example.com",
        },
    )
    assert moved.status == 201
    new = moved.data
    assert new["uid"] != old["uid"]
    assert new["rescheduledFromUid"] == old["uid"]
    assert new["status"] == "accepted"
    assert new["start"] == "2030-01-08T15:00:00.000Z"
    assert new["attendees"][0]["email"] == "ada@example.com"
    previous = api("GET", f"/v2/bookings/{old['uid']}").data
    assert previous["status"] == "cancelled"
    assert previous["rescheduledToUid"] == new["uid"]
    # the freed slot can be booked again
    assert api("POST", "/v2/bookings", booking()).status == 201


def test_cancelling_twice_is_refused(api: Api) -> None:
    made = api("POST", "/v2/bookings", booking()).data
    cancelled = api("POST", f"/v2/bookings/{made['uid']}/cancel", {"cancellationReason": "ill"})
    assert cancelled.status == 200
    assert cancelled.data["status"] == "cancelled"
    assert cancelled.data["cancellationReason"] == "ill"
    assert api("POST", f"/v2/bookings/{made['uid']}/cancel", {}).status == 400


def test_recurring_event_types_create_the_series_and_cancel_subsequent(api: Api) -> None:
    created = api("POST", "/v2/bookings", booking(event_type_id=3))
    assert created.status == 201
    series = created.data
    assert isinstance(series, list) and len(series) == 4
    assert [b["start"][:10] for b in series] == [
        "2030-01-07",
        "2030-01-14",
        "2030-01-21",
        "2030-01-28",
    ]
    assert len({b["recurringBookingUid"] for b in series}) == 1
    too_many = api(
        "POST", "/v2/bookings", booking("2030-02-04T14:00:00Z", event_type_id=3, recurrenceCount=5)
    )
    assert too_many.status == 400
    cancelled = api(
        "POST",
        f"/v2/bookings/{series[1]['uid']}/cancel",
        {"cancelSubsequentBookings": True, "cancellationReason": "ill"},
    )
    assert cancelled.status == 200
    statuses = [api("GET", f"/v2/bookings/{b['uid']}").data["status"] for b in series]
    assert statuses == ["accepted", "cancelled", "cancelled", "cancelled"]
    whole = api("GET", f"/v2/bookings/{series[0]['recurringBookingUid']}")
    assert [b["uid"] for b in whole.data] == [b["uid"] for b in series]


def test_seated_event_types_fill_their_seats(api: Api) -> None:
    start = "2030-01-09T15:00:00Z"
    seats = []
    for index in range(5):
        attendee = {
            "name": f"Guest {index}",
            "email": f"guest{index}@example.com",
            "timeZone": "UTC",
        }
        response = api("POST", "/v2/bookings", booking(start, event_type_id=4, attendee=attendee))
        assert response.status == 201
        seats.append(response.data)
    assert len({s["uid"] for s in seats}) == 1
    assert len({s["seatUid"] for s in seats}) == 5
    full = api(
        "POST",
        "/v2/bookings",
        booking(
            start,
            event_type_id=4,
            attendee={"name": "Late", "email": "late@example.com", "timeZone": "UTC"},
        ),
    )
    assert full.status == 409  # upstream: "No more seats left at this seated booking."
    cancelled = api(
        "POST",
        f"/v2/bookings/{seats[0]['uid']}/cancel",
        {"seatUid": seats[0]["seatUid"], "cancellationReason": "ill"},
    )
    assert cancelled.status == 200
    assert len(cancelled.data["attendees"]) == 4
    slots = api("GET", "/v2/slots?eventTypeId=4&start=2030-01-09&end=2030-01-09").data
    at_ten = [s for s in slots["2030-01-09"] if s["start"].startswith("2030-01-09T15:00")]
    assert at_ten[0]["attendeesCount"] == 4
    assert at_ten[0]["bookingUid"] == seats[0]["uid"]
    by_guest = api("POST", f"/v2/bookings/{seats[0]['uid']}/cancel", {}, api_key=None)
    assert by_guest.status == 401  # a guest cancels a seat, not the whole booking
    by_host = api("POST", f"/v2/bookings/{seats[0]['uid']}/cancel", {"cancellationReason": "x"})
    assert by_host.status == 200 and by_host.data["status"] == "cancelled"
    assert by_host.data["attendees"] == []  # 2024-08-13 hides the seats of a cancelled booking
    newest = api("GET", f"/v2/bookings/{seats[0]['uid']}", version="2026-02-25")
    assert len(newest.data["attendees"]) == 4


def test_listing_filters_and_paginates(api: Api) -> None:
    for hour in (14, 15, 16):
        api("POST", "/v2/bookings", booking(f"2030-01-07T{hour}:00:00Z"))
    other = booking("2030-01-08T14:00:00Z")
    other["attendee"] = {"name": "Grace Hopper", "email": "grace@example.com", "timeZone": "UTC"}
    made = api("POST", "/v2/bookings", other).data
    api("POST", f"/v2/bookings/{made['uid']}/cancel", {"cancellationReason": "ill"})
    page = api("GET", "/v2/bookings?take=2&skip=0&status=upcoming")
    assert page.status == 200
    assert [b["start"][11:16] for b in page.data] == ["14:00", "15:00"]
    assert page.json["pagination"]["totalItems"] == 3
    assert page.json["pagination"]["hasNextPage"] is True
    second = api("GET", "/v2/bookings?take=2&skip=2&status=upcoming")
    assert len(second.data) == 1
    assert second.json["pagination"]["hasPreviousPage"] is True
    cancelled = api("GET", "/v2/bookings?status=cancelled&attendeeEmail=grace@example.com")
    assert [b["uid"] for b in cancelled.data] == [made["uid"]]
    desc = api("GET", "/v2/bookings?sortStart=desc&afterStart=2030-01-07T14:30:00Z")
    assert [b["start"][:16] for b in desc.data] == [
        "2030-01-08T14:00",
        "2030-01-07T16:00",
        "2030-01-07T15:00",
    ]
    assert api("GET", "/v2/bookings?status=someday").status == 400
    assert api("GET", "/v2/bookings", api_key=None).status == 401


def test_slots_follow_the_schedule_bookings_buffers_and_time_zone(api: Api) -> None:
    slots = api(
        "GET", "/v2/slots?eventTypeId=1&start=2030-01-07&end=2030-01-07&timeZone=America/New_York"
    ).data
    monday = [s["start"] for s in slots["2030-01-07"]]
    assert len(monday) == 16
    assert monday[0] == "2030-01-07T09:00:00.000-05:00"
    assert monday[-1] == "2030-01-07T16:30:00.000-05:00"
    weekend = api("GET", "/v2/slots?eventTypeId=1&start=2030-01-12&end=2030-01-13").data
    assert weekend == {}
    paris = api(
        "GET",
        "/v2/slots?eventTypeId=1&start=2030-01-07&end=2030-01-07&timeZone=Europe/Paris&format=range",
    )
    first = paris.data["2030-01-07"][0]
    assert first == {
        "start": "2030-01-07T15:00:00.000+01:00",
        "end": "2030-01-07T15:30:00.000+01:00",
    }
    buffered = api(
        "POST",
        "/v2/event-types",
        {"title": "Buffered", "slug": "buffered", "lengthInMinutes": 30, "afterEventBuffer": 30},
    ).data
    api("POST", "/v2/bookings", booking("2030-01-07T15:00:00Z", event_type_id=buffered["id"]))
    after = api(
        "GET", "/v2/slots?eventTypeId=1&start=2030-01-07&end=2030-01-07&timeZone=America/New_York"
    ).data
    remaining = {s["start"][11:16] for s in after["2030-01-07"]}
    assert "10:00" not in remaining and "10:30" not in remaining
    assert "09:30" in remaining and "11:00" in remaining
    api(
        "POST",
        "/v2/me/ooo",
        {"start": "2030-01-08T00:00:00.000Z", "end": "2030-01-08T23:59:59.999Z"},
    )
    away = api("GET", "/v2/slots?eventTypeId=1&start=2030-01-08&end=2030-01-08").data
    assert away == {}
    assert api("POST", "/v2/bookings", booking("2030-01-08T14:00:00Z")).status == 400
    bad = api("GET", "/v2/slots?start=2030-01-08&end=2030-01-08")
    assert bad.status == 400
