"""Which controller answers: Cal.com's versioning, and an older server that lacks a version.

Upstream (calcom/cal.com, apps/api/v2/src): bootstrap.ts routes a missing or unknown
cal-api-version to 2024-04-15; EventTypesController_2024_04_15 declares 2024-04-15 and
2024-06-11 (ee/event-types/event-types_2024_04_15/controllers/event-types.controller.ts),
SchedulesController_2024_04_15 declares 2024-04-15 (ee/schedules/schedules_2024_04_15/
controllers/schedules.controller.ts), SlotsController_2024_04_15 has no GET /v2/slots
(modules/slots/slots-2024-04-15/controllers/slots.controller.ts). A known version no
controller of a path declares finds no route: NestJS's 404 "Cannot METHOD path".
"""

from __future__ import annotations

import subprocess
import sys

from support.sandbox import SandboxHandle, running_sandbox

OLDER_SERVER = "2024-04-15,2024-06-11,2024-06-14,2024-08-13,2024-09-04"
SLOTS = "/v2/slots?eventTypeId=1&start=2030-01-07&end=2030-01-07"


def properties(response: object) -> set[str]:
    errors = response.json["error"]["details"]["errors"]  # type: ignore[attr-defined]
    return {error["property"] for error in errors}


def test_slots_without_its_version_is_not_a_route(sandbox: SandboxHandle) -> None:
    for version in (None, "2024-08-13", "someday"):
        answer = sandbox.call("GET", SLOTS, version=version)
        assert answer.status == 404, version
        assert answer.json["error"]["message"] == "Cannot GET /v2/slots"
    assert sandbox.call("GET", SLOTS).status == 200


def test_event_types_without_a_version_meet_the_2024_04_15_controller(
    sandbox: SandboxHandle,
) -> None:
    public = "/v2/event-types?username=demo"
    assert sandbox.call("GET", public, version="2024-06-14", api_key=None).status == 200
    assert sandbox.call("GET", public, version=None, api_key=None).status == 401
    newer_body = {"title": "Intro", "slug": "intro", "lengthInMinutes": 30}
    refused = sandbox.call("POST", "/v2/event-types", newer_body, version=None)
    assert refused.status == 400
    assert properties(refused) == {"length"}
    older_body = {"title": "Intro", "slug": "intro", "length": 30}
    valid = sandbox.call("POST", "/v2/event-types", older_body, version="2024-06-11")
    assert valid.status == 400
    assert "cal-api-version: 2024-06-14" in valid.json["error"]["message"]
    assert sandbox.call("GET", "/v2/event-types/1", version="2024-08-13").status == 404
    assert sandbox.state()["event_types"][-1]["slug"] != "intro"


def test_schedules_without_a_version_meet_the_2024_04_15_controller(
    sandbox: SandboxHandle,
) -> None:
    body = {"name": "Evenings", "timeZone": "Europe/Rome", "availability": []}
    refused = sandbox.call("POST", "/v2/schedules", body, version=None)
    assert refused.status == 400
    assert properties(refused) == {"isDefault"}
    assert sandbox.call("GET", "/v2/schedules", version=None, api_key=None).status == 401
    assert sandbox.call("GET", "/v2/schedules", version="2024-06-14").status == 404
    assert sandbox.call("GET", "/v2/schedules").status == 200


def test_an_older_server_answers_2026_02_25_with_the_legacy_contract() -> None:
    """A self-hosted Cal.com whose API_VERSIONS lack 2026-02-25 treats it as unknown."""
    booking = {
        "start": "2030-01-07T14:00:00Z",
        "eventTypeId": 1,
        "attendee": {"name": "Ada", "email": "ada@example.com", "timeZone": "UTC"},
    }
    with running_sandbox("--api-versions", OLDER_SERVER) as older:
        listed = older.call("GET", "/v2/bookings?take=1", version="2026-02-25")
        assert listed.status == 200 and "bookings" in listed.data
        refused = older.call("POST", "/v2/bookings", booking, version="2026-02-25")
        assert refused.status == 400
        assert "responses" in properties(refused)
        made = older.call("POST", "/v2/bookings", booking, version="2024-08-13")
        assert made.status == 201 and made.data["start"] == "2030-01-07T14:00:00.000Z"


def test_an_unknown_api_version_option_is_refused() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "calsink", "sandbox", "--api-versions", "2024-08-13,2027-01-01"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "2027-01-01 is not a Cal.com API version" in done.stderr
