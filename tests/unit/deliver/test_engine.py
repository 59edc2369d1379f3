"""The engine against an in-process API on a real socket: outcomes, retries, once-only."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from tests.delivery.fakeapi import KEY, FakeApi, serve

from calsink import journal
from calsink import ledger as ledger_module
from calsink.deadletters import DeadLetterWriter, read_dead_letters
from calsink.deliver import Engine, EngineSettings, Outcome
from calsink.deliver.engine import ABORT_AUTH, ABORT_DESTRUCTIVE, EngineResult
from calsink.flow import DestinationSettings
from calsink.http.ratelimit import RateLimiter
from calsink.http.retry import Backoff
from calsink.http.transport import Transport
from calsink.ledger import Ledger, LedgerWriter
from calsink.presend import AlreadyDone, KeyRefused
from calsink.records import Filtered, Position, Problem, Rejection, Request
from calsink.render import Renderer
from calsink.responses import ResponseSinks

pytestmark = pytest.mark.anyio

FAST = Backoff(initial_s=0.01, max_s=0.05, jitter_s=0.01)


def _render(url: str, template: str, key: list[str], index: int, record: dict[str, Any]) -> Request:
    """The request render makes of ``record`` (a booking's carries its fingerprint)."""
    destination = DestinationSettings.model_validate(
        {"api_key_env": "CALSINK_TEST_KEY", "base_url": url, "template": template}
    )
    renderer = Renderer(destination, key_fields=key, fingerprint_flow="book")
    request = renderer.render(Position("leads.csv", index, index + 2), record, record)
    assert isinstance(request, Request), request
    return request


def booking(url: str, index: int, *, email: str | None = None) -> Request:
    payload = {
        "start": f"2030-01-07T{10 + index % 8:02d}:{index % 60:02d}:00Z",
        "eventTypeId": 1,
        "attendee": {
            "name": f"Lead {index}",
            "email": email or f"lead{index}@example.com",
            "timeZone": "UTC",
        },
    }
    return _render(url, "create-booking", ["attendee.email", "start"], index, payload)


def cancel(url: str, uid: str, index: int) -> Request:
    return _render(url, "cancel-booking", ["uid"], index, {"uid": uid})


async def deliver(
    tmp_path: Path, items: list[Any], *, key: str = KEY, flow: str = "book", **options: Any
) -> tuple[EngineResult, Path]:
    pre_send = options.pop("pre_send", None)
    ledger = Ledger(tmp_path / "ledger.db")
    run_id = ledger.begin_run(flow, "run")
    sinks = ResponseSinks(jsonl=tmp_path / "responses.jsonl", secrets=[key])
    dead = DeadLetterWriter(tmp_path / "dead.jsonl", secrets=[key])
    settings = EngineSettings(flow=flow, backoff=FAST, **options)
    writer = LedgerWriter(ledger, flow, run_id)
    try:
        async with Transport(key, timeout_s=options.get("timeout_s", 5.0)) as transport:
            engine = Engine(
                settings,
                transport=transport,
                ledger=ledger,
                writer=writer,
                limiter=RateLimiter(600_000, burst=8),
                sinks=sinks,
                dead_letters=dead,
                pre_send=pre_send,
            )
            result = await engine.run(items)
    finally:
        writer.close()
        await sinks.close()
        dead.close()
        ledger.close()
    return result, tmp_path


async def test_every_record_delivered_once_and_a_rerun_skips_them(tmp_path: Path) -> None:
    async with serve(FakeApi()) as api:
        requests = [booking(api.url, i) for i in range(40)]
        result, _ = await deliver(tmp_path, requests)
        assert result.summary.to_json() == {
            "read": 40,
            "delivered": 40,
            "skipped": 0,
            "rejected": 0,
            "failed": 0,
            "dead": 0,
            "planned": 0,
        }
        again, _ = await deliver(tmp_path, requests)
    assert again.summary.skipped == 40 and again.summary.delivered == 0
    assert len(api.bookings) == 40
    assert all(b["metadata"]["calsink_key"] for b in api.bookings)
    ledger = Ledger(tmp_path / "ledger.db")
    assert ledger.counts("book") == {"delivered": 40}
    entry = ledger.get("book", requests[3].key)
    ledger.close()
    assert entry is not None and entry.identifier is not None and entry.attempts == 1


async def test_a_run_ends_once_its_last_outcomes_are_committed_without_waiting_for_company(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Outcomes nobody awaits wait a while for others to share their transaction; at the
    # end of a run nothing else is coming, so the last ones go at once.
    monkeypatch.setattr(ledger_module, "_LAZY_S", 60.0)
    async with serve(FakeApi()) as api:
        requests = [booking(api.url, i) for i in range(3)]
        started = asyncio.get_running_loop().time()
        result, _ = await deliver(tmp_path, requests)
        took = asyncio.get_running_loop().time() - started
    assert took < 30, f"the run waited {took:.0f} s for outcomes that no other write would join"
    assert result.summary.delivered == 3
    ledger = Ledger(tmp_path / "ledger.db")
    assert ledger.counts("book") == {"delivered": 3}
    ledger.close()


async def test_throttling_and_server_errors_are_retried(tmp_path: Path) -> None:
    async with serve(FakeApi(script=["429", "503", "429", "503", "ok", "503"])) as api:
        result, _ = await deliver(tmp_path, [booking(api.url, i) for i in range(5)])
    assert result.summary.delivered == 5
    assert len(api.bookings) == 5


async def test_a_create_answered_with_5xx_after_it_took_effect_is_not_sent_twice(
    tmp_path: Path,
) -> None:
    async with serve(FakeApi(script=["503-after", "drop-after"])) as api:
        result, _ = await deliver(
            tmp_path, [booking(api.url, 0), booking(api.url, 1)], concurrency=1
        )
    assert result.summary.delivered == 2
    assert len(api.bookings) == 2, "the look-up found the booking; it was not created again"
    assert api.gets >= 2


async def test_other_4xx_fail_at_once_with_the_message_in_the_dead_letters(
    tmp_path: Path,
) -> None:
    async with serve(FakeApi(script=["ok", "400"])) as api:
        result, out = await deliver(
            tmp_path, [booking(api.url, 0), booking(api.url, 1)], concurrency=1
        )
    assert (result.summary.delivered, result.summary.failed) == (1, 1)
    letters = list(read_dead_letters(out / "dead.jsonl"))
    assert [(d.outcome, d.status) for d in letters] == [("failed", 400)]
    assert "slot not available" in letters[0].reason
    assert api.posts == 2


async def test_retries_exhausted_make_a_dead_record(tmp_path: Path) -> None:
    async with serve(FakeApi(script=["503"] * 3)) as api:
        result, out = await deliver(tmp_path, [booking(api.url, 0)], max_attempts=3)
    assert result.summary.dead == 1
    assert [d.outcome for d in read_dead_letters(out / "dead.jsonl")] == ["dead"]


async def test_a_wrong_key_stops_at_the_first_record(tmp_path: Path) -> None:
    async with serve(FakeApi()) as api:
        requests = [booking(api.url, i) for i in range(30)]
        result, out = await deliver(tmp_path, requests, key="cal_wrong_key_123456")
    assert result.aborted == ABORT_AUTH
    assert api.posts == 1
    assert result.summary.failed == 1
    text = (out / "responses.jsonl").read_text() + (out / "dead.jsonl").read_text()
    assert "cal_wrong_key_123456" not in text


class RefusingChecks:
    """A pre-send check whose look-up Cal.com answers 401."""

    def __init__(self) -> None:
        self.asked = 0

    def applies_to(self, request: Request) -> bool:
        return True

    async def check(self, request: Request) -> Rejection | AlreadyDone | None:
        self.asked += 1
        raise KeyRefused("GET /v2/bookings/x: Cal.com refused the API key (401)")


async def test_a_key_refused_while_checking_stops_the_run_before_anything_is_sent(
    tmp_path: Path,
) -> None:
    checks = RefusingChecks()
    async with serve(FakeApi()) as api:
        requests = [booking(api.url, i) for i in range(5)]
        result, _ = await deliver(tmp_path, requests, concurrency=1, pre_send=checks)
    assert result.aborted == ABORT_AUTH
    assert api.posts == 0 and checks.asked == 1


async def test_rejections_and_filtered_records_are_counted(tmp_path: Path) -> None:
    rejection = Rejection(Position("a.csv", 0, 2), (Problem("start", "an ISO date", "tomorrow"),))
    filtered = Filtered(Position("a.csv", 1, 3), "where is false")
    async with serve(FakeApi()) as api:
        result, out = await deliver(tmp_path, [rejection, filtered, booking(api.url, 2)])
    assert result.summary.to_json()["read"] == 3
    assert (result.summary.rejected, result.summary.skipped, result.summary.delivered) == (1, 1, 1)
    letters = list(read_dead_letters(out / "dead.jsonl"))
    assert letters[0].outcome == "rejected" and "start" in letters[0].reason


async def test_destructive_cap_stops_before_it_is_exceeded(tmp_path: Path) -> None:
    async with serve(FakeApi()) as api:
        await deliver(tmp_path, [booking(api.url, i) for i in range(5)])
        cancels = [cancel(api.url, b["uid"], i) for i, b in enumerate(api.bookings)]
        result, _ = await deliver(tmp_path, cancels, flow="cancel", max_destructive=3)
    assert result.aborted == ABORT_DESTRUCTIVE
    assert sum(b["status"] == "cancelled" for b in api.bookings) == 3
    assert result.summary.delivered == 3 and result.unfinished == 1


async def test_cancel_of_an_already_cancelled_booking_after_an_unsure_attempt_is_delivered(
    tmp_path: Path,
) -> None:
    async with serve(FakeApi()) as api:
        await deliver(tmp_path, [booking(api.url, 0)])
        request = cancel(api.url, api.bookings[0]["uid"], 0)
        ledger = Ledger(tmp_path / "ledger.db")
        writer = LedgerWriter(ledger, "cancel", ledger.begin_run("cancel", "run"))
        await writer.mark_in_flight(request.key, attempts=1, fingerprint=None, position="x")
        ledger.close()
        api.bookings[0]["status"] = "cancelled"  # the killed run's request did reach Cal.com
        result, _ = await deliver(tmp_path, [request], flow="cancel")
        fresh, _ = await deliver(tmp_path / "other", [cancel(api.url, "bk1", 0)], flow="cancel")
    assert result.summary.delivered == 1
    assert fresh.summary.failed == 1, "without an earlier attempt the refusal stands"


async def interrupt_after(
    seconds: float, tmp_path: Path, items: Any
) -> tuple[EngineResult, dict[str, int]]:
    """Deliver ``items``, cancel the run after ``seconds``; its result and ledger counts."""
    task = asyncio.create_task(deliver(tmp_path, items))
    await asyncio.sleep(seconds)
    task.cancel()
    result, _ = await task
    assert result.aborted == "interrupted"
    ledger = Ledger(tmp_path / "ledger.db")
    counts = ledger.counts("book")
    ledger.close()
    return result, counts


async def test_interrupting_finishes_what_is_in_flight(tmp_path: Path) -> None:
    async with serve(FakeApi()) as api:
        requests = [booking(api.url, i) for i in range(200)]

        async def slow() -> Any:
            for request in requests:
                await asyncio.sleep(0.005)
                yield request

        result, counts = await interrupt_after(0.3, tmp_path, slow())
    assert counts.get("delivered", 0) == result.summary.delivered == len(api.bookings)
    assert 0 < result.summary.delivered < 200


def test_outcome_values_match_the_spec() -> None:
    assert [o.value for o in Outcome] == ["delivered", "skipped", "rejected", "failed", "dead"]


async def test_an_interrupted_run_leaves_no_in_flight_mark_on_records_it_never_sent(
    tmp_path: Path,
) -> None:
    async with serve(FakeApi(latency_s=0.02)) as api:
        requests = [booking(api.url, i) for i in range(400)]
        result, counts = await interrupt_after(0.4, tmp_path, requests)
    assert 0 < len(api.bookings) < 400
    assert result.unfinished > 0, "records were waiting their turn when the run stopped"
    assert counts == {"delivered": len(api.bookings)}, "only what was sent is in the ledger"


async def test_a_ledger_that_fails_mid_run_ends_the_run_with_its_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes = 0
    append = journal.Segment.append

    def disk_fills_up(segment: journal.Segment, batch: Any) -> None:
        nonlocal writes
        writes += 1
        if writes > 3:
            raise OSError(28, "No space left on device")
        append(segment, batch)

    monkeypatch.setattr(journal.Segment, "append", disk_fills_up)
    async with serve(FakeApi()) as api:
        requests = [booking(api.url, i) for i in range(300)]
        with pytest.raises(OSError, match="No space left"):
            await asyncio.wait_for(deliver(tmp_path, requests), 30)
    assert len(api.bookings) < 300
