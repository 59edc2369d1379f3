"""`calsink validate` and `calsink preview`, run as a user runs them (a subprocess)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.support.cli import calsink as run_calsink
from tests.support.cli import environment

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data"

BOOKINGS_FLOW = """
version: 1
name: bookings-check
source: {{path: "{data}"}}
transform:
  where: "status == 'demo'"
  map:
    start: "{{start}}"
    eventTypeId: "int(event_type_id) if event_type_id else null"
    eventTypeSlug: "none_if_empty(slug)"
    username: "none_if_empty(username)"
    attendee:
      name: "{{name}}"
      email: "none_if_empty(email)"
      phoneNumber: "none_if_empty(phone)"
      timeZone: "{{tz}}"
      language: "none_if_empty(language)"
destination:
  template: create-booking
{extra}
"""


def calsink(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``calsink ARGS`` with no API key in the environment."""
    return run_calsink(*args, cwd=cwd, env=environment(None), timeout=60)


def _flow(tmp_path: Path, data: str, extra: str = "") -> Path:
    path = tmp_path / "flow.yaml"
    path.write_text(BOOKINGS_FLOW.format(data=DATA / data, extra=extra), encoding="utf-8")
    return path


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in text.splitlines() if line.strip()]


EXPECTED_REJECTIONS = {
    4: ("attendee.email", "expected an e-mail address, found 'bob@'"),
    5: ("attendee.timeZone", "found 'Mars/Olympus'"),
    6: (
        "start",
        "expected an ISO 8601 date-time such as 2030-01-07T14:00:00Z, found 'next tuesday'",
    ),
    7: ("attendee.email", "expected an e-mail address or attendee.phoneNumber, found neither"),
    8: ("eventTypeId", "found eventTypeSlug alone"),
    9: ("attendee.language", "found 'tlh'"),
    10: ("attendee.phoneNumber", "E.164"),
    12: ("eventTypeId", "'abc'"),
}


def test_validate_reports_every_bad_row_with_position_and_reason(tmp_path: Path) -> None:
    flow = _flow(tmp_path, "bad-bookings.csv")
    result = calsink("validate", str(flow), "--all")
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    source = str(DATA / "bad-bookings.csv")
    for line_no, (field, reason) in EXPECTED_REJECTIONS.items():
        prefix = f"{source}:{line_no}  {field}: "
        matching = [line for line in lines if line.startswith(prefix)]
        assert matching and reason in matching[0], (prefix, lines)
    for good in (2, 3, 11):
        assert not any(line.startswith(f"{source}:{good} ") for line in lines)
    assert "read 11 · valid 2 · rejected 8 · filtered 1" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_json_gives_one_object_per_rejected_record(tmp_path: Path) -> None:
    flow = _flow(tmp_path, "bad-bookings.csv")
    result = calsink("validate", str(flow), "--json")
    assert result.returncode == 1
    rows = _json_lines(result.stdout)
    source = str(DATA / "bad-bookings.csv")
    assert [row["position"] for row in rows] == [f"{source}:{n}" for n in EXPECTED_REJECTIONS]
    for row, (field, reason) in zip(rows, EXPECTED_REJECTIONS.values(), strict=True):
        assert row["field"] == field
        assert reason in row["reason"]


def test_validate_exits_0_on_a_clean_file(tmp_path: Path) -> None:
    result = calsink("validate", str(_flow(tmp_path, "good-bookings.csv")))
    assert result.returncode == 0, result.stderr
    assert "read 3 · valid 2 · rejected 0 · filtered 1" in result.stderr
    assert calsink("validate", str(_flow(tmp_path, "good-bookings.csv")), "--json").stdout == ""


def test_unknown_fields_warn_by_default_and_reject_when_asked(tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text(
        '{"start":"2030-01-07T14:00:00Z","eventTypeId":1,"email":"a@example.com",'
        '"attendee":{"name":"A","email":"a@example.com","timeZone":"UTC"}}\n'
    )
    flow = tmp_path / "f.yaml"
    text = (
        f"version: 1\nname: u\nsource: {{path: '{data}'}}\n"
        "destination:\n  template: create-booking\n"
    )
    flow.write_text(text)
    warned = calsink("validate", str(flow))
    assert warned.returncode == 0
    assert f"{data}:1  warning: email: create-booking does not know this field" in warned.stderr
    flow.write_text(text + "  unknown_fields: reject\n")
    rejected = calsink("validate", str(flow), "--json")
    assert rejected.returncode == 1
    assert _json_lines(rejected.stdout)[0]["field"] == "email"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("  params: {nope: '{x}'}", "create-booking has no path parameter 'nope'"),
        ('  api_version: "bad\\nvalue"', "CR, LF and NUL"),
    ],
)
def test_configuration_errors_exit_2_without_traceback(
    tmp_path: Path, extra: str, message: str
) -> None:
    result = calsink("validate", str(_flow(tmp_path, "good-bookings.csv", extra)))
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_manual_guard_refuses_a_missing_version_and_v1(tmp_path: Path) -> None:
    flow = tmp_path / "m.yaml"
    base = f"version: 1\nname: m\nsource: {{path: '{DATA / 'good-bookings.csv'}'}}\n"
    flow.write_text(
        base + "destination:\n  manual: {method: POST, url: 'https://api.cal.com/v2/bookings'}\n"
    )
    result = calsink("validate", str(flow))
    assert result.returncode == 2
    assert "needs the header cal-api-version: 2026-02-25" in result.stderr
    flow.write_text(
        base + "destination:\n  manual: {method: POST, url: 'https://api.cal.com/v1/bookings'}\n"
    )
    result = calsink("preview", str(flow))
    assert result.returncode == 2
    assert "retired /v1/ API" in result.stderr


