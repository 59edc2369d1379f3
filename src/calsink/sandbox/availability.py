"""When a host can be booked: schedule windows, minus out-of-office days, minus busy time.

Busy time is every accepted or pending booking of the host, widened by its buffers;
a seated booking is not busy for its own event type at its own start (it is joined, or
refused as full). A booking must also start after the minimum notice and inside the event
type's booking window.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from calsink.sandbox.model import Booking, EventType, Schedule, Store
from calsink.sandbox.timeutil import (
    WEEKDAYS,
    format_local,
    format_utc,
    minutes_of,
    parse_iso,
    zone,
)

DEFAULT_MINIMUM_NOTICE_MINUTES = 120

# Cal.com's answers (apps/api/v2/src/platform/bookings/2024-08-13/services/errors.service.ts,
# handleBookingError): the first two are what its booking handler's errors become.
UNAVAILABLE = "User either already has booking at this time or is not available"
OUT_OF_BOUNDS = (
    "The event type can't be booked at the \"start\" time provided. This could be because it's "
    "too soon (violating the minimum booking notice) or too far in the future (outside the "
    "event's scheduling window). Try fetching available slots first using the GET /v2/slots "
    'endpoint and then make a booking with "start" time equal to one of the available slots.'
)
PAST = "Attempting to book a meeting in the past."

Window = tuple[datetime, datetime]


@dataclass
class Candidate:
    start: datetime
    end: datetime
    seated_booking: Booking | None = None


def schedule_for(store: Store, event_type: EventType) -> Schedule | None:
    schedule_id = event_type.spec.get("scheduleId")
    if schedule_id is None:
        owner = store.users.get(event_type.owner_id)
        schedule_id = owner.default_schedule_id if owner else None
    return store.schedules.get(schedule_id) if schedule_id is not None else None


def _local_window(day: date, start: str, end: str, tz: ZoneInfo) -> Window | None:
    start_minutes, end_minutes = minutes_of(start), minutes_of(end)
    if end_minutes == 0:
        end_minutes = 24 * 60
    if end_minutes <= start_minutes:
        return None
    midnight = datetime.combine(day, time(0), tzinfo=tz)
    opens = (midnight + timedelta(minutes=start_minutes)).replace(tzinfo=None)
    closes = (midnight + timedelta(minutes=end_minutes)).replace(tzinfo=None)
    return (
        opens.replace(tzinfo=tz).astimezone(UTC),
        closes.replace(tzinfo=tz).astimezone(UTC),
    )


def working_windows(schedule: Schedule, first: datetime, last: datetime) -> list[Window]:
    tz = zone(schedule.time_zone) or ZoneInfo("UTC")
    overrides: dict[str, list[dict[str, Any]]] = {}
    for override in schedule.overrides:
        overrides.setdefault(str(override["date"]), []).append(override)
    windows: list[Window] = []
    day = first.astimezone(tz).date() - timedelta(days=1)
    stop = last.astimezone(tz).date() + timedelta(days=1)
    while day <= stop:
        rules = overrides.get(day.isoformat())
        if rules is None:
            weekday = WEEKDAYS[day.weekday()]
            rules = [rule for rule in schedule.availability if weekday in rule["days"]]
        for rule in rules:
            window = _local_window(day, rule["startTime"], rule["endTime"], tz)
            if window is not None and window[1] > first and window[0] < last:
                windows.append(window)
        day += timedelta(days=1)
    windows.sort()
    return windows


def out_of_office(store: Store, user_id: int) -> list[Window]:
    return [(entry.start, entry.end) for entry in store.ooo.values() if entry.user_id == user_id]


def minimum_notice(event_type: EventType) -> timedelta:
    notice = event_type.spec.get("minimumBookingNotice")
    minutes = DEFAULT_MINIMUM_NOTICE_MINUTES if notice is None else int(notice)
    return timedelta(minutes=minutes)


def _overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and a_end > b_start


def seats_left(event_type: EventType, booking: Booking) -> int:
    return (event_type.seats or 0) - len(booking.attendees)


def blocking_booking(
    store: Store,
    event_type: EventType,
    start: datetime,
    end: datetime,
    *,
    ignore_uid: str | None = None,
) -> tuple[Booking | None, Booking | None]:
    """(a booking that makes the time busy, the seated booking of this very slot).

    The seated booking is returned even when it is full: joining it is refused with
    Cal.com's own answer (409), not as unavailable time."""
    busy_from = start - timedelta(minutes=event_type.before_buffer)
    busy_until = end + timedelta(minutes=event_type.after_buffer)
    joinable: Booking | None = None
    for booking in store.bookings_near(event_type.owner_id, busy_from, busy_until):
        if not booking.active or booking.uid == ignore_uid:
            continue
        if not _overlaps(busy_from, busy_until, booking.busy_from(), booking.busy_until()):
            continue
        if booking.seated and booking.event_type_id == event_type.id and booking.start == start:
            joinable = booking
            continue
        return booking, None
    return None, joinable


