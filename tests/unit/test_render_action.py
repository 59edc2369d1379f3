"""What a request does is known at render, once: from the template, or from the template
whose route a manual URL is; the engine reads it from the request."""

from __future__ import annotations

from typing import Any

import pytest

from calsink.flow import DestinationSettings, LoadedFlow, parse_flow
from calsink.records import Position, Request
from calsink.render import Renderer
from calsink.runner import is_destructive

V = "cal-api-version:2026-02-25"


def _request(destination: dict[str, Any], record: dict[str, Any]) -> Request:
    settings = DestinationSettings.model_validate(
        {"api_key_env": "CALSINK_TEST_KEY", "base_url": "http://127.0.0.1:8000", **destination}
    )
    request = Renderer(settings).render(Position("x.csv", 0, 2), record, record)
    assert isinstance(request, Request), request
    return request


@pytest.mark.parametrize(
    ("destination", "record", "expected"),
    [
        ({"template": "cancel-booking"}, {"uid": "bk 1"}, ("cancel", "bk%201", True)),
        ({"template": "delete-event-type"}, {"id": 5}, ("delete-event-type", "5", True)),
        (
            {"manual": {"method": "POST", "url": "/v2/bookings/{ref}/reschedule", "headers": V}},
            {"ref": "abc", "start": "2030-01-07T14:00:00Z"},
            ("reschedule", "abc", False),
        ),
        (
            {"manual": {"method": "POST", "url": "/v2/bookings/fixed/confirm", "headers": V}},
            {},
            ("confirm", "fixed", False),
        ),
        (
            {"manual": {"method": "POST", "url": "/v2/bookings/{uid}/cancel?x=1", "headers": V}},
            {"uid": "u1"},
            ("cancel", "u1", True),
        ),
    ],
)
def test_a_change_carries_its_target(
    destination: dict[str, Any], record: dict[str, Any], expected: tuple[str, str, bool]
) -> None:
    action = _request(destination, record).action
    assert (action.change, action.target, action.destructive) == expected
    assert action.creates is None


def test_a_manual_request_at_no_known_route_does_nothing_calsink_tracks() -> None:
    request = _request({"manual": {"method": "POST", "url": "/hooks/{id}"}}, {"id": 1})
    assert request.action.creates is None and request.action.change is None


def test_a_manual_delete_of_an_event_type_is_destructive(tmp_path: Any) -> None:
    flow = parse_flow(
        """
version: 1
name: cleanup
source: {path: ids.csv}
destination:
  api_key_env: CALSINK_TEST_KEY
  base_url: http://127.0.0.1:8000
  manual: {method: DELETE, url: "/v2/event-types/{id}", headers: "cal-api-version:2024-06-14"}
"""
    )
    assert is_destructive(LoadedFlow(flow, None, tmp_path))
