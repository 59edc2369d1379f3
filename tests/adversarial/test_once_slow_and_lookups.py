"""Once-only when answers are slow, when a look-up could match another record, and when a
success comes back unreadable. The real `calsink run` sends to the sandbox; the sandbox's
state (one resource per record) and the identifiers a later flow can use are the judge."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from tests.adversarial.harness import (
    BOOKING_MAP,
    assert_adds_up,
    booked_emails,
    cli,
    dead_letters,
    enveloped,
    lead_rows,
    responses,
    summary,
    wait_until_handled,
    write_flow,
    write_leads,
)
from tests.adversarial.test_destructive import CANCEL, book, cancelled
from tests.adversarial.test_interruptions import TEMPLATES
from tests.support.sandbox import SandboxHandle

pytestmark = pytest.mark.e2e

SLOW = 3  # records per template; the first two answers come after the client's timeout
PATHS = {
    "create-booking": "/v2/bookings",
    "reschedule-booking": "/v2/bookings/{uid}/reschedule",
    "create-event-type": "/v2/event-types",
    "create-schedule": "/v2/schedules",
    "create-webhook": "/v2/webhooks",
    "create-out-of-office": "/v2/me/ooo",
}
CONFLICTS_ALLOWED = BOOKING_MAP + "    allowConflicts: true\n"


def write_records(folder: Path, records: list[dict[str, Any]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "leads.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


def with_params(folder: Path, template: str, params: str) -> None:
    """Give the flow's destination path parameters (``write_flow`` writes none)."""
    flow = folder / "flow.yaml"
    text = flow.read_text().replace(
        f"  template: {template}", f"  template: {template}\n  params: {params}"
    )
    flow.write_text(text)


def slow_flow(sandbox: SandboxHandle, folder: Path, template: str) -> Any:
    """A flow of SLOW records of ``template``; returns how to count each record's effects."""
    delivery: dict[str, object] = {"timeout_s": 0.5, "max_attempts": 6}
    if template == "create-booking":
        emails = write_leads(folder, SLOW)
        write_flow(
            folder, sandbox, source="leads.csv", transform=CONFLICTS_ALLOWED, delivery=delivery
        )
        return lambda: {e: booked_emails(sandbox)[e] for e in emails}, dict.fromkeys(emails, 1)
    if template == "reschedule-booking":
        uids = book(sandbox, SLOW)
        starts = [start for _, _, start in lead_rows(2 * SLOW)[SLOW:]]
        write_records(folder, [{"uid": u, "start": s} for u, s in zip(uids, starts, strict=True)])
        write_flow(
            folder,
            sandbox,
            source="leads.jsonl",
            template=template,
            transform="",
            key="[uid]",
            delivery=delivery,
        )
        with_params(folder, template, '{uid: "{uid}"}')

        def moved() -> dict[str, int]:
            made = Counter(b.get("rescheduledFromUid") for b in sandbox.state()["bookings"])
            return {uid: made[uid] for uid in uids}

        return moved, dict.fromkeys(uids, 1)
    make, key, kind, identity = TEMPLATES[template]
    records = make(SLOW)
    write_records(folder, records)
    write_flow(
        folder,
        sandbox,
        source="leads.jsonl",
        template=template,
        transform="",
        key=key,
        delivery=delivery,
    )
    expected = [identity(record) for record in records]

    def made() -> dict[Any, int]:
        found = Counter(identity(item) for item in sandbox.state()[kind])
        return {name: found[name] for name in expected}

    return made, dict.fromkeys(expected, 1)


