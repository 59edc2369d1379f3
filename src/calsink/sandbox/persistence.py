"""Keeping the store in a file: loaded at start, written atomically after changes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from pathlib import Path

import orjson

from calsink.sandbox.model import Store


class StateFileError(Exception):
    """The state file exists but cannot be read."""


def load(path: Path) -> Store | None:
    if not path.exists():
        return None
    try:
        return Store.from_json(orjson.loads(path.read_bytes()))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise StateFileError(
            f"{path} is not a sandbox state file ({exc}); move it away or pass --empty"
        ) from exc


def write(path: Path, data: bytes) -> None:
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


class Persister:
    """Writes the store after changes, at most every ``interval_s``, and once more at close."""

    def __init__(self, store: Store, path: Path, interval_s: float = 0.2) -> None:
        self.store = store
        self.path = path
        self.interval_s = interval_s
        self._written = -1
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.flush()

    async def flush(self) -> None:
        version = self.store.version
        if version == self._written:
            return
        data = orjson.dumps(self.store.to_json())
        await asyncio.get_running_loop().run_in_executor(None, write, self.path, data)
        self._written = version

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()
