"""First steps as a new user takes them: `calsink test` on a file whose first rows are bad,
`init -o`, `templates`, the help screens, an empty file, and `calsink source` with
$CAL_API_KEY."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from tests.adversarial.harness import cli, lead_rows, summary, write_flow
from tests.support.cli import calsink
from tests.support.sandbox import SandboxHandle

KEY = "cal_test_EVERYDAY_first_steps_fake_key"


def _leads_with_bad_first_rows(folder: Path) -> list[tuple[str, str, str]]:
    good = lead_rows(3)
    rows = ["Nobody,nobody@example.com,someday", "Nobody2,nobody2@example.com,"]
    rows += [",".join(row) for row in good]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "leads.csv").write_text("name,email,start\n" + "\n".join(rows) + "\n")
    return good


def _booked(sandbox: SandboxHandle) -> list[str]:
    return [b["attendees"][0]["email"] for b in sandbox.state()["bookings"]]


@pytest.mark.e2e
def test_calsink_test_takes_the_first_valid_record_and_a_position_as_printed(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    good = _leads_with_bad_first_rows(tmp_path)
    write_flow(tmp_path, sandbox, source="leads.csv")
    first = cli("test", "flow.yaml", "--no-record", key=sandbox.api_key, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "record leads.csv:4, the first that renders valid: 2 before it" in first.stderr
    assert _booked(sandbox) == [good[0][1]]

    by_position = cli(
        "test", "flow.yaml", "--record", "leads.csv:6", "--no-record", "--json",
        key=sandbox.api_key, cwd=tmp_path,
    )  # fmt: skip
    assert by_position.returncode == 0, by_position.stderr
    answer = json.loads(by_position.stdout)
    assert (answer["position"], answer["passed_over"]) == ("leads.csv:6", 0)
    by_number = cli(
        "test", "flow.yaml", "--record", "3", "--no-record", key=sandbox.api_key, cwd=tmp_path
    )
    assert by_number.returncode == 0, by_number.stderr
    assert _booked(sandbox) == [good[0][1], good[2][1], good[1][1]]


@pytest.mark.e2e
def test_calsink_test_sends_a_payload_whatever_the_records_validity(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    _leads_with_bad_first_rows(tmp_path)
    write_flow(tmp_path, sandbox, source="leads.csv")
    start = lead_rows(5)[4][2]
    body = {
        "start": start,
        "eventTypeId": 1,
        "attendee": {"name": "Hand", "email": "hand@example.com", "timeZone": "UTC"},
    }
    result = cli(
        "test", "flow.yaml", "--record", "leads.csv:2", "--payload", "-", "--no-record",
        key=sandbox.api_key, cwd=tmp_path, stdin=json.dumps(body),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "hand@example.com" in _booked(sandbox)


def test_init_names_the_flow_after_its_file(tmp_path: Path) -> None:
    for name in ("book-hubspot", "book-salesforce"):
        made = cli("init", "create-booking", "-o", f"{name}.yaml", key=KEY, cwd=tmp_path)
        assert made.returncode == 0, made.stderr
        text = (tmp_path / f"{name}.yaml").read_text()
        assert f"\nname: {name} " in text
        checked = cli("validate", f"{name}.yaml", key=KEY, cwd=tmp_path)
        assert checked.returncode == 0, checked.stderr


def test_templates_list_required_fields_truthfully_and_align(tmp_path: Path) -> None:
    shown = cli("templates", "create-booking", key=KEY, cwd=tmp_path).stdout
    required = next(line for line in shown.splitlines() if "required fields" in line)
    assert "phoneNumber" not in required and "language" not in required
    assert "attendee needs name, timeZone, and email or phoneNumber" in shown
    listing = cli("templates", key=KEY, cwd=tmp_path).stdout.splitlines()
    rows = [line for line in listing if line.startswith(("create-", "cancel-", "reschedule-"))]
    columns = {line.index(" 20") for line in rows if " 20" in line}  # the version column
    assert len(columns) == 1, rows


def test_help_screens_fit_80_columns_without_breaking_words_or_cutting_off() -> None:
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
    for command in (["source"], ["credentials"], [], ["sandbox"]):
        result = calsink(*command, "--help", env=env)
        assert result.returncode == 0, result.stderr
        shown = result.stdout
        lines = shown.splitlines()
        assert all(len(line) <= 80 for line in lines), shown
        described = [line.rstrip() for line in lines if not line.startswith("Usage:")]
        assert not any(line.endswith(("-", "...")) for line in described), shown


@pytest.mark.e2e
def test_a_zero_byte_file_is_no_records_with_a_note(sandbox: SandboxHandle, tmp_path: Path) -> None:
    (tmp_path / "leads.csv").write_bytes(b"")
    write_flow(tmp_path, sandbox, source="leads.csv")
    checked = cli("validate", "flow.yaml", key=sandbox.api_key, cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "note: leads.csv is empty (0 bytes)" in checked.stderr
    ran = cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert summary(ran)["read"] == 0
    assert "note: leads.csv is empty (0 bytes)" in ran.stderr


@pytest.mark.e2e
def test_calsink_source_reads_the_key_from_cal_api_key(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    empty_store = {"CALSINK_CONFIG_DIR": str(tmp_path / "no-credentials")}
    result = cli(
        "source", "me", "--base-url", sandbox.url, key=sandbox.api_key, cwd=tmp_path,
        env=empty_store,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[0])


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
def test_the_demo_explains_its_counts_and_its_hint_works_as_printed(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    demo = cli(
        "demo", "--dir", str(tmp_path / "demo"), "--sandbox-url", sandbox.url,
        "--api-key-env", "CAL_API_KEY", key=sandbox.api_key, cwd=ROOT, timeout=180,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr
    assert "read (from its source) = delivered (Cal.com accepted it) + skipped" in demo.stderr
    assert "skipped 1: 1 left out by the flow's `where: status == 'demo'`" in demo.stderr
    hint = re.search(r"\(try `([^`]+)`\)", demo.stderr)
    assert hint is not None, demo.stderr
    shown = subprocess.run(
        hint.group(1), shell=True, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert shown.returncode == 0, shown.stderr
    assert "flow book-demos" in shown.stderr