@pytest.mark.parametrize("template", list(PATHS))
def test_an_answer_slower_than_the_timeout_is_never_sent_again_while_it_may_land(
    sandbox: SandboxHandle, tmp_path: Path, template: str
) -> None:
    count_effects, once_each = slow_flow(sandbox, tmp_path, template)
    sandbox.clear_requests()
    sandbox.set_faults({"spec": f"timeout=2s@1#2:POST {PATHS[template]}"})
    result = cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path)
    wait_until_handled(sandbox, "timeout", 2)
    sandbox.clear_faults()
    assert result.returncode == 0, result.stdout + result.stderr
    counts = summary(result)
    assert_adds_up(counts)
    assert counts["delivered"] == SLOW, counts
    assert count_effects() == once_each
    again = cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path)
    assert (summary(again)["skipped"], summary(again)["delivered"]) == (SLOW, 0)
    assert count_effects() == once_each


def test_an_answer_slower_than_the_settle_window_ends_unsure_and_the_next_run_finds_it(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    count_effects, once_each = slow_flow(sandbox, tmp_path, "create-schedule")
    sandbox.clear_requests()
    sandbox.set_faults({"spec": "timeout=4s@1#1:POST /v2/schedules"})
    result = cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path)
    wait_until_handled(sandbox, "timeout", 1)
    sandbox.clear_faults()
    assert result.returncode == 1, result.stdout + result.stderr
    counts = summary(result)
    assert (counts["delivered"], counts["dead"]) == (SLOW - 1, 1), counts
    (letter,) = dead_letters(tmp_path)
    assert "could not tell whether it exists" in letter["reason"], letter
    assert "not sent again" in letter["reason"], letter
    assert count_effects() == once_each, "the slow attempt landed; it was not sent twice"
    again = cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert (summary(again)["skipped"], summary(again)["delivered"]) == (SLOW - 1, 1)
    assert count_effects() == once_each
    posts = [r for r in sandbox.requests() if r["method"] == "POST"]
    assert len(posts) == SLOW, "the next run found it by look-up, without sending it"


MORNINGS = [{"days": ["Monday"], "startTime": "08:00", "endTime": "12:00"}]


def schedule_flow(folder: Path, sandbox: SandboxHandle, records: list[dict[str, Any]]) -> None:
    write_records(folder, records)
    write_flow(
        folder,
        sandbox,
        source="leads.jsonl",
        template="create-schedule",
        transform="",
        key="[name, timeZone]",
        delivery={"concurrency": 1, "max_attempts": 4},
    )


def mornings(sandbox: SandboxHandle) -> Counter[str]:
    return Counter(s["timeZone"] for s in sandbox.state()["schedules"] if s["name"] == "Mornings")


def identifier_given(folder: Path, part_of_key: str) -> str | None:
    """The identifier the responses file gives for the record whose key holds ``part_of_key``:
    from its answer when that was Cal.com's, or from what a look-up found."""
    given = [
        line["identifier"]
        for line in responses(folder)
        if part_of_key in line["key"]
        and (line.get("found_by_look_up") or (line["status"] or 0) in (200, 201))
        and line["identifier"] is not None
    ]
    assert len(given) <= 1, given
    return given[0] if given else None


def test_a_look_up_never_takes_the_schedule_of_a_record_with_another_time_zone(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    new_york = {"name": "Mornings", "timeZone": "America/New_York", "availability": MORNINGS}
    london = {"name": "Mornings", "timeZone": "Europe/London", "availability": MORNINGS}
    schedule_flow(tmp_path, sandbox, [new_york])
    first = cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path)
    assert summary(first)["delivered"] == 1, first.stdout + first.stderr
    schedule_flow(tmp_path, sandbox, [new_york, london])
    sandbox.set_faults({"spec": "503@1#1:POST /v2/schedules"})
    result = cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path)
    sandbox.clear_faults()
    assert result.returncode == 0, result.stdout + result.stderr
    assert (summary(result)["skipped"], summary(result)["delivered"]) == (1, 1)
    assert mornings(sandbox) == Counter({"America/New_York": 1, "Europe/London": 1})
    london_id = next(
        s["id"] for s in sandbox.state()["schedules"] if s["timeZone"] == "Europe/London"
    )
    assert identifier_given(tmp_path, "Europe/London") == str(london_id)


