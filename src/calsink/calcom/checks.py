"""The checks a run makes before sending a request: status guards, then availability.

`PreSendChecks` is the `calsink.presend.PreSendCheck` the delivery engine is given: its
`check` answers a `Rejection` (never send; the record ends rejected), `AlreadyDone`
(never send; the record ends skipped with that reason) or None (send). Guards come
first, so that a reschedule of a cancelled booking is refused without a slot look-up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from calsink.calcom.availability import AvailabilityChecker
from calsink.calcom.client import CalcomReader, CalcomReadError
from calsink.calcom.guards import GUARDED, StatusGuard
from calsink.http.ratelimit import RateLimiter
from calsink.http.transport import Transport
from calsink.presend import AlreadyDone, KeyRefused
from calsink.records import Rejection, Request

__all__ = ["AlreadyDone", "PreSendChecks"]


class PreSendChecks:
    """Status guards (cancel, reschedule, confirm, decline) and, if asked, availability checks."""

    def __init__(
        self, reader: CalcomReader, *, check_availability: bool, guard_status: bool = True
    ) -> None:
        self.reader = reader
        self.guard = StatusGuard(reader) if guard_status else None
        self.availability = AvailabilityChecker(reader) if check_availability else None

    @classmethod
    def for_run(
        cls,
        base_url: str,
        transport: Transport,
        limiter: RateLimiter,
        *,
        check_availability: bool,
        guard_status: bool = True,
        max_attempts: int = 6,
        account: Callable[[], str | None] | None = None,
        bases: Mapping[str, str | None] | None = None,
    ) -> PreSendChecks:
        """Checks that share a run's transport (and key) and rate limiter; with many
        accounts, each record's at its credential's base URL (`CalcomReader.sharing`)."""
        reader = CalcomReader.sharing(
            base_url, transport, limiter, max_attempts=max_attempts, account=account, bases=bases
        )
        return cls(reader, check_availability=check_availability, guard_status=guard_status)

    def applies_to(self, request: Request) -> bool:
        """Whether `check` may ask Cal.com anything about this request."""
        action = request.action
        guarded = self.guard is not None and action.change in GUARDED
        checked = self.availability is not None and (
            action.creates == "booking" or action.change == "reschedule"
        )
        return guarded or checked

    async def check(
        self, request: Request, known_status: str | None = None
    ) -> Rejection | AlreadyDone | None:
        """Rejection, AlreadyDone, or None to send. Raises KeyRefused when Cal.com refuses
        the key; other failed look-ups let the request go."""
        try:
            if self.guard is not None:
                verdict = await self.guard.check(request, known_status)
                if verdict is not None:
                    return verdict
            if self.availability is not None:
                return await self.availability.check(request)
        except CalcomReadError as exc:
            raise KeyRefused(str(exc)) from exc
        return None
