"""The booking fingerprint: render writes it into what is sent, for booking creates only."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from calsink.flow import DestinationSettings
from calsink.records import Position, Request
from calsink.render import FINGERPRINT_FIELD, Renderer, fingerprint

BASE = "http://127.0.0.1:8000"
RECORD = {
    "start": "2030-01-07T14:00:00Z",
    "eventTypeId": 1,
    "attendee": {"name": "Ada Lovelace", "email": "ada@example.com", "timeZone": "UTC"},
    "metadata": {"source": "crm"},
}


def _render(destination: dict[str, Any], record: dict[str, Any], **options: Any) -> Request:
    settings = DestinationSettings.model_validate(
        {"api_key_env": "CALSINK_TEST_KEY", "base_url": BASE, **destination}
    )
    renderer = Renderer(settings, fingerprint_flow="nightly", **options)
    request = renderer.render(Position("people.csv", 3, 5), record, record)
    assert isinstance(request, Request), request
    return request


@pytest.mark.parametrize(
    "destination",
    [
        {"template": "create-booking"},
        {"template": "create-booking", "exclude": ["metadata.source"]},  # the general path
        {
            "manual": {
                "method": "POST",
                "url": "/v2/bookings",
                "headers": "cal-api-version:2026-02-25",
            }
        },
    ],
)
@pytest.mark.parametrize("key", [["attendee.email", "start"], None])
def test_a_booking_create_is_sent_with_its_fingerprint(
    destination: dict[str, Any], key: list[str] | None
) -> None:
    record = orjson.loads(orjson.dumps(RECORD))
    request = _render(destination, record, key_fields=key)
    mark = fingerprint("nightly", request.key)
    assert request.payload["metadata"][FINGERPRINT_FIELD] == mark
    assert orjson.loads(request.body or b"") == request.payload
    assert request.action.creates == "booking"
    assert record == RECORD  # the record is left as it was


def test_a_record_that_carries_a_fingerprint_keeps_it() -> None:
    record = {**RECORD, "metadata": {FINGERPRINT_FIELD: "mine"}}
    request = _render({"template": "create-booking"}, record, key_fields=["start"])
    assert request.payload["metadata"] == {FINGERPRINT_FIELD: "mine"}


@pytest.mark.parametrize(
    ("destination", "record"),
    [
        ({"template": "create-event-type"}, {"title": "T", "slug": "t", "lengthInMinutes": 30}),
        ({"template": "cancel-booking"}, {"uid": "abc", "metadata": {}}),
        (
            {
                "manual": {
                    "method": "POST",
                    "url": "/v2/bookings/{uid}/cancel",
                    "headers": "cal-api-version:2026-02-25",
                }
            },
            {"uid": "abc"},
        ),
    ],
)
def test_only_booking_creates_carry_a_fingerprint(
    destination: dict[str, Any], record: dict[str, Any]
) -> None:
    request = _render(destination, record, key_fields=["uid"] if "uid" in record else None)
    assert FINGERPRINT_FIELD not in orjson.dumps(request.payload).decode()
