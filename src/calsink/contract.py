"""Cal.com's input rules per template, checked before anything is sent.

Hand-written and cheap (this runs once per record, for millions of records): each rule
names the field, what Cal.com expects and what the record holds. The rules follow
``calcom/CONTRACT.md``; fields Cal.com does not know are reported separately, because
Cal.com strips them silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache, lru_cache
from importlib import resources
from typing import Any
from zoneinfo import available_timezones

from calsink.endpoints import Endpoint
from calsink.instants import is_instant
from calsink.records import Problem, Record

ATTENDEE_LANGUAGES = frozenset(
    [
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
)
INTERFACE_LANGUAGES = frozenset(
    [
        "en",
        "ar",
        "az",
        "bg",
        "bn",
        "ca",
        "cs",
        "da",
        "de",
        "el",
        "es",
        "es-419",
        "eu",
        "et",
        "fi",
        "fr",
        "he",
        "hu",
        "it",
        "ja",
        "km",
        "ko",
        "nl",
        "no",
        "pl",
        "pt-BR",
        "pt",
        "ro",
        "ru",
        "sk-SK",
        "sr",
        "sv",
        "tr",
        "uk",
        "vi",
        "zh-CN",
        "zh-TW",
    ]
) | {""}
WEBHOOK_TRIGGERS = frozenset(
    [
        "BOOKING_CREATED",
        "BOOKING_PAYMENT_INITIATED",
        "BOOKING_PAID",
        "BOOKING_RESCHEDULED",
        "BOOKING_REQUESTED",
        "BOOKING_CANCELLED",
        "BOOKING_REJECTED",
        "BOOKING_NO_SHOW_UPDATED",
        "FORM_SUBMITTED",
        "MEETING_ENDED",
        "MEETING_STARTED",
        "RECORDING_READY",
        "INSTANT_MEETING",
        "RECORDING_TRANSCRIPTION_GENERATED",
        "OOO_CREATED",
        "AFTER_HOSTS_CAL_VIDEO_NO_SHOW",
        "AFTER_GUESTS_CAL_VIDEO_NO_SHOW",
        "FORM_SUBMITTED_NO_EVENT",
        "DELEGATION_CREDENTIAL_ERROR",
        "WRONG_ASSIGNMENT_REPORT",
    ]
)
OOO_REASONS = ("unspecified", "vacation", "travel", "sick", "public_holiday")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# The WHATWG HTML e-mail syntax: fast (well under a microsecond) and what browsers accept.
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_OOO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$")
_HTTP_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")

_MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The problems that stop a body, and the fields the endpoint does not know."""

    problems: list[Problem] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@cache
