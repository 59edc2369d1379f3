"""Rate limiting, injected faults and the request log, seen from a real client."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request

import pytest
from sandbox_contract import Api

from support.sandbox import SandboxHandle

BOOKING = {
    "start": "2030-01-07T14:00:00Z",
    "eventTypeId": 1,
    "attendee": {"name": "Ada", "email": "ada@example.com", "timeZone": "UTC"},
}


def _raw_post(
    sandbox: SandboxHandle, path: str, body: object, timeout: float = 5.0
) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=timeout)
    headers = {
        "Authorization": f"Bearer {sandbox.api_key}",
        "cal-api-version": "2024-08-13",
        "Content-Type": "application/json",
    }
    connection.request("POST", path, json.dumps(body), headers)
    return connection.getresponse()


def test_rate_limit_headers_and_429(api: Api, sandbox: SandboxHandle) -> None:
    sandbox.set_rate_limit(3)
    remaining = []
    for _ in range(3):
        response = api("GET", "/v2/me")
        assert response.status == 200
        headers = {k.lower(): v for k, v in response.headers.items()}
        assert headers["x-ratelimit-limit-default"] == "3"
        assert 0 < int(headers["x-ratelimit-reset-default"]) <= 60
        remaining.append(int(headers["x-ratelimit-remaining-default"]))
    assert remaining == [2, 1, 0]
    throttled = api("GET", "/v2/me")
    assert throttled.status == 429
    assert throttled.json["error"]["code"] == "ThrottlerException"
    assert int({k.lower(): v for k, v in throttled.headers.items()}["retry-after"]) >= 1
    other_key = api("GET", "/v2/me", api_key="cal_other_key")
    assert other_key.status == 401  # counted separately, then refused for the unknown key


def test_status_faults_are_scoped_counted_and_logged(api: Api, sandbox: SandboxHandle) -> None:
    sandbox.set_faults({"spec": "429=7@1#2:POST /v2/bookings"})
    first = api("POST", "/v2/bookings", BOOKING)
    assert first.status == 429
    assert {k.lower(): v for k, v in first.headers.items()}["retry-after"] == "7"
    assert api("GET", "/v2/me").status == 200
    assert api("POST", "/v2/bookings", BOOKING).status == 429
    assert api("POST", "/v2/bookings", BOOKING).status == 201
    faults = [r["fault"] for r in sandbox.requests()]
    assert faults == ["429", None, "429", None]
    assert len(sandbox.state()["bookings"]) == 1


def test_drop_before_closes_the_connection_without_processing(sandbox: SandboxHandle) -> None:
    sandbox.set_faults(
        {"rules": [{"kind": "drop-before", "method": "POST", "path": "/v2/bookings"}]}
    )
    with pytest.raises(
        (http.client.RemoteDisconnected, ConnectionResetError, http.client.IncompleteRead)
    ):
        _raw_post(sandbox, "/v2/bookings", BOOKING).read()
    assert sandbox.state()["bookings"] == []
    assert sandbox.requests()[-1]["fault"] == "drop-before"


def test_drop_after_commits_then_closes(sandbox: SandboxHandle) -> None:
    sandbox.set_faults(
        {"rules": [{"kind": "drop-after", "method": "POST", "path": "/v2/bookings"}]}
    )
    with pytest.raises(
        (http.client.RemoteDisconnected, ConnectionResetError, http.client.IncompleteRead)
    ):
        _raw_post(sandbox, "/v2/bookings", BOOKING).read()
    bookings = sandbox.state()["bookings"]
    assert len(bookings) == 1 and bookings[0]["start"] == "2030-01-07T14:00:00.000Z"
    logged = sandbox.requests()[-1]
    assert logged["fault"] == "drop-after" and logged["status"] == 201


def test_malformed_truncated_and_huge_bodies(sandbox: SandboxHandle) -> None:
    sandbox.set_faults({"spec": "malformed@1#1,truncated@1#1,huge@1#1"})
    for _spoiled in ("malformed", "truncated"):
        response = sandbox.call("GET", "/v2/me")
        assert response.status == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.body)
    huge = sandbox.call("GET", "/v2/me")
    assert len(huge.body) > 50_000_000
    assert huge.json["data"]["username"] == "demo"
    assert [r["fault"] for r in sandbox.requests()] == ["malformed", "truncated", "huge"]


def test_an_empty_answer_keeps_the_status_and_the_change(sandbox: SandboxHandle) -> None:
    sandbox.set_faults({"spec": "empty@1#1:POST /v2/bookings"})
    response = sandbox.call("POST", "/v2/bookings", BOOKING)
    assert (response.status, response.body) == (201, b"")
    assert len(sandbox.state()["bookings"]) == 1
    assert sandbox.requests()[-1]["fault"] == "empty"


def test_latency_and_timeout(sandbox: SandboxHandle) -> None:
    sandbox.set_faults({"spec": "latency=300ms@1#1"})
    started = time.monotonic()
    assert sandbox.call("GET", "/v2/me").status == 200
    assert time.monotonic() - started >= 0.3
    sandbox.set_faults({"spec": "timeout=2s@1#1:GET /v2/me"})
    request = urllib.request.Request(
        sandbox.url + "/v2/me", headers={"Authorization": f"Bearer {sandbox.api_key}"}
    )
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        urllib.request.urlopen(request, timeout=0.5)
    assert sandbox.call("GET", "/v2/me").status == 200


def test_bad_fault_rules_are_refused_with_a_reason(sandbox: SandboxHandle) -> None:
    request = urllib.request.Request(
        sandbox.url + "/_sandbox/faults",
        data=json.dumps({"spec": "explode@1"}).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 400
    assert "explode" in json.loads(caught.value.read())["error"]
