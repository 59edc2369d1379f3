"""Event types (cal-api-version 2024-06-14)."""

from __future__ import annotations

from typing import Any

from calsink.sandbox import output
from calsink.sandbox.context import Call, Env, Reply, success
from calsink.sandbox.errors import ApiError, bad_request, not_found
from calsink.sandbox.model import EventType
from calsink.sandbox.validation import (
    Validator,
    at_least,
    each,
    is_array,
    is_boolean,
    is_in,
    is_int,
    is_object,
    is_string,
    is_url,
    require_object,
)

SETTING_OBJECTS = (
    "bookingLimitsCount",
    "bookingLimitsDuration",
    "bookerActiveBookingsLimit",
    "confirmationPolicy",
    "recurrence",
    "seats",
    "color",
    "destinationCalendar",
    "calVideoSettings",
    "bookerLayouts",
    "disableCancelling",
    "disableRescheduling",
)
SETTING_BOOLEANS = (
    "hidden",
    "disableGuests",
    "requiresBookerEmailVerification",
    "hideCalendarNotes",
    "lockTimeZoneToggleOnBookingPage",
    "useDestinationCalendarEmail",
    "hideCalendarEventDetails",
    "hideOrganizerEmail",
    "bookingRequiresAuthentication",
    "allowReschedulingPastBookings",
    "allowReschedulingCancelledBookings",
    "showOptimizedSlots",
)
SETTING_COUNTS = ("minimumBookingNotice", "offsetStart", "beforeEventBuffer", "afterEventBuffer")

SYSTEM_FIELDS = {"name", "email", "title", "location", "notes", "guests", "rescheduleReason"}
CUSTOM_FIELD_TYPES = [
    "phone",
    "address",
    "text",
    "number",
    "textarea",
    "select",
    "multiselect",
    "multiemail",
    "checkbox",
    "radio",
    "boolean",
    "url",
]


def _recurrence_rules(v: Validator) -> None:
    if v.data.get("disabled") is True:
        v.clean["disabled"] = True
        return
    v.field("interval", is_int, at_least(1), required=True)
    v.field("occurrences", is_int, at_least(1), required=True)
    v.field("frequency", is_in(("yearly", "monthly", "weekly")), required=True)


def _seats_rules(v: Validator) -> None:
    if v.data.get("disabled") is True:
        v.clean["disabled"] = True
        return
    v.field("seatsPerTimeSlot", is_int, at_least(1), required=True)
    v.field("showAttendeeInfo", is_boolean, required=True)
    v.field("showAvailabilityCount", is_boolean, required=True)


def _disable_rescheduling_rules(v: Validator) -> None:
    """DisableRescheduling_2024_06_14: ``minutesBefore`` becomes the event type's minimum
    reschedule notice (bookings.reschedule_notice_minutes)."""
    v.field("disabled", is_boolean)
    v.field("minutesBefore", is_int, at_least(1))


def _location_rules(v: Validator) -> None:
    kinds = (
        "address",
        "link",
        "integration",
        "phone",
        "attendeeAddress",
        "attendeePhone",
        "attendeeDefined",
    )
    kind = v.field("type", is_in(kinds), required=True)
    if kind in ("address", "link", "phone"):
        v.field(kind, is_string, required=True)
        v.field("public", is_boolean)
    if kind == "integration":
        v.field("integration", is_string, required=True)


def _booking_field_rules(v: Validator) -> None:
    kind = v.data.get("type")
    slug = v.data.get("slug")
    if kind in SYSTEM_FIELDS or slug in SYSTEM_FIELDS:
        v.clean.update(v.data)
        return
    v.field("type", is_in(CUSTOM_FIELD_TYPES), required=True)
    v.field("slug", is_string, required=True)
    v.field("label", is_string, required=True)
    v.field("required", is_boolean, required=True)
    v.field("hidden", is_boolean)
    v.field("placeholder", is_string)
    if kind in ("select", "multiselect", "checkbox", "radio"):
        v.field("options", is_array, each(is_string), required=True)