def test_missing_flow_or_source_exits_2(tmp_path: Path) -> None:
    assert calsink("validate", str(tmp_path / "none.yaml")).returncode == 2
    missing = _flow(tmp_path, "no-such-file.csv")
    result = calsink("validate", str(missing))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


# What SPEC.md prescribes per example: method, path (after base_url), cal-api-version.
EXAMPLE_REQUESTS = {
    "create-booking.yaml": ("POST", "/v2/bookings", "2026-02-25"),
    "create-event-type.yaml": ("POST", "/v2/event-types", "2024-06-14"),
    "update-event-type.yaml": ("PATCH", "/v2/event-types/1", "2024-06-14"),
    "create-schedule.yaml": ("POST", "/v2/schedules", "2024-06-11"),
    "create-webhook.yaml": ("POST", "/v2/webhooks", None),
    "create-out-of-office.yaml": ("POST", "/v2/me/ooo", None),
}


@pytest.mark.parametrize("name", sorted(EXAMPLE_REQUESTS))
def test_preview_json_of_the_examples(name: str) -> None:
    method, path, version = EXAMPLE_REQUESTS[name]
    result = calsink("preview", f"examples/{name}", "-n", "1", "--json")
    assert result.returncode == 0, result.stderr
    (request,) = _json_lines(result.stdout)
    assert set(request) >= {"position", "method", "url", "headers", "body", "warnings"}
    assert request["method"] == method
    assert request["url"] == "https://api.cal.com" + path
    assert request["headers"].get("cal-api-version") == version
    assert request["headers"]["Authorization"] == "Bearer <redacted>"
    assert request["warnings"] == []
    assert isinstance(request["body"], dict) and request["body"]


def test_preview_of_the_first_example_body() -> None:
    result = calsink("preview", "examples/create-booking.yaml", "-n", "2", "--json")
    first, second = _json_lines(result.stdout)
    assert first["position"] == "leads.csv:2"
    fingerprint = first["body"]["metadata"]["calsink_key"]
    assert len(fingerprint) == 16  # what the run adds to find the booking again
    assert first["body"] == {
        "metadata": {"calsink_key": fingerprint},
        "start": "2030-01-07T14:00:00Z",
        "eventTypeId": 1,
        "attendee": {
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "timeZone": "Europe/London",
        },
    }
    assert second["position"] == "leads.csv:3"


def test_preview_human_output_redacts_authorization() -> None:
    result = calsink("preview", "examples/create-schedule.yaml", "-n", "1")
    assert result.returncode == 0
    assert "POST https://api.cal.com/v2/schedules" in result.stderr
    assert "Authorization: Bearer <redacted>" in result.stderr
    assert '"isDefault": false' in result.stderr


def test_preview_redacts_a_webhook_secret(tmp_path: Path) -> None:
    data = tmp_path / "hooks.jsonl"
    data.write_text(
        '{"subscriberUrl":"https://h.example/x","triggers":["OOO_CREATED"],"secret":"s3cr3t-value"}\n'
    )
    flow = tmp_path / "w.yaml"
    flow.write_text(
        f"version: 1\nname: w\nsource: {{path: '{data}'}}\n"
        "destination: {template: create-webhook}\n"
    )
    for args in (("--json",), ()):
        result = calsink("preview", str(flow), *args)
        assert result.returncode == 0
        assert "s3cr3t-value" not in result.stdout + result.stderr
    assert _json_lines(calsink("preview", str(flow), "--json").stdout)[0]["body"]["secret"] == "***"


REFERENCE_EXAMPLES = {
    "reschedule-booking.yaml": "no uid recorded by flow book-demos",
    "cancel-booking.yaml": "no uid recorded by flow book-demos",
    "confirm-booking.yaml": "no uid recorded by flow book-demos",
    "manual-decline-booking.yaml": "no uid recorded by flow book-demos",
    "delete-event-type.yaml": "no id recorded by flow create-event-types",
}


@pytest.mark.parametrize("name", sorted(REFERENCE_EXAMPLES))
def test_reference_examples_without_a_ledger_say_why(name: str, tmp_path: Path) -> None:
    result = calsink(
        "validate", f"examples/{name}", "--ledger", str(tmp_path / "none.db"), "--json"
    )
    assert result.returncode == 1
    rows = _json_lines(result.stdout)
    assert rows and all(REFERENCE_EXAMPLES[name] in row["reason"] for row in rows)
