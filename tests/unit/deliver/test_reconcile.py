"""What a look-up takes for the record's resource: every identifying field, compared the way
Cal.com may echo it back; when it cannot tell, it says why instead of picking one."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from calsink.deliver.reconcile import LookupResult, look_up
from calsink.endpoints import TEMPLATES
from calsink.http.transport import Response
from calsink.records import Position, Request

SCHEDULE = {
    "name": "Mornings",
    "timeZone": "Europe/London",
    "availability": [
        {"days": ["Monday", "Tuesday"], "startTime": "08:00", "endTime": "12:00"},
        {"days": ["Friday"], "startTime": "09:00", "endTime": "10:00"},
    ],
}


def _ask(payload: dict[str, Any], listed: list[dict[str, Any]]) -> LookupResult:
    request = Request(
        "POST",
        "http://127.0.0.1:1/v2/schedules",
        (),
        orjson.dumps(payload),
        payload,
        (Position("schedules.jsonl", 1, 0),),
        (payload,),
        "Mornings",
        "create-schedule",
        action=TEMPLATES["create-schedule"].action,
    )
    answer = orjson.dumps({"status": "success", "data": listed})

    async def get(url: str, headers: dict[str, str]) -> Response:
        return Response(200, {}, answer, 0.0, orjson.loads(answer))

    return asyncio.run(look_up(request, get))


def test_availability_grouped_and_ordered_another_way_is_the_same_schedule() -> None:
    echoed = {
        **SCHEDULE,
        "id": 7,
        "availability": [
            {"days": ["Friday"], "startTime": "09:00", "endTime": "10:00"},
            {"days": ["Tuesday"], "startTime": "08:00", "endTime": "12:00"},
            {"days": ["Monday"], "startTime": "08:00", "endTime": "12:00"},
        ],
    }
    assert _ask(SCHEDULE, [echoed]).found == echoed


def test_another_time_zone_or_other_hours_is_another_schedule() -> None:
    other_zone = {**SCHEDULE, "id": 1, "timeZone": "America/New_York"}
    other_hours = {**SCHEDULE, "id": 2, "availability": SCHEDULE["availability"][:1]}
    result = _ask(SCHEDULE, [other_zone, other_hours])
    assert (result.known, result.found) == (True, None)


def test_two_that_match_or_one_without_a_field_to_compare_cannot_be_told_apart() -> None:
    twice = _ask(SCHEDULE, [{**SCHEDULE, "id": 1}, {**SCHEDULE, "id": 2}])
    assert (twice.known, twice.found, twice.doubt) == (
        False,
        None,
        "2 schedules in Cal.com match it",
    )
    bare = {"id": 3, "name": "Mornings", "timeZone": "Europe/London"}
    lacking = _ask(SCHEDULE, [bare])
    assert (lacking.known, lacking.found) == (False, None)
    assert lacking.doubt == "1 of the schedules in Cal.com lack a field to compare it with"