def validate_event_type(body: Any, *, creating: bool) -> dict[str, Any]:
    v = Validator(require_object(body))
    v.field("title", is_string, required=creating)
    v.field("slug", is_string, required=creating)
    v.field("lengthInMinutes", is_int, at_least(1), required=creating)
    options = v.field("lengthInMinutesOptions", is_array, each(is_int))
    v.field("description", is_string)
    v.nested_list("locations", _location_rules)
    fields = v.nested_list("bookingFields", _booking_field_rules)
    v.field("scheduleId", is_int)
    v.field("slotInterval", is_int, at_least(1))
    for name in SETTING_COUNTS:
        v.field(name, is_int, at_least(0))
    for name in SETTING_BOOLEANS:
        v.field(name, is_boolean)
    for name in ("customName", "interfaceLanguage"):
        v.field(name, is_string)
    v.field("successRedirectUrl", is_url)
    v.nested("recurrence", _recurrence_rules)
    v.nested("seats", _seats_rules)
    v.nested("disableRescheduling", _disable_rescheduling_rules)
    for name in SETTING_OBJECTS:
        if name not in ("recurrence", "seats", "disableRescheduling"):
            v.field(name, is_object)
    v.field("bookingWindow", is_object)
    v.raise_if_invalid()
    data = v.clean
    length = data.get("lengthInMinutes")
    if options is not None:
        if not options or len(set(options)) != len(options):
            raise bad_request("lengthInMinutesOptions must be a non-empty list of unique lengths.")
        if length is not None and length not in options:
            raise bad_request("lengthInMinutesOptions must include lengthInMinutes.")
    if fields is not None:
        email = next(
            (f for f in fields if f.get("type") == "email" or f.get("slug") == "email"), None
        )
        if email is not None and (email.get("required") is False or email.get("hidden") is True):
            raise bad_request("The email booking field must stay required and visible.")
    recurrence, limit = data.get("recurrence"), data.get("bookerActiveBookingsLimit")
    if recurrence and not recurrence.get("disabled") and limit and not limit.get("disabled"):
        raise bad_request("Recurring event types cannot have a booker active bookings limit.")
    return data


def _check_schedule(call: Call, env: Env, data: dict[str, Any], owner_id: int) -> None:
    schedule_id = data.get("scheduleId")
    if schedule_id is None:
        return
    schedule = env.store.schedules.get(schedule_id)
    if schedule is None or schedule.owner_id != owner_id:
        raise not_found(f"Schedule with id={schedule_id} not found.")


def _slug_taken(env: Env, owner_id: int, slug: str, except_id: int | None = None) -> bool:
    return any(
        et.owner_id == owner_id and et.slug == slug and et.id != except_id
        for et in env.store.event_types.values()
    )


def create_event_type(call: Call, env: Env) -> Reply:
    user = call.require_user()
    data = validate_event_type(call.body, creating=True)
    _check_schedule(call, env, data, user.id)
    if _slug_taken(env, user.id, data["slug"]):
        raise bad_request("User already has an event type with this slug.")
    record = EventType(env.store.next_id("event_type"), user.id, data)
    env.store.event_types[record.id] = record
    env.store.touch(record)
    return success(output.event_type(env.store, record), 201)


def _owned(call: Call, env: Env) -> EventType:
    user = call.require_user()
    raw = call.params["id"]
    record = env.store.event_types.get(int(raw)) if raw.isdigit() else None
    if record is None or record.owner_id != user.id:
        raise not_found(f"Event type with id={raw} not found")
    return record


def updated_spec(spec: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """An event type's ``spec`` with an update's ``data``; a 400 when its length is then not
    among its length options."""
    merged = {**spec, **data}
    options = merged.get("lengthInMinutesOptions")
    if options and merged["lengthInMinutes"] not in options:
        raise bad_request("lengthInMinutesOptions must include lengthInMinutes.")
    return merged


def get_event_type(call: Call, env: Env) -> Reply:
    return success(output.event_type(env.store, _owned(call, env)))


def update_event_type(call: Call, env: Env) -> Reply:
    record = _owned(call, env)
    data = validate_event_type(call.body, creating=False)
    _check_schedule(call, env, data, record.owner_id)
    if "slug" in data and _slug_taken(env, record.owner_id, data["slug"], record.id):
        raise bad_request("User already has an event type with this slug.")
    record.spec = updated_spec(record.spec, data)
    env.store.touch(record)
    return success(output.event_type(env.store, record))


def delete_event_type(call: Call, env: Env) -> Reply:
    user = call.require_user()
    raw = call.params["id"]
    record = env.store.event_types.get(int(raw)) if raw.isdigit() else None
    if record is None:
        raise not_found(f"Event type with ID={raw} does not exist.")
    if record.owner_id != user.id:
        raise ApiError(403, f"User with ID={user.id} does not own event type with ID={raw}")
    del env.store.event_types[record.id]
    env.store.touch(record)
    return success(output.deleted_event_type(record))


def list_event_types(call: Call, env: Env) -> Reply:
    query = call.query
    store = env.store
    usernames: list[str] = []
    if query.get("username"):
        usernames = [query["username"]]
    elif query.get("usernames"):
        usernames = [name.strip() for name in query["usernames"].split(",") if name.strip()]
    elif query.get("eventSlug"):
        raise bad_request("eventSlug requires username.")
    if usernames:
        owners = {u.id for u in store.users.values() if u.username in usernames}
        found = [
            et
            for et in store.event_types.values()
            if et.owner_id in owners and not et.spec.get("hidden")
        ]
        if query.get("eventSlug"):
            found = [et for et in found if et.slug == query["eventSlug"]]
    else:
        user = call.user
        if user is None:
            raise bad_request(
                "Provide username or usernames, or authenticate to list your own event types."
            )
        found = [et for et in store.event_types.values() if et.owner_id == user.id]
    if query.get("sortCreatedAt") == "desc":
        found.sort(key=lambda et: et.id, reverse=True)
    else:
        found.sort(key=lambda et: et.id)
    return success([output.event_type(store, et) for et in found])
