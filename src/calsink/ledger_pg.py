"""The shared ledger: the same records and runs as the SQLite ledger, in PostgreSQL.

Any number of processes, on any number of machines, may run one flow at once against
it (``ledger: postgresql://…`` in the flow; psycopg 3, the extra ``calsink[postgresql]``).
There is no flow lock: the ledger decides who sends each record.

A record is *claimed* before it is sent: one ``INSERT … ON CONFLICT … DO UPDATE … WHERE
… RETURNING`` per chunk of records, which takes a record for one owner (this writer)
with a lease when nobody holds a live claim on it and it is not delivered (``--force``
takes a delivered one too, which stays delivered). The claim returns the state the
record had before it, so an attempt that may have reached Cal.com (in flight when its
owner's lease ran out, or ended unsure) is looked up before anyone sends it again.
A record someone else holds is claimed again once their lease runs out or they record
its outcome; a delivered one is skipped. The owner renews its leases while it runs, so
only an owner that stopped (killed, cut off) loses them.

Claims and outcomes go in chunks, as the journal's do: the writes of one turn of the
event loop are one statement per kind, run by a thread of the writer (one connection),
and each caller waits only for its own. Every statement commits on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Unpack
from urllib.parse import urlsplit, urlunsplit

import orjson

from calsink.flow import FlowReference
from calsink.journal import _OUTCOME_UPSERT
from calsink.ledger import (
    IN_FLIGHT,
    Entry,
    Mark,
    OutcomeFields,
    RunRow,
    SecretScreening,
    by_credential,
    entry_of,
    key_values_text,
    stored_key_values,
)
from calsink.ledger import LedgerConnectError as LedgerConnectError  # where callers find it
from calsink.redact import redact_text

__all__ = ["CopyReport", "LedgerConnectError", "PostgresBudget", "PostgresLedger", "shown_url"]

SCHEMES = ("postgresql://", "postgres://")
# How long a claim holds without its owner renewing it; renewed every third of it.
LEASE_S = 60.0

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
    unsure BOOLEAN NOT NULL DEFAULT false,
    position TEXT,
    record TEXT,
    key_values TEXT,
    ids TEXT,
    run_id BIGINT,
    first_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    owner TEXT,
    lease_until TIMESTAMPTZ,
    prior_state TEXT,
    prior_unsure BOOLEAN,
    prior_attempts INTEGER,
    PRIMARY KEY (flow, key)
);
ALTER TABLE records ADD COLUMN IF NOT EXISTS credential TEXT;
CREATE INDEX IF NOT EXISTS records_by_other_key_values ON records (flow, key_values)
    WHERE key_values IS NOT NULL;
CREATE TABLE IF NOT EXISTS runs (
    id BIGSERIAL PRIMARY KEY,
    flow TEXT NOT NULL,
    kind TEXT NOT NULL,
    started_at DOUBLE PRECISION NOT NULL,
    ended_at DOUBLE PRECISION,
    summary TEXT,
    aborted TEXT
);
CREATE TABLE IF NOT EXISTS rate_buckets (
    credential TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
"""
# Serialises the CREATEs of processes that open a new ledger at once.
_SCHEMA_LOCK = 0x6361_6C73_696E_6B

_ENTRY_COLUMNS = (
    "flow, key, state, attempts, status, error, identifier, fingerprint, unsure, position, "
    "record, first_at, updated_at"
)

