"""The templates, each described once: one Cal.com API v2 write endpoint per template.

A template says where a record goes (method, path, cal-api-version, path parameters),
what its body is made of (``body_rule``), each field Cal.com knows (its kind, whether it
is required, the choices it takes), the rules that join fields, the defaults calsink
fills, what the request does to Cal.com (``action``) and how reconcile finds what it
created (``lookup``). The checker and its quick screen (``contract``), the page's form,
``calsink templates`` and the engine's decisions all read this description.
``KNOWN_ENDPOINTS`` lists the versioned Cal.com routes the manual mode's version guard
recognises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple
from urllib.parse import urlsplit

BodyRule = Literal["record", "fields", "empty", "none"]
Creates = Literal["booking", "event-type", "schedule", "webhook", "ooo"]
Change = Literal["cancel", "reschedule", "confirm", "delete-event-type"]
Kind = Literal[
    "text",  # any text
    "name",  # a non-empty text
    "count",  # a whole number ≥ 1
    "count0",  # a whole number ≥ 0
    "boolean",
    "object",  # an object; with children, their rules apply inside it
    "objects",  # a list of objects whose children's rules apply to each
    "instant",  # an ISO 8601 date-time
    "utc-instant",  # YYYY-MM-DDTHH:MM:SSZ
    "zone",  # an IANA time zone
    "email",
    "phone",  # E.164
    "choice",  # one of ``choices``
    "http-url",
    "emails",  # a list of e-mail addresses
    "location",  # a location object (or a URL text)
    "metadata",  # at most 50 keys of 40 characters, texts of at most 500
    "user-ids",  # a list of user ids
    "durations",  # a non-empty list of distinct whole minutes
    "typed-objects",  # a list of objects with a ``type``
    "triggers",  # a non-empty list of webhook triggers
    "hh:mm",
    "date",  # YYYY-MM-DD
    "weekdays",  # a non-empty list of weekdays
]

BOOKINGS_VERSION = "2026-02-25"
BOOKINGS_READ_VERSION = "2024-08-13"
EVENT_TYPES_VERSION = "2024-06-14"
SCHEDULES_VERSION = "2024-06-11"
SLOTS_VERSION = "2024-09-04"

# fmt: off
ATTENDEE_LANGUAGES = (
    "ar", "az", "bg", "bn", "ca", "cs", "da", "de", "el", "en", "es", "es-419", "et", "eu",
    "fi", "fr", "he", "hr", "hu", "id", "it", "iw", "ja", "km", "ko", "lv", "nl", "no", "pl",
    "pt", "pt-BR", "ro", "ru", "sk", "sr", "sv", "ta", "th", "tr", "uk", "vi", "zh-CN",
    "zh-TW",
)
INTERFACE_LANGUAGES = (
    "", "ar", "az", "bg", "bn", "ca", "cs", "da", "de", "el", "en", "es", "es-419", "et",
    "eu", "fi", "fr", "he", "hu", "it", "ja", "km", "ko", "nl", "no", "pl", "pt", "pt-BR",
    "ro", "ru", "sk-SK", "sr", "sv", "tr", "uk", "vi", "zh-CN", "zh-TW",
)
WEBHOOK_TRIGGERS = (
    "BOOKING_CREATED", "BOOKING_PAYMENT_INITIATED", "BOOKING_PAID", "BOOKING_RESCHEDULED",
    "BOOKING_REQUESTED", "BOOKING_CANCELLED", "BOOKING_REJECTED", "BOOKING_NO_SHOW_UPDATED",
    "FORM_SUBMITTED", "MEETING_ENDED", "MEETING_STARTED", "RECORDING_READY",
    "INSTANT_MEETING", "RECORDING_TRANSCRIPTION_GENERATED", "OOO_CREATED",
    "AFTER_HOSTS_CAL_VIDEO_NO_SHOW", "AFTER_GUESTS_CAL_VIDEO_NO_SHOW",
    "FORM_SUBMITTED_NO_EVENT", "ROUTING_FORM_FALLBACK_HIT", "DELEGATION_CREDENTIAL_ERROR",
    "WRONG_ASSIGNMENT_REPORT",
)
# fmt: on
OOO_REASONS = ("unspecified", "vacation", "travel", "sick", "public_holiday")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class Field:
    """One body field: its kind, whether Cal.com requires it, and what it may hold.

    ``children`` are the fields inside an object (or inside each object of a list);
    ``closed`` says Cal.com knows no others there (others are reported as unknown).
    ``one_of`` names children of which at least one must be given.
    ``what`` replaces the kind's own wording in messages. ``deprecated`` is the warning
    given when a record sends the field; ``advice`` the warning given when it does not.
    """

    name: str
    kind: Kind
    required: bool = False
    choices: tuple[str, ...] = ()
    children: tuple[Field, ...] = ()
    closed: bool = False
    one_of: tuple[str, ...] = ()
    what: str = ""
    deprecated: str = ""
    advice: str = ""


class Action(NamedTuple):
    """What a request does to Cal.com's state; ``target`` is the uid or id it acts on.

    A tuple: one is made per request that names its target, so it must be cheap."""

    creates: Creates | None = None
    change: Change | None = None
    target: str | None = None
    destructive: bool = False

    def on(self, target: str | None) -> Action:
        return _new_action(Action, (self.creates, self.change, target, self.destructive))


_new_action = tuple.__new__


NO_ACTION = Action()


@dataclass(frozen=True, slots=True)
class Lookup:
    """Where reconcile lists what a create made, and which fields identify it."""

    path: str
    version: str | None
    match: tuple[str, ...]
    what: str


@dataclass(frozen=True, eq=False)
class Endpoint:
    """One template: a Cal.com endpoint, the rules of its body and what it does."""

    name: str
    method: Literal["POST", "PATCH", "PUT", "DELETE"]
    path: str
    api_version: str | None
    path_params: tuple[tuple[str, str], ...]
    body_rule: BodyRule
    fields: tuple[Field, ...]
    description: str
    example: dict[str, Any]
    guidance: str
    defaults: tuple[tuple[str, Any], ...] = ()
    rules: tuple[str, ...] = ()
    action: Action = NO_ACTION
    lookup: Lookup | None = None
    identifier: Literal["uid", "id"] = "id"
    openapi_schema: str | None = None
    starter_key: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def required(self) -> tuple[str, ...]:
        """The fields a record must give (those calsink fills when absent are not)."""
        filled = {name for name, _ in self.defaults}
        return tuple(f.name for f in self.fields if f.required and f.name not in filled)

    @property
    def optional(self) -> tuple[str, ...]:
        required = self.required
        return tuple(f.name for f in self.fields if f.name not in required)

    @property
    def nested(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        return tuple((f.name, tuple(c.name for c in f.children)) for f in self.fields if f.closed)

    @property
    def known_fields(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields)

    @property
    def nested_fields(self) -> dict[str, frozenset[str]]:
        return {name: frozenset(children) for name, children in self.nested}

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.path_params)

    @property
    def has_body(self) -> bool:
        return self.body_rule != "none"

    @property
    def destructive(self) -> bool:
        return self.action.destructive

    @property
    def creates(self) -> Creates | None:
        """What a resend could make twice (a reschedule makes a new booking)."""
        if self.action.change == "reschedule":
            return "booking"
        return self.action.creates

    @property
    def deprecated(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.deprecated)


def _f(name: str, kind: Kind, **options: Any) -> Field:
    return Field(name, kind, **options)


def _req(name: str, kind: Kind, **options: Any) -> Field:
    return Field(name, kind, required=True, **options)


def _booking_example(**extra: Any) -> dict[str, Any]:
    return {"uid": "bk_0123456789abcdef", **extra}


_UID = (("uid", "Booking UID"),)
_ID = (("id", "Event Type ID"),)
_TIMES = (_req("startTime", "hh:mm"), _req("endTime", "hh:mm"))

_BOOKING_FIELDS = (
    _req("start", "instant"),
    _f("eventTypeId", "count"),
    _f("eventTypeSlug", "name"),
    _f("username", "name"),
    _f("teamSlug", "name"),
    _f("organizationSlug", "name"),
    _req(
        "attendee",
        "object",
        closed=True,
        children=(
            _req("name", "name"),
            _f("email", "email"),
            _req("timeZone", "zone"),
            _f("phoneNumber", "phone"),
            _f("language", "choice", choices=ATTENDEE_LANGUAGES),
        ),
        one_of=("email", "phoneNumber"),
    ),
    _f("guests", "emails"),
    _f("location", "location"),
    _f(
        "meetingUrl",
        "text",
        deprecated=(
            "deprecated by Cal.com, which may stop taking it; give the link as location, "
            'e.g. location: {type: link, link: "https://..."}'
        ),
    ),
    _f("metadata", "metadata"),
    _f("bookingFieldsResponses", "object"),
    _f("lengthInMinutes", "count"),
    _f("routing", "object", children=(_req("teamMemberIds", "user-ids"),)),
    _f("emailVerificationCode", "text"),
    _f("instant", "boolean"),
    _f("recurrenceCount", "count"),
    _f("allowConflicts", "boolean"),
    _f("allowBookingOutOfBounds", "boolean"),
)

_EVENT_TYPE_FIELDS = (
    _f("title", "name"),
    _f("slug", "name"),
    _f("lengthInMinutes", "count"),
    _f("lengthInMinutesOptions", "durations"),
    _f("description", "text"),
    _f("locations", "typed-objects"),
    _f("bookingFields", "typed-objects"),
    _f("disableGuests", "boolean"),
    _f("slotInterval", "count0"),
    _f("minimumBookingNotice", "count0"),
    _f("beforeEventBuffer", "count0"),
    _f("afterEventBuffer", "count0"),
    _f("scheduleId", "count"),
    _f("bookingLimitsCount", "object"),
    _f("bookerActiveBookingsLimit", "object"),
    _f("onlyShowFirstAvailableSlot", "boolean"),
    _f("bookingLimitsDuration", "object"),
    _f("bookingWindow", "object"),
    _f("offsetStart", "count0"),
    _f("bookerLayouts", "object"),
    _f("confirmationPolicy", "object"),
    _f("recurrence", "object"),
    _f("requiresBookerEmailVerification", "boolean"),
    _f("hideCalendarNotes", "boolean"),
    _f("lockTimeZoneToggleOnBookingPage", "boolean"),
    _f("color", "object"),
    _f("seats", "object"),
    _f("customName", "text"),
    _f("destinationCalendar", "object"),
    _f("useDestinationCalendarEmail", "boolean"),
    _f("hideCalendarEventDetails", "boolean"),
    _f("successRedirectUrl", "text"),
    _f("hideOrganizerEmail", "boolean"),
    _f("calVideoSettings", "object"),
    _f("hidden", "boolean"),
    _f("bookingRequiresAuthentication", "boolean"),
    _f("disableCancelling", "object"),
    _f("disableRescheduling", "object"),
    _f("interfaceLanguage", "choice", choices=INTERFACE_LANGUAGES),
    _f("allowReschedulingPastBookings", "boolean"),
    _f("allowReschedulingCancelledBookings", "boolean"),
    _f("showOptimizedSlots", "boolean"),
)
_CREATE_EVENT_TYPE_FIELDS = tuple(
    Field(f.name, f.kind, required=True) if f.name in ("title", "slug", "lengthInMinutes") else f
    for f in _EVENT_TYPE_FIELDS
)

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
            fields=_BOOKING_FIELDS,
            rules=("one event type",),
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
            guidance=(
                "Each record becomes one booking. Give the start as an instant in UTC (for "
                "example 2030-01-07T14:00:00Z), the event type by eventTypeId (or "
                "eventTypeSlug with username or teamSlug), and the attendee with name, "
                "timeZone and email or phoneNumber. Cal.com answers with the new booking's "
                "uid: keep the responses to cancel or reschedule later."
            ),
            action=Action(creates="booking"),
            lookup=Lookup(
                "/v2/bookings", BOOKINGS_READ_VERSION, ("metadata.calsink_key",), "bookings"
            ),
            identifier="uid",
            openapi_schema="CreateBookingInput_2024_08_13",
            starter_key=("attendee.email", "start"),
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
            path_params=_UID,
            body_rule="fields",
            fields=(
                _f(
                    "cancellationReason",
                    "text",
                    advice=(
                        "Cal.com refuses to cancel a booking without a reason when the API "
                        "key's owner is its host (400 \"Cancellation reason is required when "
                        'you are the host"); map one, e.g. cancellationReason: "{reason}"'
                    ),
                ),
                _f("cancelSubsequentBookings", "boolean"),
                _f("seatUid", "name"),
            ),
            description="Cancel a booking by its uid.",
            example=_booking_example(cancellationReason="The lead asked to cancel"),
            guidance=(
                "Each record cancels one existing booking, named by its uid in the path (a "
                "column holding the uid Cal.com gave when it was made, or {uid} taken from an "
                "earlier flow's ledger). cancellationReason is shown to the attendees. A "
                "cancellation cannot be undone: tests and runs ask first."
            ),
            action=Action(change="cancel", destructive=True),
            identifier="uid",
            openapi_schema="CancelBookingInput_2024_08_13",
            starter_key=("uid",),
        ),
        Endpoint(
            name="reschedule-booking",
            method="POST",
            path="/v2/bookings/{uid}/reschedule",
            api_version=BOOKINGS_VERSION,
            path_params=_UID,
            body_rule="fields",
            fields=(
                _req("start", "instant"),
                _f("reschedulingReason", "text"),
                _f("rescheduledBy", "email"),
                _f("seatUid", "name"),
                _f("emailVerificationCode", "text"),
            ),
            description="Move a booking to a new start; Cal.com answers with a new booking uid.",
            example=_booking_example(
                start="2030-01-14T15:00:00Z", reschedulingReason="The lead asked for next week"
            ),
            guidance=(
                "Each record moves one booking, named by its uid in the path, to a new start "
                "(an instant in UTC). Cal.com cancels the old booking and answers with a new "
                "uid: later flows that refer to the booking need that new uid, which the "
                "responses and the ledger keep."
            ),
            action=Action(change="reschedule"),
            identifier="uid",
            openapi_schema="RescheduleBookingInput_2024_08_13",
            starter_key=("uid", "start"),
        ),
        Endpoint(
            name="confirm-booking",
            method="POST",
            path="/v2/bookings/{uid}/confirm",
            api_version=BOOKINGS_VERSION,
            path_params=_UID,
            body_rule="empty",
            fields=(),
            description="Confirm a pending booking (an event type that requires confirmation).",
            example=_booking_example(),
            guidance=(
                "Each record confirms one pending booking, named by its uid in the path; only "
                "event types that require confirmation make pending bookings. The body is "
                "empty (a reason belongs to declining); a booking that is already confirmed "
                "or was cancelled is refused by Cal.com."
            ),
            action=Action(change="confirm"),
            identifier="uid",
            starter_key=("uid",),
        ),
        Endpoint(
            name="create-event-type",
            method="POST",
            path="/v2/event-types",
            api_version=EVENT_TYPES_VERSION,
            path_params=(),
            body_rule="record",
            fields=_CREATE_EVENT_TYPE_FIELDS,
            rules=("one length among the options", "recurrence or active-bookings limit"),
            description="Create an event type for the key's user.",
            example={
                "title": "Strategy Session",
                "slug": "strategy-session",
                "lengthInMinutes": 45,
                "description": "A longer conversation about next steps",
            },
            guidance=(
                "Each record becomes one event type of the key's user: a title, a slug that "
                "is unique for that user, and lengthInMinutes. Locations, booking fields, "
                "limits and buffers are optional; Cal.com answers with the new event type's "
                "id, which bookings use as eventTypeId."
            ),
            action=Action(creates="event-type"),
            lookup=Lookup(
                "/v2/event-types",
                EVENT_TYPES_VERSION,
                ("slug", "title", "lengthInMinutes"),
                "event types",
            ),
            openapi_schema="CreateEventTypeInput_2024_06_14",
            starter_key=("slug",),
        ),
        Endpoint(
            name="update-event-type",
            method="PATCH",
            path="/v2/event-types/{id}",
            api_version=EVENT_TYPES_VERSION,
            path_params=_ID,
            body_rule="fields",
            fields=_EVENT_TYPE_FIELDS,
            rules=(
                "one length among the options",
                "recurrence or active-bookings limit",
                "something to change",
            ),
            description="Change some fields of an event type; the record gives only those.",
            example={"id": 1, "description": "Thirty minutes with the demo user"},
            guidance=(
                "Each record changes one event type, named by its id in the path; only the "
                "fields the record gives change. Use it to rename event types, change their "
                "length or locations in bulk; the id comes from a column or from the flow "
                "that created them."
            ),
            openapi_schema="UpdateEventTypeInput_2024_06_14",
        ),
        Endpoint(
            name="delete-event-type",
            method="DELETE",
            path="/v2/event-types/{id}",
            api_version=EVENT_TYPES_VERSION,
            path_params=_ID,
            body_rule="none",
            fields=(),
            description="Delete an event type by its id.",
            example={"id": 5},
            guidance=(
                "Each record deletes one event type, named by its id in the path; the body is "
                "empty. Existing bookings of the event type stay, but nobody can book it any "
                "more. Deleting cannot be undone: tests and runs ask first."
            ),
            action=Action(change="delete-event-type", destructive=True),
            starter_key=("id",),
        ),
        Endpoint(
            name="create-schedule",
            method="POST",
            path="/v2/schedules",
            api_version=SCHEDULES_VERSION,
            path_params=(),
            body_rule="record",
            fields=(
                _req("name", "name"),
                _req("timeZone", "zone"),
                _req("isDefault", "boolean"),
                _f(
                    "availability",
                    "objects",
                    what="a list of opening hours",
                    children=(_req("days", "weekdays"), *_TIMES),
                ),
                _f(
                    "overrides",
                    "objects",
                    what="a list of date overrides",
                    children=(_req("date", "date"), *_TIMES),
                ),
            ),
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
            guidance=(
                "Each record becomes one availability schedule: a name, a timeZone and "
                "availability (days with start and end times; without it Cal.com makes "
                "Monday to Friday, 09:00 to 17:00). Mark one as isDefault to make "
                "it the user's default; overrides change single dates. Event types refer to "
                "it by scheduleId."
            ),
            action=Action(creates="schedule"),
            lookup=Lookup(
                "/v2/schedules",
                SCHEDULES_VERSION,
                ("name", "timeZone", "availability", "overrides"),
                "schedules",
            ),
            openapi_schema="CreateScheduleInput_2024_06_11",
            starter_key=("name",),
        ),
        Endpoint(
            name="create-webhook",
            method="POST",
            path="/v2/webhooks",
            api_version=None,
            path_params=(),
            body_rule="record",
            fields=(
                _req("subscriberUrl", "http-url"),
                _req("triggers", "triggers", choices=WEBHOOK_TRIGGERS),
                _req("active", "boolean"),
                _f("payloadTemplate", "text"),
                _f("secret", "text"),
                _f("version", "choice", choices=("2021-10-20",)),
            ),
            defaults=(("active", True),),
            description="Subscribe a URL to Cal.com events.",
            example={
                "subscriberUrl": "https://hooks.example.org/cal",
                "triggers": ["BOOKING_CREATED", "BOOKING_CANCELLED"],
            },
            guidance=(
                "Each record subscribes one URL to Cal.com events: subscriberUrl and the "
                "triggers (for example BOOKING_CREATED, BOOKING_CANCELLED). A secret makes "
                "Cal.com sign its deliveries; calsink listen can receive and check them."
            ),
            action=Action(creates="webhook"),
            lookup=Lookup("/v2/webhooks?take=250", None, ("subscriberUrl", "triggers"), "webhooks"),
            openapi_schema="CreateWebhookInputDto",
            starter_key=("subscriberUrl",),
        ),
        Endpoint(
            name="create-out-of-office",
            method="POST",
            path="/v2/me/ooo",
            api_version=None,
            path_params=(),
            body_rule="record",
            fields=(
                _req("start", "utc-instant"),
                _req("end", "utc-instant"),
                _f("reason", "choice", choices=OOO_REASONS),
                _f("notes", "text"),
                _f("toUserId", "count"),
            ),
            rules=("end not before start",),
            description="Record an out-of-office entry for the key's user.",
            example={
                "start": "2030-01-21T00:00:00Z",
                "end": "2030-01-25T23:59:59Z",
                "reason": "vacation",
                "notes": "Skiing",
                "toUserId": 2,
            },
            guidance=(
                "Each record records one out-of-office entry for the key's user: start and "
                "end as UTC instants ending in Z (Cal.com keeps whole days). A reason and "
                "notes are optional; toUserId forwards bookings to a colleague while away."
            ),
            action=Action(creates="ooo"),
            lookup=Lookup(
                "/v2/me/ooo?take=250",
                None,
                ("start", "end", "reason", "notes", "toUserId"),
                "out-of-office entries",
            ),
            openapi_schema="CreateOutOfOfficeEntryDto",
            starter_key=("start", "end"),
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


def _route(path: str) -> re.Pattern[str]:
    """``path`` as a pattern in which each ``{macro}`` stands for one segment."""
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "/?$")


_ACTED_ON: tuple[tuple[str, re.Pattern[str], Endpoint], ...] = tuple(
    (t.method, _route(t.path), t) for t in TEMPLATES.values() if t.action != NO_ACTION
)


def template_at(method: str, url: str) -> Endpoint | None:
    """The template whose route ``method url`` is (a ``{macro}`` counts as one segment), if
    any: what a manual destination does is what that template does."""
    path = urlsplit(re.sub(r"\{[^{}]*\}", "x", url)).path
    v2 = path.find("/v2/")
    if v2 < 0:
        return None
    method = method.upper()
    for known_method, pattern, template in _ACTED_ON:
        if known_method == method and pattern.match(path[v2:]):
            return template
    return None


def target_segment(endpoint: Endpoint) -> int | None:
    """Which segment of the path names the resource ``endpoint`` acts on, counted from the
    end (a base URL may add segments in front)."""
    if endpoint.action.change is None or not endpoint.path_params:
        return None
    segments = endpoint.path.split("/")
    return segments.index("{" + endpoint.path_params[0][0] + "}") - len(segments)


@dataclass(frozen=True)
class KnownEndpoint:
    """A Cal.com v2 route whose contract depends on cal-api-version."""

    method: str
    pattern: re.Pattern[str]
    display: str
    versions: frozenset[str]
    recommended: str | None


def _known(method: str, display: str, versions: set[str], recommended: str | None) -> KnownEndpoint:
    return KnownEndpoint(method, _route(display), display, frozenset(versions), recommended)


_BOOKINGS = {BOOKINGS_READ_VERSION, BOOKINGS_VERSION}
_ACCEPTED = {BOOKINGS_VERSION: _BOOKINGS}  # the versions a route takes, by its recommended one

_TEMPLATE_ROUTES = tuple(
    _known(t.method, t.path, _ACCEPTED.get(t.api_version, {t.api_version}), t.api_version)
    for t in TEMPLATES.values()
    if t.api_version is not None
)

# The versioned routes no template sends to: reads, and booking actions sent by hand.
_OTHER_ROUTES = (
    _known("GET", "/v2/bookings", _BOOKINGS, BOOKINGS_VERSION),
    *(
        _known(method, f"/v2/bookings/{{uid}}/{action}", _BOOKINGS, BOOKINGS_VERSION)
        for method, action in (
            ("POST", "decline"),
            ("POST", "mark-absent"),
            ("POST", "reassign"),
            ("POST", "guests"),
            ("PATCH", "location"),
            ("POST", "location"),
        )
    ),
    _known("GET", "/v2/bookings/{uid}", _BOOKINGS, BOOKINGS_VERSION),
    _known("GET", "/v2/event-types", {EVENT_TYPES_VERSION}, EVENT_TYPES_VERSION),
    _known("GET", "/v2/event-types/{id}", {EVENT_TYPES_VERSION}, EVENT_TYPES_VERSION),
    _known("GET", "/v2/schedules", {SCHEDULES_VERSION}, SCHEDULES_VERSION),
    *(
        _known(method, "/v2/schedules/{id}", {SCHEDULES_VERSION}, SCHEDULES_VERSION)
        for method in ("GET", "PATCH", "DELETE")
    ),
    _known("GET", "/v2/slots", {SLOTS_VERSION}, SLOTS_VERSION),
)

_SENT_BY_TEMPLATES = {(known.method, known.display) for known in _TEMPLATE_ROUTES}
KNOWN_ENDPOINTS: tuple[KnownEndpoint, ...] = _TEMPLATE_ROUTES + tuple(
    other for other in _OTHER_ROUTES if (other.method, other.display) not in _SENT_BY_TEMPLATES
)


def find_known_endpoint(method: str, path: str) -> KnownEndpoint | None:
    """The versioned route ``method path`` hits (macros count as one segment), if any."""
    for known in KNOWN_ENDPOINTS:
        if known.method == method and known.pattern.match(path):
            return known
    return None
