"""The ledger: what calsink sent for each record of each flow, and what came back.

One SQLite file (WAL journal) holds, per flow name and record key, the state
(``in_flight`` while a request may be on its way, then the outcome), the number of
attempts, Cal.com's status and error message, the identifier Cal.com returned
(uid or id), whether an attempt may have taken effect without an answer
(``unsure``), and timestamps.

Crash safety. The ``in_flight`` mark is committed before a request leaves and the
outcome is committed before the record counts as done, so a run killed at any
instant leaves every record either untouched, in flight (looked up before it is sent
again), or finished. ``synchronous=NORMAL`` with WAL loses no committed transaction
when the *process* dies (SIGKILL included): the WAL is in the OS page cache and is
replayed on the next open. Only an operating-system crash or power loss can drop the
last commits, which would then be sent again after a look-up.

A run's writes go first to its journal (`calsink.journal`): `LedgerWriter` appends
what the workers wrote during one turn of the event loop in one write, and each worker
waits for its own write, so the order "mark committed, then send" holds and the event
loop never waits for SQLite. The journal reaches the SQLite file in large
transactions ("folds") while the run goes on and when it ends; a killed run's journal
is folded when the flow's lock is next taken. The journal is as durable as the WAL:
written to the OS, not synced.

Two runs of one flow cannot overlap: `Ledger.lock` takes an OS file lock next to the
ledger (released by the OS even after SIGKILL) and raises `FlowBusyError` otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import queue
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypedDict, Unpack

import orjson

from calsink import journal
from calsink.flow import FlowReference
from calsink.redact import SecretScreen, redact_text

# A rowid table (rows in the order they are folded in, key order within a fold); the
# unique (flow, key) index finds a record. key_values is stored only where it differs
# from the key (a JSON array of the values). Row layouts: `journal.MARK_COLUMNS` and
# `journal.OUTCOME_COLUMNS`.
SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    flow TEXT NOT NULL,
    key TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    status INTEGER,
    error TEXT,
    identifier TEXT,
    fingerprint TEXT,
    unsure INTEGER NOT NULL DEFAULT 0,
    position TEXT,
    record TEXT,
    key_values TEXT,
    ids TEXT,
    run_id INTEGER,
    first_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    credential TEXT,
    UNIQUE (flow, key)
);
CREATE INDEX IF NOT EXISTS records_by_other_key_values ON records (flow, key_values)
    WHERE key_values IS NOT NULL;
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    flow TEXT NOT NULL,
    kind TEXT NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL,
    summary TEXT,
    aborted TEXT
);
"""

IN_FLIGHT = "in_flight"


class FlowBusyError(RuntimeError):
    """Another run of the same flow holds the ledger lock."""


class LedgerConnectError(RuntimeError):
    """The ledger could not be opened: a PostgreSQL server not reached, or a file at the
    ledger's path that SQLite cannot read as one."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One record's row in the ledger."""

    flow: str
    key: str
    state: str
    attempts: int
    status: int | None
    error: str | None
    identifier: str | None
    fingerprint: str | None
    unsure: bool
    position: str | None
    record: Any
    first_at: float
    updated_at: float

    @property
    def in_flight(self) -> bool:
        return self.state == IN_FLIGHT


@dataclass(frozen=True, slots=True)
class RunRow:
    id: int
    flow: str
    kind: str
    started_at: float
    ended_at: float | None
    summary: dict[str, Any] | None
    aborted: str | None


def key_values_text(values: Sequence[Any]) -> str:
    """The canonical form of a record's key values, as stored and as looked up."""
    return orjson.dumps([_plain(v) for v in values]).decode()


def key_values_of(key: str) -> str:
    """Key values of a Request key: a JSON array of values, else the key itself."""
    if key.startswith("["):
        try:
            values = orjson.loads(key)
        except orjson.JSONDecodeError:
            values = None
        if isinstance(values, list):
            return key_values_text(values)
    return key_values_text([key])


def stored_key_values(key: str) -> str | None:
    """What the ledger keeps in ``key_values`` for ``key``: nothing when it is the key."""
    values = key_values_of(key)
    return None if values == key else values


