"""Concurrency and interruption: two runs of one flow at once, Ctrl-C, and SIGKILL at
random instants for every create template. The sandbox's state is the judge: exactly one
resource per record."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.adversarial.harness import (
    BOOKING_MAP,
    all_text,
    assert_adds_up,
    cli,
    dead_letters,
    start_cli,
    summary,
    write_flow,
    write_leads,
)
from tests.support.sandbox import SandboxHandle

pytestmark = pytest.mark.e2e


def live_bookings(sandbox: SandboxHandle) -> Counter[str]:
    return Counter(
        attendee["email"]
        for booking in sandbox.state()["bookings"]
        if booking["status"] != "cancelled"
        for attendee in booking["attendees"]
        if attendee["email"].startswith("lead")
    )


def test_two_runs_of_one_flow_at_once_never_double_send(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    emails = write_leads(tmp_path, 30)
    write_flow(tmp_path, sandbox, source="leads.csv")
    sandbox.set_faults({"spec": "latency=50ms:POST /v2/bookings"})
    runs = [start_cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path)]
    runs.append(start_cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path))
    results = [(run.wait(timeout=120), *run.communicate()) for run in runs]
    sandbox.clear_faults()
    codes = sorted(code for code, _, _ in results)
    refused = [err for code, _, err in results if code == 2]
    assert codes == [0, 2], results
    assert "already running" in refused[0]
    assert live_bookings(sandbox) == Counter(dict.fromkeys(emails, 1))


def test_ctrl_c_finishes_what_is_in_flight_records_it_and_exits_3_promptly(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    emails = write_leads(tmp_path, 40)
    write_flow(tmp_path, sandbox, source="leads.csv")
    sandbox.set_faults({"spec": "latency=400ms:POST /v2/bookings"})
    sandbox.clear_requests()
    process = start_cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path)
    deadline = time.monotonic() + 20
    while posts(sandbox) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # requests are in flight (each takes 400 ms)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    sandbox.clear_faults()
    assert process.returncode == 3, out + err
    counts = json.loads(out)
    assert_adds_up(counts)
    booked = live_bookings(sandbox)
    assert 0 < len(booked) < 40 and set(booked.values()) == {1}
    assert counts["delivered"] == len(booked), "every booking made is counted"
    status = summary(cli("status", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path))
    assert status["delivered"] == len(booked), "every booking made is in the ledger"
    settled = [json.loads(line) for line in (tmp_path / "out" / "responses.jsonl").open()]
    assert len({line["key"] for line in settled if line["status"] == 201}) == len(booked)
    rest = cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path)
    assert rest.returncode == 0, rest.stdout + rest.stderr
    assert summary(rest)["skipped"] == len(booked)
    assert live_bookings(sandbox) == Counter(dict.fromkeys(emails, 1))


def _days(count: int) -> list[datetime]:
    first = datetime(2030, 3, 1, tzinfo=UTC)
    return [first + timedelta(days=i) for i in range(count)]


def _z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# template: (records, transform, key, what identifies a record in the sandbox's state)
Records = list[dict[str, Any]]
TEMPLATES: dict[str, tuple[Callable[[int], Records], str, str, Callable[[dict[str, Any]], Any]]] = {
    "create-event-type": (
        lambda n: [
            {"title": f"Adversarial {i}", "slug": f"adv-{i}", "lengthInMinutes": 30}
            for i in range(n)
        ],
        "[slug]",
        "event_types",
        lambda item: item["slug"],
    ),
    "create-schedule": (
        lambda n: [
            {
                "name": f"Adversarial {i}",
                "timeZone": "UTC",
                "availability": [{"days": ["Monday"], "startTime": "09:00", "endTime": "10:00"}],
            }
            for i in range(n)
        ],
        "[name]",
        "schedules",
        lambda item: item["name"],
    ),
    "create-webhook": (
        lambda n: [
            {"subscriberUrl": f"https://hooks.example.org/adv/{i}", "triggers": ["BOOKING_CREATED"]}
            for i in range(n)
        ],
        "[subscriberUrl]",
        "webhooks",
        lambda item: item["subscriberUrl"],
    ),
    "create-out-of-office": (
        lambda n: [
            {"start": _z(day), "end": _z(day + timedelta(hours=23, minutes=59, seconds=59))}
            for day in _days(n)
        ],
        "[start]",
        "ooo",
        lambda item: item["start"][:10],
    ),
}


def posts(sandbox: SandboxHandle) -> int:
    return sum(1 for r in sandbox.requests() if r["method"] == "POST")


def kill_at_random_then_finish(
    sandbox: SandboxHandle, folder: Path, kills: int, seed: int, count: int
) -> subprocess.CompletedProcess[str]:
    """Start the run and SIGKILL it at a random instant once its requests are going out,
    ``kills`` times; then let one run finish. Each kill must land mid-run."""
    chance = random.Random(seed)
    for _ in range(kills):
        before = posts(sandbox)
        process = start_cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=folder)
        deadline = time.monotonic() + 20
        while posts(sandbox) == before and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(chance.uniform(0.0, 0.5))
        process.kill()
        process.communicate(timeout=30)
        assert process.returncode == -signal.SIGKILL, "the kill landed before the run ended"
    return cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=folder, timeout=120)


@pytest.mark.parametrize("template", ["create-booking", *TEMPLATES])
def test_sigkill_at_random_instants_never_loses_or_duplicates(
    sandbox: SandboxHandle, tmp_path: Path, template: str
) -> None:
    count = 30
    sandbox.set_faults({"spec": "seed=9,latency=100ms,drop-after@0.05:POST /v2/*"})
    sandbox.clear_requests()
    if template == "create-booking":
        emails = write_leads(tmp_path, count)
        write_flow(tmp_path, sandbox, source="leads.csv", transform=BOOKING_MAP)
    else:
        make, key, _, _ = TEMPLATES[template]
        records = make(count)
        (tmp_path / "leads.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
        write_flow(
            tmp_path,
            sandbox,
            source="leads.jsonl",
            template=template,
            transform="",
            key=key,
            delivery={"max_attempts": 8},
        )
    final = kill_at_random_then_finish(sandbox, tmp_path, kills=3, seed=len(template), count=count)
    sandbox.clear_faults()
    assert final.returncode == 0, final.stdout + final.stderr
    finished = summary(final)
    assert finished["skipped"] + finished["delivered"] == count, finished
    assert dead_letters(tmp_path) == []
    assert sandbox.api_key not in all_text(tmp_path)
    if template == "create-booking":
        assert live_bookings(sandbox) == Counter(dict.fromkeys(emails, 1))
        return
    make, _, kind, identity = TEMPLATES[template]
    expected = [identity(record) for record in make(count)]
    found = Counter(identity(item) for item in sandbox.state()[kind])
    assert {name: found[name] for name in expected} == dict.fromkeys(expected, 1), found
