"""GET /v2/slots (cal-api-version 2024-09-04)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from calsink.sandbox import availability
from calsink.sandbox.bookings import IDENTIFY_EVENT_TYPE, resolve_event_type
from calsink.sandbox.context import Call, Env, Reply, success
from calsink.sandbox.errors import bad_request
from calsink.sandbox.timeutil import is_date_only, is_time_zone, parse_iso
from calsink.sandbox.validation import validation_error

MAX_RANGE = timedelta(days=400)


def _error(name: str, value: Any, rule: str, message: str) -> dict[str, Any]:
    return {"value": value, "property": name, "children": [], "constraints": {rule: message}}


def get_slots(call: Call, env: Env) -> Reply:
    query = call.query
    errors = []
    bounds = {}
    for name in ("start", "end"):
        raw = query.get(name)
        moment = parse_iso(raw)
        if moment is None:
            errors.append(
                _error(name, raw, "isDateString", f"{name} must be a valid ISO 8601 date string")
            )
        elif name == "end" and raw is not None and is_date_only(raw):
            moment = moment + timedelta(days=1, milliseconds=-1)
        bounds[name] = moment
    tz_name = query.get("timeZone")
    if tz_name is not None and not is_time_zone(tz_name):
        errors.append(
            _error("timeZone", tz_name, "isTimeZone", "timeZone must be a valid IANA time-zone")
        )
    fmt = query.get("format", "time")
    if fmt not in ("time", "range"):
        errors.append(
            _error(
                "format", fmt, "isEnum", "format must be one of the following values: range, time"
            )
        )
    data: dict[str, Any] = {}
    raw_id = query.get("eventTypeId")
    if raw_id is not None:
        if not raw_id.isdigit():
            errors.append(_error("eventTypeId", raw_id, "isNumber", "eventTypeId must be a number"))
        else:
            data["eventTypeId"] = int(raw_id)
    elif query.get("eventTypeSlug") and (query.get("username") or query.get("teamSlug")):
        data.update({k: query[k] for k in ("eventTypeSlug", "username", "teamSlug") if k in query})
    else:
        errors.append(_error("eventTypeId", None, "eventTypeIdOrSlug", IDENTIFY_EVENT_TYPE))
    duration = query.get("duration")
    if duration is not None and not duration.isdigit():
        errors.append(_error("duration", duration, "isInt", "duration must be an integer number"))
    if errors:
        raise validation_error(errors)
    first, last = bounds["start"], bounds["end"]
    assert first is not None and last is not None
    if last < first:
        raise bad_request("end must be after start.")
    if last - first > MAX_RANGE:
        raise bad_request("The requested range is too long; ask for at most 400 days at a time.")
    event_type = resolve_event_type(env.store, data)
    length = int(duration) if duration else event_type.length
    found = availability.candidates(
        env.store,
        event_type,
        first,
        last,
        call.now,
        length,
        ignore_uid=query.get("bookingUidToReschedule"),
    )
    result = availability.slots_by_day(
        found, tz_name, as_range=fmt == "range", seated=event_type.seats is not None
    )
    return success(result)
