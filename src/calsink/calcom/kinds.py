"""What can be read from Cal.com, the filters of each kind, and a flow source over them.

A kind is one read endpoint (``event-types``, ``bookings``, ``slots``, ``schedules``,
``webhooks``, ``ooo``, ``me``). Filters may be written in snake_case
(``attendee_email``), kebab-case (``attendee-email``) or Cal.com's camelCase
(``attendeeEmail``); an unknown filter or a bad value is refused with the filters the
kind allows. Lists become Cal.com's comma-separated values.

``booking_status`` (bookings) is applied by calsink on each booking's ``status``
(``pending``, ``accepted``, ``cancelled``, ``rejected``), since Cal.com's own
``status`` filter speaks of time frames (``upcoming``, ``recurring``, ``past``,
``cancelled``, ``unconfirmed``).
"""

from __future__ import annotations

import asyncio
import queue
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from calsink.calcom.client import CalcomReader, CalcomReadError
from calsink.flow import SourceSettings
from calsink.http.auth import Auth
from calsink.instants import normalise_instant, zone
from calsink.records import Position, SourceItem
from calsink.sources import SourceError

ValueKind = Literal["text", "int", "ints", "moment", "choice", "choices", "email", "zone"]

BOOKING_STATUS_FILTERS = ("upcoming", "recurring", "past", "cancelled", "unconfirmed")
BOOKING_STATUSES = ("pending", "accepted", "cancelled", "rejected")
SORT = ("asc", "desc")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class FilterError(SourceError):
    """A filter a kind does not have, or a value it cannot take."""


class CalcomSourceError(SourceError):
    """Reading a ``calcom`` source failed; ``status`` is Cal.com's HTTP status, if any."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Filter:
    """One filter: its snake_case name, Cal.com's query name, and the values it takes."""

    name: str
    param: str
    value: ValueKind
    help: str
    choices: tuple[str, ...] = ()
    client_side: bool = False
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    help: str
    filters: tuple[Filter, ...] = ()
    check: Callable[[dict[str, str]], str | None] | None = None

    def find(self, name: str) -> Filter | None:
        wanted = _canonical(name)
        for item in self.filters:
            names = (item.name, item.param, *item.aliases)
            if wanted in {_canonical(n) for n in names}:
                return item
        return None

    def allowed(self) -> str:
        if not self.filters:
            return f"{self.name} takes no filters"
        return f"{self.name} filters: " + ", ".join(f.name for f in self.filters)


@dataclass(frozen=True, slots=True)
class Query:
    """A kind's filters as Cal.com's query parameters, plus what calsink filters itself."""

    kind: str
    params: dict[str, str]
    booking_status: frozenset[str] = field(default_factory=frozenset)

    def keeps(self, record: Mapping[str, Any]) -> bool:
        return not self.booking_status or record.get("status") in self.booking_status