def _within(windows: list[Window], start: datetime, end: datetime) -> bool:
    return any(opens <= start and end <= closes for opens, closes in windows)


def _in_ooo(store: Store, user_id: int, start: datetime, end: datetime) -> bool:
    return any(_overlaps(start, end, s, e) for s, e in out_of_office(store, user_id))


def _add_business_days(day: date, count: int) -> date:
    while count > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


def window_bounds(event_type: EventType, now: datetime) -> tuple[datetime | None, datetime | None]:
    """The first and last moment the event type's bookingWindow lets a booking start in
    (None: no bound). Days count from today (UTC), rolling or not."""
    window = event_type.spec.get("bookingWindow")
    if not isinstance(window, dict) or window.get("disabled"):
        return None, None
    kind, value = window.get("type"), window.get("value")
    if kind == "range" and isinstance(value, list) and len(value) == 2:
        first, last = (parse_iso(str(v)) for v in value)
        if first is not None and last is not None:
            return first, last + timedelta(days=1)
        return None, None
    if not isinstance(value, int):
        return None, None
    today = now.date()
    last_day = today + timedelta(days=value) if kind == "calendarDays" else None
    if kind == "businessDays":
        last_day = _add_business_days(today, value)
    if last_day is None:
        return None, None
    return None, datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=UTC)


def out_of_bounds(event_type: EventType, start: datetime, now: datetime) -> bool:
    """Too soon for the minimum notice, or outside the booking window."""
    if start < now + minimum_notice(event_type):
        return True
    first, last = window_bounds(event_type, now)
    return (first is not None and start < first) or (last is not None and start >= last)


@dataclass(frozen=True)
class Overrides:
    """The 2026-02-25 host-only bypasses (allowConflicts, allowBookingOutOfBounds)."""

    conflicts: bool = False
    out_of_bounds: bool = False


NO_OVERRIDES = Overrides()


def unavailable_reason(
    store: Store,
    event_type: EventType,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    ignore_uid: str | None = None,
    overrides: Overrides | None = None,
) -> tuple[str | None, Booking | None]:
    """Why the time cannot be booked, in Cal.com's words (None when it can), and the
    seated booking of this slot, if any."""
    overrides = overrides or NO_OVERRIDES
    if start < now:
        return PAST, None
    if not overrides.out_of_bounds and out_of_bounds(event_type, start, now):
        return OUT_OF_BOUNDS, None
    busy, joinable = blocking_booking(store, event_type, start, end, ignore_uid=ignore_uid)
    if overrides.conflicts:
        return None, joinable
    schedule = schedule_for(store, event_type)
    if schedule is None or not _within(working_windows(schedule, start, end), start, end):
        return UNAVAILABLE, None
    if _in_ooo(store, event_type.owner_id, start, end) or busy is not None:
        return UNAVAILABLE, None
    return None, joinable


def candidates(
    store: Store,
    event_type: EventType,
    first: datetime,
    last: datetime,
    now: datetime,
    length: int,
    *,
    ignore_uid: str | None = None,
) -> Iterator[Candidate]:
    schedule = schedule_for(store, event_type)
    if schedule is None:
        return
    duration = timedelta(minutes=length)
    step = timedelta(minutes=int(event_type.spec.get("slotInterval") or length))
    earliest = now + minimum_notice(event_type)
    window_first, window_last = window_bounds(event_type, now)
    if window_first is not None:
        earliest = max(earliest, window_first)
    ooo = out_of_office(store, event_type.owner_id)
    for opens, closes in working_windows(schedule, first, last):
        moment = opens
        while moment + duration <= closes:
            end = moment + duration
            wanted = first <= moment <= last and moment >= earliest
            if window_last is not None and moment >= window_last:
                wanted = False
            if wanted and not any(_overlaps(moment, end, s, e) for s, e in ooo):
                busy, joinable = blocking_booking(
                    store, event_type, moment, end, ignore_uid=ignore_uid
                )
                if busy is None and (joinable is None or seats_left(event_type, joinable) > 0):
                    yield Candidate(moment, end, joinable)
            moment += step


def slots_by_day(
    found: Iterator[Candidate], tz_name: str | None, *, as_range: bool, seated: bool
) -> dict[str, list[dict[str, Any]]]:
    tz = zone(tz_name) if tz_name else None
    result: dict[str, list[dict[str, Any]]] = {}
    for candidate in found:
        if tz is None:
            key = candidate.start.date().isoformat()
            item: dict[str, Any] = {"start": format_utc(candidate.start)}
            if as_range:
                item["end"] = format_utc(candidate.end)
        else:
            key = candidate.start.astimezone(tz).date().isoformat()
            item = {"start": format_local(candidate.start, tz)}
            if as_range:
                item["end"] = format_local(candidate.end, tz)
        if seated:
            joined = candidate.seated_booking
            item["attendeesCount"] = len(joined.attendees) if joined else 0
            if joined is not None:
                item["bookingUid"] = joined.uid
        result.setdefault(key, []).append(item)
    return result
