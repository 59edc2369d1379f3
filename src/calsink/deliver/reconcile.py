"""Once-only effects: look a resource up before resending, and read "already done" answers.

POST /v2/bookings (and the other creates) are not idempotent. When such a request may
have reached Cal.com without an answer coming back, the engine asks here whether the
resource exists before sending again. A look-up matches on everything that identifies
the record: a booking by the ``metadata.calsink_key`` fingerprint calsink writes into it
(by attendee, start and event type only when it carries none), an event type by slug,
title and length, a schedule by name, time zone, availability and overrides, a webhook
by subscriber URL and triggers, an out-of-office entry by its day range, reason, notes
and redirect. When more than one resource matches, or one lacks a field to compare, the
look-up cannot tell, and says why.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from calsink.endpoints import (
    BOOKING_LOCATION_VALUES,
    BOOKINGS_READ_VERSION,
    TEMPLATES,
    Action,
    Creates,
    Lookup,
)
from calsink.http.transport import Response
from calsink.records import Request
from calsink.render import FINGERPRINT_FIELD

__all__ = [
    "Action",
    "LookupResult",
    "already_done",
    "look_up",
    "looks_up",
    "rescheduled_to",
]

_ALREADY = {
    # upstream today: "… because it has been cancelled already. Please provide uid of a
    # booking that is not cancelled." (the bookings input service); before: "already been"
    "cancel": re.compile(r"already\s+(been\s+)?cancell?ed|cancell?ed\s+already", re.I),
    "reschedule": re.compile(r"already\s+(been\s+)?rescheduled|rescheduled\s+already", re.I),
    "confirm": re.compile(r"already\s+(been\s+)?(confirmed|accepted)", re.I),
    # addGuests.handler.ts@00c2c637: every guest is already on the booking
    "add-guests": re.compile(r"^emails_must_be_unique_valid$"),
}
# What Cal.com answers a change resent after it took effect, when that answer is a refusal
# of its own: the status and the words that tell it.
_ANY_TEXT = re.compile(r"")
_SETTLED: dict[str, tuple[frozenset[int], re.Pattern[str]]] = {
    "delete-event-type": (frozenset({404}), _ANY_TEXT),
    # schedules.service.ts deleteUserSchedule (upstream 03670679): BadRequestException
    "delete-schedule": (frozenset({400, 404}), re.compile(r"does not exist|not found", re.I)),
    # webhooks.service.ts getWebhookById, through IsUserWebhookGuard: NotFoundException
    "delete-webhook": (frozenset({404}), re.compile(r"not found", re.I)),
    # guards/is-user-ooo.ts (upstream 61a9c305): a missing entry is "not this user's", 403
    "delete-ooo": (frozenset({403, 404}), re.compile(r"does not belong|not found", re.I)),
    # teams-event-types.service.ts deleteTeamEventType: NotFoundException "… does not exist."
    "delete-team-event-type": (frozenset({404}), _ANY_TEXT),
    # ooo.service.ts checkDuplicateOOOEntry finds the entry itself when its dates are resent
    "update-ooo": (frozenset({409}), re.compile(r"already exists|duplicate", re.I)),
}
# Where each kind of created resource is listed, from the templates' description.
_LOOKUPS: dict[Creates, Lookup] = {
    t.action.creates: t.lookup
    for t in TEMPLATES.values()
    if t.action.creates is not None and t.lookup is not None
}


def already_done(action: Action, response: Response) -> bool:
    """Cal.com says the change this request asks for has already happened."""
    if action.change is None:
        return False
    settled = _SETTLED.get(action.change)
    if settled is not None:
        statuses, words = settled
        return response.status in statuses and bool(words.search(response.error_message()))
    already = _ALREADY.get(action.change)
    if already is None or not 400 <= response.status < 500:
        return False
    return bool(already.search(response.error_message()))


def identifiers(data: Any) -> dict[str, Any]:
    """uid and id of a created resource (the first of a recurring series)."""
    if isinstance(data, list):
        data = data[0] if data else None
    if not isinstance(data, dict):
        return {}
    ids = {name: data[name] for name in ("uid", "id") if data.get(name) is not None}
    if "uid" not in ids and data.get("recurringBookingUid"):
        ids["uid"] = data["recurringBookingUid"]
    return ids


def primary_identifier(data: Any) -> str | None:
    ids = identifiers(data)
    value = ids.get("uid", ids.get("id"))
    return None if value is None else str(value)


# -- look-ups ------------------------------------------------------------------------------

Get = Callable[[str, dict[str, str]], Awaitable[Response | None]]
"""Sends a GET through the run's limiter and retries; None when no answer could be had."""


