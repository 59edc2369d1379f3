"""Webhook deliveries: real HTTP posts, signed, retried, and never in the API's way."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sandbox_contract import Api

BOOKING = {
    "start": "2030-01-07T14:00:00Z",
    "eventTypeId": 1,
    "attendee": {"name": "Ada", "email": "ada@example.com", "timeZone": "UTC"},
}


class Receiver:
    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.attempts = 0
        self.fail_first = 0
        self.released = threading.Event()
        self.released.set()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.attempts += 1
                    failing = receiver.attempts <= receiver.fail_first
                receiver.released.wait(30)
                if failing:
                    self.send_response(500)
                else:
                    with receiver.lock:
                        receiver.received.append((dict(self.headers.items()), raw))
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[tuple[dict[str, str], bytes]]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} deliveries, got {len(self.received)}")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    thread = threading.Thread(target=found.server.serve_forever, daemon=True)
    thread.start()
    yield found
    found.server.shutdown()
    found.server.server_close()


def _subscribe(api: Api, url: str, triggers: list[str], secret: str | None = "whsec-test") -> None:
    body: dict[str, Any] = {"subscriberUrl": url, "triggers": triggers, "active": True}
    if secret is not None:
        body["secret"] = secret
    assert api("POST", "/v2/webhooks", body).status == 201


def test_deliveries_are_signed_with_hmac_of_the_raw_body(
    api: Api, receiver: Receiver, sandbox: Any
) -> None:
    _subscribe(api, receiver.url, ["BOOKING_CREATED", "BOOKING_CANCELLED"])
    logged = [r["json"] for r in sandbox.requests() if r["path"] == "/v2/webhooks"]
    assert logged[0]["secret"] == "sha256:" + hashlib.sha256(b"whsec-test").hexdigest()
    assert all(hook["hasSecret"] for hook in sandbox.state()["webhooks"])
    made = api("POST", "/v2/bookings", BOOKING).data
    api("POST", f"/v2/bookings/{made['uid']}/cancel", {"cancellationReason": "ill"})
    deliveries = receiver.wait_for(2)
    for headers, raw in deliveries:
        expected = hmac.new(b"whsec-test", raw, hashlib.sha256).hexdigest()
        assert headers["X-Cal-Signature-256"] == expected
        assert headers["Content-Type"] == "application/json"
    bodies = {json.loads(raw)["triggerEvent"]: json.loads(raw) for _, raw in deliveries}
    assert set(bodies) == {"BOOKING_CREATED", "BOOKING_CANCELLED"}
    assert all(b["payload"]["uid"] == made["uid"] for b in bodies.values())
    assert bodies["BOOKING_CANCELLED"]["payload"]["cancellationReason"] == "ill"
    assert set(bodies["BOOKING_CREATED"]) == {"triggerEvent", "createdAt", "payload"}


def test_without_a_secret_the_signature_header_says_so(api: Api, receiver: Receiver) -> None:
    _subscribe(api, receiver.url, ["BOOKING_REQUESTED", "BOOKING_REJECTED"], secret=None)
    pending = api("POST", "/v2/bookings", {**BOOKING, "eventTypeId": 2}).data
    api("POST", f"/v2/bookings/{pending['uid']}/decline", {})
    deliveries = receiver.wait_for(2)
    assert {h["X-Cal-Signature-256"] for h, _ in deliveries} == {"no-secret-provided"}
    triggers = sorted(json.loads(raw)["triggerEvent"] for _, raw in deliveries)
    assert triggers == ["BOOKING_REJECTED", "BOOKING_REQUESTED"]


def test_reschedule_and_ooo_events_are_delivered(api: Api, receiver: Receiver) -> None:
    _subscribe(api, receiver.url, ["BOOKING_RESCHEDULED", "OOO_CREATED"])
    made = api("POST", "/v2/bookings", BOOKING).data
    api("POST", f"/v2/bookings/{made['uid']}/reschedule", {"start": "2030-01-08T14:00:00Z"})
    api(
        "POST",
        "/v2/me/ooo",
        {"start": "2030-02-01T00:00:00.000Z", "end": "2030-02-02T00:00:00.000Z"},
    )
    triggers = sorted(json.loads(raw)["triggerEvent"] for _, raw in receiver.wait_for(2))
    assert triggers == ["BOOKING_RESCHEDULED", "OOO_CREATED"]


def test_failed_deliveries_are_retried(api: Api, receiver: Receiver, sandbox: Any) -> None:
    receiver.fail_first = 2
    _subscribe(api, receiver.url, ["BOOKING_CREATED"])
    api("POST", "/v2/bookings", BOOKING)
    receiver.wait_for(1)
    assert receiver.attempts == 3
    deadline = time.monotonic() + 5
    while not sandbox.state()["deliveries"] and time.monotonic() < deadline:
        time.sleep(0.02)
    logged = sandbox.state()["deliveries"]
    assert logged[-1]["delivered"] is True and logged[-1]["attempts"] == 3


def test_a_slow_subscriber_does_not_slow_the_api(api: Api, receiver: Receiver) -> None:
    receiver.released.clear()  # the subscriber holds every delivery until released
    _subscribe(api, receiver.url, ["BOOKING_CREATED"])
    for hour in (14, 15, 16):
        assert (
            api("POST", "/v2/bookings", {**BOOKING, "start": f"2030-01-07T{hour}:00:00Z"}).status
            == 201
        )
    assert receiver.received == [], "every booking was answered while its delivery was held"
    receiver.released.set()
    receiver.wait_for(3)


def test_deliveries_left_out_when_the_queue_is_full_are_counted_in_the_state() -> None:
    import asyncio

    from calsink.sandbox import SandboxConfig
    from calsink.sandbox.app import SandboxApp
    from calsink.sandbox.delivery import WebhookDispatcher
    from calsink.sandbox.model import Webhook

    app = SandboxApp(SandboxConfig(api_keys=["cal_test_k"]))
    user = next(iter(app.store.users))
    app.store.webhooks["w1"] = Webhook(
        "w1", user, "http://127.0.0.1:9/h", ["PING"], True, None, None
    )

    async def emit_three() -> None:
        app.dispatcher = WebhookDispatcher(app.store, queue_size=1, workers=1)
        for _ in range(3):  # no turn of the loop between them: the worker takes none yet
            app.dispatcher.emit("PING", user, dict)
        await app.dispatcher.close()

    asyncio.run(emit_three())
    state = app.snapshot()
    assert state["deliveries_dropped"] == 2
    assert [entry["error"] for entry in state["deliveries"]] == ["queue full", "queue full"]
