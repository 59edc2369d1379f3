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
from dataclasses import dataclass, replace
from typing import Any, Literal, NamedTuple
from urllib.parse import urlsplit

BodyRule = Literal["record", "fields", "empty", "none"]
Creates = Literal[
    "booking", "event-type", "schedule", "webhook", "ooo", "team-event-type", "org-ooo"
]
Change = Literal[
    "cancel",
    "reschedule",
    "confirm",
    "delete-event-type",
    "decline",
    "add-guests",
    "update-location",
    "mark-absent",
    "reassign",
    "delete-schedule",
    "delete-webhook",
    "update-ooo",
    "delete-ooo",
    "delete-team-event-type",
]
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
# UpdateBookingLocationInput_2024_08_13's location types, with the field holding each value
BOOKING_LOCATION_VALUES = {
    "address": "address",
    "link": "link",
    "phone": "phone",
    "attendeeAddress": "address",
    "attendeePhone": "phone",
    "attendeeDefined": "location",
}
BOOKING_LOCATION_TYPES = tuple(BOOKING_LOCATION_VALUES)
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
    """Where reconcile lists what a create made, and which fields identify it; a ``path``
    of ``{url}`` is the create's own path (a team's event types are listed where they are
    made)."""

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


def _requiring(fields: tuple[Field, ...], *names: str) -> tuple[Field, ...]:
    """``fields`` as a create takes them: those named required, the others as they are."""
    return tuple(replace(f, required=True) if f.name in names else f for f in fields)


_CREATE_EVENT_TYPE_FIELDS = _requiring(_EVENT_TYPE_FIELDS, "title", "slug", "lengthInMinutes")
_EVENT_TYPE_RULES = ("one length among the options", "recurrence or active-bookings limit")
_UPDATE_EVENT_TYPE_RULES = (*_EVENT_TYPE_RULES, "something to change")
_EVENT_TYPE_MATCH = ("slug", "title", "lengthInMinutes")

# -- schedules, webhooks and out-of-office entries: change and delete ------------------------
_SCHEDULE_ID = (("id", "Schedule ID"),)
_WEBHOOK_ID = (("id", "Webhook ID"),)
_OOO_ID = (("id", "Out-of-office entry ID"),)
_SCHEDULE_UPDATE_FIELDS = (
    _f("name", "name"),
    _f("timeZone", "zone"),
    _f("isDefault", "boolean"),
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
)
_WEBHOOK_UPDATE_FIELDS = (
    _f("subscriberUrl", "http-url"),
    _f("triggers", "triggers", choices=WEBHOOK_TRIGGERS),
    _f("active", "boolean"),
    _f("payloadTemplate", "text"),
    _f("secret", "text"),
    _f("version", "choice", choices=("2021-10-20",)),
)
_OOO_UPDATE_FIELDS = (
    _f("start", "utc-instant"),
    _f("end", "utc-instant"),
    _f("reason", "choice", choices=OOO_REASONS),
    _f("notes", "text"),
    _f("toUserId", "count"),
)
_OOO_UPDATE_NOTES = (
    "start and end together, or neither; UTC instants ending in Z",
    "without dates, an update sent twice leaves what one leaves",
    "Cal.com answers 409 when the dates sent are the entry's own (its duplicate check finds "
    "the entry itself): calsink counts that answer, to a resend, as the update done",
)
_OOO_UPDATE_RULES = ("something to change", "start and end together", "end not before start")
_ORG_USER = (("orgId", "Organization ID"), ("userId", "User ID"))
_ORG_USER_OOO_ID = (*_ORG_USER, ("id", "Out-of-office entry ID"))
_CREATE_SCHEDULE_FIELDS = _requiring(_SCHEDULE_UPDATE_FIELDS, "name", "timeZone", "isDefault")
_CREATE_WEBHOOK_FIELDS = _requiring(_WEBHOOK_UPDATE_FIELDS, "subscriberUrl", "triggers", "active")
_CREATE_OOO_FIELDS = _requiring(_OOO_UPDATE_FIELDS, "start", "end")
_OOO_WHOLE_DAYS = "start and end are UTC instants ending in Z; Cal.com keeps whole days"
_OOO_DELETED_ONCE = '403 "This OOO entry does not belong to this user."'


def _ooo_lookup(path: str) -> Lookup:
    return Lookup(
        f"{path}?take=250",
        None,
        ("start", "end", "reason", "notes", "toUserId"),
        "out-of-office entries",
    )


