"""When a host can be booked: schedule windows, minus out-of-office days, minus busy time.

Busy time is every accepted or pending booking of the host, widened by its buffers;
a seated booking with seats left is not busy for its own event type at its own start.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from calsink.sandbox.model import Booking, EventType, Schedule, Store
from calsink.sandbox.timeutil import WEEKDAYS, format_local, format_utc, minutes_of, zone

DEFAULT_MINIMUM_NOTICE_MINUTES = 120

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


def blocking_booking(
    store: Store,
    event_type: EventType,
    start: datetime,
    end: datetime,
    *,
    ignore_uid: str | None = None,
) -> tuple[Booking | None, Booking | None]:
    """(a booking that makes the time busy, a seated booking of this slot that can be joined)."""
    busy_from = start - timedelta(minutes=event_type.before_buffer)
    busy_until = end + timedelta(minutes=event_type.after_buffer)
    joinable: Booking | None = None
    for booking in store.bookings_near(event_type.owner_id, busy_from, busy_until):
        if not booking.active or booking.uid == ignore_uid:
            continue
        if not _overlaps(busy_from, busy_until, booking.busy_from(), booking.busy_until()):
            continue
        if booking.seated and booking.event_type_id == event_type.id and booking.start == start:
            seats = event_type.seats or 0
            if len(booking.attendees) < seats:
                joinable = booking
                continue
        return booking, None
    return None, joinable


def _within(windows: list[Window], start: datetime, end: datetime) -> bool:
    return any(opens <= start and end <= closes for opens, closes in windows)


def _in_ooo(store: Store, user_id: int, start: datetime, end: datetime) -> bool:
    return any(_overlaps(start, end, s, e) for s, e in out_of_office(store, user_id))


def unavailable_reason(
    store: Store,
    event_type: EventType,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    ignore_uid: str | None = None,
) -> tuple[str | None, Booking | None]:
    """Why the time cannot be booked (None when it can) and a seated booking to join."""
    if start < now + minimum_notice(event_type):
        return "Attempting to book a meeting in the past or within the minimum notice.", None
    schedule = schedule_for(store, event_type)
    if schedule is None or not _within(working_windows(schedule, start, end), start, end):
        return "User either lacks availability at the time or is unavailable.", None
    if _in_ooo(store, event_type.owner_id, start, end):
        return "User is out of office at the requested time.", None
    busy, joinable = blocking_booking(store, event_type, start, end, ignore_uid=ignore_uid)
    if busy is not None:
        return (
            "User either lacks availability at the time or already has booking at the time.",
            None,
        )
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
    ooo = out_of_office(store, event_type.owner_id)
    for opens, closes in working_windows(schedule, first, last):
        moment = opens
        while moment + duration <= closes:
            end = moment + duration
            wanted = first <= moment <= last and moment >= earliest
            if wanted and not any(_overlaps(moment, end, s, e) for s, e in ooo):
                busy, joinable = blocking_booking(
                    store, event_type, moment, end, ignore_uid=ignore_uid
                )
                if busy is None:
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
