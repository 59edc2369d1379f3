"""Bookings: create (single, recurring, seated), read, list, cancel, reschedule, confirm,
decline."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from calsink.sandbox import output
from calsink.sandbox.availability import (
    NO_OVERRIDES,
    Overrides,
    seats_left,
    unavailable_reason,
)
from calsink.sandbox.booking_fields import check_responses
from calsink.sandbox.context import BOOKINGS_VERSIONS, Call, Env, Reply, success
from calsink.sandbox.errors import ApiError, bad_request, handler_error, not_found
from calsink.sandbox.model import Booking, EventType, Store
from calsink.sandbox.timeutil import format_utc, parse_iso
from calsink.sandbox.validation import (
    Validator,
    at_least,
    each,
    is_array,
    is_boolean,
    is_date_string,
    is_email,
    is_in,
    is_int,
    is_object,
    is_string,
    is_time_zone_check,
    is_url,
    matches,
    require_object,
    validation_error,
)

LANGUAGES = [
    "ar",
    "ca",
    "de",
    "es",
    "eu",
    "he",
    "id",
    "ja",
    "lv",
    "pl",
    "ro",
    "sr",
    "th",
    "vi",
    "az",
    "cs",
    "el",
    "es-419",
    "fi",
    "hr",
    "it",
    "km",
    "nl",
    "pt",
    "ru",
    "sv",
    "tr",
    "zh-CN",
    "bg",
    "da",
    "en",
    "et",
    "fr",
    "hu",
    "iw",
    "ko",
    "no",
    "pt-BR",
    "sk",
    "ta",
    "uk",
    "zh-TW",
    "bn",
]

IDENTIFY_EVENT_TYPE = (
    "Either eventTypeId or eventTypeSlug + username or eventTypeSlug + teamSlug must be provided"
)

INTEGRATION_LOCATIONS = {"cal-video": "integrations:daily"}


def new_uid() -> str:
    return secrets.token_urlsafe(16)


def _attendee_rules(v: Validator) -> None:
    v.field("name", is_string, required=True)
    email = v.field("email", is_email)
    v.field("timeZone", is_time_zone_check, required=True)
    phone = v.field(
        "phoneNumber", matches(r"^\+[1-9]\d{6,14}$", "{prop} must be a valid phone number")
    )
    v.field("language", is_in(LANGUAGES))
    if email is None and phone is None and "email" not in {e["property"] for e in v.errors}:
        message = "Attendee must have at least one contact method (email or phone number)"
        v.add("email", None, {"hasContactMethod": message})


def _check_metadata(v: Validator, metadata: Any) -> None:
    if not isinstance(metadata, dict):
        return
    problem = None
    if len(metadata) > 50:
        problem = "metadata can have at most 50 keys"
    elif any(len(str(key)) > 40 for key in metadata):
        problem = "metadata keys can be at most 40 characters long"
    elif any(isinstance(value, str) and len(value) > 500 for value in metadata.values()):
        problem = "metadata string values can be at most 500 characters long"
    if problem:
        v.add("metadata", metadata, {"validateMetadata": problem})


def validate_create(body: Any) -> dict[str, Any]:
    v = Validator(require_object(body))
    v.field("start", is_date_string, required=True)
    v.nested("attendee", _attendee_rules, required=True)
    event_type_id = v.field("eventTypeId", is_int, at_least(1))
    slug = v.field("eventTypeSlug", is_string)
    username = v.field("username", is_string)
    team_slug = v.field("teamSlug", is_string)
    v.field("organizationSlug", is_string)
    v.field("guests", is_array, each(is_email))
    v.field("meetingUrl", is_url)
    location = v.data.get("location")
    if location is not None:
        if isinstance(location, str | dict):
            v.clean["location"] = location
        else:
            v.add("location", location, {"isObject": "location must be an object"})
    _check_metadata(v, v.field("metadata", is_object))
    v.field("bookingFieldsResponses", is_object)
    v.field("lengthInMinutes", is_int, at_least(1))
    v.field("recurrenceCount", is_int, at_least(1))
    v.field("instant", is_boolean)
    v.field("allowConflicts", is_boolean)
    v.field("allowBookingOutOfBounds", is_boolean)
    v.field("routing", is_object)
    v.field("emailVerificationCode", is_string)
    identified = event_type_id is not None or bool(slug and (username or team_slug))
    if not identified and not any(e["property"] == "eventTypeId" for e in v.errors):
        v.add("eventTypeId", None, {"eventTypeIdOrSlug": IDENTIFY_EVENT_TYPE})
    v.raise_if_invalid()
    return v.clean


def resolve_event_type(store: Store, data: dict[str, Any]) -> EventType:
    """The event type to book; 404s in the words of upstream's bookings service
    (getBookedEventType) and errors service (handleEventTypeToBeBookedNotFound)."""
    event_type_id = data.get("eventTypeId")
    if event_type_id is not None:
        found = store.event_types.get(event_type_id)
        if found is None:
            raise not_found(f"Event type with id {event_type_id} not found.")
        return found
    username, slug = data.get("username"), data.get("eventTypeSlug")
    if not username:
        raise not_found(f"Team with slug {data.get('teamSlug')} not found")
    owner = next((u for u in store.users.values() if u.username == username), None)
    if owner is None:
        raise not_found(f"User with username {username} not found")
    for candidate in store.event_types.values():
        if candidate.owner_id == owner.id and candidate.slug == slug:
            return candidate
    raise not_found(f"Event type with slug {slug} belonging to user {username} not found.")


def _check_location(event_type: EventType, data: dict[str, Any]) -> None:
    """Upstream input service, isBookingLocationWithEventTypeLocations: a location object
    must be of a type (and integration) the event type offers; strings always pass."""
    chosen = data.get("location")
    if not isinstance(chosen, dict):
        return
    offered = event_type.spec.get("locations") or output.DEFAULT_LOCATIONS
    types = [str(option.get("type")) for option in offered]
    kind = chosen.get("type")
    if kind not in types:
        raise bad_request(
            f"Booking location with type {kind} not valid for event type with "
            f"id={event_type.id}. The event type has following location types: "
            f"{', '.join(types)}, and only these types are allowed for booking location."
        )
    if kind == "integration":
        integrations = [str(o.get("integration")) for o in offered if o.get("type") == kind]
        if chosen.get("integration") not in integrations:
            raise bad_request(
                f"Booking location with integration {chosen.get('integration')} not valid for "
                f"event type with id={event_type.id}. The event type has following "
                f"integrations: {', '.join(integrations)}, and only these integrations are "
                "allowed for booking location."
            )


def _location(event_type: EventType, data: dict[str, Any]) -> str:
    chosen = data.get("location")
    if isinstance(chosen, str) and chosen:
        return chosen
    if isinstance(chosen, dict):
        kind = chosen.get("type")
        for key in ("address", "location", "phone"):
            if kind in {"attendeeAddress", "attendeeDefined", "attendeePhone"} and chosen.get(key):
                return str(chosen[key])
        if kind == "integration":
            name = str(chosen.get("integration", "cal-video"))
            return INTEGRATION_LOCATIONS.get(name, f"integrations:{name}")
        for option in event_type.spec.get("locations", []):
            if option.get("type") == kind:
                return str(option.get("address") or option.get("link") or option.get("phone") or "")
    if data.get("meetingUrl"):
        return str(data["meetingUrl"])
    locations = event_type.spec.get("locations") or output.DEFAULT_LOCATIONS
    first = locations[0]
    if first.get("type") == "integration":
        name = str(first.get("integration", "cal-video"))
        return INTEGRATION_LOCATIONS.get(name, f"integrations:{name}")
    return str(first.get("address") or first.get("link") or first.get("phone") or "")


def _length(event_type: EventType, data: dict[str, Any]) -> int:
    """Upstream input service, validateBookingLengthInMinutes: lengthInMinutes only for an
    event type with several lengths (even the event's own length is refused otherwise)."""
    requested = data.get("lengthInMinutes")
    if requested is None:
        return event_type.length
    options = event_type.spec.get("lengthInMinutesOptions")
    if not options:
        raise bad_request(
            "Can't specify 'lengthInMinutes' because event type does not have multiple possible "
            "lengths. Please, remove the 'lengthInMinutes' field from the request."
        )
    if requested not in options:
        raise bad_request(
            f"Provided 'lengthInMinutes' is not one of the possible lengths for the event type. "
            f"The possible lengths are: {', '.join(str(o) for o in options)}"
        )
    return int(requested)


def _series_starts(event_type: EventType, first: datetime, count: int) -> list[datetime]:
    recurrence = event_type.recurrence or {}
    interval = int(recurrence.get("interval", 1))
    frequency = recurrence.get("frequency", "weekly")
    starts = []
    for index in range(count):
        if frequency == "weekly":
            starts.append(first + timedelta(weeks=interval * index))
        else:
            months = interval * index * (12 if frequency == "yearly" else 1)
            year, month = divmod(first.month - 1 + months, 12)
            starts.append(first.replace(year=first.year + year, month=month + 1))
    return starts


def _attendee_record(attendee: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    record = {
        "name": attendee["name"],
        "email": attendee.get("email")
        or f"{attendee.get('phoneNumber', 'guest').lstrip('+')}@sms.cal.com",
        "timeZone": attendee["timeZone"],
        "language": attendee.get("language", "en"),
    }
    if attendee.get("phoneNumber"):
        record["phoneNumber"] = attendee["phoneNumber"]
    return record


def _new_booking(
    env: Env,
    event_type: EventType,
    start: datetime,
    length: int,
    data: dict[str, Any],
    now: datetime,
    status: str,
) -> Booking:
    store = env.store
    attendee = _attendee_record(data["attendee"], data)
    responses = {"name": attendee["name"], "email": attendee["email"]}
    responses.update(data.get("bookingFieldsResponses") or {})
    if data.get("guests"):
        responses["guests"] = data["guests"]
    owner = store.users[event_type.owner_id]
    uid = new_uid()
    return Booking(
        id=store.next_id("booking"),
        uid=uid,
        event_type_id=event_type.id,
        host_id=owner.id,
        title=f"{event_type.spec['title']} between {owner.name} and {attendee['name']}",
        description=str(event_type.spec.get("description") or ""),
        status=status,
        start=start,
        end=start + timedelta(minutes=length),
        attendees=[attendee],
        guests=list(data.get("guests") or []),
        location=_location(event_type, data),
        metadata=dict(data.get("metadata") or {}),
        responses=responses,
        created_at=now,
        updated_at=now,
        ics_uid=f"{uid}@sandbox.calsink",
        before_buffer=event_type.before_buffer,
        after_buffer=event_type.after_buffer,
        seated=event_type.seats is not None,
    )


def _trigger_for(record: Booking) -> str:
    return "BOOKING_REQUESTED" if record.status == "pending" else "BOOKING_CREATED"


def _emit_booking(env: Env, trigger: str, record: Booking, **extra: Any) -> None:
    def payload() -> dict[str, Any]:
        built = output.booking_webhook_payload(env.store, record)
        built.update(extra)
        return built

    env.emit(trigger, record.host_id, payload)


def create_booking(call: Call, env: Env) -> Reply:
    if call.version not in BOOKINGS_VERSIONS:
        return create_legacy_booking(call, env)
    data = validate_create(call.body)
    return _book(call, env, data, legacy=False)


def _check_authentication(call: Call, event_type: EventType) -> None:
    """Upstream bookings service, checkBookingRequiresAuthenticationSetting."""
    if not event_type.spec.get("bookingRequiresAuthentication"):
        return
    if call.user is None:
        raise ApiError(
            401,
            "checkBookingRequiresAuthentication - request must be authenticated by passing "
            "credentials belonging to event type owner, host or team or org admin or owner.",
        )
    if call.user.id != event_type.owner_id:
        raise ApiError(
            403,
            "checkBookingRequiresAuthentication - user is not authorized to access this event "
            "type. User has to be either event type owner, host, team admin or owner or org "
            "admin or owner.",
        )


def _check_booker_limit(
    store: Store, event_type: EventType, data: dict[str, Any], now: datetime
) -> None:
    """bookerActiveBookingsLimit; the texts are upstream's errors service
    (booker_limit_exceeded_error, ..._reschedule with the booking to move instead)."""
    limit = event_type.spec.get("bookerActiveBookingsLimit")
    if not isinstance(limit, dict) or limit.get("disabled"):
        return
    maximum = limit.get("maximumActiveBookings")
    email = data["attendee"].get("email")
    if not isinstance(maximum, int) or not email:
        return
    active = sorted(
        (
            b
            for b in store.bookings.values()
            if b.event_type_id == event_type.id
            and b.active
            and b.start >= now
            and any(a.get("email") == email for a in b.attendees)
        ),
        key=lambda b: b.start,
    )
    if len(active) < maximum:
        return
    message = (
        "Attendee with this email can't book because the maximum number of active bookings "
        "has been reached."
    )
    if limit.get("offerReschedule"):
        message += (
            f" You can reschedule your existing booking ({active[0].uid}) to a new timeslot "
            "instead."
        )
    raise bad_request(message)


def _overrides(call: Call, event_type: EventType, data: dict[str, Any]) -> Overrides:
    """2026-02-25's host-only bypasses; silently ignored for anyone else (upstream e2e
    allow-conflicts-bookings / allow-booking-out-of-bounds, 2026-02-25 controllers)."""
    if call.version != "2026-02-25" or call.user is None or call.user.id != event_type.owner_id:
        return NO_OVERRIDES
    return Overrides(
        conflicts=data.get("allowConflicts") is True,
        out_of_bounds=data.get("allowBookingOutOfBounds") is True,
    )


def _book(call: Call, env: Env, data: dict[str, Any], *, legacy: bool) -> Reply:
    store = env.store
    event_type = resolve_event_type(store, data)
    _check_authentication(call, event_type)
    if not legacy:
        check_responses(event_type, data)
    length = _length(event_type, data)
    _check_location(event_type, data)
    start = parse_iso(data["start"])
    assert start is not None
    status = "pending" if event_type.requires_confirmation else "accepted"
    overrides = _overrides(call, event_type, data)
    if event_type.recurrence is not None and not legacy:
        return _book_series(call, env, event_type, data, start, length, status, overrides)
    end = start + timedelta(minutes=length)
    reason, joinable = unavailable_reason(
        store, event_type, start, end, call.now, overrides=overrides
    )
    if reason is not None:
        raise bad_request(reason)
    _check_booker_limit(store, event_type, data, call.now)
    if event_type.seats is not None:
        return _take_seat(call, env, event_type, data, start, length, status, joinable)
    record = _new_booking(env, event_type, start, length, data, call.now, status)
    store.add_booking(record)
    _emit_booking(env, _trigger_for(record), record)
    if legacy:
        return success(output.legacy_booking(store, record), 201)
    return success(output.booking(store, record, version=call.version or ""), 201)


def _take_seat(
    call: Call,
    env: Env,
    event_type: EventType,
    data: dict[str, Any],
    start: datetime,
    length: int,
    status: str,
    joinable: Booking | None,
) -> Reply:
    seat_uid = new_uid()
    attendee = _attendee_record(data["attendee"], data)
    attendee["seatUid"] = seat_uid
    attendee["bookingFieldsResponses"] = dict(data.get("bookingFieldsResponses") or {})
    attendee["metadata"] = dict(data.get("metadata") or {})
    if joinable is not None:
        # upstream handleSeats.ts, then the bookings service's createSeatedBooking
        # (booking_seats_full_error), in that order
        if any(seat["email"] == attendee["email"] for seat in joinable.attendees):
            raise ApiError(409, "Already signed up for this booking.")
        if seats_left(event_type, joinable) <= 0:
            raise ApiError(409, "No more seats left at this seated booking.")
        joinable.attendees.append(attendee)
        joinable.updated_at = call.now
        env.store.touch(joinable)
        record = joinable
    else:
        record = _new_booking(env, event_type, start, length, data, call.now, status)
        record.attendees = [attendee]
        env.store.add_booking(record)
    _emit_booking(env, _trigger_for(record), record, seatUid=seat_uid)
    return success(output.created_seat(env.store, record, seat_uid), 201)


def _book_series(
    call: Call,
    env: Env,
    event_type: EventType,
    data: dict[str, Any],
    first: datetime,
    length: int,
    status: str,
    overrides: Overrides,
) -> Reply:
    store = env.store
    occurrences = int((event_type.recurrence or {}).get("occurrences", 1))
    count = int(data.get("recurrenceCount") or occurrences)
    if count > occurrences:
        # upstream input service, transformInputCreateRecurringBooking
        raise bad_request(
            "Provided recurrence count is higher than the event type's recurring event count."
        )
    starts = _series_starts(event_type, first, count)
    for start in starts:
        end = start + timedelta(minutes=length)
        reason, _ = unavailable_reason(store, event_type, start, end, call.now, overrides=overrides)
        if reason is not None:
            raise bad_request(reason)
    series_uid = new_uid()
    created = []
    for start in starts:
        record = _new_booking(env, event_type, start, length, data, call.now, status)
        record.recurring_booking_uid = series_uid
        store.add_booking(record)
        created.append(record)
    for record in created:
        _emit_booking(env, _trigger_for(record), record)
    return success([output.booking(store, r, version=call.version or "") for r in created], 201)


def _find(store: Store, uid: str) -> Booking:
    record = store.bookings.get(uid)
    if record is None:
        raise not_found(f"Booking with uid={uid} was not found in the database")
    return record


def _series(store: Store, series_uid: str) -> list[Booking]:
    members = [b for b in store.bookings.values() if b.recurring_booking_uid == series_uid]
    return sorted(members, key=lambda b: b.start)


def get_booking(call: Call, env: Env) -> Reply:
    uid = call.params["uid"]
    store = env.store
    if uid not in store.bookings:
        members = _series(store, uid)
        if members:
            if call.version not in BOOKINGS_VERSIONS:
                return success([output.legacy_booking(store, b) for b in members])
            return success([output.booking(store, b, version=call.version) for b in members])
    record = _find(store, uid)
    if call.version not in BOOKINGS_VERSIONS:
        return success(output.legacy_booking(store, record))
    return success(output.booking(store, record, version=call.version))


def _validate_cancel(body: Any) -> dict[str, Any]:
    v = Validator(require_object(body))
    v.field("cancellationReason", is_string)
    v.field("cancelSubsequentBookings", is_boolean)
    v.field("seatUid", is_string)
    v.raise_if_invalid()
    return v.clean


def _cancel_one(call: Call, env: Env, record: Booking, reason: str | None) -> None:
    record.status = "cancelled"
    record.cancellation_reason = reason
    if call.user is not None:
        record.cancelled_by_email = call.user.email
    record.updated_at = call.now
    env.store.touch(record)
    _emit_booking(env, "BOOKING_CANCELLED", record)


HOST_REASON = "Cancellation reason is required when you are the host"


def _check_seat_uid(store: Store, uid: str, seat_uid: str) -> None:
    """Upstream bookings service, cancelBooking: the seat must exist and be this booking's."""
    record = store.bookings.get(uid)
    if record is not None and any(a.get("seatUid") == seat_uid for a in record.attendees):
        return
    for other in store.bookings.values():
        if any(a.get("seatUid") == seat_uid for a in other.attendees):
            raise bad_request("Invalid seatUid: this seat does not belong to this booking.")
    raise bad_request("Invalid seatUid: this seat does not exist or has already been cancelled.")


def _cancelling_disabled(store: Store, record: Booking) -> bool:
    event_type = store.event_types.get(record.event_type_id)
    setting = event_type.spec.get("disableCancelling") if event_type else None
    return isinstance(setting, dict) and setting.get("disabled") is True


def _check_cancellable(call: Call, store: Store, record: Booking, reason: str | None) -> None:
    """Upstream input service (createCancelBookingRequest) and cancel handler
    (packages/features/bookings/lib/handleCancelBooking.ts): not twice, not after the
    booking ended, and the host (the API key's owner) must say why."""
    if record.status == "cancelled":
        raise bad_request(
            f"Can't cancel booking with uid={record.uid} because it has been cancelled already. "
            "Please provide uid of a booking that is not cancelled."
        )
    if record.status == "rejected":
        raise bad_request("Can't cancel booking that has been rejected.")
    is_host = call.user is not None and call.user.id == record.host_id
    if _cancelling_disabled(store, record) and not is_host:
        raise handler_error(400, "This event type does not allow cancellations")
    if not (reason or "").strip() and is_host:
        raise handler_error(400, HOST_REASON)
    if record.end <= call.now:
        raise handler_error(400, "Cannot cancel a booking that has already ended")


def _cancel_series(call: Call, env: Env, series_uid: str, data: dict[str, Any]) -> Reply:
    """A recurring series' uid cancels every remaining occurrence."""
    if data.get("cancelSubsequentBookings"):
        raise bad_request(
            "Cannot cancel subsequent bookings for recurring event - you have to provide uid of "
            "one of the individual bookings of a recurring booking."
        )
    store = env.store
    members = [b for b in _series(store, series_uid) if b.active]
    reason = data.get("cancellationReason")
    if members:
        _check_cancellable(call, store, members[0], reason)
    for member in members:
        _cancel_one(call, env, member, reason)
    version = call.version or ""
    return success([output.booking(store, b, version=version) for b in _series(store, series_uid)])


def cancel_booking(call: Call, env: Env) -> Reply:
    data = _validate_cancel(call.body)
    store = env.store
    uid = call.params["uid"]
    if uid not in store.bookings and _series(store, uid):
        return _cancel_series(call, env, uid, data)
    seat_uid = data.get("seatUid")
    if seat_uid is not None:
        _check_seat_uid(store, uid, seat_uid)
    record = _find(store, uid)
    reason = data.get("cancellationReason")
    _check_cancellable(call, store, record, reason)
    if record.seated and seat_uid:
        return _cancel_seat(call, env, record, seat_uid)
    if record.seated and (call.user is None or call.user.id != record.host_id):
        raise handler_error(401, "User not a host of this event")
    if data.get("cancelSubsequentBookings"):
        return _cancel_subsequent(call, env, record, reason)
    _cancel_one(call, env, record, reason)
    if call.version not in BOOKINGS_VERSIONS:
        return success(output.legacy_booking(store, record))
    return success(output.booking(store, record, version=call.version or ""))


def _cancel_from(call: Call, env: Env, record: Booking, reason: str | None) -> Reply:
    """``record`` and the later occurrences of its series."""
    assert record.recurring_booking_uid is not None
    series = _series(env.store, record.recurring_booking_uid)
    for member in series:
        if member.start >= record.start and member.active:
            _cancel_one(call, env, member, reason)
    version = call.version or ""
    return success([output.booking(env.store, b, version=version) for b in series])


def _cancel_subsequent(call: Call, env: Env, record: Booking, reason: str | None) -> Reply:
    """Upstream bookings service, cancelBooking: the booking is cancelled first; only then
    is a booking outside a series answered with 400 (getAllRecurringBookingsByIndividualUid)."""
    if record.recurring_booking_uid:
        return _cancel_from(call, env, record, reason)
    _cancel_one(call, env, record, reason)
    raise bad_request(f"Booking with bookingUid={record.uid} is not part of a recurring booking.")


def _cancel_seat(call: Call, env: Env, record: Booking, seat_uid: str) -> Reply:
    remaining = [seat for seat in record.attendees if seat.get("seatUid") != seat_uid]
    record.attendees = remaining
    record.updated_at = call.now
    env.store.touch(record)
    if not remaining:
        _cancel_one(call, env, record, None)
    else:
        _emit_booking(env, "BOOKING_CANCELLED", record, seatUid=seat_uid)
    return success(output.booking(env.store, record, version=call.version or ""))


def _validate_reschedule(body: Any) -> dict[str, Any]:
    v = Validator(require_object(body))
    v.field("start", is_date_string, required=True)
    v.field("rescheduledBy", is_email)
    v.field("reschedulingReason", is_string)
    v.field("seatUid", is_string)
    v.field("emailVerificationCode", is_string)
    v.raise_if_invalid()
    return v.clean


def reschedule_booking(call: Call, env: Env) -> Reply:
    data = _validate_reschedule(call.body)
    store = env.store
    old = _find(store, call.params["uid"])
    event_type = store.event_types.get(old.event_type_id)
    if event_type is None:
        raise bad_request("The event type of this booking no longer exists.")
    _check_reschedulable(store, old, data)
    _check_reschedule_notice(call, store, old, event_type, data)
    start = parse_iso(data["start"])
    assert start is not None
    length = int((old.end - old.start).total_seconds() // 60)
    end = start + timedelta(minutes=length)
    reason, joinable = unavailable_reason(
        store, event_type, start, end, call.now, ignore_uid=old.uid
    )
    if reason is not None:
        raise bad_request(reason)
    # getRequiresConfirmationFlags.ts@5b6d63e6: the organizer's own reschedule is accepted
    by_owner = _rescheduler_id(call, store, old, data) == old.host_id
    status = "pending" if event_type.requires_confirmation and not by_owner else "accepted"
    if old.seated and data.get("seatUid"):
        return _move_seat(call, env, old, event_type, data, start, length, status, joinable)
    new = _rescheduled_copy(
        call,
        env,
        old,
        data,
        status=status,
        start=start,
        end=end,
        attendees=[dict(a) for a in old.attendees],
        guests=list(old.guests),
        seated=old.seated,
    )
    old.status = "cancelled"
    old.rescheduled_to_uid = new.uid
    old.rescheduled_by_email = data.get("rescheduledBy")
    old.updated_at = call.now
    store.add_booking(new)
    store.touch(old)
    _emit_booking(
        env,
        "BOOKING_RESCHEDULED",
        new,
        rescheduleId=old.id,
        rescheduleStartTime=format_utc(old.start),
        rescheduleEndTime=format_utc(old.end),
    )
    return success(output.booking(store, new, version=call.version or ""), 201)


def _check_reschedulable(store: Store, old: Booking, data: dict[str, Any]) -> None:
    """Upstream input service (transformInputRescheduleBooking / ...SeatedBooking) and
    bookings service (canRescheduleBooking), in their order."""
    seat_uid = data.get("seatUid")
    if old.seated and seat_uid is None:
        raise bad_request(
            f"Booking with uid={old.uid} is a seated booking which means you have to provide "
            "seatUid in the request body to specify which seat specifically you want to "
            "reschedule. First, fetch the booking using the GET /v2/bookings/{uid} endpoint and "
            "then within the attendees array you will find the seatUid of the booking you want "
            "to reschedule. Second, provide the seatUid in the request body to specify which "
            "seat specifically you want to reschedule using the POST "
            "/v2/bookings/{uid}/reschedule endpoint."
        )
    if old.seated and not any(a.get("seatUid") == seat_uid for a in old.attendees):
        raise not_found(f"Seat with uid={seat_uid} does not exist.")
    if old.status == "cancelled" and old.rescheduled_to_uid:
        new_uid = old.rescheduled_to_uid
        raise bad_request(
            f"Can't reschedule booking with uid={old.uid} because it has been cancelled and "
            f"rescheduled already to booking with uid={new_uid}. You probably want to "
            f"reschedule {new_uid} instead by passing it within the request URL."
        )
    if old.status == "cancelled":
        raise bad_request(
            f"Can't reschedule booking with uid={old.uid} because it has been cancelled. "
            "Please provide uid of a booking that is not cancelled."
        )
    if old.status == "rejected":
        raise bad_request(f"Can't reschedule a booking that is {old.status}.")


def reschedule_notice_minutes(event_type: EventType) -> int | None:
    """The event type's minimumRescheduleNotice: upstream's event-types input service
    (transformInputDisableRescheduling) stores ``disableRescheduling.minutesBefore`` as it,
    and none when ``disabled`` is true."""
    setting = event_type.spec.get("disableRescheduling")
    if not isinstance(setting, dict) or setting.get("disabled") is True:
        return None
    minutes = setting.get("minutesBefore")
    return minutes if isinstance(minutes, int) and minutes > 0 else None


def _rescheduler_id(call: Call, store: Store, old: Booking, data: dict[str, Any]) -> int | None:
    """Who reschedules, as upstream's input service (createRescheduleBookingRequest) and
    bookings service (rescheduleBooking) find it: the user ``rescheduledBy`` names, unless
    it is the attendee's own email; else the credential's owner."""
    named = data.get("rescheduledBy")
    if named and named != old.responses.get("email"):
        found = next((u.id for u in store.users.values() if u.email == named), None)
        if found is not None:
            return found
    return call.user.id if call.user is not None else None


def _check_reschedule_notice(
    call: Call, store: Store, old: Booking, event_type: EventType, data: dict[str, Any]
) -> None:
    """validateRescheduleRestrictions (packages/features/bookings/lib/handleNewBooking/
    validateRescheduleRestrictions.ts@b42e979c): anyone but the organizer is refused 403
    while the booking starts within the minimum reschedule notice
    (isWithinMinimumRescheduleNotice.ts@7bc6d11e: 0 < time until start < notice)."""
    minutes = reschedule_notice_minutes(event_type)
    if minutes is None or _rescheduler_id(call, store, old, data) == old.host_id:
        return
    until_start = old.start - call.now
    if timedelta(0) < until_start < timedelta(minutes=minutes):
        raise handler_error(
            403, "Rescheduling is not allowed within the minimum notice period before the event"
        )


def _rescheduled_copy(
    call: Call,
    env: Env,
    old: Booking,
    data: dict[str, Any],
    *,
    status: str,
    start: datetime,
    end: datetime,
    attendees: list[dict[str, Any]],
    guests: list[str],
    seated: bool,
) -> Booking:
    """The new booking a reschedule makes of ``old``: same event, new uid and time."""
    return Booking(
        id=env.store.next_id("booking"),
        uid=new_uid(),
        event_type_id=old.event_type_id,
        host_id=old.host_id,
        title=old.title,
        description=old.description,
        status=status,
        start=start,
        end=end,
        attendees=attendees,
        guests=guests,
        location=old.location,
        metadata=dict(old.metadata),
        responses=dict(old.responses),
        created_at=call.now,
        updated_at=call.now,
        ics_uid=old.ics_uid,
        before_buffer=old.before_buffer,
        after_buffer=old.after_buffer,
        seated=seated,
        rescheduling_reason=data.get("reschedulingReason"),
        rescheduled_by_email=data.get("rescheduledBy"),
        rescheduled_from_uid=old.uid,
    )


def _move_seat(
    call: Call,
    env: Env,
    old: Booking,
    event_type: EventType,
    data: dict[str, Any],
    start: datetime,
    length: int,
    status: str,
    joinable: Booking | None,
) -> Reply:
    seat_uid = data["seatUid"]
    seat = next(a for a in old.attendees if a.get("seatUid") == seat_uid)
    old.attendees = [a for a in old.attendees if a is not seat]
    if not old.attendees:
        old.status = "cancelled"
    old.updated_at = call.now
    if joinable is not None:
        joinable.attendees.append(seat)
        joinable.updated_at = call.now
        target = joinable
    else:
        target = _rescheduled_copy(
            call,
            env,
            old,
            data,
            status=status,
            start=start,
            end=start + timedelta(minutes=length),
            attendees=[seat],
            guests=[],
            seated=True,
        )
        env.store.add_booking(target)
    env.store.touch(old, target)
    _emit_booking(env, "BOOKING_RESCHEDULED", target, seatUid=seat_uid)
    return success(output.created_seat(env.store, target, seat_uid), 201)


def _owned(call: Call, env: Env) -> Booking:
    user = call.require_user()
    record = _find(env.store, call.params["uid"])
    if record.host_id != user.id:
        raise ApiError(403, f"User with id={user.id} is not the host of booking {record.uid}.")
    return record


def confirm_booking(call: Call, env: Env) -> Reply:
    record = _owned(call, env)
    if record.status == "accepted":
        raise bad_request("Booking already confirmed")
    if record.status != "pending":
        raise bad_request(f"Booking with uid={record.uid} is {record.status}, not pending.")
    record.status = "accepted"
    record.updated_at = call.now
    env.store.touch(record)
    _emit_booking(env, "BOOKING_CREATED", record)
    return success(output.booking(env.store, record, version=call.version or ""))


def decline_booking(call: Call, env: Env) -> Reply:
    """Upstream bookings service (2024-08-13 services/bookings.service.ts@db2a5906,
    declineBooking) hands the booking to the confirm handler with ``confirmed: false``
    (packages/trpc/server/routers/viewer/bookings/confirm.handler.ts@008952de,
    confirmHandler): only an accepted booking is refused ("Booking already confirmed");
    any other, even one already declined, is declined (again), the attendee told again."""
    v = Validator(require_object(call.body))
    v.field("reason", is_string)
    v.raise_if_invalid()
    record = _owned(call, env)
    if record.status == "accepted":
        raise bad_request("Booking already confirmed")
    record.status = "rejected"
    record.updated_at = call.now
    env.store.touch(record)
    _emit_booking(env, "BOOKING_REJECTED", record, rejectionReason=v.clean.get("reason"))
    return success(output.booking(env.store, record, version=call.version or ""))


def create_legacy_booking(call: Call, env: Env) -> Reply:
    """Cal.com routes a missing or unknown cal-api-version to its 2024-04-15 controller."""
    v = Validator(require_object(call.body))
    v.field("start", is_date_string, required=True)
    v.field("end", is_date_string)
    v.field("eventTypeId", is_int, required=True)
    v.field("timeZone", is_time_zone_check, required=True)
    v.field("language", is_string, required=True)
    _check_metadata(v, v.field("metadata", is_object, required=True))

    def responses(inner: Validator) -> None:
        inner.field("name", is_string, required=True)
        inner.field("email", is_email, required=True)
        inner.field("guests", is_array, each(is_email))
        inner.field("notes", is_string)

    v.nested("responses", responses, required=True)
    v.raise_if_invalid()
    clean = v.clean
    answers = clean["responses"]
    data = {
        "start": clean["start"],
        "eventTypeId": clean["eventTypeId"],
        "metadata": clean["metadata"],
        "guests": answers.get("guests") or [],
        "attendee": {
            "name": answers["name"],
            "email": answers["email"],
            "timeZone": clean["timeZone"],
            "language": clean["language"] if clean["language"] in LANGUAGES else "en",
        },
    }
    return _book(call, env, data, legacy=True)


def not_in_legacy(call: Call, env: Env) -> Reply:
    raise ApiError(404, f"Cannot {call.method} {call.path}")


# Listing -------------------------------------------------------------------------------------

STATUS_FILTERS = ("upcoming", "recurring", "past", "cancelled", "unconfirmed")


def _matches_status(record: Booking, wanted: set[str], now: datetime) -> bool:
    upcoming = record.end >= now
    checks = {
        "upcoming": upcoming and record.active,
        "recurring": upcoming and record.active and record.recurring_booking_uid is not None,
        "past": not upcoming and record.status not in {"cancelled", "rejected"},
        "cancelled": record.status in {"cancelled", "rejected"},
        "unconfirmed": upcoming and record.status == "pending",
    }
    return any(checks[name] for name in wanted)


def _bound(query: dict[str, str], name: str, errors: list[dict[str, Any]]) -> datetime | None:
    if name not in query:
        return None
    moment = parse_iso(query[name])
    if moment is None:
        message = f"{name} must be a valid ISO 8601 date string"
        errors.append(
            {
                "value": query[name],
                "property": name,
                "children": [],
                "constraints": {"isDateString": message},
            }
        )
    return moment


def _int_param(
    query: dict[str, str],
    name: str,
    default: int,
    low: int,
    high: int,
    errors: list[dict[str, Any]],
) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if value < low or value > high:
        message = f"{name} must be an integer between {low} and {high}"
        errors.append(
            {"value": raw, "property": name, "children": [], "constraints": {"isInt": message}}
        )
    return value


def list_bookings(call: Call, env: Env) -> Reply:
    user = call.require_user()
    query = call.query
    errors: list[dict[str, Any]] = []
    wanted: set[str] = set()
    if query.get("status"):
        wanted = {part.strip() for part in query["status"].split(",") if part.strip()}
        unknown = wanted - set(STATUS_FILTERS)
        if unknown:
            message = "each value in status must be one of the following values: " + ", ".join(
                STATUS_FILTERS
            )
            errors.append(
                {
                    "value": query["status"],
                    "property": "status",
                    "children": [],
                    "constraints": {"isEnum": message},
                }
            )
    bounds = {
        name: _bound(query, name, errors)
        for name in (
            "afterStart",
            "beforeEnd",
            "afterCreatedAt",
            "beforeCreatedAt",
            "afterUpdatedAt",
            "beforeUpdatedAt",
        )
    }
    take = _int_param(query, "take", 100, 1, 250, errors)
    skip = _int_param(query, "skip", 0, 0, 10**9, errors)
    for name in ("sortStart", "sortEnd", "sortCreated", "sortUpdatedAt"):
        if name in query and query[name] not in ("asc", "desc"):
            message = f"{name} must be one of the following values: asc, desc"
            errors.append(
                {
                    "value": query[name],
                    "property": name,
                    "children": [],
                    "constraints": {"isEnum": message},
                }
            )
    type_ids: set[int] | None = None
    raw_ids = query.get("eventTypeIds") or query.get("eventTypeId")
    if raw_ids:
        try:
            type_ids = {int(part) for part in raw_ids.split(",") if part.strip()}
        except ValueError:
            errors.append(
                {
                    "value": raw_ids,
                    "property": "eventTypeIds",
                    "children": [],
                    "constraints": {
                        "isNumberString": "eventTypeIds must be a comma separated list of numbers"
                    },
                }
            )
    if errors:
        raise validation_error(errors)
    email = query.get("attendeeEmail", "").lower()
    name = query.get("attendeeName", "").lower()
    uid = query.get("bookingUid")
    found = []
    for record in env.store.bookings.values():
        if record.host_id != user.id and not any(
            a["email"] == user.email for a in record.attendees
        ):
            continue
        if wanted and not _matches_status(record, wanted, call.now):
            continue
        if uid and record.uid != uid:
            continue
        if type_ids is not None and record.event_type_id not in type_ids:
            continue
        if email and not any(a["email"].lower() == email for a in record.attendees):
            continue
        if name and not any(name in a["name"].lower() for a in record.attendees):
            continue
        limits = (
            ("afterStart", record.start, True),
            ("beforeEnd", record.end, False),
            ("afterCreatedAt", record.created_at, True),
            ("beforeCreatedAt", record.created_at, False),
            ("afterUpdatedAt", record.updated_at, True),
            ("beforeUpdatedAt", record.updated_at, False),
        )
        if any(
            bounds[key] is not None and (value < bounds[key] if after else value > bounds[key])  # type: ignore[operator]
            for key, value, after in limits
        ):
            continue
        found.append(record)
    sort_keys = (
        ("sortStart", "start"),
        ("sortEnd", "end"),
        ("sortCreated", "created_at"),
        ("sortUpdatedAt", "updated_at"),
    )
    found.sort(key=lambda b: (b.start, b.id))
    for param, attribute in sort_keys:
        if param in query:
            found.sort(key=lambda b: getattr(b, attribute), reverse=query[param] == "desc")
            break
    total = len(found)
    page = found[skip : skip + take]
    if call.version not in BOOKINGS_VERSIONS:
        legacy = [output.legacy_booking(env.store, b) for b in page]
        return success({"bookings": legacy, "recurringInfo": [], "nextCursor": None})
    pagination = {
        "totalItems": total,
        "remainingItems": max(total - skip - len(page), 0),
        "returnedItems": len(page),
        "itemsPerPage": take,
        "currentPage": skip // take + 1,
        "totalPages": -(-total // take),
        "hasNextPage": skip + len(page) < total,
        "hasPreviousPage": skip > 0,
    }
    data = [output.booking(env.store, b, version=call.version or "") for b in page]
    return success(data, pagination=pagination)