# The claim: a new record is inserted in flight; an existing one is taken when nobody
# holds a live claim on it and it is not delivered (unless forced: it stays delivered).
# prior_* keep what the record was, for the claimant (RETURNING) and for a retraction.
_CLAIM = """
INSERT INTO records AS r (flow, key, state, attempts, fingerprint, position, key_values,
                          run_id, first_at, updated_at, owner, lease_until)
SELECT %(flow)s, k, 'in_flight', 1, f, p, kv, %(run)s, %(now)s, %(now)s, %(owner)s,
       now() + make_interval(secs => %(lease)s)
FROM unnest(%(keys)s::text[], %(fps)s::text[], %(pos)s::text[], %(kvs)s::text[])
     AS u(k, f, p, kv)
ORDER BY k
ON CONFLICT (flow, key) DO UPDATE SET
    prior_state = r.state, prior_unsure = r.unsure, prior_attempts = r.attempts,
    state = CASE WHEN r.state = 'delivered' THEN 'delivered' ELSE 'in_flight' END,
    attempts = r.attempts + 1, fingerprint = excluded.fingerprint,
    position = excluded.position, key_values = excluded.key_values,
    run_id = excluded.run_id, updated_at = excluded.updated_at,
    owner = excluded.owner, lease_until = excluded.lease_until
WHERE (r.owner IS NULL OR r.owner = %(owner)s OR r.lease_until IS NULL
       OR r.lease_until < now())
  AND (r.state <> 'delivered' OR %(force)s)
RETURNING key, prior_state, prior_unsure, prior_attempts, r.state
"""

_OUTCOME_COLUMNS = (
    "flow", "key", "state", "attempts", "status", "error", "identifier", "fingerprint",
    "unsure", "position", "record", "key_values", "ids", "run_id", "first_at", "updated_at",
    "credential",
)  # fmt: skip
_OUTCOME_TYPES = (
    "text", "text", "text", "int", "int", "text", "text", "text", "bool", "text", "text",
    "text", "text", "bigint", "float8", "float8", "text",
)  # fmt: skip
# An outcome ends its record's claim. One that is not a delivery is dropped when another
# owner holds a live claim on the record (its own outcome will come).
_OUTCOME = (  # the column names and types above, no values
    f"INSERT INTO records ({', '.join(_OUTCOME_COLUMNS)}) SELECT * FROM unnest("  # noqa: S608
    + ", ".join(f"%s::{kind}[]" for kind in _OUTCOME_TYPES)
    + ") AS u ORDER BY 2"
    + _OUTCOME_UPSERT.rstrip()
    + """,
    owner = NULL, lease_until = NULL
WHERE excluded.state = 'delivered' OR records.owner IS NULL OR records.owner = %s
   OR records.lease_until IS NULL OR records.lease_until < now()
"""
)
# A claim never used: a record new to the claim goes; one that was there is given back.
_RETRACT_NEW = """
DELETE FROM records WHERE flow = %s AND key = ANY(%s) AND owner = %s AND prior_state IS NULL
  AND state = 'in_flight'
"""
_RETRACT_OLD = """
UPDATE records SET state = prior_state, unsure = prior_unsure, attempts = prior_attempts,
                   owner = NULL, lease_until = NULL
WHERE flow = %s AND key = ANY(%s) AND owner = %s AND prior_state IS NOT NULL
"""
_RENEW = """
UPDATE records SET lease_until = now() + make_interval(secs => %s)
WHERE owner = %s AND lease_until IS NOT NULL
"""
_STATES = "SELECT key, state FROM records WHERE flow = %s AND key = ANY(%s)"


def is_postgresql(ledger: str) -> bool:
    """Whether a flow's ``ledger`` names a PostgreSQL database rather than a file."""
    return ledger.startswith(SCHEMES)


