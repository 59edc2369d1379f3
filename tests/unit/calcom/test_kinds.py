"""`calsink source KIND`: what the sandbox holds, as JSON Lines, over a real socket."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from tests.readside.helpers import KEY_ENV, book, calsink, source_args

from calsink.calcom.kinds import CalcomSourceError, FilterError, open_calcom_source
from calsink.flow import SourceSettings
from support.sandbox import SandboxHandle

pytestmark = pytest.mark.e2e


def query(logged: dict) -> dict[str, str]:
    return dict(parse_qsl(logged["query"]))


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_bookings_are_listed_with_their_statuses(sandbox: SandboxHandle) -> None:
    accepted = book(sandbox, "2030-01-07T14:00:00Z", event_type=1)
    pending = book(sandbox, "2030-01-07T15:00:00Z", event_type=2, email="bo@example.com")
    cancelled = book(sandbox, "2030-01-07T16:00:00Z", event_type=1, email="cy@example.com")
    assert (
        sandbox.call(
            "POST", f"/v2/bookings/{cancelled['uid']}/cancel", {"cancellationReason": "gone"}
        ).status
        == 200
    )

    result = calsink(*source_args(sandbox, "bookings"), sandbox=sandbox)

    assert result.returncode == 0, result.stderr
    listed = {item["uid"]: item["status"] for item in lines(result.stdout)}
    assert listed == {
        accepted["uid"]: "accepted",
        pending["uid"]: "pending",
        cancelled["uid"]: "cancelled",
    }
    assert "read 3 bookings record(s)" in result.stderr
    assert sandbox.api_key not in result.stdout + result.stderr


def test_booking_filters_reach_cal_com_and_booking_status_is_applied_by_calsink(
    sandbox: SandboxHandle,
) -> None:
    book(sandbox, "2030-01-07T14:00:00Z", event_type=1, email="ana@example.com")
    wanted = book(sandbox, "2030-01-07T15:00:00Z", event_type=2, email="ana@example.com")
    book(sandbox, "2030-01-07T16:00:00Z", event_type=2, email="bo@example.com")
    book(sandbox, "2030-01-08T15:00:00Z", event_type=2, email="ana@example.com")
    sandbox.clear_requests()

    result = calsink(
        *source_args(
            sandbox,
            "bookings",
            "--attendee-email",
            "ana@example.com",
            "--booking-status",
            "pending",
            "--before",
            "2030-01-07T23:59:59Z",
            "--filter",
            "eventTypeId=2",
        ),
        sandbox=sandbox,
    )

    assert result.returncode == 0, result.stderr
    assert [item["uid"] for item in lines(result.stdout)] == [wanted["uid"]]
    (sent,) = [query(r) for r in sandbox.requests() if r["path"] == "/v2/bookings"]
    assert sent["attendeeEmail"] == "ana@example.com"
    assert sent["eventTypeId"] == "2"
    assert sent["beforeEnd"] == "2030-01-07T23:59:59Z"
    assert "bookingStatus" not in sent and "booking_status" not in sent


@pytest.mark.slow
def test_bookings_are_read_to_the_last_page(sandbox: SandboxHandle, tmp_path: Path) -> None:
    first_day = datetime(2030, 1, 7, 14, tzinfo=UTC)
    made = set()
    for day in range(14):  # two working weeks, 12 bookings a working day
        moment = first_day + timedelta(days=day)
        if moment.weekday() >= 5:
            continue
        for slot in range(12):
            start = (moment + timedelta(minutes=30 * slot)).strftime("%Y-%m-%dT%H:%M:%SZ")
            made.add(book(sandbox, start, email=f"p{day}-{slot}@example.com")["uid"])
    assert len(made) == 120
    sandbox.clear_requests()
    out = tmp_path / "bookings.jsonl"

    result = calsink(*source_args(sandbox, "bookings", "-o", str(out)), sandbox=sandbox)

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert {item["uid"] for item in lines(out.read_text())} == made
    pages = [query(r) for r in sandbox.requests() if r["path"] == "/v2/bookings"]
    assert [(p["take"], p["skip"]) for p in pages] == [("100", "0"), ("100", "100")]


def test_every_kind_lists_what_the_sandbox_holds(sandbox: SandboxHandle) -> None:
    hook = sandbox.call(
        "POST",
        "/v2/webhooks",
        {
            "subscriberUrl": "https://hooks.example.org/cal",
            "triggers": ["BOOKING_CREATED"],
            "active": True,
        },
    ).data
    ooo = sandbox.call(
        "POST",
        "/v2/me/ooo",
        {
            "start": "2030-02-04T00:00:00.000Z",
            "end": "2030-02-06T00:00:00.000Z",
            "reason": "vacation",
        },
    ).data
    state = sandbox.state()

    def read(kind: str, *more: str) -> list[dict]:
        result = calsink(*source_args(sandbox, kind, *more), sandbox=sandbox)
        assert result.returncode == 0, result.stderr
        return lines(result.stdout)

    assert read("me") == [sandbox.call("GET", "/v2/me").data]
    event_types = read("event-types")
    assert [e["slug"] for e in event_types] == [
        "30min",
        "intro-call",
        "weekly-check-in",
        "workshop",
    ]
    assert len(event_types) == len(state["event_types"])
    assert [s["name"] for s in read("schedules")] == ["Working hours"]
    assert [w["id"] for w in read("webhooks")] == [hook["id"]]
    assert [o["id"] for o in read("ooo")] == [ooo["id"]]


def test_slots_come_one_per_line_and_leave_out_the_taken_one(sandbox: SandboxHandle) -> None:
    book(sandbox, "2030-01-07T15:00:00Z", event_type=1)

    result = calsink(
        *source_args(
            sandbox,
            "slots",
            "--event-type-id",
            "1",
            "--start",
            "2030-01-07",
            "--end",
            "2030-01-07",
            "--time-zone",
            "UTC",
        ),
        sandbox=sandbox,
    )

    assert result.returncode == 0, result.stderr
    slots = lines(result.stdout)
    starts = [s["start"][:16] for s in slots]
    assert "2030-01-07T14:30" in starts and "2030-01-07T15:30" in starts
    assert "2030-01-07T15:00" not in starts
    assert all(s["eventTypeId"] == 1 and s["date"] == "2030-01-07" for s in slots)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["bookings", "--filter", "colour=red"],
            "unknown filter 'colour'; bookings filters: status",
        ),
        (["bookings", "--status", "pending"], "one or more of upcoming, recurring, past"),
        (["bookings", "--event-type-id", "two"], "event_type_id expects a whole number"),
        (["slots", "--event-type-id", "1", "--start", "2030-01-07"], "slots needs end"),
        (["schedules", "--filter", "x=1"], "schedules takes no filters"),
    ],
)
def test_bad_filters_are_refused_before_any_request(
    sandbox: SandboxHandle, args: list[str], message: str
) -> None:
    sandbox.clear_requests()

    result = calsink(*source_args(sandbox, *args), sandbox=sandbox)

    assert result.returncode == 2
    assert message in result.stderr
    assert sandbox.requests() == []


def test_a_wrong_key_aborts_with_exit_3_and_never_shows_the_key(sandbox: SandboxHandle) -> None:
    wrong = "cal_test_wrong_key_123456"
    result = calsink(*source_args(sandbox, "bookings"), sandbox=sandbox, api_key=wrong)

    assert result.returncode == 3
    assert "401" in result.stderr
    assert wrong not in result.stdout + result.stderr


def test_a_flow_source_yields_positioned_records(sandbox: SandboxHandle) -> None:
    pending = book(sandbox, "2030-01-07T15:00:00Z", event_type=2, email="ana@example.com")
    book(sandbox, "2030-01-07T16:00:00Z", event_type=1, email="ana@example.com")
    book(sandbox, "2030-01-07T17:00:00Z", event_type=2, email="bo@example.com")
    settings = SourceSettings(
        calcom="bookings",
        filters={"attendee_email": "ana@example.com", "bookingStatus": ["pending"]},
    )

    items = list(open_calcom_source(settings, api_key=sandbox.api_key, base_url=sandbox.url))

    assert [(str(i.position), i.record["uid"]) for i in items if i.record] == [
        ("calcom:bookings[0]", pending["uid"])
    ]


def test_a_flow_source_refuses_bad_filters_at_once_and_read_errors_on_first_use(
    sandbox: SandboxHandle,
) -> None:
    with pytest.raises(FilterError, match="unknown filter 'attendee'; bookings filters: status"):
        open_calcom_source(
            SourceSettings(calcom="bookings", filters={"attendee": "x"}),
            api_key=sandbox.api_key,
            base_url=sandbox.url,
        )
    items = open_calcom_source(
        SourceSettings(calcom="bookings"), api_key="cal_test_nope", base_url=sandbox.url
    )
    with pytest.raises(CalcomSourceError, match="401") as caught:
        next(iter(items))
    assert caught.value.status == 401


def test_cancel_every_booking_of_an_attendee_is_one_flow(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    from calsink.flow import load_flow
    from calsink.runner import run_flow

    ana = [
        book(sandbox, f"2030-01-07T{h}:00:00Z", email="ana@example.com")["uid"] for h in (14, 15)
    ]
    other = book(sandbox, "2030-01-07T16:00:00Z", email="bo@example.com")["uid"]
    flow_file = tmp_path / "cancel-ana.yaml"
    flow_file.write_text(
        "version: 1\nname: cancel-ana\n"
        "source:\n  calcom: bookings\n  filters: {attendee_email: ana@example.com, "
        "status: upcoming}\n"
        "transform:\n  map:\n    uid: '{uid}'\n    cancellationReason: \"'plans changed'\"\n"
        f"destination:\n  base_url: {sandbox.url}\n  template: cancel-booking\n"
        "  params: {uid: '{uid}'}\n  unknown_fields: drop\n"
        "delivery: {allow_destructive: true}\n"
        f"ledger: {tmp_path / 'ledger.db'}\ndead_letters: {tmp_path / 'dead.jsonl'}\n"
    )
    loaded = load_flow(flow_file)
    items = open_calcom_source(loaded.flow.source, api_key=sandbox.api_key, base_url=sandbox.url)

    report = run_flow(loaded, api_key=sandbox.api_key, items=items)

    assert report.summary.to_json()["delivered"] == 2, report.to_json()
    statuses = {b["uid"]: b["status"] for b in sandbox.state()["bookings"]}
    assert statuses == {ana[0]: "cancelled", ana[1]: "cancelled", other: "accepted"}


def test_after_the_demo_source_bookings_lists_its_bookings_and_statuses(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    demo = calsink(
        "demo",
        "--sandbox-url",
        sandbox.url,
        "--api-key-env",
        KEY_ENV,
        "--dir",
        str(tmp_path / "demo"),
        "--json",
        sandbox=sandbox,
    )
    assert demo.returncode == 0, demo.stderr

    result = calsink(*source_args(sandbox, "bookings"), sandbox=sandbox)

    assert result.returncode == 0, result.stderr
    listed = {item["uid"]: item["status"] for item in lines(result.stdout)}
    held = {b["uid"]: b["status"] for b in sandbox.state()["bookings"]}
    assert listed == held
    assert {"accepted", "cancelled"} <= set(listed.values())
