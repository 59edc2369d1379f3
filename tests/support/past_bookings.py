"""A sandbox whose demo account already has a booking that has taken place.

The sandbox books nothing in the past (as Cal.com does), so a test that needs a past
booking (mark absent) starts the sandbox on a state file holding one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from calsink.sandbox.model import Booking
from calsink.sandbox.seed import seeded_store
from support.sandbox import SandboxHandle, running_sandbox

PAST_UID = "bk_past_intro_call"  # the uid examples/no-shows.csv names
PAST_START = datetime(2020, 1, 6, 14, 0, tzinfo=UTC)


def write_state(path: Path) -> None:
    store = seeded_store()
    store.add_booking(
        Booking(
            id=store.next_id("booking"),
            uid=PAST_UID,
            event_type_id=1,
            host_id=1,
            title="30 Minute Meeting between Demo User and Ada Lovelace",
            description="",
            status="accepted",
            start=PAST_START,
            end=PAST_START + timedelta(minutes=30),
            attendees=[
                {
                    "name": "Ada Lovelace",
                    "email": "ada@example.com",
                    "timeZone": "Europe/London",
                    "language": "en",
                }
            ],
            guests=[],
            location="integrations:daily",
            metadata={},
            responses={"name": "Ada Lovelace", "email": "ada@example.com"},
            created_at=PAST_START - timedelta(days=7),
            updated_at=PAST_START - timedelta(days=7),
            ics_uid=f"{PAST_UID}@sandbox.calsink",
        )
    )
    path.write_bytes(orjson.dumps(store.to_json(), option=orjson.OPT_UTC_Z))


@contextlib.contextmanager
def sandbox_with_a_past_booking(folder: Path) -> Iterator[SandboxHandle]:
    state = folder / "sandbox-state.json"
    write_state(state)
    with running_sandbox("--rate-limit", "1000000", "--state", str(state)) as handle:
        yield handle