@dataclass(frozen=True, slots=True)
class LookupResult:
    """``found`` is the resource when it exists; ``known`` is False when the look-up could
    not tell (``doubt`` says why when Cal.com answered)."""

    known: bool
    found: Any = None
    doubt: str | None = None

    @property
    def exists(self) -> bool:
        return self.found is not None


UNKNOWN = LookupResult(known=False)
UNSEARCHABLE = LookupResult(known=False, doubt="the record gives nothing to look it up by")
ABSENT = LookupResult(known=True)


# Changes whose resend Cal.com would carry out again (a second decline e-mail, guests added
# twice, another host): before resending one that may have reached Cal.com, the booking is
# read and the change counts as made when its state already holds.
LOOKED_UP_CHANGES = frozenset(
    {"decline", "add-guests", "update-location", "mark-absent", "reassign"}
)


def looks_up(action: Action) -> bool:
    """Whether a resend of ``action`` is preceded by a look-up (creates, and the changes
    Cal.com would make twice)."""
    return action.creates is not None or action.change in LOOKED_UP_CHANGES


async def look_up(request: Request, get: Get) -> LookupResult:
    """Ask Cal.com whether the resource ``request`` creates already exists (a booking
    create is matched by the fingerprint `stamp` put in it), or whether the change it asks
    for already holds (the booking is found then)."""
    creates = request.action.creates
    payload = request.payload if isinstance(request.payload, dict) else None
    if request.action.change in LOOKED_UP_CHANGES:
        return await _look_up_change(request, payload or {}, get)
    if creates is None or payload is None:
        return UNKNOWN
    lookup = _LOOKUPS[creates]
    parts = urlsplit(request.url)
    # "{url}": the create's own path lists what it makes (a team's, a user's)
    url = f"{parts.scheme}://{parts.netloc}{lookup.path.replace('{url}', parts.path)}"
    headers = {"Accept": "application/json"}
    if lookup.version:
        headers["cal-api-version"] = lookup.version
    if creates == "booking":
        return await _look_up_booking(url, payload, headers, get)
    wanted = _fields(payload, *lookup.match)
    if creates in ("ooo", "org-ooo") and wanted is not None and wanted.get("end") is None:
        return UNSEARCHABLE
    return await _find(get, url, headers, wanted, lookup.what)


async def _list(get: Get, url: str, headers: dict[str, str]) -> list[Any] | None:
    response = await get(url, headers)
    if response is None or not response.ok or not isinstance(response.parsed, dict):
        return None
    data = response.parsed.get("data")
    return data if isinstance(data, list) else None


# The fields that identify a resource, as compared: a list of time ranges is a set (Cal.com
# groups and orders them its own way), and so is a list of triggers.
_MISSING = object()


def _ranges(value: Any, when: str) -> Any:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        return value
    return frozenset(
        (str(moment), str(v.get("startTime")), str(v.get("endTime")))
        for v in value
        for moment in (v.get(when) if isinstance(v.get(when), list) else [v.get(when)])
    )


def _compared(field: str, value: Any) -> Any:
    if field == "availability":
        return _ranges(value, "days")
    if field == "overrides":
        return _ranges(value, "date")
    if field == "triggers" and isinstance(value, list):
        return frozenset(map(str, value))
    if field in ("start", "end"):
        return _day(value)
    return value


