"""Faults injected by the sandbox while the real `calsink run` sends: no record lost, none
sent twice (the sandbox's state and request log are the judge), memory bounded, and the
summary honest about what happened."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import psutil
import pytest
from tests.adversarial.harness import (
    assert_adds_up,
    booked_emails,
    cli,
    dead_letters,
    enveloped,
    environment,
    lead_rows,
    responses,
    summary,
    wait_until_handled,
    write_flow,
    write_leads,
)
from tests.support.cli import command
from tests.support.ports import free_port
from tests.support.sandbox import SandboxHandle

pytestmark = pytest.mark.e2e

COUNT = 8


def assert_one_success_line_per_record(folder: Path, count: int) -> None:
    """The responses file gives each record's booking once: its 2xx answer in Cal.com's
    envelope, or what a look-up found when the answer was lost or could not be read."""
    settled = Counter(
        line["key"]
        for line in responses(folder)
        if line.get("found_by_look_up")
        or (200 <= (line["status"] or 0) < 300 and enveloped(line["body"]))
    )
    assert len(settled) == count and set(settled.values()) == {1}, settled


def assert_each_booked_once(sandbox: SandboxHandle, emails: list[str]) -> None:
    booked = booked_emails(sandbox)
    assert {e: booked[e] for e in emails} == dict.fromkeys(emails, 1), booked
    assert sum(booked.values()) == len(emails)


@pytest.mark.parametrize(
    "spec",
    [
        "drop-before@0.5#4",
        "drop-after@0.5#4",
        "drop-mid@0.5#4",
        "500@0.5#2,502@0.5#2,503@0.5#2,504@0.5#2",
        "429@0.5#4",
        "429=1@0.5#3",
        "malformed@0.5#4",
        "truncated@0.5#4",
    ],
)
def test_a_fault_never_loses_or_doubles_a_booking(
    sandbox: SandboxHandle, tmp_path: Path, spec: str
) -> None:
    emails = write_leads(tmp_path, COUNT)
    write_flow(tmp_path, sandbox, source="leads.csv", delivery={"max_attempts": 8})
    scoped = ",".join(f"{item}:POST /v2/bookings" for item in spec.split(","))
    sandbox.set_faults({"spec": f"seed=2,{scoped}"})
    result = cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path, timeout=120)
    fired = [r for r in sandbox.requests() if r.get("fault")]
    sandbox.clear_faults()
    assert fired, "the fault was injected"
    assert result.returncode == 0, result.stdout + result.stderr
    counts = summary(result)
    assert_adds_up(counts)
    assert counts["delivered"] == COUNT, counts
    assert_each_booked_once(sandbox, emails)
    assert dead_letters(tmp_path) == []
    assert_one_success_line_per_record(tmp_path, COUNT)
    again = cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path)
    assert (summary(again)["skipped"], summary(again)["delivered"]) == (COUNT, 0)
    assert_each_booked_once(sandbox, emails)


def test_answers_slower_than_the_timeout_are_looked_up_not_resent(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    emails = write_leads(tmp_path, 4)
    write_flow(
        tmp_path, sandbox, source="leads.csv", delivery={"max_attempts": 8, "timeout_s": 0.5}
    )
    sandbox.set_faults({"spec": "seed=4,timeout=1500ms@1#3:POST /v2/bookings"})
    result = cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path, timeout=120)
    sandbox.clear_faults()
    wait_until_handled(sandbox, "timeout", 3)  # judge once the slow requests are done
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary(result)["delivered"] == 4
    assert_each_booked_once(sandbox, emails)


def test_a_50_mb_answer_keeps_memory_bounded_and_the_booking_counted_once(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    emails = write_leads(tmp_path, 6)
    write_flow(tmp_path, sandbox, source="leads.csv", delivery={"timeout_s": 30})
    sandbox.set_faults({"spec": "huge@1#4:POST /v2/bookings"})
    process = psutil.Popen(
        command("run", "flow.yaml", "--json"),
        cwd=tmp_path,
        env=environment(sandbox.api_key),
        stdout=__import__("subprocess").PIPE,
        stderr=__import__("subprocess").PIPE,
        text=True,
    )
    peak = 0
    while process.poll() is None:
        try:
            peak = max(peak, process.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.01)
    out, err = process.communicate(timeout=120)
    sandbox.clear_faults()
    assert process.returncode == 0, out + err
    assert summary(out)["delivered"] == 6
    assert_each_booked_once(sandbox, emails)
    assert peak < 150 * 1024 * 1024, f"peak RSS {peak / 2**20:.0f} MB"
    kept = (tmp_path / "out" / "responses.jsonl").stat().st_size
    assert kept < 20 * 1024 * 1024, f"responses file {kept / 2**20:.0f} MB"


def test_a_response_webhook_that_is_down_loses_no_booking_and_costs_no_hang(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    emails = write_leads(tmp_path, 30)
    closed_port = free_port()
    write_flow(
        tmp_path,
        sandbox,
        source="leads.csv",
        responses=(
            "responses: {jsonl: out/responses.jsonl, "
            f"webhook: 'http://127.0.0.1:{closed_port}/hook'}}"
        ),
    )
    result = cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path, timeout=120)
    counts = summary(result)
    assert counts["delivered"] == 30, result.stdout + result.stderr
    assert_each_booked_once(sandbox, emails)
    assert counts["webhook_undelivered"] == 30, counts
    assert len(responses(tmp_path)) == 30
    undelivered = Path(str(counts["webhook_undelivered_file"]))
    assert len(undelivered.read_text().splitlines()) == 30, "every response kept"
    again = cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path)
    assert summary(again)["delivered"] == 0
    assert_each_booked_once(sandbox, emails)


def test_the_summary_counts_what_the_sandbox_saw(sandbox: SandboxHandle, tmp_path: Path) -> None:
    emails = write_leads(tmp_path, 6)
    write_flow(tmp_path, sandbox, source="leads.csv", delivery={"max_attempts": 2})
    sandbox.set_faults({"spec": "503@1:POST /v2/bookings"})
    result = cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path, timeout=120)
    posts = Counter(r["status"] for r in sandbox.requests() if r["method"] == "POST")
    sandbox.clear_faults()
    counts = summary(result)
    assert result.returncode == 1
    assert_adds_up(counts)
    assert (counts["dead"], counts["delivered"]) == (6, 0)
    assert posts == {503: 12}
    letters = dead_letters(tmp_path)
    assert sorted(letter["key"] for letter in letters) == sorted(
        f'["{e}","{s}"]' for e, s in zip(emails, [s for *_, s in lead_rows(6)], strict=True)
    )
    assert all(letter["status"] == 503 and letter["attempts"] == 2 for letter in letters)
    assert booked_emails(sandbox) == Counter()
