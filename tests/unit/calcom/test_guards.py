"""Status guards: cancel, reschedule and confirm only what Cal.com would accept."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tests.readside.helpers import book, render

from calsink.calcom.client import CalcomReader
from calsink.calcom.guards import StatusGuard, decide
from calsink.http.transport import Transport
from calsink.presend import AlreadyDone
from calsink.records import Rejection, Request
from support.sandbox import SandboxHandle

pytestmark = pytest.mark.e2e


def guard_all(
    sandbox: SandboxHandle, requests: list[Request], known: list[str | None] | None = None
) -> list[Any]:
    async def main() -> list[Any]:
        async with CalcomReader(sandbox.url, sandbox.api_key) as reader:
            guard = StatusGuard(reader)
            statuses = known or [None] * len(requests)
            return [await guard.check(r, s) for r, s in zip(requests, statuses, strict=True)]

    return asyncio.run(main())


def confirm(sandbox: SandboxHandle, uid: str) -> Request:
    return render(sandbox, "confirm-booking", {}, uid=uid)


def cancel(sandbox: SandboxHandle, uid: str) -> Request:
    return render(sandbox, "cancel-booking", {"cancellationReason": "lead lost"}, uid=uid)


def reschedule(sandbox: SandboxHandle, uid: str, start: str = "2030-01-09T15:00:00Z") -> Request:
    return render(sandbox, "reschedule-booking", {"start": start}, uid=uid)


def test_a_confirm_flow_over_pending_and_accepted_confirms_only_the_pending(
    sandbox: SandboxHandle,
) -> None:
    pending = [
        book(sandbox, f"2030-01-07T{h}:00:00Z", event_type=2, email=f"p{h}@example.com")["uid"]
        for h in (14, 15, 16)
    ]
    accepted = [
        book(sandbox, f"2030-01-08T{h}:00:00Z", event_type=1, email=f"a{h}@example.com")["uid"]
        for h in (14, 15)
    ]
    uids = [pending[0], accepted[0], pending[1], accepted[1], pending[2]]
    requests = [confirm(sandbox, uid) for uid in uids]
    sandbox.clear_requests()

    async def flow() -> list[Any]:
        """What the engine does with the guard wired in: check, then send or skip."""
        outcomes: list[Any] = []
        async with (
            CalcomReader(sandbox.url, sandbox.api_key) as reader,
            Transport(sandbox.api_key) as transport,
        ):
            guard = StatusGuard(reader)
            for request in requests:
                verdict = await guard.check(request, None)
                if verdict is None:
                    answer = await transport.send(
                        request.method, request.url, headers=request.headers, body=request.body
                    )
                    outcomes.append(answer.status)
                else:
                    outcomes.append(verdict)
        return outcomes

    outcomes = asyncio.run(flow())

    assert outcomes[0] == outcomes[2] == outcomes[4] == 200
    for index in (1, 3):
        assert isinstance(outcomes[index], AlreadyDone)
        assert outcomes[index].reason == f"booking {uids[index]} is already confirmed (accepted)"
    confirms = [r["path"] for r in sandbox.requests() if r["path"].endswith("/confirm")]
    assert sorted(confirms) == sorted(f"/v2/bookings/{uid}/confirm" for uid in pending)
    statuses = {b["uid"]: b["status"] for b in sandbox.state()["bookings"]}
    assert all(statuses[uid] == "accepted" for uid in pending + accepted)


def test_cancelled_rescheduled_declined_and_unknown_bookings(sandbox: SandboxHandle) -> None:
    live = book(sandbox, "2030-01-07T14:00:00Z", email="live@example.com")["uid"]
    gone = book(sandbox, "2030-01-07T15:00:00Z", email="gone@example.com")["uid"]
    assert (
        sandbox.call("POST", f"/v2/bookings/{gone}/cancel", {"cancellationReason": "gone"}).status
        == 200
    )
    moved = book(sandbox, "2030-01-07T16:00:00Z", email="moved@example.com")["uid"]
    answer = sandbox.call(
        "POST", f"/v2/bookings/{moved}/reschedule", {"start": "2030-01-08T16:00:00Z"}
    )
    assert answer.status == 201
    moved_to = answer.data["uid"]
    declined = book(sandbox, "2030-01-07T17:00:00Z", event_type=2, email="no@example.com")["uid"]
    assert sandbox.call("POST", f"/v2/bookings/{declined}/decline", {}).status == 200
    requests = [
        reschedule(sandbox, live),
        cancel(sandbox, live),
        reschedule(sandbox, gone),
        cancel(sandbox, gone),
        confirm(sandbox, gone),
        reschedule(sandbox, moved),
        cancel(sandbox, moved),
        confirm(sandbox, declined),
        cancel(sandbox, declined),
        cancel(sandbox, "no-such-uid"),
    ]

    found = guard_all(sandbox, requests)

    assert found[0] is None and found[1] is None
    assert isinstance(found[2], Rejection)
    assert found[2].reason == (
        "uid: expected a booking that is not cancelled or declined, found booking "
        f"{gone}, which is cancelled (cancelled) (a cancelled booking cannot be rescheduled; "
        "create a new booking instead)"
    )
    assert found[3] == AlreadyDone(f"booking {gone} is already cancelled", "cancelled")
    assert isinstance(found[4], Rejection) and "only those can be confirmed" in found[4].reason
    assert isinstance(found[5], Rejection) and f"reschedule {moved_to} instead" in found[5].reason
    assert isinstance(found[6], Rejection) and f"cancel {moved_to}" in found[6].reason
    assert isinstance(found[7], Rejection) and "declined" in found[7].reason
    assert isinstance(found[8], AlreadyDone) and "declined" in found[8].reason
    assert isinstance(found[9], Rejection) and "Cal.com does not know" in found[9].reason
    assert all(str(f.position) == "records.jsonl:1" for f in found if isinstance(f, Rejection))


def test_a_status_the_ledger_knows_is_not_asked_again(sandbox: SandboxHandle) -> None:
    sandbox.clear_requests()

    found = guard_all(
        sandbox,
        [confirm(sandbox, "known-1"), confirm(sandbox, "known-2"), cancel(sandbox, "known-3")],
        known=["pending", "accepted", "cancelled"],
    )

    assert found[0] is None
    assert isinstance(found[1], AlreadyDone) and isinstance(found[2], AlreadyDone)
    assert sandbox.requests() == []


def test_other_templates_pass_untouched(sandbox: SandboxHandle) -> None:
    record = {
        "start": "2030-01-07T14:00:00Z",
        "eventTypeId": 1,
        "attendee": {"name": "X", "email": "x@example.com", "timeZone": "UTC"},
    }
    sandbox.clear_requests()

    assert guard_all(sandbox, [render(sandbox, "create-booking", record)]) == [None]
    assert sandbox.requests() == []


@pytest.mark.parametrize(
    ("change", "status", "expected"),
    [
        ("confirm", "pending", "send"),
        ("confirm", "accepted", "already-done"),
        ("confirm", "cancelled", "refused"),
        ("confirm", "rejected", "refused"),
        ("reschedule", "pending", "send"),
        ("reschedule", "accepted", "send"),
        ("reschedule", "cancelled", "refused"),
        ("reschedule", "rejected", "refused"),
        ("cancel", "pending", "send"),
        ("cancel", "accepted", "send"),
        ("cancel", "cancelled", "already-done"),
        ("cancel", "rejected", "already-done"),
    ],
)
def test_decision_table(change: Any, status: str, expected: str) -> None:
    decision = decide(change, "bk1", {"status": status})
    kind = (
        "send"
        if decision is None
        else "already-done"
        if isinstance(decision, AlreadyDone)
        else "refused"
    )
    assert kind == expected
