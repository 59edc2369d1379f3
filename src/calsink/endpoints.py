"""The templates as data: one Cal.com API v2 write endpoint each (SPEC.md, "Templates").

A template says where a record goes (method, path, cal-api-version, path parameters),
what its body is made of (``body_rule``), which fields Cal.com knows, which it requires,
and which defaults calsink fills. ``KNOWN_ENDPOINTS`` lists the versioned Cal.com routes
that the manual mode's version guard recognises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

BodyRule = Literal["record", "fields", "empty", "none"]
Creates = Literal["booking", "event-type", "schedule", "webhook", "ooo"]

BOOKINGS_VERSION = "2026-02-25"
EVENT_TYPES_VERSION = "2024-06-14"
SCHEDULES_VERSION = "2024-06-11"
SLOTS_VERSION = "2024-09-04"

ATTENDEE_FIELDS = ("name", "email", "timeZone", "phoneNumber", "language")

_EVENT_TYPE_FIELDS = (
    "title",
    "slug",
    "lengthInMinutes",
    "lengthInMinutesOptions",
    "description",
    "locations",
    "bookingFields",
    "disableGuests",
    "slotInterval",
    "minimumBookingNotice",
    "beforeEventBuffer",
    "afterEventBuffer",
    "scheduleId",
    "bookingLimitsCount",
    "bookerActiveBookingsLimit",
    "onlyShowFirstAvailableSlot",
    "bookingLimitsDuration",
    "bookingWindow",
    "offsetStart",
    "bookerLayouts",
    "confirmationPolicy",
    "recurrence",
    "requiresBookerEmailVerification",
    "hideCalendarNotes",
    "lockTimeZoneToggleOnBookingPage",
    "color",
    "seats",
    "customName",
    "destinationCalendar",
    "useDestinationCalendarEmail",
    "hideCalendarEventDetails",
    "successRedirectUrl",
    "hideOrganizerEmail",
    "calVideoSettings",
    "hidden",
    "bookingRequiresAuthentication",
    "disableCancelling",
    "disableRescheduling",
    "interfaceLanguage",
    "allowReschedulingPastBookings",
    "allowReschedulingCancelledBookings",
    "showOptimizedSlots",
)


@dataclass(frozen=True, eq=False)
class Endpoint:
    """One template: a Cal.com endpoint and the rules of its body."""

    name: str
    method: Literal["POST", "PATCH", "PUT", "DELETE"]
    path: str
    api_version: str | None
    path_params: tuple[tuple[str, str], ...]
    body_rule: BodyRule
    required: tuple[str, ...]
    optional: tuple[str, ...]
    description: str
    example: dict[str, Any]
    defaults: tuple[tuple[str, Any], ...] = ()
    nested: tuple[tuple[str, tuple[str, ...]], ...] = ()
    destructive: bool = False
    creates: Creates | None = None
    identifier: Literal["uid", "id"] = "id"
    openapi_schema: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def known_fields(self) -> frozenset[str]:
        return frozenset(self.required) | frozenset(self.optional)

    @property
    def nested_fields(self) -> dict[str, frozenset[str]]:
        return {name: frozenset(children) for name, children in self.nested}

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.path_params)

    @property
    def has_body(self) -> bool:
        return self.body_rule != "none"


def _booking_example(**extra: Any) -> dict[str, Any]:
    return {"uid": "bk_0123456789abcdef", **extra}


TEMPLATES: dict[str, Endpoint] = {
    endpoint.name: endpoint
    for endpoint in (
        Endpoint(
            name="create-booking",
            method="POST",
            path="/v2/bookings",
            api_version=BOOKINGS_VERSION,
            path_params=(),
            body_rule="record",
            required=("start", "attendee"),
            optional=(
                "eventTypeId",
                "eventTypeSlug",
                "username",
                "teamSlug",
                "organizationSlug",
                "guests",
                "location",
                "meetingUrl",
                "metadata",
                "bookingFieldsResponses",
                "lengthInMinutes",
                "routing",
                "emailVerificationCode",
                "instant",
                "recurrenceCount",
                "allowConflicts",
                "allowBookingOutOfBounds",
            ),
            nested=(("attendee", ATTENDEE_FIELDS),),
            description="Book a meeting: one booking per record.",
            example={
                "start": "2030-01-07T14:00:00Z",
                "eventTypeId": 1,
                "attendee": {
                    "name": "Ada Lovelace",
                    "email": "ada@example.com",
                    "timeZone": "Europe/London",
                },
            },
            creates="booking",
            identifier="uid",
            openapi_schema="CreateBookingInput_2024_08_13",
            notes=(
                "eventTypeId, or eventTypeSlug with username or teamSlug",
                "attendee needs name, timeZone, and email or phoneNumber",
            ),
        ),
        Endpoint(
            name="cancel-booking",
            method="POST",
            path="/v2/bookings/{uid}/cancel",
            api_version=BOOKINGS_VERSION,
            path_params=(("uid", "Booking UID"),),
            body_rule="fields",
            required=(),
            optional=("cancellationReason", "cancelSubsequentBookings", "seatUid"),
            description="Cancel a booking by its uid.",
            example=_booking_example(cancellationReason="The lead asked to cancel"),
            destructive=True,
            identifier="uid",
            openapi_schema="CancelBookingInput_2024_08_13",
        ),
        Endpoint(
            name="reschedule-booking",
            method="POST",
            path="/v2/bookings/{uid}/reschedule",
            api_version=BOOKINGS_VERSION,
            path_params=(("uid", "Booking UID"),),
            body_rule="fields",
            required=("start",),
            optional=("reschedulingReason", "rescheduledBy", "seatUid", "emailVerificationCode"),
            description="Move a booking to a new start; Cal.com answers with a new booking uid.",
            example=_booking_example(
                start="2030-01-14T15:00:00Z", reschedulingReason="The lead asked for next week"
            ),
            creates="booking",
            identifier="uid",
            openapi_schema="RescheduleBookingInput_2024_08_13",
        ),
        Endpoint(
            name="confirm-booking",
            method="POST",
            path="/v2/bookings/{uid}/confirm",
            api_version=BOOKINGS_VERSION,
            path_params=(("uid", "Booking UID"),),
            body_rule="empty",
            required=(),
            optional=("reason",),
            description="Confirm a pending booking (an event type that requires confirmation).",
            example=_booking_example(),
            identifier="uid",
            openapi_schema=None,
        ),
        Endpoint(
            name="create-event-type",
            method="POST",
            path="/v2/event-types",
            api_version=EVENT_TYPES_VERSION,
            path_params=(),
            body_rule="record",
            required=("title", "slug", "lengthInMinutes"),
            optional=tuple(
                f for f in _EVENT_TYPE_FIELDS if f not in {"title", "slug", "lengthInMinutes"}
            ),
            description="Create an event type for the key's user.",
            example={
                "title": "Strategy Session",
                "slug": "strategy-session",
                "lengthInMinutes": 45,
                "description": "A longer conversation about next steps",
            },
            creates="event-type",
            openapi_schema="CreateEventTypeInput_2024_06_14",
        ),
        Endpoint(
            name="update-event-type",
            method="PATCH",
            path="/v2/event-types/{id}",
            api_version=EVENT_TYPES_VERSION,
            path_params=(("id", "Event Type ID"),),
            body_rule="fields",
            required=(),
            optional=_EVENT_TYPE_FIELDS,
            description="Change some fields of an event type; the record gives only those.",
            example={"id": 1, "description": "Thirty minutes with the demo user"},
            openapi_schema="UpdateEventTypeInput_2024_06_14",
        ),
        Endpoint(
            name="delete-event-type",
            method="DELETE",
            path="/v2/event-types/{id}",
            api_version=EVENT_TYPES_VERSION,
            path_params=(("id", "Event Type ID"),),
            body_rule="none",
            required=(),
            optional=(),
            description="Delete an event type by its id.",
            example={"id": 5},
            destructive=True,
            openapi_schema=None,
        ),
        Endpoint(
            name="create-schedule",
            method="POST",
            path="/v2/schedules",
            api_version=SCHEDULES_VERSION,
            path_params=(),
            body_rule="record",
            required=("name", "timeZone", "availability"),
            optional=("isDefault", "overrides"),
            defaults=(("isDefault", False),),
            description="Create an availability schedule.",
            example={
                "name": "Mornings",
                "timeZone": "America/New_York",
                "availability": [
                    {
                        "days": ["Monday", "Wednesday", "Friday"],
                        "startTime": "08:00",
                        "endTime": "12:00",
                    }
                ],
            },
            creates="schedule",
            openapi_schema="CreateScheduleInput_2024_06_11",
        ),
        Endpoint(
            name="create-webhook",
            method="POST",
            path="/v2/webhooks",
            api_version=None,
            path_params=(),
            body_rule="record",
            required=("subscriberUrl", "triggers"),
            optional=("active", "payloadTemplate", "secret", "version"),
            defaults=(("active", True),),
            description="Subscribe a URL to Cal.com events.",
            example={
                "subscriberUrl": "https://hooks.example.org/cal",
                "triggers": ["BOOKING_CREATED", "BOOKING_CANCELLED"],
            },
            creates="webhook",
            openapi_schema="CreateWebhookInputDto",
        ),
        Endpoint(
            name="create-out-of-office",
            method="POST",
            path="/v2/me/ooo",
            api_version=None,
            path_params=(),
            body_rule="record",
            required=("start", "end"),
            optional=("reason", "notes", "toUserId"),
            description="Record an out-of-office entry for the key's user.",
            example={
                "start": "2030-01-21T00:00:00Z",
                "end": "2030-01-25T23:59:59Z",
                "reason": "vacation",
                "notes": "Skiing",
                "toUserId": 2,
            },
            creates="ooo",
            openapi_schema="CreateOutOfOfficeEntryDto",
            notes=("start and end are UTC instants ending in Z; Cal.com keeps whole days",),
        ),
    )
}


def get_template(name: str) -> Endpoint:
    """The template called ``name``; a ValueError listing the names otherwise."""
    try:
        return TEMPLATES[name]
    except KeyError:
        raise ValueError(
            f"unknown template {name!r}; the templates are: {', '.join(TEMPLATES)}"
        ) from None


@dataclass(frozen=True)
class KnownEndpoint:
    """A Cal.com v2 route whose contract depends on cal-api-version."""

    method: str
    pattern: re.Pattern[str]
    display: str
    versions: frozenset[str]
    recommended: str | None


def _known(method: str, display: str, versions: set[str], recommended: str | None) -> KnownEndpoint:
    regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(display))
    return KnownEndpoint(
        method, re.compile(f"^{regex}/?$"), display, frozenset(versions), recommended
    )


_BOOKINGS = {"2024-08-13", BOOKINGS_VERSION}

KNOWN_ENDPOINTS: tuple[KnownEndpoint, ...] = (
    _known("POST", "/v2/bookings", _BOOKINGS, BOOKINGS_VERSION),
    _known("GET", "/v2/bookings", _BOOKINGS, BOOKINGS_VERSION),
    *(
        _known(method, f"/v2/bookings/{{uid}}/{action}", _BOOKINGS, BOOKINGS_VERSION)
        for method, action in (
            ("POST", "cancel"),
            ("POST", "reschedule"),
            ("POST", "confirm"),
            ("POST", "decline"),
            ("POST", "mark-absent"),
            ("POST", "reassign"),
            ("POST", "guests"),
            ("PATCH", "location"),
            ("POST", "location"),
        )
    ),
    _known("GET", "/v2/bookings/{uid}", _BOOKINGS, BOOKINGS_VERSION),
    _known("POST", "/v2/event-types", {EVENT_TYPES_VERSION}, EVENT_TYPES_VERSION),
    _known("GET", "/v2/event-types", {EVENT_TYPES_VERSION}, EVENT_TYPES_VERSION),
    *(
        _known(method, "/v2/event-types/{id}", {EVENT_TYPES_VERSION}, EVENT_TYPES_VERSION)
        for method in ("GET", "PATCH", "DELETE")
    ),
    _known("POST", "/v2/schedules", {SCHEDULES_VERSION}, SCHEDULES_VERSION),
    _known("GET", "/v2/schedules", {SCHEDULES_VERSION}, SCHEDULES_VERSION),
    *(
        _known(method, "/v2/schedules/{id}", {SCHEDULES_VERSION}, SCHEDULES_VERSION)
        for method in ("GET", "PATCH", "DELETE")
    ),
    _known("GET", "/v2/slots", {SLOTS_VERSION}, SLOTS_VERSION),
)


def find_known_endpoint(method: str, path: str) -> KnownEndpoint | None:
    """The versioned route ``method path`` hits (macros count as one segment), if any."""
    for known in KNOWN_ENDPOINTS:
        if known.method == method and known.pattern.match(path):
            return known
    return None
