"""End to end: the real CLI against the real sandbox over a socket.

The sandbox's state is the judge: one booking per record, whatever the faults.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from tests.delivery.e2e import booking_flow, bookings_of, cli, files_text, start_cli, summary
from tests.support.sandbox import SandboxHandle

pytestmark = pytest.mark.e2e


def assert_once_each(sandbox: SandboxHandle, count: int) -> None:
    emails = Counter(
        a["email"]
        for b in bookings_of(sandbox)
        for a in b["attendees"]
        if b["status"] != "cancelled"
    )
    assert len(emails) == count, f"expected {count} booked leads, found {len(emails)}"
    doubled = {email: n for email, n in emails.items() if n > 1}
    assert not doubled, f"booked more than once: {doubled}"


def test_a_flow_is_delivered_once_and_a_rerun_skips_it(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    flow = booking_flow(tmp_path, sandbox, 40)
    first = cli("run", str(flow), "--json", key=sandbox.api_key, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert summary(first)["delivered"] == 40
    again = cli("run", str(flow), "--json", key=sandbox.api_key, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert (summary(again)["skipped"], summary(again)["delivered"]) == (40, 0)
    assert_once_each(sandbox, 40)
    assert all(b["metadata"].get("calsink_key") for b in bookings_of(sandbox))
    status = cli("status", str(flow), "--json", key=sandbox.api_key, cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert summary(status)["delivered"] == 40
    lines = (tmp_path / "out" / "responses.jsonl").read_text().splitlines()
    assert len(lines) == 40
    assert sandbox.api_key not in files_text(tmp_path) + first.stderr + again.stderr


def test_a_429_storm_and_30_percent_5xx_still_deliver_every_record_once(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    sandbox.set_faults({"spec": "seed=3,429=1@0.15,503@0.3:POST /v2/bookings"})
    flow = booking_flow(tmp_path, sandbox, 30, max_attempts=12)
    result = cli("run", str(flow), "--json", key=sandbox.api_key, cwd=tmp_path)
    sandbox.clear_faults()
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary(result)["delivered"] == 30
    assert_once_each(sandbox, 30)
    statuses = Counter(r["status"] for r in sandbox.requests() if r["method"] == "POST")
    assert statuses[429] > 0 and statuses[503] > 0, statuses


def test_dropped_connections_after_a_booking_was_made_never_make_a_second_one(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    sandbox.set_faults({"spec": "seed=5,drop-after@0.4:POST /v2/bookings"})
    flow = booking_flow(tmp_path, sandbox, 30, max_attempts=12)
    result = cli("run", str(flow), "--json", key=sandbox.api_key, cwd=tmp_path)
    dropped = [r for r in sandbox.requests() if r.get("fault")]
    sandbox.clear_faults()
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary(result)["delivered"] == 30
    assert dropped, "the fault was injected"
    assert_once_each(sandbox, 30)


def test_a_wrong_key_stops_at_the_first_record_with_exit_3(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    flow = booking_flow(tmp_path, sandbox, 25)
    wrong = "cal_test_wrong_key_0123456789"
    sandbox.clear_requests()
    result = cli("run", str(flow), "--json", key=wrong, cwd=tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    posts = [r for r in sandbox.requests() if r["method"] == "POST"]
    assert len(posts) == 1
    assert bookings_of(sandbox) == []
    assert wrong not in files_text(tmp_path) + result.stdout + result.stderr


def test_a_second_run_of_a_running_flow_is_refused(sandbox: SandboxHandle, tmp_path: Path) -> None:
    sandbox.set_faults({"spec": "latency=300ms:POST /v2/bookings"})
    flow = booking_flow(tmp_path, sandbox, 20, concurrency=1)
    sandbox.clear_requests()
    first = start_cli("run", str(flow), "--json", key=sandbox.api_key, cwd=tmp_path)
    wait_for_its_first_answer(sandbox, first)  # it holds the flow while it sends
    second = cli("run", str(flow), "--json", key=sandbox.api_key, cwd=tmp_path)
    first.send_signal(signal.SIGINT)
    out, err = first.communicate(timeout=30)
    sandbox.clear_faults()
    assert second.returncode == 2
    assert "already running" in second.stderr
    assert first.returncode == 3, out + err


def kill_and_rerun(sandbox: SandboxHandle, tmp_path: Path, count: int, kills: int) -> None:
    """``kills`` runs of a ``count``-record flow, each killed (SIGKILL) at a random instant
    while it sends, then a run to the end: each record booked once, no dead letter."""
    flow = booking_flow(tmp_path, sandbox, count, concurrency=8)
    # Answers that take 100 ms keep every run sending when it is killed, with records left
    # for the next (without them the first run booked all 500 in about a second, and the
    # other runs were killed while they skipped what the ledger held).
    sandbox.set_faults({"spec": "latency=100ms:POST /v2/bookings"})
    chance = random.Random(11)
    for _ in range(kills):
        sandbox.clear_requests()
        process = start_cli("run", str(flow), "--json", key=sandbox.api_key, cwd=tmp_path)
        wait_for_its_first_answer(sandbox, process)
        time.sleep(chance.uniform(0.0, 0.3))
        process.kill()
        process.communicate(timeout=30)
        assert process.returncode == -signal.SIGKILL, "the kill landed before the run ended"
    sandbox.clear_faults()
    final = cli("run", str(flow), "--json", key=sandbox.api_key, cwd=tmp_path)
    assert final.returncode == 0, final.stdout + final.stderr
    assert_once_each(sandbox, count)
    assert (tmp_path / "out" / "dead-letters.jsonl").read_text() == ""
    assert sandbox.api_key not in files_text(tmp_path)


def wait_for_its_first_answer(sandbox: SandboxHandle, process: subprocess.Popen[str]) -> None:
    """Until the sandbox has answered a request of the run (or the run has ended)."""
    deadline = time.monotonic() + 60
    while not sandbox.requests() and process.poll() is None:
        assert time.monotonic() < deadline, "the run sent nothing in 60 s"
        time.sleep(0.02)


def test_sigkill_at_random_instants_then_rerun_books_each_record_once(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    kill_and_rerun(sandbox, tmp_path, 150, kills=3)


@pytest.mark.slow
def test_twenty_sigkills_of_a_500_record_flow(sandbox: SandboxHandle, tmp_path: Path) -> None:
    kill_and_rerun(sandbox, tmp_path, 500, kills=20)
