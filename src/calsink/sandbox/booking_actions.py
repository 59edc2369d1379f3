"""Booking actions: mark absent and reassign (bookings controller), and beside it add guests
and update the location.

Both are upstream's 2024-08-13 controllers only (calcom/cal.com
apps/api/v2/src/platform/bookings/2024-08-13/controllers/booking-guests.controller.ts and
booking-location.controller.ts@0e907a82: ``version: VERSION_2024_08_13_VALUE``, "Without
it [the header], the request will fail with a 404 error"); routes.py routes them so.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from calsink.sandbox import output
from calsink.sandbox.bookings import LANGUAGES
from calsink.sandbox.context import Call, Env, Reply, success
from calsink.sandbox.errors import ApiError, bad_request, not_found
from calsink.sandbox.model import Booking, EventType
from calsink.sandbox.validation import (
    Validator,
    is_boolean,
    is_email,
    is_in,
    is_string,
    is_time_zone_check,
    matches,
    require_object,
)

# booking-guests.service.ts@43bc0047, MAX_TOTAL_GUESTS_PER_BOOKING
MAX_TOTAL_GUESTS = 30
# packages/platform/types/bookings/2024-08-13/inputs/add-guests.input.ts@5b6d63e6
MAX_GUESTS_PER_REQUEST = 10


def _guest_rules(v: Validator) -> None:
    v.field("email", is_email, required=True)
    v.field("name", is_string)
    v.field("timeZone", is_time_zone_check)
    v.field(
        "phoneNumber",
        matches(
            r"^\+[1-9]\d{6,14}$", "Invalid phone number format. Please use international format."
        ),
    )
    v.field("language", is_in(LANGUAGES))


def _validate_guests(body: Any) -> list[dict[str, Any]]:
    """AddGuestsInput_2024_08_13: 1 to 10 guests, each with an email."""
    v = Validator(require_object(body))
    given = v.data.get("guests")
    v.nested_list("guests", _guest_rules, required=True)
    if isinstance(given, list) and not given:
        v.add("guests", given, {"arrayMinSize": "guests must contain at least 1 elements"})
    elif isinstance(given, list) and len(given) > MAX_GUESTS_PER_REQUEST:
        v.add("guests", given, {"arrayMaxSize": "Cannot add more than 10 guests at a time"})
    v.raise_if_invalid()
    guests: list[dict[str, Any]] = v.clean["guests"]
    return guests


def _booking(env: Env, uid: str, message: str) -> Booking:
    record = env.store.bookings.get(uid)
    if record is None:
        raise not_found(message)
    return record


def _emails(record: Booking) -> set[str]:
    return {a["email"].lower() for a in record.attendees} | {g.lower() for g in record.guests}


def add_guests(call: Call, env: Env) -> Reply:
    """booking-guests.service.ts@43bc0047 (addGuests), then the add-guests handler
    (packages/trpc/server/routers/viewer/bookings/addGuests.handler.ts@00c2c637,
    addGuestsHandler): guests already on the booking are left out, and when none is left
    the answer is 400 "emails_must_be_unique_valid" — which is also what a resend gets."""
    guests = _validate_guests(call.body)
    user = call.require_user()
    uid = call.params["uid"]
    record = _booking(env, uid, f"Booking with uid {uid} not found")
    present = len(record.attendees) + len(record.guests)
    if present + len(guests) > MAX_TOTAL_GUESTS:
        raise bad_request(
            f"Cannot add {len(guests)} guests. This booking already has {present} attendees. "
            f"Maximum total guests allowed is {MAX_TOTAL_GUESTS}. You can add up to "
            f"{max(0, MAX_TOTAL_GUESTS - present)} more guests."
        )
    is_attendee = any(a["email"] == user.email for a in record.attendees)
    if record.host_id != user.id and not is_attendee:
        raise ApiError(403, "you_do_not_have_permission")
    known = _emails(record)
    new: list[str] = []
    for guest in guests:
        email = str(guest["email"])
        if email.lower() not in known:
            known.add(email.lower())
            new.append(email)
    if not new:
        raise bad_request("emails_must_be_unique_valid")
    record.guests.extend(new)
    record.responses["guests"] = list(record.guests)
    record.updated_at = call.now
    env.store.touch(record)
    return success(output.booking(env.store, record, version=call.version or ""))


# booking-location.service.ts@42dd5c25, getNonIntegrationLocationValue
LOCATION_VALUES = {
    "address": "address",
    "link": "link",
    "phone": "phone",
    "attendeeAddress": "address",
    "attendeePhone": "phone",
    "attendeeDefined": "location",
}


def _validate_location(body: Any) -> dict[str, Any] | None:
    """UpdateBookingLocationInput_2024_08_13: an optional location, one of the types."""
    v = Validator(require_object(body))

    def rules(inner: Validator) -> None:
        kind = inner.field("type", is_in(LOCATION_VALUES), required=True)
        for name in ("address", "link", "phone", "location"):
            inner.field(name, is_string)
        wanted = LOCATION_VALUES.get(kind) if isinstance(kind, str) else None
        if wanted is not None and wanted not in inner.clean:
            inner.add(wanted, None, {"isString": f"{wanted} must be a string"})

    location = v.nested("location", rules)
    v.raise_if_invalid()
    return location


def update_location(call: Call, env: Env) -> Reply:
    """booking-location.service.ts@42dd5c25 (updateBookingLocation, updateLocation): only
    the event type's owner may; no location changes nothing; otherwise the booking's
    location and its responses' location become the new one and the attendees are told
    (again, on a resend)."""
    location = _validate_location(call.body)
    user = call.require_user()
    uid = call.params["uid"]
    record = _booking(env, uid, f"Booking with uid={uid} not found")
    event_type = env.store.event_types.get(record.event_type_id)
    if event_type is not None and event_type.owner_id != user.id:
        raise ApiError(
            403,
            "User is not authorized to update this booking location. User must be the event "
            "type owner, host, team admin or owner, or org admin or owner.",
        )
    if location is not None:
        value = str(location[LOCATION_VALUES[location["type"]]])
        record.location = value
        record.responses["location"] = {"value": location["type"], "optionValue": value}
        record.metadata.pop("videoCallUrl", None)
        record.updated_at = call.now
        env.store.touch(record)
    return success(output.booking(env.store, record, version=call.version or ""))


def _validate_absence(body: Any) -> dict[str, Any]:
    """MarkAbsentBookingInput_2024_08_13: host, attendees [{email, absent}], both optional."""
    v = Validator(require_object(body))
    v.field("host", is_boolean)

    def attendee(inner: Validator) -> None:
        inner.field("email", is_email, required=True)
        inner.field("absent", is_boolean, required=True)

    v.nested_list("attendees", attendee)
    v.raise_if_invalid()
    return v.clean


def _luxon_iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def mark_absent(call: Call, env: Env) -> Reply:
    """bookings.service.ts@db2a5906 (markAbsent): not before the booking starts; then
    packages/features/handleMarkNoShow.ts@03670679 (handleMarkNoShow): listed attendees
    of the booking get their flag (others are ignored) and BOOKING_NO_SHOW_UPDATED fires,
    again on a resend; ``host: true`` marks the host (``false`` changes nothing); any
    failure inside, a key not the booking's host's among them, is a 500."""
    data = _validate_absence(call.body)
    user = call.require_user()
    uid = call.params["uid"]
    record = _booking(env, uid, f"Booking with uid={uid} not found.")
    if call.now < record.start:
        raise bad_request(
            "Bookings can only be marked as absent after their scheduled start time. Current "
            f"time in UTC+0: {_luxon_iso(call.now)}, Booking start time in UTC+0: "
            f"{_luxon_iso(record.start)}"
        )
    listed = data.get("attendees") or []
    if listed and record.host_id != user.id:
        raise ApiError(500, "Failed to update no-show status")
    changed = []
    for wanted in listed:
        for attendee in record.attendees:
            if attendee["email"] == wanted["email"]:
                attendee["absent"] = wanted["absent"]
                changed.append({"email": attendee["email"], "noShow": wanted["absent"]})
    if data.get("host") is True:
        record.absent_host = True
    record.updated_at = call.now
    env.store.touch(record)
    if listed:
        env.emit(
            "BOOKING_NO_SHOW_UPDATED",
            record.host_id,
            lambda: {"bookingUid": record.uid, "bookingId": record.id, "attendees": changed},
        )
    return success(output.booking(env.store, record, version=call.version or ""))


# bookings.service.ts@db2a5906, BOOKING_REASSIGN_PERMISSION_ERROR
REASSIGN_PERMISSION = "You do not have permission to reassign this booking"


def _reassignable(call: Call, env: Env) -> tuple[Booking, EventType]:
    """bookings.service.ts@db2a5906 (reassignBooking, reassignBookingToUser): the booking,
    its event type, and the key's owner owning that event type."""
    user = call.require_user()
    uid = call.params["uid"]
    record = _booking(env, uid, f"Booking with uid={uid} was not found in the database")
    event_type = env.store.event_types.get(record.event_type_id)
    if event_type is None:
        raise bad_request(
            f"Event type with id={record.event_type_id} was not found in the database"
        )
    if event_type.owner_id != user.id:
        raise ApiError(403, REASSIGN_PERMISSION)
    return record, event_type


