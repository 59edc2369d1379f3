"""calsink against upstream booking rules the sandbox now follows, through the real CLI.

GUESTS  apps/api/v2/src/platform/bookings/2024-08-13/controllers/booking-guests.controller.ts
        @0e907a82: @Throttle({name: "booking_guests_add", limit: 5, ttl: 60000}), counted by
        CustomThrottlerGuard (apps/api/v2/src/lib/throttler-guard.ts@42e7dc49) apart from the
        default budget.
NOTICE  packages/features/bookings/lib/handleNewBooking/validateRescheduleRestrictions.ts
        @b42e979c: 403 "Rescheduling is not allowed within the minimum notice period before
        the event" for anyone but the organizer.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from tests.adversarial.harness import cli, summary, write_flow
from tests.support.sandbox import SandboxHandle, running_sandbox

from calsink.sandbox.model import Booking, Store
from calsink.sandbox.seed import seeded_store

MONDAY_9AM = "2030-01-07T14:00:00Z"


def _booking(sandbox: SandboxHandle) -> str:
    body = {
        "start": MONDAY_9AM,
        "eventTypeId": 1,
        "attendee": {"name": "Ada", "email": "ada@example.com", "timeZone": "UTC"},
    }
    made = sandbox.call("POST", "/v2/bookings", body)
    assert made.status == 201, made.body
    return str(made.data["uid"])


def test_guests_throttled_5_a_minute_are_all_added_once(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """Seven add-guests records meet the route's own throttle (GUESTS): the run waits the
    429 out and adds every guest once (the sandbox's window shortened to 2 s)."""
    uid = _booking(sandbox)
    sandbox.set_rate_limit(1_000_000, window_s=2)
    records = [{"uid": uid, "email": f"g{index}@example.com"} for index in range(7)]
    (tmp_path / "guests.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    flow = write_flow(
        tmp_path,
        sandbox,
        source="guests.jsonl",
        template="add-guests",
        transform='transform: {map: {guests: [{email: "{email}"}]}}',
        key="[email]",
    )
    result = cli("run", str(flow), "--json", "--yes", key=sandbox.api_key, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    counts = summary(result)
    assert (counts["delivered"], counts["rejected"], counts["dead"]) == (7, 0, 0), counts
    posts = [r for r in sandbox.requests() if r["path"].endswith("/guests")]
    assert any(r["status"] == 429 for r in posts), "the route's throttle was never met"
    assert sum(1 for r in posts if r["status"] == 200) == 7
    booking = sandbox.call("GET", f"/v2/bookings/{uid}").data
    assert sorted(booking["guests"]) == sorted(r["email"] for r in records)


def _state_with_bookings_soon(path: Path, uids: list[str]) -> None:
    """Event type 1 with a 2-hour minimum reschedule notice, and a booking of it starting
    in 30 minutes for each uid."""
    store = seeded_store()
    store.event_types[1].spec["disableRescheduling"] = {"minutesBefore": 120}
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=30)
    for uid in uids:
        store.add_booking(_soon(store, uid, start))
    path.write_bytes(orjson.dumps(store.to_json(), option=orjson.OPT_UTC_Z))


def _soon(store: Store, uid: str, start: datetime) -> Booking:
    attendee = {"name": "Ada", "email": "ada@example.com", "timeZone": "UTC", "language": "en"}
    return Booking(
        id=store.next_id("booking"),
        uid=uid,
        event_type_id=1,
        host_id=1,
        title="30 Minute Meeting between Demo User and Ada",
        description="",
        status="accepted",
        start=start,
        end=start + timedelta(minutes=30),
        attendees=[attendee],
        guests=[],
        location="integrations:daily",
        metadata={},
        responses={"name": "Ada", "email": "ada@example.com"},
        created_at=start - timedelta(days=2),
        updated_at=start - timedelta(days=2),
        ics_uid=f"{uid}@sandbox.calsink",
    )


def test_reschedules_within_the_minimum_notice_fail_with_upstreams_reason_not_as_a_key_problem(
    tmp_path: Path,
) -> None:
    """NOTICE: a reschedule a teammate asks for (rescheduledBy) within the notice is refused
    403; each record ends failed (refused by Cal.com) with that reason, sent once and not
    retried, and the run is not stopped as if the API key lacked a permission."""
    uids = ["bk_soon_1", "bk_soon_2", "bk_soon_3"]
    state = tmp_path / "sandbox-state.json"
    _state_with_bookings_soon(state, uids)
    records = [{"uid": uid, "start": MONDAY_9AM, "by": "teammate@example.com"} for uid in uids]
    (tmp_path / "moves.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    with running_sandbox("--rate-limit", "1000000", "--state", str(state)) as sandbox:
        flow = write_flow(
            tmp_path,
            sandbox,
            source="moves.jsonl",
            template="reschedule-booking",
            transform='transform: {map: {start: "{start}", rescheduledBy: "{by}"}}',
            key="[uid]",
        )
        result = cli("run", str(flow), "--json", "--yes", key=sandbox.api_key, cwd=tmp_path)
        counts = summary(result)
        outcome = (counts["delivered"], counts["failed"], counts["dead"], counts["aborted"])
        assert outcome == (0, 3, 0, None), result.stdout + result.stderr
        posts = [r for r in sandbox.requests() if r["path"].endswith("/reschedule")]
        assert len(posts) == 3
        assert {b["status"] for b in sandbox.state()["bookings"]} == {"accepted"}
    assert "lacks the permission" not in result.stdout + result.stderr
    lines = (tmp_path / "out" / "dead-letters.jsonl").read_text().splitlines()
    reason = "Rescheduling is not allowed within the minimum notice period before the event"
    assert len(lines) == 3 and all(reason in line for line in lines)
