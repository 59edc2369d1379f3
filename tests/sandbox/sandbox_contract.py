"""Check sandbox responses against Cal.com's published response schemas.

The schemas come from ``tests/data/openapi-subset.json`` (a copy of the shared subset). Upstream's
document has known defects (CONTRACT.md §12 and the slots note in §11); each one is
corrected below by name, so that everything else is validated exactly as published:

* ``TIME_FORMAT_HH_MM`` is printed literally as a pattern → the HH:MM regex it names.
* ``ScheduleAvailabilityInput.days`` puts the weekday ``enum`` on the array itself,
  which no array can satisfy → the enum stays on the items only.
* ``UserWebhookOutputDto.id`` is typed number but is a string; ``triggers`` items are
  typed object but are trigger names; ``payloadTemplate`` is null when none was set.
* ``isDefault`` of booking fields is typed object (with default true) → boolean;
  ``EmailDefaultFieldOutput.required`` typed object → boolean.
* ``EventTypeOutput``: ``slotInterval`` and ``seatsPerTimeSlot`` typed object → number
  or null; ``successRedirectUrl`` typed object → string or null.
* Unions are ``oneOf`` without a discriminator over variants that overlap (every
  recurring booking is also a valid plain booking; booking-field variants differ only
  by defaults), so a correct answer matches several → ``anyOf``. To keep the check
  strict, each booking is then validated against the one variant its shape calls for.
* ``nullable: true`` next to ``allOf`` (e.g. ``EventTypeOutput.recurrence``) is ignored by
  OpenAPI 3.0 validators, since nullable only qualifies a sibling ``type`` → an explicit
  ``anyOf`` of the referenced schema and null.
* ``GET /v2/slots``: the schema describes ``data`` (not the envelope) and types slot
  items as strings while Cal.com sends ``{start[, end, attendeesCount, bookingUid]}``.

Routes the subset lacks get schemas written from CONTRACT.md (errors §0.3, OOO §10a)
or borrowed from the matching published output.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30Validator

from support.sandbox import Response, default_version

Api = Callable[..., Response]

SPEC = json.loads((Path(__file__).parents[1] / "data" / "openapi-subset.json").read_text())
HH_MM = r"^([01]\d|2[0-3]):([0-5]\d)$"


def _walk(node: Any) -> None:
    if isinstance(node, dict):
        if "oneOf" in node:
            node["anyOf"] = node.pop("oneOf")
        if node.get("nullable") is True and "allOf" in node and "type" not in node:
            node["anyOf"] = [*node.pop("allOf"), {"enum": [None]}]
            node.pop("nullable")
        if node.get("pattern") == "TIME_FORMAT_HH_MM":
            node["pattern"] = HH_MM
        for value in node.values():
            _walk(value)
    elif isinstance(node, list):
        for value in node:
            _walk(value)


def _patched() -> dict[str, Any]:
    schemas = copy.deepcopy(SPEC["components"]["schemas"])
    _walk(schemas)
    schemas["ScheduleAvailabilityInput_2024_06_11"]["properties"]["days"].pop("enum")
    webhook = schemas["UserWebhookOutputDto"]["properties"]
    webhook["id"] = {"type": "string"}
    webhook["triggers"] = {"type": "array", "items": {"type": "string"}}
    webhook["payloadTemplate"] = {"type": "string", "nullable": True}
    for name, schema in schemas.items():
        props = schema.get("properties", {})
        if (
            name.endswith("FieldOutput_2024_06_14")
            and props.get("isDefault", {}).get("type") == "object"
        ):
            props["isDefault"] = {"type": "boolean"}
    schemas["EmailDefaultFieldOutput_2024_06_14"]["properties"]["required"] = {"type": "boolean"}
    event_type = schemas["EventTypeOutput_2024_06_14"]["properties"]
    event_type["slotInterval"] = {"type": "number", "nullable": True}
    event_type["seatsPerTimeSlot"] = {"type": "number", "nullable": True}
    event_type["successRedirectUrl"] = {"type": "string", "nullable": True}
    slot = {
        "type": "object",
        "required": ["start"],
        "properties": {
            "start": {"type": "string"},
            "end": {"type": "string"},
            "attendeesCount": {"type": "number"},
            "bookingUid": {"type": "string"},
        },
    }
    schemas["SlotsData"] = {
        "type": "object",
        "additionalProperties": {"type": "array", "items": slot},
    }
    schemas["SlotsOutput"] = _envelope({"$ref": "#/components/schemas/SlotsData"})
    schemas["ErrorEnvelope"] = {
        "type": "object",
        "required": ["status", "timestamp", "path", "error"],
        "properties": {
            "status": {"type": "string", "enum": ["error"]},
            "timestamp": {"type": "string", "format": "date-time"},
            "path": {"type": "string"},
            "error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "details": {"type": "object"},
                },
            },
        },
    }
    # errors of the shared booking handlers (HttpError) come without the envelope: upstream's
    # seated-bookings e2e reads the cancel handler's text at response.body.message
    schemas["HandlerError"] = {
        "type": "object",
        "required": ["statusCode", "message"],
        "additionalProperties": False,
        "properties": {"statusCode": {"type": "integer"}, "message": {"type": "string"}},
    }
    validation_item: dict[str, Any] = {
        "type": "object",
        "required": ["property", "children"],
        "properties": {
            "property": {"type": "string"},
            "constraints": {"type": "object", "additionalProperties": {"type": "string"}},
            "children": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/ValidationError"},
            },
        },
    }
    schemas["ValidationError"] = validation_item
    schemas["OutOfOffice"] = {
        "type": "object",
        "required": ["id", "uuid", "userId", "start", "end", "reason"],
        "properties": {
            "id": {"type": "number"},
            "uuid": {"type": "string"},
            "userId": {"type": "number"},
            "toUserId": {"type": "number"},
            "start": {"type": "string", "format": "date-time"},
            "end": {"type": "string", "format": "date-time"},
            "notes": {"type": "string"},
            "reason": {
                "type": "string",
                "enum": ["unspecified", "vacation", "travel", "sick", "public_holiday"],
            },
        },
    }
    return schemas


def _envelope(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["status", "data"],
        "properties": {"status": {"type": "string", "enum": ["success"]}, "data": data},
    }


SCHEMAS = _patched()


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _list_of(name: str) -> dict[str, Any]:
    return _envelope({"type": "array", "items": _ref(name)})


# (method, path template) -> response schema for 2xx answers
SUCCESS: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v2/bookings"): _ref("CreateBookingOutput_2024_08_13"),
    ("GET", "/v2/bookings"): _ref("GetBookingsOutput_2024_08_13"),
    ("GET", "/v2/bookings/{uid}"): _ref("GetBookingOutput_2024_08_13"),
    ("POST", "/v2/bookings/{uid}/cancel"): _ref("CancelBookingOutput_2024_08_13"),
    ("POST", "/v2/bookings/{uid}/reschedule"): _ref("RescheduleBookingOutput_2024_08_13"),
    ("POST", "/v2/bookings/{uid}/confirm"): _ref("GetBookingOutput_2024_08_13"),
    ("POST", "/v2/bookings/{uid}/decline"): _ref("GetBookingOutput_2024_08_13"),
    ("POST", "/v2/event-types"): _ref("CreateEventTypeOutput_2024_06_14"),
    ("GET", "/v2/event-types"): _ref("GetEventTypesOutput_2024_06_14"),
    ("GET", "/v2/event-types/{id}"): _ref("CreateEventTypeOutput_2024_06_14"),
    ("PATCH", "/v2/event-types/{id}"): _ref("UpdateEventTypeOutput_2024_06_14"),
    ("DELETE", "/v2/event-types/{id}"): _ref("DeleteEventTypeOutput_2024_06_14"),
    ("POST", "/v2/schedules"): _ref("CreateScheduleOutput_2024_06_11"),
    ("GET", "/v2/schedules"): _list_of("ScheduleOutput_2024_06_11"),
    ("GET", "/v2/schedules/{id}"): _ref("CreateScheduleOutput_2024_06_11"),
    ("POST", "/v2/webhooks"): _ref("UserWebhookOutputResponseDto"),
    ("GET", "/v2/webhooks"): _list_of("UserWebhookOutputDto"),
    ("GET", "/v2/webhooks/{id}"): _ref("UserWebhookOutputResponseDto"),
    ("PATCH", "/v2/webhooks/{id}"): _ref("UserWebhookOutputResponseDto"),
    ("DELETE", "/v2/webhooks/{id}"): _ref("UserWebhookOutputResponseDto"),
    ("POST", "/v2/me/ooo"): _envelope(_ref("OutOfOffice")),
    ("GET", "/v2/me/ooo"): _list_of("OutOfOffice"),
    ("GET", "/v2/slots"): _ref("SlotsOutput"),
    ("GET", "/v2/me"): _ref("GetMeOutput"),
}

BOOKING_ROUTES = {key for key in SUCCESS if key[1].startswith("/v2/bookings")}


def _template(path: str) -> str:
    path = path.split("?", 1)[0]
    path = re.sub(r"^/v2/bookings/[^/]+", "/v2/bookings/{uid}", path)
    path = re.sub(r"^/v2/(event-types|schedules|webhooks)/[^/]+$", r"/v2/\1/{id}", path)
    return path


def _validate(instance: Any, schema: dict[str, Any]) -> None:
    root = dict(schema)
    root["components"] = {"schemas": SCHEMAS}
    OAS30Validator(root).validate(instance)


def _booking_variant(booking: dict[str, Any]) -> str:
    # seated variants carry answers per attendee, never a booking-level bookingFieldsResponses
    seated = "bookingFieldsResponses" not in booking
    recurring = "recurringBookingUid" in booking
    if "seatUid" in booking:
        return (
            "CreateRecurringSeatedBookingOutput_2024_08_13"
            if recurring
            else "CreateSeatedBookingOutput_2024_08_13"
        )
    if seated:
        return (
            "GetRecurringSeatedBookingOutput_2024_08_13"
            if recurring
            else "GetSeatedBookingOutput_2024_08_13"
        )
    return "RecurringBookingOutput_2024_08_13" if recurring else "BookingOutput_2024_08_13"


def checked(response: Response, version: str | None = "default") -> Response:
    """The response, after checking it like ``check_response`` (default: the route's version)."""
    if version == "default":
        version = default_version(response.path.split("?", 1)[0])
    check_response(response.method, response.path, response.status, response.body, version)
    return response


def check_response(method: str, path: str, status: int, body: bytes, version: str | None) -> None:
    """Raise when the answer does not match Cal.com's published schema for it."""
    document = json.loads(body)
    if status >= 400 and "status" not in document:
        _validate(document, _ref("HandlerError"))
        return
    if status >= 400:
        _validate(document, _ref("ErrorEnvelope"))
        details = document["error"]["details"]
        if "errors" in details:
            _validate(details["errors"], {"type": "array", "items": _ref("ValidationError")})
        return
    key = (method, _template(path))
    schema = SUCCESS.get(key)
    if schema is None:
        raise AssertionError(f"no response schema known for {method} {path}")
    if key in BOOKING_ROUTES and version not in ("2024-08-13", "2026-02-25"):
        return  # the legacy 2024-04-15 contract has no published schema in the subset
    _validate(document, schema)
    if key in BOOKING_ROUTES:
        data = document["data"]
        for booking in data if isinstance(data, list) else [data]:
            _validate(booking, _ref(_booking_variant(booking)))
