"""Event types, schedules, webhooks, out-of-office entries, /v2/me and authentication."""

from __future__ import annotations

from sandbox_contract import Api

from support.sandbox import SandboxHandle


def test_a_wrong_or_missing_key_gets_cal_coms_401(api: Api) -> None:
    wrong = api("GET", "/v2/me", api_key="cal_live_wrong")
    assert wrong.status == 401
    assert wrong.json["error"]["code"] == "UnauthorizedException"
    missing = api("GET", "/v2/me", api_key=None)
    assert missing.status == 401
    me = api("GET", "/v2/me")
    assert me.status == 200
    assert (
        me.data["id"] == 1 and me.data["username"] == "demo" and me.data["defaultScheduleId"] == 1
    )


def test_event_types_create_read_update_delete(api: Api) -> None:
    created = api(
        "POST",
        "/v2/event-types",
        {"title": "Demo", "slug": "demo-call", "lengthInMinutes": 45, "x": 1},
    )
    assert created.status == 201
    event_type = created.data
    assert event_type["id"] == 5 and event_type["lengthInMinutes"] == 45
    duplicate = api(
        "POST", "/v2/event-types", {"title": "Again", "slug": "demo-call", "lengthInMinutes": 15}
    )
    assert duplicate.status == 400
    invalid = api("POST", "/v2/event-types", {"title": "No length", "slug": "nolength"})
    assert invalid.status == 400
    assert invalid.json["error"]["details"]["errors"][0]["property"] == "lengthInMinutes"
    patched = api("PATCH", f"/v2/event-types/{event_type['id']}", {"title": "Renamed"})
    assert patched.status == 200 and patched.data["title"] == "Renamed"
    listed = api("GET", "/v2/event-types")
    assert [e["slug"] for e in listed.data] == [
        "30min",
        "intro-call",
        "weekly-check-in",
        "workshop",
        "demo-call",
    ]
    assert api("GET", "/v2/event-types/999").status == 404
    public = api("GET", "/v2/event-types?username=demo", api_key=None)
    assert len(public.data) == 5


def test_deleting_an_event_type_keeps_its_bookings(api: Api) -> None:
    event_type = api(
        "POST", "/v2/event-types", {"title": "T", "slug": "temp", "lengthInMinutes": 30}
    ).data
    made = api(
        "POST",
        "/v2/bookings",
        {
            "start": "2030-01-07T14:00:00Z",
            "eventTypeId": event_type["id"],
            "attendee": {"name": "Ada", "email": "ada@example.com", "timeZone": "UTC"},
        },
    ).data
    deleted = api("DELETE", f"/v2/event-types/{event_type['id']}")
    assert deleted.status == 200
    assert deleted.data == {
        "id": event_type["id"],
        "lengthInMinutes": 30,
        "title": "T",
        "slug": "temp",
    }
    assert api("GET", f"/v2/event-types/{event_type['id']}").status == 404
    kept = api("GET", f"/v2/bookings/{made['uid']}")
    assert kept.status == 200 and kept.data["status"] == "accepted"


def test_schedules_and_the_default_schedule(api: Api) -> None:
    created = api(
        "POST",
        "/v2/schedules",
        {
            "name": "Evenings",
            "timeZone": "Europe/Berlin",
            "isDefault": True,
            "availability": [{"days": ["Monday"], "startTime": "18:00", "endTime": "21:00"}],
            "overrides": [{"date": "2030-01-09", "startTime": "10:00", "endTime": "12:00"}],
        },
    )
    assert created.status == 201
    schedule = created.data
    assert schedule["id"] == 3 and schedule["isDefault"] is True
    assert api("GET", "/v2/me").data["defaultScheduleId"] == schedule["id"]
    assert api("GET", f"/v2/schedules/{schedule['id']}").data["name"] == "Evenings"
    assert [s["id"] for s in api("GET", "/v2/schedules").data] == [1, 3]
    slots = api(
        "GET", "/v2/slots?eventTypeId=1&start=2030-01-07&end=2030-01-09&timeZone=Europe/Berlin"
    ).data
    assert slots["2030-01-07"][0]["start"] == "2030-01-07T18:00:00.000+01:00"
    assert slots["2030-01-09"][0]["start"] == "2030-01-09T10:00:00.000+01:00"
    assert "2030-01-08" not in slots
    bad = api(
        "POST",
        "/v2/schedules",
        {
            "name": "x",
            "timeZone": "Nowhere/City",
            "isDefault": False,
            "availability": [{"days": ["Funday"], "startTime": "9", "endTime": "17:00"}],
        },
    )
    assert bad.status == 400


def test_webhooks_crud_and_duplicate_url(api: Api) -> None:
    body = {
        "subscriberUrl": "http://127.0.0.1:9/hook",
        "triggers": ["BOOKING_CREATED"],
        "active": True,
        "secret": "s3",
    }
    created = api("POST", "/v2/webhooks", body)
    assert created.status == 201
    hook = created.data
    assert isinstance(hook["id"], str) and hook["triggers"] == ["BOOKING_CREATED"]
    assert api("POST", "/v2/webhooks", body).status == 409
    patched = api("PATCH", f"/v2/webhooks/{hook['id']}", {"active": False})
    assert patched.data["active"] is False
    assert [w["id"] for w in api("GET", "/v2/webhooks").data] == [hook["id"]]
    assert api("DELETE", f"/v2/webhooks/{hook['id']}").status == 200
    assert api("GET", f"/v2/webhooks/{hook['id']}").status == 404
    assert api("POST", "/v2/webhooks", {"subscriberUrl": "x", "triggers": ["NOPE"]}).status == 400


def test_out_of_office_entries_snap_to_days_and_refuse_duplicates(api: Api) -> None:
    body = {
        "start": "2030-02-01T10:30:00.000Z",
        "end": "2030-02-03T08:00:00.000Z",
        "toUserId": 2,
        "reason": "vacation",
    }
    created = api("POST", "/v2/me/ooo", body)
    assert created.status == 201
    entry = created.data
    assert entry["start"] == "2030-02-01T00:00:00.000Z"
    assert entry["end"] == "2030-02-03T23:59:59.999Z"
    assert entry["toUserId"] == 2 and entry["reason"] == "vacation"
    assert api("POST", "/v2/me/ooo", body).status == 409
    backwards = {"start": "2030-03-05T00:00:00.000Z", "end": "2030-03-01T00:00:00.000Z"}
    assert api("POST", "/v2/me/ooo", backwards).status == 400
    to_self = {
        "start": "2030-04-01T00:00:00.000Z",
        "end": "2030-04-02T00:00:00.000Z",
        "toUserId": 1,
    }
    assert api("POST", "/v2/me/ooo", to_self).status == 400
    assert api("POST", "/v2/me/ooo", {"start": "2030-04-01", "end": "2030-04-02"}).status == 400
    assert [e["id"] for e in api("GET", "/v2/me/ooo").data] == [entry["id"]]


def test_unknown_routes_answer_404_in_the_envelope(api: Api, sandbox: SandboxHandle) -> None:
    response = api("GET", "/v2/nothing-here")
    assert response.status == 404
    assert response.json["error"]["code"] == "NotFoundException"
    assert response.json["path"] == "/v2/nothing-here"