def test_a_look_up_that_cannot_tell_leaves_the_record_unsure_not_delivered(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    london = {"name": "Mornings", "timeZone": "Europe/London", "availability": MORNINGS}
    for _ in range(2):  # two equal schedules made by hand earlier
        made = sandbox.call("POST", "/v2/schedules", {**london, "isDefault": False})
        assert made.status == 201, made.body
    schedule_flow(tmp_path, sandbox, [london])
    sandbox.set_faults({"spec": "503@1#1:POST /v2/schedules"})
    result = cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path)
    sandbox.clear_faults()
    assert result.returncode == 1, result.stdout + result.stderr
    counts = summary(result)
    assert_adds_up(counts)
    assert counts["delivered"] == 0 and counts["dead"] + counts["failed"] == 1, counts
    (letter,) = dead_letters(tmp_path)
    assert "could not tell whether" in letter["reason"], letter
    assert "check" in letter["reason"], letter
    assert mornings(sandbox) == Counter({"Europe/London": 2}), "nothing sent again"


def test_bookings_whose_answers_were_unreadable_keep_their_uid_for_a_later_cancel(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    count = 30
    emails = write_leads(tmp_path, count)
    write_flow(tmp_path, sandbox, source="leads.csv", delivery={"max_attempts": 8})
    scope = ":POST /v2/bookings"
    sandbox.set_faults(
        {"spec": f"seed=14,truncated@0.2{scope},malformed@0.2{scope},drop-mid@0.2{scope}"}
    )
    booked = cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path)
    fired = Counter(r["fault"] for r in sandbox.requests() if r.get("fault"))
    sandbox.clear_faults()
    assert set(fired) == {"truncated", "malformed", "drop-mid"}, fired
    assert booked.returncode == 0, booked.stdout + booked.stderr
    assert summary(booked)["delivered"] == count
    assert booked_emails(sandbox) == Counter(dict.fromkeys(emails, 1))
    (tmp_path / "flow.yaml").rename(tmp_path / "book.yaml")
    write_flow(
        tmp_path,
        sandbox,
        source="leads.csv",
        name="cancel-leads",
        template="cancel-booking",
        transform=CANCEL,
        key="[email, start]",
    )
    with_params(tmp_path, "cancel-booking", "{uid: {flow: adversarial, key: [email, start]}}")
    cancel = cli("run", "flow.yaml", "--json", "--yes", key=sandbox.api_key, cwd=tmp_path)
    assert cancel.returncode == 0, cancel.stdout + cancel.stderr
    assert summary(cancel)["delivered"] == count, summary(cancel)
    assert cancelled(sandbox) == count


@pytest.mark.parametrize("fault", ["malformed", "empty", "200"])
def test_a_success_without_calcoms_envelope_is_not_a_delivery_until_looked_up(
    sandbox: SandboxHandle, tmp_path: Path, fault: str
) -> None:
    """``malformed`` (an HTML page) and ``empty`` come after the schedule was made; ``200``
    answers an error body and makes nothing."""
    records = [
        {"name": f"Unreadable {i}", "timeZone": "UTC", "availability": MORNINGS} for i in range(3)
    ]
    write_records(tmp_path, records)
    write_flow(
        tmp_path,
        sandbox,
        source="leads.jsonl",
        template="create-schedule",
        transform="",
        key="[name]",
        delivery={"concurrency": 1},
    )
    sandbox.set_faults({"spec": f"{fault}@1#2:POST /v2/schedules"})
    result = cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path)
    sandbox.clear_faults()
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary(result)["delivered"] == 3
    names = [r["name"] for r in records]
    schedules = [s for s in sandbox.state()["schedules"] if s["name"] in names]
    assert Counter(s["name"] for s in schedules) == Counter(names), "each made once"
    for schedule in schedules:
        assert identifier_given(tmp_path, schedule["name"]) == str(schedule["id"])
    unreadable = [
        line
        for line in responses(tmp_path)
        if line["status"] in (200, 201) and not enveloped(line["body"])
    ]
    assert len(unreadable) == 2, "each unreadable answer is kept in the responses file"