def shown_url(url: str) -> str:
    """``url`` without its password (what output may show)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}@{host}" if user else host))


def _password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def _connect(url: str) -> Any:
    try:
        import psycopg
    except ImportError:
        raise LedgerConnectError(
            "a PostgreSQL ledger needs psycopg: pip install 'calsink[postgresql]'"
        ) from None
    try:
        return psycopg.connect(url, autocommit=True)
    except psycopg.Error as exc:
        detail = redact_text(str(exc).strip(), [p for p in (_password(url),) if p])
        raise LedgerConnectError(
            f"cannot reach the ledger {shown_url(url)}: {detail}; check the flow's `ledger` "
            "URL and that the server is up"
        ) from None


@dataclass(frozen=True, slots=True)
class Claim:
    """What a claim found: granted (then ``state`` is the record's state before it, None
    for a new record) or refused (``state`` is its state now)."""

    granted: bool
    state: str | None
    unsure: bool = False
    attempts: int = 0

    def prior(self, flow: str, key: str) -> Entry | None:
        """The record as it was before a granted claim, as the engine reads a prior entry."""
        if self.state is None:
            return None
        now = time.time()
        return Entry(
            flow, key, self.state, self.attempts, None, None, None, None, self.unsure,
            None, None, now, now,
        )  # fmt: skip


class PostgresLedger(SecretScreening):
    """A flow ledger in the PostgreSQL database at ``url`` (its tables made when missing)."""

    shared = True

    def __init__(self, url: str, *, secrets: Sequence[str] = ()) -> None:
        password = _password(url)
        super().__init__([*secrets, *([password] if password else [])])
        self.url = url
        self._guard = threading.RLock()
        self._db = _connect(url)
        with self._guard, self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)

    @property
    def location(self) -> str:
        return shown_url(self.url)

    def close(self) -> None:
        with self._guard:
            self._db.close()

    def __enter__(self) -> PostgresLedger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def writer(
        self, flow: str, run_id: int, *, force: bool = False, lease_s: float = LEASE_S
    ) -> PostgresLedgerWriter:
        return PostgresLedgerWriter(self, flow, run_id, force=force, lease_s=lease_s)

    @contextlib.contextmanager
    def lock(self, flow: str) -> Iterator[None]:
        """No lock: runs of one flow share the ledger, and claims decide who sends."""
        yield

    def fold_left_over(self, flow: str) -> bool:
        return True

    def fold_journal(self, flow: str) -> None:
        return None

    def running(self, flow: str) -> bool:
        """Whether some owner holds a live claim on a record of ``flow``."""
        return (
            self._one(
                "SELECT 1 FROM records WHERE flow = %s AND lease_until > now() LIMIT 1", (flow,)
            )
            is not None
        )

    def _one(self, query: str, params: Sequence[Any]) -> Any:
        with self._guard:
            return self._db.execute(query, params).fetchone()

    def _all(self, query: str, params: Sequence[Any]) -> list[Any]:
        with self._guard:
            return list(self._db.execute(query, params).fetchall())

    # -- reads ---------------------------------------------------------------------------

    def get(self, flow: str, key: str) -> Entry | None:
        row = self._one(
            f"SELECT {_ENTRY_COLUMNS} FROM records WHERE flow = %s AND key = %s",  # noqa: S608
            (flow, self.stored_key(key)),
        )
        return entry_of(row) if row else None

    def has_records(self, flow: str) -> bool:
        return self._one("SELECT 1 FROM records WHERE flow = %s LIMIT 1", (flow,)) is not None

    def entries(self, flow: str, states: Sequence[str] | None = None) -> list[Entry]:
        query = f"SELECT {_ENTRY_COLUMNS} FROM records WHERE flow = %s"  # noqa: S608
        params: list[Any] = [flow]
        if states:
            query += " AND state = ANY(%s)"
            params.append(list(states))
        return [entry_of(row) for row in self._all(query + " ORDER BY first_at", params)]

    def counts(self, flow: str) -> dict[str, int]:
        rows = self._all(
            "SELECT state, count(*) FROM records WHERE flow = %s GROUP BY state", (flow,)
        )
        return {str(state): int(count) for state, count in rows}

    def counts_by_credential(self, flow: str) -> dict[str, dict[str, int]]:
        """As `Ledger.counts_by_credential`: per credential name, its records per state."""
        rows = self._all(
            "SELECT credential, state, count(*) FROM records "
            "WHERE flow = %s AND credential IS NOT NULL GROUP BY credential, state",
            (flow,),
        )
        return by_credential(rows)

    def resolve_reference(self, ref: FlowReference, key_values: tuple[str, ...]) -> str | None:
        """As `Ledger.resolve_reference`: the uid/id an earlier flow recorded."""
        wanted = key_values_text(key_values)
        row = self._one(
            "SELECT identifier, ids FROM records WHERE flow = %s "
            "AND (key = %s OR key_values = %s) AND state = 'delivered' "
            "ORDER BY updated_at DESC LIMIT 1",
            (ref.flow, wanted, wanted),
        )
        if row is None:
            return None
        identifier, ids_text = row
        ids = orjson.loads(ids_text) if ids_text else {}
        chosen = ids.get(ref.field) if isinstance(ids, dict) else None
        if chosen is None:
            chosen = identifier
        return None if chosen is None else str(chosen)

    def last_run(self, flow: str, *, sent: bool = False) -> RunRow | None:
        row = self._one(
            "SELECT id, flow, kind, started_at, ended_at, summary, aborted FROM runs "
            "WHERE flow = %s AND (NOT %s OR kind <> 'dry-run') ORDER BY id DESC LIMIT 1",
            (flow, sent),
        )
        if row is None:
            return None
        summary = orjson.loads(row[5]) if row[5] else None
        return RunRow(row[0], row[1], row[2], row[3], row[4], summary, row[6])

    # -- writes --------------------------------------------------------------------------

    def begin_run(self, flow: str, kind: str) -> int:
        row = self._one(
            "INSERT INTO runs (flow, kind, started_at) VALUES (%s, %s, %s) RETURNING id",
            (flow, kind, time.time()),
        )
        return int(row[0])

    def end_run(self, run_id: int, summary: dict[str, Any], aborted: str | None) -> None:
        with self._guard:
            self._db.execute(
                "UPDATE runs SET ended_at = %s, summary = %s, aborted = %s WHERE id = %s",
                (time.time(), orjson.dumps(summary).decode(), aborted, run_id),
            )


CLAIM, OUTCOME, RETRACT = "claim", "outcome", "retract"


@dataclass(slots=True)
class _Job:
    loop: asyncio.AbstractEventLoop
    done: asyncio.Future[None]
    kind: str
    rows: list[Any]


class PostgresLedgerWriter:
    """The writes of one run to a `PostgresLedger`: claims, outcomes, retractions.

    Same calls as `calsink.ledger.LedgerWriter`; ``submit_marks`` claims, and
    `claim_of` tells the engine, once that is committed, what each claim found.
    """

    shared = True

    def __init__(
        self,
        ledger: PostgresLedger,
        flow: str,
        run_id: int,
        *,
        force: bool = False,
        lease_s: float = LEASE_S,
    ) -> None:
        self.ledger = ledger
        self.flow = flow
        self.run_id = run_id
        self.force = force
        self.lease_s = lease_s
        self.before_commit: Any = None
        self.fold_error: Exception | None = None
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._claims: dict[str, Claim] = {}
        self._pending: list[_Job] = []
        self._soon = False
        # Claims are on the way of every send; outcomes are not: each has its own
        # connection and thread, so that a claim never waits behind outcomes.
        self._claiming = _Lane(self, renews=True)
        self._recording = _Lane(self, renews=False)

    # -- the engine's side -----------------------------------------------------------------

    def claim_of(self, key: str) -> Claim:
        """What the committed claim of ``key`` found."""
        return self._claims.get(key, Claim(False, None))

    def submit_marks(self, marks: Sequence[Mark]) -> asyncio.Future[None]:
        """Claim these records, as one statement; the future is done once it is committed
        (then `claim_of` answers for each)."""
        return self._submit(CLAIM, list(marks))

    async def mark_in_flight(
        self, key: str, *, attempts: int, fingerprint: str | None, position: str | None
    ) -> None:
        await self.submit_marks([Mark(key, attempts, fingerprint, position)])

    async def retract(self, keys: Sequence[str]) -> None:
        """Give back claims of records that were never sent."""
        await self._submit(RETRACT, list(keys))

    async def record_outcome(
        self, key: str, state: str, *, attempts: int, **fields: Unpack[OutcomeFields]
    ) -> None:
        await self.submit_outcome(key, state, attempts=attempts, **fields)

    def submit_outcome(
        self,
        key: str,
        state: str,
        *,
        attempts: int,
        urgent: bool = False,
        **fields: Unpack[OutcomeFields],
    ) -> asyncio.Future[None]:
        """Queue a record's outcome; the future is done once it is committed."""
        stored = self.ledger.stored_key(key)
        row = self.ledger.outcome_row(
            self.flow,
            stored,
            state,
            attempts,
            fields,
            key_values=stored_key_values(stored),
            run_id=self.run_id,
        )
        return self._submit(OUTCOME, [row])

    def flush(self) -> None:
        self._hand_over()

    def close(self) -> None:
        """Write what is pending and wait until it is committed; end the connection."""
        self._hand_over()
        self._claiming.close()
        self._recording.close()

    # -- group commit ----------------------------------------------------------------------

    def _submit(self, kind: str, rows: list[Any]) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self._pending.append(_Job(loop, done, kind, rows))
        if not self._soon:
            self._soon = True
            loop.call_soon(self._hand_over)
        return done

    def _hand_over(self) -> None:
        self._soon = False
        batch, self._pending = self._pending, []
        if not batch:
            return
        if self.before_commit is not None:
            try:
                self.before_commit()
            except Exception as exc:
                for job in batch:
                    _settle(job.done, exc)
                return
        claims = [job for job in batch if job.kind != OUTCOME]
        outcomes = [job for job in batch if job.kind == OUTCOME]
        if claims:
            self._claiming.put(claims)
        if outcomes:
            self._recording.put(outcomes)

    def _claim(self, db: Any, marks: list[Mark]) -> None:
        stored: dict[str, str] = {}
        for mark in marks:
            stored[self.ledger.stored_key(mark.key)] = mark.key
        ordered = {self.ledger.stored_key(mark.key): mark for mark in marks}
        keys = sorted(ordered)
        params = {
            "flow": self.flow,
            "run": self.run_id,
            "now": time.time(),
            "owner": self.owner,
            "lease": self.lease_s,
            "force": self.force,
            "keys": keys,
            "fps": [ordered[k].fingerprint for k in keys],
            "pos": [ordered[k].position for k in keys],
            "kvs": [stored_key_values(k) for k in keys],
        }
        granted = {
            row[0]: Claim(True, row[1], bool(row[2]), int(row[3] or 0))
            for row in db.execute(_CLAIM, params).fetchall()
        }
        refused = [k for k in keys if k not in granted]
        now_states = dict(db.execute(_STATES, (self.flow, refused)).fetchall()) if refused else {}
        for key in keys:
            claim = granted.get(key) or Claim(False, now_states.get(key, IN_FLIGHT))
            self._claims[stored[key]] = claim

    def _outcomes(self, db: Any, rows: list[tuple[Any, ...]]) -> None:
        latest = {row[1]: row for row in rows}  # one statement may touch a record once
        columns = list(zip(*latest.values(), strict=True))
        db.execute(_OUTCOME, [list(column) for column in columns] + [self.owner])

    def _retract(self, db: Any, keys: list[str]) -> None:
        stored = sorted({self.ledger.stored_key(key) for key in keys})
        with db.transaction():
            db.execute(_RETRACT_NEW, (self.flow, stored, self.owner))
            db.execute(_RETRACT_OLD, (self.flow, stored, self.owner))
        for key in keys:
            self._claims.pop(key, None)


