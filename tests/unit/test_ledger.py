"""The ledger writer thread: every write committed before its await returns, none lost."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from tests.delivery.fakeapi import KEY, FakeApi, serve

from calsink import journal
from calsink.flow import FlowReference
from calsink.ledger import IN_FLIGHT, Ledger, LedgerWriter

pytestmark = pytest.mark.anyio


def abandon(writer: LedgerWriter, ledger: Ledger) -> None:
    """What a SIGKILL leaves: the writer never closed, its journal on disk."""
    ledger.close()


async def test_every_awaited_write_survives_a_kill_and_the_next_lock_folds_it(
    tmp_path: Path,
) -> None:
    ledger = Ledger(tmp_path / "l.db")
    writer = LedgerWriter(ledger, "book", ledger.begin_run("book", "run"))

    async def one(i: int) -> None:
        key = f'["user{i}@example.com","2030-01-07T14:00:00Z"]'
        await writer.mark_in_flight(key, attempts=1, fingerprint=f"fp{i}", position=f"r:{i}")
        if i % 3:
            await writer.record_outcome(key, "delivered", attempts=1, identifier=f"bk{i}")

    await asyncio.gather(*(one(i) for i in range(300)))
    abandon(writer, ledger)
    after = Ledger(tmp_path / "l.db")
    try:
        with after.lock("book"):
            assert after.counts("book") == {"delivered": 200, IN_FLIGHT: 100}
            sent = after.get("book", '["user1@example.com","2030-01-07T14:00:00Z"]')
            unanswered = after.get("book", '["user3@example.com","2030-01-07T14:00:00Z"]')
        assert sent is not None and sent.identifier == "bk1" and sent.fingerprint == "fp1"
        assert unanswered is not None and unanswered.in_flight, "looked up before a resend"
        assert unanswered.fingerprint == "fp3"
        assert journal.segment_paths(after.path, "book") == [], "folded once, then gone"
    finally:
        after.close()


async def test_a_closed_writer_leaves_every_write_in_the_ledger_file(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.db")
    writer = LedgerWriter(ledger, "book", ledger.begin_run("book", "run"), segment_rows=50)
    for i in range(120):
        key = f'["user{i}@example.com"]'
        await writer.mark_in_flight(key, attempts=1, fingerprint=None, position=None)
        writer.submit_outcome(key, "failed" if i % 10 == 0 else "delivered", attempts=1)
    await writer.retract(['["never-sent@example.com"]'])
    writer.close()
    assert writer.fold_error is None
    reader = Ledger(tmp_path / "l.db")
    assert reader.counts("book") == {"delivered": 108, "failed": 12}
    assert journal.segment_paths(reader.path, "book") == []
    reader.close()
    ledger.close()


async def test_a_journal_that_cannot_be_written_fails_the_write_instead_of_hanging(
    tmp_path: Path,
) -> None:
    ledger = Ledger(tmp_path / "l.db")
    writer = LedgerWriter(ledger, "book", 1)
    journal.segment_path(ledger.path, "book", 1).mkdir()  # where the first segment goes
    try:
        with pytest.raises(OSError):
            await asyncio.wait_for(writer.record_outcome("k", "delivered", attempts=1), 10)
    finally:
        journal.segment_path(ledger.path, "book", 1).rmdir()
        writer.close()
        ledger.close()


def test_a_ledger_written_by_an_earlier_calsink_opens_with_its_records_kept(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE records (
            flow TEXT NOT NULL, key TEXT NOT NULL, state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, status INTEGER, error TEXT, identifier TEXT,
            fingerprint TEXT, unsure INTEGER NOT NULL DEFAULT 0, position TEXT, record TEXT,
            key_values TEXT, ids TEXT, run_id INTEGER, first_at REAL NOT NULL,
            updated_at REAL NOT NULL, PRIMARY KEY (flow, key)
        ) WITHOUT ROWID;
        CREATE INDEX records_by_key_values ON records (flow, key_values);
        CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, flow TEXT NOT NULL,
            kind TEXT NOT NULL, started_at REAL NOT NULL, ended_at REAL, summary TEXT,
            aborted TEXT);
        INSERT INTO records VALUES ('book', '["ann@example.com"]', 'delivered', 1, 201, NULL,
            'bk1', NULL, 0, 'a.csv:2', NULL, '["ann@example.com"]', '{"uid": "bk1"}', 1, 1, 1);
        INSERT INTO records VALUES ('book', 'plain-key', 'in_flight', 1, NULL, NULL, NULL,
            'fp', 0, 'a.csv:3', NULL, '["plain-key"]', NULL, 1, 2, 2);
        """
    )
    old.commit()
    old.close()

    ledger = Ledger(path)
    try:
        assert ledger.counts("book") == {"delivered": 1, IN_FLIGHT: 1}
        entry = ledger.get("book", "plain-key")
        assert entry is not None and entry.fingerprint == "fp" and entry.in_flight
        ann = FlowReference(flow="book", key=["email"])
        assert ledger.resolve_reference(ann, ("ann@example.com",)) == "bk1"
        plain = FlowReference(flow="book", key=["name"])
        assert ledger.resolve_reference(plain, ("plain-key",)) is None, "not delivered"
    finally:
        ledger.close()
    again = Ledger(path)  # a second open finds the new schema and leaves it alone
    assert again.counts("book") == {"delivered": 1, IN_FLIGHT: 1}
    again.close()


