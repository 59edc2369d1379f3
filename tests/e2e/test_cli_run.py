"""`calsink test`, `run` (dry run, limit, follow), `status` and `retry` against the sandbox."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from support.cli import calsink as run_calsink
from support.sandbox import SandboxHandle

KEY_ENV = "CLI_RUN_KEY"


def calsink(
    *args: str, sandbox: SandboxHandle, stdin: str | None = None, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, KEY_ENV: sandbox.api_key}
    return run_calsink(*args, env=env, stdin=stdin, timeout=timeout)


def booking_row(index: int) -> dict[str, Any]:
    day = 7 + (index // 16) % 5
    hour, half = divmod(index % 16, 2)
    return {
        "start": f"2030-01-{day:02d}T{14 + hour}:{30 * half:02d}:00Z",
        "eventTypeId": 1,
        "attendee": {
            "name": f"Person {index}",
            "email": f"p{index}@example.com",
            "timeZone": "UTC",
        },
    }


def write_flow(tmp: Path, sandbox: SandboxHandle, count: int, extra: str = "") -> Path:
    data = tmp / "bookings.jsonl"
    data.write_text("".join(json.dumps(booking_row(i)) + "\n" for i in range(count)))
    flow = tmp / "flow.yaml"
    flow.write_text(
        f"version: 1\nname: cli-run\nsource: {{path: {data}}}\n"
        f"destination:\n  api_key_env: {KEY_ENV}\n  base_url: {sandbox.url}\n"
        "  template: create-booking\n"
        f"delivery:\n  key: [attendee.email, start]\n{extra}"
        f"ledger: {tmp / 'ledger.db'}\ndead_letters: {tmp / 'dead.jsonl'}\n"
        f"responses: {{jsonl: {tmp / 'responses.jsonl'}}}\n"
    )
    return flow


def booked_emails(sandbox: SandboxHandle) -> list[str]:
    return sorted(a["email"] for b in sandbox.state()["bookings"] for a in b["attendees"])


def test_test_sends_one_record_and_records_it_in_the_ledger(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    flow = write_flow(tmp_path, sandbox, 3)
    sent = calsink("test", str(flow), "--record", "1", "--json", sandbox=sandbox)
    assert sent.returncode == 0, sent.stderr
    answer = json.loads(sent.stdout)
    assert answer["status"] == 201
    assert answer["body"]["data"]["uid"]
    assert booked_emails(sandbox) == ["p1@example.com"]
    assert sandbox.api_key not in sent.stdout + sent.stderr

    status = calsink("status", str(flow), "--json", sandbox=sandbox)
    assert json.loads(status.stdout)["delivered"] == 1


def test_test_sends_an_edited_payload_from_stdin(sandbox: SandboxHandle, tmp_path: Path) -> None:
    flow = write_flow(tmp_path, sandbox, 1)
    edited = booking_row(0) | {
        "attendee": {"name": "Edited", "email": "edited@example.com", "timeZone": "UTC"}
    }
    sent = calsink(
        "test", str(flow), "--payload", "-", "--json", sandbox=sandbox, stdin=json.dumps(edited)
    )
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["request_body"]["attendee"]["name"] == "Edited"
    assert booked_emails(sandbox) == ["edited@example.com"]


def test_a_dry_run_sends_nothing_and_limit_reads_only_that_many(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    flow = write_flow(tmp_path, sandbox, 5)
    sandbox.clear_requests()
    dry = calsink("run", str(flow), "--dry-run", "--json", sandbox=sandbox)
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["planned"] == 5
    assert sandbox.requests() == []

    limited = calsink("run", str(flow), "--limit", "2", "--json", sandbox=sandbox)
    summary = json.loads(limited.stdout)
    assert (summary["read"], summary["delivered"]) == (2, 2)
    assert booked_emails(sandbox) == ["p0@example.com", "p1@example.com"]

    rest = calsink("run", str(flow), "--json", sandbox=sandbox)
    summary = json.loads(rest.stdout)
    assert (summary["read"], summary["delivered"], summary["skipped"]) == (5, 3, 2)


def test_dead_records_are_counted_by_status_and_sent_again_by_retry(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    flow = write_flow(tmp_path, sandbox, 4, extra="  max_attempts: 2\n")
    sandbox.set_faults(
        {
            "rules": [
                {
                    "kind": "status",
                    "status": 503,
                    "rate": 1.0,
                    "method": "POST",
                    "path": "/v2/bookings",
                }
            ]
        }
    )
    failed = calsink("run", str(flow), "--json", sandbox=sandbox)
    assert failed.returncode == 1, failed.stderr
    assert json.loads(failed.stdout)["dead"] == 4

    status = calsink("status", str(flow), "--json", sandbox=sandbox)
    report = json.loads(status.stdout)
    assert report["dead"] == 4 and report["dead_letters"] == 4
    human = calsink("status", str(flow), sandbox=sandbox)
    assert "calsink retry" in human.stderr

    sandbox.clear_faults()
    retried = calsink("retry", str(flow), "--only", "dead", "--json", sandbox=sandbox)
    assert retried.returncode == 0, retried.stderr
    assert json.loads(retried.stdout)["delivered"] == 4
    assert booked_emails(sandbox) == [f"p{i}@example.com" for i in range(4)]
    after = json.loads(calsink("status", str(flow), "--json", sandbox=sandbox).stdout)
    assert (after["delivered"], after["dead"]) == (4, 0)


@contextlib.contextmanager
def following(flow: Path, sandbox: SandboxHandle) -> Iterator[list[str]]:
    """``calsink run FLOW --follow --json`` until the block ends, then Ctrl-C; the list
    given holds its stdout and stderr once it has ended."""
    env = {**os.environ, KEY_ENV: sandbox.api_key}
    process = subprocess.Popen(
        [sys.executable, "-m", "calsink", "run", str(flow), "--follow", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    output: list[str] = []
    try:
        yield output
    finally:
        process.send_signal(signal.SIGINT)
        output.extend(process.communicate(timeout=30))
        output.append(str(process.returncode))


def wait_for_bookings(sandbox: SandboxHandle, count: int, deadline: float) -> None:
    while len(booked_emails(sandbox)) < count and time.monotonic() < deadline:
        time.sleep(0.1)


def test_follow_sends_rows_appended_to_a_growing_file(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    flow = write_flow(tmp_path, sandbox, 1)
    data = tmp_path / "bookings.jsonl"
    deadline = time.monotonic() + 30
    with following(flow, sandbox) as output:
        wait_for_bookings(sandbox, 1, deadline)
        with data.open("a") as out:
            for index in (1, 2):
                out.write(json.dumps(booking_row(index)) + "\n")
        wait_for_bookings(sandbox, 3, deadline)
    stdout, stderr, returncode = output
    assert booked_emails(sandbox) == ["p0@example.com", "p1@example.com", "p2@example.com"]
    assert returncode == "0", stderr
    assert json.loads(stdout)["delivered"] == 3


def test_follow_sends_each_row_of_a_small_growing_csv_as_it_arrives(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """A CSV's delimiter is told from its first lines: a followed file (or a pipe) with
    fewer rows than that held every row back until more came or the run was stopped."""
    data = tmp_path / "signups.csv"
    data.write_text("name;email;start\n" + _csv_row(0))
    flow = tmp_path / "flow.yaml"
    flow.write_text(
        f"version: 1\nname: csv-follow\nsource: {{path: {data}}}\n"
        "transform:\n  map:\n    start: '{start}'\n    eventTypeId: 1\n"
        "    attendee: {name: '{name}', email: '{email}', timeZone: UTC}\n"
        f"destination:\n  api_key_env: {KEY_ENV}\n  base_url: {sandbox.url}\n"
        "  template: create-booking\n"
        f"delivery: {{key: [email, start]}}\nledger: {tmp_path / 'ledger.db'}\n"
    )
    deadline = time.monotonic() + 30
    with following(flow, sandbox) as output:
        wait_for_bookings(sandbox, 1, deadline)
        assert booked_emails(sandbox) == ["p0@example.com"]  # the one row, before any other
        with data.open("a") as out:
            out.write(_csv_row(1))
        wait_for_bookings(sandbox, 2, deadline)
    stdout, stderr, _ = output
    assert booked_emails(sandbox) == ["p0@example.com", "p1@example.com"], stderr
    assert json.loads(stdout)["delivered"] == 2


def _csv_row(index: int) -> str:
    row = booking_row(index)
    return f"Person {index};{row['attendee']['email']};{row['start']}\n"


def test_a_cancel_flow_without_yes_sends_nothing(sandbox: SandboxHandle, tmp_path: Path) -> None:
    data = tmp_path / "cancel.jsonl"
    data.write_text('{"uid": "abc"}\n')
    flow = tmp_path / "cancel.yaml"
    flow.write_text(
        f"version: 1\nname: cancel\nsource: {{path: {data}}}\n"
        f"destination:\n  api_key_env: {KEY_ENV}\n  base_url: {sandbox.url}\n"
        "  template: cancel-booking\n  params: {uid: '{uid}'}\n"
        f"ledger: {tmp_path / 'ledger.db'}\ndead_letters: {tmp_path / 'dead.jsonl'}\n"
    )
    sandbox.clear_requests()
    refused = calsink("run", str(flow), sandbox=sandbox)
    assert refused.returncode == 3
    assert "--yes" in refused.stderr
    assert sandbox.requests() == []


def test_records_on_a_live_pipe_are_sent_as_they_arrive(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    flow = tmp_path / "stdin.yaml"
    flow.write_text(
        "version: 1\nname: from-stdin\nsource: {path: '-', format: jsonl}\n"
        f"destination:\n  api_key_env: {KEY_ENV}\n  base_url: {sandbox.url}\n"
        "  template: create-booking\n"
        f"ledger: {tmp_path / 'ledger.db'}\ndead_letters: {tmp_path / 'dead.jsonl'}\n"
    )
    env = {**os.environ, KEY_ENV: sandbox.api_key}
    process = subprocess.Popen(
        [sys.executable, "-m", "calsink", "run", str(flow), "--json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdin is not None
    try:
        process.stdin.write(json.dumps(booking_row(0)) + "\n")
        process.stdin.flush()
        deadline = time.monotonic() + 30
        while not booked_emails(sandbox) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert booked_emails(sandbox) == ["p0@example.com"], "sent before the pipe closed"
        process.stdin.write(json.dumps(booking_row(1)) + "\n")
    finally:
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert json.loads(stdout)["delivered"] == 2


def test_preview_shows_the_body_exactly_as_the_run_sends_it(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    flow = write_flow(tmp_path, sandbox, 2)
    shown = calsink("preview", str(flow), "-n", "2", "--json", sandbox=sandbox)
    assert shown.returncode == 0, shown.stderr
    previews = [json.loads(line) for line in shown.stdout.splitlines()]
    sandbox.clear_requests()
    assert calsink("run", str(flow), sandbox=sandbox).returncode == 0
    sent = [r for r in sandbox.requests() if r["method"] == "POST"]
    assert [p["body"] for p in previews] == [r["json"] for r in sent]
    assert all("calsink_key" in p["body"]["metadata"] for p in previews)


def test_a_damaged_journal_stops_the_run_before_it_sends_with_what_to_do(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    flow = write_flow(tmp_path, sandbox, 3)
    segment = tmp_path / "ledger.db.cli-run.journal.000001"
    segment.write_bytes(b"\x00not a journal line\n" + b'["retract",[["cli-run","k"]]]\n')
    before = len(booked_emails(sandbox))
    result = calsink("run", str(flow), "--yes", sandbox=sandbox)
    assert result.returncode == 2, result.stdout + result.stderr
    assert str(segment) in result.stderr and "line 1 cannot be read" in result.stderr
    assert "Move the file aside" in result.stderr and "Traceback" not in result.stderr
    assert len(booked_emails(sandbox)) == before, "nothing sent"
    segment.rename(tmp_path / "aside")
    again = calsink("run", str(flow), "--yes", "--json", sandbox=sandbox)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["delivered"] == 3