def _fields(payload: dict[str, Any], primary: str, *others: str) -> dict[str, Any] | None:
    """The identifying fields ``payload`` gives, as compared; None without the first one."""
    wanted = {
        name: _compared(name, payload[name])
        for name in (primary, *others)
        if payload.get(name) is not None
    }
    return wanted if wanted.get(primary) is not None else None


def _verdict(item: dict[str, Any], wanted: dict[str, Any]) -> bool | None:
    """True when ``item`` has every wanted field equal, False when one differs, None when
    the fields it has are equal but it lacks one (it cannot be compared)."""
    lacking = False
    for name, value in wanted.items():
        have = item.get(name, _MISSING)
        if have is _MISSING:
            lacking = True
        elif _compared(name, have) != value:
            return False
    return None if lacking else True


def _one_of(items: list[Any], wanted: dict[str, Any], what: str) -> LookupResult:
    """The one resource among ``items`` that matches ``wanted``; a doubt when it cannot tell."""
    matches: list[dict[str, Any]] = []
    uncertain = 0
    for item in items:
        if not isinstance(item, dict):
            continue
        verdict = _verdict(item, wanted)
        if verdict:
            matches.append(item)
        elif verdict is None:
            uncertain += 1
    if len(matches) == 1:
        return LookupResult(known=True, found=matches[0])
    if len(matches) > 1:
        return LookupResult(known=False, doubt=f"{len(matches)} {what} in Cal.com match it")
    if uncertain:
        return LookupResult(
            known=False,
            doubt=f"{uncertain} of the {what} in Cal.com lack a field to compare it with",
        )
    return ABSENT


async def _find(
    get: Get, url: str, headers: dict[str, str], wanted: dict[str, Any] | None, what: str
) -> LookupResult:
    if wanted is None:
        return UNSEARCHABLE
    items = await _list(get, url, headers)
    if items is None:
        return UNKNOWN
    return _one_of(items, wanted, what)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(value: Any) -> str | None:
    moment = _instant(value)
    return moment.astimezone(UTC).date().isoformat() if moment else None


async def _look_up_booking(
    url: str, payload: dict[str, Any], headers: dict[str, str], get: Get
) -> LookupResult:
    attendee = _dict(payload.get("attendee"))
    start = _instant(payload.get("start"))
    email = attendee.get("email")
    if start is None or not (email or attendee.get("name")):
        return UNKNOWN
    query: dict[str, Any] = {"take": 100}
    if email:
        query["attendeeEmail"] = email
    else:
        query["attendeeName"] = attendee["name"]
    if isinstance(payload.get("eventTypeId"), int):
        query["eventTypeId"] = payload["eventTypeId"]
    mark = _dict(payload.get("metadata")).get(FINGERPRINT_FIELD)
    alike: list[Any] = []
    skip = 0
    for _ in range(20):
        items = await _list(get, f"{url}?{urlencode({**query, 'skip': skip})}", headers)
        if items is None:
            return UNKNOWN
        for item in items:
            if not isinstance(item, dict):
                continue
            carried = _dict(item.get("metadata")).get(FINGERPRINT_FIELD)
            if mark is not None and carried == mark:
                return LookupResult(known=True, found=item)
            if mark is None and carried is None and _same_booking(item, payload, start):
                alike.append(item)
        if len(items) < 100:
            return _one_of(alike, {}, "bookings") if mark is None else ABSENT
        skip += 100
    return UNKNOWN


def _same_booking(item: dict[str, Any], payload: dict[str, Any], start: datetime) -> bool:
    """For a booking sent without a fingerprint: same start, same event type, still live."""
    if _instant(item.get("start")) != start:
        return False
    if item.get("status") in ("cancelled", "rejected"):
        return False
    event_type = _dict(item.get("eventType"))
    wanted_id = payload.get("eventTypeId")
    if wanted_id is not None:
        return wanted_id in (item.get("eventTypeId"), event_type.get("id"))
    wanted_slug = payload.get("eventTypeSlug")
    return wanted_slug is None or wanted_slug == event_type.get("slug")


