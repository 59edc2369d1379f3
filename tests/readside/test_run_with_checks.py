"""`calsink run` asks Cal.com first: taken slots and bookings in the wrong state never get sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from support.sandbox import SandboxHandle

from .helpers import KEY_ENV, book, calsink


def write_flow(tmp: Path, sandbox: SandboxHandle, body: str, rows: list[dict[str, Any]]) -> Path:
    data = tmp / "rows.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    flow = tmp / "flow.yaml"
    flow.write_text(
        f"version: 1\nname: checked\nsource: {{path: {data}}}\n{body}"
        f"ledger: {tmp / 'ledger.db'}\ndead_letters: {tmp / 'dead.jsonl'}\n"
        f"responses: {{jsonl: {tmp / 'responses.jsonl'}}}\n"
    )
    return flow


def posts_to(sandbox: SandboxHandle, suffix: str) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests() if r["method"] == "POST" and r["path"].endswith(suffix)]


def test_check_availability_books_the_free_slot_and_never_sends_the_taken_one(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    book(sandbox, "2030-01-07T14:00:00Z", email="first@example.com")
    sandbox.clear_requests()
    flow = write_flow(
        tmp_path,
        sandbox,
        f"destination:\n  api_key_env: {KEY_ENV}\n  base_url: {sandbox.url}\n"
        "  template: create-booking\n  check_availability: true\n",
        [
            {
                "start": "2030-01-07T14:00:00Z",
                "eventTypeId": 1,
                "attendee": {"name": "Taken", "email": "taken@example.com", "timeZone": "UTC"},
            },
            {
                "start": "2030-01-07T15:00:00Z",
                "eventTypeId": 1,
                "attendee": {"name": "Free", "email": "free@example.com", "timeZone": "UTC"},
            },
        ],
    )
    result = calsink("run", str(flow), "--json", sandbox=sandbox)
    assert result.returncode == 1, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["delivered"], summary["rejected"]) == (1, 1)

    booking_posts = [r for r in posts_to(sandbox, "/v2/bookings")]
    assert len(booking_posts) == 1
    assert booking_posts[0]["json"]["attendee"]["email"] == "free@example.com"
    letters = [json.loads(line) for line in (tmp_path / "dead.jsonl").read_text().splitlines()]
    assert len(letters) == 1
    assert "slot not available" in letters[0]["reason"]
    assert "2030-01-07T14:30:00Z" in letters[0]["reason"]  # the nearest free slot is named


def test_a_confirm_flow_over_pending_and_accepted_bookings_confirms_only_the_pending(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    pending = [book(sandbox, f"2030-01-0{d}T15:00:00Z", event_type=2) for d in (7, 8)]
    accepted = [book(sandbox, f"2030-01-0{d}T16:00:00Z", event_type=1) for d in (7, 8)]
    assert {b["status"] for b in pending} == {"pending"}
    sandbox.clear_requests()
    flow = write_flow(
        tmp_path,
        sandbox,
        f"destination:\n  api_key_env: {KEY_ENV}\n  base_url: {sandbox.url}\n"
        "  template: confirm-booking\n  params: {uid: '{uid}'}\n",
        [{"uid": b["uid"]} for b in [*pending, *accepted]],
    )
    result = calsink("run", str(flow), "--json", sandbox=sandbox)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["delivered"], summary["skipped"]) == (2, 2)
    confirmed = {r["path"].split("/")[3] for r in posts_to(sandbox, "/confirm")}
    assert confirmed == {b["uid"] for b in pending}
    statuses = {b["uid"]: b["status"] for b in sandbox.state()["bookings"]}
    assert all(statuses[b["uid"]] == "accepted" for b in [*pending, *accepted])


def test_a_flow_reads_its_records_from_cal_com_and_cancels_one_attendees_bookings(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    mine = [book(sandbox, f"2030-01-0{d}T17:00:00Z", email="leaver@example.com") for d in (7, 8)]
    other = book(sandbox, "2030-01-09T17:00:00Z", email="stayer@example.com")
    flow = tmp_path / "cancel.yaml"
    flow.write_text(
        "version: 1\nname: cancel-leaver\n"
        "source: {calcom: bookings, filters: {attendee_email: leaver@example.com}}\n"
        "transform:\n  map:\n    uid: '{uid}'\n    cancellationReason: \"'left the company'\"\n"
        f"destination:\n  api_key_env: {KEY_ENV}\n  base_url: {sandbox.url}\n"
        "  template: cancel-booking\n  params: {uid: '{uid}'}\n"
        f"ledger: {tmp_path / 'ledger.db'}\ndead_letters: {tmp_path / 'dead.jsonl'}\n"
    )
    result = calsink("run", str(flow), "--json", "--yes", sandbox=sandbox)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["delivered"] == 2
    statuses = {b["uid"]: b["status"] for b in sandbox.state()["bookings"]}
    assert [statuses[b["uid"]] for b in mine] == ["cancelled", "cancelled"]
    assert statuses[other["uid"]] == "accepted"
