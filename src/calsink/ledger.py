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
import functools
import itertools
import os
import queue
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from calsink.flow import FlowReference

# Rows go in the order records are sent (a rowid table), so that a commit of many marks or
# outcomes writes a few neighbouring pages; the unique (flow, key) index finds a record.
# key_values is stored only where it differs from the key (a JSON array of the values).
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


# A batch is written as statements of these many rows: a few shapes, each prepared once.
_STATEMENT_ROWS = (64, 16, 4, 1)


@functools.lru_cache(maxsize=16)
def _upsert_sql(is_mark: bool, rows: int) -> str:
    """One statement writing ``rows`` rows (one step of SQLite for many rows)."""
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


class Ledger:
    """The SQLite ledger at ``path`` (created with its folder when missing)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._guard = threading.RLock()
        self._db = _connect(self.path)
        with self._guard:
            _migrate(self._db)
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


_MARK, _OUTCOME, _RETRACT = "mark", "outcome", "retract"
_RETRACT_SQL = "DELETE FROM records WHERE flow = ? AND key = ? AND state = 'in_flight'"
# Outcomes nobody waits for go to the thread after this long, or this many.
_LAZY_S = 0.05
_LAZY_ROWS = 1024


@dataclass(slots=True)  # not frozen: one is built per record, and frozen costs 4× here
class Mark:
    """One record about to be sent: what `LedgerWriter.mark_in_flight` commits for it."""

    key: str
    attempts: int
    fingerprint: str | None
    position: str | None


@dataclass(slots=True)
class _Job:
    loop: asyncio.AbstractEventLoop
    done: asyncio.Future[None]
    kind: str
    rows: list[tuple[Any, ...]]
    shared: bool = False


class LedgerWriter:
    """Group commit for one run, from a thread of its own.

    Every write is handed to a writer thread that owns its own SQLite connection; the
    thread commits whatever has queued up while the previous transaction was being
    committed in one transaction, then wakes every writer of that batch. The event
    loop never waits for SQLite: a caller awaits only its own write's commit, so the
    order "mark committed, then send" and "outcome committed, then counted" holds.

    Writes reach the thread once per turn of the event loop, all together; an outcome
    nobody awaits yet waits up to 50 ms for company, so that a busy run commits a few
    large transactions rather than many small ones.

    ``before_commit`` is called on the event loop's thread before writes go to the
    thread (a run flushes its response lines there, so that they reach the OS before
    the outcomes they belong to are committed).

    The thread starts with the first write and ends after ``idle_s`` without writes, or
    at `close` (which waits for what is queued to be committed).
    """

    def __init__(
        self,
        ledger: Ledger,
        flow: str,
        run_id: int,
        *,
        idle_s: float = 1.0,
        before_commit: Callable[[], None] | None = None,
    ) -> None:
        self.before_commit = before_commit
        self.ledger = ledger
        self.flow = flow
        self.run_id = run_id
        self._idle_s = idle_s
        self._jobs: queue.SimpleQueue[list[_Job] | None] = queue.SimpleQueue()
        # Writes of the loop that is writing (one loop at a time), not yet handed over.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[_Job] = []
        self._pending_rows = 0
        self._hand_over_soon = False
        self._hand_over_later: asyncio.TimerHandle | None = None
        self._thread: threading.Thread | None = None
        self._thread_guard = threading.Lock()
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
            pending.append(_Job(loop, done, kind, rows, shared=not urgent))
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
        if self.before_commit is not None:
            self.before_commit()
        self._jobs.put(batch)
        with self._thread_guard:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._commit_loop, name="calsink-ledger", daemon=True
                )
                self._thread.start()

    def flush(self) -> None:
        """Hand what is pending to the thread now, without waiting for company."""
        self._hand_over()

    def close(self) -> None:
        """Commit what is queued and stop the writer thread."""
        self._hand_over()
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
                batch = list(first)
                stop = False
                while len(batch) < 4096:
                    try:
                        jobs = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if jobs is None:
                        stop = True
                        break
                    batch.extend(jobs)
                _commit(db, batch, failure)
                if stop:
                    with self._thread_guard:
                        self._thread = None
                    return
        finally:
            if db is not None:
                db.close()

    def _mark_row(self, mark: Mark, now: float) -> tuple[Any, ...]:
        key_values = self._key_values[mark.key] = stored_key_values(mark.key)
        return (
            self.flow,
            mark.key,
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
        return self._submit(_MARK, [self._mark_row(mark, now) for mark in marks], urgent=True)

    async def retract(self, keys: Sequence[str]) -> None:
        """Undo the in-flight marks of requests that were never sent (after `submit_marks`).

        Only keys that had no row before their mark may be retracted: the row goes.
        """
        for key in keys:
            self._key_values.pop(key, None)
        await self._submit(_RETRACT, [(self.flow, key) for key in keys], urgent=True)

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
            urgent=True,
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
        urgent: bool = False,
    ) -> asyncio.Future[None]:
        """Queue a record's outcome; the future is done once it is committed.

        Unless ``urgent``, the outcomes queued during one turn of the event loop share
        their future (and their transaction)."""
        now = time.time()
        row = (
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
            self._key_values.pop(key) if key in self._key_values else stored_key_values(key),
            orjson.dumps(ids).decode() if ids else None,
            self.run_id,
            now,
            now,
        )
        return self._submit(_OUTCOME, [row], urgent=urgent)


def _commit(
    db: sqlite3.Connection | None, batch: list[_Job], failure: Exception | None = None
) -> None:
    """Commit the batch in one transaction (in the order written), then wake its writers.

    Each run of marks or outcomes goes in multi-row statements of a few fixed sizes
    (`_STATEMENT_ROWS`, each prepared once): every call into SQLite lets go of the GIL
    and must take it back from the event loop's thread, so the fewer calls, the sooner
    the writers wake.
    """
    error: BaseException | None = failure
    try:
        if db is None:
            raise failure or sqlite3.OperationalError("the ledger could not be opened")
        db.execute("BEGIN IMMEDIATE")
        try:
            for kind, rows in _runs(batch):
                if kind == _RETRACT:
                    db.executemany(_RETRACT_SQL, rows)
                    continue
                start = 0
                while start < len(rows):
                    size = next(n for n in _STATEMENT_ROWS if n <= len(rows) - start)
                    chunk = rows[start : start + size]
                    params = [value for row in chunk for value in row]
                    db.execute(_upsert_sql(kind == _MARK, size), params)
                    start += size
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    except Exception as exc:  # handed to every writer of the batch, raised there
        error = exc
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for job in batch:
        by_loop.setdefault(job.loop, []).append(job.done)
    for loop, futures in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop is already closed
            loop.call_soon_threadsafe(_settle, futures, error)


def _runs(batch: list[_Job]) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """The batch's rows in order, as runs of one kind."""
    for kind, jobs in itertools.groupby(batch, key=lambda job: job.kind):
        yield kind, [row for job in jobs for row in job.rows]


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


_BUSY_S = 30.0


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