def _plain(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class OutcomeFields(TypedDict, total=False):
    """What a record's outcome may say beyond its state and attempts, as the engine reports
    it to either ledger."""

    status: int | None
    error: str | None
    identifier: str | None
    fingerprint: str | None
    unsure: bool
    position: str | None
    record: Any
    ids: dict[str, Any] | None
    credential: str | None  # the name of the credential that sent it (many accounts)


class SecretScreening:
    """What every ledger does before it stores anything: ``secrets`` (the API key, webhook
    secrets) are never stored; a record key that holds one is kept as its digest
    (`stored_key`), and errors and records are screened."""

    shared = False  # whether other processes may write the same flows at the same time

    def __init__(self, secrets: Sequence[str] = ()) -> None:
        self.__secrets = tuple(secret for secret in secrets if secret)
        self.__screen = SecretScreen(self.__secrets)

    def stored_key(self, key: str) -> str:
        """``key`` as the ledger keeps it: its digest when it holds a secret."""
        for secret in self.__secrets:  # a loop: asked two or three times per record
            if secret in key:
                return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        return key

    def screened_error(self, error: str | None) -> str | None:
        return None if error is None else redact_text(error, self.__secrets)

    def screened_json(self, value: Any) -> str | None:
        return None if value is None else self.__screen.dumps(value).decode()

    def outcome_row(
        self,
        flow: str,
        stored: str,
        state: str,
        attempts: int,
        fields: OutcomeFields,
        *,
        key_values: str | None,
        run_id: int,
    ) -> tuple[Any, ...]:
        """The row of the ``records`` table both ledgers write for an outcome, in its column
        order, screened (``stored`` is the key as `stored_key` keeps it)."""
        ids = fields.get("ids")
        now = time.time()
        return (
            flow,
            stored,
            state,
            attempts,
            fields.get("status"),
            self.screened_error(fields.get("error")),
            fields.get("identifier"),
            fields.get("fingerprint"),
            bool(fields.get("unsure", False)),
            fields.get("position"),
            self.screened_json(fields.get("record")),
            key_values,
            orjson.dumps(ids).decode() if ids else None,
            run_id,
            now,
            now,
            fields.get("credential"),
        )


class Ledger(SecretScreening):
    """The SQLite ledger at ``path`` (created with its folder when missing); see
    `SecretScreening` for what it never stores."""

    def __init__(self, path: str | Path, *, secrets: Sequence[str] = ()) -> None:
        super().__init__(secrets)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._guard = threading.RLock()
        try:
            self._db = _connect(self.path)
            with self._guard:
                _migrate(self._db)
                self._db.executescript(SCHEMA)
                _add_credential_column(self._db)
        except sqlite3.DatabaseError as exc:  # not a database, a folder, a damaged file
            raise LedgerConnectError(_unreadable(self.path, exc)) from None

    @property
    def location(self) -> Path:
        """Where the ledger is, as shown to the user."""
        return self.path

    def close(self) -> None:
        with self._guard:
            self._db.close()

    def writer(self, flow: str, run_id: int) -> LedgerWriter:
        """The writer of one run of ``flow``."""
        return LedgerWriter(self, flow, run_id)

    def running(self, flow: str) -> bool:
        """Whether a run of ``flow`` is going on (what a killed run left is folded in)."""
        return not self.fold_left_over(flow)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextlib.contextmanager
    def lock(self, flow: str) -> Iterator[None]:
        """Hold the flow's run lock; raise FlowBusyError when another run holds it."""
        lock_path = self.path.with_name(f"{self.path.name}.{flow}.lock")
        handle = open(lock_path, "a+")  # noqa: SIM115 - held for the whole run
        try:
            if not _try_lock(handle):
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                if holder == f"pid {os.getpid()}":
                    holder = (
                        "in this process: another thread or task runs it, or a "
                        "`calsink.stream` loop left early is finishing its requests — "
                        "`async with calsink.stream(...)` waits for that"
                    )
                raise FlowBusyError(
                    f"flow {flow!r} is already running ({holder}); wait for that run to end, "
                    f"or stop it — its ledger is {self.path}"
                )
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}")
            handle.flush()
            self.fold_journal(flow)  # what a killed run of the flow left
            yield
        finally:
            handle.close()

    def fold_left_over(self, flow: str) -> bool:
        """Fold what a killed run of ``flow`` left, unless a run of it is going on (then
        its journal is its own, and the answer is False)."""
        try:
            with self.lock(flow):
                return True
        except FlowBusyError:
            return False

    def fold_journal(self, flow: str) -> None:
        """Fold the flow's journal segments into the ledger, oldest first (the caller
        holds the flow's lock, or knows that no run of it is writing)."""
        with self._guard:
            for path in journal.segment_paths(self.path, flow):
                journal.fold(self._db, path)

    # -- reads ---------------------------------------------------------------------------

    def get(self, flow: str, key: str) -> Entry | None:
        with self._guard:
            row = self._db.execute(
                "SELECT flow, key, state, attempts, status, error, identifier, fingerprint, "
                "unsure, position, record, first_at, updated_at FROM records "
                "WHERE flow = ? AND key = ?",
                (flow, self.stored_key(key)),
            ).fetchone()
        return entry_of(row) if row else None

    def has_records(self, flow: str) -> bool:
        """Whether the ledger holds any record of ``flow``."""
        with self._guard:
            row = self._db.execute("SELECT 1 FROM records WHERE flow = ? LIMIT 1", (flow,))
            return row.fetchone() is not None

    def entries(self, flow: str, states: Sequence[str] | None = None) -> list[Entry]:
        query = (
            "SELECT flow, key, state, attempts, status, error, identifier, fingerprint, unsure, "
            "position, record, first_at, updated_at FROM records WHERE flow = ?"
        )
        params: list[Any] = [flow]
        if states:
            query += f" AND state IN ({', '.join('?' for _ in states)})"
            params.extend(states)
        with self._guard:
            rows = self._db.execute(query + " ORDER BY first_at", params).fetchall()
        return [entry_of(row) for row in rows]

    def counts(self, flow: str) -> dict[str, int]:
        with self._guard:
            rows = self._db.execute(
                "SELECT state, count(*) FROM records WHERE flow = ? GROUP BY state", (flow,)
            ).fetchall()
        return {str(state): int(count) for state, count in rows}

    def counts_by_credential(self, flow: str) -> dict[str, dict[str, int]]:
        """Per credential name (a flow with many accounts): its records per state."""
        with self._guard:
            rows = self._db.execute(_COUNTS_BY_CREDENTIAL, (flow,)).fetchall()
        return by_credential(rows)

    def resolve_reference(self, ref: FlowReference, key_values: tuple[str, ...]) -> str | None:
        """The uid/id flow ``ref.flow`` recorded for the delivered record with these key values.

        The renderer calls this for a path parameter given as ``{flow: ..., key: [...]}``.
        Values compare as text (``7`` and ``"7"`` match). None when there is no such record.
        """
        with self._guard:
            wanted = key_values_text(key_values)
            row = self._db.execute(
                "SELECT identifier, ids FROM records WHERE flow = ? "
                "AND (key = ?2 OR key_values = ?2) "
                "AND state = 'delivered' ORDER BY updated_at DESC LIMIT 1",
                (ref.flow, wanted),
            ).fetchone()
        if row is None:
            return None
        identifier, ids_text = row
        ids = orjson.loads(ids_text) if ids_text else {}
        chosen = ids.get(ref.field) if isinstance(ids, dict) else None
        if chosen is None:
            chosen = identifier
        return None if chosen is None else str(chosen)

    def last_run(self, flow: str, *, sent: bool = False) -> RunRow | None:
        """The flow's last run; with ``sent``, the last one that was not a dry run."""
        with self._guard:
            row = self._db.execute(
                "SELECT id, flow, kind, started_at, ended_at, summary, aborted FROM runs "
                "WHERE flow = ? AND (? = 0 OR kind <> 'dry-run') ORDER BY id DESC LIMIT 1",
                (flow, int(sent)),
            ).fetchone()
        if row is None:
            return None
        summary = orjson.loads(row[5]) if row[5] else None
        return RunRow(row[0], row[1], row[2], row[3], row[4], summary, row[6])

    # -- writes --------------------------------------------------------------------------

    def begin_run(self, flow: str, kind: str) -> int:
        with self._guard:
            cursor = self._db.execute(
                "INSERT INTO runs (flow, kind, started_at) VALUES (?, ?, ?)",
                (flow, kind, time.time()),
            )
        return int(cursor.lastrowid or 0)

    def end_run(self, run_id: int, summary: dict[str, Any], aborted: str | None) -> None:
        with self._guard:
            self._db.execute(
                "UPDATE runs SET ended_at = ?, summary = ?, aborted = ? WHERE id = ?",
                (time.time(), orjson.dumps(summary).decode(), aborted, run_id),
            )


