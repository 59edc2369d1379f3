"""`calsink demo` end to end: every example flow leaves its effect in the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from support.sandbox import SandboxHandle


def run_demo(sandbox: SandboxHandle, workdir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEMO_SANDBOX_KEY": sandbox.api_key}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "calsink",
            "demo",
            "--json",
            "--dir",
            str(workdir / "demo"),
            "--sandbox-url",
            sandbox.url,
            "--api-key-env",
            "DEMO_SANDBOX_KEY",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=workdir,
        timeout=180,
    )


def by_email(bookings: list[dict[str, Any]], email: str) -> list[dict[str, Any]]:
    return [b for b in bookings if any(a.get("email") == email for a in b["attendees"])]


def test_the_demo_runs_every_example_flow_with_its_effect(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    result = run_demo(sandbox, tmp_path)
    assert result.returncode == 0, result.stderr
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["flow"] for r in reports] == [
        "book-demos",
        "reschedule-demos",
        "confirm-demos",
        "cancel-demos",
        "decline-demos",
        "create-event-types",
        "update-event-types",
        "delete-event-types",
        "create-schedules",
        "create-webhooks",
        "create-ooo",
    ]
    for report in reports:
        assert report["read"] == sum(
            report[k] for k in ("delivered", "skipped", "rejected", "failed", "dead")
        )
        assert report["rejected"] == report["failed"] == report["dead"] == 0, report
    assert reports[0]["delivered"] == 6 and reports[0]["skipped"] == 1  # one lead is "lost"

    state = sandbox.state()
    bookings = state["bookings"]
    assert by_email(bookings, "edsger@example.com") == []
    ada = by_email(bookings, "ada@example.com")
    assert [b["status"] for b in ada] == ["accepted"]
    grace = {b["status"]: b for b in by_email(bookings, "grace@example.com")}
    assert set(grace) == {"cancelled", "accepted"}
    assert grace["accepted"]["start"].startswith("2030-01-14T15:00:00")
    assert grace["accepted"]["rescheduledFromUid"] == grace["cancelled"]["uid"]
    assert [b["status"] for b in by_email(bookings, "katherine@example.com")] == ["accepted"]
    assert [b["status"] for b in by_email(bookings, "margaret@example.com")] == ["cancelled"]
    assert [b["status"] for b in by_email(bookings, "barbara@example.com")] == ["rejected"]

    slugs = {e["slug"] for e in state["event_types"]}
    assert "strategy-session" in slugs and "quick-chat" not in slugs
    assert len([s for s in state["schedules"] if s["ownerId"] == 1]) == 3
    assert len(state["webhooks"]) == 2
    assert len(state["ooo"]) == 2

    responses = (tmp_path / "demo" / "examples" / "out" / "book-demos.responses.jsonl").read_text()
    lines = [json.loads(line) for line in responses.splitlines()]
    assert len(lines) == 6 and all(line["status"] == 201 for line in lines)


def test_a_second_demo_starts_afresh_and_sends_nothing_twice(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    assert run_demo(sandbox, tmp_path).returncode == 0
    sandbox.reset()
    again = run_demo(sandbox, tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout.splitlines()[0])["delivered"] == 6


def test_the_demo_refuses_a_sandbox_url_off_this_machine(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "calsink",
            "demo",
            "--sandbox-url",
            "https://api.cal.com",
            "--api-key-env",
            "X",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2
    assert "must be a sandbox on this machine" in result.stderr


def test_the_built_in_demo_starts_and_stops_its_own_sandbox(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "calsink", "demo"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    assert "sandbox listening on http://127.0.0.1:" in result.stderr
    assert "11 flows, 21 records delivered" in result.stderr
    assert (tmp_path / "calsink-demo" / "examples" / ".calsink" / "ledger.db").is_file()