_UPDATE_IDEMPOTENT = "an update sent twice leaves what one leaves: a resend changes nothing more"


# -- team event types ------------------------------------------------------------------------
SCHEDULING_TYPES = ("collective", "roundRobin", "managed")
HOST_PRIORITIES = ("lowest", "low", "medium", "high", "highest")
_TEAM_ID = ("teamId", "Team ID")
_TEAM_EVENT_TYPE_ID = (_TEAM_ID, ("id", "Event Type ID"))
_TEAM_FIELDS = (
    _f(
        "hosts",
        "objects",
        what="a list of hosts",
        children=(
            _req("userId", "count"),
            _f("mandatory", "boolean"),
            _f("priority", "choice", choices=HOST_PRIORITIES),
        ),
    ),
    _f("assignAllTeamMembers", "boolean"),
    _f("rescheduleWithSameRoundRobinHost", "boolean"),
    _f("emailSettings", "object"),
)
_CREATE_TEAM_EVENT_TYPE_FIELDS = (
    *_CREATE_EVENT_TYPE_FIELDS,
    _req("schedulingType", "choice", choices=SCHEDULING_TYPES),
    *_TEAM_FIELDS,
)
_UPDATE_TEAM_EVENT_TYPE_FIELDS = (
    *_EVENT_TYPE_FIELDS,
    _f("schedulingType", "choice", choices=SCHEDULING_TYPES),
    *_TEAM_FIELDS,
)


def _deleted_once(answer: str) -> str:
    return (
        f"a delete resent after it took effect is answered {answer}; calsink counts that "
        "answer, to a resend, as the delete done"
    )