# Outcomes nobody waits for go to the journal after this long, or this many.
_LAZY_S = 0.05
_LAZY_ROWS = 1024
# A journal segment is folded into the ledger (by a thread) once it holds this many rows.
SEGMENT_ROWS = 16_384


@dataclass(slots=True)  # not frozen: one is built per record, and frozen costs 4× here
class Mark:
    """One record about to be sent: what `LedgerWriter.mark_in_flight` commits for it."""

    key: str
    attempts: int
    fingerprint: str | None
    position: str | None


@dataclass(slots=True)
class _Job:
    done: asyncio.Future[None]
    kind: str
    rows: list[tuple[Any, ...]]
    shared: bool = False


class LedgerWriter:
    """Group commit for one run, through the run's journal (see `calsink.journal`).

    Writes are handed to the journal once per turn of the event loop, all together, in
    one write to the OS; then every writer of that batch wakes. A caller awaits only its
    own write, so the order "mark committed, then send" and "outcome committed, then
    counted" holds, and the event loop never waits for SQLite. An outcome nobody awaits
    yet waits up to 50 ms for company.

    ``before_commit`` is called before writes go to the journal (a run flushes its
    response lines there, so that they reach the OS before the outcomes they belong to).

    A full segment of the journal is folded into the ledger by a thread of its own while
    the run goes on; `close` folds the rest. What a killed run left is folded when the
    flow's lock is next taken (`Ledger.lock`), or by the next writer of the flow.
    """

    shared = False  # a run holds its flow's lock: its marks are its own (no claims)

    def __init__(
        self,
        ledger: Ledger,
        flow: str,
        run_id: int,
        *,
        before_commit: Callable[[], None] | None = None,
        segment_rows: int = SEGMENT_ROWS,
    ) -> None:
        self.before_commit = before_commit
        self.ledger = ledger
        self.flow = flow
        self.run_id = run_id
        self.fold_error: Exception | None = None
        self._segment_rows = segment_rows
        # What a killed run left goes in first (this writer's segments number from 1).
        ledger.fold_journal(flow)
        self._segment: journal.Segment | None = None
        self._segment_number = 0
        self._full: queue.SimpleQueue[Path | None] = queue.SimpleQueue()
        self._folder: threading.Thread | None = None
        # Writes of the loop that is writing (one loop at a time), not yet handed over.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[_Job] = []
        self._pending_rows = 0
        self._hand_over_soon = False
        self._hand_over_later: asyncio.TimerHandle | None = None
        self._key_values: dict[str, str | None] = {}

    def _submit(
        self, kind: str, rows: list[tuple[Any, ...]], *, urgent: bool
    ) -> asyncio.Future[None]:
        loop = self._loop
        if loop is None or not loop.is_running():  # asking the running loop costs a syscall
            if self._pending:
                self._hand_over()  # what an earlier loop left
            loop = self._loop = asyncio.get_running_loop()
        pending = self._pending
        last = pending[-1] if pending else None
        if not urgent and last is not None and last.kind == kind and last.shared:
            # Writes nobody awaits on their own share one job (and one future) per batch.
            last.rows.extend(rows)
            done = last.done
        else:
            done = loop.create_future()
            pending.append(_Job(done, kind, rows, shared=not urgent))
        self._pending_rows += len(rows)
        if urgent or self._pending_rows >= _LAZY_ROWS:
            if not self._hand_over_soon:
                self._hand_over_soon = True
                loop.call_soon(self._hand_over)
        elif self._hand_over_later is None and not self._hand_over_soon:
            self._hand_over_later = loop.call_later(_LAZY_S, self._hand_over)
        return done

    def _hand_over(self) -> None:
        self._hand_over_soon = False
        if self._hand_over_later is not None:
            self._hand_over_later.cancel()
            self._hand_over_later = None
        batch, self._pending = self._pending, []
        if not batch:
            return
        self._pending_rows = 0
        error: Exception | None = None
        segment: journal.Segment | None = None
        try:
            if self.before_commit is not None:
                self.before_commit()
            segment = self._segment or self._open_segment()
            segment.append([(job.kind, job.rows) for job in batch])
        except Exception as exc:  # handed to every writer of the batch, raised there
            error = exc
        with contextlib.suppress(RuntimeError):  # that loop is already closed
            _settle([job.done for job in batch], error)
        if segment is not None and error is None and segment.rows >= self._segment_rows:
            self._retire(segment)

    def _open_segment(self) -> journal.Segment:
        self._segment_number += 1
        path = journal.segment_path(self.ledger.path, self.flow, self._segment_number)
        self._segment = journal.Segment(path)
        return self._segment

    def _retire(self, segment: journal.Segment) -> None:
        """Close a full segment and have the folding thread fold it."""
        segment.close()
        self._segment = None
        self._full.put(segment.path)
        if self._folder is None:
            self._folder = threading.Thread(
                target=self._fold_full, name="calsink-ledger", daemon=True
            )
            self._folder.start()

    def _fold_full(self) -> None:
        db = None
        try:
            while (path := self._full.get()) is not None:
                if self.fold_error is not None:
                    continue  # segments fold in order: the rest waits for the next fold
                try:
                    db = db or _connect(self.ledger.path)
                    journal.fold(db, path)
                except Exception as exc:  # left on disk; `close` or the next lock folds it
                    self.fold_error = exc
        finally:
            if db is not None:
                db.close()

    def flush(self) -> None:
        """Hand what is pending to the journal now, without waiting for company."""
        self._hand_over()

    def close(self) -> None:
        """Write what is pending, and fold the whole journal into the ledger.

        A fold that fails leaves its segments on disk (kept in ``fold_error``); the
        next lock of the flow folds them. Nothing written is lost either way."""
        self._hand_over()
        if self._segment is not None:
            self._segment.close()
            self._segment = None
        if self._folder is not None:
            self._full.put(None)
            self._folder.join()
            self._folder = None
        try:
            self.ledger.fold_journal(self.flow)
        except Exception as exc:
            self.fold_error = exc
        else:
            self.fold_error = None

    def _mark_row(self, mark: Mark, now: float) -> tuple[Any, ...]:
        key = self.ledger.stored_key(mark.key)
        key_values = self._key_values[mark.key] = stored_key_values(key)
        return (
            self.flow,
            key,
            mark.attempts,
            mark.fingerprint,
            mark.position,
            key_values,
            self.run_id,
            now,
            now,
        )

    async def mark_in_flight(
        self,
        key: str,
        *,
        attempts: int,
        fingerprint: str | None,
        position: str | None,
    ) -> None:
        """Commit that a request for ``key`` may be on its way (awaited before sending)."""
        await self.submit_marks([Mark(key, attempts, fingerprint, position)])

    def submit_marks(self, marks: Sequence[Mark]) -> asyncio.Future[None]:
        """Queue, as one write, that each of these requests may be on its way; the future
        is done once it is committed."""
        now = time.time()
        return self._submit(
            journal.MARK, [self._mark_row(mark, now) for mark in marks], urgent=True
        )

    async def retract(self, keys: Sequence[str]) -> None:
        """Undo the in-flight marks of requests that were never sent (after `submit_marks`).

        Only keys that had no row before their mark may be retracted: the row goes.
        """
        for key in keys:
            self._key_values.pop(key, None)
        stored = [(self.flow, self.ledger.stored_key(key)) for key in keys]
        await self._submit(journal.RETRACT, stored, urgent=True)

    async def record_outcome(
        self, key: str, state: str, *, attempts: int, **fields: Unpack[OutcomeFields]
    ) -> None:
        """Commit a record's outcome (or, with state IN_FLIGHT, leave it to be looked up)."""
        await self.submit_outcome(key, state, attempts=attempts, urgent=True, **fields)

    def submit_outcome(
        self,
        key: str,
        state: str,
        *,
        attempts: int,
        urgent: bool = False,
        **fields: Unpack[OutcomeFields],
    ) -> asyncio.Future[None]:
        """Queue a record's outcome; the future is done once it is committed.
        ``credential`` is the name of the credential that sent it (many accounts).

        Unless ``urgent``, the outcomes queued during one turn of the event loop share
        their future (and their transaction)."""
        stored = self.ledger.stored_key(key)
        cached = key in self._key_values
        key_values = self._key_values.pop(key) if cached else stored_key_values(stored)
        row = self.ledger.outcome_row(
            self.flow, stored, state, attempts, fields, key_values=key_values, run_id=self.run_id
        )
        return self._submit(journal.OUTCOME, [row], urgent=urgent)


