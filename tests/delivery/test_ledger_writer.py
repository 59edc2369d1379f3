"""The ledger writer thread: every write committed before its await returns, none lost."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from calsink import ledger as ledger_module
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
