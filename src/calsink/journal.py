"""The journal of a run: its ledger writes, appended to a file before they reach SQLite.

A run's in-flight marks and outcomes go to an append-only file beside the ledger
(``<ledger>.<flow>.journal.<n>``), one JSON line per batch, handed to the OS before the
write counts as committed (before a request leaves, before a record counts as done).
They reach the SQLite ledger "folded": one transaction per segment of the journal,
a segment when it fills up, the rest when the run ends, and whatever a killed run left
when the flow's lock is next taken.

Folding replays the writes in their order, so folding a segment twice leaves the ledger
as folding it once did: a crash between a fold's commit and the removal of its segment
changes nothing. A mark followed by its record's outcome is written as the outcome
alone, and each run of writes of one kind goes in key order, which saves SQLite most of
its work (one write per record instead of two, index pages filled in order).
"""

from __future__ import annotations

import functools
import glob
import itertools
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

MARK, OUTCOME, RETRACT = "mark", "outcome", "retract"

# The columns of the rows LedgerWriter builds, in their order (a mark's state is
# 'in_flight'; an outcome's comes with it).
MARK_COLUMNS = (
    "flow", "key", "attempts", "fingerprint", "position", "key_values", "run_id",
    "first_at", "updated_at",
)  # fmt: skip
OUTCOME_COLUMNS = (
    "flow", "key", "state", "attempts", "status", "error", "identifier", "fingerprint",
    "unsure", "position", "record", "key_values", "ids", "run_id", "first_at", "updated_at",
    "credential",
)  # fmt: skip
_MARK_FINGERPRINT, _MARK_KEY_VALUES, _MARK_FIRST_AT = (
    MARK_COLUMNS.index(name) for name in ("fingerprint", "key_values", "first_at")
)
_OUTCOME_FINGERPRINT, _OUTCOME_KEY_VALUES, _OUTCOME_FIRST_AT = (
    OUTCOME_COLUMNS.index(name) for name in ("fingerprint", "key_values", "first_at")
)

_MARK_HEAD = f"""
INSERT INTO records (state, {", ".join(MARK_COLUMNS)})
VALUES """  # noqa: S608 - the column names above, no values
_MARK_ROW = "('in_flight', " + ", ".join("?" * len(MARK_COLUMNS)) + ")"
# A delivered record stays delivered, with its uid, whatever a re-send (`run --force`)
# brings: the mark of a re-send and an outcome short of delivered leave state,
# identifier, ids and the rest of its delivery as they were.
_MARK_UPSERT = """
ON CONFLICT (flow, key) DO UPDATE SET
    state = CASE WHEN records.state = 'delivered' THEN 'delivered' ELSE 'in_flight' END,
    attempts = excluded.attempts, fingerprint = excluded.fingerprint,
    position = excluded.position, key_values = excluded.key_values, run_id = excluded.run_id,
    updated_at = excluded.updated_at
"""

_OUTCOME_HEAD = f"""
INSERT INTO records ({", ".join(OUTCOME_COLUMNS)})
VALUES """  # noqa: S608 - the column names above, no values
_OUTCOME_ROW = "(" + ", ".join("?" * len(OUTCOME_COLUMNS)) + ")"
_KEPT = "records.state = 'delivered' AND excluded.state <> 'delivered'"
_OUTCOME_UPSERT = f"""
ON CONFLICT (flow, key) DO UPDATE SET
    state = CASE WHEN {_KEPT} THEN records.state ELSE excluded.state END,
    attempts = excluded.attempts,
    status = CASE WHEN {_KEPT} THEN records.status ELSE excluded.status END,
    error = CASE WHEN {_KEPT} THEN records.error ELSE excluded.error END,
    identifier = CASE WHEN {_KEPT} THEN records.identifier ELSE excluded.identifier END,
    fingerprint = coalesce(excluded.fingerprint, records.fingerprint),
    unsure = CASE WHEN {_KEPT} THEN records.unsure ELSE excluded.unsure END,
    position = excluded.position,
    record = CASE WHEN {_KEPT} THEN records.record ELSE excluded.record END,
    key_values = coalesce(excluded.key_values, records.key_values),
    ids = CASE WHEN {_KEPT} THEN records.ids ELSE excluded.ids END,
    credential = CASE WHEN {_KEPT} THEN records.credential ELSE excluded.credential END,
    run_id = excluded.run_id,
    updated_at = excluded.updated_at
"""
_RETRACT_SQL = "DELETE FROM records WHERE flow = ? AND key = ? AND state = 'in_flight'"

# A run of writes goes as statements of these many rows: a few shapes, each prepared once.
_STATEMENT_ROWS = (64, 16, 4, 1)

Row = tuple[Any, ...] | list[Any]


class JournalError(RuntimeError):
    """A journal segment that cannot be read back."""


