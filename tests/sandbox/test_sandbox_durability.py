"""`calsink sandbox --state FILE` acknowledges a write only once it is durable: a sandbox
killed with SIGKILL while creates are in flight, then restarted on the same file, still
holds every booking it answered 201 and gives no acknowledged id to another booking; every
kind of change survives the same way; the log of changes is folded into the file, and a
write cut short (never acknowledged) is ignored."""

from __future__ import annotations

import asyncio
import http.client
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench._csvgen import slots

from calsink.sandbox.model import Webhook
from calsink.sandbox.persistence import Persister, load, log_path
from calsink.sandbox.seed import seeded_store
from support.sandbox import SandboxHandle, running_sandbox

CREATES = 600
CLIENTS = 16
KILL_AFTER = 150


def booking(start: str, number: int) -> dict[str, object]:
    return {
        "start": start,
        "eventTypeId": 1,
        "attendee": {
            "name": f"Lead {number}",
            "email": f"lead{number}@example.com",
            "timeZone": "UTC",
        },
    }


def create_until_killed(sandbox: SandboxHandle, starts: list[str]) -> dict[str, int]:
    """Send the creates from ``CLIENTS`` threads; SIGKILL the sandbox as soon as
    ``KILL_AFTER`` have been answered 201. Returns uid → id of every 201 answer."""
    acknowledged: dict[str, int] = {}
    lock = threading.Lock()

    def create(number: int) -> None:
        try:
            answer = sandbox.call("POST", "/v2/bookings", booking(starts[number], number))
        except (OSError, http.client.HTTPException):
            return  # in flight when the sandbox died: its answer never arrived whole
        if answer.status != 201:
            return
        with lock:
            acknowledged[answer.data["uid"]] = answer.data["id"]
            if len(acknowledged) == KILL_AFTER:
                sandbox.process.kill()

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(create, range(CREATES)))
    return acknowledged


def test_every_booking_answered_201_survives_a_sigkill_and_no_id_is_reused(
    tmp_path: Path,
) -> None:
    state = tmp_path / "sandbox.json"
    starts = slots(CREATES + 20)
    with running_sandbox("--state", str(state), "--rate-limit", "1000000") as sandbox:
        acknowledged = create_until_killed(sandbox, starts)
        sandbox.process.wait(timeout=10)
    assert len(acknowledged) >= KILL_AFTER

    with running_sandbox("--state", str(state), "--rate-limit", "1000000") as sandbox:
        kept = {b["uid"]: b["id"] for b in sandbox.state()["bookings"]}
        lost = {uid: id_ for uid, id_ in acknowledged.items() if kept.get(uid) != id_}
        assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged bookings were lost"
        new_ids = []
        for number in range(CREATES, CREATES + 20):
            answer = sandbox.call("POST", "/v2/bookings", booking(starts[number], number))
            assert answer.status == 201, answer.body
            new_ids.append(answer.data["id"])
    reused = set(new_ids) & set(acknowledged.values())
    assert not reused, f"ids {sorted(reused)} were given again after the restart"
    assert len(set(kept.values())) == len(kept)


def change_everything(sandbox: SandboxHandle) -> None:
    """One acknowledged change of each kind the API makes: create, update, delete, cancel,
    reschedule, confirm, take and give back a seat, a new default schedule, an entry out
    of office."""

    def ok(method: str, path: str, body: object = None) -> dict[str, object]:
        answer = sandbox.call(method, path, body)
        assert answer.status in (200, 201), (method, path, answer.body)
        data: dict[str, object] = answer.data
        return data

    first, second, third = (
        ok("POST", "/v2/bookings", booking(s, n)) for n, s in enumerate(slots(3))
    )
    ok("POST", f"/v2/bookings/{first['uid']}/cancel", {"cancellationReason": "ill"})
    ok("POST", f"/v2/bookings/{second['uid']}/reschedule", {"start": slots(4)[3]})
    pending = ok("POST", "/v2/bookings", {**booking(slots(5)[4], 5), "eventTypeId": 2})
    ok("POST", f"/v2/bookings/{pending['uid']}/confirm")
    seats = [
        ok("POST", "/v2/bookings", {**booking("2030-01-09T15:00:00Z", 10 + n), "eventTypeId": 4})
        for n in range(2)
    ]
    seat = {"seatUid": seats[0]["seatUid"], "cancellationReason": "ill"}
    ok("POST", f"/v2/bookings/{seats[0]['uid']}/cancel", seat)
    made = ok("POST", "/v2/event-types", {"title": "T", "slug": "temp", "lengthInMinutes": 30})
    ok("PATCH", f"/v2/event-types/{made['id']}", {"title": "Renamed"})
    ok("DELETE", "/v2/event-types/3")
    hook = {"subscriberUrl": "http://127.0.0.1:9/hook", "triggers": ["OOO_CREATED"], "active": True}
    kept, dropped = (
        ok("POST", "/v2/webhooks", hook),
        ok("POST", "/v2/webhooks", {**hook, "subscriberUrl": "http://127.0.0.1:9/other"}),
    )
    ok("PATCH", f"/v2/webhooks/{kept['id']}", {"active": False})
    ok("DELETE", f"/v2/webhooks/{dropped['id']}")
    evenings = [{"days": ["Monday"], "startTime": "18:00", "endTime": "21:00"}]
    schedule = {"name": "Evenings", "timeZone": "Europe/Berlin", "availability": evenings}
    ok("POST", "/v2/schedules", {**schedule, "isDefault": True})
    ok("POST", "/v2/me/ooo", {"start": "2030-02-01T00:00:00Z", "end": "2030-02-02T00:00:00Z"})
    assert third["uid"]


def records(state: dict[str, object]) -> dict[str, object]:
    return {name: value for name, value in state.items() if name != "deliveries"}


def test_every_kind_of_acknowledged_change_survives_a_sigkill(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.json"
    with running_sandbox("--state", str(state), "--rate-limit", "1000000") as sandbox:
        sandbox.reset()
        change_everything(sandbox)
        before = records(sandbox.state())
        sandbox.process.kill()
        sandbox.process.wait(timeout=10)
    with running_sandbox("--state", str(state), "--rate-limit", "1000000") as sandbox:
        assert records(sandbox.state()) == before


def test_the_log_is_folded_into_the_state_file_and_a_torn_last_line_is_ignored(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sandbox.json"
    store = seeded_store()
    persister = Persister(store, path, compact_bytes=600)
    persister.open()

    async def add_hooks() -> None:
        for number in range(12):
            hook = Webhook(f"hook{number}", 1, f"http://127.0.0.1:9/{number}", [], True, None, None)
            store.webhooks[hook.id] = hook
            store.touch(hook)
            await persister.durable()
        del store.webhooks["hook0"]
        store.touch(Webhook("hook0", 1, "", [], True, None, None))
        await persister.durable()

    asyncio.run(add_hooks())
    assert path.stat().st_size > 0 and log_path(path).stat().st_size < 600
    with log_path(path).open("ab") as log:
        log.write(b'{"counters": {}, "put": {"webhooks": [{"id": "torn"')
    loaded = load(path)
    assert loaded is not None
    assert sorted(loaded.webhooks) == sorted(f"hook{n}" for n in range(1, 12))
