"""Templates against today's Cal.com (upstream a36c1b79): what `calsink validate` and
`calsink preview` say about records upstream treats differently from the old contract.

Each case names the upstream rule it follows (docs/templates.md has the sources)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.adversarial.harness import cli, write_flow

NOWHERE = "http://127.0.0.1:9"  # validate and preview send nothing
KEY = "cal_test_upstream_templates_0000"


def _flow(
    tmp_path: Path, template: str, records: list[dict[str, Any]], transform: str = ""
) -> Path:
    data = tmp_path / "records.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return write_flow(
        tmp_path,
        NOWHERE,
        source="records.jsonl",
        name=template,
        template=template,
        transform=transform,
        key="[n]",
        extra="",
    )


def _validate(flow: Path) -> tuple[int, str]:
    result = cli("validate", str(flow), key=KEY, cwd=flow.parent)
    assert "Traceback" not in result.stderr
    return result.returncode, result.stderr


def _preview(flow: Path) -> list[dict[str, Any]]:
    result = cli("preview", str(flow), "--json", key=KEY, cwd=flow.parent)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def _about(warnings: list[str], field: str) -> list[str]:
    return [w for w in warnings if w.startswith(f"{field}:")]


def test_a_cancel_without_a_reason_is_flagged_before_the_host_s_key_sends_it(
    tmp_path: Path,
) -> None:
    # handleCancelBooking: 400 "Cancellation reason is required when you are the host"
    # when the key's owner cancels a booking they host without cancellationReason.
    flow = _flow(
        tmp_path,
        "cancel-booking",
        [
            {"n": 1, "uid": "bk_a", "why": ""},
            {"n": 2, "uid": "bk_b", "why": "Lead cancelled"},
            {"n": 3, "uid": "bk_c", "why": "  "},  # upstream trims the reason
        ],
        transform="transform:\n  map:\n    uid: '{uid}'\n"
        "    cancellationReason: 'none_if_empty(why)'\n",
    )
    code, err = _validate(flow)
    assert code == 0, err
    warned = [line for line in err.splitlines() if "warning: cancellationReason" in line]
    assert [line.split()[0] for line in warned] == ["records.jsonl:1", "records.jsonl:3"], err
    assert "when you are the host" in warned[0]
    shown = [_about(r["warnings"], "cancellationReason") for r in _preview(flow)]
    assert shown[0] and not shown[1] and shown[2]


def test_a_schedule_without_availability_is_valid(tmp_path: Path) -> None:
    # CreateScheduleInput_2024_06_11 requires name, timeZone and isDefault only; upstream
    # fills Monday to Friday, 09:00 to 17:00.
    flow = _flow(tmp_path, "create-schedule", [{"n": 1, "name": "Default", "timeZone": "UTC"}])
    code, err = _validate(flow)
    assert code == 0, err
    assert "rejected 0" in err
    (request,) = _preview(flow)
    assert "availability" not in request["body"]


def test_confirm_sends_no_reason(tmp_path: Path) -> None:
    # POST /v2/bookings/{uid}/confirm has no request body upstream; `reason` is decline's.
    flow = _flow(
        tmp_path,
        "confirm-booking",
        [{"n": 1, "uid": "bk_a", "reason": "looks good"}],
        transform="transform:\n  map:\n    uid: '{uid}'\n    reason: '{reason}'\n",
    )
    (request,) = _preview(flow)
    assert request["body"] == {}
    shown = cli("templates", "confirm-booking", "--json", key=KEY, cwd=tmp_path)
    assert "reason" not in json.loads(shown.stdout)["optional"]


def test_a_booking_with_meeting_url_is_warned_that_upstream_deprecates_it(tmp_path: Path) -> None:
    # CreateBookingInput_2024_08_13.meetingUrl is marked deprecated upstream.
    record = {
        "n": 1,
        "start": "2030-01-07T14:00:00Z",
        "eventTypeId": 1,
        "attendee": {"name": "Ada", "email": "ada@example.com", "timeZone": "UTC"},
        "meetingUrl": "https://meet.example.org/ada",
    }
    flow = _flow(tmp_path, "create-booking", [record, {**record, "n": 2, "meetingUrl": None}])
    code, err = _validate(flow)
    assert code == 0, err
    warned = [line for line in err.splitlines() if "warning: meetingUrl" in line]
    assert len(warned) == 1 and "records.jsonl:1" in warned[0] and "deprecated" in warned[0]
    shown = [_about(r["warnings"], "meetingUrl") for r in _preview(flow)]
    assert shown[0] and not shown[1]


def test_the_routing_form_fallback_trigger_is_valid(tmp_path: Path) -> None:
    # CreateWebhookInputDto.triggers lists ROUTING_FORM_FALLBACK_HIT (21 triggers).
    flow = _flow(
        tmp_path,
        "create-webhook",
        [
            {
                "n": 1,
                "subscriberUrl": "https://hooks.example.org/cal",
                "triggers": ["ROUTING_FORM_FALLBACK_HIT"],
            }
        ],
    )
    code, err = _validate(flow)
    assert code == 0, err
    assert "rejected 0" in err
