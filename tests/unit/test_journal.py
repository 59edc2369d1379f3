"""The run's journal: what a fold leaves in the ledger, and what it does with damage."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from calsink import journal
from calsink.ledger import IN_FLIGHT, Ledger

FLOW = "book"


def mark(key: str, fingerprint: str | None, at: float) -> tuple[Any, ...]:
    return (FLOW, key, 1, fingerprint, "r.csv:2", None, 1, at, at)


def outcome(key: str, state: str, fingerprint: str | None, at: float) -> tuple[Any, ...]:
    ids = '{"uid":"bk"}' if state == "delivered" else None
    return (FLOW, key, state, 1, 201, None, "bk", fingerprint, 0, "r.csv:2", None, None, ids, 1,
            at, at)  # fmt: skip


def write_segment(ledger: Ledger, number: int, writes: list[tuple[str, list[Any]]]) -> Path:
    segment = journal.Segment(journal.segment_path(ledger.path, FLOW, number))
    segment.append(writes)
    segment.close()
    return segment.path


def rows(ledger: Ledger) -> list[tuple[Any, ...]]:
    return [
        (e.key, e.state, e.fingerprint, e.identifier, e.first_at, e.updated_at)
        for e in ledger.entries(FLOW)
    ]


def test_folding_a_segment_twice_leaves_the_ledger_as_folding_it_once(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.db")
    ledger.fold_journal(FLOW)
    path = write_segment(
        ledger,
        1,
        [
            (journal.MARK, [mark("a", "fa", 1.0), mark("b", "fb", 1.0), mark("c", None, 1.0)]),
            (journal.OUTCOME, [outcome("a", "delivered", None, 2.0)]),
            (journal.RETRACT, [(FLOW, "c")]),
            (journal.OUTCOME, [outcome("b", "failed", None, 3.0)]),
        ],
    )
    copy = tmp_path / "copy"
    shutil.copyfile(path, copy)
    ledger.fold_journal(FLOW)
    once = rows(ledger)
    assert [(key, state, fp) for key, state, fp, *_ in once] == [
        ("a", "delivered", "fa"),
        ("b", "failed", "fb"),
    ], "the mark's fingerprint stays; a retracted mark leaves nothing"
    assert all(first == 1.0 for *_, first, _updated in once), "first seen when marked"
    shutil.copyfile(copy, path)  # the process died before removing the folded segment
    ledger.fold_journal(FLOW)
    assert rows(ledger) == once
    assert not path.exists()
    ledger.close()


def test_a_mark_without_fingerprint_clears_an_older_one_as_it_did_before_folding(
    tmp_path: Path,
) -> None:
    ledger = Ledger(tmp_path / "l.db")
    write_segment(ledger, 1, [(journal.OUTCOME, [outcome("a", "failed", "old", 1.0)])])
    ledger.fold_journal(FLOW)
    write_segment(
        ledger,
        2,
        [
            (journal.MARK, [mark("a", None, 2.0)]),
            (journal.OUTCOME, [outcome("a", "delivered", None, 3.0)]),
        ],
    )
    ledger.fold_journal(FLOW)
    entry = ledger.get(FLOW, "a")
    assert entry is not None and entry.state == "delivered" and entry.fingerprint is None
    assert entry.first_at == 1.0
    ledger.close()


def test_a_last_write_cut_short_is_left_out_and_the_rest_is_folded(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.db")
    path = write_segment(ledger, 1, [(journal.MARK, [mark("a", "fa", 1.0)])])
    with path.open("ab") as handle:
        handle.write(b'["outcome",[["book","a","deliv')  # the machine stopped here
    ledger.fold_journal(FLOW)
    entry = ledger.get(FLOW, "a")
    assert entry is not None and entry.state == IN_FLIGHT, "looked up before a resend"
    ledger.close()


def test_a_damaged_line_inside_a_segment_stops_the_fold_with_what_to_do(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.db")
    path = write_segment(ledger, 1, [(journal.MARK, [mark("a", "fa", 1.0)])])
    with path.open("ab") as handle:
        handle.write(b"\x00garbage\n")
        handle.write(b'["mark",[["book","b",1,null,null,null,1,1.0,1.0]]]\n')
    with pytest.raises(journal.JournalError, match=r"line 2 cannot be read.*Move the file aside"):
        ledger.fold_journal(FLOW)
    assert ledger.counts(FLOW) == {}, "nothing of a damaged segment is half-folded"
    assert path.exists()
    ledger.close()