def _canonical(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def _slots_check(params: dict[str, str]) -> str | None:
    missing = [name for name in ("start", "end") if name not in params]
    if missing:
        return "slots needs " + " and ".join(missing) + " (a date or an ISO 8601 date-time)"
    if "eventTypeId" in params or "usernames" in params:
        return None
    if "eventTypeSlug" in params and ("username" in params or "teamSlug" in params):
        return None
    return "slots needs event_type_id, or event_type_slug with username or team_slug"


def _event_types_check(params: dict[str, str]) -> str | None:
    if "eventSlug" in params and "username" not in params:
        return "event_slug needs username"
    return None


_BOOKINGS = (
    Filter(
        "status",
        "status",
        "choices",
        "Cal.com's time frames: " + ", ".join(BOOKING_STATUS_FILTERS),
        BOOKING_STATUS_FILTERS,
    ),
    Filter(
        "booking_status",
        "bookingStatus",
        "choices",
        "booking status, checked by calsink: " + ", ".join(BOOKING_STATUSES),
        BOOKING_STATUSES,
        client_side=True,
    ),
    Filter("attendee_email", "attendeeEmail", "email", "an attendee's e-mail"),
    Filter("attendee_name", "attendeeName", "text", "part of an attendee's name"),
    Filter("booking_uid", "bookingUid", "text", "one booking's uid"),
    Filter("event_type_id", "eventTypeId", "int", "one event type id"),
    Filter("event_type_ids", "eventTypeIds", "ints", "event type ids (a list)"),
    Filter("team_id", "teamId", "int", "a team id"),
    Filter("teams_ids", "teamsIds", "ints", "team ids (a list)"),
    Filter("after_start", "afterStart", "moment", "starts at or after this", aliases=("after",)),
    Filter("before_end", "beforeEnd", "moment", "ends at or before this", aliases=("before",)),
    Filter("after_created_at", "afterCreatedAt", "moment", "created at or after this"),
    Filter("before_created_at", "beforeCreatedAt", "moment", "created at or before this"),
    Filter("after_updated_at", "afterUpdatedAt", "moment", "updated at or after this"),
    Filter("before_updated_at", "beforeUpdatedAt", "moment", "updated at or before this"),
    Filter("sort_start", "sortStart", "choice", "order by start", SORT),
    Filter("sort_end", "sortEnd", "choice", "order by end", SORT),
    Filter("sort_created", "sortCreated", "choice", "order by creation", SORT),
    Filter("sort_updated_at", "sortUpdatedAt", "choice", "order by last update", SORT),
)

_SLOTS = (
    Filter("event_type_id", "eventTypeId", "int", "the event type id"),
    Filter("event_type_slug", "eventTypeSlug", "text", "the event type slug (with username)"),
    Filter("username", "username", "text", "the owner of event_type_slug"),
    Filter("team_slug", "teamSlug", "text", "the team of event_type_slug"),
    Filter("organization_slug", "organizationSlug", "text", "the organisation of the slug"),
    Filter("usernames", "usernames", "text", "two or more usernames (dynamic event)"),
    Filter("start", "start", "moment", "first day or instant (required)"),
    Filter("end", "end", "moment", "last day or instant (required)"),
    Filter("time_zone", "timeZone", "zone", "IANA zone of the answer (default UTC)"),
    Filter("duration", "duration", "int", "minutes, for multi-duration event types"),
    Filter(
        "format",
        "format",
        "choice",
        "time (start only) or range (start and end)",
        ("time", "range"),
    ),
    Filter(
        "booking_uid_to_reschedule",
        "bookingUidToReschedule",
        "text",
        "the booking being rescheduled (its own time counts as free)",
    ),
)

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "event-types",
            "event types (your own without filters)",
            (
                Filter("username", "username", "text", "another user's public event types"),
                Filter("event_slug", "eventSlug", "text", "one slug (with username)"),
                Filter("usernames", "usernames", "text", "several users (a list)"),
                Filter("org_slug", "orgSlug", "text", "organisation slug"),
                Filter("org_id", "orgId", "int", "organisation id"),
                Filter("sort_created_at", "sortCreatedAt", "choice", "order by creation", SORT),
            ),
            _event_types_check,
        ),
        Kind("bookings", "bookings, every page", _BOOKINGS),
        Kind("slots", "free slots, one record per slot", _SLOTS, _slots_check),
        Kind("schedules", "your schedules"),
        Kind("webhooks", "your webhooks, every page"),
        Kind(
            "ooo",
            "your out-of-office entries, every page",
            (
                Filter("sort_start", "sortStart", "choice", "order by start", SORT),
                Filter("sort_end", "sortEnd", "choice", "order by end", SORT),
            ),
        ),
        Kind("me", "the account the key belongs to"),
    )
}


def _items(value: Any) -> list[Any]:
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [value]


def _one(kind: Kind, spec: Filter, value: Any) -> str:
    """The query value of one filter, or FilterError saying what was expected."""

    def refuse(expected: str) -> FilterError:
        return FilterError(
            f"calcom {kind.name}: filter {spec.name} expects {expected}, found {value!r}"
        )

    if value is None or isinstance(value, dict):
        raise refuse("a value")
    if spec.value in ("int", "ints"):
        parts = _items(value) if spec.value == "ints" else [value]
        numbers = []
        for part in parts:
            if isinstance(part, bool) or not re.fullmatch(r"\d+", str(part).strip()):
                raise refuse("a whole number" if spec.value == "int" else "whole numbers")
            numbers.append(str(int(str(part).strip())))
        if not numbers:
            raise refuse("at least one number")
        return ",".join(numbers)
    if spec.value in ("choice", "choices"):
        parts = [str(p).strip().lower() for p in _items(value)]
        if not parts or (spec.value == "choice" and len(parts) != 1):
            raise refuse("one of " + ", ".join(spec.choices))
        wrong = [p for p in parts if p not in spec.choices]
        if wrong:
            raise refuse(
                ("one or more of " if spec.value == "choices" else "one of ")
                + ", ".join(spec.choices)
            )
        return ",".join(dict.fromkeys(parts))
    if spec.value == "moment":
        text = str(value).strip()
        if _DATE.match(text):
            return text
        try:
            return normalise_instant(value)
        except ValueError:
            raise refuse(
                "a date (2030-01-07) or an ISO 8601 date-time with Z or an offset"
            ) from None
    if spec.value == "zone":
        try:
            zone(str(value))
        except ValueError:
            raise refuse("an IANA time zone such as Europe/Berlin") from None
        return str(value)
    if isinstance(value, list | tuple):
        text = ",".join(str(v).strip() for v in value)
    else:
        text = str(value).strip()
    if not text:
        raise refuse("a non-empty value")
    if spec.value == "email" and "@" not in text:
        raise refuse("an e-mail address")
    return text