def _hosts(event_type: EventType) -> list[int]:
    """The round-robin hosts (``hosts: [{userId}]``); a personal event type has its owner."""
    hosts = event_type.spec.get("hosts")
    if event_type.spec.get("schedulingType") != "roundRobin" or not isinstance(hosts, list):
        return [event_type.owner_id]
    return [int(h["userId"]) for h in hosts if isinstance(h, dict) and "userId" in h]


def _free(env: Env, user_id: int, record: Booking) -> bool:
    return not any(
        other.uid != record.uid
        and other.active
        and other.busy_from() < record.busy_until()
        and record.busy_from() < other.busy_until()
        for other in env.store.bookings_near(user_id, record.start, record.end)
    )


def _reassign_to(call: Call, env: Env, record: Booking, user_id: int) -> Reply:
    """Move the booking to ``user_id``; the answer is bookings' output service
    (output.service.ts@dd525dbf, getOutputReassignedBooking)."""
    store = env.store
    record.host_id = user_id
    record.updated_at = call.now
    store.reindex(record)
    store.touch(record)
    owner = store.users[user_id]
    reassigned = {"id": owner.id, "name": owner.name, "email": owner.email}
    reassigned["displayEmail"] = owner.email
    return success({"bookingUid": record.uid, "reassignedTo": reassigned})