class _Lane:
    """One connection and the thread that writes a writer's jobs of some kinds through it,
    in order, each run of jobs of one kind as one statement."""

    def __init__(self, writer: PostgresLedgerWriter, *, renews: bool) -> None:
        self.writer = writer
        self.renews = renews
        self.jobs: queue.SimpleQueue[list[_Job] | None] = queue.SimpleQueue()
        self.db = _connect(writer.ledger.url)
        # As durable as the SQLite ledger's journal: a commit survives the crash of any
        # worker; only the server's own crash can lose its last fraction of a second.
        self.db.execute("SET synchronous_commit = off")
        self.thread = threading.Thread(target=self._serve, name="calsink-ledger", daemon=True)
        self.thread.start()

    def put(self, batch: list[_Job]) -> None:
        self.jobs.put(batch)

    def close(self) -> None:
        self.jobs.put(None)
        self.thread.join()
        self.db.close()

    def _serve(self) -> None:
        writer = self.writer
        renew_every = writer.lease_s / 3
        renewed = time.monotonic()
        while True:
            try:
                batch = self.jobs.get(timeout=renew_every)
            except queue.Empty:
                batch = []
            if batch is None:
                return
            stop = False
            while not self.jobs.empty():  # what queued meanwhile goes in the same statements
                more = self.jobs.get_nowait()
                if more is None:
                    stop = True
                    break
                batch.extend(more)
            if self.renews and time.monotonic() - renewed >= renew_every:
                with contextlib.suppress(Exception):  # a lease kept too short: look-ups cover it
                    self.db.execute(_RENEW, (writer.lease_s, writer.owner))
                renewed = time.monotonic()
            if batch:
                self._write(batch)
            if stop:
                return

    def _write(self, batch: list[_Job]) -> None:
        start = 0
        while start < len(batch):
            end = start
            while end < len(batch) and batch[end].kind == batch[start].kind:
                end += 1
            group = batch[start:end]
            error: BaseException | None = None
            try:
                self._run(group[0].kind, [row for job in group for row in job.rows])
            except Exception as exc:
                error = exc
            for job in group:
                with contextlib.suppress(RuntimeError):  # its loop is closed
                    job.loop.call_soon_threadsafe(_settle, job.done, error)
            start = end

    def _run(self, kind: str, rows: list[Any]) -> None:
        writes: dict[str, Callable[[Any, list[Any]], None]] = {
            CLAIM: self.writer._claim,
            OUTCOME: self.writer._outcomes,
            RETRACT: self.writer._retract,
        }
        write = writes[kind]
        for attempt in range(5):
            try:
                write(self.db, rows)
                return
            except Exception as exc:
                if attempt == 4 or not _transient(exc):
                    raise
                time.sleep(0.05 * (attempt + 1))