def _delete(
    *,
    name: str,
    path: str,
    path_params: tuple[tuple[str, str], ...],
    description: str,
    example: dict[str, Any],
    guidance: str,
    change: Change,
    starter_key: tuple[str, ...],
    api_version: str | None = None,
    notes: tuple[str, ...] = (),
) -> Endpoint:
    """A delete: no body, and it cannot be undone (``guidance`` ends saying so)."""
    return Endpoint(
        name=name,
        method="DELETE",
        path=path,
        api_version=api_version,
        path_params=path_params,
        body_rule="none",
        fields=(),
        description=description,
        example=example,
        guidance=f"{guidance} Deleting cannot be undone: tests and runs ask first.",
        action=Action(change=change, destructive=True),
        starter_key=starter_key,
        notes=notes,
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
        # -- booking actions: decline, add guests, update location, mark absent, reassign --
        Endpoint(
            name="decline-booking",
            method="POST",
            path="/v2/bookings/{uid}/decline",
            api_version=BOOKINGS_VERSION,
            path_params=_UID,
            body_rule="fields",
            fields=(_f("reason", "text"),),
            description="Decline a pending booking (an event type that requires confirmation).",
            example=_booking_example(reason="No longer a fit for an intro call"),
            guidance=(
                "Each record declines one pending booking, named by its uid in the path; the "
                "reason is shown to the attendee. Cal.com refuses to decline a confirmed "
                "booking. Declining cannot be undone: tests and runs ask first."
            ),
            action=Action(change="decline", destructive=True),
            identifier="uid",
            openapi_schema="DeclineBookingInput_2024_08_13",
            starter_key=("uid",),
            notes=(
                "Cal.com declines an already declined booking again and mails the attendee "
                "again: calsink reads the booking first and skips one already declined",
            ),
        ),
        Endpoint(
            name="add-guests",
            method="POST",
            path="/v2/bookings/{uid}/guests",
            api_version=BOOKINGS_READ_VERSION,
            path_params=_UID,
            body_rule="fields",
            fields=(
                _req(
                    "guests",
                    "objects",
                    what="a list of guests {email, name, timeZone, phoneNumber, language}",
                    closed=True,
                    children=(
                        _req("email", "email"),
                        _f("name", "text"),
                        _f("timeZone", "zone"),
                        _f("phoneNumber", "phone"),
                        _f("language", "choice", choices=ATTENDEE_LANGUAGES),
                    ),
                ),
            ),
            rules=("one to ten guests",),
            description="Add guests to an existing booking.",
            example=_booking_example(
                guests=[{"email": "charles@example.com", "name": "Charles Babbage"}]
            ),
            guidance=(
                "Each record adds one to ten guests to one booking, named by its uid in the "
                "path; each guest needs an email. Cal.com mails the new guests an invitation "
                "and the others a notice, leaves out guests already on the booking, keeps "
                "at most 30 people on a booking, and takes at most 5 such requests a minute."
            ),
            action=Action(change="add-guests"),
            identifier="uid",
            openapi_schema="AddGuestsInput_2024_08_13",
            starter_key=("uid",),
            notes=(
                "cal-api-version 2024-08-13: Cal.com has this endpoint in no other version",
                "a resend after a lost answer is not sent when the guests are already on "
                "the booking (calsink reads it first)",
            ),
        ),
        Endpoint(
            name="update-booking-location",
            method="PATCH",
            path="/v2/bookings/{uid}/location",
            api_version=BOOKINGS_READ_VERSION,
            path_params=_UID,
            body_rule="fields",
            fields=(
                _req(
                    "location",
                    "object",
                    what="a location object {type, and its address, link, phone or location}",
                    closed=True,
                    children=(
                        _req("type", "choice", choices=BOOKING_LOCATION_TYPES),
                        _f("address", "name"),
                        _f("link", "name"),
                        _f("phone", "name"),
                        _f("location", "name"),
                    ),
                ),
            ),
            rules=("the location's value for its type",),
            description="Change where an existing booking takes place.",
            example=_booking_example(
                location={"type": "link", "link": "https://meet.example.com/ada"}
            ),
            guidance=(
                "Each record moves one booking, named by its uid in the path, to a new "
                "location: a type and its value (address: address; link: link; phone: "
                "phone; attendeeAddress: address; attendeePhone: phone; attendeeDefined: "
                "location). Cal.com tells the attendees and takes at most 5 such requests a "
                "minute."
            ),
            action=Action(change="update-location"),
            identifier="uid",
            openapi_schema="UpdateBookingLocationInput_2024_08_13",
            starter_key=("uid",),
            notes=(
                "cal-api-version 2024-08-13: Cal.com has this endpoint in no other version",
                "a resend after a lost answer is not sent when the booking already has the "
                "location (calsink reads it first)",
            ),
        ),
        Endpoint(
            name="mark-absent",
            method="POST",
            path="/v2/bookings/{uid}/mark-absent",
            api_version=BOOKINGS_VERSION,
            path_params=_UID,
            body_rule="fields",
            fields=(
                _f("host", "boolean"),
                _f(
                    "attendees",
                    "objects",
                    what="a list of attendees {email, absent}",
                    closed=True,
                    children=(_req("email", "email"), _req("absent", "boolean")),
                ),
            ),
            rules=("something to change",),
            description="Mark the host or attendees of a past booking absent (no-show).",
            example=_booking_example(attendees=[{"email": "ada@example.com", "absent": True}]),
            guidance=(
                "Each record marks who did not come to one booking, named by its uid in the "
                "path: host: true for the host, attendees with each attendee's email and "
                "absent true (or false to take it back). Cal.com refuses it before the "
                "booking has started; attendees it does not know are ignored."
            ),
            action=Action(change="mark-absent"),
            identifier="uid",
            openapi_schema="MarkAbsentBookingInput_2024_08_13",
            starter_key=("uid",),
            notes=(
                "host: false does not unmark the host (Cal.com only sets it)",
                "a resend after a lost answer is not sent when the booking already shows "
                "the marks (calsink reads it first)",
            ),
        ),
        Endpoint(
            name="reassign-booking",
            method="POST",
            path="/v2/bookings/{uid}/reassign",
            api_version=BOOKINGS_VERSION,
            path_params=_UID,
            body_rule="none",
            fields=(),
            description="Hand a round-robin booking to another host Cal.com picks.",
            example=_booking_example(),
            guidance=(
                "Each record hands one booking of a round-robin event type, named by its uid "
                "in the path, to another of its hosts who is free then; Cal.com picks the "
                "host, tells the attendees and both hosts, and refuses when no other host is "
                "free. The body is empty."
            ),
            action=Action(change="reassign"),
            identifier="uid",
            starter_key=("uid",),
            notes=(
                "a resend would pick yet another host: after a lost answer the record is not "
                "sent again but ends unsure (check the booking's host in Cal.com)",
            ),
        ),
        Endpoint(
            name="reassign-booking-to-user",
            method="POST",
            path="/v2/bookings/{uid}/reassign/{userId}",
            api_version=BOOKINGS_VERSION,
            path_params=(*_UID, ("userId", "User ID of the new host")),
            body_rule="fields",
            fields=(_f("reason", "text"),),
            description="Hand a round-robin booking to a given host.",
            example={"uid": "bk_0123456789abcdef", "userId": 2, "reason": "Ada is on leave"},
            guidance=(
                "Each record hands one booking of a round-robin event type, named by its uid "
                "in the path, to the host whose user id is the second path parameter; that "
                "user must be one of the event type's hosts. A reason is optional."
            ),
            action=Action(change="reassign"),
            identifier="uid",
            openapi_schema="ReassignToUserBookingInput_2024_08_13",
            starter_key=("uid", "userId"),
            notes=(
                "a resend after a lost answer is not sent when the booking already has that "
                "host (calsink reads it first)",
            ),
        ),
        Endpoint(
            name="create-event-type",
            method="POST",
            path="/v2/event-types",
            api_version=EVENT_TYPES_VERSION,
            path_params=(),
            body_rule="record",
            fields=_CREATE_EVENT_TYPE_FIELDS,
            rules=_EVENT_TYPE_RULES,
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
            lookup=Lookup("/v2/event-types", EVENT_TYPES_VERSION, _EVENT_TYPE_MATCH, "event types"),
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
            rules=_UPDATE_EVENT_TYPE_RULES,
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
        _delete(
            name="delete-event-type",
            path="/v2/event-types/{id}",
            api_version=EVENT_TYPES_VERSION,
            path_params=_ID,
            description="Delete an event type by its id.",
            example={"id": 5},
            guidance=(
                "Each record deletes one event type, named by its id in the path; the body is "
                "empty. Existing bookings of the event type stay, but nobody can book it any "
                "more."
            ),
            change="delete-event-type",
            starter_key=("id",),
        ),
        Endpoint(
            name="create-schedule",
            method="POST",
            path="/v2/schedules",
            api_version=SCHEDULES_VERSION,
            path_params=(),
            body_rule="record",
            fields=_CREATE_SCHEDULE_FIELDS,
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
            fields=_CREATE_WEBHOOK_FIELDS,
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
            fields=_CREATE_OOO_FIELDS,
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
            lookup=_ooo_lookup("/v2/me/ooo"),
            openapi_schema="CreateOutOfOfficeEntryDto",
            starter_key=("start", "end"),
            notes=(_OOO_WHOLE_DAYS,),
        ),
        # -- schedules, webhooks and out-of-office entries: change and delete ------------
        Endpoint(
            name="update-schedule",
            method="PATCH",
            path="/v2/schedules/{id}",
            api_version=SCHEDULES_VERSION,
            path_params=_SCHEDULE_ID,
            body_rule="fields",
            fields=_SCHEDULE_UPDATE_FIELDS,
            rules=("something to change",),
            description="Change some fields of an availability schedule of the key's user.",
            example={"id": 3, "name": "Mornings (winter)", "timeZone": "America/Chicago"},
            guidance=(
                "Each record changes one schedule of the key's user, named by its id in the "
                "path; only the fields the record gives change. availability (or overrides), "
                "when given, replaces all the schedule's opening hours (or date overrides); "
                "isDefault: true makes it the user's default."
            ),
            openapi_schema="UpdateScheduleInput_2024_06_11",
            starter_key=("id",),
            notes=(
                "availability and overrides, when given, replace the schedule's whole list",
                _UPDATE_IDEMPOTENT,
            ),
        ),
        _delete(
            name="delete-schedule",
            path="/v2/schedules/{id}",
            api_version=SCHEDULES_VERSION,
            path_params=_SCHEDULE_ID,
            description="Delete an availability schedule of the key's user by its id.",
            example={"id": 4},
            guidance=(
                "Each record deletes one schedule of the key's user, named by its id in the "
                "path; the body is empty. Event types that used it fall back to the user's "
                "default schedule."
            ),
            change="delete-schedule",
            starter_key=("id",),
            notes=(_deleted_once('400 "Schedule with ID=… does not exist."'),),
        ),
        Endpoint(
            name="update-webhook",
            method="PATCH",
            path="/v2/webhooks/{id}",
            api_version=None,
            path_params=_WEBHOOK_ID,
            body_rule="fields",
            fields=_WEBHOOK_UPDATE_FIELDS,
            rules=("something to change",),
            description="Change a webhook of the key's user: its URL, triggers or state.",
            example={"id": "0f3c5a1e-7d2b-4c1a-9e8f-2b6d4a7c9e10", "active": False},
            guidance=(
                "Each record changes one webhook of the key's user, named by its id in the "
                "path (Cal.com's webhook ids are texts); only the fields the record gives "
                "change: active: false pauses it, triggers replaces its list."
            ),
            openapi_schema="UpdateWebhookInputDto",
            starter_key=("id",),
            notes=("triggers, when given, replaces the webhook's whole list", _UPDATE_IDEMPOTENT),
        ),
        _delete(
            name="delete-webhook",
            path="/v2/webhooks/{id}",
            path_params=_WEBHOOK_ID,
            description="Delete a webhook of the key's user by its id.",
            example={"id": "0f3c5a1e-7d2b-4c1a-9e8f-2b6d4a7c9e10"},
            guidance=(
                "Each record deletes one webhook of the key's user, named by its id in the "
                "path; the body is empty. Cal.com stops delivering to its URL."
            ),
            change="delete-webhook",
            starter_key=("id",),
            notes=(_deleted_once('404 "Webhook (…) not found"'),),
        ),
        Endpoint(
            name="update-out-of-office",
            method="PATCH",
            path="/v2/me/ooo/{id}",
            api_version=None,
            path_params=_OOO_ID,
            body_rule="fields",
            fields=_OOO_UPDATE_FIELDS,
            rules=_OOO_UPDATE_RULES,
            description="Change an out-of-office entry of the key's user.",
            example={"id": 1, "reason": "travel", "notes": "Conference in Lisbon"},
            guidance=(
                "Each record changes one out-of-office entry of the key's user, named by its "
                "id in the path; only the fields the record gives change. Dates move "
                "together: give start and end both (UTC instants ending in Z; Cal.com keeps "
                "whole days), or neither."
            ),
            action=Action(change="update-ooo"),
            openapi_schema="UpdateOutOfOfficeEntryDto",
            starter_key=("id",),
            notes=_OOO_UPDATE_NOTES,
        ),
        _delete(
            name="delete-out-of-office",
            path="/v2/me/ooo/{id}",
            path_params=_OOO_ID,
            description="Delete an out-of-office entry of the key's user by its id.",
            example={"id": 2},
            guidance=(
                "Each record deletes one out-of-office entry of the key's user, named by its "
                "id in the path; the body is empty. Bookings redirected by it are no longer "
                "redirected."
            ),
            change="delete-ooo",
            starter_key=("id",),
            notes=(_deleted_once(_OOO_DELETED_ONCE),),
        ),
        # -- team event types ---------------------------------------------------------------
        Endpoint(
            name="create-team-event-type",
            method="POST",
            path="/v2/teams/{teamId}/event-types",
            api_version=None,
            path_params=(_TEAM_ID,),
            body_rule="record",
            fields=_CREATE_TEAM_EVENT_TYPE_FIELDS,
            rules=_EVENT_TYPE_RULES,
            description="Create an event type of a team the key's user administers.",
            example={
                "teamId": 1,
                "title": "Team Demo",
                "slug": "team-demo",
                "lengthInMinutes": 30,
                "schedulingType": "roundRobin",
                "assignAllTeamMembers": True,
            },
            guidance=(
                "Each record becomes one event type of the team named by teamId in the path "
                "(the key's user must be one of its admins): a title, a slug unique in the "
                "team, lengthInMinutes and schedulingType (collective, roundRobin or "
                "managed). hosts lists the members who take its bookings, or "
                "assignAllTeamMembers: true gives it to every member."
            ),
            action=Action(creates="team-event-type"),
            lookup=Lookup("{url}", None, _EVENT_TYPE_MATCH, "team event types"),
            openapi_schema="CreateTeamEventTypeInput_2024_06_14",
            starter_key=("slug",),
            notes=(
                "a create resent after it took effect is found by slug (with title and "
                "length) among the team's event types, not made twice",
            ),
        ),
        Endpoint(
            name="update-team-event-type",
            method="PATCH",
            path="/v2/teams/{teamId}/event-types/{id}",
            api_version=None,
            path_params=_TEAM_EVENT_TYPE_ID,
            body_rule="fields",
            fields=_UPDATE_TEAM_EVENT_TYPE_FIELDS,
            rules=_UPDATE_EVENT_TYPE_RULES,
            description="Change some fields of a team's event type.",
            example={"teamId": 1, "id": 5, "lengthInMinutes": 45},
            guidance=(
                "Each record changes one event type of a team, named by teamId and its id "
                "in the path; only the fields the record gives change (hosts, when given, "
                "replaces the list)."
            ),
            openapi_schema="UpdateTeamEventTypeInput_2024_06_14",
            starter_key=("teamId", "id"),
            notes=(_UPDATE_IDEMPOTENT,),
        ),
        _delete(
            name="delete-team-event-type",
            path="/v2/teams/{teamId}/event-types/{id}",
            path_params=_TEAM_EVENT_TYPE_ID,
            description="Delete a team's event type by its id.",
            example={"teamId": 1, "id": 5},
            guidance=(
                "Each record deletes one event type of a team, named by teamId and its id in "
                "the path; the body is empty."
            ),
            change="delete-team-event-type",
            starter_key=("teamId", "id"),
            notes=(_deleted_once('404 "Event type with ID=… does not exist."'),),
        ),
        # -- out-of-office entries of an organisation's users --------------------------------
        Endpoint(
            name="create-org-user-out-of-office",
            method="POST",
            path="/v2/organizations/{orgId}/users/{userId}/ooo",
            api_version=None,
            path_params=_ORG_USER,
            body_rule="record",
            fields=_CREATE_OOO_FIELDS,
            rules=("end not before start",),
            description="Record an out-of-office entry for a user of an organisation.",
            example={
                "orgId": 2,
                "userId": 2,
                "start": "2030-03-04T00:00:00Z",
                "end": "2030-03-08T23:59:59Z",
                "reason": "sick",
            },
            guidance=(
                "Each record records one out-of-office entry for a user of an organisation, "
                "both named in the path (the key's user must be an admin of the "
                "organisation, the user one of its members): start and end as UTC instants "
                "ending in Z (Cal.com keeps whole days), reason, notes and toUserId as for "
                "create-out-of-office."
            ),
            action=Action(creates="org-ooo"),
            lookup=_ooo_lookup("{url}"),
            openapi_schema="CreateOutOfOfficeEntryDto",
            starter_key=("userId", "start", "end"),
            notes=(
                _OOO_WHOLE_DAYS,
                "a create resent after it took effect is found among the user's entries, "
                "not made twice",
            ),
        ),
        Endpoint(
            name="update-org-user-out-of-office",
            method="PATCH",
            path="/v2/organizations/{orgId}/users/{userId}/ooo/{id}",
            api_version=None,
            path_params=_ORG_USER_OOO_ID,
            body_rule="fields",
            fields=_OOO_UPDATE_FIELDS,
            rules=_OOO_UPDATE_RULES,
            description="Change an out-of-office entry of a user of an organisation.",
            example={"orgId": 2, "userId": 2, "id": 1, "notes": "Back on Thursday"},
            guidance=(
                "Each record changes one out-of-office entry of a user of an organisation, "
                "named in the path; only the fields it gives change, and dates move "
                "together (start and end both, or neither)."
            ),
            action=Action(change="update-ooo"),
            openapi_schema="UpdateOutOfOfficeEntryDto",
            starter_key=("userId", "id"),
            notes=_OOO_UPDATE_NOTES,
        ),
        _delete(
            name="delete-org-user-out-of-office",
            path="/v2/organizations/{orgId}/users/{userId}/ooo/{id}",
            path_params=_ORG_USER_OOO_ID,
            description="Delete an out-of-office entry of a user of an organisation.",
            example={"orgId": 2, "userId": 2, "id": 1},
            guidance=(
                "Each record deletes one out-of-office entry of a user of an organisation, "
                "named in the path; the body is empty."
            ),
            change="delete-ooo",
            starter_key=("userId", "id"),
            notes=(_deleted_once(_OOO_DELETED_ONCE),),
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
    """Which segment of the path names the resource ``endpoint`` acts on (the booking's
    uid, else its last path parameter: a team's or a user's id comes before the id of what
    is acted on), counted from the end (a base URL may add segments in front)."""
    if endpoint.action.change is None or not endpoint.path_params:
        return None
    names = endpoint.param_names
    target = "uid" if "uid" in names else names[-1]
    segments = endpoint.path.split("/")
    return segments.index("{" + target + "}") - len(segments)


# The changes whose target is an id (the others act on a booking, named by its uid).
ID_TARGETS: frozenset[str] = frozenset(
    {
        "delete-event-type",
        "delete-schedule",
        "delete-webhook",
        "update-ooo",
        "delete-ooo",
        "delete-team-event-type",
    }
)


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
        )
    ),
    *(
        _known(
            method, f"/v2/bookings/{{uid}}/{action}", {BOOKINGS_READ_VERSION}, BOOKINGS_READ_VERSION
        )
        for method, action in (("POST", "guests"), ("PATCH", "location"))
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
