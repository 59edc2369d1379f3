"""Status guards: no cancel, reschedule, confirm or decline that Cal.com would refuse anyway
(or, for a decline, make again).

Before a cancel-booking, reschedule-booking, confirm-booking or decline-booking request is sent,
`StatusGuard.check` learns the booking's status — from the caller when the ledger
knows it, else from ``GET /v2/bookings/{uid}`` — and decides:

======================  ========================  =====================================
change                  booking status            decision
======================  ========================  =====================================
any                     unknown uid (404)         rejected: Cal.com does not know it
confirm                 pending                   sent
confirm                 accepted                  already done: "already confirmed"
confirm                 cancelled / rejected      rejected: only pending can be confirmed
decline                 pending                   sent
decline                 rejected                  already done: "already declined"
decline                 accepted / cancelled      rejected: only pending can be declined
reschedule              pending / accepted        sent
reschedule              cancelled / rejected      rejected (names the new uid when the
                                                  booking was itself rescheduled)
cancel                  pending / accepted        sent
cancel                  cancelled                 already done: "already cancelled"
cancel                  rejected                  already done: "already declined"
cancel                  cancelled by a reschedule rejected: cancel the new uid instead
======================  ========================  =====================================

"Already done" means the state the record asks for already holds in Cal.com: the
record ends as skipped, with that reason, and nothing is sent. A recurring series'
uid (Cal.com answers with every occurrence) is judged only when all occurrences share
one status; otherwise the request is sent and Cal.com decides. So is a request whose
booking could not be looked up (no answer after the retries, or a refusal other than
401/404); a 401 raises CalcomReadError, since the run cannot go on with that key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from calsink.calcom.client import CalcomReader, CalcomReadError
from calsink.presend import AlreadyDone
from calsink.records import Problem, Rejection, Request

Change = Literal["cancel", "reschedule", "confirm", "decline"]
GUARDED: tuple[Change, ...] = ("cancel", "reschedule", "confirm", "decline")


@dataclass(frozen=True, slots=True)
class Refused:
    """Why the change cannot be made (becomes a Rejection)."""

    expected: str
    found: str
    hint: str | None = None


Decision = AlreadyDone | Refused | None


def decide(change: Change, uid: str, booking: dict[str, Any] | None) -> Decision:
    """The guard's decision for ``change`` of ``booking`` (None: Cal.com does not know it)."""
    if booking is None:
        return Refused("the uid of a booking in Cal.com", f"{uid!r}, which Cal.com does not know")
    status = str(booking.get("status") or "")
    moved_to = booking.get("rescheduledToUid")
    if change == "confirm":
        if status == "pending":
            return None
        if status == "accepted":
            return AlreadyDone(f"booking {uid} is already confirmed (accepted)", status)
        if status in ("cancelled", "rejected"):
            word = "declined" if status == "rejected" else "cancelled"
            return Refused(
                "a pending booking (only those can be confirmed)",
                f"booking {uid}, which is {word} ({status})",
            )
        return None
    if change == "decline":
        return _decline(uid, status)
    if change == "reschedule":
        if status not in ("cancelled", "rejected"):
            return None
        if moved_to:
            return Refused(
                "a booking that is not cancelled",
                f"booking {uid}, which was already rescheduled to {moved_to}",
                f"reschedule {moved_to} instead",
            )
        word = "declined" if status == "rejected" else "cancelled"
        return Refused(
            "a booking that is not cancelled or declined",
            f"booking {uid}, which is {word} ({status})",
            "a cancelled booking cannot be rescheduled; create a new booking instead",
        )
    if status == "cancelled" and moved_to:
        return Refused(
            "a booking that is still on the calendar",
            f"booking {uid}, which was rescheduled to {moved_to}",
            f"cancel {moved_to} to cancel the meeting",
        )
    if status == "cancelled":
        return AlreadyDone(f"booking {uid} is already cancelled", status)
    if status == "rejected":
        return AlreadyDone(f"booking {uid} was declined (rejected); nothing to cancel", status)
    return None


def _decline(uid: str, status: str) -> Decision:
    """Cal.com declines a declined booking again (and tells the attendee again), and turns a
    cancelled one into a declined one: only a pending booking is sent."""
    if status == "rejected":
        return AlreadyDone(f"booking {uid} is already declined (rejected)", status)
    if status in ("accepted", "cancelled"):
        word = "confirmed" if status == "accepted" else "cancelled"
        return Refused(
            "a pending booking (only those can be declined)",
            f"booking {uid}, which is {word} ({status})",
            "cancel it instead" if status == "accepted" else None,
        )
    return None


def _booking_view(data: Any) -> dict[str, Any] | None:
    """One booking, or a recurring series that agrees on its status; else a neutral view."""
    if isinstance(data, dict):
        return data
    if isinstance(data, list):
        bookings = [b for b in data if isinstance(b, dict)]
        if not bookings:
            return None
        statuses = {b.get("status") for b in bookings}
        moved = {b.get("rescheduledToUid") for b in bookings}
        if len(statuses) == 1 and len(moved) == 1:
            return bookings[0]
        return {"status": "mixed"}
    return None


class StatusGuard:
    """Checks cancel, reschedule, confirm and decline requests against the booking's status."""

    def __init__(self, reader: CalcomReader) -> None:
        self.reader = reader
        self.look_ups = 0
        self.unchecked = 0

    async def check(
        self, request: Request, known_status: str | None = None
    ) -> Rejection | AlreadyDone | None:
        """A Rejection, `AlreadyDone` (skip with its reason), or None to send the request.

        ``known_status`` is the booking's status when the caller (the ledger) knows it;
        then Cal.com is not asked. Requests of other templates pass (None).
        """
        action = request.action
        if action.change not in GUARDED or action.target is None:
            return None
        change: Change = action.change
        uid = action.target
        if known_status is not None:
            booking: dict[str, Any] | None = {"status": known_status}
        else:
            self.look_ups += 1
            try:
                booking = _booking_view(await self.reader.booking(uid))
            except CalcomReadError as exc:
                if exc.auth_failed:
                    raise
                self.unchecked += 1  # Cal.com could not be asked: send, and let it decide
                return None
        decision = decide(change, uid, booking)
        if isinstance(decision, Refused):
            record = request.records[0] if request.records else None
            problem = Problem("uid", decision.expected, decision.found, decision.hint)
            return Rejection(request.position, (problem,), record)
        return decision