def _transient(exc: Exception) -> bool:
    import psycopg

    return isinstance(exc, psycopg.errors.DeadlockDetected | psycopg.errors.SerializationFailure)


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.cancelled():
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)


@dataclass(frozen=True, slots=True)
class CopyReport:
    """What `copy_ledger` did."""

    flows: tuple[str, ...]
    runs: int
    records: int
    kept: int  # records the destination already held, left as they were
    destination: str

    def to_json(self) -> dict[str, Any]:
        return {
            "flows": list(self.flows),
            "runs": self.runs,
            "records": self.records,
            "kept": self.kept,
            "destination": self.destination,
        }


_COPY_COLUMNS = (
    "flow, key, state, attempts, status, error, identifier, fingerprint, unsure, position, "
    "record, key_values, ids, run_id, first_at, updated_at"
)


def copy_ledger(source: Path, url: str) -> CopyReport:
    """Copy every flow's records and runs from the SQLite ledger ``source`` into the
    PostgreSQL ledger at ``url`` (for a team that moves to many workers).

    What killed runs left in the source's journals is taken in first; a flow with a run
    going on is refused. Records the destination already holds are kept as they are; a
    record left in flight keeps that state there, and is looked up before it is sent."""
    import sqlite3

    from calsink.ledger import FlowBusyError, Ledger

    if not source.is_file():
        raise FileNotFoundError(f"{source}: no SQLite ledger there")
    with Ledger(source) as sqlite_ledger:
        flows = _flows_of(sqlite_ledger.path)
        for flow in flows:
            if not sqlite_ledger.fold_left_over(flow):
                raise FlowBusyError(
                    f"flow {flow!r} is running on {source}; copy its ledger once it has ended"
                )
    read = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        runs = read.execute(
            "SELECT id, flow, kind, started_at, ended_at, summary, aborted FROM runs ORDER BY id"
        ).fetchall()
        records = read.execute(
            f"SELECT {_COPY_COLUMNS} FROM records ORDER BY rowid"  # noqa: S608
        ).fetchall()
    finally:
        read.close()
    with PostgresLedger(url) as target, target._guard, target._db.transaction():
        db = target._db
        new_ids: dict[int, int] = {}
        for run in runs:
            new_ids[run[0]] = db.execute(
                "INSERT INTO runs (flow, kind, started_at, ended_at, summary, aborted) "
                "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                run[1:],
            ).fetchone()[0]
        copied = 0
        for row in records:
            values = list(row)
            values[8] = bool(values[8])
            values[13] = new_ids.get(values[13]) if values[13] is not None else None
            cursor = db.execute(
                f"INSERT INTO records ({_COPY_COLUMNS}) VALUES ({', '.join(['%s'] * 16)}) "  # noqa: S608
                "ON CONFLICT (flow, key) DO NOTHING",
                values,
            )
            copied += cursor.rowcount
    return CopyReport(
        tuple(sorted({*flows, *(str(run[1]) for run in runs)})),
        len(runs),
        copied,
        len(records) - copied,
        shown_url(url),
    )


