"""Every example flow (one per template, and the manual one) through the real CLI against
the sandbox, in the order a user would run them; the sandbox's state shows the effects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.delivery.e2e import copy_examples, files_text, run_examples
from tests.support.sandbox import SandboxHandle

pytestmark = pytest.mark.e2e

ORDER = [
    "create-booking",
    "reschedule-booking",
    "confirm-booking",
    "cancel-booking",
    "manual-decline-booking",
    "create-event-type",
    "update-event-type",
    "delete-event-type",
    "create-schedule",
    "create-webhook",
    "create-out-of-office",
]


def booking_of(state: dict[str, Any], email: str) -> list[dict[str, Any]]:
    return [b for b in state["bookings"] if any(a["email"] == email for a in b["attendees"])]


def test_every_template_has_its_effect_in_the_sandbox(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    run_examples(copy_examples(tmp_path), sandbox, ORDER)
    state = sandbox.state()
    grace = booking_of(state, "grace@example.com")
    assert sorted(b["status"] for b in grace) == ["accepted", "cancelled"]
    assert any(b.get("rescheduledFromUid") for b in grace)
    assert [b["status"] for b in booking_of(state, "katherine@example.com")] == ["accepted"]
    assert [b["status"] for b in booking_of(state, "margaret@example.com")] == ["cancelled"]
    assert [b["status"] for b in booking_of(state, "barbara@example.com")] == ["rejected"]
    slugs = {e["slug"] for e in state["event_types"]}
    assert "quick-chat" not in slugs and len(slugs) == 5
    assert len(state["schedules"]) == 4
    assert len(state["webhooks"]) == 2
    assert len(state["ooo"]) == 2
    assert sandbox.api_key not in files_text(tmp_path)
