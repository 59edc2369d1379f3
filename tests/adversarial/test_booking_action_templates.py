"""The booking-action templates (decline, add guests, update location, mark absent,
reassign) through the real CLI against the sandbox: each example flow has its effect, and a request
whose answer was lost is not carried out twice when it is sent again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.adversarial.harness import cli, summary
from tests.delivery.e2e import copy_examples, run_flow
from tests.support.booking_states import (
    PAST_UID,
    ROUND_ROBIN_UID,
    sandbox_with_past_and_round_robin_bookings,
)
from tests.support.sandbox import SandboxHandle


def _booking_of(sandbox: SandboxHandle, email: str) -> dict[str, Any]:
    found = [
        b for b in sandbox.state()["bookings"] if any(a["email"] == email for a in b["attendees"])
    ]
    assert len(found) == 1, found
    return found[0]


def _booking_with(sandbox: SandboxHandle, uid: str) -> dict[str, Any]:
    found = [b for b in sandbox.state()["bookings"] if b["uid"] == uid]
    assert len(found) == 1, found
    return found[0]


def _posts(sandbox: SandboxHandle, suffix: str) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests() if r["method"] != "GET" and r["path"].endswith(suffix)]


def _sent_once_though_first_answer_lost(
    sandbox: SandboxHandle, cwd: Path, route: str, flow: str, suffix: str
) -> None:
    """Run ``flow`` with the answer to its first request to ``route`` lost: its record is
    delivered, and only one request reached the path ending in ``suffix``."""
    sandbox.set_faults({"spec": f"drop-after#1:{route}"})
    counts = run_flow(cwd, sandbox, flow)
    assert counts["delivered"] == 1, counts
    assert len(_posts(sandbox, suffix)) == 1


def test_the_decline_example_declines_the_pending_intro_call(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    cwd = copy_examples(tmp_path)
    run_flow(cwd, sandbox, "examples/create-booking.yaml")
    counts = run_flow(cwd, sandbox, "examples/decline-booking.yaml")
    assert (counts["delivered"], counts["rejected"], counts["dead"]) == (1, 0, 0)
    assert _booking_of(sandbox, "barbara@example.com")["status"] == "rejected"


def test_a_decline_already_made_is_skipped_not_sent_again(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """Cal.com declines a declined booking again and mails the attendee again
    (confirm.handler.ts@008952de, confirmHandler refuses only an accepted booking): the
    status guard reads the booking first."""
    cwd = copy_examples(tmp_path)
    run_flow(cwd, sandbox, "examples/create-booking.yaml")
    run_flow(cwd, sandbox, "examples/manual-decline-booking.yaml")
    sandbox.clear_requests()
    counts = run_flow(cwd, sandbox, "examples/decline-booking.yaml")
    assert counts["skipped"] == 1 and counts["delivered"] == 0
    assert _posts(sandbox, "/decline") == []


def test_a_decline_whose_answer_was_lost_is_made_once(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    cwd = copy_examples(tmp_path)
    run_flow(cwd, sandbox, "examples/create-booking.yaml")
    sandbox.clear_requests()
    _sent_once_though_first_answer_lost(
        sandbox, cwd, "POST /v2/bookings/{uid}/decline", "examples/decline-booking.yaml", "/decline"
    )
    assert _booking_of(sandbox, "barbara@example.com")["status"] == "rejected"


def test_the_add_guests_example_adds_charles_to_ada_s_demo(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    cwd = copy_examples(tmp_path)
    run_flow(cwd, sandbox, "examples/create-booking.yaml")
    counts = run_flow(cwd, sandbox, "examples/add-guests.yaml")
    assert (counts["delivered"], counts["rejected"], counts["dead"]) == (1, 0, 0)
    assert _booking_of(sandbox, "ada@example.com")["guests"] == ["charles@example.com"]


def test_guests_whose_answer_was_lost_are_added_once(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    cwd = copy_examples(tmp_path)
    run_flow(cwd, sandbox, "examples/create-booking.yaml")
    sandbox.clear_requests()
    _sent_once_though_first_answer_lost(
        sandbox, cwd, "POST /v2/bookings/{uid}/guests", "examples/add-guests.yaml", "/guests"
    )
    assert _booking_of(sandbox, "ada@example.com")["guests"] == ["charles@example.com"]


def test_more_than_ten_guests_in_one_record_are_rejected_before_sending(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    (tmp_path / "guests.jsonl").write_text(
        '{"uid": "bk_1", "guests": ['
        + ", ".join(f'{{"email": "g{i}@example.com"}}' for i in range(11))
        + "]}\n"
    )
    flow = tmp_path / "flow.yaml"
    flow.write_text(
        "version: 1\nname: many-guests\nsource: {path: guests.jsonl}\n"
        "destination: {api_key_env: CAL_API_KEY, base_url: "
        f"{sandbox.url}, template: add-guests}}\n"
        "delivery: {key: [uid]}\n"
    )
    result = cli("validate", str(flow), key=sandbox.api_key, cwd=tmp_path)
    assert result.returncode != 0
    assert "guests: expected 1 to 10 guests (Cal.com adds at most 10 at a time)" in result.stderr


def test_the_location_example_moves_alan_s_demo_to_his_link(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    cwd = copy_examples(tmp_path)
    run_flow(cwd, sandbox, "examples/create-booking.yaml")
    counts = run_flow(cwd, sandbox, "examples/update-booking-location.yaml")
    assert (counts["delivered"], counts["rejected"], counts["dead"]) == (1, 0, 0)
    moved = _booking_of(sandbox, "alan@example.com")
    assert moved["location"] == "https://meet.example.com/alan-turing"


def test_a_location_change_whose_answer_was_lost_is_sent_once(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """A resend would tell the attendees again (booking-location.service.ts@42dd5c25,
    sendLocationChangeNotifications): the booking is read first."""
    cwd = copy_examples(tmp_path)
    run_flow(cwd, sandbox, "examples/create-booking.yaml")
    sandbox.clear_requests()
    _sent_once_though_first_answer_lost(
        sandbox,
        cwd,
        "PATCH /v2/bookings/{uid}/location",
        "examples/update-booking-location.yaml",
        "/location",
    )


def test_a_location_without_the_value_of_its_type_is_rejected_before_sending(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    (tmp_path / "moves.jsonl").write_text('{"uid": "bk_1", "location": {"type": "link"}}\n')
    flow = tmp_path / "flow.yaml"
    flow.write_text(
        "version: 1\nname: moves\nsource: {path: moves.jsonl}\n"
        "destination: {api_key_env: CAL_API_KEY, base_url: "
        f"{sandbox.url}, template: update-booking-location}}\n"
        "delivery: {key: [uid]}\n"
    )
    result = cli("validate", str(flow), key=sandbox.api_key, cwd=tmp_path)
    assert result.returncode != 0
    assert "location.link: expected the link of a location of type link (required)" in (
        result.stderr
    )


def test_the_no_show_example_marks_ada_absent_from_a_past_meeting(tmp_path: Path) -> None:
    cwd = copy_examples(tmp_path)
    with sandbox_with_past_and_round_robin_bookings(tmp_path) as sandbox:
        counts = run_flow(cwd, sandbox, "examples/mark-absent.yaml")
        assert (counts["delivered"], counts["rejected"], counts["dead"]) == (1, 0, 0)
        past = _booking_with(sandbox, PAST_UID)
    assert [a.get("absent") for a in past["attendees"]] == [True]


def test_a_no_show_whose_answer_was_lost_is_sent_once(tmp_path: Path) -> None:
    """A resend fires BOOKING_NO_SHOW_UPDATED again (handleMarkNoShow.ts@03670679): the
    booking is read first."""
    cwd = copy_examples(tmp_path)
    with sandbox_with_past_and_round_robin_bookings(tmp_path) as sandbox:
        _sent_once_though_first_answer_lost(
            sandbox,
            cwd,
            "POST /v2/bookings/{uid}/mark-absent",
            "examples/mark-absent.yaml",
            "/mark-absent",
        )


def test_the_reassign_examples_hand_the_round_robin_demo_on_and_back(tmp_path: Path) -> None:
    cwd = copy_examples(tmp_path)
    with sandbox_with_past_and_round_robin_bookings(tmp_path) as sandbox:
        counts = run_flow(cwd, sandbox, "examples/reassign-booking.yaml")
        assert (counts["delivered"], counts["rejected"], counts["dead"]) == (1, 0, 0)
        assert _booking_with(sandbox, ROUND_ROBIN_UID)["hosts"][0]["id"] == 2
        counts = run_flow(cwd, sandbox, "examples/reassign-booking-to-user.yaml")
        assert (counts["delivered"], counts["rejected"], counts["dead"]) == (1, 0, 0)
        assert _booking_with(sandbox, ROUND_ROBIN_UID)["hosts"][0]["id"] == 1


def test_an_automatic_reassignment_whose_answer_was_lost_is_not_sent_again(
    tmp_path: Path,
) -> None:
    """A resend would pick yet another host (roundRobinReassignment): nothing tells an
    earlier attempt's reassignment apart, so the record ends unsure, sent once."""
    cwd = copy_examples(tmp_path)
    with sandbox_with_past_and_round_robin_bookings(tmp_path) as sandbox:
        sandbox.set_faults({"spec": "drop-after#1:POST /v2/bookings/{uid}/reassign"})
        result = cli(
            "run",
            "examples/reassign-booking.yaml",
            "--json",
            "--base-url",
            sandbox.url,
            key=sandbox.api_key,
            cwd=cwd,
        )
        counts = summary(result)
        assert (counts["delivered"], counts["dead"]) == (0, 1), counts
        assert len(_posts(sandbox, "/reassign")) == 1
        assert _booking_with(sandbox, ROUND_ROBIN_UID)["hosts"][0]["id"] == 2
    letters = cwd / "examples" / "out" / "reassign-round-robin.dead-letters.jsonl"
    assert "an automatic reassignment leaves nothing to tell" in letters.read_text()


