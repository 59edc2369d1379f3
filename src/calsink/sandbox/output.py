"""The JSON shapes Cal.com answers with, built from the store's records."""

from __future__ import annotations

from typing import Any

from calsink.sandbox.model import (
    Booking,
    EventType,
    OutOfOffice,
    Schedule,
    Store,
    TeamEventType,
    User,
    Webhook,
)
from calsink.sandbox.timeutil import format_utc

BOOKING_SITE = "https://sandbox.calsink.invalid"

DEFAULT_BOOKING_FIELDS: list[dict[str, Any]] = [
    {
        "type": "name",
        "slug": "name",
        "label": "Your name",
        "placeholder": "",
        "isDefault": True,
        "required": True,
        "disableOnPrefill": False,
    },
    {
        "type": "email",
        "slug": "email",
        "label": "Email address",
        "placeholder": "",
        "isDefault": True,
        "required": True,
        "hidden": False,
        "disableOnPrefill": False,
    },
]

CUSTOM_FIELD_DEFAULTS_SKIP = {"name", "email", "title", "location", "notes", "guests"}
DEFAULT_LOCATIONS: list[dict[str, Any]] = [{"type": "integration", "integration": "cal-video"}]


def host(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "displayEmail": user.email,
        "username": user.username,
        "timeZone": user.time_zone,
    }


def _attendee(attendee: dict[str, Any], *, seated: bool) -> dict[str, Any]:
    shown = {
        "name": attendee["name"],
        "email": attendee["email"],
        "displayEmail": attendee["email"],
        "timeZone": attendee["timeZone"],
        "language": attendee.get("language", "en"),
        "absent": bool(attendee.get("absent", False)),
    }
    if attendee.get("phoneNumber"):
        shown["phoneNumber"] = attendee["phoneNumber"]
    if seated:
        shown["seatUid"] = attendee["seatUid"]
        shown["bookingFieldsResponses"] = attendee.get("bookingFieldsResponses", {})
        shown["metadata"] = attendee.get("metadata", {})
    return shown