def time_zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def is_email(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 254 and _EMAIL.match(value) is not None


def describe(value: Any) -> str:
    """How a found value reads in a message."""
    if value is _MISSING:
        return "nothing"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        if value == "":
            return "an empty text"
        shown = value if len(value) <= 60 else value[:57] + "..."
        return repr(shown)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return f"a {type(value).__name__}"


class _Checker:
    """Collects the problems of one body."""

    __slots__ = ("body", "problems")

    def __init__(self, body: Record) -> None:
        self.body = body
        self.problems: list[Problem] = []

    def problem(
        self, path: str, expected: str, value: Any = _MISSING, hint: str | None = None
    ) -> None:
        self.problems.append(Problem(path, expected, describe(value), hint))

    def get(self, path: str) -> Any:
        if "." not in path:
            return self.body.get(path, _MISSING)
        current: Any = self.body
        for part in path.split("."):
            if not isinstance(current, dict):
                return _MISSING
            current = current.get(part, _MISSING)
            if current is _MISSING:
                return _MISSING
        return current

    def present(self, path: str) -> bool:
        value = self.get(path)
        return value is not _MISSING and value is not None and value != ""

    def _fetch(self, path: str, required: bool, what: str) -> Any:
        value = self.get(path)
        if value is _MISSING or value is None:
            if required:
                self.problem(path, f"{what} (required)", value)
            return _MISSING
        return value

    def string(self, path: str, *, required: bool = False, nonempty: bool = False) -> str | None:
        what = "a non-empty text" if nonempty or required else "a text"
        value = self._fetch(path, required, what)
        if value is _MISSING:
            return None
        if not isinstance(value, str) or ((nonempty or required) and not value.strip()):
            self.problem(path, what, value)
            return None
        return value

    def integer(
        self, path: str, *, required: bool = False, minimum: int | None = None
    ) -> int | None:
        what = "a whole number" if minimum is None else f"a whole number ≥ {minimum}"
        value = self._fetch(path, required, what)
        if value is _MISSING:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            hint = "convert it in the map, e.g. int(column)" if isinstance(value, str) else None
            self.problem(path, what, value, hint)
            return None
        if minimum is not None and value < minimum:
            self.problem(path, what, value)
            return None
        return value

    def boolean(self, path: str, *, required: bool = False) -> None:
        value = self._fetch(path, required, "true or false")
        if value is not _MISSING and not isinstance(value, bool):
            hint = "convert it in the map, e.g. bool(column)" if isinstance(value, str) else None
            self.problem(path, "true or false", value, hint)

    def obj(self, path: str, *, required: bool = False) -> dict[str, Any] | None:
        value = self._fetch(path, required, "an object")
        if value is _MISSING:
            return None
        if not isinstance(value, dict):
            self.problem(path, "an object", value)
            return None
        return value

    def array(self, path: str, *, required: bool = False, what: str = "a list") -> list[Any] | None:
        value = self._fetch(path, required, what)
        if value is _MISSING:
            return None
        if not isinstance(value, list):
            self.problem(path, what, value)
            return None
        return value

    def instant(self, path: str, *, required: bool = False) -> str | None:
        what = "an ISO 8601 date-time such as 2030-01-07T14:00:00Z"
        value = self._fetch(path, required, what)
        if value is _MISSING:
            return None
        if not isinstance(value, str) or not is_instant(value):
            self.problem(path, what, value)
            return None
        return value

    def timezone(self, path: str, *, required: bool = False) -> None:
        what = "an IANA time zone such as America/New_York"
        value = self._fetch(path, required, what)
        if value is not _MISSING and (not isinstance(value, str) or value not in time_zones()):
            self.problem(path, what, value)

    def email(self, path: str, *, required: bool = False) -> None:
        value = self._fetch(path, required, "an e-mail address")
        if value is not _MISSING and not is_email(value):
            self.problem(path, "an e-mail address", value)

    def phone(self, path: str) -> None:
        what = "a phone number in E.164 form such as +14155550123"
        value = self._fetch(path, False, what)
        if value is not _MISSING and (not isinstance(value, str) or not _E164.match(value)):
            self.problem(path, what, value)

    def enum(self, path: str, allowed: Iterable[str], *, required: bool = False) -> None:
        options = tuple(allowed)
        what = "one of " + ", ".join(o for o in options if o)
        value = self._fetch(path, required, what)
        if value is not _MISSING and value not in options:
            self.problem(path, what, value)

    def hh_mm(self, path: str) -> None:
        what = "a 24-hour time HH:MM such as 09:00"
        value = self._fetch(path, True, what)
        if value is not _MISSING and (not isinstance(value, str) or not _HH_MM.match(value)):
            self.problem(path, what, value)

    def iso_date(self, path: str) -> None:
        what = "a date YYYY-MM-DD"
        value = self._fetch(path, True, what)
        if value is _MISSING:
            return
        try:
            ok = isinstance(value, str) and bool(_ISO_DATE.match(value))
            ok = ok and bool(date.fromisoformat(value))
        except ValueError:
            ok = False
        if not ok:
            self.problem(path, what, value)


# --- per template -------------------------------------------------------------------------


def _create_booking(c: _Checker) -> None:
    c.instant("start", required=True)
    has_id = c.present("eventTypeId")
    if has_id:
        c.integer("eventTypeId", minimum=1)
    slug = c.string("eventTypeSlug", nonempty=True)
    owner = c.string("username", nonempty=True) or c.string("teamSlug", nonempty=True)
    if not has_id and not (slug and owner):
        found = "eventTypeSlug alone" if slug else ("no event type" if not owner else "no slug")
        c.problems.append(
            Problem(
                "eventTypeId",
                "eventTypeId, or eventTypeSlug with username or teamSlug",
                found,
            )
        )
    if c.present("teamSlug"):
        c.string("teamSlug", nonempty=True)
    c.string("organizationSlug", nonempty=True)
    attendee = c.obj("attendee", required=True)
    if attendee is not None:
        c.string("attendee.name", required=True)
        c.timezone("attendee.timeZone", required=True)
        if c.present("attendee.email") or c.get("attendee.email") == "":
            c.email("attendee.email")
        if c.present("attendee.phoneNumber") or c.get("attendee.phoneNumber") == "":
            c.phone("attendee.phoneNumber")
        if not c.present("attendee.email") and not c.present("attendee.phoneNumber"):
            c.problems.append(
                Problem("attendee.email", "an e-mail address or attendee.phoneNumber", "neither")
            )
        c.enum("attendee.language", sorted(ATTENDEE_LANGUAGES))
    guests = c.array("guests", what="a list of e-mail addresses")
    for index, guest in enumerate(guests or ()):
        if not is_email(guest):
            c.problem(f"guests[{index}]", "an e-mail address", guest)
    location = c.get("location")
    if location is not _MISSING and location is not None:
        if isinstance(location, dict):
            if not isinstance(location.get("type"), str):
                c.problem("location.type", "a location type such as address or integration")
        elif not isinstance(location, str):
            c.problem("location", "a location object (or a URL text)", location)
    c.string("meetingUrl")
    metadata = c.obj("metadata")
    if metadata is not None:
        if len(metadata) > 50:
            c.problem("metadata", "at most 50 keys", f"{len(metadata)} keys")
        for key, value in metadata.items():
            if len(str(key)) > 40:
                c.problem(f"metadata.{key}", "a key of at most 40 characters", str(key))
            if isinstance(value, str) and len(value) > 500:
                c.problem(f"metadata.{key}", "a text of at most 500 characters", value)
    c.obj("bookingFieldsResponses")
    c.integer("lengthInMinutes", minimum=1)
    routing = c.obj("routing")
    if routing is not None:
        ids = c.array("routing.teamMemberIds", required=True, what="a list of user ids")
        for index, member in enumerate(ids or ()):
            if not isinstance(member, int) or isinstance(member, bool):
                c.problem(f"routing.teamMemberIds[{index}]", "a user id (a number)", member)
    c.string("emailVerificationCode")
    c.boolean("instant")
    c.integer("recurrenceCount", minimum=1)
    c.boolean("allowConflicts")
    c.boolean("allowBookingOutOfBounds")


def _cancel_booking(c: _Checker) -> None:
    c.string("cancellationReason")
    c.boolean("cancelSubsequentBookings")
    c.string("seatUid", nonempty=True)


def _reschedule_booking(c: _Checker) -> None:
    c.instant("start", required=True)
    c.string("reschedulingReason")
    if c.get("rescheduledBy") is not _MISSING:
        c.email("rescheduledBy")
    c.string("seatUid", nonempty=True)
    c.string("emailVerificationCode")


def _confirm_booking(c: _Checker) -> None:
    c.string("reason")


_EVENT_TYPE_BOOLEANS = (
    "disableGuests",
    "onlyShowFirstAvailableSlot",
    "requiresBookerEmailVerification",
    "hideCalendarNotes",
    "lockTimeZoneToggleOnBookingPage",
    "useDestinationCalendarEmail",
    "hideCalendarEventDetails",
    "hideOrganizerEmail",
    "hidden",
    "bookingRequiresAuthentication",
    "allowReschedulingPastBookings",
    "allowReschedulingCancelledBookings",
    "showOptimizedSlots",
)
_EVENT_TYPE_OBJECTS = (
    "bookingLimitsCount",
    "bookerActiveBookingsLimit",
    "bookingLimitsDuration",
    "bookingWindow",
    "bookerLayouts",
    "confirmationPolicy",
    "recurrence",
    "seats",
    "color",
    "destinationCalendar",
    "calVideoSettings",
    "disableCancelling",
    "disableRescheduling",
)
_EVENT_TYPE_COUNTS = (
    "slotInterval",
    "minimumBookingNotice",
    "beforeEventBuffer",
    "afterEventBuffer",
    "offsetStart",
)


def _event_type(c: _Checker, *, creating: bool) -> None:
    c.string("title", required=creating, nonempty=True)
    c.string("slug", required=creating, nonempty=True)
    length = c.integer("lengthInMinutes", required=creating, minimum=1)
    options = c.array("lengthInMinutesOptions", what="a list of durations in minutes")
    if options is not None:
        if not options or not all(
            isinstance(o, int) and not isinstance(o, bool) and o >= 1 for o in options
        ):
            c.problem("lengthInMinutesOptions", "a non-empty list of whole minutes ≥ 1", options)
        elif len(set(options)) != len(options):
            c.problem("lengthInMinutesOptions", "each duration once", options)
        elif length is not None and length not in options:
            c.problem(
                "lengthInMinutesOptions",
                f"a list that includes lengthInMinutes ({length})",
                options,
            )
    c.string("description")
    c.string("customName")
    c.string("successRedirectUrl")
    c.integer("scheduleId", minimum=1)
    for name in _EVENT_TYPE_COUNTS:
        c.integer(name, minimum=0)
    for name in _EVENT_TYPE_BOOLEANS:
        c.boolean(name)
    for name in _EVENT_TYPE_OBJECTS:
        c.obj(name)
    for name in ("locations", "bookingFields"):
        items = c.array(name, what="a list of objects")
        for index, item in enumerate(items or ()):
            if not isinstance(item, dict) or not isinstance(item.get("type"), str):
                c.problem(f"{name}[{index}]", "an object with a `type`", item)
    c.enum("interfaceLanguage", sorted(INTERFACE_LANGUAGES))
    recurrence = c.get("recurrence")
    limit = c.get("bookerActiveBookingsLimit")
    if _enabled(recurrence) and _enabled(limit):
        c.problem(
            "recurrence",
            "recurrence or bookerActiveBookingsLimit, not both",
            "both",
        )
    if not creating and not c.body:
        c.problems.append(
            Problem(None, "at least one field to change", "an empty record", "map the fields")
        )


def _enabled(value: Any) -> bool:
    return isinstance(value, dict) and value.get("disabled") is not True


def _create_event_type(c: _Checker) -> None:
    _event_type(c, creating=True)


def _update_event_type(c: _Checker) -> None:
    _event_type(c, creating=False)


def _delete_event_type(c: _Checker) -> None:
    return None


def _create_schedule(c: _Checker) -> None:
    c.string("name", required=True)
    c.timezone("timeZone", required=True)
    c.boolean("isDefault", required=True)
    availability = c.array("availability", required=True, what="a list of opening hours")
    for index, item in enumerate(availability or ()):
        path = f"availability[{index}]"
        if not isinstance(item, dict):
            c.problem(path, "an object {days, startTime, endTime}", item)
            continue
        days = item.get("days", _MISSING)
        if (
            not isinstance(days, list)
            or not days
            or not all(isinstance(d, str) and d in WEEKDAYS for d in days)
        ):
            c.problem(f"{path}.days", "a non-empty list of weekdays such as Monday", days)
        _times(c, item, path)
    overrides = c.array("overrides", what="a list of date overrides")
    for index, item in enumerate(overrides or ()):
        path = f"overrides[{index}]"
        if not isinstance(item, dict):
            c.problem(path, "an object {date, startTime, endTime}", item)
            continue
        sub = _Checker(item)
        sub.iso_date("date")
        c.problems.extend(
            Problem(f"{path}.{p.field}", p.expected, p.found, p.hint) for p in sub.problems
        )
        _times(c, item, path)


def _times(c: _Checker, item: dict[str, Any], path: str) -> None:
    sub = _Checker(item)
    sub.hh_mm("startTime")
    sub.hh_mm("endTime")
    c.problems.extend(
        Problem(f"{path}.{p.field}", p.expected, p.found, p.hint) for p in sub.problems
    )


def _create_webhook(c: _Checker) -> None:
    url = c.string("subscriberUrl", required=True)
    if url is not None and not _HTTP_URL.match(url):
        c.problem("subscriberUrl", "an http(s) URL", url)
    triggers = c.get("triggers")
    what = "a non-empty list of webhook triggers such as BOOKING_CREATED"
    if triggers is _MISSING or triggers is None:
        c.problem("triggers", f"{what} (required)", triggers)
    elif not isinstance(triggers, list) or not triggers:
        hint = "write a list, e.g. [BOOKING_CREATED]" if isinstance(triggers, str) else None
        c.problem("triggers", what, triggers, hint)
    else:
        for index, trigger in enumerate(triggers):
            if not isinstance(trigger, str) or trigger not in WEBHOOK_TRIGGERS:
                c.problem(
                    f"triggers[{index}]",
                    "a webhook trigger: " + ", ".join(sorted(WEBHOOK_TRIGGERS)),
                    trigger,
                )
    c.boolean("active", required=True)
    c.string("payloadTemplate")
    c.string("secret")
    c.enum("version", ("2021-10-20",))


def _create_out_of_office(c: _Checker) -> None:
    start = _ooo_instant(c, "start")
    end = _ooo_instant(c, "end")
    if start is not None and end is not None and start > end:
        c.problem("end", f"an end not before start ({c.get('start')})", c.get("end"))
    c.enum("reason", OOO_REASONS)
    c.string("notes")
    c.integer("toUserId", minimum=1)


def _ooo_instant(c: _Checker, name: str) -> datetime | None:
    what = "a UTC date-time YYYY-MM-DDTHH:MM:SSZ such as 2030-01-21T00:00:00Z"
    value = c.get(name)
    if value is _MISSING or value is None:
        c.problem(name, f"{what} (required)", value)
        return None
    if isinstance(value, str) and _OOO_INSTANT.match(value):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
    c.problem(name, what, value)
    return None


_RULES: dict[str, Callable[[_Checker], None]] = {
    "create-booking": _create_booking,
    "cancel-booking": _cancel_booking,
    "reschedule-booking": _reschedule_booking,
    "confirm-booking": _confirm_booking,
    "create-event-type": _create_event_type,
    "update-event-type": _update_event_type,
    "delete-event-type": _delete_event_type,
    "create-schedule": _create_schedule,
    "create-webhook": _create_webhook,
    "create-out-of-office": _create_out_of_office,
}


def unknown_fields(endpoint: Endpoint, body: Record) -> list[str]:
    """Dotted names of the body's fields that ``endpoint`` does not know."""
    return _unknown(body, endpoint.known_fields, endpoint.nested_fields)


def _unknown(body: Record, known: frozenset[str], nested: dict[str, frozenset[str]]) -> list[str]:
    unknown = [name for name in body if name not in known]
    for parent, children in nested.items():
        value = body.get(parent)
        if isinstance(value, dict):
            unknown.extend(f"{parent}.{name}" for name in value if name not in children)
    return unknown


# --- the quick screen ---------------------------------------------------------------------
#
# Most records are clean, so each template also has a screen: one cheap test per field
# that answers True only when the full rules above would find nothing wrong with that
# field's (non-null) value, plus the fields that must be there and one test over the
# whole body for rules that join fields. A body that passes the screen has no problems;
# any other body goes through the full rules, which name every problem in their order.
# A screen may turn away a clean body (it then costs one full check), never pass a bad one.

FieldTest = Callable[[Any], bool]


@dataclass(frozen=True, slots=True)
class _Screen:
    tests: dict[str, FieldTest]
    required: tuple[str, ...] = ()
    whole: Callable[[Record], bool] | None = None


def _text(value: Any) -> bool:
    return type(value) is str


def _nonempty_text(value: Any) -> bool:
    return type(value) is str and value.strip() != ""


def _boolean(value: Any) -> bool:
    return type(value) is bool


def _object(value: Any) -> bool:
    return type(value) is dict


def _count_from(minimum: int) -> FieldTest:
    def test(value: Any) -> bool:
        return type(value) is int and value >= minimum

    return test


def _member_of(allowed: frozenset[str]) -> FieldTest:
    def test(value: Any) -> bool:
        return type(value) is str and value in allowed

    return test


def _never(value: Any) -> bool:
    return False


# The canonical form 2030-01-07T14:00:00Z with every part in range (year 0000 does not exist).
_CANONICAL_INSTANT = re.compile(
    r"(?!0000)[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z"
)


def _instant_text(value: Any) -> bool:
    if type(value) is not str:
        return False
    if _CANONICAL_INSTANT.fullmatch(value) is not None:
        if value[8:10] <= "28":
            return True
        try:  # the 29th to the 31st exist in some months only
            datetime.fromisoformat(value[:19])
        except ValueError:
            return False
        return True
    return is_instant(value)


@cache
def _listed_zones() -> frozenset[str]:
    """The zones the tzdata package lists: part of ``time_zones()``, read from one file
    instead of a walk over every zone file on the system."""
    try:
        text = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    except (ImportError, OSError, UnicodeDecodeError):
        return frozenset({"UTC"})
    return (frozenset(text.split()) - {"posixrules"}) | {"UTC"}


def _zone(value: Any) -> bool:
    return type(value) is str and (value in _listed_zones() or value in time_zones())


def _phone(value: Any) -> bool:
    return type(value) is str and _E164.match(value) is not None


def _hh_mm(value: Any) -> bool:
    return type(value) is str and _HH_MM.match(value) is not None


def _iso_date(value: Any) -> bool:
    if type(value) is not str or _ISO_DATE.match(value) is None:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


_count1 = _count_from(1)
_count0 = _count_from(0)


def _attendee(value: Any) -> bool:
    if type(value) is not dict:
        return False
    name = value.get("name")
    email = value.get("email")
    phone = value.get("phoneNumber")
    language = value.get("language")
    return (
        _nonempty_text(name)
        and _zone(value.get("timeZone"))
        and (email is not None or phone is not None)
        and (email is None or _email(email))
        and (phone is None or _phone(phone))
        and (language is None or (type(language) is str and language in ATTENDEE_LANGUAGES))
    )


def _email(value: Any) -> bool:
    return type(value) is str and len(value) <= 254 and _EMAIL.match(value) is not None


def _guests(value: Any) -> bool:
    return type(value) is list and all(_email(guest) for guest in value)


def _location(value: Any) -> bool:
    if type(value) is dict:
        return type(value.get("type")) is str
    return type(value) is str


def _metadata(value: Any) -> bool:
    if type(value) is not dict or len(value) > 50:
        return False
    for key, item in value.items():
        if type(key) is not str or len(key) > 40:
            return False
        if isinstance(item, str) and len(item) > 500:
            return False
    return True


def _routing(value: Any) -> bool:
    if type(value) is not dict:
        return False
    ids = value.get("teamMemberIds")
    return type(ids) is list and all(type(member) is int for member in ids)


def _has_event_type(body: Record) -> bool:
    # Each of these fields, when not null, has already passed its own test.
    if body.get("eventTypeId") is not None:
        return True
    return body.get("eventTypeSlug") is not None and (
        body.get("username") is not None or body.get("teamSlug") is not None
    )


_BOOKING_SCREEN = _Screen(
    tests={
        "start": _instant_text,
        "eventTypeId": _count1,
        "eventTypeSlug": _nonempty_text,
        "username": _nonempty_text,
        "teamSlug": _nonempty_text,
        "organizationSlug": _nonempty_text,
        "attendee": _attendee,
        "guests": _guests,
        "location": _location,
        "meetingUrl": _text,
        "metadata": _metadata,
        "bookingFieldsResponses": _object,
        "lengthInMinutes": _count1,
        "routing": _routing,
        "emailVerificationCode": _text,
        "instant": _boolean,
        "recurrenceCount": _count1,
        "allowConflicts": _boolean,
        "allowBookingOutOfBounds": _boolean,
    },
    required=("start", "attendee"),
    whole=_has_event_type,
)


def _typed_items(value: Any) -> bool:
    return type(value) is list and all(
        type(item) is dict and type(item.get("type")) is str for item in value
    )


def _event_type_screen(*, creating: bool) -> _Screen:
    tests: dict[str, FieldTest] = {
        "title": _nonempty_text,
        "slug": _nonempty_text,
        "lengthInMinutes": _count1,
        "lengthInMinutesOptions": _never,
        "description": _text,
        "customName": _text,
        "successRedirectUrl": _text,
        "scheduleId": _count1,
        "locations": _typed_items,
        "bookingFields": _typed_items,
        "interfaceLanguage": _member_of(INTERFACE_LANGUAGES),
    }
    tests.update(dict.fromkeys(_EVENT_TYPE_COUNTS, _count0))
    tests.update(dict.fromkeys(_EVENT_TYPE_BOOLEANS, _boolean))
    tests.update(dict.fromkeys(_EVENT_TYPE_OBJECTS, _object))

    def whole(body: Record) -> bool:
        both = _enabled(body.get("recurrence")) and _enabled(body.get("bookerActiveBookingsLimit"))
        return not both and (creating or bool(body))

    required = ("title", "slug", "lengthInMinutes") if creating else ()
    return _Screen(tests, required, whole)


def _opening_hours(value: Any) -> bool:
    if type(value) is not list:
        return False
    for item in value:
        if type(item) is not dict:
            return False
        days = item.get("days")
        if type(days) is not list or not days:
            return False
        if not all(type(day) is str and day in WEEKDAYS for day in days):
            return False
        if not (_hh_mm(item.get("startTime")) and _hh_mm(item.get("endTime"))):
            return False
    return True


def _date_overrides(value: Any) -> bool:
    return type(value) is list and all(
        type(item) is dict
        and _iso_date(item.get("date"))
        and _hh_mm(item.get("startTime"))
        and _hh_mm(item.get("endTime"))
        for item in value
    )


def _webhook_url(value: Any) -> bool:
    return _nonempty_text(value) and _HTTP_URL.match(value) is not None


def _triggers(value: Any) -> bool:
    return (
        type(value) is list
        and len(value) > 0
        and all(type(trigger) is str and trigger in WEBHOOK_TRIGGERS for trigger in value)
    )


def _ooo_moment(value: Any) -> datetime | None:
    if type(value) is not str or _OOO_INSTANT.match(value) is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _ooo_instant_text(value: Any) -> bool:
    return _ooo_moment(value) is not None


def _ooo_in_order(body: Record) -> bool:
    start = _ooo_moment(body.get("start"))
    end = _ooo_moment(body.get("end"))
    return start is not None and end is not None and start <= end


_SCREENS: dict[str, _Screen] = {
    "create-booking": _BOOKING_SCREEN,
    "cancel-booking": _Screen(
        {
            "cancellationReason": _text,
            "cancelSubsequentBookings": _boolean,
            "seatUid": _nonempty_text,
        }
    ),
    "reschedule-booking": _Screen(
        {
            "start": _instant_text,
            "reschedulingReason": _text,
            "rescheduledBy": is_email,
            "seatUid": _nonempty_text,
            "emailVerificationCode": _text,
        },
        required=("start",),
    ),
    "confirm-booking": _Screen({"reason": _text}),
    "create-event-type": _event_type_screen(creating=True),
    "update-event-type": _event_type_screen(creating=False),
    "delete-event-type": _Screen({}),
    "create-schedule": _Screen(
        {
            "name": _nonempty_text,
            "timeZone": _zone,
            "isDefault": _boolean,
            "availability": _opening_hours,
            "overrides": _date_overrides,
        },
        required=("name", "timeZone", "isDefault", "availability"),
    ),
    "create-webhook": _Screen(
        {
            "subscriberUrl": _webhook_url,
            "triggers": _triggers,
            "active": _boolean,
            "payloadTemplate": _text,
            "secret": _text,
            "version": _member_of(frozenset(["2021-10-20"])),
        },
        required=("subscriberUrl", "triggers", "active"),
    ),
    "create-out-of-office": _Screen(
        {
            "start": _ooo_instant_text,
            "end": _ooo_instant_text,
            "reason": _member_of(frozenset(OOO_REASONS)),
            "notes": _text,
            "toUserId": _count1,
        },
        required=("start", "end"),
        whole=_ooo_in_order,
    ),
}
_NO_PROBLEMS: tuple[Problem, ...] = ()
_NOTHING_UNKNOWN: tuple[str, ...] = ()

# What a compiled screen answers: None when the body needs the full rules, else the
# body's unknown fields (the body has no problems).
_Screening = Callable[[Record], "Sequence[str] | None"]


def _always_passes(value: Any) -> bool:
    return True


def _compile_screen(
    screen: _Screen, known: frozenset[str], nested: dict[str, frozenset[str]]
) -> _Screening | None:
    """One function that screens a body and lists its unknown fields in a single pass."""
    if not set(screen.tests) <= known:
        return None  # a checked field that is also unknown: leave it to the full rules
    tests = {name: screen.tests.get(name, _always_passes) for name in known}
    required = screen.required
    whole = screen.whole
    parents = tuple(nested.items())

    def screening(body: Record) -> Sequence[str] | None:
        unknown = False
        test_of = tests.get
        for name, value in body.items():
            test = test_of(name)
            if test is None:
                unknown = True
            elif value is not None and not test(value):
                return None
        for name in required:
            if body.get(name) is None:
                return None
        if whole is not None and not whole(body):
            return None
        if not unknown:
            for parent, children in parents:
                value = body.get(parent)
                if isinstance(value, dict) and not children.issuperset(value):
                    unknown = True
        return _unknown(body, known, nested) if unknown else _NOTHING_UNKNOWN

    return screening


class Contract:
    """One endpoint's rules, ready to run over many bodies (build it once per endpoint).

    ``screening(body)`` is the quick screen alone: None when the body needs the full
    rules, else its unknown fields (and then it has no problems).
    """

    __slots__ = ("_known", "_nested", "_rule", "endpoint", "screening")

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._known = endpoint.known_fields
        self._nested = endpoint.nested_fields
        self._rule = _RULES.get(endpoint.name)
        screen = _SCREENS.get(endpoint.name) if self._rule is not None else _Screen({})
        self.screening: _Screening | None = (
            _compile_screen(screen, self._known, self._nested) if screen is not None else None
        )

    def review(self, body: Record) -> tuple[Sequence[Problem], Sequence[str]]:
        """The problems that stop ``body`` and the fields the endpoint does not know.

        Both are empty tuples for a clean body; treat the answers as read-only.
        """
        if self.screening is not None:
            unknown = self.screening(body)
            if unknown is not None:
                return _NO_PROBLEMS, unknown
        return self.full_review(body)

    def full_review(self, body: Record) -> tuple[list[Problem], list[str]]:
        """The problems and the unknown fields, by the full rules alone."""
        checker = _Checker(body)
        if self._rule is not None:
            self._rule(checker)
        return checker.problems, _unknown(body, self._known, self._nested)

    def passes_screen(self, body: Record) -> bool:
        """Whether ``body`` is clean by the quick screen alone (False: the full rules decide)."""
        return self.screening is not None and self.screening(body) is not None


@lru_cache(maxsize=64)
def contract_for(endpoint: Endpoint) -> Contract:
    """The (shared) Contract of ``endpoint``."""
    return Contract(endpoint)


def check(endpoint: Endpoint, body: Record) -> CheckResult:
    """Every problem Cal.com would refuse ``body`` for, and the fields it would strip."""
    problems, unknown = contract_for(endpoint).review(body)
    return CheckResult(list(problems), list(unknown))
