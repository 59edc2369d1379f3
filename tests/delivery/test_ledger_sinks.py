"""Ledger locking and references; response sinks; dead letters; the transport's refusals."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import orjson
import pytest
from aiohttp import web
from tests.delivery.fakeapi import serve_app

from calsink.deadletters import DeadLetterWriter, read_dead_letters
from calsink.flow import FlowReference
from calsink.http.retry import Backoff
from calsink.http.urls import InsecureURLError, check_url
from calsink.ledger import FlowBusyError, Ledger, LedgerWriter
from calsink.records import Position
from calsink.responses import SIGNATURE_HEADER, ResponseSinks, WebhookSink

pytestmark = pytest.mark.anyio


def test_a_second_run_of_the_same_flow_is_refused(tmp_path: Path) -> None:
    first, second = Ledger(tmp_path / "l.db"), Ledger(tmp_path / "l.db")
    with first.lock("book"):
        with pytest.raises(FlowBusyError, match="already running"), second.lock("book"):
            pass
        with second.lock("other-flow"):
            pass
    with second.lock("book"):
        pass
    first.close()
    second.close()


async def test_resolve_reference_finds_the_uid_by_key_values(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.db")
    writer = LedgerWriter(ledger, "book-demos", ledger.begin_run("book-demos", "run"))
    await writer.record_outcome(
        '["ada@example.com","2030-01-07T14:00:00Z"]',
        "delivered",
        attempts=1,
        identifier="bk_1",
        ids={"uid": "bk_1", "id": 7},
    )
    await writer.record_outcome('["bob@example.com","x"]', "failed", attempts=1)
    writer.close()
    ref = FlowReference(flow="book-demos", key=["email", "start"])
    assert ledger.resolve_reference(ref, ("ada@example.com", "2030-01-07T14:00:00Z")) == "bk_1"
    by_id = FlowReference(flow="book-demos", key=["email", "start"], field="id")
    assert ledger.resolve_reference(by_id, ("ada@example.com", "2030-01-07T14:00:00Z")) == "7"
    assert ledger.resolve_reference(ref, ("bob@example.com", "x")) is None
    assert ledger.counts("book-demos") == {"delivered": 1, "failed": 1}
    ledger.close()


async def test_webhook_receives_signed_responses_and_a_down_receiver_loses_none(
    tmp_path: Path,
) -> None:
    received: list[tuple[bytes, str | None]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((await request.read(), request.headers.get(SIGNATURE_HEADER)))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    secret = "whsec_unit_secret"
    fast = Backoff(initial_s=0.01, max_s=0.02, jitter_s=0.0)
    async with serve_app(app) as url:
        sinks = ResponseSinks(
            jsonl=tmp_path / "r.jsonl",
            webhook=WebhookSink(
                f"{url}/hook",
                secret=secret,
                undelivered_path=tmp_path / "undelivered.jsonl",
                backoff=fast,
            ),
            secrets=["cal_key_abcdef"],
        )
        sinks.emit(
            {
                "key": "k1",
                "status": 201,
                "body": {"data": {"secret": "s3", "uid": "u"}},
                "note": "sent with cal_key_abcdef",
            }
        )
        report = await sinks.close()
    assert report.webhook_delivered == 1 and report.webhook_undelivered == 0
    body, signature = received[0]
    assert signature == hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    event = orjson.loads(body)
    assert event["body"]["data"] == {"secret": "[redacted]", "uid": "u"}
    assert "cal_key_abcdef" not in (tmp_path / "r.jsonl").read_text()

    down = ResponseSinks(
        webhook=WebhookSink(
            f"{url}/hook",
            secret=None,
            attempts=3,
            undelivered_path=tmp_path / "undelivered.jsonl",
            backoff=fast,
        )
    )
    down.emit({"key": "k2", "status": 201})
    report = await down.close()
    assert report.webhook_undelivered == 1
    assert orjson.loads((tmp_path / "undelivered.jsonl").read_bytes())["key"] == "k2"


def test_dead_letters_round_trip_without_secrets(tmp_path: Path) -> None:
    writer = DeadLetterWriter(tmp_path / "dead.jsonl", secrets=["cal_live_zzz"])
    writer.write(
        outcome="failed",
        reason="Cal.com refused it (400): bad",
        key='["a"]',
        position=Position("leads.csv", 3, 5),
        record={"email": "a@example.com"},
        request={"method": "POST", "url": "u", "body": {"token": "cal_live_zzz"}},
        status=400,
        attempts=1,
    )
    assert not (tmp_path / "dead.jsonl").exists(), "published only when the run ends"
    writer.close()
    [letter] = list(read_dead_letters(tmp_path / "dead.jsonl"))
    assert (letter.outcome, letter.status, letter.key) == ("failed", 400, '["a"]')
    assert letter.position == Position("leads.csv", 3, 5)
    assert letter.record == {"email": "a@example.com"}
    assert "cal_live_zzz" not in (tmp_path / "dead.jsonl").read_text()


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.cal.com/v2/bookings", True),
        ("http://127.0.0.1:8080/v2/bookings", True),
        ("http://localhost/v2/me", True),
        ("http://[::1]:9/v2/me", True),
        ("http://api.cal.com/v2/bookings", False),
        ("http://10.0.0.1/v2/bookings", False),
        ("ftp://api.cal.com/", False),
    ],
)
def test_plain_http_only_to_loopback(url: str, allowed: bool) -> None:
    if allowed:
        check_url(url)
    else:
        with pytest.raises(InsecureURLError):
            check_url(url)