def reassign_booking(call: Call, env: Env) -> Reply:
    """Round-robin reassignment (roundRobinReassignment): another host free at that time;
    none is "no_available_users_found_error", answered 400."""
    record, event_type = _reassignable(call, env)
    for user_id in _hosts(event_type):
        if user_id != record.host_id and user_id in env.store.users and _free(env, user_id, record):
            return _reassign_to(call, env, record, user_id)
    raise bad_request("Can't reassign the booking because no other host is available at that time.")


def reassign_booking_to_user(call: Call, env: Env) -> Reply:
    """roundRobinManualReassignment: the user must exist and be one of the hosts."""
    v = Validator(require_object(call.body))
    v.field("reason", is_string)
    v.raise_if_invalid()
    record, event_type = _reassignable(call, env)
    raw = call.params["userId"]
    user_id = int(raw) if raw.isdigit() else -1
    if user_id not in env.store.users:
        raise not_found(f"User with id={raw} was not found in the database")
    if user_id not in _hosts(event_type):
        raise bad_request(
            f"User with id={user_id} is not a valid Round Robin host - the user to which you "
            "reassign this booking must be one of the booking hosts. Fetch the booking using "
            "the GET /v2/bookings/{uid} endpoint and select id of one of the hosts."
        )
    return _reassign_to(call, env, record, user_id)
