"""Check sandbox responses against Cal.com's published response schemas.

The schemas come from the newer OpenAPI subset, ``tests/data/openapi-subset-a36c1b79.json``
(upstream commit a36c1b79; its README lists what changed), a copy of the shared one. Every
schema of the older subset (``openapi-subset.json``, fea00aa8) is in the newer one, so its
checks carry over; the routes neither publishes keep their schemas written from
CONTRACT.md (errors §0.3) or borrowed from the matching published output. Upstream's
quirks (CONTRACT.md §12, the newer README's "Quirks still upstream") are corrected below,
each by name in ``QUIRKS``; each correction first asserts that the quirk is still there,
so a refreshed subset cannot be silently mis-corrected. Everything else is validated
exactly as published:

* "literal HH:MM pattern": ``TIME_FORMAT_HH_MM`` is printed as a pattern → the HH:MM regex
  it names.
* "days enum on the array": ``ScheduleAvailabilityInput.days`` puts the weekday ``enum`` on
  the array itself, which no array can satisfy → the enum stays on the items only.
* "webhook id typed number": ``UserWebhookOutputDto.id`` is typed number; Cal.com's webhook
  ids are texts (``Webhook.id`` is a uuid in its Prisma schema).
* "webhook payloadTemplate never null": ``UserWebhookOutputDto.payloadTemplate`` is a
  required string, and is null when none was set.
* "bookingWindow typed array": ``EventTypeOutput``/``TeamEventTypeOutput.bookingWindow`` is
  an array of windows; Cal.com sends one window object.
* "oneOf without discriminator": unions are ``oneOf`` over variants that overlap (every
  recurring booking is also a valid plain booking; booking-field variants differ only by
  defaults), so a correct answer matches several → ``anyOf``. To keep the check strict,
  each booking is then validated against the one variant its shape calls for.
* "nullable beside allOf": ``nullable: true`` next to ``allOf`` (``GetScheduleOutput.data``,
  ``EventTypeOutput.recurrence``) is ignored by OpenAPI 3.0 validators, since nullable
  only qualifies a sibling ``type`` → an explicit ``anyOf`` of the schema and null.
* "slots schema describes data": ``GET /v2/slots`` describes ``data`` (not the envelope)
  and its default format types slot items as strings while Cal.com sends
  ``{start[, end, attendeesCount, bookingUid]}``.

The older subset's corrections that upstream has since fixed (``isDefault`` and
``EmailDefaultFieldOutput.required`` typed object, ``slotInterval``, ``seatsPerTimeSlot``
and ``successRedirectUrl`` typed object, webhook triggers typed objects) are gone: those
fields are now checked as published. ``test_sandbox_contract_schemas.py`` checks that each
route this file names is answered with the schema the newer subset gives it.
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

DATA = Path(__file__).parents[1] / "data"
SPEC = json.loads((DATA / "openapi-subset-a36c1b79.json").read_text())
OLDER = json.loads((DATA / "openapi-subset.json").read_text())
HH_MM = r"^([01]\d|2[0-3]):([0-5]\d)$"
QUIRKS = (
    "literal HH:MM pattern",
    "days enum on the array",
    "webhook id typed number",
    "webhook payloadTemplate never null",
    "bookingWindow typed array",
    "oneOf without discriminator",
    "nullable beside allOf",
    "slots schema describes data",
)


def _walk(node: Any, seen: dict[str, int]) -> None:
    if isinstance(node, dict):
        if "oneOf" in node:
            node["anyOf"] = node.pop("oneOf")
            seen["oneOf without discriminator"] += 1
        if node.get("nullable") is True and "allOf" in node and "type" not in node:
            node["anyOf"] = [*node.pop("allOf"), {"enum": [None]}]
            node.pop("nullable")
            seen["nullable beside allOf"] += 1
        if node.get("pattern") == "TIME_FORMAT_HH_MM":
            node["pattern"] = HH_MM
            seen["literal HH:MM pattern"] += 1
        for value in node.values():
            _walk(value, seen)
    elif isinstance(node, list):
        for value in node:
            _walk(value, seen)


def _patched() -> dict[str, Any]:
    schemas = copy.deepcopy(SPEC["components"]["schemas"])
    seen = dict.fromkeys(QUIRKS, 0)
    _walk(schemas, seen)
    days = schemas["ScheduleAvailabilityInput_2024_06_11"]["properties"]["days"]
    assert days["type"] == "array" and "enum" in days
    days.pop("enum")
    seen["days enum on the array"] += 1
    webhook = schemas["UserWebhookOutputDto"]["properties"]
    assert webhook["id"] == {"type": "number"}
    webhook["id"] = {"type": "string"}
    seen["webhook id typed number"] += 1
    assert webhook["payloadTemplate"] == {"type": "string"}
    webhook["payloadTemplate"] = {"type": "string", "nullable": True}
    seen["webhook payloadTemplate never null"] += 1
    for name in ("EventTypeOutput_2024_06_14", "TeamEventTypeOutput_2024_06_14"):
        window = schemas[name]["properties"]["bookingWindow"]
        assert window["type"] == "array"
        schemas[name]["properties"]["bookingWindow"] = window["items"]
        seen["bookingWindow typed array"] += 1
    slots = SPEC["paths"]["/v2/slots"]["get"]["responses"]["200"]["content"]["application/json"]
    assert "status" not in json.dumps(slots["schema"])
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
    seen["slots schema describes data"] += 1
    missing = [quirk for quirk, count in seen.items() if not count]
    assert not missing, f"quirks no longer in the subset: {missing}"
    schemas.update(_written_here())
    return schemas


def _written_here() -> dict[str, Any]:
    """Schemas neither subset publishes: the error envelopes (CONTRACT.md §0.3)."""
    schemas: dict[str, Any] = {}
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
    ("GET", "/v2/event-types/{id}"): _ref("GetEventTypeOutput_2024_06_14"),
    ("PATCH", "/v2/event-types/{id}"): _ref("UpdateEventTypeOutput_2024_06_14"),
    ("DELETE", "/v2/event-types/{id}"): _ref("DeleteEventTypeOutput_2024_06_14"),
    ("POST", "/v2/schedules"): _ref("CreateScheduleOutput_2024_06_11"),
    ("GET", "/v2/schedules"): _ref("GetSchedulesOutput_2024_06_11"),
    ("GET", "/v2/schedules/{id}"): _ref("GetScheduleOutput_2024_06_11"),
    ("PATCH", "/v2/schedules/{id}"): _ref("UpdateScheduleOutput_2024_06_11"),
    ("DELETE", "/v2/schedules/{id}"): _ref("DeleteScheduleOutput_2024_06_11"),
    ("POST", "/v2/webhooks"): _ref("UserWebhookOutputResponseDto"),
    ("GET", "/v2/webhooks"): _ref("UserWebhooksOutputResponseDto"),
    ("GET", "/v2/webhooks/{id}"): _ref("UserWebhookOutputResponseDto"),
    ("PATCH", "/v2/webhooks/{id}"): _ref("UserWebhookOutputResponseDto"),
    ("DELETE", "/v2/webhooks/{id}"): _ref("UserWebhookOutputResponseDto"),
    ("POST", "/v2/me/ooo"): _ref("UserOooOutputResponseDto"),
    ("GET", "/v2/me/ooo"): _ref("UserOoosOutputResponseDto"),
    ("PATCH", "/v2/me/ooo/{id}"): _ref("UserOooOutputResponseDto"),
    ("DELETE", "/v2/me/ooo/{id}"): _ref("UserOooOutputResponseDto"),
    # not published (the sandbox's own read of one entry): borrowed from the list's item
    ("GET", "/v2/me/ooo/{id}"): _ref("UserOooOutputResponseDto"),
    ("POST", "/v2/teams/{teamId}/event-types"): _ref("CreateTeamEventTypeOutput"),
    ("GET", "/v2/teams/{teamId}/event-types"): _ref("GetTeamEventTypesOutput"),
    ("GET", "/v2/teams/{teamId}/event-types/{id}"): _ref("GetTeamEventTypeOutput"),
    ("PATCH", "/v2/teams/{teamId}/event-types/{id}"): _ref("UpdateTeamEventTypeOutput"),
    ("DELETE", "/v2/teams/{teamId}/event-types/{id}"): _ref("DeleteTeamEventTypeOutput"),
    ("POST", "/v2/organizations/{orgId}/users/{userId}/ooo"): _ref("UserOooOutputResponseDto"),
    ("GET", "/v2/organizations/{orgId}/users/{userId}/ooo"): _ref("UserOoosOutputResponseDto"),
    ("PATCH", "/v2/organizations/{orgId}/users/{userId}/ooo/{id}"): _ref(
        "UserOooOutputResponseDto"
    ),
    ("DELETE", "/v2/organizations/{orgId}/users/{userId}/ooo/{id}"): _ref(
        "UserOooOutputResponseDto"
    ),
    ("GET", "/v2/slots"): _ref("SlotsOutput"),
    ("GET", "/v2/me"): _ref("GetMeOutput"),
}

BOOKING_ROUTES = {key for key in SUCCESS if key[1].startswith("/v2/bookings")}


def _template(path: str) -> str:
    path = path.split("?", 1)[0]
    path = re.sub(r"^/v2/bookings/[^/]+", "/v2/bookings/{uid}", path)
    path = re.sub(r"^/v2/(event-types|schedules|webhooks|me/ooo)/[^/]+$", r"/v2/\1/{id}", path)
    path = re.sub(r"^/v2/teams/[^/]+/event-types", "/v2/teams/{teamId}/event-types", path)
    path = re.sub(
        r"^/v2/organizations/[^/]+/users/[^/]+/ooo",
        "/v2/organizations/{orgId}/users/{userId}/ooo",
        path,
    )
    path = re.sub(r"^(/v2/organizations/\{orgId\}/users/\{userId\}/ooo)/[^/]+$", r"\1/{id}", path)
    path = re.sub(r"^(/v2/teams/\{teamId\}/event-types)/[^/]+$", r"\1/{id}", path)
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