def booking(store: Store, record: Booking, *, version: str = "2024-08-13") -> dict[str, Any]:
    owner = store.users.get(record.host_id)
    event_type = store.event_types.get(record.event_type_id)
    slug = event_type.slug if event_type else str(record.event_type_id)
    out: dict[str, Any] = {
        "id": record.id,
        "uid": record.uid,
        "title": record.title,
        "description": record.description,
        "hosts": [host(owner)] if owner else [],
        "status": record.status,
        "start": format_utc(record.start),
        "end": format_utc(record.end),
        "duration": int((record.end - record.start).total_seconds() // 60),
        "eventTypeId": record.event_type_id,
        "eventType": {"id": record.event_type_id, "slug": slug},
        "meetingUrl": record.location,
        "location": record.location,
        "absentHost": record.absent_host,
        "createdAt": format_utc(record.created_at),
        "updatedAt": format_utc(record.updated_at),
        "metadata": record.metadata,
        "icsUid": record.ics_uid,
    }
    hide_cancelled_seats = record.status == "cancelled" and version != "2026-02-25"
    if record.seated:
        shown = [] if hide_cancelled_seats else record.attendees
        out["attendees"] = [_attendee(item, seated=True) for item in shown]
    else:
        out["attendees"] = [_attendee(item, seated=False) for item in record.attendees]
        out["guests"] = record.guests
        out["bookingFieldsResponses"] = record.responses
    optional = {
        "cancellationReason": record.cancellation_reason,
        "cancelledByEmail": record.cancelled_by_email,
        "reschedulingReason": record.rescheduling_reason,
        "rescheduledByEmail": record.rescheduled_by_email,
        "rescheduledFromUid": record.rescheduled_from_uid,
        "rescheduledToUid": record.rescheduled_to_uid,
        "recurringBookingUid": record.recurring_booking_uid,
    }
    out.update({key: value for key, value in optional.items() if value is not None})
    return out


def created_seat(store: Store, record: Booking, seat_uid: str) -> dict[str, Any]:
    out = booking(store, record)
    out["seatUid"] = seat_uid
    return out


def legacy_booking(store: Store, record: Booking) -> dict[str, Any]:
    """The 2024-04-15 shape the fallback controller answers with."""
    return {
        "id": record.id,
        "uid": record.uid,
        "userId": record.host_id,
        "eventTypeId": record.event_type_id,
        "title": record.title,
        "description": record.description,
        "startTime": format_utc(record.start),
        "endTime": format_utc(record.end),
        "status": record.status.upper(),
        "location": record.location,
        "metadata": record.metadata,
        "responses": record.responses,
        "attendees": [
            {"name": a["name"], "email": a["email"], "timeZone": a["timeZone"]}
            for a in record.attendees
        ],
        "createdAt": format_utc(record.created_at),
        "recurringEventId": record.recurring_booking_uid,
        "fromReschedule": record.rescheduled_from_uid,
    }


def _booking_field(field: dict[str, Any]) -> dict[str, Any]:
    """A custom field as Cal.com shows it: with its placeholder, hidden and isDefault."""
    if "isDefault" in field or field.get("slug") in CUSTOM_FIELD_DEFAULTS_SKIP:
        return field
    return {"placeholder": "", "hidden": False, **field, "isDefault": False}


def event_type(store: Store, record: EventType) -> dict[str, Any]:
    spec = record.spec
    owner = store.users.get(record.owner_id)
    username = owner.username if owner else ""
    out: dict[str, Any] = {
        "id": record.id,
        "ownerId": record.owner_id,
        "lengthInMinutes": record.length,
        "title": spec["title"],
        "slug": spec["slug"],
        "description": spec.get("description", ""),
        "locations": spec.get("locations", DEFAULT_LOCATIONS),
        "bookingFields": [
            _booking_field(f) for f in spec.get("bookingFields", DEFAULT_BOOKING_FIELDS)
        ],
        "disableGuests": spec.get("disableGuests", False),
        "slotInterval": spec.get("slotInterval"),
        "minimumBookingNotice": spec.get("minimumBookingNotice", 120),
        "beforeEventBuffer": spec.get("beforeEventBuffer", 0),
        "afterEventBuffer": spec.get("afterEventBuffer", 0),
        "recurrence": record.recurrence,
        "metadata": spec.get("metadata", {}),
        "price": 0,
        "currency": "usd",
        "lockTimeZoneToggleOnBookingPage": spec.get("lockTimeZoneToggleOnBookingPage", False),
        "seatsPerTimeSlot": record.seats,
        "forwardParamsSuccessRedirect": None,
        "successRedirectUrl": spec.get("successRedirectUrl"),
        "isInstantEvent": False,
        "seatsShowAvailabilityCount": None,
        "scheduleId": spec.get("scheduleId"),
        "hidden": spec.get("hidden", False),
        "bookingRequiresAuthentication": spec.get("bookingRequiresAuthentication", False),
        "users": [event_type_user(owner)] if owner else [],
        "bookingUrl": f"{BOOKING_SITE}/{username}/{spec['slug']}",
    }
    if "lengthInMinutesOptions" in spec:
        out["lengthInMinutesOptions"] = spec["lengthInMinutesOptions"]
    seats = spec.get("seats")
    if isinstance(seats, dict) and record.seats is not None:
        out["seats"] = {
            "seatsPerTimeSlot": record.seats,
            "showAttendeeInfo": bool(seats.get("showAttendeeInfo", False)),
            "showAvailabilityCount": bool(seats.get("showAvailabilityCount", True)),
        }
        out["seatsShowAvailabilityCount"] = out["seats"]["showAvailabilityCount"]
    policy = spec.get("confirmationPolicy")
    if isinstance(policy, dict):
        out["confirmationPolicy"] = policy
    for key in (
        "bookingLimitsCount",
        "bookingLimitsDuration",
        "color",
        "customName",
        "offsetStart",
        "disableCancelling",
        "disableRescheduling",
        "allowReschedulingPastBookings",
        "allowReschedulingCancelledBookings",
    ):
        if key in spec:
            out[key] = spec[key]
    return out


def deleted_event_type(record: EventType) -> dict[str, Any]:
    return {
        "id": record.id,
        "lengthInMinutes": record.length,
        "title": record.spec["title"],
        "slug": record.slug,
    }


def schedule(record: Schedule) -> dict[str, Any]:
    return {
        "id": record.id,
        "ownerId": record.owner_id,
        "name": record.name,
        "timeZone": record.time_zone,
        "availability": record.availability,
        "isDefault": record.is_default,
        "overrides": record.overrides,
    }


def webhook(record: Webhook) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": record.id,
        "userId": record.user_id,
        "subscriberUrl": record.subscriber_url,
        "triggers": record.triggers,
        "active": record.active,
        "payloadTemplate": record.payload_template,
    }
    if record.secret is not None:
        out["secret"] = record.secret
    return out


def ooo(record: OutOfOffice) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": record.id,
        "uuid": record.uuid,
        "userId": record.user_id,
        "start": format_utc(record.start),
        "end": format_utc(record.end),
        "reason": record.reason,
    }
    if record.to_user_id is not None:
        out["toUserId"] = record.to_user_id
    if record.notes is not None:
        out["notes"] = record.notes
    return out


