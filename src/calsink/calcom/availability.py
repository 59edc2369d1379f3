"""``check_availability: true``: ask /v2/slots before a booking is created or moved.

For each create-booking or reschedule-booking request, `AvailabilityChecker.check`
looks up the free slots of the booking's event type on the UTC day of the record's
``start`` — once per (event type, duration, day) in a run, however many records fall
on that day, and concurrent checks of one day share one request. A start that is not
among the free slots becomes a rejection naming the nearest free slots, and the
booking request is never sent.

A reschedule's own current time counts as free for it (Cal.com's
``bookingUidToReschedule``): when the shared day does not list the new start, the day
is asked again for that booking alone before the record is rejected.

When Cal.com cannot be asked (no answer after the retries), the request goes out
unchecked and Cal.com decides; `AvailabilityChecker.unchecked` counts those.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from calsink.calcom.client import CalcomReader, CalcomReadError
from calsink.instants import normalise_instant
from calsink.records import Problem, Rejection, Request

NEAREST = 3
SEARCH_DAYS = 7


def instant(value: Any) -> datetime | None:
    """``value`` as an aware UTC datetime, or None when it is not an unambiguous instant."""
    try:
        text = normalise_instant(value)
    except (ValueError, TypeError):
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def show(moment: datetime) -> str:
    return normalise_instant(moment)


class _Unbookable(Exception):
    """Cal.com refused the slot look-up itself (unknown event type, bad parameters)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class AvailabilityChecker:
    """Checks create-booking and reschedule-booking requests against /v2/slots.

    One checker serves one run; it caches what it learns for that run only.
    """

    def __init__(
        self, reader: CalcomReader, *, nearest: int = NEAREST, search_days: int = SEARCH_DAYS
    ) -> None:
        self.reader = reader
        self.nearest = nearest
        self.search_days = search_days
        self._cache: dict[Hashable, asyncio.Future[Any]] = {}
        self.slot_requests = 0
        self.unchecked = 0

    async def check(self, request: Request) -> Rejection | None:
        """A Rejection when the record's start cannot be booked; None to send it."""
        action = request.action
        payload = request.payload
        if not isinstance(payload, dict) or payload.get("allowConflicts") is True:
            return None
        start = instant(payload.get("start"))
        if start is None:
            return None
        try:
            if action.creates == "booking":
                return await self._check_create(request, payload, start)
            if action.change == "reschedule" and action.target is not None:
                return await self._check_reschedule(request, action.target, start)
        except CalcomReadError as exc:
            if exc.auth_failed:
                raise
            self.unchecked += 1
        return None

    # -- the two templates -------------------------------------------------------------------

    async def _check_create(
        self, request: Request, payload: dict[str, Any], start: datetime
    ) -> Rejection | None:
        if payload.get("eventTypeId") is not None:
            ident: tuple[tuple[str, str], ...] = (("eventTypeId", str(payload["eventTypeId"])),)
            label = f"event type {payload['eventTypeId']}"
        elif payload.get("eventTypeSlug") and (payload.get("username") or payload.get("teamSlug")):
            names = ("eventTypeSlug", "username", "teamSlug", "organizationSlug")
            ident = tuple((n, str(payload[n])) for n in names if payload.get(n))
            label = f"event type {payload['eventTypeSlug']!r}"
        else:
            return None
        duration = payload.get("lengthInMinutes")
        if duration is not None:
            ident += (("duration", str(duration)),)
        try:
            free = await self._day(ident, start.date())
        except _Unbookable as exc:
            return _reject(request, f"a bookable {label}", f"Cal.com's answer {exc.status}: {exc}")
        if start in free:
            return None
        return await self._refuse(request, ident, start, free, label)

    async def _check_reschedule(
        self, request: Request, uid: str, start: datetime
    ) -> Rejection | None:
        booking = await self._once(("booking", uid), lambda: self.reader.booking(uid))
        if isinstance(booking, list):
            booking = booking[0] if booking else None
        if not isinstance(booking, dict):
            return _reject(
                request, "the uid of a booking in Cal.com", f"{uid!r}, which Cal.com does not know"
            )
        event_type = booking.get("eventTypeId")
        if event_type is None and isinstance(booking.get("eventType"), dict):
            event_type = booking["eventType"].get("id")
        if event_type is None:
            return None
        ident: tuple[tuple[str, str], ...] = (("eventTypeId", str(event_type)),)
        if booking.get("duration"):
            ident += (("duration", str(booking["duration"])),)
        label = f"event type {event_type}"
        try:
            free = await self._day(ident, start.date())
            if start in free:
                return None
            own = (*ident, ("bookingUidToReschedule", uid))
            free_for_it = await self._day(own, start.date())
        except _Unbookable as exc:
            return _reject(request, f"a bookable {label}", f"Cal.com's answer {exc.status}: {exc}")
        if start in free_for_it:
            return None
        return await self._refuse(request, ident, start, free_for_it, label)

    # -- slots ------------------------------------------------------------------------------

    async def _refuse(
        self,
        request: Request,
        ident: tuple[tuple[str, str], ...],
        start: datetime,
        free: frozenset[datetime],
        label: str,
    ) -> Rejection:
        found = set(free)
        distance = 1
        while len(found) < self.nearest and distance <= self.search_days:
            for day in (
                start.date() + timedelta(days=distance),
                start.date() - timedelta(days=distance),
            ):
                try:
                    found |= await self._day(ident, day)
                except (_Unbookable, CalcomReadError):
                    continue
            distance += 1
        nearest = sorted(sorted(found, key=lambda s: (abs(s - start), s))[: self.nearest])
        hint = (
            "nearest free slots: " + ", ".join(show(s) for s in nearest)
            if nearest
            else f"no free slots within {self.search_days} days"
        )
        return _reject(
            request,
            f"a free slot of {label}",
            f"{show(start)}: slot not available",
            hint,
        )

    async def _day(self, ident: tuple[tuple[str, str], ...], day: date) -> frozenset[datetime]:
        """The free starts of one UTC day (cached for the run)."""
        return await self._once((ident, day), lambda: self._fetch_day(ident, day))  # type: ignore[no-any-return]

    async def _fetch_day(
        self, ident: tuple[tuple[str, str], ...], day: date
    ) -> frozenset[datetime]:
        first = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        params = {
            **dict(ident),
            "start": show(first),
            "end": show(first + timedelta(days=1) - timedelta(seconds=1)),
        }
        self.slot_requests += 1
        try:
            by_day = await self.reader.slots(params)
        except CalcomReadError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status not in (401, 429):
                raise _Unbookable(exc.status, str(exc).split(": ", 2)[-1]) from None
            raise
        starts = set()
        for slots in by_day.values():
            for slot in slots:
                moment = instant(slot.get("start"))
                if moment is not None:
                    starts.add(moment)
        return frozenset(starts)

    async def _once(self, key: Hashable, fetch: Callable[[], Awaitable[Any]]) -> Any:
        """``fetch()`` once per key and account per run; concurrent callers wait for the
        same answer."""
        key = (self.reader.account(), key)
        future = self._cache.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._cache[key] = future
            try:
                result = await fetch()
            except asyncio.CancelledError:
                del self._cache[key]
                future.cancel()
                raise
            except Exception as exc:
                future.set_exception(exc)
                future.exception()  # seen: every waiter, and this caller below, raise it
            else:
                future.set_result(result)
        return await future


def _reject(request: Request, expected: str, found: str, hint: str | None = None) -> Rejection:
    record = request.records[0] if request.records else None
    return Rejection(request.position, (Problem("start", expected, found, hint),), record)