def test_runs_that_open_one_new_ledger_at_the_same_moment_all_open_it(tmp_path: Path) -> None:
    failures: list[BaseException] = []
    for trial in range(40):
        path = tmp_path / f"new-{trial}" / "ledger.db"
        start = threading.Barrier(4)

        def open_it(path: Path = path, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                Ledger(path).close()
            except Exception as exc:  # collected and asserted below
                failures.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []


async def test_a_running_runs_journal_is_left_to_it_and_a_killed_ones_is_folded(
    tmp_path: Path,
) -> None:
    running = Ledger(tmp_path / "l.db")
    onlooker = Ledger(tmp_path / "l.db")
    with running.lock("book"):
        writer = LedgerWriter(running, "book", running.begin_run("book", "run"))
        await writer.record_outcome('["ann@example.com"]', "delivered", attempts=1)
        assert not onlooker.fold_left_over("book"), "the run holds the flow's lock"
        assert onlooker.counts("book") == {}
        assert len(journal.segment_paths(onlooker.path, "book")) == 1
    abandon(writer, running)  # the run dies without closing its writer
    assert onlooker.fold_left_over("book")
    assert onlooker.counts("book") == {"delivered": 1}
    assert journal.segment_paths(onlooker.path, "book") == []
    onlooker.close()


async def test_a_run_whose_writes_cannot_reach_the_ledger_file_says_so_and_loses_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from calsink.flow import load_flow
    from calsink.runner import arun_flow, flow_status

    (tmp_path / "rows.jsonl").write_text(
        "".join(
            f'{{"start": "2030-01-07T{14 + i}:00:00Z", "eventTypeId": 1, "attendee": '
            f'{{"name": "P{i}", "email": "p{i}@example.com", "timeZone": "UTC"}}}}\n'
            for i in range(3)
        )
    )
    flow_file = tmp_path / "flow.yaml"
    flow_file.write_text(
        f"version: 1\nname: busy\nsource: {{path: {tmp_path / 'rows.jsonl'}}}\n"
        "destination: {base_url: http://127.0.0.1:9, template: create-booking}\n"
        "delivery: {key: [attendee.email, start]}\n"
        f"ledger: {tmp_path / 'ledger.db'}\ndead_letters: {tmp_path / 'dead.jsonl'}\n"
    )
    loaded = load_flow(flow_file)
    fold = journal.fold

    def locked(db: sqlite3.Connection, path: Path) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(journal, "fold", locked)
    async with serve(FakeApi()) as api:
        report = await arun_flow(loaded, api_key=KEY, base_url=api.url)
    assert report.summary.delivered == 3
    assert report.ledger_pending is not None and "database is locked" in report.ledger_pending
    assert "next run, status or retry" in report.ledger_pending
    monkeypatch.setattr(journal, "fold", fold)
    status = flow_status(loaded)
    assert status.counts == {"delivered": 3}, "status took the journal in"