def team_event_type(store: Store, record: TeamEventType) -> dict[str, Any]:
    """TeamEventTypeOutput_2024_06_14: the event type's fields, with its team and hosts."""
    out = event_type(store, EventType(record.id, 0, record.spec))
    for personal in ("users", "bookingUrl"):
        out.pop(personal)
    team = store.teams.get(record.team_id)
    spec = record.spec
    members = team.member_ids if team else []
    chosen = spec.get("hosts")
    if chosen is None:
        chosen = [{"userId": m} for m in members] if spec.get("assignAllTeamMembers") else []
    hosts = []
    for host in chosen:
        user = store.users.get(host["userId"])
        if user is not None:
            shown = {"userId": user.id, "name": user.name, "username": user.username}
            hosts.append({**shown, "avatarUrl": None, **host})
    out.update(
        ownerId=None,
        teamId=record.team_id,
        schedulingType=spec["schedulingType"],
        assignAllTeamMembers=bool(spec.get("assignAllTeamMembers", False)),
        hosts=hosts,
        team={
            "id": record.team_id,
            "slug": team.slug if team else "",
            "name": team.name if team else "",
            "bannerUrl": "",
            "logoUrl": "",
            "weekStart": "Sunday",
            "brandColor": "#292929",
            "darkBrandColor": "#fafafa",
            "theme": "light",
        },
    )
    return out


def event_type_user(user: User) -> dict[str, Any]:
    """A user as an event type lists it (User_2024_06_14 in the a36c1b79 subset)."""
    return {
        "id": user.id,
        "name": user.name,
        "username": user.username,
        "avatarUrl": None,
        "weekStart": "Sunday",
        "brandColor": None,
        "darkBrandColor": None,
        "metadata": {},
    }


def me(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "name": user.name,
        "avatarUrl": None,
        "bio": None,
        "timeFormat": 12,
        "defaultScheduleId": user.default_schedule_id,
        "weekStart": "Sunday",
        "timeZone": user.time_zone,
        "locale": "en",
        "organizationId": None,
    }


def booking_webhook_payload(store: Store, record: Booking) -> dict[str, Any]:
    owner = store.users.get(record.host_id)
    event = store.event_types.get(record.event_type_id)
    payload: dict[str, Any] = {
        "type": event.slug if event else "",
        "title": record.title,
        "description": record.description,
        "startTime": format_utc(record.start),
        "endTime": format_utc(record.end),
        "organizer": {
            "id": owner.id,
            "name": owner.name,
            "email": owner.email,
            "username": owner.username,
            "timeZone": owner.time_zone,
            "language": {"locale": "en"},
        }
        if owner
        else {},
        "attendees": [
            {
                "name": a["name"],
                "email": a["email"],
                "timeZone": a["timeZone"],
                "language": {"locale": a.get("language", "en")},
            }
            for a in record.attendees
        ],
        "location": record.location,
        "uid": record.uid,
        "bookingId": record.id,
        "eventTypeId": record.event_type_id,
        "status": record.status.upper(),
        "metadata": record.metadata,
        "responses": record.responses,
        "length": int((record.end - record.start).total_seconds() // 60),
        "eventTitle": event.spec["title"] if event else "",
        "eventDescription": event.spec.get("description", "") if event else "",
        "requiresConfirmation": event.requires_confirmation if event else False,
        "price": 0,
        "currency": "usd",
    }
    if record.rescheduled_from_uid:
        payload["rescheduleUid"] = record.rescheduled_from_uid
    if record.cancellation_reason:
        payload["cancellationReason"] = record.cancellation_reason
    if record.recurring_booking_uid:
        payload["recurringEventId"] = record.recurring_booking_uid
    return payload


def ooo_webhook_payload(store: Store, record: OutOfOffice) -> dict[str, Any]:
    user = store.users.get(record.user_id)
    to_user = store.users.get(record.to_user_id) if record.to_user_id else None
    return {
        "oooEntry": {
            "id": record.id,
            "uuid": record.uuid,
            "start": format_utc(record.start),
            "end": format_utc(record.end),
            "createdAt": format_utc(record.created_at),
            "updatedAt": format_utc(record.created_at),
            "notes": record.notes,
            "reason": {"reason": record.reason},
            "user": {
                "id": user.id,
                "name": user.name,
                "email": user.email,
                "timeZone": user.time_zone,
            }
            if user
            else None,
            "toUser": {"id": to_user.id, "name": to_user.name, "email": to_user.email}
            if to_user
            else None,
        }
    }