def _settle(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for done in futures:
        if done.cancelled():
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)


def entry_of(row: tuple[Any, ...]) -> Entry:
    """The Entry of a ``records`` row, its columns in the order both ledgers select them."""
    record = orjson.loads(row[10]) if row[10] else None
    return Entry(
        flow=row[0],
        key=row[1],
        state=row[2],
        attempts=row[3],
        status=row[4],
        error=row[5],
        identifier=row[6],
        fingerprint=row[7],
        unsure=bool(row[8]),
        position=row[9],
        record=record,
        first_at=row[11],
        updated_at=row[12],
    )


_COPY_BEFORE = """
INSERT INTO records (flow, key, state, attempts, status, error, identifier, fingerprint, unsure,
                     position, record, key_values, ids, run_id, first_at, updated_at)
SELECT flow, key, state, attempts, status, error, identifier, fingerprint, unsure, position,
       record, CASE WHEN key_values = key THEN NULL ELSE key_values END, ids, run_id, first_at,
       updated_at
FROM records_before ORDER BY first_at
"""


def _records_without_rowid(db: sqlite3.Connection) -> bool:
    found = db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'records'"
    ).fetchone()
    return found is not None and "WITHOUT ROWID" in str(found[0]).upper()


def _migrate(db: sqlite3.Connection) -> None:
    """Move a ledger written by an earlier calsink (records WITHOUT ROWID) to this schema."""
    if not _records_without_rowid(db):
        return
    records_table = SCHEMA[SCHEMA.index("CREATE TABLE") : SCHEMA.index(";") + 1]
    db.execute("BEGIN IMMEDIATE")
    try:
        if not _records_without_rowid(db):  # another process moved it meanwhile
            db.execute("ROLLBACK")
            return
        db.execute("DROP INDEX IF EXISTS records_by_key_values")
        db.execute("ALTER TABLE records RENAME TO records_before")
        db.execute(records_table)
        db.execute(_COPY_BEFORE)
        db.execute("DROP TABLE records_before")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _add_credential_column(db: sqlite3.Connection) -> None:
    """Give a ledger written before records named their credential that column."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(records)")}
    if "credential" in columns:
        return
    try:
        db.execute("ALTER TABLE records ADD COLUMN credential TEXT")
    except sqlite3.OperationalError as exc:
        if "duplicate column" not in str(exc):  # another process added it meanwhile
            raise


_COUNTS_BY_CREDENTIAL = """
SELECT credential, state, count(*) FROM records
WHERE flow = ? AND credential IS NOT NULL GROUP BY credential, state
"""


def by_credential(rows: Sequence[Sequence[Any]]) -> dict[str, dict[str, int]]:
    """(credential, state, count) rows as counts per state under each credential name."""
    found: dict[str, dict[str, int]] = {}
    for credential, state, count in rows:
        found.setdefault(str(credential), {})[str(state)] = int(count)
    return found


_BUSY_S = 30.0


def _unreadable(path: Path, error: sqlite3.DatabaseError) -> str:
    return (
        f"cannot open the ledger {path}: {error}. Restore it from a backup, or point the "
        "flow's `ledger:` at the right file; moving it aside starts an empty ledger, and "
        "records it showed delivered would then be sent again"
    )


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=_BUSY_S)
    # Switching a new file to WAL does not wait for other connections doing the same
    # (two runs that open one new ledger at once): SQLite answers "locked" at once.
    deadline = time.monotonic() + _BUSY_S
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                db.close()
                raise
            time.sleep(0.01)
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def _try_lock(handle: IO[str]) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True