def test_a_reassignment_to_a_user_whose_answer_was_lost_is_sent_once(tmp_path: Path) -> None:
    cwd = copy_examples(tmp_path)
    (cwd / "examples" / "host-changes.csv").write_text(
        "booking_uid,new_host_id,reason\nbk_round_robin_demo,2,Ada is on leave\n"
    )
    with sandbox_with_past_and_round_robin_bookings(tmp_path) as sandbox:
        _sent_once_though_first_answer_lost(
            sandbox,
            cwd,
            "POST /v2/bookings/{uid}/reassign/{id}",
            "examples/reassign-booking-to-user.yaml",
            "/reassign/2",
        )
        assert _booking_with(sandbox, ROUND_ROBIN_UID)["hosts"][0]["id"] == 2


def test_a_decline_of_a_confirmed_booking_is_rejected_before_sending(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """Cal.com answers 400 "Booking already confirmed" (confirmHandler): the status guard
    says so first, with what to do instead."""
    cwd = copy_examples(tmp_path)
    run_flow(cwd, sandbox, "examples/create-booking.yaml")
    (cwd / "examples" / "declines.csv").write_text(
        "email,booked_at,reason\nada@example.com,2030-01-07T14:00:00Z,No longer needed\n"
    )
    sandbox.clear_requests()
    result = cli(
        "run",
        "examples/decline-booking.yaml",
        "--json",
        "--yes",
        "--base-url",
        sandbox.url,
        key=sandbox.api_key,
        cwd=cwd,
    )
    assert summary(result)["rejected"] == 1
    letters = (cwd / "examples" / "out" / "decline-intros.dead-letters.jsonl").read_text()
    assert "expected a pending booking (only those can be declined)" in letters
    assert "which is confirmed (accepted)" in letters and "cancel it instead" in letters
    assert _posts(sandbox, "/decline") == []
    assert _booking_of(sandbox, "ada@example.com")["status"] == "accepted"
