"""The booking fingerprint stamp: what it adds to the body, and what it leaves alone."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from calsink.deliver.reconcile import stamp
from calsink.records import Position, Request
from calsink.render import FINGERPRINT_FIELD, fingerprint

PAYLOAD = {
    "start": "2030-01-07T14:00:00Z",
    "eventTypeId": 1,
    "attendee": {"name": "Ada Lovelace", "email": "ada@example.com", "timeZone": "UTC"},
    "metadata": {"source": "crm"},
}


def _request(url: str = "http://127.0.0.1:8000/v2/bookings", method: str = "POST") -> Request:
    # A value for every field, so that a field stamp forgets to carry over shows up here.
    values: dict[str, Any] = {
        "method": method,
        "url": url,
        "headers": (("cal-api-version", "2024-08-13"),),
        "body": orjson.dumps(PAYLOAD),
        "payload": PAYLOAD,
        "positions": (Position("people.csv", 3, 5),),
        "records": ({"email": "ada@example.com"},),
        "key": "ada@example.com|2030-01-07",
        "template": "create-booking",
        "warnings": ("a warning",),
    }
    return Request(**{f.name: values[f.name] for f in dataclasses.fields(Request)})


def test_booking_create_gets_the_fingerprint_in_body_and_payload() -> None:
    request = _request()
    stamped = stamp(request, "nightly")
    mark = fingerprint("nightly", request.key)
    expected = {**PAYLOAD, "metadata": {"source": "crm", FINGERPRINT_FIELD: mark}}
    assert stamped.payload == expected
    assert orjson.loads(stamped.body or b"") == expected
    assert stamp(request, "nightly", mark) == stamped
    assert request.payload == PAYLOAD  # the original is left as it was


def test_stamp_keeps_every_other_field() -> None:
    request = _request()
    stamped = stamp(request, "nightly")
    for f in dataclasses.fields(Request):
        if f.name not in ("body", "payload"):
            assert getattr(stamped, f.name) == getattr(request, f.name), f.name


def test_only_booking_creates_are_stamped() -> None:
    for method, url in (
        ("POST", "http://127.0.0.1:8000/v2/event-types"),
        ("GET", "http://127.0.0.1:8000/v2/bookings"),
        ("POST", "http://127.0.0.1:8000/v2/bookings/abc/cancel"),
    ):
        request = _request(url, method)
        assert stamp(request, "nightly") is request
    assert stamp(_request(method="post"), "nightly").payload["metadata"][FINGERPRINT_FIELD]
