"""The sandbox never sends a webhook delivery off this machine."""

from __future__ import annotations

import time
from typing import Any

from calsink.sandbox.delivery import LOCAL_ONLY, is_local_url


def test_only_loopback_subscribers_count_as_local() -> None:
    assert is_local_url("http://127.0.0.1:9/hook")
    assert is_local_url("http://127.8.9.10/hook")
    assert is_local_url("http://[::1]:8080/hook")
    assert is_local_url("http://localhost/hook")
    assert not is_local_url("https://hooks.example.org/cal")
    assert not is_local_url("http://10.0.0.1/hook")
    assert not is_local_url("http://localhost.example.org/hook")


def test_a_delivery_to_another_host_is_recorded_as_not_sent(sandbox: Any) -> None:
    created = sandbox.call(
        "POST",
        "/v2/webhooks",
        {
            "subscriberUrl": "https://hooks.example.org/cal",
            "triggers": ["BOOKING_CREATED"],
            "active": True,
        },
    )
    assert created.status == 201
    booked = sandbox.call(
        "POST",
        "/v2/bookings",
        {
            "start": "2030-01-07T15:00:00Z",
            "eventTypeId": 1,
            "attendee": {"name": "Off Site", "email": "off@example.com", "timeZone": "UTC"},
        },
    )
    assert booked.status == 201
    deadline = time.monotonic() + 5
    deliveries: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not deliveries:
        deliveries = [
            d
            for d in sandbox.state().get("deliveries", [])
            if d.get("url") == "https://hooks.example.org/cal"
        ]
        time.sleep(0.05)
    assert deliveries, "the delivery attempt should be recorded"
    assert deliveries[0]["delivered"] is False
    assert deliveries[0]["error"] == LOCAL_ONLY
    assert deliveries[0]["attempts"] == 0
