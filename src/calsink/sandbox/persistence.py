"""Keeping the store in a file, durably: a change is on disk before its answer goes out.

The state file holds a snapshot of the store; ``<file>.log`` beside it holds one JSON
line per commit: the records changed since the line before (as they now are), the keys
of those removed and the id counters. A request that changed the store waits for its
line to be written and fsynced before it is answered; requests that change the store
while a line is being written share the next one (a group commit). At start the log is
replayed onto the snapshot, a torn last line (a write the sandbox never acknowledged) is
ignored, and both are folded into a new snapshot; so they are when the log passes
``COMPACT_BYTES``, and at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from calsink.sandbox.model import COLLECTIONS, Store

COMPACT_BYTES = 64 * 1024 * 1024


def _encode(value: Any) -> bytes:
    """JSON of the store's records (dataclasses, datetimes as UTC ``…Z``), taken at once."""
    return orjson.dumps(value, option=orjson.OPT_UTC_Z)


class StateFileError(Exception):
    """The state file exists but cannot be read."""


def log_path(path: Path) -> Path:
    return path.with_name(path.name + ".log")


def load(path: Path) -> Store | None:
    """The store the state file and its log hold, or None when there is neither."""
    log = log_path(path)
    if not path.exists() and not log.exists():
        return None
    try:
        snapshot = orjson.loads(path.read_bytes()) if path.exists() else {}
        state = replay(snapshot, _log_entries(log))
        return Store.from_json(state)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise StateFileError(
            f"{path} is not a sandbox state file ({exc}); move it away or pass --empty"
        ) from exc


def _log_entries(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    lines = log.read_bytes().split(b"\n")
    # the last piece has no newline: a write cut short, never acknowledged
    return [orjson.loads(line) for line in lines[:-1] if line]


def replay(snapshot: dict[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The snapshot (``Store.to_json`` form) with the log's entries applied in order."""
    records = {
        name: {item[key]: item for item in snapshot.get(name, [])}
        for name, (_, key) in COLLECTIONS.items()
    }
    counters = dict(snapshot.get("counters", {}))
    for index, entry in enumerate(entries):
        if "full" in entry:
            return replay(entry["full"], entries[index + 1 :])
        counters.update(entry["counters"])
        for name, items in entry["put"].items():
            key = COLLECTIONS[name][1]
            for item in items:
                records[name][item[key]] = item
        for name, keys in entry["gone"].items():
            for gone in keys:
                records[name].pop(gone, None)
    return {"counters": counters, **{name: list(items.values()) for name, items in records.items()}}


def write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically and durably."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Persister:
    """Makes the store's changes durable: ``await durable()`` returns once every change
    made so far is on disk."""

    def __init__(self, store: Store, path: Path, compact_bytes: int = COMPACT_BYTES) -> None:
        self.store = store
        self.path = path
        self.compact_bytes = compact_bytes
        self._log: BinaryIO | None = None
        self._log_size = 0
        self._durable = -1
        self._commit: asyncio.Future[None] | None = None

    def open(self) -> None:
        """Fold the log into a fresh snapshot of the store and start an empty log."""
        self._compact(_encode(self.store.to_json()))
        self.store.take_changes()
        self._durable = self.store.version

    def replace(self, store: Store) -> None:
        """Persist ``store`` from now on (its first commit writes it whole)."""
        store.version = self.store.version
        self.store = store
        store.touch()

    async def durable(self) -> None:
        while self._durable < self.store.version:
            if self._commit is None:
                self._commit = asyncio.ensure_future(self._write_changes())
            await asyncio.shield(self._commit)

    async def _write_changes(self) -> None:
        store, version = self.store, self.store.version
        loop = asyncio.get_running_loop()
        try:
            line = _encode(store.take_changes()) + b"\n"
            if self._log_size + len(line) > self.compact_bytes:
                await loop.run_in_executor(None, self._compact, _encode(store.to_json()))
            else:
                await loop.run_in_executor(None, self._append, line)
        except BaseException:
            # what was taken may be half on disk: the next commit writes a whole snapshot
            store.touch()
            self._log_size = self.compact_bytes
            raise
        finally:
            self._commit = None
        self._durable = max(self._durable, version)

    def _append(self, line: bytes) -> None:
        assert self._log is not None
        self._log.write(line)
        self._log.flush()
        os.fsync(self._log.fileno())
        self._log_size += len(line)

    def _compact(self, snapshot: bytes) -> None:
        write(self.path, snapshot)
        if self._log is not None:
            self._log.close()
        self._log = open(log_path(self.path), "wb")  # noqa: SIM115 - closed by close()
        os.fsync(self._log.fileno())
        self._log_size = 0

    async def close(self) -> None:
        await self.durable()
        if self._log is not None:
            data = _encode(self.store.to_json())
            await asyncio.get_running_loop().run_in_executor(None, self._compact, data)
            self._log.close()
            self._log = None