def build_query(kind_name: str, filters: Mapping[str, Any]) -> Query:
    """Check ``filters`` for ``kind_name`` and turn them into Cal.com's query parameters."""
    kind = KINDS.get(kind_name)
    if kind is None:
        raise FilterError(f"unknown Cal.com source kind {kind_name!r}; one of {', '.join(KINDS)}")
    params: dict[str, str] = {}
    statuses: frozenset[str] = frozenset()
    for name, value in filters.items():
        spec = kind.find(str(name))
        if spec is None:
            raise FilterError(f"calcom {kind.name}: unknown filter {name!r}; {kind.allowed()}")
        text = _one(kind, spec, value)
        if spec.client_side:
            statuses = frozenset(text.split(","))
        else:
            params[spec.param] = text
    if kind.check is not None:
        problem = kind.check(params)
        if problem:
            raise FilterError(f"calcom {kind.name}: {problem}; {kind.allowed()}")
    return Query(kind.name, params, statuses)


async def iter_query(reader: CalcomReader, query: Query) -> AsyncIterator[dict[str, Any]]:
    """The records a checked query selects, with calsink's own filters applied."""
    async for record in reader.iter_kind(query.kind, query.params):
        if query.keeps(record):
            yield record


def open_calcom_source(
    settings: SourceSettings,
    *,
    api_key: str | Auth,
    base_url: str,
    rate_limit: Literal["auto"] | int = "auto",
    timeout_s: float = 30.0,
    snapshot: bool = True,
) -> Iterator[SourceItem]:
    """The records of ``source: {calcom: KIND, filters: {...}}``, as SourceItems.

    Filters are checked before this returns (FilterError, a SourceError). The reads run
    on a thread of their own with its own event loop, so the iterator may be pumped from
    any thread. With ``snapshot`` (the default for flows) every page is read before the
    first record is handed out: a flow that cancels or confirms the bookings it reads
    would otherwise move the later pages under the reader's feet. A failed read raises
    CalcomSourceError (a SourceError) from the iterator.
    """
    if settings.calcom is None:
        raise ValueError("open_calcom_source reads `calcom:` sources; this one has a path")
    query = build_query(settings.calcom, settings.filters)
    label = f"calcom:{query.kind}"

    async def read(put: Callable[[dict[str, Any]], bool]) -> None:
        async with CalcomReader(
            base_url, api_key, rate_limit=rate_limit, timeout_s=timeout_s
        ) as reader:
            async for record in iter_query(reader, query):
                if not put(record):
                    return

    def items() -> Iterator[SourceItem]:
        records = _records_from_thread(read, snapshot=snapshot, label=label)
        for index, record in enumerate(records):
            yield SourceItem(Position(label, index), record)

    return items()


_END = object()


def _records_from_thread(
    read: Callable[[Callable[[dict[str, Any]], bool]], Any],
    *,
    snapshot: bool,
    label: str,
) -> Iterator[dict[str, Any]]:
    """Run ``read`` in a thread with its own loop; hand its records over one at a time."""
    handed: queue.Queue[Any] = queue.Queue(maxsize=0 if snapshot else 512)
    stop = threading.Event()

    def put(record: dict[str, Any]) -> bool:
        while not stop.is_set():
            try:
                handed.put(record, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def pump() -> None:
        outcome: Any = _END
        try:
            asyncio.run(read(put))
        except CalcomReadError as exc:
            outcome = CalcomSourceError(f"{label}: {exc}", exc.status)
        except BaseException as exc:  # handed to the consuming thread, raised there
            outcome = exc
        handed.put(outcome)

    thread = threading.Thread(target=pump, name=f"calsink-{label}", daemon=True)
    thread.start()
    try:
        if snapshot:
            thread.join()
            read_all = [handed.get_nowait() for _ in range(handed.qsize())]
            if read_all and isinstance(read_all[-1], BaseException):
                raise read_all[-1]
            yield from (item for item in read_all if item is not _END)
            return
        while True:
            item = handed.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
