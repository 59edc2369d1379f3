"""A sandbox whose demo account holds what its API cannot make: a booking that has taken
place (mark absent), and a round-robin event type with a booking on it (reassign).

The sandbox books nothing in the past (as Cal.com does) and its event types have one
owner, so such tests start the sandbox on a state file holding them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from calsink.sandbox.model import Booking, EventType, Store
from calsink.sandbox.seed import seeded_store
from support.sandbox import SandboxHandle, running_sandbox

PAST_UID = "bk_past_intro_call"  # the uid examples/no-shows.csv names
PAST_START = datetime(2020, 1, 6, 14, 0, tzinfo=UTC)
ROUND_ROBIN_UID = "bk_round_robin_demo"  # the uid examples/reassignments.csv names
ROUND_ROBIN_START = datetime(2030, 1, 7, 16, 0, tzinfo=UTC)  # Monday 11:00 in New York
ROUND_ROBIN_TYPE = 5


def _booking(store: Store, uid: str, event_type_id: int, start: datetime) -> Booking:
    return Booking(
        id=store.next_id("booking"),
        uid=uid,
        event_type_id=event_type_id,
        host_id=1,
        title="A meeting between Demo User and Ada Lovelace",
        description="",
        status="accepted",
        start=start,
        end=start + timedelta(minutes=30),
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
        created_at=start - timedelta(days=7),
        updated_at=start - timedelta(days=7),
        ics_uid=f"{uid}@sandbox.calsink",
    )


def write_state(path: Path) -> None:
    store = seeded_store()
    store.add_booking(_booking(store, PAST_UID, 1, PAST_START))
    spec = {
        "title": "Round Robin Demo",
        "slug": "round-robin-demo",
        "lengthInMinutes": 30,
        "description": "",
        "schedulingType": "roundRobin",
        "hosts": [{"userId": 1}, {"userId": 2}],
    }
    store.event_types[ROUND_ROBIN_TYPE] = EventType(ROUND_ROBIN_TYPE, 1, spec)
    store.counters["event_type"] = ROUND_ROBIN_TYPE
    store.add_booking(_booking(store, ROUND_ROBIN_UID, ROUND_ROBIN_TYPE, ROUND_ROBIN_START))
    path.write_bytes(orjson.dumps(store.to_json(), option=orjson.OPT_UTC_Z))


@contextlib.contextmanager
def sandbox_with_past_and_round_robin_bookings(folder: Path) -> Iterator[SandboxHandle]:
    state = folder / "sandbox-state.json"
    write_state(state)
    with running_sandbox("--rate-limit", "1000000", "--state", str(state)) as handle:
        yield handle