@functools.lru_cache(maxsize=16)
def _upsert_sql(kind: str, rows: int) -> str:
    if kind == MARK:
        return _MARK_HEAD + ", ".join([_MARK_ROW] * rows) + _MARK_UPSERT
    return _OUTCOME_HEAD + ", ".join([_OUTCOME_ROW] * rows) + _OUTCOME_UPSERT


def segment_path(ledger_path: Path, flow: str, number: int) -> Path:
    return ledger_path.with_name(f"{ledger_path.name}.{flow}.journal.{number:06d}")


def segment_paths(ledger_path: Path, flow: str) -> list[Path]:
    """The flow's journal segments beside the ledger, oldest first."""
    prefix = f"{ledger_path.name}.{flow}.journal."
    numbered = []
    for path in ledger_path.parent.glob(glob.escape(prefix) + "*"):
        suffix = path.name[len(prefix) :]
        if suffix.isdigit():
            numbered.append((int(suffix), path))
    return [path for _, path in sorted(numbered)]


class Segment:
    """One journal file being appended to; each `append` is one write to the OS."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self._file = open(path, "ab", buffering=0)  # noqa: SIM115 - closed by `close`

    def append(self, writes: Sequence[tuple[str, Sequence[Row]]]) -> None:
        data = memoryview(b"".join([orjson.dumps(write) + b"\n" for write in writes]))
        while data:
            written = self._file.write(data)
            data = data[written or 0 :]
        self.rows += sum(len(rows) for _, rows in writes)

    def close(self) -> None:
        self._file.close()


def fold(db: sqlite3.Connection, path: Path) -> None:
    """Write one segment's writes into the ledger in one transaction, then remove it."""
    try:
        writes = _collapsed(_read(path))
    except FileNotFoundError:
        return  # folded and removed meanwhile
    db.execute("BEGIN IMMEDIATE")
    try:
        for kind, group in itertools.groupby(writes, key=lambda write: write[0]):
            rows = sorted((row for _, row in group), key=lambda row: row[1])
            if kind == RETRACT:
                db.executemany(_RETRACT_SQL, rows)
                continue
            start = 0
            while start < len(rows):
                size = next(n for n in _STATEMENT_ROWS if n <= len(rows) - start)
                chunk = rows[start : start + size]
                db.execute(_upsert_sql(kind, size), list(itertools.chain.from_iterable(chunk)))
                start += size
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    path.unlink(missing_ok=True)


def _read(path: Path) -> Iterator[tuple[str, list[Row]]]:
    """The segment's writes in order, a line (one kind, its rows) at a time. A last line
    cut short (the machine stopped while it was being written) was never committed, and
    is left out."""
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.endswith(b"\n"):
                return  # every write ends its line: this one was cut short
            try:
                kind, rows = orjson.loads(line)
            except (orjson.JSONDecodeError, ValueError, TypeError):
                raise JournalError(
                    f"{path}: line {number} cannot be read; the ledger cannot take in this "
                    "run's writes. Move the file aside to go on: the records it covers will be "
                    "looked up or sent again"
                ) from None
            yield kind, _padded(kind, rows)


def _padded(kind: str, rows: list[Row]) -> list[Row]:
    """Outcome rows an earlier calsink wrote, without the columns added since (None)."""
    width = len(OUTCOME_COLUMNS)
    if kind != OUTCOME or all(len(row) >= width for row in rows):
        return rows
    return [[*row, *([None] * (width - len(row)))] for row in rows]


def _collapsed(lines: Iterator[tuple[str, list[Row]]]) -> list[tuple[str, Row]]:
    """The writes with each mark that its record's outcome follows folded into it."""
    out: list[tuple[str, Row] | None] = []
    marked: dict[str, int] = {}
    for kind, rows in lines:
        for row in rows:
            key = row[1]
            if kind == OUTCOME and key in marked:
                at = marked.pop(key)
                merged = _merge(out[at][1], row)  # type: ignore[index]
                if merged is not None:
                    out[at] = None
                    out.append((OUTCOME, merged))
                    continue
            elif kind == MARK:
                marked[key] = len(out)
            else:
                marked.pop(key, None)
            out.append((kind, row))
    return [write for write in out if write is not None]


def _merge(mark: Row, outcome: Row) -> Row | None:
    """The outcome row that leaves the ledger as the mark and then the outcome would;
    None when only both in turn can (neither carries a fingerprint: the mark clears it)."""
    fingerprint = outcome[_OUTCOME_FINGERPRINT]
    if fingerprint is None:
        fingerprint = mark[_MARK_FINGERPRINT]
        if fingerprint is None:
            return None
    merged = list(outcome)
    merged[_OUTCOME_FINGERPRINT] = fingerprint
    if merged[_OUTCOME_KEY_VALUES] is None:
        merged[_OUTCOME_KEY_VALUES] = mark[_MARK_KEY_VALUES]
    merged[_OUTCOME_FIRST_AT] = mark[_MARK_FIRST_AT]
    return merged
