"""The answers a booking owes its event type's custom booking fields.

Upstream: apps/api/v2/src/platform/bookings/2024-08-13/services/bookings.service.ts,
hasRequiredBookingFieldsResponses. System fields (name, email, ...) come from ``attendee``
and are not checked here, except the phone number an SMS reminder needs.
"""

from __future__ import annotations

from typing import Any

from calsink.sandbox.errors import bad_request
from calsink.sandbox.model import EventType

SYSTEM_SLUGS = {"name", "email", "title", "location", "notes", "guests", "rescheduleReason"}
PHONE_SLUGS = {"attendeePhoneNumber", "smsReminderNumber"}
# attendeePhoneNumber is a system field too; smsReminderNumber is the one checked
SKIPPED = SYSTEM_SLUGS | {"attendeePhoneNumber"}
PHONE_MISSING = (
    'Missing attendee phone number - it is required by the event type. Pass it as "attendee.'
    'phoneNumber" string in the request.'
)

# field type -> (the JavaScript type upstream names, the Python types that pass)
EXPECTED: dict[str, tuple[str, tuple[type, ...]]] = {
    "phone": ("string", (str,)),
    "address": ("string", (str,)),
    "text": ("string", (str,)),
    "textarea": ("string", (str,)),
    "url": ("string", (str,)),
    "number": ("number", (int, float)),
    "boolean": ("boolean", (bool,)),
    "multiemail": ("array", (list,)),
    "multiselect": ("array", (list,)),
    "checkbox": ("array", (list,)),
    "select": ("string or number", (str, int, float)),
    "radio": ("string or number", (str, int, float)),
}
SINGLE_CHOICE = {"select", "radio"}
MULTIPLE_CHOICE = {"multiselect", "checkbox"}


def _js_type(value: Any) -> str:
    """What JavaScript's ``typeof`` says of a decoded JSON value."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string" if isinstance(value, str) else "object"


def _passes(kind: str, value: Any) -> bool:
    allowed = EXPECTED[kind][1]
    if isinstance(value, bool) and bool not in allowed:
        return False
    return isinstance(value, allowed)


def _option_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _check_options(field: dict[str, Any], kind: str, value: Any) -> None:
    options = [str(option) for option in field.get("options") or []]
    if not options:
        return
    slug = field["slug"]
    if kind in SINGLE_CHOICE and _option_text(value) not in options:
        raise bad_request(
            f"Invalid option '{_option_text(value)}' for booking field '{slug}'. Allowed "
            f"options are: {', '.join(options)}."
        )
    if kind in MULTIPLE_CHOICE and any(_option_text(item) not in options for item in value):
        raise bad_request(
            f"One or more invalid options for booking field '{slug}'. Allowed options are: "
            f"{', '.join(options)}."
        )


def _check_field(event_type: EventType, field: dict[str, Any], answers: dict[str, Any]) -> None:
    slug, kind = field["slug"], str(field.get("type"))
    value = answers.get(slug)
    if value is None:
        if field.get("required"):
            if slug in PHONE_SLUGS:
                raise bad_request(PHONE_MISSING)
            raise bad_request(
                f"Missing required booking field response: {slug} - it is required by the "
                "event type booking fields, but missing in the bookingFieldsResponses. You can "
                f"fetch the event type with ID {event_type.id} to see the required fields."
            )
        return
    if kind not in EXPECTED:
        return
    if not _passes(kind, value):
        raise bad_request(
            f"Invalid type for booking field '{slug}'. Expected type {EXPECTED[kind][0]} "
            f"(compatible with field type '{kind}'), but received {_js_type(value)}."
        )
    _check_options(field, kind, value)


def check_responses(event_type: EventType, data: dict[str, Any]) -> None:
    fields = event_type.spec.get("bookingFields")
    if not fields:
        return
    phone = data["attendee"].get("phoneNumber")
    answers = {
        **(data.get("bookingFieldsResponses") or {}),
        "attendeePhoneNumber": phone,
        "smsReminderNumber": phone,
    }
    for field in fields:
        slug = field.get("slug")
        if isinstance(slug, str) and not ({slug, field.get("type")} & SKIPPED):
            _check_field(event_type, field, answers)