def _flows_of(path: Path) -> list[str]:
    """The flows the SQLite ledger at ``path`` knows, and those with journals beside it."""
    import sqlite3

    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = {
            str(name)
            for (name,) in db.execute("SELECT flow FROM records UNION SELECT flow FROM runs")
        }
    finally:
        db.close()
    prefix = path.name + "."
    for journal_file in path.parent.glob(f"{path.name}.*.journal.*"):
        middle = journal_file.name[len(prefix) :]
        names.add(middle.rsplit(".journal.", 1)[0])
    return sorted(names)


_BUCKET_NEW = """
INSERT INTO rate_buckets (credential, tokens, updated_at)
VALUES (%(credential)s, %(capacity)s, extract(epoch FROM clock_timestamp()))
ON CONFLICT (credential) DO NOTHING
"""
# Refill at the rate since the last draw (the database's clock: one clock for every
# machine), up to the capacity; grant what is there, up to what is asked.
_BUCKET_DRAW = """
WITH bucket AS (
    SELECT credential,
           least(%(capacity)s, tokens + greatest(0, extract(epoch FROM clock_timestamp())
                 - updated_at) * %(rate)s) AS have
    FROM rate_buckets WHERE credential = %(credential)s FOR UPDATE
)
UPDATE rate_buckets AS r
SET tokens = bucket.have - least(%(want)s, floor(bucket.have)),
    updated_at = extract(epoch FROM clock_timestamp())
FROM bucket WHERE r.credential = bucket.credential
RETURNING least(%(want)s, floor(bucket.have))::int, bucket.have
"""


def credential_digest(api_key: str) -> str:
    """What the shared bucket of ``api_key`` is known by (never the key itself)."""
    import hashlib

    return "sha256:" + hashlib.sha256(api_key.encode("utf-8", "surrogatepass")).hexdigest()


class PostgresBudget:
    """One API key's request budget, shared through the ledger's database by every worker
    that sends with the key: a token bucket each request draws from."""

    def __init__(self, url: str, api_key: str) -> None:
        self._db = _connect(url)
        self._credential = credential_digest(api_key)
        self._guard = threading.Lock()

    def draw(self, want: int, rate_per_s: float, capacity: float) -> tuple[int, float]:
        """Take up to ``want`` tokens; the number taken, and (when none) how long until one
        is there."""
        params = {
            "credential": self._credential,
            "capacity": capacity,
            "rate": rate_per_s,
            "want": want,
        }
        with self._guard:
            self._db.execute(_BUCKET_NEW, params)
            granted, have = self._db.execute(_BUCKET_DRAW, params).fetchone()
        if granted >= 1:
            return int(granted), 0.0
        return 0, max((1 - float(have)) / rate_per_s, 0.005)

    def close(self) -> None:
        with self._guard:
            self._db.close()