async def _booking(request: Request, get: Get) -> dict[str, Any] | None:
    """The booking ``request`` acts on, as Cal.com shows it now; None if it cannot be read."""
    data = await _booking_data(request, get)
    return data if isinstance(data, dict) else None


async def _booking_data(request: Request, get: Get) -> Any:
    """What Cal.com answers for the booking ``request`` acts on (its ``data``), or None."""
    target = request.action.target
    if target is None:
        return None
    parts = urlsplit(request.url)
    url = f"{parts.scheme}://{parts.netloc}/v2/bookings/{target}"
    headers = {"cal-api-version": BOOKINGS_READ_VERSION, "Accept": "application/json"}
    response = await get(url, headers)
    if response is None or not response.ok or not isinstance(response.parsed, dict):
        return None
    return response.parsed.get("data")


def _holds(change: str, booking: dict[str, Any], payload: dict[str, Any]) -> bool:
    """Whether ``booking`` already shows the change ``payload`` asks for."""
    if change == "decline":
        return booking.get("status") == "rejected"
    if change == "add-guests":
        return _guests_present(booking, payload)
    if change == "update-location":
        return _location_is(booking, payload)
    if change == "mark-absent":
        return _marked(booking, payload)
    if change == "reassign":
        hosts = [h for h in booking.get("hosts") or () if isinstance(h, dict)]
        return bool(hosts) and hosts[0].get("id") == payload.get("userId")
    return False


def _marked(booking: dict[str, Any], payload: dict[str, Any]) -> bool:
    if payload.get("host") is True and booking.get("absentHost") is not True:
        return False
    shown = {
        str(a.get("email", "")).lower(): a.get("absent")
        for a in booking.get("attendees") or ()
        if isinstance(a, dict)
    }
    wanted = [a for a in payload.get("attendees") or () if isinstance(a, dict)]
    return all(shown.get(str(a.get("email", "")).lower()) == a.get("absent") for a in wanted)


def _location_is(booking: dict[str, Any], payload: dict[str, Any]) -> bool:
    location = _dict(payload.get("location"))
    field = BOOKING_LOCATION_VALUES.get(str(location.get("type")))
    return field is not None and booking.get("location") == location.get(field)


def _guests_present(booking: dict[str, Any], payload: dict[str, Any]) -> bool:
    wanted = {
        str(g.get("email", "")).lower() for g in payload.get("guests") or () if isinstance(g, dict)
    }
    attendees = booking.get("attendees") or []
    present = {str(a.get("email", "")).lower() for a in attendees if isinstance(a, dict)}
    present |= {str(g).lower() for g in booking.get("guests") or ()}
    return bool(wanted) and wanted <= present


_AUTOMATIC = LookupResult(
    known=False,
    doubt="an automatic reassignment leaves nothing to tell whether the earlier attempt "
    "made it, and a resend would pass the booking on again",
)


def _new_host(request: Request) -> int | None:
    """The user id a reassign-to-user request names (the last path segment)."""
    last = urlsplit(request.url).path.rstrip("/").rsplit("/", 1)[-1]
    return int(last) if last.isdigit() else None


async def _look_up_change(request: Request, payload: dict[str, Any], get: Get) -> LookupResult:
    if request.action.change == "reassign":
        host = _new_host(request)
        if host is None:
            return _AUTOMATIC
        payload = {"userId": host}
    booking = await _booking(request, get)
    if booking is None:
        return UNKNOWN
    change = str(request.action.change)
    return LookupResult(known=True, found=booking) if _holds(change, booking, payload) else ABSENT


async def rescheduled_to(request: Request, get: Get) -> str | None:
    """The uid of the booking a reschedule produced, read from the old booking."""
    if request.action.change != "reschedule":
        return None
    data = await _booking_data(request, get)
    if isinstance(data, list):
        data = data[0] if data else None
    if isinstance(data, dict) and data.get("rescheduledToUid"):
        return str(data["rescheduledToUid"])
    return None
