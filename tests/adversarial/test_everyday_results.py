"""Results a person can read: `validate` and `run` group what did not get through by
reason, with counts and the first positions; `--all` lists each record, `--json` is
unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.adversarial.harness import cli, lead_rows, summary, write_flow
from tests.adversarial.test_destructive import book
from tests.support.sandbox import SandboxHandle

KEY = "cal_test_EVERYDAY_results_fake_key"


def _leads(folder: Path, good: int, bad_dates: int, no_email: int) -> None:
    rows = [f"{name},{email},{start}" for name, email, start in lead_rows(good)]
    rows += [f"Late {i},late{i}@example.com,12/{i + 1:02d}/2026" for i in range(bad_dates)]
    rows += [f"Anon {i},,2031-01-0{i + 1}T10:00:00Z" for i in range(no_email)]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "leads.csv").write_text("name,email,start\n" + "\n".join(rows) + "\n")


def test_validate_groups_rejections_by_reason_with_counts_and_first_positions(
    tmp_path: Path,
) -> None:
    _leads(tmp_path, good=3, bad_dates=20, no_email=2)
    transform = """\
transform:
  map:
    start: "iso(start)"
    eventTypeId: 1
    attendee: {name: "{name}", email: "none_if_empty(email)", timeZone: "UTC"}
"""
    flow = write_flow(tmp_path, "http://127.0.0.1:9", source="leads.csv", transform=transform)
    grouped = cli("validate", str(flow), key=KEY, cwd=tmp_path)
    assert grouped.returncode == 1
    lines = grouped.stderr.splitlines()
    assert lines[0].startswith(
        "20 rejected: start: expected an ISO 8601 date-time with an offset or Z"
    ), lines
    assert (
        "(leads.csv:5, leads.csv:6, leads.csv:7, … 17 more; first found '12/01/2026'" in (lines[0])
    )
    assert any(
        line.startswith("2 rejected: ") and "(leads.csv:25, leads.csv:26;" in line for line in lines
    )
    assert len(lines) <= 5, grouped.stderr
    assert "read 25 · valid 3 · rejected 22" in grouped.stderr

    every = cli("validate", str(flow), "--all", key=KEY, cwd=tmp_path)
    assert sum(line.startswith("leads.csv:") for line in every.stderr.splitlines()) == 22

    as_json = cli("validate", str(flow), "--json", key=KEY, cwd=tmp_path)
    records = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert len(records) == 22
    assert records[0]["position"] == "leads.csv:5"


@pytest.mark.e2e
def test_run_groups_rejections_and_failures_by_reason(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    taken = book(sandbox, 1)  # the first lead's slot is booked already: Cal.com refuses it
    assert taken
    _leads(tmp_path, good=3, bad_dates=6, no_email=0)
    flow = write_flow(tmp_path, sandbox, source="leads.csv", delivery={"max_attempts": 2})
    result = cli("run", str(flow), key=sandbox.api_key, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert any(
        line.startswith("6 rejected: start: ")
        and "(leads.csv:5, leads.csv:6, leads.csv:7, … 3 more; first found '12/01/2026')" in line
        for line in lines
    ), result.stderr
    assert any(line.startswith("1 failed: ") and "(leads.csv:2" in line for line in lines), (
        result.stderr
    )
    again = cli("run", str(flow), "--all", key=sandbox.api_key, cwd=tmp_path)
    assert sum(line.startswith("leads.csv:") for line in again.stderr.splitlines()) == 7
    as_json = cli("run", str(flow), "--json", key=sandbox.api_key, cwd=tmp_path)
    assert summary(as_json)["rejected"] == 6
    assert "rejected:" not in as_json.stderr
