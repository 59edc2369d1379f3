"""The ledger writer thread: every write committed before its await returns, none lost."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from calsink import ledger as ledger_module
from calsink.flow import FlowReference
from calsink.ledger import IN_FLIGHT, Ledger, LedgerWriter

pytestmark = pytest.mark.anyio


async def test_concurrent_marks_and_outcomes_are_each_committed_when_awaited(
    tmp_path: Path,
) -> None:
    ledger = Ledger(tmp_path / "l.db")
    writer = LedgerWriter(ledger, "book", ledger.begin_run("book", "run"))
    reader = Ledger(tmp_path / "l.db")

    async def one(i: int) -> None:
        key = f'["user{i}@example.com","2030-01-07T14:00:00Z"]'
        await writer.mark_in_flight(key, attempts=1, fingerprint=None, position=f"r.csv:{i}")
        entry = reader.get("book", key)
        assert entry is not None and entry.state == IN_FLIGHT, "mark visible before sending"
        await writer.record_outcome(key, "delivered", attempts=1, identifier=f"bk{i}")
        entry = reader.get("book", key)
        assert entry is not None and entry.state == "delivered"

    try:
        await asyncio.gather(*(one(i) for i in range(300)))
        assert reader.counts("book") == {"delivered": 300}
    finally:
        writer.close()
        reader.close()
        ledger.close()


async def test_a_ledger_the_writer_cannot_open_fails_the_write_instead_of_hanging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = Ledger(tmp_path / "l.db")

    def refuse(path: Path) -> sqlite3.Connection:
        raise sqlite3.OperationalError(f"unable to open database file {path.name}")

    monkeypatch.setattr(ledger_module, "_connect", refuse)
    writer = LedgerWriter(ledger, "book", 1)
    try:
        with pytest.raises(sqlite3.OperationalError, match="unable to open"):
            await asyncio.wait_for(writer.record_outcome("k", "delivered", attempts=1), 10)
    finally:
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
