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

Writes from concurrent workers are grouped: `LedgerWriter` commits from a thread of
its own, in one transaction, whatever was written while its previous commit was under
way; each writer waits for its own commit, so the order "mark committed, then send"
still holds, and the event loop never waits for SQLite.

Two runs of one flow cannot overlap: `Ledger.lock` takes an OS file lock next to the
ledger (released by the OS even after SIGKILL) and raises `FlowBusyError` otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from calsink.flow import FlowReference

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
    PRIMARY KEY (flow, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_by_key_values ON records (flow, key_values);
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

_MARK_HEAD = """
INSERT INTO records (flow, key, state, attempts, fingerprint, position, key_values, run_id,
                     first_at, updated_at)
VALUES """
_MARK_ROW = "(?, ?, 'in_flight', ?, ?, ?, ?, ?, ?, ?)"
_MARK_UPSERT = """
ON CONFLICT (flow, key) DO UPDATE SET
    state = 'in_flight', attempts = excluded.attempts, fingerprint = excluded.fingerprint,
    position = excluded.position, key_values = excluded.key_values, run_id = excluded.run_id,
    updated_at = excluded.updated_at
"""
_MARK_SQL = _MARK_HEAD + _MARK_ROW + _MARK_UPSERT

_OUTCOME_HEAD = """
INSERT INTO records (flow, key, state, attempts, status, error, identifier, fingerprint, unsure,
                     position, record, key_values, ids, run_id, first_at, updated_at)
VALUES """
_OUTCOME_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_OUTCOME_UPSERT = """
ON CONFLICT (flow, key) DO UPDATE SET
    state = excluded.state, attempts = excluded.attempts, status = excluded.status,
    error = excluded.error, identifier = excluded.identifier,
    fingerprint = coalesce(excluded.fingerprint, records.fingerprint),
    unsure = excluded.unsure, position = excluded.position, record = excluded.record,
    key_values = coalesce(excluded.key_values, records.key_values), ids = excluded.ids,
    run_id = excluded.run_id,
    updated_at = excluded.updated_at
"""
_OUTCOME_SQL = _OUTCOME_HEAD + _OUTCOME_ROW + _OUTCOME_UPSERT


def _upsert_sql(is_mark: bool, rows: int) -> str:
    """One statement writing ``rows`` rows (one step of SQLite for a whole batch)."""
    if is_mark:
        return _MARK_HEAD + ", ".join([_MARK_ROW] * rows) + _MARK_UPSERT
    return _OUTCOME_HEAD + ", ".join([_OUTCOME_ROW] * rows) + _OUTCOME_UPSERT


class FlowBusyError(RuntimeError):
    """Another run of the same flow holds the ledger lock."""


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


class Ledger:
    """The SQLite ledger at ``path`` (created with its folder when missing)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._guard = threading.RLock()
        self._db = _connect(self.path)
        with self._guard:
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._guard:
            self._db.close()

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
                raise FlowBusyError(
                    f"flow {flow!r} is already running ({holder}); wait for that run to end, "
                    f"or stop it — its ledger is {self.path}"
                )
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}")
            handle.flush()
            yield
        finally:
            handle.close()

    # -- reads ---------------------------------------------------------------------------

    def get(self, flow: str, key: str) -> Entry | None:
        with self._guard:
            row = self._db.execute(
                "SELECT flow, key, state, attempts, status, error, identifier, fingerprint, "
                "unsure, position, record, first_at, updated_at FROM records "
                "WHERE flow = ? AND key = ?",
                (flow, key),
            ).fetchone()
        return _entry(row) if row else None

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
        return [_entry(row) for row in rows]

    def counts(self, flow: str) -> dict[str, int]:
        with self._guard:
            rows = self._db.execute(
                "SELECT state, count(*) FROM records WHERE flow = ? GROUP BY state", (flow,)
            ).fetchall()
        return {str(state): int(count) for state, count in rows}

    def resolve_reference(self, ref: FlowReference, key_values: tuple[str, ...]) -> str | None:
        """The uid/id flow ``ref.flow`` recorded for the delivered record with these key values.

        The renderer calls this for a path parameter given as ``{flow: ..., key: [...]}``.
        Values compare as text (``7`` and ``"7"`` match). None when there is no such record.
        """
        with self._guard:
            row = self._db.execute(
                "SELECT identifier, ids FROM records WHERE flow = ? AND key_values = ? "
                "AND state = 'delivered' ORDER BY updated_at DESC LIMIT 1",
                (ref.flow, key_values_text(key_values)),
            ).fetchone()
        if row is None:
            return None
        identifier, ids_text = row
        ids = orjson.loads(ids_text) if ids_text else {}
        chosen = ids.get(ref.field) if isinstance(ids, dict) else None
        if chosen is None:
            chosen = identifier
        return None if chosen is None else str(chosen)

    def last_run(self, flow: str) -> RunRow | None:
        with self._guard:
            row = self._db.execute(
                "SELECT id, flow, kind, started_at, ended_at, summary, aborted FROM runs "
                "WHERE flow = ? ORDER BY id DESC LIMIT 1",
                (flow,),
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

    def write_batch(self, marks: list[tuple[Any, ...]], outcomes: list[tuple[Any, ...]]) -> None:
        """Commit in-flight marks and outcomes (rows for _MARK_SQL / _OUTCOME_SQL) at once."""
        with self._guard:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if marks:
                    self._db.executemany(_MARK_SQL, marks)
                if outcomes:
                    self._db.executemany(_OUTCOME_SQL, outcomes)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")


_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[None]", bool, tuple[Any, ...]]


class LedgerWriter:
    """Group commit for one run, from a thread of its own.

    Every write is handed to a writer thread that owns its own SQLite connection; the
    thread commits whatever has queued up while the previous transaction was being
    committed in one transaction, then wakes every writer of that batch. The event
    loop never waits for SQLite: a caller awaits only its own write's commit, so the
    order "mark committed, then send" and "outcome committed, then counted" holds.

    The thread starts with the first write and ends after ``idle_s`` without writes, or
    at `close` (which waits for what is queued to be committed).
    """

    def __init__(self, ledger: Ledger, flow: str, run_id: int, *, idle_s: float = 1.0) -> None:
        self.ledger = ledger
        self.flow = flow
        self.run_id = run_id
        self._idle_s = idle_s
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._thread_guard = threading.Lock()
        self._key_values: dict[str, str] = {}

    def _submit(self, is_mark: bool, row: tuple[Any, ...]) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._jobs.put((loop, done, is_mark, row))
        with self._thread_guard:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._commit_loop, name="calsink-ledger", daemon=True
                )
                self._thread.start()
        return done

    def close(self) -> None:
        """Commit what is queued and stop the writer thread."""
        with self._thread_guard:
            thread = self._thread
            if thread is None:
                return
            self._jobs.put(None)
        thread.join()

    def _commit_loop(self) -> None:
        db: sqlite3.Connection | None = None
        failure: Exception | None = None
        try:
            db = _connect(self.ledger.path)
        except Exception as exc:  # every write then fails with it: no writer waits forever
            failure = exc
        try:
            while True:
                try:
                    first = self._jobs.get(timeout=self._idle_s)
                except queue.Empty:
                    with self._thread_guard:
                        if self._jobs.empty():
                            self._thread = None
                            return
                    continue
                if first is None:
                    with self._thread_guard:
                        self._thread = None
                    return
                batch = [first]
                stop = False
                while len(batch) < 4096:
                    try:
                        job = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if job is None:
                        stop = True
                        break
                    batch.append(job)
                _commit(db, batch, failure)
                if stop:
                    with self._thread_guard:
                        self._thread = None
                    return
        finally:
            if db is not None:
                db.close()

    async def mark_in_flight(
        self,
        key: str,
        *,
        attempts: int,
        fingerprint: str | None,
        position: str | None,
    ) -> None:
        """Commit that a request for ``key`` may be on its way (awaited before sending)."""
        now = time.time()
        key_values = self._key_values[key] = key_values_of(key)
        await self._submit(
            True,
            (
                self.flow,
                key,
                attempts,
                fingerprint,
                position,
                key_values,
                self.run_id,
                now,
                now,
            ),
        )

    async def record_outcome(
        self,
        key: str,
        state: str,
        *,
        attempts: int,
        status: int | None = None,
        error: str | None = None,
        identifier: str | None = None,
        fingerprint: str | None = None,
        unsure: bool = False,
        position: str | None = None,
        record: Any = None,
        ids: dict[str, Any] | None = None,
    ) -> None:
        """Commit a record's outcome (or, with state IN_FLIGHT, leave it to be looked up)."""
        await self.submit_outcome(
            key,
            state,
            attempts=attempts,
            status=status,
            error=error,
            identifier=identifier,
            fingerprint=fingerprint,
            unsure=unsure,
            position=position,
            record=record,
            ids=ids,
        )

    def submit_outcome(
        self,
        key: str,
        state: str,
        *,
        attempts: int,
        status: int | None = None,
        error: str | None = None,
        identifier: str | None = None,
        fingerprint: str | None = None,
        unsure: bool = False,
        position: str | None = None,
        record: Any = None,
        ids: dict[str, Any] | None = None,
    ) -> asyncio.Future[None]:
        """Queue a record's outcome; the future is done once it is committed."""
        now = time.time()
        return self._submit(
            False,
            (
                self.flow,
                key,
                state,
                attempts,
                status,
                error,
                identifier,
                fingerprint,
                1 if unsure else 0,
                position,
                orjson.dumps(record).decode() if record is not None else None,
                self._key_values.pop(key, None) or key_values_of(key),
                orjson.dumps(ids).decode() if ids else None,
                self.run_id,
                now,
                now,
            ),
        )


def _commit(
    db: sqlite3.Connection | None, batch: list[_Job], failure: Exception | None = None
) -> None:
    """Commit the batch in one transaction (in the order written), then wake its writers.

    Each run of marks or outcomes is one multi-row statement: every call into SQLite
    lets go of the GIL and must take it back from the event loop's thread, so the
    fewer calls, the sooner the writers wake.
    """
    error: BaseException | None = failure
    try:
        if db is None:
            raise failure or sqlite3.OperationalError("the ledger could not be opened")
        limit = max(1, db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // 16)
        db.execute("BEGIN IMMEDIATE")
        try:
            start = 0
            while start < len(batch):
                is_mark = batch[start][2]
                end = start
                while end < len(batch) and end - start < limit and batch[end][2] is is_mark:
                    end += 1
                params = [value for job in batch[start:end] for value in job[3]]
                db.execute(_upsert_sql(is_mark, end - start), params)
                start = end
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    except Exception as exc:  # handed to every writer of the batch, raised there
        error = exc
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for loop, done, _, _ in batch:
        by_loop.setdefault(loop, []).append(done)
    for loop, futures in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop is already closed
            loop.call_soon_threadsafe(_settle, futures, error)


def _settle(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for done in futures:
        if done.cancelled():
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)


def _entry(row: tuple[Any, ...]) -> Entry:
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


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA busy_timeout=30000")
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
