"""`calsink sandbox` as a user starts it: readiness, keys, state file, flags."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sandbox_contract import checked

from support.sandbox import running_sandbox

BOOKING = {
    "start": "2030-01-07T14:00:00Z",
    "eventTypeId": 1,
    "attendee": {"name": "Ada", "email": "ada@example.com", "timeZone": "UTC"},
}


def test_ready_quickly_with_a_generated_key_printed() -> None:
    with running_sandbox(api_key=None, admin=False) as sandbox:
        assert sandbox.startup_s < 2.0, f"took {sandbox.startup_s:.2f}s to listen"
        assert sandbox.api_key.startswith("cal_test_")
        assert sandbox.call("GET", "/health", version=None, api_key=None).status == 200
        assert checked(sandbox.call("GET", "/v2/me")).status == 200
        assert checked(sandbox.call("GET", "/_sandbox/state")).status == 404


def test_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.json"
    with running_sandbox("--state", str(state)) as sandbox:
        made = checked(sandbox.call("POST", "/v2/bookings", BOOKING))
        assert made.status == 201
        uid = made.data["uid"]
    assert json.loads(state.read_text())["bookings"][0]["uid"] == uid
    with running_sandbox("--state", str(state)) as sandbox:
        assert checked(sandbox.call("GET", f"/v2/bookings/{uid}")).data["status"] == "accepted"
        assert checked(sandbox.call("POST", "/v2/bookings", BOOKING)).status == 400
        second = checked(
            sandbox.call("POST", "/v2/bookings", {**BOOKING, "start": "2030-01-07T15:00:00Z"})
        )
        assert second.data["id"] == 2


def test_empty_start_and_faults_from_the_command_line() -> None:
    with running_sandbox("--empty", "--faults", "503@1#1:GET /v2/event-types") as sandbox:
        assert checked(sandbox.call("GET", "/v2/event-types")).status == 503
        listed = checked(sandbox.call("GET", "/v2/event-types"))
        assert listed.status == 200 and listed.data == []
        assert checked(sandbox.call("GET", "/v2/me")).data["defaultScheduleId"] is None


def test_a_bad_fault_spec_is_explained() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "calsink", "sandbox", "--port", "0", "--faults", "explode@1"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "explode" in result.stderr and "--faults" in result.stderr


def test_embedded_in_a_thread_for_callers_with_their_own_process() -> None:
    import urllib.request

    from calsink.sandbox import SandboxApp, SandboxConfig, start_in_thread

    running = start_in_thread(SandboxApp(SandboxConfig(api_keys=["cal_test_embedded"])))
    try:
        request = urllib.request.Request(
            running.url + "/v2/me", headers={"Authorization": "Bearer cal_test_embedded"}
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert json.loads(answer.read())["data"]["username"] == "demo"
    finally:
        running.stop()
    assert not running.alive
